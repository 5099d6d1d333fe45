// Agencies and users, for system administrators and agency admins: what
// POST /v1/agencies, /v1/users and the role grants allow them, no more.

import {
  agencyName, api, choices, field, form, h, has, show, state, t, term, values, when,
} from "./ui.js";

const AGENCY_KINDS = ["police", "military", "customs", "licensing_authority", "judiciary", "other"];
const ROLES = ["admin", "registrar", "tracer", "auditor", "system_admin"];

export const routes = [
  [/^#\/agencies$/, agenciesPage],
  [/^#\/users$/, usersPage],
];

export function links() {
  const out = [];
  if (has("system_admin")) out.push(["#/agencies", t("nav.agencies")]);
  if (has("system_admin") || has("admin")) out.push(["#/users", t("nav.users")]);
  return out;
}

async function reloadAgencies() {
  state.agencies = (await api("GET", "/v1/agencies?limit=1000")).items;
}

async function agenciesPage() {
  await reloadAgencies();
  show(
    t("agencies.title"),
    h("table", { id: "agencies" },
      h("thead", {}, h("tr", {}, ["agencies.name", "agencies.country", "agencies.kind", "agencies.created"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, state.agencies.map((a) => h("tr", {},
        h("td", {}, a.name), h("td", {}, a.country), h("td", {}, term("agencykind", a.kind)), h("td", {}, when(a.created_at)))))),
    h("h2", {}, t("agencies.new")),
    form(
      h("div", { class: "grid" },
        field("name", t("agencies.name"), { required: true }),
        field("country", t("agencies.country"), { required: true }),
        field("kind", t("agencies.kind"), { choices: choices("agencykind", AGENCY_KINDS), required: true })),
      t("agencies.create"),
      async (el) => {
        await api("POST", "/v1/agencies", values(el));
        await agenciesPage();
      },
      { id: "new-agency" },
    ),
  );
}

/// The roles an administrator may give here: an agency admin gives only
/// admin, registrar and tracer (the API refuses the others anyway).
function grantable() {
  return has("system_admin") ? ROLES : ROLES.slice(0, 3);
}

function roleBoxes() {
  return h("fieldset", { class: "roles", "data-field": "roles" },
    h("legend", {}, t("users.roles")),
    grantable().map((r) => h("label", { class: "check" },
      h("input", { type: "checkbox", class: "role", value: r }), " ", term("role", r))),
    h("span", { class: "error" }));
}

function chosenRoles(el) {
  return [...el.querySelectorAll("input.role:checked")].map((c) => c.value);
}

/// Where an action taken from a table (disable, approve) says it failed.
const notice = () => document.querySelector("#user-notice");

function acting(action) {
  return async () => {
    notice().textContent = "";
    try {
      await action();
    } catch (err) {
      notice().textContent = err.message;
    }
  };
}

async function usersPage() {
  const [users, grants] = await Promise.all([
    api("GET", "/v1/users?limit=1000"),
    has("system_admin") ? api("GET", "/v1/role-grants?status=pending") : { items: [] },
  ]);
  const agencies = (state.agencies || [])
    .filter((a) => has("system_admin") || a.id === state.me.agency_id)
    .map((a) => [a.id, `${a.name} (${a.country})`]);
  show(
    t("users.title"),
    h("p", { class: "problem", role: "alert", id: "user-notice" }),
    h("table", { id: "users" },
      h("thead", {}, h("tr", {}, ["users.username", "users.agency", "users.roles", "users.state", "users.actions"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, users.items.map((u) => h("tr", {},
        h("td", {}, u.username),
        h("td", {}, agencyName(u.agency_id)),
        h("td", {}, u.roles.map((r) => term("role", r)).join(", ")),
        h("td", {}, u.disabled ? t("users.disabled") : u.must_change_password ? t("users.must_change") : t("users.active")),
        h("td", {}, u.disabled || u.id === state.me.id ? null : userActions(u)))))),
    grants.items.length ? pendingGrants(grants.items, users.items) : null,
    h("h2", {}, t("users.new")),
    form(
      [
        h("div", { class: "grid" },
          field("username", t("users.username"), { required: true }),
          field("password", t("users.password"), { required: true, kind: "password", autocomplete: "new-password" }),
          field("agency_id", t("users.agency"), { choices: agencies, required: true })),
        roleBoxes(),
      ],
      t("users.create"),
      async (el) => {
        const body = { ...values(el), roles: chosenRoles(el), must_change_password: true };
        await api("POST", "/v1/users", body);
        await usersPage();
      },
      { id: "new-user" },
    ),
  );
}

function userActions(u) {
  const disable = h("button", { type: "button", class: "secondary" }, t("users.disable"));
  disable.setAttribute("aria-label", `${t("users.disable")} ${u.username}`);
  disable.addEventListener("click", acting(async () => {
    if (!confirm(t("users.confirm_disable", { name: u.username }))) return;
    await api("POST", `/v1/users/${u.id}/disable`, {});
    await usersPage();
  }));
  return disable;
}

function pendingGrants(items, users) {
  const name = (id) => users.find((u) => u.id === id)?.username || id;
  const decide = (g, verdict) => acting(async () => {
    await api("POST", `/v1/role-grants/${g.id}/${verdict}`, {});
    await usersPage();
  });
  return [
    h("h2", {}, t("grants.title")),
    h("p", {}, t("grants.help")),
    h("table", { id: "grants" },
      h("thead", {}, h("tr", {}, ["users.username", "users.roles", "grants.asked", "users.actions"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, items.map((g) => h("tr", {},
        h("td", {}, name(g.user_id)),
        h("td", {}, g.roles.map((r) => term("role", r)).join(", ")),
        h("td", {}, when(g.created_at)),
        h("td", {},
          h("button", { type: "button", onclick: decide(g, "approve") }, t("grants.approve")), " ",
          h("button", { type: "button", class: "secondary", onclick: decide(g, "reject") }, t("grants.reject"))))))),
  ];
}
