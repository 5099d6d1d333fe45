// Statistics with charts drawn as SVG in the page (no chart service, no
// library), and the audit log's signed head for auditors.

import { checkCheckpoint } from "./verify.js";
import { agencyName, api, field, fill, form, h, has, show, state, t, term, values, when } from "./ui.js";

export const routes = [
  [/^#\/statistics$/, statisticsPage],
  [/^#\/audit$/, auditPage],
];

export function links() {
  const out = [];
  if (["admin", "registrar", "tracer", "auditor"].some(has)) out.push(["#/statistics", t("nav.statistics")]);
  if (has("auditor")) out.push(["#/audit", t("nav.audit")]);
  return out;
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let chartCount = 0;

/// A horizontal bar chart of `entries` ([label, count]), with the same
/// figures as a table for screen readers and for copying.
function barChart(title, entries) {
  const id = `chart${++chartCount}`;
  const rows = entries.filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const labelWidth = 230;
  const barWidth = 360;
  const rowHeight = 26;
  const height = Math.max(1, rows.length) * rowHeight + 8;
  const chart = svg("svg", { viewBox: `0 0 ${labelWidth + barWidth + 80} ${height}`, role: "img", "aria-labelledby": `${id}-t`, class: "chart" },
    svg("title", { id: `${id}-t` }, title),
    ...rows.map(([label, value], i) => {
      const y = 4 + i * rowHeight;
      const w = Math.max(2, Math.round((value / max) * barWidth));
      return svg("g", {},
        svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end" }, label),
        svg("rect", { x: labelWidth, y: y + 3, width: w, height: rowHeight - 8, class: "bar" }),
        svg("text", { x: labelWidth + w + 6, y: y + 17 }, value.toLocaleString(state.language)));
    }));
  return h("figure", { class: "chart" },
    h("figcaption", {}, title),
    rows.length ? chart : h("p", { class: "muted" }, t("stats.nothing")),
    h("details", {}, h("summary", {}, t("stats.as_table")),
      h("table", {}, h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value)))))));
}

function entries(kind, object) {
  return Object.entries(object || {}).map(([k, v]) => [kind ? term(kind, k) : k, Number(v)]);
}

async function statisticsPage() {
  const out = h("div", { id: "statistics", "aria-live": "polite" });
  const agencies = (state.agencies || []).map((a) => [a.id, `${a.name} (${a.country})`]);
  const render = async (params) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
    const s = await api("GET", `/v1/statistics${q ? `?${q}` : ""}`);
    const tr = s.trace_requests || {};
    fill(out,
      h("p", {}, t("stats.scope", { from: s.from, to: s.to, agency: s.agency_id ? agencyName(s.agency_id) : t("stats.all") })),
      h("dl", { class: "facts totals" },
        h("dt", {}, t("stats.firearms")), h("dd", {}, s.firearms.total),
        h("dt", {}, t("stats.requests_sent")), h("dd", {}, tr.sent ?? 0),
        h("dt", {}, t("stats.requests_received")), h("dd", {}, tr.received ?? 0),
        h("dt", {}, t("stats.requests_overdue")), h("dd", {}, tr.overdue ?? 0),
        h("dt", {}, t("stats.median_days")), h("dd", {}, tr.median_days_to_answer ?? "—")),
      h("div", { class: "charts" },
        barChart(t("stats.by_status"), entries("status", s.firearms.by_status)),
        barChart(t("stats.by_category"), entries("category", s.firearms.by_category)),
        barChart(t("stats.by_type"), entries("eventtype", s.events.by_type)),
        barChart(t("stats.by_year"), entries(null, s.events.by_year)),
        barChart(t("stats.by_outcome"), entries("outcome", tr.by_outcome))));
  };
  show(
    t("stats.title"),
    form(
      h("div", { class: "grid" },
        field("from", t("stats.from"), { kind: "date" }),
        field("to", t("stats.to"), { kind: "date" }),
        has("auditor") ? field("agency_id", t("stats.agency"), { choices: agencies }) : null),
      t("stats.show"),
      async (el) => render(values(el)),
      { id: "statistics-form" },
    ),
    out,
  );
  await render({});
}

async function auditPage() {
  const [head, key] = await Promise.all([api("GET", "/v1/audit/head"), api("GET", "/v1/audit/key")]);
  const res = await fetch("/v1/audit/checkpoint", { credentials: "same-origin" });
  const checkpoint = await res.text();
  const result = h("div", { id: "audit-result", "aria-live": "polite" });
  show(
    t("audit.title"),
    h("section", { class: "panel" },
      h("dl", { class: "facts" },
        h("dt", {}, t("audit.origin")), h("dd", {}, head.origin),
        h("dt", {}, t("audit.size")), h("dd", {}, head.size),
        h("dt", {}, t("audit.root")), h("dd", { class: "hash" }, head.root_hash),
        h("dt", {}, t("audit.at")), h("dd", {}, when(head.at)),
        h("dt", {}, t("audit.witnessed")), h("dd", {}, head.witnessed ? t("audit.yes", { count: head.cosignatures }) : t("audit.no")),
        h("dt", {}, t("audit.key")), h("dd", { class: "hash" }, key.verifier_key))),
    h("h2", {}, t("audit.checkpoint")),
    h("pre", { class: "note", id: "checkpoint" }, checkpoint),
    form([], t("audit.check_signature"), async () => {
      const proved = await checkCheckpoint(checkpoint, key.verifier_key);
      fill(result, h("p", { class: "proved" }, t("audit.signature_ok", { size: proved.size, key: proved.key })));
    }, { id: "check-signature" }),
    form([h("p", {}, t("audit.verify_help"))], t("audit.verify"), async () => {
      fill(result, h("p", {}, t("verify.running")));
      const v = await api("GET", "/v1/audit/verify");
      fill(result, v.valid
        ? h("p", { class: "proved" }, t("audit.valid", { size: v.size }))
        : h("p", { class: "failed" }, t("audit.invalid", { seq: v.first_invalid_seq ?? "—", reason: v.reason || "" })));
    }, { id: "verify-log" }),
    result,
  );
}
