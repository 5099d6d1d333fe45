//! The audit log, checked with an implementation of RFC 9162 verification
//! and Ed25519 written here, independent of the server's own code.

use crate::helpers::*;
use crate::rfc::*;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Audited {
    reg: Registry,
    auditor: String,
    firearm: String,
}

/// A registry with some history: logins, accounts, a firearm and events.
fn audited() -> Audited {
    let reg = registry();
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    reg.app.login("registrar", "wrong password!!");
    let f = reg.register(&pistol("AUD-1", &reg.agency));
    let id = f["id"].as_str().expect("id").to_string();
    for b in [
        json!({"type": "custody_transfer", "to": {"kind": "dealer", "name": "Repair shop"}}),
        json!({"type": "marking_added", "marking": {"kind": "state", "text": "GPS 7"}}),
    ] {
        let r = reg
            .app
            .post(&format!("/v1/firearms/{id}/events"), &reg.registrar, &b);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    wait_integrated(&reg.app.database_url);
    Audited {
        reg,
        auditor,
        firearm: id,
    }
}

fn all_entries(a: &Audited) -> Vec<Value> {
    let r = a.reg.app.get("/v1/audit/entries?limit=1000", &a.auditor);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().expect("items").clone()
}

fn head(a: &Audited) -> Value {
    let r = a.reg.app.get("/v1/audit/head", &a.auditor);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[test]
fn every_write_and_login_is_an_entry_and_the_tree_is_rfc_9162() {
    let a = audited();
    let entries = all_entries(&a);
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in [
        "user.created",
        "auth.login",
        "agency.created",
        "auth.login_failed",
        "firearm.registered",
        "firearm.custody_transfer",
        "firearm.marking_added",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let failed = entries
        .iter()
        .find(|e| e["action"] == "auth.login_failed")
        .expect("failed login");
    assert_eq!(failed["actor"]["username"], "registrar");
    assert_eq!(failed["actor"]["user_id"], Value::Null);
    let registered = entries
        .iter()
        .find(|e| e["action"] == "firearm.registered")
        .expect("registration");
    assert_eq!(registered["actor"]["username"], "registrar");
    assert_eq!(registered["target"], format!("firearm:{}", a.firearm));
    // Gap-free from 0; each leaf is SHA-256(0x00 || canonical).
    let mut leaves = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64);
        let canonical = e["canonical"].as_str().expect("canonical");
        assert_eq!(e["leaf_hash"], hex::encode(leaf(canonical.as_bytes())));
        let parsed: Value = serde_json::from_str(canonical).expect("canonical JSON");
        assert_eq!(parsed["action"], e["action"]);
        leaves.push(leaf(canonical.as_bytes()));
    }
    let h = head(&a);
    assert_eq!(h["size"], leaves.len() as u64);
    assert_eq!(h["root_hash"], hex::encode(mth(&leaves)));
    // The texts shown were derived from the columns: none is stored.
    let stored = sql_count(
        &a.reg.app.database_url,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE canonical <> ''",
    );
    assert_eq!(stored, 0);
}

#[test]
fn the_request_id_is_recorded() {
    let a = audited();
    let r = a
        .reg
        .app
        .req("POST", "/v1/agencies")
        .token(&a.reg.admin)
        .header("X-Request-Id", "ticket-4711")
        .json(&json!({"name": "Customs Division", "country": "GH", "kind": "customs"}));
    assert_eq!(r.status, 201);
    wait_integrated(&a.reg.app.database_url);
    let entries = all_entries(&a);
    let last = entries.last().expect("entry");
    assert_eq!(
        (last["action"].as_str(), last["request_id"].as_str()),
        (Some("agency.created"), Some("ticket-4711"))
    );
    assert_eq!(last["actor"]["username"], "admin");
}

#[test]
fn checkpoints_are_c2sp_signed_notes_that_verify_with_the_published_key() {
    let a = audited();
    let key = a.reg.app.get("/v1/audit/key", &a.auditor).body;
    assert_eq!(key["algorithm"], "ed25519");
    let public: [u8; 32] = hex::decode(key["public_key"].as_str().expect("key"))
        .expect("hex")
        .try_into()
        .expect("32");
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("key");
    let r = a.reg.app.get("/v1/audit/checkpoint", &a.auditor);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/plain"));
    let (body, sigs) = r
        .text
        .split_once("\n\n")
        .expect("blank line before signatures");
    let body = format!("{body}\n");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "registry.test/audit");
    let h = head(&a);
    assert_eq!(lines[1], h["size"].to_string());
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        hex::encode(b64.decode(lines[2]).expect("b64")),
        h["root_hash"].as_str().expect("root")
    );
    let sig_line = sigs.lines().next().expect("signature line");
    let (name, sig) = sig_line
        .strip_prefix("\u{2014} ")
        .expect("em dash")
        .split_once(' ')
        .expect("name");
    assert_eq!(name, "registry.test/audit");
    let sig = b64.decode(sig).expect("b64");
    // The key id: SHA-256(name || "\n" || 0x01 || key)[:4].
    let mut id = Sha256::new();
    id.update(format!("{name}\n").as_bytes());
    id.update([1u8]);
    id.update(public);
    assert_eq!(&sig[..4], &id.finalize()[..4]);
    let signature = ed25519_dalek::Signature::from_slice(&sig[4..]).expect("sig");
    assert!(verifying.verify_strict(body.as_bytes(), &signature).is_ok());
    // The head's own signature is the same signature over the same text.
    assert_eq!(
        b64.decode(h["signature"].as_str().expect("sig"))
            .expect("b64"),
        sig[4..].to_vec()
    );
    assert!(key["verifier_key"]
        .as_str()
        .expect("vkey")
        .starts_with("registry.test/audit+"));
}

