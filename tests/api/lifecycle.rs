use crate::helpers::*;
use registry::domain::lifecycle::{transition, TRANSITIONS};
use registry::domain::{EventType, Status};
use serde_json::{json, Value};

fn dealer(name: &str) -> Value {
    json!({"kind": "dealer", "name": name, "reference": format!("LIC-{name}"), "country": "GH"})
}

/// A valid body for each event type, so that only the status can refuse it.
fn body(event: EventType) -> Value {
    let mut b = match event {
        EventType::OwnershipTransfer => {
            json!({"to": dealer("Accra Arms"), "authorization": "PERMIT-1"})
        }
        EventType::CustodyTransfer => json!({"to": dealer("Repair Shop"), "reason": "repair"}),
        EventType::Export => {
            json!({"to_country": "TG", "licence_number": "EXP-1", "end_user_certificate": "EUC-1"})
        }
        EventType::Import => json!({"from_country": "TG", "licence_number": "IMP-1",
            "marking": {"kind": "import", "text": "GH 2026 RE", "country": "GH", "year": 2026}}),
        EventType::MarkingAdded => json!({"marking": {"kind": "state", "text": "GPS 0042"}}),
        EventType::ReportedLost | EventType::ReportedStolen => {
            json!({"report_reference": "CASE-7"})
        }
        EventType::Recovered => json!({}),
        EventType::Seized => {
            json!({"case_reference": "SZ-1", "to": {"kind": "agency", "name": "Evidence", "agency_id": null}})
        }
        EventType::Deactivated => {
            json!({"method": "barrel plugged", "certificate_reference": "DEACT-1"})
        }
        EventType::Destroyed => json!({"method": "cutting", "witnesses": ["A. Mensah"]}),
        EventType::Correction => {
            json!({"changes": {"model": "19"}, "reason": "misread at registration"})
        }
        EventType::Registered => json!({}),
    };
    b["type"] = json!(event.as_str());
    b
}

fn event(reg: &Registry, token: &str, id: &str, body: &Value) -> Reply {
    reg.app
        .post(&format!("/v1/firearms/{id}/events"), token, body)
}

/// Seizure bodies name the seizing agency as custodian.
fn seize(agency: &str) -> Value {
    let mut b = body(EventType::Seized);
    b["to"]["agency_id"] = json!(agency);
    b
}

/// How to bring a fresh firearm into each status.
fn into_status(reg: &Registry, id: &str, status: Status) {
    let steps: Vec<Value> = match status {
        Status::Active => vec![],
        Status::Lost => vec![body(EventType::ReportedLost)],
        Status::Stolen => vec![body(EventType::ReportedStolen)],
        Status::Seized => vec![seize(&reg.agency)],
        Status::Exported => vec![body(EventType::Export)],
        Status::Deactivated => vec![body(EventType::Deactivated)],
        Status::Destroyed => vec![body(EventType::Destroyed)],
    };
    for step in steps {
        let r = event(reg, &reg.registrar, id, &step);
        assert_eq!(r.status, 201, "{status}: {}", r.text);
    }
}

fn firearm(reg: &Registry, token: &str, id: &str) -> Value {
    reg.app.get(&format!("/v1/firearms/{id}"), token).body
}

#[test]
fn every_cell_of_the_transition_table_is_enforced() {
    let reg = registry();
    let mut n = 0;
    for (from, _) in TRANSITIONS {
        for ev in EventType::ALL
            .iter()
            .copied()
            .filter(|e| *e != EventType::Registered)
        {
            n += 1;
            let f = reg.register(&pistol(&format!("T-{n}"), &reg.agency));
            let id = f["id"].as_str().expect("id");
            into_status(&reg, id, *from);
            let before = firearm(&reg, &reg.registrar, id);
            let b = if ev == EventType::Seized {
                seize(&reg.agency)
            } else {
                body(ev)
            };
            let r = event(&reg, &reg.registrar, id, &b);
            match transition(*from, ev) {
                Some(to) => {
                    assert_eq!(r.status, 201, "{from} + {ev}: {}", r.text);
                    assert_eq!(r.body["firearm"]["status"], to.as_str(), "{from} + {ev}");
                    assert_eq!(
                        r.body["event"]["sequence"],
                        before["version"].as_i64().unwrap_or(0) + 1
                    );
                }
                None => {
                    r.assert_problem(409, "illegal_transition");
                    assert_eq!(r.body["current_status"], from.as_str());
                    assert!(r.body["allowed_events"].is_array());
                    assert_eq!(
                        firearm(&reg, &reg.registrar, id),
                        before,
                        "{from} + {ev} wrote something"
                    );
                }
            }
        }
    }
}

