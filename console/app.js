// The registry's web console. Every screen calls the /v1 API with the
// session cookie, so it can do exactly what the signed-in user may do
// through the API and nothing more. No HTML is built from strings: text
// goes into the page as text.

import { verifyBundle } from "./verify.js";
import {
  ApiError, api, choices, convert, field, fill, form, h, has, holderFields, holderText, nowLocal, query, show, state, statusBadge, t, term, text, values, when,
} from "./ui.js";
import * as admin from "./admin.js";
import * as holders from "./holders.js";
import * as records from "./records.js";
import * as reports from "./reports.js";
import * as requests from "./requests.js";

async function loadCatalog(code) {
  const res = await fetch(`/console/i18n/${encodeURIComponent(code)}.json`);
  return res.ok ? res.json() : {};
}

function chosenLanguage(available) {
  const codes = available.map((l) => l.code);
  const saved = localStorage.getItem("language");
  if (saved && codes.includes(saved)) return saved;
  for (const wanted of navigator.languages || [navigator.language]) {
    const base = String(wanted).toLowerCase().split("-")[0];
    if (codes.includes(base)) return base;
  }
  return "en";
}

async function setLanguage(code) {
  state.language = code;
  state.catalog = code === "en" ? state.fallback : await loadCatalog(code);
  document.documentElement.lang = code;
  document.title = t("app.title");
  text("#brand", t("app.title"));
  text("#language-label", t("language.label"));
  document.querySelector(".skip").textContent = t("app.skip");
}

async function setUpLanguages() {
  const [available, fallback] = await Promise.all([
    fetch("/console/languages").then((r) => r.json()),
    loadCatalog("en"),
  ]);
  state.fallback = fallback;
  const select = document.querySelector("#language");
  select.replaceChildren(...available.map((l) => h("option", { value: l.code, lang: l.code }, l.name)));
  const code = chosenLanguage(available);
  select.value = code;
  select.addEventListener("change", async () => {
    localStorage.setItem("language", select.value);
    await setLanguage(select.value);
    await route();
  });
  await setLanguage(code);
}

// ---- navigation -----------------------------------------------------------

function renderNav() {
  const nav = document.querySelector("#nav");
  if (!state.me) {
    nav.replaceChildren();
    return;
  }
  const links = has("system_admin") && state.me.roles.length === 1 ? [] : [["#/find", t("nav.find")]];
  if (has("registrar")) links.push(["#/firearms/new", t("nav.register")]);
  links.push(...records.links(), ...holders.links(), ...requests.links(), ...reports.links(), ...admin.links());
  fill(nav,
    h("ul", {},
      links.map(([href, words]) => h("li", {}, h("a", { href }, words))),
      h("li", { class: "muted" }, t("nav.signed_in_as", { name: state.me.username })),
      h("li", {}, h("button", { type: "button", class: "link", onclick: signOut }, t("nav.sign_out")))),
  );
}

async function signOut() {
  try {
    await api("DELETE", "/v1/auth/session");
  } finally {
    state.me = null;
    state.csrf = null;
    location.hash = "#/sign-in";
    await route();
  }
}

/// Who is signed in; until they choose a new password, they are only
/// pending and the console offers nothing else.
async function loadMe() {
  const [me, agencies] = await Promise.all([
    api("GET", "/v1/auth/me"),
    state.mustChange ? null : api("GET", "/v1/agencies?limit=1000").catch(() => ({ items: [] })),
  ]);
  state.me = state.mustChange ? null : me;
  state.pending = me;
  if (state.me) state.agencies = agencies.items;
}

async function loadSession() {
  state.checked = true;
  try {
    const session = await api("GET", "/v1/auth/session");
    state.csrf = session.csrf_token;
    state.mustChange = session.password_change_required;
    await loadMe();
  } catch {
    state.me = null;
  }
}