#[test]
fn inclusion_and_consistency_proofs_verify_independently() {
    let a = audited();
    let entries = all_entries(&a);
    let leaves: Vec<Hash> = entries
        .iter()
        .map(|e| unhex(e["leaf_hash"].as_str().expect("leaf")))
        .collect();
    let n = leaves.len() as u64;
    for size in 1..=n {
        let root = mth(&leaves[..size as usize]);
        for seq in 0..size {
            let r = a.reg.app.get(
                &format!("/v1/audit/proof/inclusion?seq={seq}&size={size}"),
                &a.auditor,
            );
            assert_eq!(r.status, 200, "{}", r.text);
            let path: Vec<Hash> = r.body["path"]
                .as_array()
                .expect("path")
                .iter()
                .map(|p| unhex(p.as_str().expect("hex")))
                .collect();
            assert_eq!(r.body["leaf_hash"], hex::encode(leaves[seq as usize]));
            assert!(
                verify_inclusion(seq, size, leaves[seq as usize], &path, root),
                "{seq} in {size}"
            );
        }
        for from in 1..=size {
            let r = a.reg.app.get(
                &format!("/v1/audit/proof/consistency?from={from}&to={size}"),
                &a.auditor,
            );
            assert_eq!(r.status, 200, "{}", r.text);
            let path: Vec<Hash> = r.body["path"]
                .as_array()
                .expect("path")
                .iter()
                .map(|p| unhex(p.as_str().expect("hex")))
                .collect();
            assert!(
                verify_consistency(from, size, mth(&leaves[..from as usize]), root, &path),
                "{from} -> {size}"
            );
        }
    }
    // Each history event carries its entry's seq, provably in the tree.
    let h = a
        .reg
        .app
        .get(&format!("/v1/firearms/{}/history", a.firearm), &a.auditor);
    for e in h.body["events"].as_array().expect("events") {
        let seq = e["audit_seq"].as_u64().expect("audit_seq once integrated");
        let entry = &entries[seq as usize];
        assert_eq!(entry["event_id"], e["id"]);
        let r = a.reg.app.get(
            &format!("/v1/audit/proof/inclusion?seq={seq}&size={n}"),
            &a.auditor,
        );
        let path: Vec<Hash> = r.body["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|p| unhex(p.as_str().expect("hex")))
            .collect();
        assert!(verify_inclusion(
            seq,
            n,
            leaves[seq as usize],
            &path,
            mth(&leaves)
        ));
    }
}

#[test]
fn bad_proof_requests_are_422() {
    let a = audited();
    let size = head(&a)["size"].as_u64().expect("size");
    for (q, field) in [
        (format!("inclusion?seq={size}&size={size}"), "seq"),
        (format!("inclusion?seq=0&size={}", size + 1), "size"),
        ("inclusion?seq=x&size=2".to_string(), "seq"),
        ("inclusion?seq=-1".to_string(), "seq"),
        ("inclusion?size=2".to_string(), "seq"),
        ("consistency?from=3&to=2".to_string(), "from"),
        (format!("consistency?from=1&to={}", size + 5), "to"),
        ("consistency?from=one&to=2".to_string(), "from"),
        ("consistency?from=1".to_string(), "to"),
    ] {
        let r = a.reg.app.get(&format!("/v1/audit/proof/{q}"), &a.auditor);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{q}: {}", r.text);
    }
}

#[test]
fn the_audit_log_is_for_auditors_only() {
    let a = audited();
    let (_, tracer) =
        a.reg
            .app
            .create_user(&a.reg.admin, "tracer", &a.reg.agency, &["tracer", "admin"]);
    for path in [
        "entries",
        "head",
        "checkpoint",
        "key",
        "proof/inclusion?seq=0",
        "proof/consistency?from=0&to=1",
        "verify",
        "export",
    ] {
        for token in [&a.reg.registrar, &tracer, &a.reg.admin] {
            a.reg
                .app
                .get(&format!("/v1/audit/{path}"), token)
                .assert_problem(403, "forbidden");
        }
    }
}

fn verify_report(a: &Audited) -> Value {
    let r = a.reg.app.get("/v1/audit/verify", &a.auditor);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn seq_of(entries: &[Value], pred: impl Fn(&Value) -> bool) -> u64 {
    entries
        .iter()
        .filter(|e| pred(e))
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .expect("entry")
}

#[test]
fn tampering_with_an_event_a_firearm_or_an_entry_is_found_at_its_seq() {
    let a = audited();
    let url = a.reg.app.database_url.clone();
    assert_eq!(
        verify_report(&a),
        json!({"valid": true, "size": head(&a)["size"]})
    );
    let entries = all_entries(&a);
    let history = a
        .reg
        .app
        .get(&format!("/v1/firearms/{}/history", a.firearm), &a.auditor)
        .body;

    // A history event rewritten in the database.
    let event = &history["events"][1];
    let event_id = event["id"].as_str().expect("id");
    sql(
        &url,
        &format!("UPDATE firearm_events SET location = 'somewhere else' WHERE id = '{event_id}'"),
    );
    let report = verify_report(&a);
    assert_eq!(report["valid"], false);
    assert_eq!(report["first_invalid_seq"], event["audit_seq"]);
    sql(
        &url,
        &format!("UPDATE firearm_events SET location = NULL WHERE id = '{event_id}'"),
    );
    assert_eq!(verify_report(&a)["valid"], true);

    // A firearm's registration rewritten: the registered event...
    let registered = &history["events"][0];
    let reg_id = registered["id"].as_str().expect("id");
    sql(&url, &format!("UPDATE firearm_events SET details = REPLACE(details, 'AUD-1', 'AUD-7') WHERE id = '{reg_id}'"));
    assert_eq!(
        verify_report(&a)["first_invalid_seq"],
        registered["audit_seq"]
    );
    sql(&url, &format!("UPDATE firearm_events SET details = REPLACE(details, 'AUD-7', 'AUD-1') WHERE id = '{reg_id}'"));
    // ...and the firearm row itself.
    sql(
        &url,
        &format!(
            "UPDATE firearms SET serial_number = 'AUD-7' WHERE id = '{}'",
            a.firearm
        ),
    );
    let last_for_firearm = seq_of(&entries, |e| {
        e["subject"] == format!("firearm:{}", a.firearm)
    });
    assert_eq!(verify_report(&a)["first_invalid_seq"], last_for_firearm);
    sql(
        &url,
        &format!(
            "UPDATE firearms SET serial_number = 'AUD-1' WHERE id = '{}'",
            a.firearm
        ),
    );
    assert_eq!(verify_report(&a)["valid"], true);

    // An audit entry rewritten.
    let k = entries
        .iter()
        .position(|e| e["action"] == "auth.login_failed")
        .expect("entry") as u64;
    sql(
        &url,
        &format!("UPDATE audit_entries SET target = 'username:nobody' WHERE seq = {k}"),
    );
    let report = verify_report(&a);
    assert_eq!(
        (
            report["valid"].as_bool(),
            report["first_invalid_seq"].as_u64()
        ),
        (Some(false), Some(k)),
        "{report}"
    );
    // Even rewritten consistently (the column and the leaf hash of the text
    // it gives), the signed heads disagree.
    sql(
        &url,
        &format!("UPDATE audit_entries SET target = 'username:registrar' WHERE seq = {k}"),
    );
    assert_eq!(verify_report(&a)["valid"], true);
    let original = entries[k as usize]["canonical"]
        .as_str()
        .expect("canonical")
        .to_string();
    let forged = original.replace(
        "\"target\":\"username:registrar\"",
        "\"target\":\"username:nobody\"",
    );
    assert_ne!(forged, original);
    let forged_leaf = hex::encode(leaf(forged.as_bytes()));
    sql(&url, &format!(
        "UPDATE audit_entries SET target = 'username:nobody', leaf_hash = '{forged_leaf}' WHERE seq = {k}"
    ));
    let report = verify_report(&a);
    assert_eq!(report["valid"], false);
    assert!(
        report["first_invalid_seq"].as_u64().expect("seq") <= k,
        "{report}"
    );
    // The log stops rather than sign its next head over the forged leaf:
    // the entry of the verify just made is not integrated meanwhile.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(verify_report(&a)["size"], report["size"]);
    let original_leaf = entries[k as usize]["leaf_hash"].as_str().expect("leaf");
    sql(&url, &format!(
        "UPDATE audit_entries SET target = 'username:registrar', leaf_hash = '{original_leaf}' WHERE seq = {k}"
    ));
    let after = verify_report(&a);
    assert_eq!(after["valid"], true, "{after}");

    // An account's roles raised behind the registry's back.
    let registrar_id = a.reg.app.get("/v1/auth/me", &a.reg.registrar).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let created = seq_of(&entries, |e| e["subject"] == format!("user:{registrar_id}"));
    sql(
        &url,
        &format!("UPDATE users SET roles = 'admin,registrar' WHERE id = '{registrar_id}'"),
    );
    assert_eq!(verify_report(&a)["first_invalid_seq"], created);
}

#[test]
fn an_export_verifies_offline_and_a_tampered_one_does_not() {
    let a = audited();
    let r = a.reg.app.get("/v1/audit/export", &a.auditor);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/x-ndjson"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines.len() as u64,
        head(&a)["size"].as_u64().expect("size") + 1
    );
    assert!(lines.last().expect("line").contains("\"checkpoint\""));
    let dir =
        std::env::temp_dir().join(format!("registry-export-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("export.ndjson");
    std::fs::write(&file, &r.text).expect("write");
    let key = a.reg.app.get("/v1/audit/key", &a.auditor).body["verifier_key"]
        .as_str()
        .expect("key")
        .to_string();
    let run = |path: &std::path::Path, key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(["audit", "verify"])
            .arg(path)
            .args(["--key", key])
            .env_remove("DATABASE_URL")
            .output()
            .expect("run")
    };
    let out = run(&file, &key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("verify: started ("), "{progress}");
    assert!(progress.contains("verify: done"), "{progress}");
    // One byte changed in one entry.
    let tampered = dir.join("tampered.ndjson");
    std::fs::write(
        &tampered,
        r.text.replacen("auth.login_failed", "auth.login_faileD", 1),
    )
    .expect("write");
    let out = run(&tampered, &key);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID"));
    // Every form of --key the contract names: the hex public key, and a
    // file with the verifier key, the hex key, or the JSON of /v1/audit/key.
    let answer = a.reg.app.get("/v1/audit/key", &a.auditor).body;
    let public = answer["public_key"]
        .as_str()
        .expect("public key")
        .to_string();
    let json_file = dir.join("key.json");
    std::fs::write(&json_file, answer.to_string()).expect("write");
    let hex_file = dir.join("key.hex");
    std::fs::write(&hex_file, format!("{public}\n")).expect("write");
    let vkey_file = dir.join("key.vkey");
    std::fs::write(&vkey_file, &key).expect("write");
    for form in [
        public.clone(),
        json_file.display().to_string(),
        hex_file.display().to_string(),
        vkey_file.display().to_string(),
    ] {
        let out = run(&file, &form);
        assert!(
            out.status.success(),
            "--key {form}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let only_public = dir.join("public.json");
    std::fs::write(&only_public, json!({"public_key": public}).to_string()).expect("write");
    assert!(run(&file, only_public.to_str().expect("path"))
        .status
        .success());
    // Another key does not verify the checkpoint, in either form.
    let other = "someone+2a1b3c4d+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEf=";
    assert!(!run(&file, other).status.success());
    let other_hex = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    let out = run(&file, other_hex);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no signature by this key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&file, "not a key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("64-digit hex public key"));
    let _ = std::fs::remove_dir_all(&dir);
}