#[test]
fn from_manufacture_to_export_reimport_loss_recovery_and_transfer() {
    let reg = registry();
    let f = reg.register(&pistol("LIFE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let step = |b: Value, status: &str| {
        let r = event(&reg, &reg.registrar, id, &b);
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["firearm"]["status"], status, "{}", r.text);
        r
    };
    let r = step(body(EventType::CustodyTransfer), "active");
    assert_eq!(r.body["firearm"]["custodian"]["name"], "Repair Shop");
    assert_eq!(r.header("etag"), Some("\"2\""));
    // Handing it back to the owner means the owner holds it again.
    let owner = f["owner"].clone();
    let r = step(json!({"type": "custody_transfer", "to": owner}), "active");
    assert_eq!(r.body["firearm"]["custodian"], Value::Null);
    step(body(EventType::Export), "exported");
    let r = step(body(EventType::Import), "active");
    assert_eq!(r.body["firearm"]["markings"][1]["text"], "GH 2026 RE");
    step(body(EventType::ReportedStolen), "stolen");
    event(
        &reg,
        &reg.registrar,
        id,
        &body(EventType::OwnershipTransfer),
    )
    .assert_problem(409, "illegal_transition");
    step(
        json!({"type": "recovered", "to": dealer("Police armoury")}),
        "active",
    );
    let r = step(body(EventType::OwnershipTransfer), "active");
    assert_eq!(r.body["firearm"]["owner"]["name"], "Accra Arms");
    assert_eq!(r.body["firearm"]["custodian"], Value::Null);
    assert_eq!(
        r.body["event"]["details"]["from"]["agency_id"],
        reg.agency.as_str()
    );
    let history = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    let types: Vec<&str> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "registered",
            "custody_transfer",
            "custody_transfer",
            "export",
            "import",
            "reported_stolen",
            "recovered",
            "ownership_transfer"
        ]
    );
    let sequences: Vec<i64> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["sequence"].as_i64())
        .collect();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
}

