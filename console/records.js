// Work on many records at once: a destruction batch and a CSV import, for
// registrars.

import {
  ApiError, api, choices, convert, field, fill, form, h, has, nowLocal, query, show, state, t, values,
} from "./ui.js";

const DESTRUCTION = ["cutting", "crushing", "shredding", "smelting", "burning", "detonation", "other"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const routes = [
  [/^#\/destructions$/, destructionPage],
  [/^#\/import$/, importPage],
];

export function links() {
  return has("registrar") ? [["#/destructions", t("nav.destruction")], ["#/import", t("nav.import")]] : [];
}

/// The firearms the lines name: an id as it is, a serial looked up among
/// the firearms the agency is responsible for. Lines that name none, or
/// several, are errors of the field.
async function resolve(lines) {
  const ids = [];
  const problems = [];
  for (const line of lines) {
    if (UUID.test(line)) {
      ids.push(line.toLowerCase());
      continue;
    }
    const page = await api("GET", `/v1/firearms?${query({
      serial_number: line, responsible_agency_id: state.me.agency_id, limit: 2,
    })}`);
    if (page.items.length === 1) ids.push(page.items[0].id);
    else problems.push(t(page.items.length ? "destruction.several" : "destruction.unknown", { line }));
  }
  if (problems.length) {
    throw new ApiError({ detail: t("error.fields"), errors: [{ field: "firearms", message: problems.join(" · ") }] });
  }
  return ids;
}

function destructionPage() {
  const out = h("div", { id: "destruction-result", "aria-live": "polite" });
  show(
    t("destruction.title"),
    h("p", {}, t("destruction.help")),
    form(
      [
        field("firearms", t("destruction.firearms"), { kind: "textarea", required: true }),
        h("div", { class: "grid" },
          field("method", t("event.method"), { choices: choices("destruction", DESTRUCTION), required: true }),
          convert(field("occurred_at", t("event.occurred_at"), { kind: "datetime-local", value: nowLocal(), required: true }), "time"),
          field("location", t("event.location")),
          field("certificate_reference", t("event.certificate_reference"))),
        convert(field("witnesses", t("event.witnesses"), { kind: "textarea" }), "list"),
      ],
      t("destruction.submit"),
      async (el) => {
        const body = values(el);
        const lines = String(body.firearms || "").split("\n").map((l) => l.trim()).filter(Boolean);
        delete body.firearms;
        const ids = await resolve(lines);
        try {
          const done = await api("POST", "/v1/destructions", { ...body, firearm_ids: ids });
          fill(out, h("p", { class: "proved" }, t("destruction.done", { count: done.count, id: done.id })));
        } catch (err) {
          const failures = err.problem?.failures || [];
          if (!failures.length) throw err;
          fill(out,
            h("p", { class: "failed" }, t("destruction.refused")),
            h("ul", {}, failures.map((f) => h("li", {}, h("a", { href: `#/firearms/${f.firearm_id}` }, f.firearm_id),
              `: ${f.detail || f.reason}`))));
        }
      },
      { id: "destruction" },
    ),
    out,
  );
}

function importPage() {
  const out = h("section", { id: "import-result", "aria-live": "polite" });
  show(
    t("import.title"),
    h("p", {}, t("import.help")),
    form(
      h("div", { class: "grid" },
        field("file", t("import.file"), { kind: "file", required: true }),
        field("mode", t("import.mode"), { choices: [["all", t("import.all")], ["partial", t("import.partial")]], required: true, value: "all" })),
      t("import.submit"),
      async (el) => {
        const file = el.querySelector("input[type=file]").files[0];
        if (!file) throw new ApiError({ detail: t("error.fields"), errors: [{ field: "file", message: t("import.choose") }] });
        const mode = el.querySelector("[name=mode]").value;
        const csv = await file.text();
        let report;
        try {
          report = await api("POST", `/v1/firearms/import${mode === "partial" ? "?mode=partial" : ""}`, csv, "text/csv");
        } catch (err) {
          if (err.problem?.code !== "import_rejected") throw err;
          report = { ...err.problem, imported: 0, firearms: [] };
        }
        renderReport(out, report);
      },
      { id: "import" },
    ),
    out,
  );
}

function renderReport(box, r) {
  fill(box,
    h("h2", {}, t("import.report")),
    h("p", { class: r.imported ? "proved" : "failed" }, t("import.counts", { imported: r.imported, rejected: r.rejected ?? 0 })),
    r.errors?.length ? h("table", { id: "import-errors" },
      h("thead", {}, h("tr", {}, ["import.row", "import.field", "import.message"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, r.errors.map((e) => h("tr", {}, h("td", {}, e.row), h("td", {}, e.field), h("td", {}, e.message))))) : null,
    r.firearms?.length ? h("ul", { id: "imported" }, r.firearms.slice(0, 100).map((f) =>
      h("li", {}, h("a", { href: `#/firearms/${f.id}` }, t("import.row_link", { row: f.row }))))) : null);
}
