// What every screen of the console shares: the messages, building the page,
// forms whose errors land beside their fields, and calls to the /v1 API.

export const state = { csrf: null, me: null, catalog: {}, fallback: {}, language: "en", purpose: "" };

// ---- messages -------------------------------------------------------------

export function t(key, vars = {}) {
  const text = state.catalog[key] ?? state.fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/// A value of an enumeration, in words where the catalog has them.
export function term(kind, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${kind}.${value}`;
  return state.catalog[key] ?? state.fallback[key] ?? String(value).replace(/_/g, " ");
}

// ---- the page -------------------------------------------------------------

/// An element with attributes (`on…` are listeners) and children (nodes or
/// text).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function text(selector, value) {
  const el = document.querySelector(selector);
  if (el) el.textContent = value;
}

/// Replaces `el`'s children, leaving out the absent ones.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function show(title, ...content) {
  document.title = `${title} · ${t("app.title")}`;
  const main = document.querySelector("#main");
  fill(main, h("h1", {}, title), content);
  main.focus();
}

let fieldCount = 0;

/// A labelled control with a place for the error the API names it in.
/// `name` is the API's field path (`owner.name`); `kind` the control.
export function field(name, label, options = {}) {
  const id = `f${++fieldCount}`;
  const errorId = `${id}-error`;
  const common = { id, name, "aria-describedby": errorId, required: options.required };
  let control;
  if (options.choices) {
    control = h(
      "select",
      common,
      options.required ? null : h("option", { value: "" }, "—"),
      options.choices.map(([value, words]) => h("option", { value, selected: value === options.value }, words)),
    );
  } else if (options.kind === "textarea") {
    control = h("textarea", { ...common, rows: 3 }, options.value ?? "");
  } else {
    control = h("input", {
      ...common,
      type: options.kind || "text",
      value: options.value ?? null,
      autocomplete: options.autocomplete || "off",
      inputmode: options.inputmode,
    });
  }
  if (options.kind === "checkbox") {
    return h("div", { class: "field check", "data-field": name }, control, h("label", { for: id }, label),
      h("span", { class: "error", id: errorId }));
  }
  return h("div", { class: "field", "data-field": name }, h("label", { for: id }, label), control,
    h("span", { class: "error", id: errorId, "aria-live": "polite" }));
}

/// A form whose submit runs `onsubmit(form)`, with its problem shown at its
/// top and each field's error beside the field.
export function form(content, submitLabel, onsubmit, attrs = {}) {
  const problem = h("div", { class: "problem", role: "alert" });
  const el = h("form", { class: "panel", novalidate: true, ...attrs }, problem, content,
    h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel)));
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(el);
    const button = el.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await onsubmit(el);
    } catch (err) {
      showProblem(el, err);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

export function clearErrors(formEl) {
  formEl.querySelector(".problem").textContent = "";
  for (const e of formEl.querySelectorAll(".error")) e.textContent = "";
  for (const c of formEl.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

export function showProblem(formEl, err) {
  const problem = err.problem || { detail: err.message };
  const unplaced = [];
  for (const fe of problem.errors || []) {
    const box = formEl.querySelector(`[data-field="${CSS.escape(fe.field)}"]`);
    if (!box) {
      unplaced.push(fe);
      continue;
    }
    box.querySelector(".error").textContent = fe.message;
    box.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  }
  const placedAll = (problem.errors || []).length > 0 && unplaced.length === 0;
  const summary = placedAll ? t("error.fields") : problem.detail || problem.title || t("error.unknown");
  fill(formEl.querySelector(".problem"), h("p", {}, summary),
    unplaced.length ? h("ul", {}, unplaced.map((e) => h("li", {}, `${e.field}: ${e.message}`))) : null);
  (formEl.querySelector("[aria-invalid=true]") || formEl.querySelector(".problem")).focus?.();
}

/// The form's values as the API's nested JSON: `owner.name` becomes
/// `{"owner": {"name": …}}`; empty fields are left out.
export function values(formEl) {
  const out = {};
  for (const c of formEl.querySelectorAll("[name]")) {
    let v = c.type === "checkbox" ? c.checked : c.value.trim();
    if (v === "" || v === false) continue;
    const conv = c.dataset.convert;
    if (conv === "number") v = Number(v);
    if (conv === "time") v = new Date(v).toISOString();
    if (conv === "list") v = v.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    if (conv === "json") {
      try {
        v = JSON.parse(v);
      } catch {
        throw new ApiError({ detail: t("error.fields"), errors: [{ field: c.name, message: t("error.json") }] });
      }
    }
    const path = c.name.split(".");
    let at = out;
    for (const p of path.slice(0, -1)) at = at[p] ??= {};
    at[path[path.length - 1]] = v;
  }
  return out;
}

export function convert(fieldEl, how) {
  fieldEl.querySelector("[name]").dataset.convert = how;
  return fieldEl;
}

export function nowLocal() {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export function when(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(state.language, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" })
    .format(new Date(iso)) + " UTC";
}

// ---- the API --------------------------------------------------------------

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "error");
    this.problem = problem;
  }
}

/// Calls the API. `body` is sent as JSON, or as it is with `contentType`
/// (a CSV file).
export async function api(method, path, body, contentType) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  if (state.purpose && method === "GET") headers["Registry-Purpose"] = state.purpose;
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined || contentType ? body : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({ detail: res.statusText }));
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/v1/auth/session")) {
      state.me = null;
      location.hash = "#/sign-in";
    }
    throw new ApiError({ status: res.status, ...data });
  }
  return data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== false) q.set(k, v);
  return q.toString();
}

// ---- shared by the screens ---------------------------------------------------

export function has(role) {
  return Boolean(state.me?.roles.includes(role));
}

export function statusBadge(status) {
  const alert = status === "lost" || status === "stolen";
  return h("span", { class: alert ? "badge alert" : "badge" }, term("status", status));
}

export function choices(kind, list) {
  return list.map((v) => [v, term(kind, v)]);
}

export function holderText(holder) {
  if (!holder) return "";
  const parts = [holder.name, holder.reference, holder.country].filter(Boolean);
  return `${parts.join(", ")} (${term("holderkind", holder.kind)})`;
}

export const HOLDER_KINDS = ["agency", "dealer", "manufacturer", "individual", "other"];

export function holderFields(prefix, required) {
  const agencies = (state.agencies || []).map((a) => [a.id, `${a.name} (${a.country})`]);
  return [
    field(`${prefix}.kind`, t("holder.kind"), { choices: choices("holderkind", HOLDER_KINDS), required }),
    field(`${prefix}.agency_id`, t("holder.agency"), { choices: agencies }),
    field(`${prefix}.name`, t("holder.name"), { required }),
    field(`${prefix}.reference`, t("holder.reference")),
    field(`${prefix}.country`, t("holder.country")),
  ];
}

/// An agency's name, from the list read at sign-in.
export function agencyName(id) {
  if (!id) return "";
  const a = (state.agencies || []).find((x) => x.id === id);
  return a ? `${a.name} (${a.country})` : id;
}