#[test]
fn a_transfer_to_another_agency_moves_responsibility_and_seizure_by_another_agency_then_destruction(
) {
    let reg = registry();
    let army = reg
        .app
        .create_agency(&reg.admin, "Ghana Armed Forces", "GH");
    let (_, army_registrar) = reg
        .app
        .create_user(&reg.admin, "army-reg", &army, &["registrar"]);
    let customs = reg.app.create_agency(&reg.admin, "Customs Division", "GH");
    let (_, customs_registrar) =
        reg.app
            .create_user(&reg.admin, "customs-reg", &customs, &["registrar"]);
    let f = reg.register(&pistol("MOVE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");

    let to_army = json!({"type": "ownership_transfer", "authorization": "MOD-2026-1",
        "to": {"kind": "agency", "name": "Ghana Armed Forces", "agency_id": army}});
    let r = event(&reg, &reg.registrar, id, &to_army);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["firearm"]["responsible_agency_id"], army.as_str());
    // The sending agency can no longer record events; the receiving one can.
    event(&reg, &reg.registrar, id, &body(EventType::MarkingAdded))
        .assert_problem(403, "forbidden");
    let r = event(&reg, &army_registrar, id, &body(EventType::MarkingAdded));
    assert_eq!(r.status, 201, "{}", r.text);
    // An unknown agency as recipient is refused.
    let mut ghost = to_army.clone();
    ghost["to"]["agency_id"] = json!(uuid::Uuid::now_v7().to_string());
    let r = event(&reg, &army_registrar, id, &ghost);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "to.agency_id");

    // Customs, not responsible, seizes it and becomes responsible.
    event(&reg, &customs_registrar, id, &body(EventType::ReportedLost))
        .assert_problem(403, "forbidden");
    let r = event(&reg, &customs_registrar, id, &seize(&customs));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["firearm"]["status"], "seized");
    assert_eq!(r.body["firearm"]["responsible_agency_id"], customs.as_str());
    assert_eq!(
        r.body["event"]["details"]["responsible_agency_id"],
        json!({"old": army, "new": customs})
    );
    event(&reg, &army_registrar, id, &body(EventType::Destroyed)).assert_problem(403, "forbidden");
    let r = event(&reg, &customs_registrar, id, &body(EventType::Destroyed));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["firearm"]["status"], "destroyed");
    // Destroyed: only corrections from now on.
    event(&reg, &customs_registrar, id, &seize(&customs)).assert_problem(409, "illegal_transition");
    let r = event(&reg, &customs_registrar, id, &body(EventType::Correction));
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn bad_events_get_clear_errors_and_write_nothing() {
    let reg = registry();
    let f = reg.register(&pistol("BAD-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"type": "teleported"}), "type"),
        (json!({"occurred_at": "2020-01-01T00:00:00Z"}), "type"),
        (
            json!({"type": "ownership_transfer", "to": dealer("X")}),
            "authorization",
        ),
        (
            json!({"type": "ownership_transfer", "authorization": "P"}),
            "to",
        ),
        (json!({"type": "destroyed", "witnesses": []}), "method"),
        (
            json!({"type": "destroyed", "method": "vaporised"}),
            "method",
        ),
        (
            json!({"type": "correction", "changes": {"model": "19"}}),
            "reason",
        ),
        (
            json!({"type": "correction", "changes": {"status": "active"}, "reason": "r"}),
            "changes.status",
        ),
        (
            json!({"type": "correction", "changes": {"responsible_agency_id": reg.agency}, "reason": "r"}),
            "changes.responsible_agency_id",
        ),
        (
            json!({"type": "correction", "changes": {"version": 9}, "reason": "r"}),
            "changes.version",
        ),
        (
            json!({"type": "correction", "changes": {}, "reason": "r"}),
            "changes",
        ),
        (
            json!({"type": "correction", "changes": {"year_of_manufacture": 1500}, "reason": "r"}),
            "changes.year_of_manufacture",
        ),
        (
            json!({"type": "correction", "changes": {"serial_number": "--"}, "reason": "r"}),
            "changes.serial_number",
        ),
        (
            json!({"type": "ownership_transfer", "to": f["owner"], "authorization": "P"}),
            "to",
        ),
        (json!({"type": "custody_transfer", "to": f["owner"]}), "to"),
        (
            json!({"type": "export", "to_country": "XX", "licence_number": "L"}),
            "to_country",
        ),
        (
            json!({"type": "reported_lost", "occurred_at": "2999-01-01T00:00:00Z"}),
            "occurred_at",
        ),
        (json!({"type": "reported_lost", "colour": "red"}), "colour"),
        (json!({"type": "registered"}), "type"),
    ];
    for (b, field) in cases {
        let r = event(&reg, &reg.registrar, id, &b);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{b}: {}", r.text);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    event(
        &reg,
        &reg.registrar,
        &unknown,
        &body(EventType::ReportedLost),
    )
    .assert_problem(404, "not_found");
    let (_, auditor) =
        reg.app
            .create_user(&reg.admin, "auditor", &reg.agency, &["auditor", "tracer"]);
    event(&reg, &auditor, id, &body(EventType::ReportedLost)).assert_problem(403, "forbidden");
    let after = firearm(&reg, &reg.registrar, id);
    assert_eq!(after["version"], 1);
    let history = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    assert_eq!(history.body["events"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_late_report_keeps_when_it_happened_and_when_it_was_recorded() {
    let reg = registry();
    let f = reg.register(&pistol("LATE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let mut b = body(EventType::ReportedStolen);
    b["occurred_at"] = json!("2014-02-03T04:05:06Z");
    b["location"] = json!("Kumasi");
    let r = event(&reg, &reg.registrar, id, &b);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["event"]["occurred_at"], "2014-02-03T04:05:06Z");
    assert_eq!(r.body["event"]["location"], "Kumasi");
    assert!(r.body["event"]["recorded_at"].as_str().unwrap_or("") > "2026");
}

#[test]
fn corrections_keep_the_old_values_and_the_unique_marking() {
    let reg = registry();
    reg.register(&pistol("TAKEN-9", &reg.agency));
    let f = reg.register(&pistol("FIX-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let fix = json!({"type": "correction", "reason": "serial misread (8 for B)",
        "changes": {"serial_number": "FIX-8", "model": "19", "calibre": null, "year_of_manufacture": 2013}});
    let r = event(&reg, &reg.registrar, id, &fix);
    assert_eq!(r.status, 201, "{}", r.text);
    let changes = &r.body["event"]["details"]["changes"];
    assert_eq!(
        changes["serial_number"],
        json!({"old": "FIX-1", "new": "FIX-8"})
    );
    assert_eq!(changes["model"], json!({"old": "17", "new": "19"}));
    assert_eq!(changes["calibre"], json!({"old": "9x19mm", "new": null}));
    assert_eq!(
        r.body["event"]["details"]["reason"],
        "serial misread (8 for B)"
    );
    let shown = firearm(&reg, &reg.registrar, id);
    assert_eq!(
        (
            shown["serial_number"].as_str(),
            shown["serial_normalized"].as_str()
        ),
        (Some("FIX-8"), Some("FIX8"))
    );
    assert_eq!(shown["model"], "19");
    assert_eq!(shown["calibre"], Value::Null);
    assert_eq!(shown["version"], 2);
    // The old serial is free again; the new one is taken.
    let again = reg.app.post(
        "/v1/firearms",
        &reg.registrar,
        &pistol("fix 8", &reg.agency),
    );
    again.assert_problem(409, "duplicate_marking");
    // A correction onto another firearm's marking is refused.
    let clash =
        json!({"type": "correction", "reason": "r", "changes": {"serial_number": "taken 9"}});
    event(&reg, &reg.registrar, id, &clash).assert_problem(409, "duplicate_marking");
    assert_eq!(firearm(&reg, &reg.registrar, id)["version"], 2);
}

#[test]
fn if_match_guards_against_stale_versions() {
    let reg = registry();
    let f = reg.register(&pistol("IFM-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let path = format!("/v1/firearms/{id}/events");
    let r = reg
        .app
        .req("POST", &path)
        .token(&reg.registrar)
        .header("If-Match", "\"1\"")
        .json(&body(EventType::MarkingAdded));
    assert_eq!(r.status, 201, "{}", r.text);
    let r = reg
        .app
        .req("POST", &path)
        .token(&reg.registrar)
        .header("If-Match", "\"1\"")
        .json(&body(EventType::ReportedLost));
    r.assert_problem(412, "version_mismatch");
    assert_eq!(firearm(&reg, &reg.registrar, id)["status"], "active");
    reg.app
        .req("POST", &path)
        .token(&reg.registrar)
        .header("If-Match", "soon")
        .json(&body(EventType::ReportedLost))
        .assert_problem(400, "invalid_if_match");
}

fn concurrent_transfers(reg: &Registry, id: &str, if_match: Option<&str>) -> Vec<u16> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                s.spawn(move || {
                    let b = json!({"type": "ownership_transfer", "to": dealer(&format!("Dealer {i}")), "authorization": format!("P-{i}")});
                    let mut r = reg.app.req("POST", &format!("/v1/firearms/{id}/events")).token(&reg.registrar);
                    if let Some(v) = if_match {
                        r = r.header("If-Match", v);
                    }
                    r.json(&b).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

fn sequences(reg: &Registry, id: &str) -> Vec<i64> {
    let h = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    h.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["sequence"].as_i64())
        .collect()
}

#[test]
fn twenty_simultaneous_transfers_apply_one_after_another_with_gap_free_sequences() {
    let reg = registry();
    let f = reg.register(&pistol("RACE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let statuses = concurrent_transfers(&reg, id, None);
    let ok = statuses.iter().filter(|s| **s == 201).count();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(sequences(&reg, id), (1..=1 + ok as i64).collect::<Vec<_>>());
    assert_eq!(firearm(&reg, &reg.registrar, id)["version"], 1 + ok as i64);

    // From one state (version 1), only one transfer applies.
    let g = reg.register(&pistol("RACE-2", &reg.agency));
    let gid = g["id"].as_str().expect("id");
    let statuses = concurrent_transfers(&reg, gid, Some("\"1\""));
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(sequences(&reg, gid), vec![1, 2]);
}

#[test]
fn history_is_for_auditors_and_the_responsible_agency_only() {
    let reg = registry();
    let f = reg.register(&pistol("SEE-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let path = format!("/v1/firearms/{id}/history");
    let other = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, foreign_tracer) =
        reg.app
            .create_user(&reg.admin, "tg-tracer", &other, &["tracer", "registrar"]);
    let (_, foreign_auditor) = reg
        .app
        .create_user(&reg.admin, "tg-auditor", &other, &["auditor"]);
    let (_, own_tracer) = reg
        .app
        .create_user(&reg.admin, "gh-tracer", &reg.agency, &["tracer"]);
    assert_eq!(reg.app.get(&path, &reg.registrar).status, 200);
    assert_eq!(reg.app.get(&path, &own_tracer).status, 200);
    assert_eq!(reg.app.get(&path, &foreign_auditor).status, 200);
    reg.app
        .get(&path, &foreign_tracer)
        .assert_problem(404, "not_found");
    reg.app
        .get(&path, &reg.admin)
        .assert_problem(403, "forbidden");
    reg.app
        .get(
            &format!("/v1/firearms/{}/history", uuid::Uuid::now_v7()),
            &reg.registrar,
        )
        .assert_problem(404, "not_found");
}

#[test]
fn an_auditors_csv_history_of_a_destroyed_firearm_rebuilds_its_chain_of_holders() {
    let reg = registry();
    let customs = reg.app.create_agency(&reg.admin, "Customs Division", "GH");
    let (_, customs_registrar) =
        reg.app
            .create_user(&reg.admin, "customs-reg", &customs, &["registrar"]);
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &customs, &["auditor"]);
    let f = reg.register(&pistol("CHAIN-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let mut steps = vec![
        (
            reg.registrar.clone(),
            json!({"type": "custody_transfer", "to": dealer("Armoury, \"North\""), "notes": "line one\nline two, with comma"}),
        ),
        (
            reg.registrar.clone(),
            json!({"type": "ownership_transfer", "to": dealer("Kojo's Guns"), "authorization": "P-1"}),
        ),
        (
            reg.registrar.clone(),
            json!({"type": "custody_transfer", "to": dealer("Gunsmith")}),
        ),
        (reg.registrar.clone(), body(EventType::ReportedStolen)),
        (customs_registrar.clone(), seize(&customs)),
    ];
    steps.push((customs_registrar.clone(), body(EventType::Destroyed)));
    for (token, b) in &steps {
        let r = event(&reg, token, id, b);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = reg
        .app
        .req("GET", &format!("/v1/firearms/{id}/history"))
        .token(&auditor)
        .header("Accept", "text/csv")
        .send();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/csv"));
    let mut csv = csv::Reader::from_reader(r.text.as_bytes());
    let header: Vec<String> = csv
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        &header[..8],
        [
            "sequence",
            "type",
            "occurred_at",
            "recorded_at",
            "recorded_by",
            "recorded_by_user_id",
            "recorded_by_agency_id",
            "location"
        ]
    );
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (mut owner, mut custodian) = (Value::Null, Value::Null);
    let mut chain = Vec::new();
    let mut rows = 0;
    for rec in csv.records() {
        let rec = rec.expect("record");
        rows += 1;
        assert_eq!(rec[col("sequence")], rows.to_string());
        let details: Value = serde_json::from_str(&rec[col("details")]).expect("details JSON");
        match &rec[col("type")] {
            "registered" => {
                owner = details["owner"].clone();
                custodian = details["custodian"].clone();
            }
            "ownership_transfer" => {
                owner = details["to"].clone();
                custodian = Value::Null;
            }
            "custody_transfer" | "seized" | "recovered" if !details["to"].is_null() => {
                custodian = if details["to"] == owner {
                    Value::Null
                } else {
                    details["to"].clone()
                };
            }
            _ => {}
        }
        if rows == 2 {
            assert_eq!(&rec[col("notes")], "line one\nline two, with comma");
        }
        let holder = if custodian.is_null() {
            &owner
        } else {
            &custodian
        };
        chain.push(format!(
            "{}:{}",
            &rec[col("type")],
            holder["name"].as_str().unwrap_or("")
        ));
    }
    assert_eq!(
        chain,
        [
            "registered:Ghana Police Service",
            "custody_transfer:Armoury, \"North\"",
            "ownership_transfer:Kojo's Guns",
            "custody_transfer:Gunsmith",
            "reported_stolen:Gunsmith",
            "seized:Evidence",
            "destroyed:Evidence",
        ]
    );
    // The rebuilt holders are the record's own.
    let shown = firearm(&reg, &auditor, id);
    assert_eq!(shown["status"], "destroyed");
    assert_eq!(shown["owner"], owner);
    assert_eq!(shown["custodian"], custodian);
}

/// The reads (a firearm, its history, the list, a trace, the agencies)
/// check the account in the same database call as the read; a role given
/// or an account disabled still counts from the next request.
#[test]
fn reads_see_the_account_as_it_is_now() {
    let reg = registry();
    let f = reg.register(&pistol("NOW-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let other = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let reads = [
        format!("/v1/firearms/{id}"),
        format!("/v1/firearms/{id}/history"),
        "/v1/firearms".to_string(),
        "/v1/trace?serial=NOW-1".to_string(),
        "/v1/agencies".to_string(),
        format!("/v1/agencies/{other}"),
    ];
    let (user_id, token) = reg
        .app
        .create_user(&reg.admin, "tg-reader", &other, &["tracer"]);
    let history = &reads[1];
    for path in reads.iter().filter(|p| *p != history) {
        assert_eq!(reg.app.get(path, &token).status, 200, "{path}");
    }
    reg.app
        .get(history, &token)
        .assert_problem(404, "not_found");
    reg.app.replace_roles(&reg.admin, &user_id, &["auditor"]);
    assert_eq!(reg.app.get(history, &token).status, 200);
    reg.app.disable_user(&reg.admin, &user_id);
    for path in &reads {
        reg.app
            .get(path, &token)
            .assert_problem(401, "account_disabled");
    }
    reg.app
        .get(&reads[0], "not-a-token")
        .assert_problem(401, "invalid_token");
}

/// A registrar's writes check the account, then the role, then the input,
/// in that order, in the write's own database call: a role given counts at
/// once, a caller without it learns nothing about their input, and a
/// disabled account writes nothing.
#[test]
fn registrar_writes_check_account_then_role_then_input() {
    let reg = registry();
    let f = reg.register(&pistol("ORDER-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    let events = format!("/v1/firearms/{id}/events");
    let (user_id, token) = reg
        .app
        .create_user(&reg.admin, "gh-tracer", &reg.agency, &["tracer"]);
    let bad_event = json!({"type": "custody_transfer"});
    let bad_destruction = json!({"firearm_ids": [], "method": "melting"});
    reg.app
        .post("/v1/firearms", &token, &pistol("", &reg.agency))
        .assert_problem(403, "forbidden");
    reg.app
        .post(&events, &token, &bad_event)
        .assert_problem(403, "forbidden");
    reg.app
        .post("/v1/destructions", &token, &bad_destruction)
        .assert_problem(403, "forbidden");
    // The same bodies from a registrar are refused for what they say.
    reg.app
        .post(&events, &reg.registrar, &bad_event)
        .assert_problem(422, "validation_failed");
    reg.app
        .post("/v1/destructions", &reg.registrar, &bad_destruction)
        .assert_problem(422, "validation_failed");

    reg.app
        .replace_roles(&reg.admin, &user_id, &["tracer", "registrar"]);
    let r = reg
        .app
        .post("/v1/firearms", &token, &pistol("ORDER-2", &reg.agency));
    assert_eq!(r.status, 201, "{}", r.text);

    reg.app.disable_user(&reg.admin, &user_id);
    reg.app
        .post("/v1/firearms", &token, &pistol("ORDER-3", &reg.agency))
        .assert_problem(401, "account_disabled");
    reg.app
        .post(&events, &token, &body(EventType::CustodyTransfer))
        .assert_problem(401, "account_disabled");
    reg.app
        .post(
            "/v1/destructions",
            &token,
            &json!({"firearm_ids": [id], "method": "crushing"}),
        )
        .assert_problem(401, "account_disabled");
    let history = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    assert_eq!(history.body["events"].as_array().map(Vec::len), Some(1));
    let listed = reg.app.get("/v1/firearms", &reg.registrar);
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2));
}
