//! Witnesses (c2sp.org/tlog-witness), both roles against each other: the
//! registry submits its checkpoints to a `registry witness serve`, keeps
//! the cosignatures, and a second registry showing a different log under
//! the same key (a split view) is refused.

use crate::helpers::*;
use crate::rfc::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use registry::audit::signing::NoteKey;
use registry::config::WitnessSetting;
use serde_json::Value;
use std::io::BufRead;
use std::time::{Duration, Instant};

const ORIGIN: &str = "registry.test/audit";
const WITNESS: &str = "witness.test/w1";

/// A `registry witness serve` process, stopped when dropped.
struct WitnessProc {
    child: std::process::Child,
    url: String,
    vkey: String,
    dir: std::path::PathBuf,
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl WitnessProc {
    fn start(log_vkey: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("witness-{}", uuid::Uuid::now_v7().simple()));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
            .args([
                "witness",
                "serve",
                "--name",
                WITNESS,
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--state")
            .arg(&dir)
            .args(["--log", log_vkey])
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("witness");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut next = || lines.next().expect("a line").expect("utf-8");
        let url = next()
            .strip_prefix("witness listening on ")
            .expect("address")
            .to_string();
        let vkey = next()
            .strip_prefix("verifier key ")
            .expect("key")
            .to_string();
        // Its log goes on to stdout: keep reading, or its writes fail.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url,
            vkey,
            dir,
        }
    }

    fn public(&self) -> [u8; 32] {
        let raw = B64
            .decode(self.vkey.splitn(3, '+').nth(2).expect("key"))
            .expect("b64");
        assert_eq!(raw[0], 4, "a cosignature key has type 0x04");
        raw[1..].try_into().expect("32 bytes")
    }

    fn post(&self, body: &str) -> (u16, String, String) {
        let r = ureq::post(&format!("{}/add-checkpoint", self.url)).send_string(body);
        let r = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        let (status, kind) = (r.status(), r.content_type().to_string());
        (status, kind, r.into_string().expect("body"))
    }

    fn latest(&self) -> Option<String> {
        let hash = sha256_hex(ORIGIN);
        match ureq::get(&format!("{}/{hash}/checkpoint", self.url)).call() {
            Ok(r) => Some(r.into_string().expect("body")),
            Err(_) => None,
        }
    }
}

/// An audit key made before the registry starts, so the witness can be
/// told about the log first.
fn key_file() -> (std::path::PathBuf, String) {
    let key = NoteKey::generate(ORIGIN).expect("key");
    let path = std::env::temp_dir().join(format!("audit-key-{}", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, key.private_text()).expect("write");
    (path, key.verifier())
}

fn witnessed_registry(key: &std::path::Path, w: &WitnessProc) -> (Registry, String) {
    let (key, url, vkey) = (key.to_path_buf(), w.url.clone(), w.vkey.clone());
    let reg = registry_with(move |s| {
        s.audit_key_file = Some(key);
        s.witnesses = vec![WitnessSetting { url, key: vkey }];
    });
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    (reg, auditor)
}

/// Waits until the head the registry signs is cosigned, or `check` says
/// what it waits for is there.
fn wait_for(reg: &Registry, auditor: &str, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let head = reg.app.get("/v1/audit/head", auditor).body;
        if check(&head) {
            return head;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{head}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_registry_submits_each_new_head_and_keeps_the_cosignatures() {
    let (key, vkey) = key_file();
    let w = WitnessProc::start(&vkey);
    let (reg, auditor) = witnessed_registry(&key, &w);
    reg.register(&pistol("WIT-1", &reg.agency));
    wait_integrated(&reg.app.database_url);
    let head = wait_for(&reg, &auditor, |h| h["witnessed"] == true);
    assert_eq!(head["cosignatures"], 1);
    assert_eq!(head["witnesses"][0]["name"], WITNESS);
    assert_eq!(head["witnesses"][0]["last_error"], Value::Null);
    let first = head["size"].as_u64().expect("size");

    // The checkpoint carries the witness's cosignature, which an
    // independent verifier checks with the witness's key.
    let public: [u8; 32] = unhex(
        reg.app.get("/v1/audit/key", &auditor).body["public_key"]
            .as_str()
            .expect("key"),
    );
    for path in ["/v1/audit/checkpoint", "/tlog/checkpoint"] {
        let note = reg.app.get(path, &auditor).text;
        let text = open_note(&note, ORIGIN, &public).expect("log signature");
        assert_eq!(parse_checkpoint(&text).1, first, "{path}");
        let at = cosigned_at(&note, WITNESS, &w.public()).expect("cosignature");
        let now = chrono::Utc::now().timestamp() as u64;
        assert!(at <= now && at + 60 > now, "{at}");
    }
    // The witness keeps it, with both signatures.
    let kept = w.latest().expect("kept");
    assert!(open_note(&kept, ORIGIN, &public).is_some());
    assert!(cosigned_at(&kept, WITNESS, &w.public()).is_some());

    // A later head is submitted with a consistency proof from the first.
    for i in 0..3 {
        reg.register(&pistol(&format!("WIT-2{i}"), &reg.agency));
    }
    wait_integrated(&reg.app.database_url);
    // The auditor's own reads add entries, so the head may move on between
    // a cosignature and the read of it: wait for a head the witness has
    // cosigned as it stands.
    let head = wait_for(&reg, &auditor, |h| {
        h["witnessed"] == true
            && h["size"].as_u64() > Some(first)
            && h["witnesses"][0]["size"] == h["size"]
    });
    assert_eq!(head["witnesses"][0]["size"], head["size"]);

    // Evidence verifies with the witness required.
    let firearm = reg.register(&pistol("WIT-3", &reg.agency))["id"]
        .as_str()
        .expect("id")
        .to_string();
    // No wait: the bundle waits for a witnessed head that covers it.
    let bundle = reg
        .app
        .get(&format!("/v1/firearms/{firearm}/evidence"), &auditor);
    assert_eq!(bundle.status, 200, "{}", bundle.text);
    let dir = std::env::temp_dir().join(format!("witnessed-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("evidence.json");
    std::fs::write(&file, &bundle.text).expect("write");
    let run = |witness: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(["audit", "verify-evidence"])
            .arg(&file)
            .args(["--key", &vkey, "--witness", witness])
            .env_remove("DATABASE_URL")
            .output()
            .expect("run")
    };
    let out = run(&w.vkey);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cosigned by the 1 witnesses given"));
    let stranger = registry::audit::cosign::CosignKey::generate(WITNESS).expect("key");
    let out = run(&stranger.verifier());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no valid cosignature by witness"));
    // An export ends at the latest witnessed head, and verifies with it.
    let export = reg.app.get("/v1/audit/export", &auditor);
    assert_eq!(export.status, 200);
    let file = dir.join("export.ndjson");
    std::fs::write(&file, &export.text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .args(["audit", "verify"])
        .arg(&file)
        .args(["--key", &vkey, "--witness", &w.vkey])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cosigned by the 1 witnesses given"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&key);
}

#[test]
fn a_second_log_under_the_same_key_is_refused_as_a_split_view() {
    let (key, vkey) = key_file();
    let w = WitnessProc::start(&vkey);
    let (honest, auditor) = witnessed_registry(&key, &w);
    honest.register(&pistol("SPLIT-1", &honest.agency));
    wait_integrated(&honest.app.database_url);
    let seen = wait_for(&honest, &auditor, |h| h["witnessed"] == true);
    // The same key and origin over another database: another history,
    // signed as if it were the same log, and longer than what the
    // witness saw, so that it can be offered as an extension of it.
    let (fork, fork_auditor) = witnessed_registry(&key, &w);
    fork.import_pistols("FORK", 40);
    let refused = wait_for(&fork, &fork_auditor, |h| {
        h["witnesses"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("422"))
    });
    assert_eq!(refused["witnessed"], false, "{refused}");
    assert!(refused["size"].as_u64() > seen["size"].as_u64());
    // The witness still holds the honest log's checkpoint.
    let kept = w.latest().expect("kept");
    assert_eq!(
        parse_checkpoint(&split_note(&kept).0).2,
        unhex(seen["root_hash"].as_str().expect("root"))
    );
    // And goes on cosigning the honest log.
    honest.register(&pistol("SPLIT-2", &honest.agency));
    wait_integrated(&honest.app.database_url);
    wait_for(&honest, &auditor, |h| {
        h["witnessed"] == true && h["size"].as_u64() > seen["size"].as_u64()
    });
    let _ = std::fs::remove_file(&key);
}

#[test]
fn the_witness_answers_each_refusal_the_protocol_names() {
    let (key, vkey) = key_file();
    let w = WitnessProc::start(&vkey);
    let reg = {
        let key = key.clone();
        registry_with(move |s| s.audit_key_file = Some(key))
    };
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    wait_integrated(&reg.app.database_url);
    let checkpoint = || reg.app.get("/v1/audit/checkpoint", &auditor).text;
    let first = checkpoint();
    let s1 = parse_checkpoint(&split_note(&first).0).1;
    reg.register(&pistol("PROTO-1", &reg.agency));
    wait_integrated(&reg.app.database_url);
    let second = checkpoint();
    let s2 = parse_checkpoint(&split_note(&second).0).1;
    assert!(s2 > s1);
    let proof: String = reg
        .app
        .get(
            &format!("/v1/audit/proof/consistency?from={s1}&to={s2}"),
            &auditor,
        )
        .body["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|h| format!("{}\n", B64.encode(unhex(h.as_str().expect("hex")))))
        .collect();

    let (status, _, body) = w.post(&format!("old 0\n\n{first}"));
    assert_eq!(status, 200, "{body}");
    let public = w.public();
    assert!(cosigned_at(&format!("{first}{body}"), WITNESS, &public).is_some());

    let cases: Vec<(String, u16)> = vec![
        ("no blank line".into(), 400),
        (format!("old {}\n\n{second}", s2 + 1), 400),
        (format!("old 01\n\n{second}"), 400),
        (format!("old {s1}\nnot-base64!\n\n{second}"), 400),
        (
            format!("old 0\n\n{}", second.replacen(ORIGIN, "other.test/log", 1)),
            404,
        ),
        (
            format!("old {s1}\n{proof}\n{}", {
                let (text, _) = split_note(&second);
                let sigs = &second[text.len()..];
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "{}\n{}\n{}\n{sigs}",
                    lines[0],
                    lines[1],
                    B64.encode([7u8; 32])
                )
            }),
            403,
        ),
        (format!("old 0\n\n{second}"), 409),
        (
            format!("old {s1}\n{}\n\n{second}", B64.encode([9u8; 32])),
            422,
        ),
    ];
    for (body, expected) in &cases {
        let (status, kind, answer) = w.post(body);
        assert_eq!(status, *expected, "{body}\n=> {answer}");
        if *expected == 409 {
            assert_eq!(kind, "text/x.tlog.size");
            assert_eq!(answer, format!("{s1}\n"));
        }
    }
    // Nothing refused moved it; the right proof does.
    let (status, _, body) = w.post(&format!("old {s1}\n{proof}\n{second}"));
    assert_eq!(status, 200, "{body}");
    let kept = w.latest().expect("kept");
    assert_eq!(parse_checkpoint(&split_note(&kept).0).1, s2);
    let _ = std::fs::remove_file(&key);
}
