//! The `registry` binary itself: first start, graceful shutdown, and the
//! `migrate` and `user create` subcommands.

use crate::helpers::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) fn registry_cmd(dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_registry"));
    cmd.current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("REGISTRY_DATA_DIR", dir.join("data"))
        .env("REGISTRY_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("REGISTRY_ADMIN_PASSWORD")
        .env_remove("REGISTRY_JWT_SECRET");
    cmd
}

pub(crate) fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("registry-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts `registry serve` and reads its output until it listens. Returns
/// the child, its port, and the password it printed, if any.
fn serve(dir: &Path, database_url: &str) -> (Child, u16, Option<String>) {
    serve_as(dir, database_url, None)
}

fn serve_as(
    dir: &Path,
    database_url: &str,
    admin_password: Option<&str>,
) -> (Child, u16, Option<String>) {
    serve_cmd(registry_cmd(dir, database_url), admin_password)
}

/// Starts `registry serve` as `cmd` has it set up.
#[allow(clippy::zombie_processes)]
pub(crate) fn serve_cmd(
    mut cmd: Command,
    admin_password: Option<&str>,
) -> (Child, u16, Option<String>) {
    cmd.arg("serve").stdout(Stdio::piped());
    if let Some(p) = admin_password {
        cmd.env("REGISTRY_ADMIN_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("start registry");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut password = None;
    let mut expect_password = false;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("registry output");
        if expect_password && !line.trim().is_empty() {
            password = Some(line.trim().to_string());
            expect_password = false;
        }
        if line.contains("Created the system administrator") {
            expect_password = true;
        }
        if line.contains("registry listening") {
            let port = line
                .split("port=")
                .nth(1)
                .and_then(|p| p.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .expect("port in log line");
            return (child, port, password);
        }
    }
}

pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let req = ureq::request(method, &format!("http://127.0.0.1:{port}{path}"));
    let req = match token {
        Some(t) => req.set("Authorization", &format!("Bearer {t}")),
        None => req,
    };
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let res = match res {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    (res.status(), res.into_json().unwrap_or_default())
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn first_start_prints_a_generated_admin_password_once_and_sigterm_is_graceful() {
    let dir = temp_dir();
    let (_db, url) = database_for(&dir);
    let (mut child, port, password) = serve(&dir, &url);
    let password = password.expect("a generated password is printed on first start");
    assert!(password.len() >= 20, "{password}");
    let (status, body) = http(
        port,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();

    // A request in flight when SIGTERM arrives still gets its answer.
    let payload = json!({"username": "admin", "password": password}).to_string();
    let (head, tail) = payload.split_at(payload.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{head}",
        payload.len()
    )
    .expect("write head");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(tail.as_bytes()).expect("write tail");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");

    // The second start on the same database prints no password, and the
    // generated signing key is reused, so the old token still works.
    let (mut child, port, password) = serve(&dir, &url);
    assert_eq!(password, None);
    let (status, me) = http(port, "GET", "/v1/auth/me", Some(&token), None);
    assert_eq!((status, me["username"].as_str()), (200, Some("admin")));
    terminate(&child);
    assert!(child.wait().expect("wait").success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_and_user_create_work_from_the_command_line() {
    let dir = temp_dir();
    let app = spawn();
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");

    let out = registry_cmd(&dir, &app.database_url)
        .arg("migrate")
        .output()
        .expect("migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));

    let create = |username: &str, role: &str, password: &str| {
        registry_cmd(&dir, &app.database_url)
            .args([
                "user",
                "create",
                "--username",
                username,
                "--agency-id",
                &agency,
                "--role",
                role,
            ])
            .env("REGISTRY_NEW_USER_PASSWORD", password)
            .output()
            .expect("user create")
    };
    let out = create("clerk", "registrar", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.login("clerk", PASSWORD).status, 200);

    let out = create("clerk2", "registrar", "too short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    let out = create("clerk3", "overlord", PASSWORD);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
    let out = create("CLERK", "registrar", PASSWORD);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["user", "create", "--help"],
        &["report", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(args)
            .output()
            .expect("help");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn import_registers_a_file_offline_with_the_same_rules() {
    let dir = temp_dir();
    let reg = registry();
    let lines: String = (1..=3)
        .map(|i| format!("{}\n", pistol(&format!("CLI-{i}"), &reg.agency)))
        .collect();
    let file = dir.join("batch.ndjson");
    std::fs::write(&file, &lines).expect("write");
    let run = |args: &[&str]| {
        registry_cmd(&dir, &reg.app.database_url)
            .arg("import")
            .arg(&file)
            .args(args)
            .output()
            .expect("import")
    };
    let out = run(&["--username", "registrar"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["imported"], 3);
    // Not on a terminal: progress comes as plain lines.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("import: started ("), "{progress}");
    assert!(progress.contains("import: 100% ("), "{progress}");
    assert!(progress.contains("import: done"), "{progress}");
    // Run again: every row is a duplicate, so nothing is written and it fails.
    let out = run(&["--username", "registrar"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    // Only registrars may import.
    let out = run(&["--username", "admin"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("registrar"));
    let listed = reg.app.get("/v1/firearms", &reg.registrar);
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(3));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_prints_a_national_report_on_the_record() {
    let dir = temp_dir();
    let reg = registry();
    for serial in ["REP-1", "REP-2"] {
        let id = reg.register(&pistol(serial, &reg.agency))["id"].clone();
        let r = reg.app.post(
            &format!("/v1/firearms/{}/events", id.as_str().expect("id")),
            &reg.registrar,
            &json!({"type": "export", "to_country": "TG", "licence_number": "E-1",
                    "occurred_at": "2015-07-01T00:00:00Z"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let run = |args: &[&str]| {
        registry_cmd(&dir, &reg.app.database_url)
            .arg("report")
            .args(args)
            .output()
            .expect("report")
    };
    let out = run(&["iti", "--year", "2015", "--format", "csv"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("figure,value\n"), "{stdout}");
    assert!(stdout.contains("firearms_registered,2\n"), "{stdout}");
    assert!(stdout.contains("exported,2\n"), "{stdout}");
    assert!(stderr.contains("report iti: done"), "{stderr}");
    let out = run(&["att", "--year", "2015", "--direction", "exports"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let att: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        att["rows"],
        json!([{"group": "small_arms", "category": "revolvers_and_self_loading_pistols",
                "partner_country": "TG", "items": 2}])
    );
    let out = run(&[
        "sdg",
        "--from",
        "2015-01-01",
        "--to",
        "2015-12-31",
        "--format",
        "csv",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("seized_found_surrendered,0\n"));
    // Bad parameters are refused, naming the parameter, and read nothing.
    for bad in [
        &["iti", "--year", "1899"][..],
        &["att", "--year", "2015", "--direction", "sideways"],
        &["sdg", "--from", "2016-01-01", "--to", "2015-01-01"],
        &["iti", "--year", "2015", "--format", "xml"],
    ] {
        let out = run(bad);
        assert!(!out.status.success(), "{bad:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            ["year", "direction", "from", "format"]
                .iter()
                .any(|f| stderr.contains(f)),
            "{bad:?}: {stderr}"
        );
    }
    wait_for_entries(&reg.app.database_url, "report.read", 3);
    let readers = sql_count(
        &reg.app.database_url,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'report.read' AND actor_username LIKE 'cli:%'",
    );
    assert_eq!(readers, 3);
    let _ = std::fs::remove_dir_all(&dir);
}

fn serve_with_admin(dir: &Path, url: &str) -> (Child, u16) {
    let (child, port, _) = serve_as(dir, url, Some(ADMIN_PASSWORD));
    (child, port)
}

pub(crate) fn token(port: u16, username: &str, password: &str) -> String {
    let (status, body) = http(
        port,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

/// A test database and its URL: on SQLite, the file a registry started
/// in `dir` uses by default.
pub(crate) fn database_for(dir: &Path) -> (TestDb, String) {
    let (db, url) = TestDb::new();
    if db.is_postgres() {
        return (db, url);
    }
    (
        db,
        format!("sqlite://{}", dir.join("data/registry.db").display()),
    )
}

/// An agency made by the bootstrap administrator, and a logged-in user of
/// it for each (username, role): (agency id, their tokens).
pub(crate) fn agency_with_users(port: u16, users: &[(&str, &str)]) -> (String, Vec<String>) {
    let admin = token(port, "admin", ADMIN_PASSWORD);
    let (_, agency) = http(
        port,
        "POST",
        "/v1/agencies",
        Some(&admin),
        Some(json!({"name": "Police", "country": "GH", "kind": "police"})),
    );
    let agency = agency["id"].as_str().expect("agency").to_string();
    let tokens = users
        .iter()
        .map(|(name, role)| {
            let user = json!({"username": name, "password": PASSWORD, "agency_id": agency, "roles": [role]});
            let (status, body) = http(port, "POST", "/v1/users", Some(&admin), Some(user));
            assert_eq!(status, 201, "{body}");
            token(port, name, PASSWORD)
        })
        .collect();
    (agency, tokens)
}

/// Registers from four clients as fast as they can while the registry is
/// killed with SIGKILL 1.5 s in: the ids of the registrations acknowledged.
pub(crate) fn register_until_killed(
    port: u16,
    registrar: &str,
    agency: &str,
    child: &Child,
) -> Vec<String> {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for i in 0..10_000 {
                        let req = ureq::post(&format!("http://127.0.0.1:{port}/v1/firearms"))
                            .set("Authorization", &format!("Bearer {registrar}"))
                            .timeout(Duration::from_secs(5));
                        match req.send_json(pistol(&format!("K{w}-{i}"), agency)) {
                            Ok(r) => ids.push(
                                r.into_json::<serde_json::Value>().expect("json")["id"]
                                    .as_str()
                                    .expect("id")
                                    .to_string(),
                            ),
                            Err(_) => break,
                        }
                    }
                    ids
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .expect("kill");
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    })
}

#[test]
fn a_killed_registry_loses_and_doubles_no_audit_entry() {
    let dir = temp_dir();
    let (_db, url) = database_for(&dir);
    let (child, port) = serve_with_admin(&dir, &url);
    let (agency, tokens) = agency_with_users(port, &[("reg", "registrar")]);
    let registrar = &tokens[0];

    // Four clients register as fast as they can; the process is killed
    // (SIGKILL: no shutdown at all) in the middle of it.
    let acknowledged = register_until_killed(port, registrar, &agency, &child);
    let mut child = child;
    let _ = child.wait();
    assert!(
        acknowledged.len() > 20,
        "only {} registrations before the kill",
        acknowledged.len()
    );

    let (mut child, port) = serve_with_admin(&dir, &url);
    let total = wait_integrated(&url);
    // Gap-free from 0, each entry exactly once.
    assert_eq!(
        sql_count(&url, "SELECT COUNT(DISTINCT seq) AS n FROM audit_entries"),
        total
    );
    assert_eq!(
        sql_count(&url, "SELECT MIN(seq) AS n FROM audit_entries"),
        0
    );
    assert_eq!(
        sql_count(&url, "SELECT MAX(seq) + 1 AS n FROM audit_entries"),
        total
    );
    // Every acknowledged registration is there, with its entry.
    let firearms = sql_count(&url, "SELECT COUNT(*) AS n FROM firearms");
    assert!(firearms >= acknowledged.len() as i64);
    assert_eq!(
        sql_count(
            &url,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'firearm.registered'"
        ),
        firearms
    );
    // An auditor, made on the server's host: no second system
    // administrator needs to approve it there.
    let out = registry_cmd(&dir, &url)
        .args([
            "user",
            "create",
            "--username",
            "aud",
            "--agency-id",
            &agency,
        ])
        .args(["--role", "auditor"])
        .env("REGISTRY_NEW_USER_PASSWORD", PASSWORD)
        .output()
        .expect("user create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let auditor = token(port, "aud", PASSWORD);
    for id in acknowledged.iter().step_by(7) {
        assert_eq!(
            http(
                port,
                "GET",
                &format!("/v1/firearms/{id}"),
                Some(&auditor),
                None
            )
            .0,
            200
        );
    }
    wait_integrated(&url);
    let (_, report) = http(port, "GET", "/v1/audit/verify", Some(&auditor), None);
    assert_eq!(report["valid"], true, "{report}");
    // The root is the one the tree of all entries, in seq order, has.
    let (_, head) = http(port, "GET", "/v1/audit/head", Some(&auditor), None);
    let mut leaves: Vec<[u8; 32]> = Vec::new();
    let mut after = String::new();
    loop {
        let (_, page) = http(
            port,
            "GET",
            &format!("/v1/audit/entries?limit=1000{after}"),
            Some(&auditor),
            None,
        );
        for e in page["items"].as_array().expect("items") {
            let canonical = e["canonical"].as_str().expect("canonical");
            let mut data = vec![0u8];
            data.extend_from_slice(canonical.as_bytes());
            leaves.push(<sha2::Sha256 as sha2::Digest>::digest(&data).into());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&cursor={c}"),
            None => break,
        }
    }
    // Reading the entries writes entries (`audit.read`), which may be
    // integrated while the pages are read: the head covers a prefix.
    let size = head["size"].as_u64().expect("size") as usize;
    assert!(
        leaves.len() >= size,
        "{} entries, head {size}",
        leaves.len()
    );
    assert_eq!(
        head["root_hash"].as_str(),
        Some(hex::encode(reference_root(&leaves[..size])).as_str())
    );
    terminate(&child);
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// RFC 9162 MTH, from its definition.
fn reference_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    use sha2::Digest;
    match leaves.len() {
        0 => sha2::Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let mut h = sha2::Sha256::new();
            h.update([1u8]);
            h.update(reference_root(&leaves[..k]));
            h.update(reference_root(&leaves[k..]));
            h.finalize().into()
        }
    }
}
