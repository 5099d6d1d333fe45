use crate::helpers::*;
use serde_json::{json, Value};

struct Tracing {
    reg: Registry,
    tracer: String,
    foreign_tracer: String,
    foreign_agency: String,
    glock: String,
}

fn firearm(serial: &str, agency: &str, manufacturer: &str, country: &str) -> Value {
    let mut b = pistol(serial, agency);
    b["manufacturer"] = json!(manufacturer);
    b["country_of_manufacture"] = json!(country);
    b["components"] = json!([]);
    b["markings"] = json!([]);
    b
}

fn setup() -> Tracing {
    let reg = registry();
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let foreign_agency = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, foreign_tracer) = reg.app.create_user(
        &reg.admin,
        "tg-tracer",
        &foreign_agency,
        &["tracer", "registrar"],
    );
    let mut glock = firearm("AB-123456", &reg.agency, "Glock GmbH", "AT");
    glock["components"] = json!([{"kind": "slide", "serial_number": "SL-998877"}]);
    glock["markings"] =
        json!([{"kind": "import", "text": "GH 2015 ACME", "country": "GH", "year": 2015}]);
    let glock = reg.register(&glock)["id"].as_str().expect("id").to_string();
    reg.register(&firearm("0B8123", &reg.agency, "Izhmash", "RU"));
    reg.register(&firearm("AB-123456", &reg.agency, "Steyr Arms", "AT"));
    Tracing {
        reg,
        tracer,
        foreign_tracer,
        foreign_agency,
        glock,
    }
}

fn trace(t: &Tracing, token: &str, query: &str) -> Reply {
    t.reg.app.get(&format!("/v1/trace?{query}"), token)
}

fn matches(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["matches"].as_array().expect("matches").clone()
}

