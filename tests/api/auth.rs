use crate::helpers::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn admin_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/auth/me", token).body["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn claims(sub: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "iat": now, "exp": now + exp_offset, "jti": "t"})
}

#[test]
fn login_answers_a_bearer_token_and_me_reads_it() {
    let app = spawn();
    let r = app.login("admin", ADMIN_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    let token = r.body["access_token"].as_str().expect("token");
    let me = app.get("/v1/auth/me", token);
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["roles"], json!(["system_admin"]));
    assert_eq!(me.body["agency_id"], Value::Null);
    // Usernames are case-insensitive.
    assert_eq!(app.login("ADMIN", ADMIN_PASSWORD).status, 200);
}

#[test]
fn a_bad_pair_is_401_and_the_same_whether_or_not_the_user_exists() {
    let app = spawn();
    let wrong_password = app.login("admin", "not the password at all");
    let no_such_user = app.login("nobody-here", "not the password at all");
    wrong_password.assert_problem(401, "invalid_credentials");
    no_such_user.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong_password.body, no_such_user.body);
}

#[test]
fn repeated_failures_for_a_username_are_throttled_and_survive_a_restart() {
    let app = spawn();
    for _ in 0..5 {
        app.login("admin", "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    let r = app.login("admin", ADMIN_PASSWORD);
    r.assert_problem(429, "too_many_requests");
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry), "{retry}");
    // Other usernames from this address are not locked out by it.
    let admin_r = app.login("someone-else", "wrong password!!");
    admin_r.assert_problem(401, "invalid_credentials");
    let app = app.restart();
    app.login("admin", ADMIN_PASSWORD)
        .assert_problem(429, "too_many_requests");
}

#[test]
fn repeated_failures_from_one_address_are_throttled() {
    let app = spawn();
    for i in 0..20 {
        app.login(&format!("guess{i}"), "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    app.login("guess-more", "wrong password!!")
        .assert_problem(429, "too_many_requests");
}

fn login_from(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> Reply {
    app.req("POST", "/v1/auth/login")
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"username": username, "password": password}))
}

/// The test talks to the registry as the proxy in front of it would.
fn behind_proxy() -> TestApp {
    spawn_with(|s| {
        s.trusted_proxies = registry::domain::net::Cidr::parse_list("127.0.0.1").unwrap()
    })
}

#[test]
fn concurrent_guesses_get_no_more_than_the_limit_through() {
    let app = spawn();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..60)
            .map(|_| s.spawn(|| app.login("admin", "wrong password!!").status))
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, throttled), (5, 55), "{statuses:?}");
}

#[test]
fn a_strangers_failures_do_not_lock_out_the_owner_elsewhere() {
    let app = behind_proxy();
    for _ in 0..5 {
        login_from(&app, "203.0.113.5", "admin", "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    login_from(&app, "203.0.113.5", "admin", ADMIN_PASSWORD)
        .assert_problem(429, "too_many_requests");
    let owner = login_from(&app, "198.51.100.7", "admin", ADMIN_PASSWORD);
    assert_eq!(owner.status, 200, "{}", owner.text);
}

#[test]
fn a_forged_forwarded_for_does_not_escape_the_throttle() {
    let app = behind_proxy();
    // The client writes the leftmost hops; the proxy appends the address
    // it saw. Only that one is believed.
    for i in 0..5 {
        let forged = format!("192.0.2.{i}, 203.0.113.5");
        login_from(&app, &forged, "admin", "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    login_from(&app, "192.0.2.99, 203.0.113.5", "admin", "wrong password!!")
        .assert_problem(429, "too_many_requests");
}

#[test]
fn without_trusted_proxies_the_forwarded_for_header_is_ignored() {
    let app = spawn();
    for i in 0..5 {
        login_from(&app, &format!("192.0.2.{i}"), "admin", "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    login_from(&app, "192.0.2.200", "admin", ADMIN_PASSWORD)
        .assert_problem(429, "too_many_requests");
}

#[test]
fn a_success_clears_the_username_count() {
    let app = spawn();
    for _ in 0..4 {
        app.login("admin", "wrong password!!");
    }
    app.admin_token();
    for _ in 0..4 {
        app.login("admin", "wrong password!!")
            .assert_problem(401, "invalid_credentials");
    }
    assert_eq!(app.login("admin", ADMIN_PASSWORD).status, 200);
}

#[test]
fn missing_malformed_and_tampered_tokens_are_401() {
    let app = spawn();
    app.req("GET", "/v1/auth/me")
        .send()
        .assert_problem(401, "missing_token");
    app.req("GET", "/v1/auth/me")
        .header("Authorization", "Basic YWRtaW46eA==")
        .send()
        .assert_problem(401, "invalid_token");
    app.get("/v1/auth/me", "not.a.jwt")
        .assert_problem(401, "invalid_token");
    let token = app.admin_token();
    let mut tampered = token.clone();
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    app.get("/v1/auth/me", &tampered)
        .assert_problem(401, "invalid_token");
    // A payload swapped under the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let other = b64url(claims("someone-else", 600).to_string().as_bytes());
    let swapped = format!("{}.{}.{}", parts[0], other, parts[2]);
    app.get("/v1/auth/me", &swapped)
        .assert_problem(401, "invalid_token");
}

#[test]
fn alg_none_and_other_algorithms_are_refused() {
    let app = spawn();
    let admin = app.admin_token();
    let id = admin_id(&app, &admin);
    let body = b64url(claims(&id, 600).to_string().as_bytes());
    let none = format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), body);
    app.get("/v1/auth/me", &none)
        .assert_problem(401, "invalid_token");
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());
    let hs512 = encode(&Header::new(Algorithm::HS512), &claims(&id, 600), &key).expect("sign");
    app.get("/v1/auth/me", &hs512)
        .assert_problem(401, "invalid_token");
    // The same claims signed correctly are accepted: the refusals above are
    // about the algorithm, not the claims.
    let hs256 = encode(&Header::new(Algorithm::HS256), &claims(&id, 600), &key).expect("sign");
    assert_eq!(app.get("/v1/auth/me", &hs256).status, 200);
    let wrong_key = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!");
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(&id, 600),
        &wrong_key,
    )
    .expect("sign");
    app.get("/v1/auth/me", &forged)
        .assert_problem(401, "invalid_token");
}

#[test]
fn expired_tokens_are_401() {
    let app = spawn();
    let admin = app.admin_token();
    let id = admin_id(&app, &admin);
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());
    let expired = encode(&Header::new(Algorithm::HS256), &claims(&id, -120), &key).expect("sign");
    app.get("/v1/auth/me", &expired)
        .assert_problem(401, "token_expired");
}

#[test]
fn a_disabled_users_tokens_stop_at_once_and_login_fails() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let (id, token) = app.create_user(&admin, "kofi", &agency, &["registrar"]);
    assert_eq!(app.get("/v1/auth/me", &token).status, 200);
    let r = app
        .req("POST", &format!("/v1/users/{id}/disable"))
        .token(&admin)
        .send();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["disabled"], true);
    app.get("/v1/auth/me", &token)
        .assert_problem(401, "account_disabled");
    app.login("kofi", PASSWORD)
        .assert_problem(401, "invalid_credentials");
}

