//! Reads from standbys (`REGISTRY_DATABASE_READ_URL`): a write's answer
//! carries the position a read sends back to see it; a standby that cannot
//! be reached costs speed, never an answer. A standby that is behind is
//! exercised against a real one by bench/failover.sh.

use crate::helpers::*;

fn served(app: &TestApp, server: &str) -> u64 {
    let text = app.req("GET", "/metrics").send().text;
    let series = format!("registry_reads_served_total{{server=\"{server}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok()
}

#[test]
fn a_write_answers_a_position_that_reads_from_the_standby_honour() {
    if !on_postgres() {
        return;
    }
    // The primary serves as its own standby: never in recovery, so always
    // caught up, which is what lets every read here go to "the standby".
    let reg = registry_with(|s| s.database_read_url = Some(s.database_url.clone()));
    let primary = reg.app.database_url.clone();
    let written = reg
        .app
        .req("POST", "/v1/firearms")
        .token(&reg.registrar)
        .json(&pistol("REPLICA-1", &reg.agency));
    assert_eq!(written.status, 201, "{}", written.text);
    let token = written
        .header("registry-consistency")
        .expect("a write's answer carries its position")
        .to_string();
    let (hi, lo) = token.split_once('/').expect("a WAL position");
    assert!(u32::from_str_radix(hi, 16).is_ok() && u32::from_str_radix(lo, 16).is_ok());

    let list = reg
        .app
        .req("GET", "/v1/firearms")
        .token(&reg.registrar)
        .header("Registry-Consistency", &token)
        .send();
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["items"][0]["serial_number"], "REPLICA-1");
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let trace = reg.app.get("/v1/trace?serial=REPLICA-*", &tracer);
    assert_eq!(trace.status, 200, "{}", trace.text);
    assert_eq!(trace.body["matches"].as_array().map(Vec::len), Some(1));
    let stats = reg.app.get("/v1/statistics", &reg.registrar);
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert!(
        served(&reg.app, "replica") >= 4,
        "list, trace (twice), statistics"
    );
    assert_eq!(served(&reg.app, "primary"), 0);
    // Reads are still on the record, written on the primary.
    wait_for_entries(&primary, "trace.query", 1);
    // A read never carries a token: it changed nothing.
    assert!(list.header("registry-consistency").is_none());
}

#[test]
fn an_unreachable_standby_leaves_reads_to_the_primary() {
    if !on_postgres() {
        return;
    }
    let reg = registry_with(|s| {
        s.database_read_url = Some("postgres://postgres@127.0.0.1:1/registry".into())
    });
    reg.register(&pistol("REPLICA-2", &reg.agency));
    for _ in 0..3 {
        let list = reg.app.get("/v1/firearms", &reg.registrar);
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(list.body["items"][0]["serial_number"], "REPLICA-2");
    }
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let trace = reg.app.get("/v1/trace?serial=REPLICA-2", &tracer);
    assert_eq!(trace.status, 200, "{}", trace.text);
    assert_eq!(served(&reg.app, "replica"), 0);
    // Three lists, and the trace's two trips (candidates, ranking).
    assert_eq!(served(&reg.app, "primary"), 5);
}

#[test]
fn a_token_that_is_no_position_is_refused() {
    let reg = registry();
    for bad in ["yesterday", "0/", "1/2/3", "G/0", "123456789/0"] {
        reg.app
            .req("GET", "/v1/firearms")
            .token(&reg.registrar)
            .header("Registry-Consistency", bad)
            .send()
            .assert_problem(400, "invalid_consistency_token");
    }
    reg.app
        .req("GET", "/v1/trace?serial=X*")
        .token(&reg.registrar)
        .header("Registry-Consistency", "nope")
        .send()
        .assert_problem(400, "invalid_consistency_token");
    // Without standbys a write carries no token: there is nothing to wait for.
    let written = reg
        .app
        .req("POST", "/v1/firearms")
        .token(&reg.registrar)
        .json(&pistol("REPLICA-3", &reg.agency));
    assert_eq!(written.status, 201);
    assert!(written.header("registry-consistency").is_none());
}

#[test]
fn standbys_for_an_embedded_database_are_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("registry-replica-{}", uuid::Uuid::now_v7()));
    let mut s = settings(&format!("sqlite://{}/r.db", dir.display()), &dir);
    s.database_read_url = Some("postgres://postgres@127.0.0.1:5432/postgres".into());
    let started = actix_web::rt::System::new()
        .block_on(async move { registry::startup::Application::build(s).await.map(|_| ()) });
    let error = started.expect_err("SQLite has no standbys");
    assert!(error.contains("REGISTRY_DATABASE_READ_URL"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}