fn serials(r: &Reply) -> Vec<String> {
    matches(r)
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["firearm"]["serial_number"].as_str().unwrap_or(""),
                m["firearm"]["manufacturer"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn an_exact_serial_scores_one_and_manufacturer_agreement_ranks_first() {
    let t = setup();
    let r = trace(
        &t,
        &t.tracer,
        "serial=ab%20123456&manufacturer=glock%20gmbh",
    );
    let m = matches(&r);
    assert_eq!(
        serials(&r),
        ["AB-123456:Glock GmbH", "AB-123456:Steyr Arms"]
    );
    assert_eq!(m[0]["score"], 1.0);
    assert_eq!(m[0]["matched_on"], "serial");
    assert!(m[1]["score"].as_f64().unwrap_or(1.0) < 1.0);
    assert_eq!(r.body["truncated"], false);
    // Without the manufacturer both are exact.
    let r = trace(&t, &t.tracer, "serial=AB123456");
    assert!(matches(&r).iter().all(|m| m["score"] == 1.0));
}

#[test]
fn look_alike_characters_match_unless_exact() {
    let t = setup();
    let r = trace(&t, &t.tracer, "serial=OB8-I23");
    let m = matches(&r);
    assert_eq!(serials(&r), ["0B8123:Izhmash"]);
    let score = m[0]["score"].as_f64().expect("score");
    assert!(score < 1.0 && score > 0.5, "{score}");
    assert_eq!(
        matches(&trace(&t, &t.tracer, "serial=OB8-I23&exact=true")).len(),
        0
    );
    // Every class: 0/O/Q/D, 1/I/L, 2/Z, 5/S, 6/G, 8/B.
    t.reg
        .register(&firearm("0125-68", &t.reg.agency, "Maker", "BE"));
    for misread in ["Q1Z5G8", "DLZS6B", "OI2S68"] {
        assert_eq!(
            serials(&trace(&t, &t.tracer, &format!("serial={misread}"))),
            ["0125-68:Maker"],
            "{misread}"
        );
    }
}

#[test]
fn wildcards_stand_for_unreadable_characters() {
    let t = setup();
    for (q, expected) in [
        ("AB%3F234*", 2), // AB?234*
        ("*3456", 2),     // a filed-off beginning
        ("AB*456", 2),    // an obliterated middle
        ("AB%3F23*", 2),  // two known characters in a row, then two more
        ("0B8%3F23", 1),
        ("AB%3F%3F23456", 0), // ? is exactly one character
    ] {
        let r = trace(&t, &t.tracer, &format!("serial={q}"));
        let m = matches(&r);
        assert_eq!(m.len(), expected, "{q}: {}", r.text);
        for x in &m {
            assert!(
                x["score"].as_f64().unwrap_or(1.0) < 1.0,
                "{q}: a wildcard lowers the score"
            );
        }
    }
}

/// PostgreSQL's LIKE takes `\` as an escape: a serial with a backslash
/// must still be found by a pattern that carries it.
#[test]
fn a_backslash_in_a_serial_does_not_hide_it_from_a_wildcard_trace() {
    let t = setup();
    t.reg
        .register(&firearm("KW\\7731-09", &t.reg.agency, "Maker", "BE"));
    for q in ["KW%5C7731*", "*%5C773109", "KW%5C*3109"] {
        let r = trace(&t, &t.tracer, &format!("serial={q}"));
        assert_eq!(serials(&r), ["KW\\7731-09:Maker"], "{q}: {}", r.text);
    }
}

#[test]
fn component_serials_and_marking_texts_are_searched() {
    let t = setup();
    let r = trace(&t, &t.tracer, "serial=SL998877");
    let m = matches(&r);
    assert_eq!(m.len(), 1, "{}", r.text);
    assert_eq!(m[0]["firearm"]["id"], t.glock.as_str());
    assert_eq!(
        (m[0]["matched_on"].as_str(), m[0]["component_kind"].as_str()),
        (Some("component"), Some("slide"))
    );
    let r = trace(&t, &t.tracer, "marking=GH%202015%20ACME");
    let m = matches(&r);
    assert_eq!(m.len(), 1, "{}", r.text);
    assert_eq!(
        (m[0]["matched_on"].as_str(), m[0]["marking_kind"].as_str()),
        (Some("marking"), Some("import"))
    );
    let r = trace(&t, &t.tracer, "serial=*2015ACME");
    assert_eq!(matches(&r)[0]["matched_on"], "marking");
    // A marking added later is traceable too.
    let b = json!({"type": "marking_added", "marking": {"kind": "state", "text": "GPS-7711"}});
    assert_eq!(
        t.reg
            .app
            .post(
                &format!("/v1/firearms/{}/events", t.glock),
                &t.reg.registrar,
                &b
            )
            .status,
        201
    );
    assert_eq!(
        matches(&trace(&t, &t.tracer, "marking=GPS7711"))[0]["firearm"]["id"],
        t.glock.as_str()
    );
}

#[test]
fn results_never_exceed_the_limit_and_say_when_truncated() {
    let t = setup();
    for i in 0..5 {
        t.reg
            .register(&firearm(&format!("LIM-{i}"), &t.reg.agency, "Maker", "BE"));
    }
    let r = trace(&t, &t.tracer, "serial=LIM*&limit=2");
    assert_eq!(matches(&r).len(), 2);
    assert_eq!(r.body["truncated"], true);
    let first_two = serials(&r);
    let r = trace(&t, &t.tracer, "serial=LIM*&limit=5");
    assert_eq!(
        (matches(&r).len(), r.body["truncated"].as_bool()),
        (5, Some(false))
    );
    // A limited answer is the head of the whole ranking.
    assert_eq!(first_two, serials(&r)[..2]);
    // The weapon's description still ranks every candidate, not only the
    // first by identifier.
    t.reg
        .register(&firearm("LIM-9", &t.reg.agency, "Other Works", "BE"));
    let r = trace(
        &t,
        &t.tracer,
        "serial=LIM*&limit=1&manufacturer=Other%20Works",
    );
    assert_eq!(serials(&r), ["LIM-9:Other Works"], "{}", r.text);
    assert_eq!(r.body["truncated"], true);
    let r = trace(&t, &t.tracer, "serial=LIM*&limit=1&manufacturer=Maker");
    assert_ne!(serials(&r), ["LIM-9:Other Works"], "{}", r.text);
}

#[test]
fn broad_and_bad_queries_are_refused() {
    let t = setup();
    for q in [
        "serial=*",
        "serial=%3F%3F%3F",
        "serial=AB",
        "serial=-/.",
        "serial=A%3FB%3FC",
        "marking=*1*",
        "serial=AB*",
    ] {
        trace(&t, &t.tracer, q).assert_problem(422, "query_too_broad");
    }
    let long = "9".repeat(65);
    for (q, field) in [
        (format!("serial={long}"), "serial"),
        ("serial=ABC123&limit=0".to_string(), "limit"),
        ("serial=ABC123&limit=101".to_string(), "limit"),
        ("serial=ABC123&category=ray_gun".to_string(), "category"),
        (
            "serial=ABC123&country_of_manufacture=XX".to_string(),
            "country_of_manufacture",
        ),
        ("serial=ABC123&exact=maybe".to_string(), "exact"),
        ("manufacturer=Glock".to_string(), "serial"),
    ] {
        let r = trace(&t, &t.tracer, &q);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{q}");
    }
    trace(&t, &t.tracer, "serial=ABC123&colour=red").assert_problem(400, "invalid_parameter");
}

#[test]
fn only_tracers_and_auditors_trace() {
    let t = setup();
    trace(&t, &t.reg.registrar, "serial=AB123456").assert_problem(403, "forbidden");
    trace(&t, &t.reg.admin, "serial=AB123456").assert_problem(403, "forbidden");
    let (_, auditor) = t
        .reg
        .app
        .create_user(&t.reg.admin, "auditor", &t.reg.agency, &["auditor"]);
    assert_eq!(trace(&t, &auditor, "serial=AB123456").status, 200);
}

#[test]
fn a_lost_or_stolen_match_alerts_and_notifies_the_responsible_agency() {
    let t = setup();
    let stolen = json!({"type": "reported_stolen", "report_reference": "GPS/2026/77"});
    assert_eq!(
        t.reg
            .app
            .post(
                &format!("/v1/firearms/{}/events", t.glock),
                &t.reg.registrar,
                &stolen
            )
            .status,
        201
    );
    let r = trace(&t, &t.foreign_tracer, "serial=SL998877");
    let m = matches(&r);
    assert_eq!(m[0]["alert"], true);
    assert_eq!(m[0]["firearm"]["status"], "stolen");
    let r = trace(&t, &t.foreign_tracer, "serial=AB123456");
    let alerts: Vec<bool> = matches(&r)
        .iter()
        .map(|m| m["alert"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(
        alerts.iter().filter(|a| **a).count(),
        1,
        "only the stolen one alerts"
    );
    // The responsible agency's registrar and tracer see who traced it.
    for token in [&t.reg.registrar, &t.tracer] {
        let n = t.reg.app.get("/v1/notifications", token);
        assert_eq!(n.status, 200, "{}", n.text);
        let items = n.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["firearm_id"], t.glock.as_str());
        assert_eq!(items[0]["traced_by"]["username"], "tg-tracer");
        assert_eq!(
            items[0]["traced_by"]["agency_id"],
            t.foreign_agency.as_str()
        );
        assert_eq!(items[0]["query"]["serial"], "SL998877");
        assert!(items[0]["traced_at"].is_string());
    }
    // The tracing agency is not told about its own traces.
    let theirs = t.reg.app.get("/v1/notifications", &t.foreign_tracer);
    assert_eq!(theirs.body["items"].as_array().map(Vec::len), Some(0));
    let (_, auditor) = t
        .reg
        .app
        .create_user(&t.reg.admin, "aud", &t.reg.agency, &["auditor"]);
    t.reg
        .app
        .get("/v1/notifications", &auditor)
        .assert_problem(403, "forbidden");
}

#[test]
fn every_trace_query_is_in_the_audit_log() {
    let t = setup();
    trace(&t, &t.foreign_tracer, "serial=AB*456&manufacturer=Glock");
    let (_, auditor) = t
        .reg
        .app
        .create_user(&t.reg.admin, "aud", &t.reg.agency, &["auditor"]);
    wait_integrated(&t.reg.app.database_url);
    let entries = t.reg.app.get("/v1/audit/entries?limit=1000", &auditor);
    let traced: Vec<&Value> = entries.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "trace.query")
        .collect();
    assert_eq!(traced.len(), 1);
    assert_eq!(traced[0]["actor"]["username"], "tg-tracer");
    assert_eq!(traced[0]["actor"]["agency_id"], t.foreign_agency.as_str());
}

#[test]
fn a_query_past_its_budget_is_refused_and_writes_nothing() {
    let reg = registry_with(|s| s.trace_budget = std::time::Duration::ZERO);
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let mut long = firearm("AB-1", &reg.agency, "Glock GmbH", "AT");
    let text = format!("AB{}", "C".repeat(190));
    long["markings"] = json!([{"kind": "other", "text": text}]);
    reg.register(&long);
    let worst = format!("AB{}", "*C".repeat(20));
    let before = reg.app.get("/v1/audit/entries?limit=1000", &reg.admin);
    reg.app
        .get(&format!("/v1/trace?marking={worst}"), &tracer)
        .assert_problem(422, "query_too_costly");
    let after = reg.app.get("/v1/audit/entries?limit=1000", &reg.admin);
    assert_eq!(before.body["items"], after.body["items"]);
}

#[test]
fn a_worst_case_pattern_against_long_markings_is_answered() {
    let reg = registry();
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    for i in 0..20 {
        let mut long = firearm(&format!("LONG-{i}"), &reg.agency, "Glock GmbH", "AT");
        let text = format!("AB{}{i}", "C".repeat(190));
        long["markings"] = json!([{"kind": "other", "text": text}]);
        reg.register(&long);
    }
    let worst = format!("AB{}*", "*C".repeat(30));
    let r = reg.app.get(&format!("/v1/trace?marking={worst}"), &tracer);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(matches(&r).len(), 20);
}