#[test]
fn a_removed_role_takes_effect_at_once() {
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let (id, token) = app.create_user(&admin, "ama", &agency, &["admin", "registrar"]);
    assert_eq!(app.get("/v1/users", &token).status, 200);
    let r = app
        .req("PUT", &format!("/v1/users/{id}/roles"))
        .token(&admin)
        .header("If-Match", "\"1\"")
        .json(&json!({"roles": ["registrar"]}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    app.get("/v1/users", &token)
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.get("/v1/auth/me", &token).body["roles"],
        json!(["registrar"])
    );
    // A stale version changes nothing.
    app.req("PUT", &format!("/v1/users/{id}/roles"))
        .token(&admin)
        .header("If-Match", "\"1\"")
        .json(&json!({"roles": ["admin"]}))
        .assert_problem(412, "version_mismatch");
    assert_eq!(
        app.get("/v1/auth/me", &token).body["roles"],
        json!(["registrar"])
    );
    app.req("PUT", &format!("/v1/users/{id}/roles"))
        .token(&admin)
        .json(&json!({"roles": ["overlord"]}))
        .assert_problem(422, "validation_failed");
}

#[test]
fn a_generated_signing_key_is_private_and_kept_across_restarts() {
    let mut app = spawn_with(|s| s.jwt_secret = None);
    let token = app.admin_token();
    let key_file = app.data_dir.join("jwt_secret");
    let meta = std::fs::metadata(&key_file).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(&key_file)
            .expect("read")
            .trim()
            .len(),
        64
    );
    // The audit log's signing key is generated beside it, as privately.
    let audit_key = std::fs::read_to_string(app.data_dir.join("audit_key")).expect("audit key");
    assert!(audit_key.starts_with("PRIVATE+KEY+registry.test/audit+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.data_dir.join("audit_key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let app = app.restart_with(|s| s.jwt_secret = None);
    assert_eq!(app.get("/v1/auth/me", &token).status, 200);
}

/// A hundred kilobytes of username is refused before it is counted or
/// logged (a body over 1 MiB is refused before it is read at all).
#[test]
fn oversized_credentials_are_refused_without_writing_anything() {
    let app = spawn();
    let url = app.database_url.clone();
    let entries = || sql_count(&url, "SELECT COUNT(*) AS n FROM audit_entries");
    let failures = || sql_count(&url, "SELECT COUNT(*) AS n FROM login_failures");
    let (before_entries, before_failures) = (entries(), failures());
    let huge = "u".repeat(100_000);
    for _ in 0..3 {
        let r = app.login(&huge, "whatever password");
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "username");
    }
    app.login("admin", &"p".repeat(1025))
        .assert_problem(422, "validation_failed");
    assert_eq!(failures(), before_failures);
    assert_eq!(entries(), before_entries);
    // The right password still logs in: nothing was counted against it.
    assert_eq!(app.login("admin", ADMIN_PASSWORD).status, 200);
}
