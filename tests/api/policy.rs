//! The access-control table of docs/architecture.md ("Who may do what"),
//! walked over HTTP: every endpoint, as every role, on a record of the
//! caller's own agency and of another. Each caller holds one role only.

use serde_json::{json, Value};
use std::cell::Cell;

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    SystemAdmin,
    Admin,
    Registrar,
    Tracer,
    Auditor,
}
use Role::*;

/// Whether the record the request touches belongs to the caller's agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Own,
    Other,
}
use Scope::*;

struct World {
    app: TestApp,
    own: String,
    firearm: String,
    /// Registered by the own agency, one for each destruction tried.
    to_destroy: Vec<String>,
    /// A request between the own agency and a third one.
    request: String,
    /// Requests the own agency received, to acknowledge and to answer.
    to_acknowledge: String,
    to_answer: String,
    /// A webhook subscription of the own agency.
    webhook: String,
    victim: String,
    grant: String,
    third: String,
    counter: Cell<u32>,
}

impl World {
    fn next(&self) -> u32 {
        self.counter.set(self.counter.get() + 1);
        self.counter.get()
    }
}

fn trace_request(to: &str) -> Value {
    json!({
        "to_agency_id": to,
        "firearm": {"category": "assault_rifle", "manufacturer": "Izhmash",
                    "country_of_manufacture": "RU", "serial_number": "KA-12345*"},
        "circumstances": {"seized_at": "2026-10-01T12:00:00Z", "location": "Lomé port"},
        "urgency": "normal",
        "respond_by": (chrono::Utc::now() + chrono::Duration::days(14)).to_rfc3339()
    })
}

type Expect = fn(Role, Scope) -> u16;
type Path = fn(&World, Scope, &str) -> String;
type Body = fn(&World, &str) -> Value;

/// One row of the table: the request, and the status each caller gets.
struct Endpoint {
    method: &'static str,
    path: Path,
    body: Option<Body>,
    expect: Expect,
}

fn e(method: &'static str, path: Path, body: Option<Body>, expect: Expect) -> Endpoint {
    Endpoint {
        method,
        path,
        body,
        expect,
    }
}

fn b(body: Body) -> Option<Body> {
    Some(body)
}

fn allowed_for(roles: &'static [Role], ok: u16) -> impl Fn(Role) -> u16 {
    move |r| if roles.contains(&r) { ok } else { 403 }
}

