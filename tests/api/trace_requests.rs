use crate::helpers::*;
use serde_json::{json, Value};

struct Exchange {
    reg: Registry,
    gh_tracer: String,
    tg_agency: String,
    tg_tracer: String,
    ng_tracer: String,
    auditor: String,
    firearm: String,
}

fn setup() -> Exchange {
    let reg = registry();
    let (_, gh_tracer) = reg
        .app
        .create_user(&reg.admin, "gh-tracer", &reg.agency, &["tracer"]);
    let tg_agency = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, tg_tracer) = reg
        .app
        .create_user(&reg.admin, "tg-tracer", &tg_agency, &["tracer"]);
    let ng_agency = reg
        .app
        .create_agency(&reg.admin, "Nigeria Police Force", "NG");
    let (_, ng_tracer) = reg.app.create_user(
        &reg.admin,
        "ng-tracer",
        &ng_agency,
        &["tracer", "registrar"],
    );
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &ng_agency, &["auditor"]);
    let mut ak = pistol("KA-1234567", &reg.agency);
    ak["category"] = json!("assault_rifle");
    ak["manufacturer"] = json!("Izhmash");
    ak["country_of_manufacture"] = json!("RU");
    let firearm = reg.register(&ak)["id"].as_str().expect("id").to_string();
    Exchange {
        reg,
        gh_tracer,
        tg_agency,
        tg_tracer,
        ng_tracer,
        auditor,
        firearm,
    }
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

fn request_body(to: &str) -> Value {
    json!({
        "to_agency_id": to,
        "firearm": {"category": "assault_rifle", "manufacturer": "Izhmash", "calibre": "7.62x39mm",
                    "country_of_manufacture": "RU", "serial_number": "KA-12345*",
                    "markings": [{"kind": "import", "text": "GH 2015"}]},
        "circumstances": {"seized_at": "2026-10-01T12:00:00Z", "location": "Lomé port",
                          "context": "found in a container declared as machine parts",
                          "description": "rifle, serial partly ground off"},
        "urgency": "urgent",
        "respond_by": in_days(14)
    })
}

