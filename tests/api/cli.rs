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

fn registry_cmd(dir: &Path, database_url: &str) -> Command {
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

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("registry-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts `registry serve` and reads its output until it listens. Returns
/// the child, its port, and the password it printed, if any.
// The caller waits for the child it is handed.
#[allow(clippy::zombie_processes)]
fn serve(dir: &Path, database_url: &str) -> (Child, u16, Option<String>) {
    let mut child = registry_cmd(dir, database_url)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start registry");
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

fn http(
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
    let (db, url) = TestDb::new();
    let url = if db.is_postgres() {
        url
    } else {
        format!("sqlite://{}", dir.join("data/registry.db").display())
    };
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
