//! Evidence bundles: one firearm's history with its proof, checked by the
//! independent verifier (`crate::rfc`) and offline by
//! `registry audit verify-evidence`, which names any changed byte.

use crate::helpers::*;
use crate::rfc::*;
use serde_json::{json, Value};

struct Evidence {
    reg: Registry,
    auditor: String,
    firearm: String,
    bundle: Value,
}

/// A firearm with four events, integrated, and its bundle as the
/// registrar of its agency reads it.
fn evidence() -> Evidence {
    let reg = registry();
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    let f = reg.register(&pistol("EVID-1", &reg.agency));
    let id = f["id"].as_str().expect("id").to_string();
    for b in [
        json!({"type": "custody_transfer", "to": {"kind": "dealer", "name": "Repair shop"},
               "location": "Accra"}),
        json!({"type": "custody_transfer", "to": {"kind": "individual", "name": "Kofi Mensah"}}),
        json!({"type": "marking_added", "marking": {"kind": "state", "text": "GPS 7"}}),
    ] {
        let r = reg
            .app
            .post(&format!("/v1/firearms/{id}/events"), &reg.registrar, &b);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // No wait: the bundle waits for its entries to join the tree.
    let r = reg
        .app
        .get(&format!("/v1/firearms/{id}/evidence"), &reg.registrar);
    assert_eq!(r.status, 200, "{}", r.text);
    Evidence {
        reg,
        auditor,
        firearm: id,
        bundle: r.body,
    }
}

/// Checks a bundle as an outsider would, from the RFC and C2SP texts.
fn check_independently(bundle: &Value, public: &[u8; 32]) {
    let note = bundle["checkpoint"].as_str().expect("checkpoint");
    let text = open_note(note, "registry.test/audit", public).expect("signed checkpoint");
    let (_, size, root) = parse_checkpoint(&text);
    let firearm = bundle["firearm_id"].as_str().expect("id");
    let proven = |p: &Value| -> Value {
        let canonical = p["entry"]["canonical"].as_str().expect("canonical");
        let seq = p["entry"]["seq"].as_u64().expect("seq");
        let leaf_hash = leaf(canonical.as_bytes());
        assert_eq!(hex::encode(leaf_hash), p["entry"]["leaf_hash"]);
        let path: Vec<Hash> = p["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(|h| unhex(h.as_str().expect("hex")))
            .collect();
        assert!(verify_inclusion(seq, size, leaf_hash, &path, root), "{seq}");
        serde_json::from_str(canonical).expect("JSON")
    };
    for (i, p) in bundle["events"]
        .as_array()
        .expect("events")
        .iter()
        .enumerate()
    {
        let entry = proven(p);
        assert_eq!(p["content"]["sequence"], i as u64 + 1);
        assert_eq!(p["content"]["firearm_id"], firearm);
        assert_eq!(entry["event_id"], p["content"]["id"]);
        assert_eq!(entry["target"], format!("firearm:{firearm}"));
        assert_eq!(
            entry["content_digest"],
            sha256_hex(&canonical_json(&p["content"]))
        );
    }
    let state = &bundle["state"];
    let entry = proven(state);
    assert_eq!(entry["subject"], format!("firearm:{firearm}"));
    assert_eq!(
        entry["state_digest"],
        sha256_hex(&canonical_json(&state["content"]))
    );
    assert_eq!(
        state["content"]["version"],
        bundle["events"].as_array().expect("events").len() as u64
    );
}

fn verify_offline(bundle: &Value, key: &str) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("evidence-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bundle.json");
    std::fs::write(&file, serde_json::to_string_pretty(bundle).expect("json")).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .args(["audit", "verify-evidence"])
        .arg(&file)
        .args(["--key", key])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bundle_proves_a_history_to_an_independent_verifier_and_offline() {
    let e = evidence();
    let key = e.reg.app.get("/v1/audit/key", &e.auditor).body;
    let public = unhex(key["public_key"].as_str().expect("key"));
    assert_eq!(e.bundle["format"], "registry-evidence/v1");
    assert_eq!(e.bundle["complete"], true);
    assert_eq!(e.bundle["events"].as_array().map(Vec::len), Some(4));
    assert_eq!(e.bundle["verifier_key"], key["verifier_key"]);
    check_independently(&e.bundle, &public);
    // The events carry the holder's name sealed; the state shows the
    // current custodian, as the firearm's record does to this reader.
    assert!(!e.bundle["events"].to_string().contains("Kofi Mensah"));
    assert_eq!(
        e.bundle["state"]["content"]["custodian"]["name"],
        "Kofi Mensah"
    );
    let (ok, out, err) = verify_offline(&e.bundle, key["public_key"].as_str().expect("hex"));
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "valid: firearm {}, 4 events (the whole history",
            e.firearm
        )),
        "{out}"
    );
    // The auditor's bundle is the same proof; reading one is on the record.
    let r = e
        .reg
        .app
        .get(&format!("/v1/firearms/{}/evidence", e.firearm), &e.auditor);
    assert_eq!(r.status, 200, "{}", r.text);
    check_independently(&r.body, &public);
    wait_for_entries(&e.reg.app.database_url, "evidence.read", 2);
}