fn endpoints() -> Vec<(&'static str, Endpoint)> {
    fn p(path: &'static str) -> Path {
        // Only static paths go through here; the closure ignores the world.
        match path {
            "/v1/agencies" => |_, _, _| "/v1/agencies".into(),
            "/v1/users" => |_, _, _| "/v1/users".into(),
            "/v1/role-grants" => |_, _, _| "/v1/role-grants".into(),
            "/v1/firearms" => |_, _, _| "/v1/firearms".into(),
            "/v1/firearms/import" => |_, _, _| "/v1/firearms/import".into(),
            "/v1/destructions" => |_, _, _| "/v1/destructions".into(),
            "/v1/trace" => |_, _, _| "/v1/trace?serial=MATRIX-1".into(),
            "/v1/notifications" => |_, _, _| "/v1/notifications".into(),
            "/v1/trace-requests" => |_, _, _| "/v1/trace-requests".into(),
            "/v1/auth/me" => |_, _, _| "/v1/auth/me".into(),
            "/v1/audit/entries" => |_, _, _| "/v1/audit/entries?limit=2".into(),
            "/v1/audit/head" => |_, _, _| "/v1/audit/head".into(),
            "/v1/audit/checkpoint" => |_, _, _| "/v1/audit/checkpoint".into(),
            "/v1/audit/key" => |_, _, _| "/v1/audit/key".into(),
            "/v1/audit/proof/inclusion" => {
                |_, _, _| "/v1/audit/proof/inclusion?seq=0&size=2".into()
            }
            "/v1/audit/proof/consistency" => {
                |_, _, _| "/v1/audit/proof/consistency?from=1&to=2".into()
            }
            "/v1/audit/verify" => |_, _, _| "/v1/audit/verify".into(),
            "/v1/audit/export" => |_, _, _| "/v1/audit/export".into(),
            "/v1/webhooks" => |_, _, _| "/v1/webhooks".into(),
            "/tlog/checkpoint" => |_, _, _| "/tlog/checkpoint".into(),
            "/tlog/tile" => |_, _, _| "/tlog/tile/0/000.p/1".into(),
            other => panic!("no static path {other}"),
        }
    }
    vec![
        ("me", e("GET", p("/v1/auth/me"), None, |_, _| 200)),
        (
            "list agencies",
            e("GET", p("/v1/agencies"), None, |_, _| 200),
        ),
        (
            "read agency",
            e(
                "GET",
                |w, _, _| format!("/v1/agencies/{}", w.own),
                None,
                |_, _| 200,
            ),
        ),
        (
            "create agency",
            e(
                "POST",
                p("/v1/agencies"),
                b(
                    |w, _| json!({"name": format!("Agency {}", w.next()), "country": "GH", "kind": "police"}),
                ),
                |r, _| allowed_for(&[SystemAdmin], 201)(r),
            ),
        ),
        (
            "list users",
            e("GET", p("/v1/users"), None, |r, _| {
                allowed_for(&[SystemAdmin, Admin], 200)(r)
            }),
        ),
        (
            "create user in the own agency",
            e(
                "POST",
                p("/v1/users"),
                b(|w, _| {
                    json!({"username": format!("new{}", w.next()), "password": PASSWORD,
                               "agency_id": w.own, "roles": ["tracer"]})
                }),
                |r, s| match (r, s) {
                    (SystemAdmin, _) | (Admin, Own) => 201,
                    _ => 403,
                },
            ),
        ),
        (
            "disable user",
            e(
                "POST",
                |w, _, _| format!("/v1/users/{}/disable", w.victim),
                None,
                managed,
            ),
        ),
        (
            "set roles",
            e(
                "PUT",
                |w, _, _| format!("/v1/users/{}/roles", w.victim),
                b(|_, _| json!({"roles": ["registrar", "tracer"]})),
                managed,
            ),
        ),
        (
            "reset password",
            e(
                "POST",
                |w, _, _| format!("/v1/users/{}/password", w.victim),
                b(|_, _| json!({"password": "another long password"})),
                |r, s| match managed(r, s) {
                    200 => 204,
                    other => other,
                },
            ),
        ),
        (
            "list role grants",
            e("GET", p("/v1/role-grants"), None, |r, _| {
                allowed_for(&[SystemAdmin], 200)(r)
            }),
        ),
        (
            "approve a grant",
            e(
                "POST",
                |w, _, _| format!("/v1/role-grants/{}/approve", w.grant),
                b(|_, _| json!({})),
                |r, _| allowed_for(&[SystemAdmin], 200)(r),
            ),
        ),
        ("list firearms", e("GET", p("/v1/firearms"), None, readers)),
        (
            "read firearm",
            e(
                "GET",
                |w, _, _| format!("/v1/firearms/{}", w.firearm),
                None,
                readers,
            ),
        ),
        (
            "read history",
            e(
                "GET",
                |w, _, _| format!("/v1/firearms/{}/history", w.firearm),
                None,
                |r, s| match (r, s) {
                    (SystemAdmin, _) => 403,
                    (Auditor, _) | (_, Own) => 200,
                    _ => 404,
                },
            ),
        ),
        (
            "read evidence",
            e(
                "GET",
                |w, _, _| format!("/v1/firearms/{}/evidence", w.firearm),
                None,
                |r, s| match (r, s) {
                    (SystemAdmin, _) => 403,
                    (Auditor, _) | (_, Own) => 200,
                    _ => 404,
                },
            ),
        ),
        (
            "register firearm",
            e(
                "POST",
                p("/v1/firearms"),
                b(|w, agency| pistol(&format!("MATRIX-R{}", w.next()), agency)),
                |r, _| allowed_for(&[Registrar], 201)(r),
            ),
        ),
        (
            "import firearms",
            e("POST", p("/v1/firearms/import"), None, |r, _| {
                allowed_for(&[Registrar], 201)(r)
            }),
        ),
        (
            "record event",
            e(
                "POST",
                |w, _, _| format!("/v1/firearms/{}/events", w.firearm),
                b(|w, _| {
                    json!({"type": "marking_added",
                               "marking": {"kind": "state", "text": format!("M {}", w.next())}})
                }),
                |r, s| match (r, s) {
                    (Registrar, Own) => 201,
                    _ => 403,
                },
            ),
        ),
        (
            "destroy a batch",
            e(
                "POST",
                p("/v1/destructions"),
                b(|w, _| {
                    let i = w.next() as usize % w.to_destroy.len();
                    json!({"firearm_ids": [w.to_destroy[i]], "method": "cutting"})
                }),
                |r, s| match (r, s) {
                    (Registrar, Own) => 201,
                    (Registrar, Other) => 409,
                    _ => 403,
                },
            ),
        ),
        (
            "trace",
            e("GET", p("/v1/trace"), None, |r, _| {
                allowed_for(&[Tracer, Auditor], 200)(r)
            }),
        ),
        (
            "notifications",
            e("GET", p("/v1/notifications"), None, |r, _| {
                allowed_for(&[Admin, Tracer, Registrar], 200)(r)
            }),
        ),
        (
            "send trace request",
            e(
                "POST",
                p("/v1/trace-requests"),
                b(|w, agency| {
                    // To the agency that is not the caller's.
                    let to = if agency == w.own { &w.third } else { &w.own };
                    trace_request(to)
                }),
                |r, _| allowed_for(&[Tracer], 201)(r),
            ),
        ),
        (
            "list trace requests",
            e("GET", p("/v1/trace-requests"), None, |r, _| {
                allowed_for(&[Tracer, Auditor], 200)(r)
            }),
        ),
        (
            "read trace request",
            e(
                "GET",
                |w, _, _| format!("/v1/trace-requests/{}", w.request),
                None,
                |r, s| match (r, s) {
                    (Auditor, _) | (Tracer, Own) => 200,
                    (Tracer, Other) => 404,
                    _ => 403,
                },
            ),
        ),
        (
            "acknowledge",
            e(
                "POST",
                |w, _, _| format!("/v1/trace-requests/{}/acknowledge", w.to_acknowledge),
                b(|_, _| json!({})),
                receiver,
            ),
        ),
        (
            "answer",
            e(
                "POST",
                |w, _, _| format!("/v1/trace-requests/{}/response", w.to_answer),
                b(|_, _| json!({"outcome": "not_found"})),
                receiver,
            ),
        ),
        (
            "audit entries",
            e("GET", p("/v1/audit/entries"), None, auditors),
        ),
        ("audit head", e("GET", p("/v1/audit/head"), None, auditors)),
        (
            "audit checkpoint",
            e("GET", p("/v1/audit/checkpoint"), None, auditors),
        ),
        ("audit key", e("GET", p("/v1/audit/key"), None, auditors)),
        (
            "inclusion proof",
            e("GET", p("/v1/audit/proof/inclusion"), None, auditors),
        ),
        (
            "consistency proof",
            e("GET", p("/v1/audit/proof/consistency"), None, auditors),
        ),
        ("verify", e("GET", p("/v1/audit/verify"), None, auditors)),
        ("export", e("GET", p("/v1/audit/export"), None, auditors)),
        (
            "tlog checkpoint",
            e("GET", p("/tlog/checkpoint"), None, auditors),
        ),
        ("tlog tile", e("GET", p("/tlog/tile"), None, auditors)),
        (
            "statistics",
            e(
                "GET",
                |w, s, _| {
                    let agency = if s == Own { &w.own } else { &w.third };
                    format!("/v1/statistics?agency_id={agency}")
                },
                None,
                agency_figures,
            ),
        ),
        (
            "subscribe a webhook",
            e(
                "POST",
                p("/v1/webhooks"),
                b(|_, _| json!({"url": "http://127.0.0.1:9/hooks", "events": ["alert"]})),
                |r, _| allowed_for(&[Admin], 201)(r),
            ),
        ),
        (
            "list webhooks",
            e("GET", p("/v1/webhooks"), None, |r, _| {
                allowed_for(&[Admin], 200)(r)
            }),
        ),
        (
            "read a webhook",
            e(
                "GET",
                |w, _, _| format!("/v1/webhooks/{}", w.webhook),
                None,
                agency_admin,
            ),
        ),
        (
            "webhook deliveries",
            e(
                "GET",
                |w, _, _| format!("/v1/webhooks/{}/deliveries", w.webhook),
                None,
                agency_admin,
            ),
        ),
        (
            "rotate a webhook's secret",
            e(
                "POST",
                |w, _, _| format!("/v1/webhooks/{}/rotate-secret", w.webhook),
                None,
                agency_admin,
            ),
        ),
        (
            "national reports",
            e(
                "GET",
                |_, _, _| "/v1/reports/iti?year=2025".into(),
                None,
                auditors,
            ),
        ),
    ]
}