fn send(x: &Exchange) -> Value {
    let r = x.reg.app.post(
        "/v1/trace-requests",
        &x.tg_tracer,
        &request_body(&x.reg.agency),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[test]
fn the_whole_exchange_between_two_countries_with_a_third_kept_out() {
    let x = setup();
    let created = send(&x);
    let id = created["id"].as_str().expect("id").to_string();
    let reference = created["reference"].as_str().expect("reference");
    let (year, digits) = reference
        .strip_prefix("TR-")
        .and_then(|r| r.split_once('-'))
        .expect("TR-year-digits");
    assert_eq!(year, chrono::Utc::now().format("%Y").to_string());
    assert!(
        digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()),
        "{reference}"
    );
    assert_eq!(created["status"], "open");
    assert_eq!(created["overdue"], false);
    assert!(
        created.get("candidates").is_none(),
        "the requester does not see candidates"
    );
    let path = format!("/v1/trace-requests/{id}");
    let outsider = |x: &Exchange| {
        x.reg
            .app
            .get(&path, &x.ng_tracer)
            .assert_problem(404, "not_found");
        x.reg
            .app
            .req("POST", &format!("{path}/acknowledge"))
            .token(&x.ng_tracer)
            .send()
            .assert_problem(404, "not_found");
        x.reg
            .app
            .post(
                &format!("{path}/response"),
                &x.ng_tracer,
                &json!({"outcome": "not_found"}),
            )
            .assert_problem(404, "not_found");
    };
    outsider(&x);

    // The receiving agency sees the candidates found at creation.
    let seen = x.reg.app.get(&path, &x.gh_tracer);
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.body["candidates"][0]["firearm_id"], x.firearm.as_str());
    assert_eq!(seen.body["circumstances"]["location"], "Lomé port");
    assert!(x.reg.app.get(&path, &x.auditor).body["candidates"].is_array());
    let inbox = x.reg.app.get("/v1/trace-requests?box=inbox", &x.gh_tracer);
    assert_eq!(inbox.body["items"][0]["id"], id.as_str());
    let outbox = x.reg.app.get("/v1/trace-requests?box=outbox", &x.tg_tracer);
    assert_eq!(outbox.body["items"][0]["id"], id.as_str());
    assert!(outbox.body["items"][0].get("candidates").is_none());
    for (token, b) in [
        (&x.tg_tracer, "inbox"),
        (&x.gh_tracer, "outbox"),
        (&x.ng_tracer, "inbox"),
        (&x.ng_tracer, "outbox"),
    ] {
        let r = x.reg.app.get(&format!("/v1/trace-requests?box={b}"), token);
        assert_eq!(r.body["items"].as_array().map(Vec::len), Some(0), "{b}");
    }
    assert_eq!(
        x.reg
            .app
            .get("/v1/trace-requests?box=inbox&status=open", &x.gh_tracer)
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        x.reg
            .app
            .get("/v1/trace-requests?box=inbox&status=answered", &x.gh_tracer)
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // Acknowledge: only the receiver, only once.
    x.reg
        .app
        .req("POST", &format!("{path}/acknowledge"))
        .token(&x.tg_tracer)
        .send()
        .assert_problem(403, "forbidden");
    let r = x
        .reg
        .app
        .req("POST", &format!("{path}/acknowledge"))
        .token(&x.gh_tracer)
        .send();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "acknowledged");
    x.reg
        .app
        .req("POST", &format!("{path}/acknowledge"))
        .token(&x.gh_tracer)
        .send()
        .assert_problem(409, "already_acknowledged");
    outsider(&x);

    // Respond: not the requester; declining needs grounds; identified needs a real firearm.
    let answer = json!({"outcome": "identified", "firearm_id": x.firearm,
        "information": "exported to Togo in 2019 under licence EXP-19-4",
        "last_known_holder": {"kind": "dealer", "name": "Lomé Arms SARL", "reference": "TG-D-77", "country": "TG"}});
    x.reg
        .app
        .post(&format!("{path}/response"), &x.tg_tracer, &answer)
        .assert_problem(403, "forbidden");
    let r = x.reg.app.post(
        &format!("{path}/response"),
        &x.gh_tracer,
        &json!({"outcome": "declined"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "information");
    let mut ghost = answer.clone();
    ghost["firearm_id"] = json!(uuid::Uuid::now_v7().to_string());
    let r = x
        .reg
        .app
        .post(&format!("{path}/response"), &x.gh_tracer, &ghost);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "firearm_id");
    let r = x
        .reg
        .app
        .post(&format!("{path}/response"), &x.gh_tracer, &answer);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "answered");
    x.reg
        .app
        .post(&format!("{path}/response"), &x.gh_tracer, &answer)
        .assert_problem(409, "already_answered");
    outsider(&x);

    // The requester sees the answer and the last known holder.
    let theirs = x.reg.app.get(&path, &x.tg_tracer);
    assert_eq!(theirs.body["response"]["outcome"], "identified");
    assert_eq!(theirs.body["response"]["firearm_id"], x.firearm.as_str());
    assert_eq!(
        theirs.body["response"]["last_known_holder"]["name"],
        "Lomé Arms SARL"
    );
    assert_eq!(theirs.body["overdue"], false);
    signed_answer_holds(&x, &theirs.body);

    // Every step is in the audit log.
    wait_integrated(&x.reg.app.database_url);
    let entries = x.reg.app.get("/v1/audit/entries?limit=1000", &x.auditor);
    let steps: Vec<&str> = entries.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["target"] == format!("trace_request:{id}"))
        .filter_map(|e| e["action"].as_str())
        .filter(|a| *a != "trace_request.read")
        .collect();
    assert_eq!(
        steps,
        [
            "trace_request.created",
            "trace_request.acknowledged",
            "trace_request.answered"
        ]
    );
    // A signed answer swapped in the database no longer matches its entry.
    let report = x.reg.app.get("/v1/audit/verify", &x.auditor).body;
    assert_eq!(report["valid"], true, "{report}");
    sql(
        &x.reg.app.database_url,
        &format!("UPDATE trace_requests SET signed_response = 'forged' WHERE id = '{id}'"),
    );
    let report = x.reg.app.get("/v1/audit/verify", &x.auditor).body;
    assert_eq!(report["valid"], false, "{report}");
}