#[test]
fn a_changed_byte_anywhere_in_a_bundle_is_found_and_named() {
    let e = evidence();
    let key = e.reg.app.get("/v1/audit/key", &e.auditor).body["verifier_key"]
        .as_str()
        .expect("key")
        .to_string();
    let b = &e.bundle;
    type Change = Box<dyn Fn(&mut Value)>;
    let edit_text = |path: &'static str, from: &'static str, to: &'static str| -> Change {
        Box::new(move |v: &mut Value| {
            let at = v.pointer_mut(path).expect(path);
            let text = at.as_str().expect("text").to_string();
            assert!(text.contains(from), "{path}: {text}");
            *at = json!(text.replacen(from, to, 1));
        })
    };
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "an event's place",
            edit_text("/events/1/content/location", "Accra", "Accrb"),
            "events[1] (sequence 2): the event's content is not what its entry vouches for",
        ),
        (
            "an entry's text",
            edit_text(
                "/events/0/entry/canonical",
                "firearm.registered",
                "firearm.registereD",
            ),
            "events[0] (sequence 1): the leaf hash is not the hash of the canonical text",
        ),
        (
            "a proof",
            Box::new(|v: &mut Value| {
                let h = v["events"][2]["proof"][0]
                    .as_str()
                    .expect("hash")
                    .to_string();
                let flipped = if h.starts_with('0') { "1" } else { "0" };
                v["events"][2]["proof"][0] = json!(format!("{flipped}{}", &h[1..]));
            }),
            "events[2] (sequence 3): entry",
        ),
        (
            "an event left out",
            Box::new(|v: &mut Value| {
                v["events"].as_array_mut().expect("events").remove(1);
            }),
            "events[1] (sequence 2): the sequence is not the next one",
        ),
        (
            "the last event left out",
            Box::new(|v: &mut Value| {
                v["events"].as_array_mut().expect("events").pop();
            }),
            "state: the firearm is at version 4 but the bundle holds 3 events",
        ),
        (
            "the firearm's status",
            edit_text("/state/content/status", "active", "destroyed"),
            "state: the firearm's state is not what its entry vouches for",
        ),
        (
            "the checkpoint's size",
            Box::new(|v: &mut Value| {
                let note = v["checkpoint"].as_str().expect("note").to_string();
                let lines: Vec<&str> = note.split('\n').collect();
                let size: u64 = lines[1].parse().expect("size");
                let changed =
                    note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
                v["checkpoint"] = json!(changed);
            }),
            "checkpoint: the note's signature does not verify",
        ),
        (
            "the claim of completeness",
            Box::new(|v: &mut Value| {
                v["state"] = Value::Null;
            }),
            "a complete bundle must hold the firearm's state",
        ),
        (
            "another key named",
            Box::new(|v: &mut Value| {
                v["verifier_key"] =
                    json!("someone+2a1b3c4d+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEf=");
            }),
            "verifier_key",
        ),
        (
            "an unknown format",
            edit_text("/format", "v1", "v2"),
            "is not registry-evidence/v1",
        ),
    ];
    for (what, change, named) in cases {
        let mut tampered = b.clone();
        change(&mut tampered);
        let (ok, _, err) = verify_offline(&tampered, &key);
        assert!(!ok, "{what}: accepted");
        assert!(
            err.contains("INVALID") && err.contains(named),
            "{what}: {err}"
        );
    }
    // Untouched, it verifies with the verifier key too.
    let (ok, _, err) = verify_offline(b, &key);
    assert!(ok, "{err}");
}

