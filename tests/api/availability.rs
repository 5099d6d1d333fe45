//! A database that is lost or takes no writes is the service's problem,
//! not the client's and not a bug: 503 with Retry-After, nothing written,
//! and the registry recovers by itself. A retry with the same
//! Idempotency-Key applies the write once.

use crate::helpers::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;

/// Makes the database refuse writes: on PostgreSQL every session turns
/// read-only (a primary demoted under its clients) and the open ones are
/// cut; on SQLite another process holds the write lock past the busy
/// timeout. Answers what undoes it.
fn refuse_writes(reg: &Registry) -> Box<dyn FnOnce()> {
    let url = reg.app.database_url.clone();
    if url.starts_with("postgres") {
        let cut = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                   WHERE datname = current_database() AND pid <> pg_backend_pid()";
        sql(
            &url,
            &format!(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', \
                 current_database()); END $$; {cut}"
            ),
        );
        // From another database: this one's sessions take no writes.
        let (base, name) = url.rsplit_once('/').expect("a database name");
        let admin = format!("{base}/postgres");
        let name = name.split('?').next().unwrap_or(name).to_string();
        return Box::new(move || {
            sql(
                &admin,
                &format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only"),
            )
        });
    }
    let path = url.trim_start_matches("sqlite://").to_string();
    let mut holder = diesel::SqliteConnection::establish(&path).expect("open");
    // The registry's own writers (the sequencer) may hold the lock for a
    // moment: wait for it, as they do.
    holder
        .batch_execute("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE")
        .expect("lock");
    Box::new(move || holder.batch_execute("ROLLBACK").expect("unlock"))
}

#[test]
fn a_database_that_takes_no_writes_is_a_503_with_retry_after_then_recovers() {
    let reg = registry();
    let undo = refuse_writes(&reg);
    let write = || {
        reg.app
            .req("POST", "/v1/firearms")
            .token(&reg.registrar)
            .header("Idempotency-Key", "failover-1")
            .json(&pistol("FAILOVER-1", &reg.agency))
    };
    let refused = write();
    refused.assert_problem(503, "service_unavailable");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.body["detail"]
        .as_str()
        .unwrap_or("")
        .contains("Idempotency-Key"));
    undo();
    // A connection opened while writes were refused fails one request
    // more at most, then is replaced: retries see 503 until the write
    // lands, never a 500.
    let started = std::time::Instant::now();
    let created = loop {
        let r = write();
        if r.status == 201 {
            break r;
        }
        r.assert_problem(503, "service_unavailable");
        assert!(
            started.elapsed().as_secs() < 30,
            "still refused: {}",
            r.text
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // Once, whatever the retries.
    let again = write();
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], created.body["id"]);
    let n = sql_count(
        &reg.app.database_url,
        "SELECT COUNT(*) AS n FROM firearms WHERE serial_number = 'FAILOVER-1'",
    );
    assert_eq!(n, 1);
}
