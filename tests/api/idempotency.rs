use crate::helpers::*;
use serde_json::json;

fn agencies(app: &TestApp, token: &str) -> usize {
    app.get("/v1/agencies?limit=1000", token).body["items"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_retry_replays_the_first_answer_and_writes_nothing() {
    let app = spawn();
    let admin = app.admin_token();
    let body = json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"});
    let send = || {
        app.req("POST", "/v1/agencies")
            .token(&admin)
            .header("Idempotency-Key", "create-gps-1")
            .json(&body)
    };
    let first = send();
    assert_eq!(first.status, 201, "{}", first.text);
    let second = send();
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.header("etag"), first.header("etag"));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(agencies(&app, &admin), 1);
}

#[test]
fn the_same_key_with_another_body_is_422() {
    let app = spawn();
    let admin = app.admin_token();
    let send = |name: &str| {
        app.req("POST", "/v1/agencies")
            .token(&admin)
            .header("Idempotency-Key", "k-1")
            .json(&json!({"name": name, "country": "GH", "kind": "police"}))
    };
    assert_eq!(send("Ghana Police Service").status, 201);
    send("Ghana Immigration Service").assert_problem(422, "idempotency_key_reused");
    assert_eq!(agencies(&app, &admin), 1);
}

#[test]
fn keys_survive_a_restart() {
    let app = spawn();
    let admin = app.admin_token();
    let body = json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"});
    let first = app
        .req("POST", "/v1/agencies")
        .token(&admin)
        .header("Idempotency-Key", "k-restart")
        .json(&body);
    assert_eq!(first.status, 201);
    let app = app.restart();
    let admin = app.admin_token();
    let again = app
        .req("POST", "/v1/agencies")
        .token(&admin)
        .header("Idempotency-Key", "k-restart")
        .json(&body);
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(agencies(&app, &admin), 1);
}

#[test]
fn a_failed_request_frees_its_key_and_keys_are_per_user() {
    let app = spawn();
    let admin = app.admin_token();
    let bad = json!({"name": "Ghana Police Service", "country": "XX", "kind": "police"});
    let good = json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"});
    let post = |token: &str, body: &serde_json::Value| {
        app.req("POST", "/v1/agencies")
            .token(token)
            .header("Idempotency-Key", "k-2")
            .json(body)
    };
    post(&admin, &bad).assert_problem(422, "validation_failed");
    post(&admin, &bad).assert_problem(422, "validation_failed");
    assert_eq!(post(&admin, &good).status, 201);
    let agency = app.get("/v1/agencies", &admin).body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    // The same key from another user is that user's own key.
    let (_, other) = app.create_user(&admin, "other-admin", &agency, &["admin"]);
    post(&other, &good).assert_problem(403, "forbidden");
}

#[test]
fn malformed_keys_are_400() {
    let app = spawn();
    let admin = app.admin_token();
    let long = "k".repeat(256);
    app.req("POST", "/v1/agencies")
        .token(&admin)
        .header("Idempotency-Key", &long)
        .json(&json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"}))
        .assert_problem(400, "invalid_idempotency_key");
    assert_eq!(agencies(&app, &admin), 0);
}

/// Sends only the head of a request that declares a large body, and reads
/// the answer: a server that waited for the body would never give one.
fn head_only(app: &TestApp, path: &str, token: &str, content_type: &str) -> String {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Idempotency-Key: big-1\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        60 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).expect("an answer before the body");
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[test]
fn who_may_send_and_how_much_are_settled_before_the_body_is_read() {
    let reg = registry();
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let answer = head_only(&reg.app, "/v1/firearms/import", &tracer, "text/csv");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let answer = head_only(&reg.app, "/v1/firearms/import", "not-a-token", "text/csv");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // A registrar may import, but not 60 MiB to a JSON route.
    let answer = head_only(&reg.app, "/v1/firearms", &reg.registrar, "application/json");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[test]
fn an_idempotent_json_post_over_a_mebibyte_is_413() {
    let app = spawn();
    let admin = app.admin_token();
    let notes = "x".repeat(2 * 1024 * 1024);
    app.req("POST", "/v1/agencies")
        .token(&admin)
        .header("Idempotency-Key", "big-json")
        .json(&json!({"name": notes, "country": "GH", "kind": "police"}))
        .assert_problem(413, "payload_too_large");
    app.req("POST", "/v1/agencies")
        .header("Idempotency-Key", "no-token")
        .json(&json!({"name": "x", "country": "GH", "kind": "police"}))
        .assert_problem(401, "missing_token");
    assert_eq!(agencies(&app, &admin), 0);
}

#[test]
fn keys_past_their_retention_are_forgotten_by_the_service() {
    let app = spawn();
    let admin = app.admin_token();
    let body = json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"});
    let send = |app: &TestApp| {
        app.req("POST", "/v1/agencies")
            .token(&admin)
            .header("Idempotency-Key", "old-1")
            .json(&body)
    };
    assert_eq!(send(&app).status, 201);
    assert_eq!(send(&app).header("idempotent-replayed"), Some("true"));
    sql(
        &app.database_url,
        "UPDATE idempotency_keys SET created_at = '2020-01-01 00:00:00'",
    );
    // The service prunes as it starts.
    let app = app.restart();
    let mut retry = send(&app);
    for _ in 0..50 {
        if retry.status != 201 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        retry = send(&app);
    }
    // Run anew, the request meets the agency it created the first time.
    retry.assert_problem(409, "duplicate_agency");
}

#[test]
fn old_login_attempts_and_keys_are_pruned_and_records_are_not() {
    use registry::db;
    use registry::housekeeping::{prune, Pruned, Retention};
    let app = spawn();
    let admin = app.admin_token();
    app.login("admin", "wrong password!!")
        .assert_problem(401, "invalid_credentials");
    app.req("POST", "/v1/agencies")
        .token(&admin)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"name": "Ghana Police Service", "country": "GH", "kind": "police"}));
    let target = db::DbTarget::parse(&app.database_url).expect("url");
    let mut conn = db::ConnectionManager::connect_target(&target).expect("connect");
    let keep = Retention {
        idempotency_keys: chrono::Duration::hours(24),
        login_attempts: chrono::Duration::days(1),
    };
    let now = db::now();
    assert_eq!(
        prune(&mut conn, now, keep).expect("prune"),
        Pruned::default()
    );
    let later = now + chrono::Duration::days(2);
    let pruned = prune(&mut conn, later, keep).expect("prune");
    assert_eq!(pruned.idempotency_keys, 1);
    // The failed attempt and the successful login of `admin_token`.
    assert_eq!(pruned.login_attempts, 2);
    assert_eq!(agencies(&app, &admin), 1);
}

