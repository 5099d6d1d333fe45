use crate::helpers::*;
use serde_json::json;

fn count(app: &TestApp, token: &str, path: &str) -> usize {
    let r = app.get(&format!("{path}?limit=1000"), token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_system_admin_creates_and_reads_agencies() {
    let app = spawn();
    let admin = app.admin_token();
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "  Ghana Police   Service ", "country": "GH", "kind": "police"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(
        uuid::Uuid::parse_str(id).map(|u| u.get_version_num()).ok(),
        Some(7)
    );
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/agencies/{id}").as_str())
    );
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["name"], "Ghana Police   Service");
    assert_eq!(r.body["version"], 1);
    assert!(r.body["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let shown = app.get(&format!("/v1/agencies/{id}"), &admin);
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body, r.body);
}

#[test]
fn bad_agencies_are_refused_and_write_nothing() {
    let app = spawn();
    let admin = app.admin_token();
    for (country, _why) in [
        ("XX", "unassigned"),
        ("gha", "lower case, alpha-3"),
        ("gh", "lower case"),
        ("GHA", "alpha-3"),
    ] {
        let r = app.post(
            "/v1/agencies",
            &admin,
            &json!({"name": "Police", "country": country, "kind": "police"}),
        );
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "country");
    }
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "  ", "country": "XX", "kind": "navy"}),
    );
    r.assert_problem(422, "validation_failed");
    let fields: Vec<_> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, vec![json!("name"), json!("country"), json!("kind")]);
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "Police\u{0007}", "country": "GH", "kind": "police"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(count(&app, &admin, "/v1/agencies"), 0);
}

#[test]
fn duplicate_agencies_conflict() {
    let app = spawn();
    let admin = app.admin_token();
    app.create_agency(&admin, "Ghana Police Service", "GH");
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "ghana  police service", "country": "GH", "kind": "police"}),
    );
    r.assert_problem(409, "duplicate_agency");
    // The same name in another country is another agency.
    app.create_agency(&admin, "Ghana Police Service", "TG");
    assert_eq!(count(&app, &admin, "/v1/agencies"), 2);
}

#[test]
fn only_system_admins_create_agencies_but_anyone_lists_them() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let (_, registrar) = app.create_user(&admin, "registrar1", &agency, &["registrar"]);
    let (_, agency_admin) = app.create_user(&admin, "admin1", &agency, &["admin"]);
    for token in [&registrar, &agency_admin] {
        app.post(
            "/v1/agencies",
            token,
            &json!({"name": "X Police", "country": "GH", "kind": "police"}),
        )
        .assert_problem(403, "forbidden");
        assert_eq!(count(&app, token, "/v1/agencies"), 1);
    }
}

#[test]
fn users_never_show_password_material() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let r = app.post(
        "/v1/users",
        &admin,
        &json!({"username": "Kwame", "password": PASSWORD, "agency_id": agency, "roles": ["tracer", "registrar"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["roles"], json!(["registrar", "tracer"]));
    assert_eq!(r.body["agency_id"], agency.as_str());
    assert_eq!(r.body["disabled"], false);
    let listing = app.get("/v1/users", &admin);
    for text in [&r.text, &listing.text] {
        assert!(
            !text.contains("argon2")
                && !text
                    .replace("must_change_password", "")
                    .contains("password")
                && !text.contains(PASSWORD),
            "{text}"
        );
    }
}

#[test]
fn bad_users_are_refused_and_write_nothing() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let base = json!({"username": "yaw", "password": PASSWORD, "agency_id": agency, "roles": ["registrar"]});
    let cases = [
        ("password", json!("short pass!")),
        ("roles", json!(["registrar", "superuser"])),
        ("roles", json!([])),
        ("username", json!("a b")),
        ("agency_id", json!("not-a-uuid")),
        ("agency_id", json!(uuid::Uuid::now_v7().to_string())),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        body[field] = value;
        let r = app.post("/v1/users", &admin, &body);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    assert_eq!(
        count(&app, &admin, "/v1/users"),
        1,
        "only the bootstrap admin"
    );
    assert_eq!(app.post("/v1/users", &admin, &base).status, 201);
    let mut dup = base.clone();
    dup["username"] = json!("YAW");
    app.post("/v1/users", &admin, &dup)
        .assert_problem(409, "duplicate_username");
    assert_eq!(count(&app, &admin, "/v1/users"), 2);
}

#[test]
fn admins_manage_only_their_own_agency() {
    let app = spawn();
    let admin = app.admin_token();
    let ghana = app.create_agency(&admin, "Ghana Police Service", "GH");
    let togo = app.create_agency(&admin, "Police nationale", "TG");
    let (_, ghana_admin) = app.create_user(&admin, "gh-admin", &ghana, &["admin"]);
    let (togo_user, _) = app.create_user(&admin, "tg-user", &togo, &["registrar"]);
    let user = |name: &str, agency: &str, roles: serde_json::Value| json!({"username": name, "password": PASSWORD, "agency_id": agency, "roles": roles});
    // Own agency: allowed.
    assert_eq!(
        app.post(
            "/v1/users",
            &ghana_admin,
            &user("gh-reg", &ghana, json!(["registrar"]))
        )
        .status,
        201
    );
    // Another agency: refused, nothing written.
    app.post(
        "/v1/users",
        &ghana_admin,
        &user("tg-reg", &togo, json!(["registrar"])),
    )
    .assert_problem(403, "forbidden");
    // Granting system_admin: refused.
    app.post(
        "/v1/users",
        &ghana_admin,
        &user("gh-root", &ghana, json!(["system_admin"])),
    )
    .assert_problem(403, "forbidden");
    // Listing shows only the own agency.
    let listed = app.get("/v1/users", &ghana_admin);
    let names: Vec<_> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, vec![json!("gh-admin"), json!("gh-reg")]);
    // Users of another agency are invisible: 404.
    app.req("POST", &format!("/v1/users/{togo_user}/disable"))
        .token(&ghana_admin)
        .send()
        .assert_problem(404, "not_found");
    assert_eq!(count(&app, &admin, "/v1/users"), 4);
}

#[test]
fn non_admins_cannot_create_list_or_disable_users() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let (id, registrar) =
        app.create_user(&admin, "reg", &agency, &["registrar", "tracer", "auditor"]);
    let body = json!({"username": "x-user", "password": PASSWORD, "agency_id": agency, "roles": ["registrar"]});
    app.post("/v1/users", &registrar, &body)
        .assert_problem(403, "forbidden");
    app.get("/v1/users", &registrar)
        .assert_problem(403, "forbidden");
    app.req("POST", &format!("/v1/users/{id}/disable"))
        .token(&registrar)
        .send()
        .assert_problem(403, "forbidden");
    // The bootstrap admin, the user, and the second system administrator
    // who approved its auditor role.
    assert_eq!(count(&app, &admin, "/v1/users"), 3);
}

#[test]
fn an_admin_cannot_disable_themselves() {
    let app = spawn();
    let admin = app.admin_token();
    let me = app.get("/v1/auth/me", &admin).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.req("POST", &format!("/v1/users/{me}/disable"))
        .token(&admin)
        .send()
        .assert_problem(409, "cannot_disable_self");
}
