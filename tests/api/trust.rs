//! Trust against insiders: who may grant what, four eyes on privileged
//! roles, passwords, replays by disabled users, and what a formerly
//! responsible agency still reads.

use serde_json::{json, Value};

use crate::helpers::*;

fn roles_of(app: &TestApp, admin: &str, user_id: &str) -> Value {
    let listed = app.get("/v1/users?limit=1000", admin);
    listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["id"] == user_id)
        .map(|u| u["roles"].clone())
        .expect("user listed")
}

fn put_roles(app: &TestApp, token: &str, user_id: &str, roles: &[&str]) -> Reply {
    app.req("PUT", &format!("/v1/users/{user_id}/roles"))
        .token(token)
        .json(&json!({"roles": roles}))
}

fn me_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/auth/me", token).body["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Finding 1: an agency admin gave itself auditor, registrar and tracer.
#[test]
fn nobody_changes_their_own_roles_and_an_admin_grants_no_privileged_role() {
    let reg = registry();
    let app = &reg.app;
    let (admin_id, gh_admin) = app.create_user(&reg.admin, "gh-admin", &reg.agency, &["admin"]);
    let (clerk, _) = app.create_user(&reg.admin, "clerk", &reg.agency, &["tracer"]);

    put_roles(
        app,
        &gh_admin,
        &admin_id,
        &["admin", "auditor", "registrar", "tracer"],
    )
    .assert_problem(403, "self_grant");
    put_roles(app, &gh_admin, &admin_id, &["admin", "tracer"]).assert_problem(403, "self_grant");
    let root_id = me_id(app, &reg.admin);
    put_roles(app, &reg.admin, &root_id, &["system_admin", "auditor"])
        .assert_problem(403, "self_grant");
    assert_eq!(roles_of(app, &reg.admin, &admin_id), json!(["admin"]));
    // The audit log stays closed to it.
    app.get("/v1/audit/export", &gh_admin)
        .assert_problem(403, "forbidden");

    put_roles(app, &gh_admin, &clerk, &["auditor"]).assert_problem(403, "forbidden");
    put_roles(app, &gh_admin, &clerk, &["system_admin"]).assert_problem(403, "forbidden");
    let body = json!({"username": "aud", "password": PASSWORD, "agency_id": reg.agency, "roles": ["auditor"]});
    app.post("/v1/users", &gh_admin, &body)
        .assert_problem(403, "forbidden");
    assert_eq!(roles_of(app, &reg.admin, &clerk), json!(["tracer"]));
    // What an admin may give, it gives at once.
    let r = put_roles(app, &gh_admin, &clerk, &["registrar", "tracer"]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["roles"], json!(["registrar", "tracer"]));
}

