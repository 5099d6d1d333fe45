//! Console sessions: a cookie the browser cannot read, a CSRF token on
//! every change, and a sign-out that ends the session on the server.

use serde_json::{json, Value};

use crate::helpers::*;

/// A signed-in console session: its cookie and CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub set_cookie: String,
    pub body: Value,
}

#[track_caller]
pub fn sign_in(app: &TestApp, username: &str, password: &str) -> Session {
    let r = app
        .req("POST", "/v1/auth/session")
        .json(&json!({"username": username, "password": password}));
    assert_eq!(r.status, 200, "{}", r.text);
    let set_cookie = r.header("set-cookie").expect("a cookie").to_string();
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    Session {
        cookie,
        csrf: r.body["csrf_token"].as_str().expect("csrf").to_string(),
        set_cookie,
        body: r.body,
    }
}

#[test]
fn a_console_session_lives_in_an_http_only_strict_cookie() {
    let reg = registry();
    let app = &reg.app;
    let s = sign_in(app, "registrar", PASSWORD);
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(s.set_cookie.contains(part), "{}", s.set_cookie);
    }
    assert!(
        !s.set_cookie.contains("Secure"),
        "plain HTTP: {}",
        s.set_cookie
    );
    assert!(s.cookie.starts_with("registry_session="));
    assert_eq!(s.csrf.len(), 64);
    assert_eq!(s.body["password_change_required"], false);
    let me = app
        .req("GET", "/v1/auth/me")
        .header("Cookie", &s.cookie)
        .send();
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "registrar");
    let again = app
        .req("GET", "/v1/auth/session")
        .header("Cookie", &s.cookie)
        .send();
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["csrf_token"], s.csrf.as_str());
    // The session's token is not a bearer session: the session endpoint
    // says so to a bearer token.
    app.get("/v1/auth/session", &reg.registrar)
        .assert_problem(400, "not_a_session");
}

#[test]
fn a_console_write_without_its_csrf_token_is_refused_and_writes_nothing() {
    let reg = registry();
    let app = &reg.app;
    let s = sign_in(app, "registrar", PASSWORD);
    let post = |csrf: Option<&str>, serial: &str| {
        let mut r = app.req("POST", "/v1/firearms").header("Cookie", &s.cookie);
        if let Some(token) = csrf {
            r = r.header("X-CSRF-Token", token);
        }
        r.json(&pistol(serial, &reg.agency))
    };
    post(None, "CSRF-1").assert_problem(403, "csrf_token_invalid");
    post(Some("00"), "CSRF-1").assert_problem(403, "csrf_token_invalid");
    let other = sign_in(app, "registrar", PASSWORD);
    post(Some(&other.csrf), "CSRF-1").assert_problem(403, "csrf_token_invalid");
    assert_eq!(
        sql_count(&app.database_url, "SELECT COUNT(*) AS n FROM firearms"),
        0
    );
    let r = post(Some(&s.csrf), "CSRF-1");
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn signing_out_ends_the_session_on_the_server() {
    let reg = registry();
    let app = &reg.app;
    let s = sign_in(app, "registrar", PASSWORD);
    app.req("DELETE", "/v1/auth/session")
        .header("Cookie", &s.cookie)
        .send()
        .assert_problem(403, "csrf_token_invalid");
    let out = app
        .req("DELETE", "/v1/auth/session")
        .header("Cookie", &s.cookie)
        .header("X-CSRF-Token", &s.csrf)
        .send();
    assert_eq!(out.status, 204, "{}", out.text);
    let cleared = out.header("set-cookie").expect("the cookie cleared");
    assert!(cleared.starts_with("registry_session=;") && cleared.contains("Max-Age=0"));
    // The browser's copy of the cookie no longer works.
    app.req("GET", "/v1/firearms")
        .header("Cookie", &s.cookie)
        .send()
        .assert_problem(401, "session_ended");
    wait_for_entries(&app.database_url, "auth.logout", 1);
    assert_eq!(
        sql_count(
            &app.database_url,
            "SELECT COUNT(*) AS n FROM console_sessions WHERE ended_at IS NOT NULL"
        ),
        1
    );
}

#[test]
fn a_wrong_password_opens_no_session() {
    let reg = registry();
    let r = reg
        .app
        .req("POST", "/v1/auth/session")
        .json(&json!({"username": "registrar", "password": "not the password"}));
    r.assert_problem(401, "invalid_credentials");
    assert!(r.header("set-cookie").is_none());
    let r = reg
        .app
        .req("POST", "/v1/auth/session")
        .json(&json!({"username": "registrar"}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        sql_count(
            &reg.app.database_url,
            "SELECT COUNT(*) AS n FROM console_sessions"
        ),
        0
    );
    reg.app
        .req("GET", "/v1/auth/me")
        .header("Cookie", "registry_session=forged.token.here")
        .send()
        .assert_problem(401, "invalid_token");
}

#[test]
fn a_session_with_a_password_to_change_can_only_change_it() {
    let reg = registry();
    let app = &reg.app;
    app.user_with_set_password(&reg.admin, "clerk", &reg.agency, "temporary password 1");
    let s = sign_in(app, "clerk", "temporary password 1");
    assert_eq!(s.body["password_change_required"], true);
    let with_cookie = |method: &str, path: &str| {
        app.req(method, path)
            .header("Cookie", &s.cookie)
            .header("X-CSRF-Token", &s.csrf)
    };
    with_cookie("GET", "/v1/firearms")
        .send()
        .assert_problem(403, "password_change_required");
    let session = with_cookie("GET", "/v1/auth/session").send();
    assert_eq!(session.body["password_change_required"], true);
    let r = with_cookie("POST", "/v1/auth/password").json(
        &json!({"current_password": "temporary password 1", "new_password": "my own passphrase"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    // A password change ends every session opened before it.
    with_cookie("GET", "/v1/auth/me")
        .send()
        .assert_problem(401, "token_revoked");
}

#[test]
fn over_tls_the_session_cookie_is_secure() {
    let (_app, port) = crate::service::spawn_tls();
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let answer =
        crate::service::https_request(port, "POST", "/v1/auth/session", &body).expect("https");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}