#[test]
fn evidence_is_for_those_who_may_read_the_history() {
    let reg = registry_with(|s| s.require_purpose = true);
    let f = reg.register(&pistol("EVID-2", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let path = format!("/v1/firearms/{id}/evidence");
    reg.app
        .get(&path, &reg.registrar)
        .assert_problem(400, "purpose_required");
    let purposed = |token: &str| {
        reg.app
            .req("GET", &path)
            .token(token)
            .header("Registry-Purpose", "case GH-2026-17")
            .send()
    };
    assert_eq!(purposed(&reg.registrar).status, 200);
    purposed(&reg.admin).assert_problem(403, "forbidden");
    let other = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, stranger) = reg
        .app
        .create_user(&reg.admin, "tg-registrar", &other, &["registrar"]);
    purposed(&stranger).assert_problem(404, "not_found");
    reg.app
        .req("GET", "/v1/firearms/not-a-uuid/evidence")
        .token(&reg.registrar)
        .header("Registry-Purpose", "case GH-2026-17")
        .send()
        .assert_problem(404, "not_found");
}

#[test]
fn a_former_agency_gets_the_history_up_to_its_handover_and_it_verifies_as_partial() {
    let reg = registry();
    let army = reg
        .app
        .create_agency(&reg.admin, "Ghana Armed Forces", "GH");
    let (_, army_registrar) = reg
        .app
        .create_user(&reg.admin, "army-reg", &army, &["registrar"]);
    let f = reg.register(&pistol("EVID-3", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let to_army = json!({"type": "ownership_transfer", "authorization": "MOD-2026-1",
        "to": {"kind": "agency", "name": "Ghana Armed Forces", "agency_id": army}});
    let r = reg.app.post(
        &format!("/v1/firearms/{id}/events"),
        &reg.registrar,
        &to_army,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let marking = json!({"type": "marking_added", "marking": {"kind": "state", "text": "GAF 1"}});
    let r = reg.app.post(
        &format!("/v1/firearms/{id}/events"),
        &army_registrar,
        &marking,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let path = format!("/v1/firearms/{id}/evidence");
    let former = reg.app.get(&path, &reg.registrar);
    assert_eq!(former.status, 200, "{}", former.text);
    assert_eq!(former.body["complete"], false);
    assert_eq!(former.body["events"].as_array().map(Vec::len), Some(2));
    let key = reg.app.get("/v1/audit/key", &reg.admin);
    assert_eq!(key.status, 403);
    let vkey = former.body["verifier_key"]
        .as_str()
        .expect("key")
        .to_string();
    let (ok, out, err) = verify_offline(&former.body, &vkey);
    assert!(ok, "{err}");
    assert!(out.contains("the history through sequence 2"), "{out}");
    let current = reg.app.get(&path, &army_registrar);
    assert_eq!(current.body["complete"], true);
    assert_eq!(current.body["events"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_bundle_the_log_cannot_prove_yet_is_a_503_after_a_wait() {
    // With the sequencer paused, the firearm's entries never join the tree.
    let reg = registry_with(|s| s.audit_sequencer_paused = true);
    let f = reg.register(&pistol("EVID-4", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let r = reg
        .app
        .get(&format!("/v1/firearms/{id}/evidence"), &reg.registrar);
    r.assert_problem(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
}