/// Auditor and system_admin wait for a second system administrator.
#[test]
fn privileged_grants_need_a_second_system_administrator() {
    let reg = registry();
    let app = &reg.app;
    let (clerk, clerk_token) = app.create_user(&reg.admin, "clerk", &reg.agency, &["tracer"]);

    let r = put_roles(app, &reg.admin, &clerk, &["auditor", "tracer"]);
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], "pending_approval");
    assert_eq!(r.body["roles"], json!(["auditor"]));
    let grant = r.body["grant_id"].as_str().expect("grant").to_string();
    // Not in effect yet.
    assert_eq!(roles_of(app, &reg.admin, &clerk), json!(["tracer"]));
    app.get("/v1/audit/head", &clerk_token)
        .assert_problem(403, "forbidden");
    let pending = app.get("/v1/role-grants?status=pending", app.approver());
    assert_eq!(pending.body["items"][0]["id"], grant.as_str());
    app.get("/v1/role-grants", &clerk_token)
        .assert_problem(403, "forbidden");

    // The requester cannot approve its own request; the grantee neither.
    let approve = format!("/v1/role-grants/{grant}/approve");
    app.post(&approve, &reg.admin, &json!({}))
        .assert_problem(403, "four_eyes");
    app.post(&approve, &clerk_token, &json!({}))
        .assert_problem(403, "forbidden");
    let r = app.post(&approve, app.approver(), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(
        roles_of(app, &reg.admin, &clerk),
        json!(["tracer", "auditor"])
    );
    assert_eq!(app.get("/v1/audit/head", &clerk_token).status, 200);
    app.post(&approve, app.approver(), &json!({}))
        .assert_problem(409, "grant_not_pending");

    // A rejected grant changes nothing.
    let r = app.post(
        "/v1/users",
        &reg.admin,
        &json!({"username": "root2", "password": PASSWORD, "agency_id": reg.agency,
                "roles": ["system_admin", "registrar"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["roles"], json!(["registrar"]));
    assert_eq!(
        r.body["pending_grants"][0]["roles"],
        json!(["system_admin"])
    );
    let grant = r.body["pending_grants"][0]["grant_id"]
        .as_str()
        .expect("id");
    let user = r.body["id"].as_str().expect("id").to_string();
    let r = app.post(
        &format!("/v1/role-grants/{grant}/reject"),
        app.approver(),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(roles_of(app, &reg.admin, &user), json!(["registrar"]));

    // Requests and decisions are in the audit log, and verify holds.
    wait_integrated(&app.database_url);
    for action in [
        "role_grant.requested",
        "role_grant.approved",
        "role_grant.rejected",
    ] {
        let n = sql_count(
            &app.database_url,
            &format!("SELECT COUNT(*) AS n FROM audit_entries WHERE action = '{action}'"),
        );
        assert!(n >= 1, "{action}");
    }
    let r = app.get("/v1/audit/verify", &clerk_token);
    assert_eq!(r.body["valid"], true, "{}", r.text);
}

/// Finding 5: a user changes their own password; earlier tokens stop.
#[test]
fn a_user_changes_their_own_password_and_earlier_tokens_stop_working() {
    let reg = registry();
    let app = &reg.app;
    let second = app.token_for("registrar", PASSWORD);
    let change = |token: &str, current: &str, new: &str| {
        app.post(
            "/v1/auth/password",
            token,
            &json!({"current_password": current, "new_password": new}),
        )
    };
    change(&reg.registrar, "not the password", "a brand new passphrase")
        .assert_problem(403, "wrong_password");
    change(&reg.registrar, PASSWORD, "short").assert_problem(422, "validation_failed");
    change(&reg.registrar, PASSWORD, PASSWORD).assert_problem(422, "validation_failed");
    // Nothing changed yet: the token still works.
    assert_eq!(app.get("/v1/firearms", &second).status, 200);

    let r = change(&reg.registrar, PASSWORD, "a brand new passphrase");
    assert_eq!(r.status, 204, "{}", r.text);
    for token in [&reg.registrar, &second] {
        app.get("/v1/firearms", token)
            .assert_problem(401, "token_revoked");
    }
    assert_eq!(app.login("registrar", PASSWORD).status, 401);
    let fresh = app.token_for("registrar", "a brand new passphrase");
    assert_eq!(app.get("/v1/firearms", &fresh).status, 200);
}

/// Finding 5: an admin resets a password; the user must choose their own.
#[test]
fn an_admin_resets_a_password_and_the_user_must_change_it() {
    let reg = registry();
    let app = &reg.app;
    let (gh_admin_id, gh_admin) = app.create_user(&reg.admin, "gh-admin", &reg.agency, &["admin"]);
    let registrar_id = app.get("/v1/auth/me", &reg.registrar).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let reset = |token: &str, id: &str, body: Value| {
        app.post(&format!("/v1/users/{id}/password"), token, &body)
    };
    reset(&gh_admin, &registrar_id, json!({"password": "short"}))
        .assert_problem(422, "validation_failed");
    reset(
        &gh_admin,
        &gh_admin_id,
        json!({"password": "temporary password 1"}),
    )
    .assert_problem(403, "self_reset");
    reset(
        &reg.registrar,
        &registrar_id,
        json!({"password": "temporary password 1"}),
    )
    .assert_problem(403, "forbidden");
    // An admin cannot take over an auditor's account.
    let (auditor_id, _) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    reset(
        &gh_admin,
        &auditor_id,
        json!({"password": "temporary password 1"}),
    )
    .assert_problem(403, "forbidden");
    // Another agency's admin does not see the user.
    let togo = app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, tg_admin) = app.create_user(&reg.admin, "tg-admin", &togo, &["admin"]);
    reset(
        &tg_admin,
        &registrar_id,
        json!({"password": "temporary password 1"}),
    )
    .assert_problem(404, "not_found");

    let r = reset(
        &gh_admin,
        &registrar_id,
        json!({"password": "temporary password 1"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    app.get("/v1/firearms", &reg.registrar)
        .assert_problem(401, "token_revoked");
    let login = app.login("registrar", "temporary password 1");
    assert_eq!(login.status, 200);
    assert_eq!(login.body["password_change_required"], true);
    let temporary = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    app.get("/v1/firearms", &temporary)
        .assert_problem(403, "password_change_required");
    app.post("/v1/firearms", &temporary, &pistol("PW-1", &reg.agency))
        .assert_problem(403, "password_change_required");
    assert_eq!(app.get("/v1/auth/me", &temporary).status, 200);
    let r = app.post(
        "/v1/auth/password",
        &temporary,
        &json!({"current_password": "temporary password 1", "new_password": "my own passphrase"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    let login = app.login("registrar", "my own passphrase");
    assert_eq!(login.body["password_change_required"], false);
    let token = login.body["access_token"].as_str().expect("token");
    assert_eq!(app.get("/v1/firearms", token).status, 200);
}

#[test]
fn a_user_created_with_must_change_password_changes_it_first() {
    let reg = registry();
    let app = &reg.app;
    let r = app.post(
        "/v1/users",
        &reg.admin,
        &json!({"username": "newbie", "password": PASSWORD, "agency_id": reg.agency,
                "roles": ["tracer"], "must_change_password": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["must_change_password"], true);
    let token = app.token_for("newbie", PASSWORD);
    app.get("/v1/trace?serial=ABC123", &token)
        .assert_problem(403, "password_change_required");
}

/// Finding 4: a disabled user's retry of an earlier idempotent POST.
#[test]
fn a_disabled_users_idempotent_replay_is_refused() {
    let reg = registry();
    let app = &reg.app;
    let id = app.get("/v1/auth/me", &reg.registrar).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let register = || {
        app.req("POST", "/v1/firearms")
            .token(&reg.registrar)
            .header("Idempotency-Key", "replay-1")
            .json(&pistol("REPLAY-1", &reg.agency))
    };
    assert_eq!(register().status, 201);
    assert_eq!(register().status, 201);
    app.disable_user(&reg.admin, &id);
    register().assert_problem(401, "account_disabled");
}

/// Finding 6: the registering agency keeps the history it wrote after
/// another agency seizes the firearm, and sees nothing after that.
#[test]
fn a_formerly_responsible_agency_reads_the_history_up_to_the_handover() {
    let reg = registry();
    let app = &reg.app;
    let customs = app.create_agency(&reg.admin, "Customs Division", "GH");
    let (_, customs_registrar) =
        app.create_user(&reg.admin, "customs-reg", &customs, &["registrar"]);
    let togo = app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, stranger) = app.create_user(&reg.admin, "tg-reg", &togo, &["registrar"]);
    let f = reg.register(&pistol("SEIZE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let events = format!("/v1/firearms/{id}/events");
    let seize = json!({"type": "seized", "case_reference": "SZ-1",
        "to": {"kind": "agency", "name": "Customs", "agency_id": customs}});
    let r = app.post(&events, &customs_registrar, &seize);
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post(
        &events,
        &customs_registrar,
        &json!({"type": "marking_added", "marking": {"kind": "state", "text": "CUSTOMS 9"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    let path = format!("/v1/firearms/{id}/history");
    let theirs = app.get(&path, &reg.registrar);
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    let types: Vec<_> = theirs.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, vec![json!("registered"), json!("seized")]);
    let now_responsible = app.get(&path, &customs_registrar);
    assert_eq!(
        now_responsible.body["events"].as_array().map(Vec::len),
        Some(3)
    );
    app.get(&path, &stranger).assert_problem(404, "not_found");
}

/// Finding 3: rows written straight into the database, with no entry.
#[test]
fn verify_names_rows_written_around_the_registry() {
    let reg = registry();
    let app = &reg.app;
    let url = app.database_url.clone();
    let (_, auditor) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    let f = reg.register(&pistol("PLANT-1", &reg.agency));
    let firearm = f["id"].as_str().expect("id");
    wait_integrated(&url);
    let verify = || app.get("/v1/audit/verify", &auditor).body;
    assert_eq!(verify()["valid"], true);

    // A system administrator planted with a copy of a real password hash.
    let planted = uuid::Uuid::now_v7().to_string();
    sql_as_client(
        &url,
        &format!(
            "INSERT INTO users (id, username, username_key, password_hash, agency_id, roles, \
             disabled, version, created_at, updated_at, must_change_password, token_epoch) \
             SELECT '{planted}', 'planted', 'planted', password_hash, NULL, 'system_admin', \
             disabled, 1, created_at, updated_at, must_change_password, 0 \
             FROM users WHERE username_key = 'admin'"
        ),
    )
    .expect("insert");
    let report = verify();
    assert_eq!(report["valid"], false, "{report}");
    let reason = report["reason"].as_str().expect("reason");
    assert!(
        reason.contains("users") && reason.contains(&planted),
        "{reason}"
    );
    sql(&url, &format!("DELETE FROM users WHERE id = '{planted}'"));
    assert_eq!(verify()["valid"], true);

    // A back-dated history event.
    let event = uuid::Uuid::now_v7().to_string();
    sql_as_client(
        &url,
        &format!(
            "INSERT INTO firearm_events (id, firearm_id, sequence, event_type, occurred_at, \
             recorded_at, recorded_by_user_id, recorded_by_username, details) \
             VALUES ('{event}', '{firearm}', 99, 'reported_lost', '2001-01-01 00:00:00', \
             '2001-01-01 00:00:00', 'x', 'x', '{{}}')"
        ),
    )
    .expect("insert");
    let report = verify();
    assert_eq!(report["valid"], false, "{report}");
    let reason = report["reason"].as_str().expect("reason");
    assert!(
        reason.contains("firearm_events") && reason.contains(&event),
        "{reason}"
    );
}

/// The history and the log refuse changes from any client of the database.
#[test]
fn the_history_and_the_audit_log_refuse_updates_and_deletes() {
    let reg = registry();
    let url = reg.app.database_url.clone();
    // Past 256 entries, so that the tree has a stored node (a level-8 one).
    reg.import_pistols("APPEND", 300);
    for statement in [
        "UPDATE firearm_events SET notes = 'changed'",
        "DELETE FROM firearm_events",
        "UPDATE audit_entries SET target = 'elsewhere'",
        "UPDATE audit_entries SET seq = seq + 1000",
        "DELETE FROM audit_entries",
        "UPDATE audit_heads SET root_hash = 'x'",
        "DELETE FROM audit_nodes",
    ] {
        let refused = sql_as_client(&url, statement).expect_err(statement);
        assert!(refused.contains("refused"), "{statement}: {refused}");
    }
    assert_eq!(
        sql_count(
            &url,
            "SELECT COUNT(*) AS n FROM firearm_events WHERE notes = 'changed'"
        ),
        0
    );
}
