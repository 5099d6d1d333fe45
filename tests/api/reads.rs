//! Finding 2 of the trust review: every read of registry data leaves an
//! entry in the audit log, with what was asked and why.

use serde_json::Value;

use crate::helpers::*;

/// What every entry of `action` says, as its canonical text says it.
fn entries(url: &str, action: &str) -> Vec<Value> {
    use diesel::sql_types::{Nullable, Text as Txt};
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = Nullable<Txt>)]
        actor_username: Option<String>,
        #[diesel(sql_type = Txt)]
        target: String,
        #[diesel(sql_type = Nullable<Txt>)]
        purpose: Option<String>,
        #[diesel(sql_type = Nullable<Txt>)]
        detail: Option<String>,
    }
    use diesel::RunQueryDsl;
    let query = format!(
        "SELECT actor_username, target, purpose, detail FROM audit_entries \
         WHERE action = '{action}' ORDER BY id"
    );
    let target = registry::db::DbTarget::parse(url).expect("url");
    let rows: Vec<Text> =
        match registry::db::ConnectionManager::connect_target(&target).expect("connect") {
            registry::db::DbConn::Pg(mut c) => diesel::sql_query(query).load(&mut c),
            registry::db::DbConn::Sqlite(mut c) => diesel::sql_query(query).load(&mut c),
        }
        .expect("entries");
    rows.iter()
        .map(|r| {
            let mut e = serde_json::json!({
                "actor": {"username": r.actor_username},
                "target": r.target,
            });
            if let Some(purpose) = &r.purpose {
                e["purpose"] = purpose.clone().into();
            }
            if let Some(detail) = &r.detail {
                e["detail"] = serde_json::from_str(detail).expect("detail JSON");
            }
            e
        })
        .collect()
}

#[test]
fn reads_of_firearms_histories_traces_and_the_log_are_recorded() {
    let reg = registry();
    let app = &reg.app;
    let url = app.database_url.clone();
    let togo = app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, snoop) = app.create_user(&reg.admin, "tg-admin", &togo, &["admin", "tracer"]);
    let (_, auditor) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    let f = reg.register(&pistol("READ-1", &reg.agency));
    let id = f["id"].as_str().expect("id").to_string();

    let purpose = |path: &str, token: &str| {
        app.req("GET", path)
            .token(token)
            .header("Registry-Purpose", "case GH-2026-17")
            .send()
    };
    assert_eq!(
        app.get("/v1/firearms?manufacturer=glock+gmbh&limit=1000", &snoop)
            .status,
        200
    );
    assert_eq!(purpose(&format!("/v1/firearms/{id}"), &snoop).status, 200);
    assert_eq!(
        app.get(&format!("/v1/firearms/{id}/history"), &auditor)
            .status,
        200
    );
    assert_eq!(
        app.get("/v1/trace?serial=READ*&manufacturer=Glock", &snoop)
            .status,
        200
    );
    assert_eq!(app.get("/v1/audit/entries?limit=5", &auditor).status, 200);
    // A read refused writes nothing.
    app.get(&format!("/v1/firearms/{id}/history"), &snoop)
        .assert_problem(404, "not_found");

    for action in [
        "firearm.list",
        "firearm.read",
        "history.read",
        "trace.query",
        "audit.read",
    ] {
        wait_for_entries(&url, action, 1);
    }
    let list = &entries(&url, "firearm.list")[0];
    assert_eq!(list["actor"]["username"], "tg-admin");
    assert_eq!(list["detail"]["manufacturer"], "glock gmbh");
    assert_eq!(list["detail"]["limit"], 1000);
    let read = &entries(&url, "firearm.read")[0];
    assert_eq!(read["target"], format!("firearm:{id}"));
    assert_eq!(read["purpose"], "case GH-2026-17");
    let history = entries(&url, "history.read");
    assert_eq!(history.len(), 1, "the refused read left no entry");
    assert_eq!(history[0]["actor"]["username"], "aud");
    let trace = &entries(&url, "trace.query")[0];
    assert_eq!(trace["detail"]["query"]["serial"], "READ*");
    assert_eq!(trace["detail"]["query"]["manufacturer"], "Glock");
    assert_eq!(trace["detail"]["matches"][0]["firearm_id"], id.as_str());

    // The read entries are integrated and verify like any other.
    wait_integrated(&url);
    let report = app.get("/v1/audit/verify", &auditor);
    assert_eq!(report.body["valid"], true, "{}", report.text);
}

#[test]
fn a_registry_that_requires_a_purpose_refuses_reads_without_one() {
    let reg = registry_with(|s| s.require_purpose = true);
    let app = &reg.app;
    let f = reg.register(&pistol("WHY-1", &reg.agency));
    let history = format!("/v1/firearms/{}/history", f["id"].as_str().expect("id"));
    app.get(&history, &reg.registrar)
        .assert_problem(400, "purpose_required");
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    app.get("/v1/trace?serial=WHY-1", &tracer)
        .assert_problem(400, "purpose_required");
    let with = |path: &str, token: &str, purpose: &str| {
        app.req("GET", path)
            .token(token)
            .header("Registry-Purpose", purpose)
            .send()
    };
    assert_eq!(
        with(&history, &reg.registrar, "inspection 2026/44").status,
        200
    );
    assert_eq!(
        with("/v1/trace?serial=WHY-1", &tracer, "seizure SZ-9").status,
        200
    );
    with(&history, &reg.registrar, &"x".repeat(201)).assert_problem(400, "invalid_purpose");
    // Firearm records themselves stay readable without one.
    assert_eq!(app.get("/v1/firearms", &reg.registrar).status, 200);
}