#[test]
fn a_declined_answer_states_its_grounds_and_hides_no_holder_it_lacks() {
    let x = setup();
    let id = send(&x)["id"].as_str().expect("id").to_string();
    let r = x.reg.app.post(
        &format!("/v1/trace-requests/{id}/response"),
        &x.gh_tracer,
        &json!({"outcome": "declined", "information": "ongoing investigation; answer restricted until the case closes",
                "last_known_holder": {"kind": "individual", "name": "withheld"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let theirs = x
        .reg
        .app
        .get(&format!("/v1/trace-requests/{id}"), &x.tg_tracer);
    assert_eq!(theirs.body["response"]["outcome"], "declined");
    assert!(theirs.body["response"].get("last_known_holder").is_none());
    // Nor does the signed answer hold it.
    let note = theirs.body["signed_response"].as_str().expect("signed");
    assert!(!note.contains("withheld"), "{note}");
    assert!(note.contains("\"outcome\":\"declined\""), "{note}");
}

fn verify_answer(file_text: &str, key: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("answer-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("answer");
    std::fs::write(&file, file_text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .args(["trace", "verify-answer"])
        .arg(&file)
        .args(["--key", key])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The requester keeps the signed answer and checks it later: with an
/// independent note verifier, and offline with `registry trace
/// verify-answer`; a changed answer, or a shown response that is not the
/// signed one, is refused.
fn signed_answer_holds(x: &Exchange, request: &Value) {
    let key = x.reg.app.get("/v1/audit/key", &x.auditor).body;
    let public = crate::rfc::unhex(key["public_key"].as_str().expect("key"));
    let note = request["signed_response"]
        .as_str()
        .expect("signed response");
    let text = crate::rfc::open_note(note, "registry.test/audit", &public).expect("signed");
    let signed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(text, format!("{}\n", crate::rfc::canonical_json(&signed)));
    assert_eq!(signed["type"], "trace_response/v1");
    assert_eq!(signed["request_id"], request["id"]);
    assert_eq!(signed["reference"], request["reference"]);
    for (k, v) in request["response"].as_object().expect("response") {
        assert_eq!(&signed[k], v, "{k}");
    }
    let vkey = key["verifier_key"].as_str().expect("vkey");
    let (ok, out) = verify_answer(&request.to_string(), vkey);
    assert!(ok, "{out}");
    assert!(out.contains("outcome identified"), "{out}");
    let (ok, out) = verify_answer(note, key["public_key"].as_str().expect("hex"));
    assert!(ok, "{out}");
    let (ok, out) = verify_answer(&note.replace("identified", "not_found"), vkey);
    assert!(!ok && out.contains("signature does not verify"), "{out}");
    let mut shown = request.clone();
    shown["response"]["outcome"] = json!("not_found");
    let (ok, out) = verify_answer(&shown.to_string(), vkey);
    assert!(!ok && out.contains("differs from the signed one"), "{out}");
}

#[test]
fn bad_requests_are_refused() {
    let x = setup();
    let cases: Vec<(Value, &str)> = vec![
        (
            request_body(&uuid::Uuid::now_v7().to_string()),
            "to_agency_id",
        ),
        (request_body(&x.tg_agency), "to_agency_id"),
        (
            {
                let mut b = request_body(&x.reg.agency);
                b["respond_by"] = json!("2020-01-01T00:00:00Z");
                b
            },
            "respond_by",
        ),
        (
            {
                let mut b = request_body(&x.reg.agency);
                b["firearm"]["serial_number"] = json!("9".repeat(65));
                b
            },
            "firearm.serial_number",
        ),
        (
            {
                let mut b = request_body(&x.reg.agency);
                b["urgency"] = json!("yesterday");
                b
            },
            "urgency",
        ),
    ];
    for (b, field) in cases {
        let r = x.reg.app.post("/v1/trace-requests", &x.tg_tracer, &b);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    x.reg
        .app
        .post(
            "/v1/trace-requests",
            &x.reg.registrar,
            &request_body(&x.tg_agency),
        )
        .assert_problem(403, "forbidden");
    assert_eq!(
        x.reg
            .app
            .get("/v1/trace-requests?box=outbox", &x.tg_tracer)
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    x.reg
        .app
        .get("/v1/trace-requests?box=elsewhere", &x.tg_tracer)
        .assert_problem(400, "invalid_parameter");
    x.reg
        .app
        .get("/v1/trace-requests?box=all", &x.tg_tracer)
        .assert_problem(403, "forbidden");
}

#[test]
fn a_request_past_its_deadline_without_answer_is_overdue() {
    let x = setup();
    let mut b = request_body(&x.reg.agency);
    b["respond_by"] =
        json!((chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339());
    let r = x.reg.app.post("/v1/trace-requests", &x.tg_tracer, &b);
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(r.body["overdue"], false);
    std::thread::sleep(std::time::Duration::from_millis(1700));
    assert_eq!(
        x.reg
            .app
            .get(&format!("/v1/trace-requests/{id}"), &x.gh_tracer)
            .body["overdue"],
        true
    );
    let r = x.reg.app.post(
        &format!("/v1/trace-requests/{id}/response"),
        &x.gh_tracer,
        &json!({"outcome": "not_found"}),
    );
    assert_eq!(
        r.body["overdue"], false,
        "answered late is no longer overdue"
    );
}
