// Trace requests between agencies (inbox, outbox, a request, a new one) and
// the notifications of searches that found an agency's lost or stolen
// firearms.

import {
  agencyName, api, choices, convert, field, form, h, has, holderFields, holderText, query, show, state, t, term, values,
  when,
} from "./ui.js";

const CATEGORIES_OBSERVED = ["revolver", "self_loading_pistol", "rifle", "carbine", "shotgun", "sub_machine_gun",
  "assault_rifle", "light_machine_gun", "heavy_machine_gun", "other_small_arm", "other_light_weapon"];
const OUTCOMES = ["identified", "not_found", "insufficient_information", "declined"];

export const routes = [
  [/^#\/trace-requests(?:\?box=(inbox|outbox))?$/, listPage],
  [/^#\/trace-requests\/new$/, newPage],
  [/^#\/trace-requests\/([0-9a-f-]{36})$/, requestPage],
  [/^#\/notifications$/, notificationsPage],
];

/// The navigation entries these screens add, for the signed-in user.
export function links() {
  const out = [];
  if (has("tracer") || has("auditor")) out.push(["#/trace-requests", t("nav.requests")]);
  if (has("tracer") || has("registrar") || has("admin")) out.push(["#/notifications", t("nav.notifications")]);
  return out;
}

async function listPage(box = "inbox") {
  const page = await api("GET", `/v1/trace-requests?${query({ box, limit: 200 })}`);
  const tab = (name) => h("a", { href: `#/trace-requests?box=${name}`, "aria-current": box === name ? "page" : null },
    t(`requests.${name}`));
  show(
    t("requests.title"),
    h("nav", { class: "tabs", "aria-label": t("requests.boxes") }, tab("inbox"), tab("outbox")),
    has("tracer") ? h("p", {}, h("a", { href: "#/trace-requests/new" }, t("requests.new"))) : null,
    page.items.length === 0
      ? h("p", {}, t("requests.none"))
      : h("table", { id: "requests" },
        h("thead", {}, h("tr", {}, ["requests.reference", "requests.status", "requests.urgency", "requests.from",
          "requests.to", "requests.respond_by"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, page.items.map((r) => h("tr", {},
          h("td", {}, h("a", { href: `#/trace-requests/${r.id}` }, r.reference)),
          h("td", {}, term("requeststatus", r.status), r.overdue ? [" ", h("span", { class: "badge alert" }, t("requests.overdue"))] : null),
          h("td", {}, term("urgency", r.urgency)),
          h("td", {}, agencyName(r.from_agency_id)),
          h("td", {}, agencyName(r.to_agency_id)),
          h("td", {}, when(r.respond_by)))))),
  );
}

function newPage() {
  const others = (state.agencies || []).filter((a) => a.id !== state.me.agency_id).map((a) => [a.id, `${a.name} (${a.country})`]);
  show(
    t("requests.new"),
    form(
      [
        h("div", { class: "grid" },
          field("to_agency_id", t("requests.to"), { choices: others, required: true }),
          field("urgency", t("requests.urgency"), { choices: choices("urgency", ["normal", "urgent"]), required: true, value: "normal" }),
          convert(field("respond_by", t("requests.respond_by"), { kind: "datetime-local" }), "time")),
        h("h2", {}, t("requests.observed")),
        h("div", { class: "grid" },
          field("firearm.category", t("firearm.category"), { choices: choices("category", CATEGORIES_OBSERVED) }),
          field("firearm.manufacturer", t("firearm.manufacturer")),
          field("firearm.model", t("firearm.model")),
          field("firearm.calibre", t("firearm.calibre")),
          field("firearm.country_of_manufacture", t("firearm.country")),
          field("firearm.serial_number", t("requests.serial"))),
        h("h2", {}, t("requests.circumstances")),
        h("div", { class: "grid" },
          convert(field("circumstances.seized_at", t("requests.seized_at"), { kind: "datetime-local" }), "time"),
          field("circumstances.location", t("event.location")),
          field("circumstances.context", t("requests.context"))),
        field("circumstances.description", t("requests.description"), { kind: "textarea" }),
      ],
      t("requests.send"),
      async (el) => {
        const created = await api("POST", "/v1/trace-requests", values(el));
        location.hash = `#/trace-requests/${created.id}`;
      },
      { id: "new-request" },
    ),
  );
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

async function requestPage(id) {
  const r = await api("GET", `/v1/trace-requests/${id}`);
  const f = r.firearm || {};
  const c = r.circumstances || {};
  const receiver = has("tracer") && state.me.agency_id === r.to_agency_id;
  show(
    `${t("requests.request")} ${r.reference}`,
    h("section", { class: "panel" },
      facts([
        ["requests.status", [term("requeststatus", r.status), r.overdue ? [" ", h("span", { class: "badge alert" }, t("requests.overdue"))] : null]],
        ["requests.urgency", term("urgency", r.urgency)],
        ["requests.from", agencyName(r.from_agency_id)],
        ["requests.to", agencyName(r.to_agency_id)],
        ["requests.respond_by", when(r.respond_by)],
        ["requests.sent", when(r.created_at)],
        ["requests.acknowledged", when(r.acknowledged_at)],
      ])),
    h("h2", {}, t("requests.observed")),
    facts([
      ["firearm.category", term("category", f.category)],
      ["firearm.manufacturer", f.manufacturer],
      ["firearm.model", f.model],
      ["firearm.calibre", f.calibre],
      ["firearm.country", f.country_of_manufacture],
      ["requests.serial", f.serial_number],
    ]),
    h("h2", {}, t("requests.circumstances")),
    facts([
      ["requests.seized_at", when(c.seized_at)],
      ["event.location", c.location],
      ["requests.context", c.context],
      ["requests.description", c.description],
    ]),
    r.candidates ? candidates(r.candidates) : null,
    r.response ? response(r) : null,
    receiver && r.status === "open" ? acknowledgeForm(r) : null,
    receiver && r.status !== "answered" ? answerForm(r) : null,
  );
}

function candidates(list) {
  return [
    h("h2", {}, t("requests.candidates")),
    list.length === 0 ? h("p", {}, t("find.none")) : h("table", { id: "candidates" },
      h("thead", {}, h("tr", {}, ["find.col.serial", "find.col.status", "find.col.matched", "find.col.score"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, list.map((m) => h("tr", {},
        h("td", {}, h("a", { href: `#/firearms/${m.firearm_id}` }, m.serial_number)),
        h("td", {}, term("status", m.status)),
        h("td", {}, term("matched", m.matched_on)),
        h("td", {}, Number(m.score).toFixed(2)))))),
  ];
}

function response(r) {
  const a = r.response;
  return [
    h("h2", {}, t("requests.response")),
    h("section", { class: "panel", id: "response" },
      facts([
        ["requests.outcome", term("outcome", a.outcome)],
        ["requests.firearm", a.firearm_id ? h("a", { href: `#/firearms/${a.firearm_id}` }, a.firearm_id) : null],
        ["requests.information", a.information],
        ["requests.last_holder", a.last_known_holder ? holderText(a.last_known_holder) : null],
        ["requests.answered", when(a.responded_at)],
      ]),
      r.signed_response ? [h("h3", {}, t("requests.signed")), h("pre", { class: "note" }, r.signed_response)] : null),
  ];
}

function acknowledgeForm(r) {
  return form([], t("requests.acknowledge"), async () => {
    await api("POST", `/v1/trace-requests/${r.id}/acknowledge`, {});
    await requestPage(r.id);
  }, { id: "acknowledge", class: "inline" });
}

function answerForm(r) {
  const found = (r.candidates || []).map((m) => [m.firearm_id, `${m.serial_number} (${Number(m.score).toFixed(2)})`]);
  return [
    h("h2", {}, t("requests.answer")),
    form(
      [
        h("div", { class: "grid" },
          field("outcome", t("requests.outcome"), { choices: choices("outcome", OUTCOMES), required: true }),
          field("firearm_id", t("requests.firearm"), { choices: found })),
        field("information", t("requests.information"), { kind: "textarea" }),
        h("h3", {}, t("requests.last_holder")),
        h("div", { class: "grid" }, holderFields("last_known_holder", false)),
      ],
      t("requests.send_answer"),
      async (el) => {
        await api("POST", `/v1/trace-requests/${r.id}/response`, values(el));
        await requestPage(r.id);
      },
      { id: "answer" },
    ),
  ];
}

async function notificationsPage() {
  const page = await api("GET", "/v1/notifications?limit=200");
  show(
    t("notifications.title"),
    h("p", {}, t("notifications.help")),
    page.items.length === 0 ? h("p", {}, t("notifications.none")) : h("table", { id: "notifications" },
      h("thead", {}, h("tr", {}, ["notifications.when", "notifications.firearm", "notifications.who", "notifications.query"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, page.items.map((n) => h("tr", {},
        h("td", {}, when(n.traced_at)),
        h("td", {}, n.firearm_id ? h("a", { href: `#/firearms/${n.firearm_id}` }, term("notificationkind", n.kind)) : term("notificationkind", n.kind)),
        h("td", {}, `${n.traced_by?.username || "?"}, ${agencyName(n.traced_by?.agency_id)}`),
        h("td", {}, Object.entries(n.query || {}).map(([k, v]) => `${k}=${v}`).join(" ")))))),
  );
}