#[test]
fn a_write_marks_its_key_applied_in_its_own_transaction() {
    let reg = registry();
    sql_as_client(
        &reg.app.database_url,
        "CREATE TABLE key_states (state TEXT NOT NULL)",
    )
    .expect("table");
    trigger(
        &reg.app,
        "trail_key_states",
        "AFTER UPDATE ON idempotency_keys",
        "INSERT INTO key_states VALUES (NEW.state); RETURN NEW;",
        "INSERT INTO key_states VALUES (NEW.state);",
    );
    let r = reg
        .app
        .req("POST", "/v1/firearms")
        .token(&reg.registrar)
        .header("Idempotency-Key", "applied-1")
        .json(&pistol("APPLIED-1", &reg.agency));
    assert_eq!(r.status, 201, "{}", r.text);
    let states = |state: &str| {
        sql_count(
            &reg.app.database_url,
            &format!("SELECT COUNT(*) AS n FROM key_states WHERE state = '{state}'"),
        )
    };
    assert_eq!((states("applied"), states("done")), (1, 1));
}

#[test]
fn a_key_whose_write_took_but_whose_answer_was_lost_is_not_applied_again() {
    let reg = registry();
    let send = || {
        reg.app
            .req("POST", "/v1/firearms")
            .token(&reg.registrar)
            .header("Idempotency-Key", "in-doubt-1")
            .json(&pistol("IN-DOUBT-1", &reg.agency))
    };
    assert_eq!(send().status, 201);
    // As a commit cut off by a failover leaves it: applied, no answer.
    sql(
        &reg.app.database_url,
        "UPDATE idempotency_keys SET state = 'applied', status_code = NULL, \
         response_body = NULL WHERE idem_key = 'in-doubt-1'",
    );
    let retry = send();
    retry.assert_problem(409, "idempotency_key_applied");
    assert!(retry.body["detail"]
        .as_str()
        .unwrap_or("")
        .contains("do not send it again"));
    let firearms = sql_count(&reg.app.database_url, "SELECT COUNT(*) AS n FROM firearms");
    assert_eq!(firearms, 1);
}

#[test]
fn a_key_the_database_could_not_release_at_once_is_released_later() {
    let reg = registry();
    sql_as_client(
        &reg.app.database_url,
        "CREATE TABLE hold_keys (n INTEGER); INSERT INTO hold_keys VALUES (1)",
    )
    .expect("table");
    trigger(
        &reg.app,
        "hold_key_release",
        "BEFORE DELETE ON idempotency_keys",
        "IF EXISTS (SELECT 1 FROM hold_keys) THEN RAISE EXCEPTION 'held'; END IF; RETURN OLD;",
        "SELECT RAISE(ABORT, 'held') WHERE EXISTS (SELECT 1 FROM hold_keys);",
    );
    let mut bad = pistol("RELEASE-1", &reg.agency);
    bad["country_of_manufacture"] = json!("Austria");
    let send = || {
        reg.app
            .req("POST", "/v1/firearms")
            .token(&reg.registrar)
            .header("Idempotency-Key", "release-1")
            .json(&bad)
    };
    assert_eq!(send().status, 422);
    // The failed request's key could not be released: a retry is told to wait.
    send().assert_problem(409, "idempotency_key_in_use");
    sql(&reg.app.database_url, "DELETE FROM hold_keys");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let retry = send();
        if retry.status == 422 {
            break;
        }
        retry.assert_problem(409, "idempotency_key_in_use");
        assert!(
            std::time::Instant::now() < deadline,
            "the key was never released"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