fn agency_figures(r: Role, s: Scope) -> u16 {
    match (r, s) {
        (SystemAdmin, _) => 403,
        (Auditor, _) | (_, Own) => 200,
        (_, Other) => 404,
    }
}

fn agency_admin(r: Role, s: Scope) -> u16 {
    match (r, s) {
        (Admin, Own) => 200,
        (Admin, Other) => 404,
        _ => 403,
    }
}

fn managed(r: Role, s: Scope) -> u16 {
    match (r, s) {
        (SystemAdmin, _) | (Admin, Own) => 200,
        (Admin, Other) => 404,
        _ => 403,
    }
}

fn readers(r: Role, _: Scope) -> u16 {
    if r == SystemAdmin {
        403
    } else {
        200
    }
}

fn receiver(r: Role, s: Scope) -> u16 {
    match (r, s) {
        (Tracer, Own) => 200,
        (Tracer, Other) => 404,
        _ => 403,
    }
}

fn auditors(r: Role, _: Scope) -> u16 {
    if r == Auditor {
        200
    } else {
        403
    }
}

#[test]
fn every_endpoint_as_every_role_on_own_and_other_agencies_records() {
    let app = spawn();
    let root = app.admin_token();
    let own = app.create_agency(&root, "Ghana Police Service", "GH");
    let other = app.create_agency(&root, "Police nationale", "TG");
    let third = app.create_agency(&root, "Nigeria Police Force", "NG");
    let roles = [
        (Admin, "admin"),
        (Registrar, "registrar"),
        (Tracer, "tracer"),
        (Auditor, "auditor"),
    ];
    let mut callers: Vec<(Role, Scope, String, String)> =
        vec![(SystemAdmin, Own, root.clone(), String::new())];
    for (scope, agency, prefix) in [(Own, &own, "gh"), (Other, &other, "tg")] {
        for (role, name) in roles {
            let (_, token) = app.create_user(&root, &format!("{prefix}-{name}"), agency, &[name]);
            callers.push((role, scope, token, agency.clone()));
        }
    }
    let registrar = |scope| {
        callers
            .iter()
            .find(|c| c.0 == Registrar && c.1 == scope)
            .map(|c| c.2.clone())
            .expect("registrar")
    };
    let own_registrar = registrar(Own);
    let register = |serial: &str| {
        let r = app.post("/v1/firearms", &own_registrar, &pistol(serial, &own));
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    };
    let firearm = register("MATRIX-1");
    let to_destroy = (0..2).map(|i| register(&format!("MATRIX-D{i}"))).collect();
    let (_, third_tracer) = app.create_user(&root, "ng-tracer", &third, &["tracer"]);
    let own_tracer = callers
        .iter()
        .find(|c| c.0 == Tracer && c.1 == Own)
        .map(|c| c.2.clone())
        .expect("tracer");
    let send = |from: &str, to: &str| {
        let r = app.post("/v1/trace-requests", from, &trace_request(to));
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    };
    let request = send(&own_tracer, &third);
    let to_acknowledge = send(&third_tracer, &own);
    let to_answer = send(&third_tracer, &own);
    let own_admin = callers
        .iter()
        .find(|c| c.0 == Admin && c.1 == Own)
        .map(|c| c.2.clone())
        .expect("admin");
    let hook = json!({"url": "http://127.0.0.1:9/hooks", "events": ["alert"]});
    let r = app.post("/v1/webhooks", &own_admin, &hook);
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.body["id"].as_str().expect("id").to_string();
    let (victim, _) = app.create_user(&root, "gh-victim", &own, &["tracer"]);
    // A grant the bootstrap administrator did not ask for, so it may decide it.
    let (grantee, _) = app.create_user(&root, "gh-grantee", &own, &["tracer"]);
    let r = app
        .req("PUT", &format!("/v1/users/{grantee}/roles"))
        .token(app.approver())
        .json(&json!({"roles": ["auditor"]}));
    assert_eq!(r.status, 202, "{}", r.text);
    let grant = r.body["grant_id"].as_str().expect("grant").to_string();
    wait_integrated(&app.database_url);

    let world = World {
        own: own.clone(),
        firearm,
        to_destroy,
        request,
        to_acknowledge,
        to_answer,
        webhook,
        victim,
        grant,
        counter: Cell::new(0),
        third,
        app,
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (name, endpoint) in endpoints() {
        for (role, scope, token, agency) in &callers {
            let path = (endpoint.path)(&world, *scope, agency);
            let req = world.app.req(endpoint.method, &path).token(token);
            let reply = match (name, endpoint.body) {
                ("import firearms", _) => {
                    let line = pistol(&format!("MATRIX-I{}", world.next()), agency).to_string();
                    req.raw("application/x-ndjson", line.as_bytes())
                }
                (_, Some(body)) => req.json(&body(&world, agency)),
                (_, None) => req.send(),
            };
            let expected = (endpoint.expect)(*role, *scope);
            checked += 1;
            if reply.status != expected {
                wrong.push(format!(
                    "{name} as {role:?} ({scope:?}): {} (expected {expected}) {}",
                    reply.status, reply.text
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