const routes = [
  [/^#\/sign-in$/, signInPage],
  [/^#\/password$/, passwordPage],
  [/^#\/find(\?.*)?$/, findPage],
  [/^#\/firearms\/new$/, registerPage],
  [/^#\/firearms\/([0-9a-f-]{36})$/, firearmPage],
  ...requests.routes,
  ...records.routes,
  ...holders.routes,
  ...reports.routes,
  ...admin.routes,
];

/// Where a user lands: a system administrator, who reads no firearm data,
/// on the users.
function home() {
  return has("system_admin") && state.me.roles.length === 1 ? "#/users" : "#/find";
}

async function route() {
  if (!state.me && !state.mustChange && !state.checked) await loadSession();
  const hash = location.hash || home();
  if (state.mustChange && hash !== "#/password") return void (location.hash = "#/password");
  if (!state.me && !state.mustChange && hash !== "#/sign-in") return void (location.hash = "#/sign-in");
  renderNav();
  for (const [pattern, page] of routes) {
    const m = pattern.exec(hash);
    if (!m) continue;
    try {
      return await page(...m.slice(1));
    } catch (err) {
      return show(t("error.title"), h("p", { class: "problem", role: "alert" }, err.message));
    }
  }
  show(t("notfound.title"), h("p", {}, t("notfound.body")));
}

// ---- signing in -----------------------------------------------------------

function signInPage() {
  show(
    t("signin.title"),
    form(
      h("div", { class: "grid" },
        field("username", t("signin.username"), { required: true, autocomplete: "username" }),
        field("password", t("signin.password"), { required: true, kind: "password", autocomplete: "current-password" })),
      t("signin.submit"),
      async (el) => {
        const body = values(el);
        await startSession(body.username || "", body.password || "");
      },
      { id: "sign-in" },
    ),
  );
}

async function startSession(username, password) {
  const session = await api("POST", "/v1/auth/session", { username, password });
  state.csrf = session.csrf_token;
  state.mustChange = session.password_change_required;
  await loadMe();
  location.hash = state.mustChange ? "#/password" : home();
}

function passwordPage() {
  show(
    t("password.title"),
    h("p", {}, t("password.why")),
    form(
      h("div", { class: "grid" },
        field("current_password", t("password.current"), { required: true, kind: "password", autocomplete: "current-password" }),
        field("new_password", t("password.new"), { required: true, kind: "password", autocomplete: "new-password" })),
      t("password.submit"),
      async (el) => {
        const body = values(el);
        await api("POST", "/v1/auth/password", {
          current_password: body.current_password || "",
          new_password: body.new_password || "",
        });
        // Changing the password ends every session; sign in with the new one.
        state.mustChange = false;
        await startSession(state.pending.username, body.new_password);
      },
      { id: "password-change" },
    ),
  );
}

// ---- finding a weapon -----------------------------------------------------

function findPage(search) {
  const params = new URLSearchParams((search || "").slice(1));
  const results = h("section", { id: "results", "aria-live": "polite" });
  // Tracing is for tracers and auditors; other users find the firearms
  // they hold by the serial as marked, through the listing.
  const traces = has("tracer") || has("auditor");
  const f = form(
    h("div", { class: "grid" },
      field("serial", t("find.serial"), { value: params.get("serial"), required: !traces }),
      traces ? field("marking", t("find.marking"), { value: params.get("marking") }) : null,
      field("manufacturer", t("find.manufacturer"), { value: params.get("manufacturer") }),
      traces ? field("calibre", t("find.calibre"), { value: params.get("calibre") }) : null,
      traces ? field("purpose", t("find.purpose"), { value: state.purpose }) : null,
      traces ? field("exact", t("find.exact"), { kind: "checkbox" }) : null),
    t("find.submit"),
    async (el) => {
      const body = values(el);
      state.purpose = body.purpose || "";
      delete body.purpose;
      renderMatches(results, traces ? await api("GET", `/v1/trace?${query(body)}`) : await listed(body));
    },
    { id: "find", role: "search" },
  );
  show(t("find.title"), h("p", {}, t(traces ? "find.help" : "find.help_listing")), f, results);
  if (params.get("serial") || params.get("marking")) f.requestSubmit();
}

/// Firearms whose serial is exactly the one given, as trace matches.
async function listed(body) {
  const page = await api("GET", `/v1/firearms?${query({ serial_number: body.serial, manufacturer: body.manufacturer, limit: 100 })}`);
  return {
    matches: page.items.map((firearm) => ({ firearm, matched_on: "serial", score: 1, alert: ["lost", "stolen"].includes(firearm.status) })),
    truncated: Boolean(page.next_cursor),
  };
}

function renderMatches(box, answer) {
  if (answer.matches.length === 0) {
    fill(box, h("p", {}, t("find.none")));
    return;
  }
  const alerts = answer.matches.filter((m) => m.alert).length;
  fill(box,
    h("h2", {}, t("find.results", { count: answer.matches.length })),
    alerts ? h("p", { class: "problem", role: "alert" }, t("find.alert", { count: alerts })) : null,
    h("table", {},
      h("thead", {}, h("tr", {}, ["find.col.serial", "find.col.firearm", "find.col.status", "find.col.matched", "find.col.score"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, answer.matches.map((m) => h("tr", {},
        h("td", {}, h("a", { href: `#/firearms/${m.firearm.id}` }, m.firearm.serial_number)),
        h("td", {}, `${m.firearm.manufacturer} ${m.firearm.model} (${m.firearm.calibre})`),
        h("td", {}, statusBadge(m.firearm.status)),
        h("td", {}, term("matched", m.matched_on)),
        h("td", {}, m.score.toFixed(2)))))),
    answer.truncated ? h("p", { class: "muted" }, t("find.truncated")) : null,
  );
}

// ---- registering ----------------------------------------------------------

const CATEGORIES = ["revolver", "self_loading_pistol", "rifle", "carbine", "shotgun", "sub_machine_gun",
  "assault_rifle", "light_machine_gun", "heavy_machine_gun", "grenade_launcher", "portable_anti_tank_gun",
  "recoilless_rifle", "portable_anti_tank_launcher", "portable_anti_aircraft_launcher", "mortar",
  "other_small_arm", "other_light_weapon"];


function registerPage() {
  show(
    t("register.title"),
    form(
      [
        h("div", { class: "grid" },
          field("category", t("firearm.category"), { choices: choices("category", CATEGORIES), required: true }),
          field("manufacturer", t("firearm.manufacturer"), { required: true }),
          field("model", t("firearm.model"), { required: true }),
          field("calibre", t("firearm.calibre"), { required: true }),
          field("country_of_manufacture", t("firearm.country"), { required: true }),
          convert(field("year_of_manufacture", t("firearm.year"), { kind: "number", inputmode: "numeric" }), "number"),
          field("serial_number", t("firearm.serial"), { required: true }),
          convert(field("occurred_at", t("event.occurred_at"), { kind: "datetime-local", value: nowLocal(), required: true }), "time")),
        h("h2", {}, t("firearm.owner")),
        h("div", { class: "grid" }, holderFields("owner", true)),
        field("notes", t("event.notes"), { kind: "textarea" }),
      ],
      t("register.submit"),
      async (el) => {
        const firearm = await api("POST", "/v1/firearms", values(el));
        location.hash = `#/firearms/${firearm.id}`;
      },
      { id: "register" },
    ),
  );
}

// ---- a firearm and its history --------------------------------------------

async function firearmPage(id) {
  // Both at once: over an office's slow link each round trip counts.
  const [firearm, history] = await Promise.all([
    api("GET", `/v1/firearms/${id}`).catch((e) => e),
    api("GET", `/v1/firearms/${id}/history`).catch((e) => e),
  ]);
  if (firearm instanceof ApiError) {
    show(t("firearm.title"), h("p", { class: "problem", role: "alert" }, firearm.message));
    return;
  }
  const markings = (firearm.markings || []).map((m) => `${term("markingkind", m.kind)}: ${m.text}`);
  const facts = [
    ["firearm.status", statusBadge(firearm.status)],
    ["firearm.category", term("category", firearm.category)],
    ["firearm.calibre", firearm.calibre],
    ["firearm.country", firearm.country_of_manufacture],
    ["firearm.year", firearm.year_of_manufacture ?? ""],
    ["firearm.serial", firearm.serial_number],
    ["firearm.markings", markings.join("; ")],
    ["firearm.owner", holderText(firearm.owner)],
    ["firearm.custodian", holderText(firearm.custodian) || t("firearm.owner_holds")],
    ["firearm.version", firearm.version],
  ];
  const timeline = !(history instanceof ApiError)
    ? renderTimeline(history.events)
    : history.problem.code === "purpose_required"
      ? purposeForm(id)
      : h("p", { class: "muted" }, t("history.hidden"));
  show(
    `${firearm.manufacturer} ${firearm.model} · ${firearm.serial_number}`,
    h("section", { class: "panel", "aria-labelledby": "facts-h" },
      h("h2", { id: "facts-h" }, t("firearm.title")),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]))),
    h("h2", {}, t("history.title")),
    timeline,
    history instanceof ApiError ? null : verifyPanel(id),
    has("registrar") && firearm.status !== "destroyed" ? eventForm(firearm) : null,
  );
  performance.mark("firearm-page-rendered");
}

/// Where the registry records why histories are read, it asks first.
function purposeForm(id) {
  return form(
    field("purpose", t("find.purpose"), { required: true }),
    t("history.read"),
    async (el) => {
      state.purpose = values(el).purpose || "";
      await firearmPage(id);
    },
    { id: "purpose" },
  );
}

function renderTimeline(events) {
  return h("ol", { class: "timeline", id: "timeline" }, events.map((e) => {
    const d = e.details || {};
    const lines = [
      d.to ? t("history.to", { holder: holderText(d.to) }) : null,
      d.owner ? t("history.owner", { holder: holderText(d.owner) }) : null,
      e.location || d.location ? t("history.location", { place: e.location || d.location }) : null,
      d.reason ? t("history.reason", { reason: d.reason }) : null,
      d.authorization ? t("history.authorization", { reference: d.authorization }) : null,
      d.report_reference || d.case_reference || d.certificate_reference || e.reference || d.reference
        ? t("history.reference", {
          reference: d.report_reference || d.case_reference || d.certificate_reference || e.reference || d.reference,
        })
        : null,
      e.notes || d.notes ? t("history.notes", { notes: e.notes || d.notes }) : null,
    ].filter(Boolean);
    const by = e.recorded_by || {};
    return h("li", {},
      h("div", { class: "when" }, h("time", { datetime: e.occurred_at }, when(e.occurred_at))),
      h("div", { class: "what" }, term("eventtype", e.type)),
      lines.map((l) => h("div", {}, l)),
      h("div", { class: "who" }, t("history.recorded", {
        name: by.username || "?", when: when(e.recorded_at), seq: e.audit_seq ?? "—",
      })));
  }));
}

function verifyPanel(id) {
  const out = h("div", { "aria-live": "polite", id: "verify-result" });
  const button = h("button", { type: "button", class: "secondary", id: "verify" }, t("verify.button"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(h("p", {}, t("verify.running")));
    try {
      const key = await api("GET", "/v1/audit/key");
      const bundle = await api("GET", `/v1/firearms/${id}/evidence`);
      const proved = await verifyBundle(bundle, key.verifier_key);
      fill(out,
        h("p", { class: "proved" }, t("verify.proved")),
        h("ul", {},
          h("li", {}, t("verify.signed", { origin: proved.origin, size: proved.size, key: proved.key })),
          h("li", {}, t("verify.events", { count: proved.events })),
          proved.state ? h("li", {}, t("verify.state")) : null,
          h("li", {}, proved.complete ? t("verify.complete") : t("verify.partial"))),
      );
    } catch (err) {
      out.replaceChildren(h("p", { class: "failed" }, t("verify.failed", { reason: err.message })));
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { class: "panel verify", "aria-labelledby": "verify-h" },
    h("h2", { id: "verify-h" }, t("verify.title")), h("p", {}, t("verify.help")), button, out);
}

// ---- recording events -----------------------------------------------------

const DESTRUCTION = ["cutting", "crushing", "shredding", "smelting", "burning", "detonation", "other"];
const MARKING_KINDS = ["manufacture", "import", "state", "other"];

/// Each event type's own fields, as the API names them.
const EVENT_FIELDS = {
  custody_transfer: () => [...holderFields("to", true), field("reason", t("event.reason"))],
  ownership_transfer: () => [...holderFields("to", true), field("authorization", t("event.authorization"), { required: true })],
  reported_lost: () => [field("report_reference", t("event.report_reference"))],
  reported_stolen: () => [field("report_reference", t("event.report_reference"))],
  recovered: () => [],
  seized: () => [field("case_reference", t("event.case_reference")), ...holderFields("to", true)],
  export: () => [field("to_country", t("event.to_country"), { required: true }),
    field("licence_number", t("event.licence_number")), field("end_user_certificate", t("event.end_user_certificate"))],
  import: () => [field("from_country", t("event.from_country"), { required: true }),
    field("licence_number", t("event.licence_number"))],
  marking_added: () => [field("marking.kind", t("marking.kind"), { choices: choices("markingkind", MARKING_KINDS), required: true }),
    field("marking.text", t("marking.text"), { required: true }), field("marking.country", t("holder.country")),
    convert(field("marking.year", t("firearm.year"), { kind: "number" }), "number")],
  deactivated: () => [field("method", t("event.method")), field("certificate_reference", t("event.certificate_reference"))],
  destroyed: () => [field("method", t("event.method"), { choices: choices("destruction", DESTRUCTION), required: true }),
    field("certificate_reference", t("event.certificate_reference")),
    convert(field("witnesses", t("event.witnesses"), { kind: "textarea" }), "list")],
  correction: () => [field("reason", t("event.reason"), { required: true }),
    convert(field("changes", t("event.changes"), { kind: "textarea" }), "json")],
};

function eventForm(firearm) {
  const typeField = field("type", t("event.type"), { choices: choices("eventtype", Object.keys(EVENT_FIELDS)), required: true });
  const own = h("div", { class: "grid", id: "event-fields" });
  const select = typeField.querySelector("select");
  const refill = () => fill(own, (EVENT_FIELDS[select.value] || (() => []))());
  select.addEventListener("change", refill);
  refill();
  return h("section", { "aria-labelledby": "record-h" },
    h("h2", { id: "record-h" }, t("event.title")),
    form(
      [
        h("div", { class: "grid" }, typeField,
          convert(field("occurred_at", t("event.occurred_at"), { kind: "datetime-local", value: nowLocal(), required: true }), "time"),
          field("location", t("event.location")), field("reference", t("event.reference"))),
        own,
        field("notes", t("event.notes"), { kind: "textarea" }),
      ],
      t("event.submit"),
      async (el) => {
        await api("POST", `/v1/firearms/${firearm.id}/events`, values(el));
        await firearmPage(firearm.id);
      },
      { id: "record-event" },
    ));
}

// ---- start ----------------------------------------------------------------

window.addEventListener("hashchange", () => route());
// The catalogs and the session are fetched together; the page is drawn
// once both are in.
const session = loadSession();
await setUpLanguages();
await session;
await route();
