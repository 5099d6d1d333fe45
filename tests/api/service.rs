use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn health_and_ready_answer() {
    let app = spawn();
    let r = app.req("GET", "/health").send();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ok")));
    let r = app.req("GET", "/ready").send();
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn request_id_is_echoed_or_generated() {
    let app = spawn();
    let r = app
        .req("GET", "/health")
        .header("X-Request-Id", "trace-abc-123")
        .send();
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
    let r = app.req("GET", "/health").send();
    let generated = r.header("x-request-id").expect("generated id");
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    // An id that would corrupt a log line is replaced.
    let r = app
        .req("GET", "/health")
        .header("X-Request-Id", "bad id with spaces")
        .send();
    assert_ne!(r.header("x-request-id"), Some("bad id with spaces"));
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    let app = spawn();
    app.req("GET", "/health").send();
    app.req("GET", "/v1/auth/me").send();
    let r = app.req("GET", "/metrics").send();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/plain"));
    assert!(
        r.text.contains(
            r#"registry_http_requests_total{method="GET",route="/health",status="200"} 1"#
        ),
        "{}",
        r.text
    );
    assert!(r.text.contains(r#"route="/v1/auth/me",status="401""#));
    assert!(r
        .text
        .contains("registry_http_request_duration_seconds_bucket{"));
    assert!(r
        .text
        .contains("registry_db_pool_connections{state=\"idle\"}"));
    assert!(r.text.contains("registry_db_pool_max_connections 4"));
}

#[test]
fn unknown_routes_are_problems() {
    let app = spawn();
    app.req("GET", "/v1/nothing-here")
        .send()
        .assert_problem(404, "no_such_route");
    app.req("GET", "/nothing")
        .send()
        .assert_problem(404, "no_such_route");
    app.req("DELETE", "/v1/agencies")
        .send()
        .assert_problem(404, "no_such_route");
}

#[test]
fn docs_page_is_served_offline() {
    let app = spawn();
    let r = app.req("GET", "/docs").send();
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/docs/"));
    let r = app.req("GET", "/docs/").send();
    assert_eq!(r.status, 200);
    assert!(r.text.contains("swagger-ui"), "{}", r.text);
    // The page's script comes from the binary, not from a CDN.
    assert!(!r.text.contains("https://"), "{}", r.text);
    let r = app.req("GET", "/docs/swagger-ui-bundle.js").send();
    assert_eq!(r.status, 200);
}

/// Every endpoint the service has, as (method, path template).
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/tlog/checkpoint"),
    ("get", "/tlog/tile/{tile}"),
    ("post", "/v1/auth/login"),
    ("get", "/v1/auth/me"),
    ("post", "/v1/auth/session"),
    ("get", "/v1/auth/session"),
    ("delete", "/v1/auth/session"),
    ("post", "/v1/agencies"),
    ("get", "/v1/agencies"),
    ("get", "/v1/agencies/{id}"),
    ("post", "/v1/users"),
    ("get", "/v1/users"),
    ("post", "/v1/users/{id}/disable"),
    ("put", "/v1/users/{id}/roles"),
    ("post", "/v1/users/{id}/password"),
    ("post", "/v1/auth/password"),
    ("get", "/v1/role-grants"),
    ("post", "/v1/role-grants/{id}/approve"),
    ("post", "/v1/role-grants/{id}/reject"),
    ("post", "/v1/firearms"),
    ("get", "/v1/firearms"),
    ("get", "/v1/firearms/{id}"),
    ("post", "/v1/firearms/import"),
    ("post", "/v1/firearms/{id}/events"),
    ("get", "/v1/firearms/{id}/history"),
    ("get", "/v1/firearms/{id}/evidence"),
    ("post", "/v1/destructions"),
    ("get", "/v1/audit/entries"),
    ("get", "/v1/audit/head"),
    ("get", "/v1/audit/checkpoint"),
    ("get", "/v1/audit/key"),
    ("get", "/v1/audit/proof/inclusion"),
    ("get", "/v1/audit/proof/consistency"),
    ("get", "/v1/audit/verify"),
    ("get", "/v1/audit/export"),
    ("get", "/v1/trace"),
    ("get", "/v1/notifications"),
    ("post", "/v1/trace-requests"),
    ("get", "/v1/trace-requests"),
    ("get", "/v1/trace-requests/{id}"),
    ("post", "/v1/trace-requests/{id}/acknowledge"),
    ("post", "/v1/trace-requests/{id}/response"),
    ("post", "/v1/holders"),
    ("get", "/v1/holders"),
    ("get", "/v1/holders/{id}"),
    ("get", "/v1/holders/{id}/firearms"),
    ("post", "/v1/holders/{id}/licences"),
    ("post", "/v1/holders/{id}/licences/{lid}/revoke"),
    ("get", "/v1/statistics"),
    ("get", "/v1/reports/iti"),
    ("get", "/v1/reports/att"),
    ("get", "/v1/reports/sdg-16-4-2"),
    ("post", "/v1/armouries"),
    ("get", "/v1/armouries"),
    ("get", "/v1/armouries/{id}"),
    ("get", "/v1/armouries/{id}/firearms"),
    ("post", "/v1/armouries/{id}/stock-checks"),
    ("get", "/v1/stock-checks/{id}"),
    ("post", "/v1/stock-checks/{id}/sightings"),
    ("post", "/v1/stock-checks/{id}/close"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("get", "/v1/webhooks/{id}"),
    ("post", "/v1/webhooks/{id}/rotate-secret"),
    ("post", "/v1/webhooks/{id}/disable"),
    ("post", "/v1/webhooks/{id}/enable"),
    ("get", "/v1/webhooks/{id}/deliveries"),
    ("post", "/v1/webhooks/{id}/deliveries/{message_id}/replay"),
];

#[test]
fn openapi_describes_every_endpoint_and_nothing_else() {
    let app = spawn();
    let r = app.req("GET", "/openapi.json").send();
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = r.body["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);
    // And each documented route exists: none answers "no such route".
    let id = uuid::Uuid::now_v7().to_string();
    for (method, path) in &expected {
        let r = app
            .req(&method.to_uppercase(), &path.replace("{id}", &id))
            .send();
        assert_ne!(
            r.body["code"],
            Value::from("no_such_route"),
            "{method} {path}"
        );
    }
}

#[test]
fn ready_answers_503_when_the_database_is_gone() {
    let app = spawn();
    assert_eq!(app.req("GET", "/ready").send().status, 200);
    // Take the database away behind the server's back: PostgreSQL drops the
    // test database; SQLite loses its file and folder, so no connection
    // can be opened or used.
    match &app.db {
        Some(TestDb::Postgres { admin_url, name }) => {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(admin_url).expect("admin connection");
            c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .expect("drop");
        }
        Some(TestDb::Sqlite { dir }) => {
            std::fs::remove_dir_all(dir).expect("remove the database");
            // An unwritable file where the folder was keeps SQLite from
            // recreating it.
            std::fs::write(dir, b"not a folder").expect("block the path");
        }
        None => unreachable!("a running app has its database"),
    }
    let r = app.req("GET", "/ready").send();
    if app.db.as_ref().is_some_and(TestDb::is_postgres) {
        r.assert_problem(503, "service_unavailable");
        // Whether it is ready, and nothing of the database's own words.
        assert_eq!(
            r.body["detail"], "the database is not answering",
            "{}",
            r.text
        );
    } else {
        // Connections SQLite already holds keep their unlinked file, so the
        // pool may still answer; a fresh connection cannot.
        let target = registry::db::DbTarget::parse(&app.database_url).expect("url");
        assert!(registry::db::ConnectionManager::connect_target(&target).is_err());
    }
    assert_eq!(
        app.req("GET", "/health").send().status,
        200,
        "liveness does not depend on the database"
    );
    if let Some(TestDb::Sqlite { dir }) = &app.db {
        let _ = std::fs::remove_file(dir);
    }
}

/// PostgreSQL closes the registry's connections (a restart, an
/// administrator's `pg_terminate_backend`). Pooled connections are only
/// checked when idle or after a failure, so each closed one may fail one
/// request; after that every request succeeds again.
#[test]
fn the_registry_recovers_when_postgresql_closes_its_connections() {
    let reg = registry();
    if !reg.app.db.as_ref().is_some_and(TestDb::is_postgres) {
        return;
    }
    for _ in 0..5 {
        assert_eq!(reg.app.get("/v1/firearms", &reg.registrar).status, 200);
    }
    sql(
        &reg.app.database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    let statuses: Vec<u16> = (0..40)
        .map(|_| reg.app.get("/v1/firearms", &reg.registrar).status)
        .collect();
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert!(
        failed <= 10,
        "at most one failure per pooled connection (10): {statuses:?}"
    );
    assert!(
        statuses[20..].iter().all(|s| *s == 200),
        "recovered: {statuses:?}"
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn the_data_folder_and_the_database_files_are_the_registrys_alone() {
    use std::os::unix::fs::PermissionsExt;
    // A data folder left open by an older version is closed up at start.
    let app = spawn_with(|s| {
        std::fs::create_dir_all(&s.data_dir).unwrap();
        std::fs::set_permissions(&s.data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    let admin = app.admin_token();
    app.create_agency(&admin, "Ghana Police Service", "GH");
    assert_eq!(mode(&app.data_dir), 0o700);
    for key in ["audit_key", "jwt_secret"] {
        let path = app.data_dir.join(key);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{key}");
        }
    }
    if let Some(file) = app.database_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let path = std::path::PathBuf::from(format!("{file}{suffix}"));
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn https_get(port: u16, path: &str) -> Result<String, String> {
    https_request(port, "GET", path, "")
}

/// One HTTP/1.1 request over TLS, trusting only the test certificate.
pub fn https_request(port: u16, method: &str, path: &str, body: &str) -> Result<String, String> {
    use rustls_pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    let cert = rustls_pki_types::CertificateDer::from_pem_file(fixture("ca.pem"))
        .map_err(|e| e.to_string())?;
    roots.add(cert).map_err(|e| e.to_string())?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| e.to_string())?;
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    // A peer that closes without close_notify still gave its answer.
    let _ = tls.read_to_string(&mut answer);
    Ok(answer)
}

/// The registry serving HTTPS with the test certificate, and its port.
pub fn spawn_tls() -> (TestApp, u16) {
    let app = spawn_with(|s| {
        s.tls = Some(registry::config::TlsFiles {
            cert: fixture("cert.pem"),
            key: fixture("key.pem"),
        })
    });
    let port: u16 = app
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    (app, port)
}

#[test]
fn with_a_certificate_the_registry_speaks_only_https() {
    let (app, port) = spawn_tls();
    let answer = https_get(port, "/health").expect("https");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Plain HTTP on the same port gets no answer.
    let plain = ureq::get(&format!("{}/health", app.base))
        .timeout(std::time::Duration::from_secs(10))
        .call();
    assert!(
        matches!(plain, Err(ureq::Error::Transport(_))),
        "plain HTTP was answered"
    );
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_start() {
    let bad = std::env::temp_dir().join(format!("not-a-key-{}.pem", uuid::Uuid::now_v7().simple()));
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = registry::tls::server_config(&fixture("cert.pem"), &bad).unwrap_err();
    assert!(
        err.contains("private key") || err.contains("go together"),
        "{err}"
    );
    let err = registry::tls::server_config(&bad, &fixture("key.pem")).unwrap_err();
    assert!(err.contains("certificate"), "{err}");
}
