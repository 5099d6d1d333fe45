//! Armouries and stock checks (api-contract.md, "Armouries and stock checks").

use crate::helpers::*;
use serde_json::{json, Value};

fn armoury(reg: &Registry, token: &str, name: &str) -> String {
    let r = reg.app.post(
        "/v1/armouries",
        token,
        &json!({"name": name, "kind": "evidence_store", "location": "Accra HQ, room 4"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("id").to_string()
}

fn firearm(reg: &Registry, serial: &str, manufacturer: &str) -> String {
    let mut body = pistol(serial, &reg.agency);
    body["manufacturer"] = json!(manufacturer);
    reg.register(&body)["id"].as_str().expect("id").to_string()
}

fn event(reg: &Registry, token: &str, id: &str, body: Value) -> Reply {
    reg.app
        .post(&format!("/v1/firearms/{id}/events"), token, &body)
}

fn into_armoury(reg: &Registry, id: &str, armoury: &str) {
    let body =
        json!({"type": "custody_transfer", "to": {"armoury_id": armoury}, "reason": "storage"});
    let r = event(reg, &reg.registrar, id, body);
    assert_eq!(r.status, 201, "{}", r.text);
}

fn held(reg: &Registry, token: &str, armoury: &str) -> Vec<String> {
    let r = reg.app.get(
        &format!("/v1/armouries/{armoury}/firearms?limit=1000"),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ids: Vec<String> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["firearm_id"].as_str().expect("firearm_id").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<&String>) -> Vec<String> {
    v.sort();
    v.into_iter().cloned().collect()
}

#[test]
fn armouries_belong_to_an_agency_and_are_seen_by_it_and_auditors() {
    let reg = registry();
    let app = &reg.app;
    let (_, admin) = app.create_user(&reg.admin, "gps-admin", &reg.agency, &["admin"]);
    let store = armoury(&reg, &admin, "Central Armoury");
    let r = app.get(&format!("/v1/armouries/{store}"), &reg.registrar);
    assert_eq!(r.body["agency_id"], json!(reg.agency));
    assert_eq!(r.body["kind"], "evidence_store");

    let same = json!({"name": "  central   ARMOURY ", "kind": "depot"});
    app.post("/v1/armouries", &reg.registrar, &same)
        .assert_problem(409, "duplicate_armoury");
    let bad = json!({"name": "Depot 2", "kind": "warehouse"});
    let r = app.post("/v1/armouries", &reg.registrar, &bad);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "kind");
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    app.post(
        "/v1/armouries",
        &tracer,
        &json!({"name": "T", "kind": "depot"}),
    )
    .assert_problem(403, "forbidden");

    let other = app.create_agency(&reg.admin, "Customs", "GH");
    let (_, customs) = app.create_user(&reg.admin, "customs-reg", &other, &["registrar"]);
    let theirs = armoury(&reg, &customs, "Port Store");
    let listed = |token: &str| -> Vec<String> {
        let r = app.get("/v1/armouries", token);
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().expect("items");
        sorted(
            items
                .iter()
                .map(|a| a["id"].as_str().unwrap_or(""))
                .map(String::from)
                .collect::<Vec<_>>()
                .iter()
                .collect(),
        )
    };
    assert_eq!(listed(&tracer), vec![store.clone()]);
    assert_eq!(listed(&customs), vec![theirs.clone()]);
    let (_, auditor) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    assert_eq!(listed(&auditor), sorted(vec![&store, &theirs]));
    app.get(&format!("/v1/armouries/{theirs}"), &reg.registrar)
        .assert_problem(404, "not_found");
    app.get(&format!("/v1/armouries/{theirs}/firearms"), &reg.registrar)
        .assert_problem(404, "not_found");
}

#[test]
fn events_move_firearms_into_and_out_of_an_armoury() {
    let reg = registry();
    let app = &reg.app;
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let a = firearm(&reg, "IN-1", "Glock GmbH");
    let b = firearm(&reg, "IN-2", "Glock GmbH");
    into_armoury(&reg, &a, &store);
    into_armoury(&reg, &b, &store);
    assert_eq!(held(&reg, &reg.registrar, &store), sorted(vec![&a, &b]));

    let history = app.get(&format!("/v1/firearms/{a}/history"), &reg.registrar);
    let last = &history.body["events"][1];
    assert_eq!(last["details"]["to"]["armoury_id"], json!(store));
    assert_eq!(last["details"]["to"]["name"], "Central Armoury");
    assert_eq!(last["details"]["to"]["agency_id"], json!(reg.agency));
    let shown = app.get(&format!("/v1/firearms/{a}"), &reg.registrar);
    assert_eq!(shown.body["custodian"]["armoury_id"], json!(store));

    // Out again, to a dealer: no longer held there.
    let out = json!({"type": "custody_transfer", "to": {"kind": "dealer", "name": "Repair Shop"}});
    assert_eq!(event(&reg, &reg.registrar, &b, out).status, 201);
    assert_eq!(held(&reg, &reg.registrar, &store), vec![a.clone()]);

    // An armoury of an agency not responsible for the firearm: 422, nothing written.
    let other = app.create_agency(&reg.admin, "Customs", "GH");
    let (_, customs) = app.create_user(&reg.admin, "customs-reg", &other, &["registrar"]);
    let theirs = armoury(&reg, &customs, "Port Store");
    let to_theirs = json!({"type": "custody_transfer", "to": {"armoury_id": theirs}});
    let r = event(&reg, &reg.registrar, &b, to_theirs);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "to.armoury_id");
    assert!(held(&reg, &customs, &theirs).is_empty());
    let unknown = uuid::Uuid::now_v7().to_string();
    let r = event(
        &reg,
        &reg.registrar,
        &b,
        json!({"type": "custody_transfer", "to": {"armoury_id": unknown}}),
    );
    r.assert_problem(422, "validation_failed");
    let both = json!({"type": "custody_transfer", "to": {"armoury_id": store, "name": "X", "kind": "other"}});
    event(&reg, &reg.registrar, &b, both).assert_problem(422, "validation_failed");
    let neither = json!({"type": "custody_transfer", "to": {"reference": "X"}});
    event(&reg, &reg.registrar, &b, neither).assert_problem(422, "validation_failed");
    let version = app.get(&format!("/v1/firearms/{b}"), &reg.registrar).body["version"].clone();
    assert_eq!(version, 3, "the refused transfers wrote nothing");

    // The other agency seizes the firearm into its own store: it becomes
    // responsible, so its armoury may keep it.
    let seize = json!({"type": "seized", "case_reference": "SZ-9", "to": {"armoury_id": theirs}});
    let r = event(&reg, &customs, &a, seize);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(held(&reg, &customs, &theirs), vec![a.clone()]);
    assert!(held(&reg, &reg.registrar, &store).is_empty());
}

/// Everything the contract's check names, on one armoury: found, missing
/// (one seized, one deactivated), moved, unexpected, unknown, duplicate
/// and ambiguous sightings, and a `report_lost` close by a second registrar.
#[test]
fn a_stock_check_reports_every_kind_of_sighting_and_closes_with_lost_events() {
    let reg = registry();
    let app = &reg.app;
    let url = app.database_url.clone();
    let (_, second) = app.create_user(&reg.admin, "second-reg", &reg.agency, &["registrar"]);
    let store = armoury(&reg, &reg.registrar, "Evidence Store");
    let ak = firearm(&reg, "AK-47 123", "Kalashnikov Concern");
    let f2 = firearm(&reg, "F-2", "Glock GmbH");
    let f3 = firearm(&reg, "F-3", "Glock GmbH");
    let moved = firearm(&reg, "F-4", "Glock GmbH");
    let seized = firearm(&reg, "F-5", "Glock GmbH");
    let deactivated = firearm(&reg, "F-6", "Glock GmbH");
    let stranger = firearm(&reg, "U-1", "@Risk Arms");
    let twin_a = firearm(&reg, "DUP-1", "Beretta");
    let twin_b = firearm(&reg, "DUP-1", "Taurus");
    for id in [&ak, &f2, &f3, &moved, &deactivated] {
        into_armoury(&reg, id, &store);
    }
    let seize = json!({"type": "seized", "case_reference": "SZ-1", "to": {"armoury_id": store}});
    assert_eq!(event(&reg, &reg.registrar, &seized, seize).status, 201);
    let deact = json!({"type": "deactivated", "method": "barrel plugged"});
    assert_eq!(event(&reg, &reg.registrar, &deactivated, deact).status, 201);
    assert_eq!(held(&reg, &reg.registrar, &store).len(), 6);

    let r = app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &reg.registrar,
        &json!({"reference": "SC-2026-01"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["expected"], 6);
    assert_eq!(r.body["opened_by"]["username"], "registrar");
    let check = r.body["id"].as_str().expect("id").to_string();
    app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &second,
        &json!({"reference": "SC-2"}),
    )
    .assert_problem(409, "stock_check_open");

    // Moved out by an event while the check is open.
    let out = json!({"type": "custody_transfer", "to": {"kind": "dealer", "name": "Repair Shop"}});
    assert_eq!(event(&reg, &reg.registrar, &moved, out).status, 201);

    let sight = |token: &str, items: Value| {
        app.post(
            &format!("/v1/stock-checks/{check}/sightings"),
            token,
            &json!({"items": items}),
        )
    };
    let r = sight(
        &reg.registrar,
        json!([
            {"serial_number": "ak47123", "manufacturer": "kalashnikov  concern"},
            {"firearm_id": f2},
            {"firearm_id": f2},
            {"serial_number": "U-1", "manufacturer": "@Risk Arms", "country_of_manufacture": "AT"},
            {"serial_number": "NOPE-9"},
            {"serial_number": "dup 1"},
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| x["result"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        results,
        [
            "found",
            "found",
            "duplicate",
            "unexpected",
            "unknown",
            "ambiguous"
        ]
    );
    assert_eq!(r.body["results"][0]["firearm_id"], json!(ak));
    assert_eq!(
        r.body["results"][3]["registry_has_it"]["firearm_id"],
        json!(stranger)
    );
    assert_eq!(
        r.body["results"][3]["registry_has_it"]["held_by"]["name"],
        "Ghana Police Service"
    );
    let mut twins = vec![twin_a.clone(), twin_b.clone()];
    twins.sort();
    assert_eq!(r.body["results"][5]["candidates"], json!(twins));
    let r = sight(&second, json!([{"firearm_id": f3}]));
    assert_eq!(r.body["results"][0]["result"], "found");
    let r = sight(
        &reg.registrar,
        json!([{"serial_number": "F 3", "manufacturer": "GLOCK GMBH"}]),
    );
    assert_eq!(r.body["results"][0]["result"], "duplicate");
    assert_eq!(r.body["sightings"], 8);

    let report = app.get(&format!("/v1/stock-checks/{check}"), &reg.registrar);
    assert_eq!(report.status, 200, "{}", report.text);
    let rep = &report.body["report"];
    assert_eq!(rep["expected"], 6);
    assert_eq!(ids(&rep["found"]), sorted(vec![&ak, &f2, &f3]));
    assert_eq!(ids(&rep["missing"]), sorted(vec![&seized, &deactivated]));
    assert_eq!(ids(&rep["moved"]), vec![moved.clone()]);
    assert_eq!(rep["moved"][0]["held_by"]["name"], "Repair Shop");
    assert_eq!(ids(&rep["unexpected"]), vec![stranger.clone()]);
    assert_eq!(rep["unknown"][0]["item"]["serial_number"], "NOPE-9");
    assert_eq!(rep["ambiguous"][0]["candidates"], json!(twins));
    assert_eq!(rep["duplicates"], 2);

    let csv = app
        .req("GET", &format!("/v1/stock-checks/{check}"))
        .token(&reg.registrar)
        .header("Accept", "text/csv")
        .send();
    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/csv"));
    assert!(
        csv.text.starts_with("result,firearm_id,serial_number"),
        "{}",
        csv.text
    );
    assert_eq!(
        csv.text.lines().count(),
        1 + 3 + 2 + 1 + 1 + 1 + 1,
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains(",'@Risk Arms,"),
        "a formula-like cell is defused: {}",
        csv.text
    );

    // Four eyes, and a close with missing firearms must say what to do.
    let close = |token: &str, body: Value| {
        app.post(&format!("/v1/stock-checks/{check}/close"), token, &body)
    };
    close(&reg.registrar, json!({"missing_action": "report_lost"}))
        .assert_problem(403, "four_eyes");
    let r = close(&second, json!({"notes": "done"}));
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "missing_action");
    let r = close(
        &second,
        json!({"missing_action": "report_lost", "notes": "shelf 3 empty"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "closed");
    assert_eq!(r.body["closed_by"]["username"], "second-reg");
    let lost = &r.body["report"]["reported_lost"];
    assert_eq!(ids(lost), vec![seized.clone()]);
    assert_eq!(
        ids(&r.body["report"]["not_reported"]),
        vec![deactivated.clone()]
    );
    let f = app.get(&format!("/v1/firearms/{seized}"), &reg.registrar);
    assert_eq!(f.body["status"], "lost");
    let h = app.get(&format!("/v1/firearms/{seized}/history"), &reg.registrar);
    let last = h.body["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["type"], "reported_lost");
    assert_eq!(last["id"], lost[0]["event_id"]);
    assert_eq!(last["details"]["report_reference"], "SC-2026-01");

    // Closed: no more sightings, no second close; its report is the one kept.
    sight(&reg.registrar, json!([{"firearm_id": seized}]))
        .assert_problem(409, "stock_check_closed");
    close(&reg.registrar, json!({"missing_action": "investigate"}))
        .assert_problem(409, "stock_check_closed");
    let back = json!({"type": "custody_transfer", "to": {"armoury_id": store}});
    assert_eq!(event(&reg, &reg.registrar, &moved, back).status, 201);
    let kept = app.get(&format!("/v1/stock-checks/{check}"), &reg.registrar);
    assert_eq!(ids(&kept.body["report"]["moved"]), vec![moved.clone()]);
    assert_eq!(kept.body["missing_action"], "report_lost");

    // Every step is on the record, and the log still verifies.
    let (_, auditor) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    wait_integrated(&url);
    let entries = app.get("/v1/audit/entries?limit=1000", &auditor);
    let actions: Vec<&str> = entries.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    for action in [
        "armoury.created",
        "stock_check.opened",
        "stock_check.sighted",
        "stock_check.closed",
        "stock_check.read",
        "armoury.holdings.read",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], true, "{}", v.text);

    // A sighting written around the registry no longer matches the check's entry.
    sql(&url, &format!(
        "INSERT INTO stock_check_sightings (id, check_id, position, item, result, firearm_id, candidates, sighted_by, sighted_at) \
         VALUES ('{}', '{check}', 99, '{{}}', 'found', '{seized}', NULL, 'x', '2026-01-01 00:00:00')",
        uuid::Uuid::now_v7()
    ));
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
}

#[test]
fn bad_stock_check_requests_are_refused_and_write_nothing() {
    let reg = registry();
    let app = &reg.app;
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let a = firearm(&reg, "B-1", "Glock GmbH");
    into_armoury(&reg, &a, &store);
    let other = app.create_agency(&reg.admin, "Customs", "GH");
    let (_, customs) = app.create_user(&reg.admin, "customs-reg", &other, &["registrar"]);
    app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &customs,
        &json!({"reference": "X"}),
    )
    .assert_problem(404, "not_found");
    app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &reg.registrar,
        &json!({"reference": ""}),
    )
    .assert_problem(422, "validation_failed");
    let r = app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &reg.registrar,
        &json!({"reference": "SC-1"}),
    );
    let check = r.body["id"].as_str().expect("id").to_string();
    let path = format!("/v1/stock-checks/{check}/sightings");

    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"serial_number": format!("S-{i}")}))
        .collect();
    let r = app.post(&path, &reg.registrar, &json!({"items": many}));
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "items");
    app.post(&path, &reg.registrar, &json!({"items": []}))
        .assert_problem(422, "validation_failed");
    let r = app.post(
        &path,
        &reg.registrar,
        &json!({"items": [{"firearm_id": a, "serial_number": "B-1"}]}),
    );
    assert_eq!(r.body["errors"][0]["field"], "items[0]");
    let r = app.post(
        &path,
        &reg.registrar,
        &json!({"items": [{"manufacturer": "Glock"}]}),
    );
    r.assert_problem(422, "validation_failed");
    app.post(&path, &customs, &json!({"items": [{"firearm_id": a}]}))
        .assert_problem(404, "not_found");
    app.get(&format!("/v1/stock-checks/{check}"), &customs)
        .assert_problem(404, "not_found");
    let shown = app.get(&format!("/v1/stock-checks/{check}"), &reg.registrar);
    assert_eq!(
        shown.body["sightings"], 0,
        "the refused batches wrote nothing"
    );

    // A check with nothing missing closes without a missing action.
    let r = app.post(
        &path,
        &reg.registrar,
        &json!({"items": [{"firearm_id": a}]}),
    );
    assert_eq!(r.body["results"][0]["result"], "found");
    let (_, second) = app.create_user(&reg.admin, "second-reg", &reg.agency, &["registrar"]);
    let r = app.post(
        &format!("/v1/stock-checks/{check}/close"),
        &second,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["report"]["missing"], json!([]));
    // A new check may open once the last one closed.
    let r = app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &reg.registrar,
        &json!({"reference": "SC-2"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

/// The rows of docs/architecture.md's table that armouries added.
#[test]
fn roles_that_may_not_keep_armouries_are_refused() {
    let reg = registry();
    let app = &reg.app;
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let (_, auditor) = app.create_user(&reg.admin, "aud", &reg.agency, &["auditor"]);
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let (_, admin) = app.create_user(&reg.admin, "gps-admin", &reg.agency, &["admin"]);
    // A system administrator reads no records, armouries included.
    app.get("/v1/armouries", &reg.admin)
        .assert_problem(403, "forbidden");
    app.get(&format!("/v1/armouries/{store}/firearms"), &reg.admin)
        .assert_problem(403, "forbidden");
    app.post(
        "/v1/armouries",
        &auditor,
        &json!({"name": "A", "kind": "depot"}),
    )
    .assert_problem(403, "forbidden");
    let open = format!("/v1/armouries/{store}/stock-checks");
    for token in [&auditor, &tracer, &admin] {
        app.post(&open, token, &json!({"reference": "SC-1"}))
            .assert_problem(403, "forbidden");
    }
    let r = app.post(&open, &reg.registrar, &json!({"reference": "SC-1"}));
    let check = r.body["id"].as_str().expect("id").to_string();
    app.post(
        &format!("/v1/stock-checks/{check}/sightings"),
        &tracer,
        &json!({"items": [{"serial_number": "X"}]}),
    )
    .assert_problem(403, "forbidden");
    app.post(
        &format!("/v1/stock-checks/{check}/close"),
        &admin,
        &json!({}),
    )
    .assert_problem(403, "forbidden");
    for token in [&auditor, &tracer, &admin] {
        assert_eq!(
            app.get(&format!("/v1/stock-checks/{check}"), token).status,
            200
        );
    }
}

/// An armoury may own a firearm outright: it holds it when no one else
/// keeps it for it.
#[test]
fn an_armoury_that_owns_a_firearm_holds_it_when_it_has_no_custodian() {
    let reg = registry();
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let a = firearm(&reg, "OWN-1", "Glock GmbH");
    let to_store = json!({"type": "ownership_transfer", "to": {"armoury_id": store}, "authorization": "FORFEIT-1"});
    let r = event(&reg, &reg.registrar, &a, to_store);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(held(&reg, &reg.registrar, &store), vec![a.clone()]);
    let lent = json!({"type": "custody_transfer", "to": {"kind": "dealer", "name": "Range"}});
    assert_eq!(event(&reg, &reg.registrar, &a, lent).status, 201);
    assert!(held(&reg, &reg.registrar, &store).is_empty());
    let back = json!({"type": "custody_transfer", "to": {"armoury_id": store}});
    assert_eq!(event(&reg, &reg.registrar, &a, back).status, 201);
    assert_eq!(held(&reg, &reg.registrar, &store), vec![a.clone()]);
    let shown = reg.app.get(&format!("/v1/firearms/{a}"), &reg.registrar);
    assert_eq!(shown.body["custodian"], Value::Null, "back with its owner");
}

/// Batches sent at once apply one after another: a firearm in two of them
/// is found once, and two checks opened at once are one check.
#[test]
fn concurrent_sightings_and_opens_never_count_twice() {
    let reg = registry();
    let app = &reg.app;
    let registrar = reg.registrar.as_str();
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let a = firearm(&reg, "RACE-1", "Glock GmbH");
    into_armoury(&reg, &a, &store);
    let open = format!("/v1/armouries/{store}/stock-checks");
    let opened: Vec<(u16, Value)> = std::thread::scope(|s| {
        let opens: Vec<_> = (0..4)
            .map(|i| {
                let open = &open;
                s.spawn(move || {
                    let r = app.post(open, registrar, &json!({"reference": format!("SC-{i}")}));
                    (r.status, r.body["id"].clone())
                })
            })
            .collect();
        opens
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut statuses: Vec<u16> = opened.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409], "{opened:?}");
    let checks = sql_count(&app.database_url, "SELECT COUNT(*) AS n FROM stock_checks");
    assert_eq!(checks, 1);
    let id = opened
        .iter()
        .find(|(s, _)| *s == 201)
        .and_then(|(_, id)| id.as_str())
        .expect("the opened check")
        .to_string();
    let path = format!("/v1/stock-checks/{id}/sightings");
    let results: Vec<String> = std::thread::scope(|s| {
        let sends: Vec<_> = (0..4)
            .map(|_| {
                let path = &path;
                let a = &a;
                s.spawn(move || {
                    let r = app.post(path, registrar, &json!({"items": [{"firearm_id": a}]}));
                    let result = r.body["results"][0]["result"].as_str();
                    result.map_or(format!("{} {}", r.status, r.text), String::from)
                })
            })
            .collect();
        sends
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let found = results.iter().filter(|r| *r == "found").count();
    let duplicates = results.iter().filter(|r| *r == "duplicate").count();
    assert_eq!((found, duplicates), (1, 3), "{results:?}");
}

/// A scanner that lost its connection sends the batch again with the same
/// key: the answer is replayed and nothing is counted twice.
#[test]
fn a_retried_batch_with_its_idempotency_key_counts_once() {
    let reg = registry();
    let app = &reg.app;
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let a = firearm(&reg, "RETRY-1", "Glock GmbH");
    into_armoury(&reg, &a, &store);
    let r = app.post(
        &format!("/v1/armouries/{store}/stock-checks"),
        &reg.registrar,
        &json!({"reference": "SC-1"}),
    );
    let check = r.body["id"].as_str().expect("id").to_string();
    let send = || {
        app.req("POST", &format!("/v1/stock-checks/{check}/sightings"))
            .token(&reg.registrar)
            .header("Idempotency-Key", "scanner-7-batch-1")
            .json(&json!({"items": [{"serial_number": "retry 1"}]}))
    };
    let first = send();
    assert_eq!(first.status, 200, "{}", first.text);
    let again = send();
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.body["results"][0]["result"], "found");
    let shown = app.get(&format!("/v1/stock-checks/{check}"), &reg.registrar);
    assert_eq!(shown.body["sightings"], 1);
    assert_eq!(shown.body["report"]["duplicates"], 0);
}

/// An agency bringing a store's inventory onto the registry registers or
/// imports each firearm with the armoury as its custodian.
#[test]
fn registrations_and_imports_may_put_firearms_straight_into_an_armoury() {
    let reg = registry();
    let app = &reg.app;
    let store = armoury(&reg, &reg.registrar, "Central Armoury");
    let mut body = pistol("REG-1", &reg.agency);
    body["custodian"] = json!({"armoury_id": store});
    let one = reg.register(&body)["id"].as_str().expect("id").to_string();
    let shown = app.get(&format!("/v1/firearms/{one}"), &reg.registrar);
    assert_eq!(shown.body["custodian"]["armoury_id"], json!(store));
    assert_eq!(shown.body["custodian"]["name"], "Central Armoury");

    let rows: String = (2..5)
        .map(|i| {
            let mut row = pistol(&format!("REG-{i}"), &reg.agency);
            row["custodian"] = json!({"armoury_id": store});
            format!("{row}\n")
        })
        .collect();
    let r = app
        .req("POST", "/v1/firearms/import")
        .token(&reg.registrar)
        .raw("application/x-ndjson", rows.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(held(&reg, &reg.registrar, &store).len(), 4);

    // Another agency's armoury, or none at all: refused, nothing written.
    let other = app.create_agency(&reg.admin, "Customs", "GH");
    let (_, customs) = app.create_user(&reg.admin, "customs-reg", &other, &["registrar"]);
    let theirs = armoury(&reg, &customs, "Port Store");
    for (serial, armoury_id) in [
        ("REG-8", theirs.clone()),
        ("REG-9", uuid::Uuid::now_v7().to_string()),
    ] {
        let mut body = pistol(serial, &reg.agency);
        body["custodian"] = json!({"armoury_id": armoury_id});
        let r = app.post("/v1/firearms", &reg.registrar, &body);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "custodian.armoury_id");
    }
    let mut row = pistol("REG-10", &reg.agency);
    row["custodian"] = json!({"armoury_id": theirs});
    let r = app
        .req("POST", "/v1/firearms/import")
        .token(&reg.registrar)
        .raw("application/x-ndjson", format!("{row}\n").as_bytes());
    r.assert_problem(422, "import_rejected");
    assert_eq!(r.body["errors"][0]["field"], "custodian.armoury_id");
    assert!(held(&reg, &customs, &theirs).is_empty());
    // A registration's history names its holders in full.
    let mut body = pistol("REG-11", &reg.agency);
    body["history"] = json!([{"type": "custody_transfer", "to": {"armoury_id": store}}]);
    let r = app.post("/v1/firearms", &reg.registrar, &body);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "history[0].to.armoury_id");
    let listed = app.get("/v1/firearms?limit=100", &reg.registrar);
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(4));
}
