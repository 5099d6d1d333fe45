// Holders (people and organisations that own or keep firearms) and their
// licences: finding one, registering one, a holder's licences and the
// firearms they hold, and issuing or revoking a licence.

import {
  agencyName, api, choices, field, fill, form, h, has, query, show, state, statusBadge, t, term, values, when,
} from "./ui.js";

const KINDS = ["individual", "dealer", "manufacturer", "agency", "other"];
const ID_TYPES = ["national_id", "passport", "company_registration", "dealer_licence", "other"];
const LICENCE_TYPES = ["possession", "dealer", "manufacturer", "collector", "other"];
const CATEGORIES = ["revolver", "self_loading_pistol", "rifle", "carbine", "shotgun", "sub_machine_gun",
  "assault_rifle", "light_machine_gun", "heavy_machine_gun", "other_small_arm", "other_light_weapon"];

export const routes = [
  [/^#\/holders(\?.*)?$/, searchPage],
  [/^#\/holders\/([0-9a-f-]{36})$/, holderPage],
];

export function links() {
  return ["registrar", "tracer", "auditor"].some(has) ? [["#/holders", t("nav.holders")]] : [];
}

function searchPage(search) {
  const params = new URLSearchParams((search || "").slice(1));
  const results = h("section", { id: "holder-results", "aria-live": "polite" });
  const find = form(
    h("div", { class: "grid" },
      field("name", t("holders.name"), { value: params.get("name") }),
      field("identifier", t("holders.identifier"), { value: params.get("identifier") }),
      field("purpose", t("find.purpose"), { value: state.purpose })),
    t("find.submit"),
    async (el) => {
      const body = values(el);
      state.purpose = body.purpose || "";
      const page = await api("GET", `/v1/holders?${query({ name: body.name, identifier: body.identifier, limit: 100 })}`);
      fill(results, page.items.length === 0 ? h("p", {}, t("holders.none")) : h("table", { id: "holders" },
        h("thead", {}, h("tr", {}, ["holders.name", "holder.kind", "holder.country", "holders.identifiers"]
          .map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, page.items.map((x) => h("tr", {},
          h("td", {}, h("a", { href: `#/holders/${x.id}` }, x.name)),
          h("td", {}, term("holderkind", x.kind)),
          h("td", {}, x.country || ""),
          h("td", {}, x.identifiers.map((i) => `${term("idtype", i.type)} ${i.value}`).join(", ")))))));
    },
    { id: "find-holder", role: "search" },
  );
  show(t("holders.title"), find, results, has("registrar") ? createForm() : null);
}

function createForm() {
  const agencies = (state.agencies || []).map((a) => [a.id, `${a.name} (${a.country})`]);
  return [
    h("h2", {}, t("holders.new")),
    form(
      h("div", { class: "grid" },
        field("kind", t("holder.kind"), { choices: choices("holderkind", KINDS), required: true }),
        field("name", t("holders.name"), { required: true }),
        field("country", t("holder.country")),
        field("identifiers.0.type", t("holders.id_type"), { choices: choices("idtype", ID_TYPES) }),
        field("identifiers.0.value", t("holders.id_value")),
        field("date_of_birth", t("holders.born"), { kind: "date" }),
        field("address", t("holders.address")),
        field("agency_id", t("holder.agency"), { choices: agencies })),
      t("holders.create"),
      async (el) => {
        const body = values(el);
        // The API takes a list of identifiers; the form offers one.
        const first = body.identifiers?.[0];
        body.identifiers = first?.value ? [first] : [];
        const created = await api("POST", "/v1/holders", body);
        location.hash = `#/holders/${created.id}`;
      },
      { id: "new-holder" },
    ),
  ];
}

async function holderPage(id) {
  const [holder, held] = await Promise.all([
    api("GET", `/v1/holders/${id}`),
    api("GET", `/v1/holders/${id}/firearms?limit=200`),
  ]);
  const facts = [
    ["holder.kind", term("holderkind", holder.kind)],
    ["holder.country", holder.country],
    ["holders.identifiers", holder.identifiers.map((i) => `${term("idtype", i.type)} ${i.value}`).join(", ")],
    ["holders.born", holder.date_of_birth],
    ["holders.address", holder.address],
    ["holder.agency", holder.agency_id ? agencyName(holder.agency_id) : null],
    ["holders.erased", holder.erased_at ? when(holder.erased_at) : null],
  ].filter(([, v]) => v);
  show(
    holder.name,
    h("section", { class: "panel" }, h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]))),
    h("h2", {}, t("holders.licences")),
    h("p", { class: "problem", role: "alert", id: "licence-notice" }),
    (holder.licences || []).length === 0 ? h("p", {}, t("holders.no_licence")) : h("table", { id: "licences" },
      h("thead", {}, h("tr", {}, ["holders.number", "holders.licence_type", "holders.categories", "holders.valid", "requests.status", "users.actions"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, holder.licences.map((l) => h("tr", {},
        h("td", {}, l.number),
        h("td", {}, term("licencetype", l.licence_type ?? l.type)),
        h("td", {}, l.categories.map((c) => term("category", c)).join(", ")),
        h("td", {}, `${l.valid_from} – ${l.valid_until}`),
        h("td", {}, term("licencestatus", l.status), l.revocation_reason ? ` (${l.revocation_reason})` : ""),
        h("td", {}, has("registrar") && l.status !== "revoked" ? revokeForm(holder.id, l) : null))))),
    h("h2", {}, t("holders.held")),
    held.items.length === 0 ? h("p", {}, t("holders.holds_none")) : h("table", { id: "held" },
      h("thead", {}, h("tr", {}, ["find.col.serial", "find.col.firearm", "find.col.status", "holders.as", "holders.since"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, held.items.map((x) => h("tr", {},
        h("td", {}, h("a", { href: `#/firearms/${x.firearm_id}` }, x.firearm.serial_number)),
        h("td", {}, `${x.firearm.manufacturer} ${x.firearm.model || ""}`),
        h("td", {}, statusBadge(x.firearm.status)),
        h("td", {}, x.roles.map((r) => t(`holders.role_${r}`)).join(", ")),
        h("td", {}, when(x.since)))))),
    has("registrar") ? licenceForm(holder.id) : null,
  );
}

function revokeForm(holderId, licence) {
  return form(
    field("reason", t("holders.revoke_reason"), { required: true }),
    t("holders.revoke"),
    async (el) => {
      const done = await api("POST", `/v1/holders/${holderId}/licences/${licence.id}/revoke`, values(el));
      await holderPage(holderId);
      document.querySelector("#licence-notice").textContent =
        t("holders.revoked", { number: licence.number, count: done.firearms.length });
    },
    { class: "inline revoke" },
  );
}

function licenceForm(holderId) {
  return [
    h("h2", {}, t("holders.new_licence")),
    form(
      [
        h("div", { class: "grid" },
          field("number", t("holders.number"), { required: true }),
          field("type", t("holders.licence_type"), { choices: choices("licencetype", LICENCE_TYPES), required: true }),
          field("valid_from", t("holders.valid_from"), { kind: "date", required: true }),
          field("valid_until", t("holders.valid_until"), { kind: "date", required: true }),
          field("issued_by", t("holders.issued_by"), { required: true })),
        h("fieldset", { class: "roles", "data-field": "categories" },
          h("legend", {}, t("holders.categories")),
          CATEGORIES.map((c) => h("label", { class: "check" },
            h("input", { type: "checkbox", class: "category", value: c }), " ", term("category", c))),
          h("span", { class: "error" })),
      ],
      t("holders.issue"),
      async (el) => {
        const categories = [...el.querySelectorAll("input.category:checked")].map((c) => c.value);
        await api("POST", `/v1/holders/${holderId}/licences`, { ...values(el), categories });
        await holderPage(holderId);
      },
      { id: "new-licence" },
    ),
  ];
}
