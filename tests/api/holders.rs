//! Holders and licences (api-contract.md, "Holders and licences").

use crate::helpers::*;
use serde_json::{json, Value};

fn holder(reg: &Registry, body: Value) -> String {
    let r = reg.app.post("/v1/holders", &reg.registrar, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("id").to_string()
}

fn person(name: &str, national_id: &str) -> Value {
    json!({"kind": "individual", "name": name, "country": "GH",
        "identifiers": [{"type": "national_id", "value": national_id}],
        "date_of_birth": "1980-02-29", "address": "12 Ring Road, Accra"})
}

fn licence(reg: &Registry, holder: &str, from: &str, until: &str) -> String {
    let r = reg.app.post(
        &format!("/v1/holders/{holder}/licences"),
        &reg.registrar,
        &json!({"number": format!("GH-L-{}", uuid::Uuid::now_v7().simple()), "type": "possession",
            "categories": ["self_loading_pistol", "revolver"],
            "valid_from": from, "valid_until": until, "issued_by": "Ghana Police Service"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["status"],
        if until < "2026-12-01" {
            "expired"
        } else {
            "valid"
        }
    );
    r.body["id"].as_str().expect("id").to_string()
}

fn transfer(reg: &Registry, firearm: &str, holder: &str, at: &str) -> Reply {
    reg.app.post(
        &format!("/v1/firearms/{firearm}/events"),
        &reg.registrar,
        &json!({"type": "ownership_transfer", "to": {"holder_id": holder},
            "authorization": "sale permit 7", "occurred_at": at}),
    )
}

fn firearm(reg: &Registry, serial: &str) -> String {
    reg.register(&pistol(serial, &reg.agency))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn held(reg: &Registry, holder: &str, query: &str) -> Vec<String> {
    let r = reg.app.get(
        &format!("/v1/holders/{holder}/firearms{query}"),
        &reg.registrar,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["firearm_id"].as_str().expect("firearm_id").to_string())
        .collect()
}

fn event_count(reg: &Registry, firearm: &str) -> usize {
    let r = reg
        .app
        .get(&format!("/v1/firearms/{firearm}/history"), &reg.registrar);
    r.body["events"].as_array().expect("events").len()
}

#[test]
fn holders_are_found_by_any_word_of_their_name_or_an_identifier() {
    let reg = registry();
    let app = &reg.app;
    let kwame = holder(&reg, person("Kwame Mensah-Bédié", "GHA-123 456"));
    let dealer = holder(
        &reg,
        json!({"kind": "dealer", "name": "Accra Arms Ltd", "country": "GH",
        "identifiers": [{"type": "dealer_licence", "value": "D-77"}]}),
    );
    holder(&reg, person("Ama Mensah", "GHA-999"));
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);

    let found = |query: &str| -> Vec<String> {
        let r = app.get(&format!("/v1/holders?{query}"), &tracer);
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|h| h["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(found("name=BEDIE"), vec!["Kwame Mensah-Bédié"]);
    assert_eq!(found("name=men%20kwa"), vec!["Kwame Mensah-Bédié"]);
    assert_eq!(found("name=mensah&limit=1").len(), 1);
    assert_eq!(found("name=mensah").len(), 2);
    assert_eq!(found("identifier=gha123456"), vec!["Kwame Mensah-Bédié"]);
    assert_eq!(found("identifier=d%2077"), vec!["Accra Arms Ltd"]);
    assert!(found("name=nobody").is_empty());
    app.get("/v1/holders", &tracer)
        .assert_problem(422, "validation_failed");
    app.get("/v1/holders?name=a&identifier=b", &tracer)
        .assert_problem(422, "validation_failed");

    let one = app.get(&format!("/v1/holders/{kwame}"), &tracer);
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["date_of_birth"], "1980-02-29");
    assert_eq!(one.body["identifiers"][0]["value"], "GHA-123 456");
    assert_eq!(one.body["licences"], json!([]));
    app.get(&format!("/v1/holders/{}", uuid::Uuid::now_v7()), &tracer)
        .assert_problem(404, "not_found");
    app.get(&format!("/v1/holders/{dealer}"), &reg.admin)
        .assert_problem(403, "forbidden");

    // The same identifier, written differently, is the same holder's.
    let again = app.post(
        "/v1/holders",
        &reg.registrar,
        &person("K. Mensah", "gha 123-456"),
    );
    again.assert_problem(409, "duplicate_holder");
    assert_eq!(again.body["existing_holder_id"], kwame.as_str());
    // ...but a passport of that number is another identifier.
    let mut passport = person("K. Mensah", "GHA-123 456");
    passport["identifiers"][0]["type"] = json!("passport");
    holder(&reg, passport);

    // Every read of a holder is on the record.
    let url = &app.database_url;
    // Seven searches and one holder read; refused reads are not records.
    wait_for_entries(url, "holder.read", 8);
}

#[test]
fn bad_holders_and_licences_are_refused_and_nothing_is_written() {
    let reg = registry();
    let app = &reg.app;
    let url = &app.database_url;
    let bad = |body: Value, field: &str| {
        let r = app.post("/v1/holders", &reg.registrar, &body);
        r.assert_problem(422, "validation_failed");
        assert!(r.text.contains(field), "{field}: {}", r.text);
    };
    let mut future = person("A", "1");
    future["date_of_birth"] = json!("2999-01-01");
    bad(future, "date_of_birth");
    let mut kind = person("A", "1");
    kind["kind"] = json!("alien");
    bad(kind, "kind");
    let mut id_type = person("A", "1");
    id_type["identifiers"][0]["type"] = json!("tax_number");
    bad(id_type, "identifiers[0].type");
    bad(json!({"kind": "agency", "name": "X"}), "agency_id");
    bad(
        json!({"kind": "agency", "name": "X", "agency_id": uuid::Uuid::now_v7().to_string()}),
        "agency_id",
    );
    let mut twice = person("A", "GHA-1");
    twice["identifiers"] =
        json!([{"type": "passport", "value": "P 1"}, {"type": "passport", "value": "p-1"}]);
    bad(twice, "identifiers[1]");
    assert_eq!(sql_count(url, "SELECT COUNT(*) AS n FROM holders"), 0);

    let h = holder(&reg, person("Yaw Boateng", "GHA-1"));
    let lic = |body: Value| app.post(&format!("/v1/holders/{h}/licences"), &reg.registrar, &body);
    let base = json!({"number": "L-1", "type": "possession", "categories": ["rifle"],
        "valid_from": "2026-01-01", "valid_until": "2025-01-01", "issued_by": "GPS"});
    let r = lic(base.clone());
    r.assert_problem(422, "validation_failed");
    assert!(r.text.contains("valid_until"), "{}", r.text);
    let mut cats = base.clone();
    cats["valid_until"] = json!("2030-01-01");
    cats["categories"] = json!(["rifle", "ray_gun"]);
    lic(cats.clone()).assert_problem(422, "validation_failed");
    cats["categories"] = json!([]);
    lic(cats.clone()).assert_problem(422, "validation_failed");
    assert_eq!(sql_count(url, "SELECT COUNT(*) AS n FROM licences"), 0);
    cats["categories"] = json!(["rifle"]);
    assert_eq!(lic(cats.clone()).status, 201);
    lic(cats).assert_problem(409, "duplicate_licence");
    app.post(
        &format!("/v1/holders/{}/licences", uuid::Uuid::now_v7()),
        &reg.registrar,
        &base,
    )
    .assert_problem(422, "validation_failed");
}

#[test]
fn ownership_transfers_to_holders_need_a_licence_in_force_that_covers_the_firearm() {
    let reg = registry();
    let app = &reg.app;
    let buyer = holder(&reg, person("Kofi Annan", "GHA-42"));
    let gun = firearm(&reg, "LIC-1");

    // No licence: refused, nothing written.
    transfer(&reg, &gun, &buyer, "2026-06-01T10:00:00Z").assert_problem(422, "licence_required");
    assert_eq!(event_count(&reg, &gun), 1);
    // A licence of other categories does not cover a pistol.
    let r = app.post(
        &format!("/v1/holders/{buyer}/licences"),
        &reg.registrar,
        &json!({"number": "R-1", "type": "possession", "categories": ["rifle"],
            "valid_from": "2020-01-01", "valid_until": "2030-12-31", "issued_by": "GPS"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    transfer(&reg, &gun, &buyer, "2026-06-01T10:00:00Z").assert_problem(422, "licence_required");
    let licence_id = licence(&reg, &buyer, "2021-01-01", "2030-12-31");
    // Not in force on the day of the transfer.
    transfer(&reg, &gun, &buyer, "2020-06-01T10:00:00Z").assert_problem(422, "licence_required");
    // An unknown holder.
    let r = transfer(
        &reg,
        &gun,
        &uuid::Uuid::now_v7().to_string(),
        "2026-06-01T10:00:00Z",
    );
    r.assert_problem(422, "validation_failed");
    assert!(r.text.contains("to.holder_id"), "{}", r.text);
    assert_eq!(event_count(&reg, &gun), 1);

    let r = transfer(&reg, &gun, &buyer, "2026-06-01T10:00:00Z");
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["event"]["details"]["licence_id"],
        licence_id.as_str()
    );
    assert_eq!(r.body["firearm"]["owner"]["holder_id"], buyer.as_str());
    assert_eq!(r.body["firearm"]["owner"]["name"], "Kofi Annan");
    let history = app.get(&format!("/v1/firearms/{gun}/history"), &reg.registrar);
    let to = &history.body["events"][1]["details"]["to"];
    assert_eq!(
        to["href"],
        format!("/v1/holders/{buyer}"),
        "{}",
        history.text
    );

    // What the holder holds: now, and at moments before and after.
    assert_eq!(held(&reg, &buyer, ""), vec![gun.clone()]);
    assert!(held(&reg, &buyer, "?at=2026-05-31T00:00:00Z").is_empty());
    assert_eq!(
        held(&reg, &buyer, "?at=2026-06-02T00:00:00Z"),
        vec![gun.clone()]
    );
    app.get(
        &format!("/v1/holders/{buyer}/firearms?at=yesterday"),
        &reg.registrar,
    )
    .assert_problem(422, "validation_failed");
    // Sold on to an inline holder: held then, not now.
    let r = app.post(&format!("/v1/firearms/{gun}/events"), &reg.registrar,
        &json!({"type": "ownership_transfer", "authorization": "permit 9", "occurred_at": "2026-07-01T00:00:00Z",
            "to": {"kind": "agency", "name": "Ghana Police Service", "agency_id": reg.agency}}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(held(&reg, &buyer, "").is_empty());
    assert_eq!(
        held(&reg, &buyer, "?at=2026-06-15T00:00:00Z"),
        vec![gun.clone()]
    );

    // A custodian by holder record needs no licence (only ownership does).
    let keeper = holder(
        &reg,
        json!({"kind": "other", "name": "Range Club", "country": "GH"}),
    );
    let r = app.post(
        &format!("/v1/firearms/{gun}/events"),
        &reg.registrar,
        &json!({"type": "custody_transfer", "to": {"holder_id": keeper}, "reason": "storage"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get(&format!("/v1/holders/{keeper}/firearms"), &reg.registrar);
    assert_eq!(
        r.body["items"][0]["roles"],
        json!(["custodian"]),
        "{}",
        r.text
    );
    // A registration names its holders in full (or its custodian by armoury).
    let mut body = pistol("LIC-REG", &reg.agency);
    body["custodian"] = json!({"holder_id": keeper});
    let r = app.post("/v1/firearms", &reg.registrar, &body);
    r.assert_problem(422, "validation_failed");
    assert!(r.text.contains("custodian.holder_id"), "{}", r.text);
    // A holder named by id and in full at once is refused.
    let r = app.post(&format!("/v1/firearms/{gun}/events"), &reg.registrar,
        &json!({"type": "custody_transfer", "to": {"holder_id": keeper, "name": "X"}, "reason": "storage"}));
    r.assert_problem(422, "validation_failed");
}

#[test]
fn revoking_a_licence_lists_what_to_surrender_and_tells_the_agencies() {
    let reg = registry();
    let app = &reg.app;
    let buyer = holder(&reg, person("Efua Sutherland", "GHA-7"));
    let licence_id = licence(&reg, &buyer, "2020-01-01", "2030-12-31");
    let guns: Vec<String> = (0..2).map(|i| firearm(&reg, &format!("REV-{i}"))).collect();
    for g in &guns {
        assert_eq!(
            transfer(&reg, g, &buyer, "2026-01-10T00:00:00Z").status,
            201
        );
    }
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let revoke = |reason: &str| {
        app.post(
            &format!("/v1/holders/{buyer}/licences/{licence_id}/revoke"),
            &reg.registrar,
            &json!({"reason": reason}),
        )
    };
    let r = revoke("convicted of a violent offence");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["licence"]["status"], "revoked");
    let mut listed: Vec<&str> = r.body["firearms"]
        .as_array()
        .expect("firearms")
        .iter()
        .map(|f| f["firearm_id"].as_str().expect("id"))
        .collect();
    listed.sort();
    let mut expected: Vec<&str> = guns.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(listed, expected);
    revoke("again").assert_problem(409, "licence_revoked");
    app.post(
        &format!(
            "/v1/holders/{buyer}/licences/{}/revoke",
            uuid::Uuid::now_v7()
        ),
        &reg.registrar,
        &json!({"reason": "x"}),
    )
    .assert_problem(404, "not_found");

    let notes = app.get("/v1/notifications", &tracer);
    let kinds: Vec<&str> = notes.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .filter(|k| *k == "licence_revoked")
        .collect();
    assert_eq!(kinds.len(), 2, "{}", notes.text);
    // The revoked licence no longer allows a transfer.
    let another = firearm(&reg, "REV-9");
    transfer(&reg, &another, &buyer, "2026-06-01T00:00:00Z")
        .assert_problem(422, "licence_required");
    let one = app.get(&format!("/v1/holders/{buyer}"), &reg.registrar);
    assert_eq!(one.body["licences"][0]["status"], "revoked", "{}", one.text);
}

/// A revocation racing a transfer: one wins, never both. Either the
/// transfer is refused, or it is written and the revocation lists it.
#[test]
fn a_revocation_racing_a_transfer_never_lets_both_through() {
    let reg = registry();
    for round in 0..6 {
        let buyer = holder(
            &reg,
            person(&format!("Racer {round}"), &format!("RACE-{round}")),
        );
        let licence_id = licence(&reg, &buyer, "2020-01-01", "2030-12-31");
        let gun = firearm(&reg, &format!("RACE-{round}"));
        let (t, r) = std::thread::scope(|s| {
            let t = s.spawn(|| transfer(&reg, &gun, &buyer, "2026-03-01T00:00:00Z"));
            let r = s.spawn(|| {
                reg.app.post(
                    &format!("/v1/holders/{buyer}/licences/{licence_id}/revoke"),
                    &reg.registrar,
                    &json!({"reason": "race"}),
                )
            });
            (t.join().expect("transfer"), r.join().expect("revoke"))
        });
        assert_eq!(r.status, 200, "{}", r.text);
        let listed = r.body["firearms"].as_array().expect("firearms").len();
        match t.status {
            201 => assert_eq!(
                listed, 1,
                "the transfer went through but the revocation missed it"
            ),
            _ => {
                t.assert_problem(422, "licence_required");
                assert_eq!(listed, 0);
            }
        }
    }
}

#[test]
fn a_warning_instead_of_a_refusal_when_the_check_is_set_to_warn() {
    let reg = registry_with(|s| s.licence_check = registry::domain::LicenceCheck::Warn);
    let buyer = holder(&reg, person("Unlicensed", "GHA-0"));
    let gun = firearm(&reg, "WARN-1");
    let r = transfer(&reg, &gun, &buyer, "2026-06-01T00:00:00Z");
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        r.body["event"]["details"]["licence_warning"].is_string(),
        "{}",
        r.text
    );
}

#[test]
fn holder_reads_need_a_purpose_when_the_registry_requires_one() {
    let reg = registry_with(|s| s.require_purpose = true);
    let h = holder(&reg, person("Purpose", "P-1"));
    reg.app
        .get(&format!("/v1/holders/{h}"), &reg.registrar)
        .assert_problem(400, "purpose_required");
    let r = reg
        .app
        .req("GET", &format!("/v1/holders/{h}"))
        .token(&reg.registrar)
        .header("Registry-Purpose", "case GH-2026-17")
        .send();
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The registration and both transfers happened long ago, the firearm was
/// destroyed in 2017: past the open tier (one year here), inside the
/// restricted one.
fn destroyed_long_ago(reg: &Registry) -> (String, String) {
    let seller = holder(reg, person("Abena Owusu", "GHA-55"));
    licence(reg, &seller, "2016-01-01", "2016-12-31");
    let gun = firearm(reg, "OLD-1");
    let r = reg.app.post(&format!("/v1/firearms/{gun}/events"), &reg.registrar,
        &json!({"type": "custody_transfer", "reason": "repair", "occurred_at": "2015-09-01T00:00:00Z",
            "to": {"kind": "individual", "name": "Kojo Armourer", "reference": "GHA-77"}}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        transfer(reg, &gun, &seller, "2016-03-01T00:00:00Z").status,
        201
    );
    let r = reg.app.post(
        &format!("/v1/firearms/{gun}/events"),
        &reg.registrar,
        &json!({"type": "destroyed", "method": "cutting", "occurred_at": "2017-05-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    (gun, seller)
}

#[test]
fn personal_data_is_restricted_then_erased_and_the_log_still_verifies() {
    let reg = registry_with(|s| {
        s.retention_open_years = 1;
        s.retention_restricted_years = 30;
    });
    let app = &reg.app;
    let (gun, seller) = destroyed_long_ago(&reg);
    let (_, tracer) = app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    let auditor = app.root_user("auditor", None, &["auditor"]);

    // Restricted: a registrar no longer reads the names; a tracer does.
    let h = app.get(&format!("/v1/firearms/{gun}/history"), &reg.registrar);
    assert_eq!(
        h.body["events"][1]["details"]["to"]["name"], "[restricted]",
        "{}",
        h.text
    );
    assert_eq!(h.body["events"][2]["details"]["to"]["name"], "[restricted]");
    let f = app.get(&format!("/v1/firearms/{gun}"), &reg.registrar);
    assert_eq!(f.body["owner"]["name"], "[restricted]", "{}", f.text);
    let h = app.get(&format!("/v1/firearms/{gun}/history"), &tracer);
    assert_eq!(
        h.body["events"][1]["details"]["to"]["name"],
        "Kojo Armourer"
    );
    let one = app.get(&format!("/v1/holders/{seller}"), &reg.registrar);
    assert_eq!(one.body["name"], "[restricted]", "{}", one.text);
    assert_eq!(
        app.get(&format!("/v1/holders/{seller}"), &tracer).body["name"],
        "Abena Owusu"
    );

    // Erased past the restricted tier (two years here), by the command.
    let url = &app.database_url;
    wait_integrated(url);
    let dir = std::env::temp_dir().join(format!(
        "registry-retention-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .args(["retention", "run"])
        .env("DATABASE_URL", url)
        .env("REGISTRY_DATA_DIR", &dir)
        .env("REGISTRY_RETENTION_OPEN_YEARS", "1")
        .env("REGISTRY_RETENTION_RESTRICTED_YEARS", "2")
        .output()
        .expect("registry retention run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("of 1 firearms, 2 events and 1 holders"),
        "{said}"
    );

    let h = app.get(&format!("/v1/firearms/{gun}/history"), &auditor);
    let text = h.text.clone();
    assert!(
        !text.contains("Kojo") && !text.contains("Abena") && !text.contains("GHA-77"),
        "{text}"
    );
    assert_eq!(h.body["events"][1]["details"]["to"]["name"], "[erased]");
    assert_eq!(
        h.body["events"][0]["details"]["owner"]["name"],
        "Ghana Police Service"
    );
    let one = app.get(&format!("/v1/holders/{seller}"), &auditor);
    assert_eq!(one.body["name"], "[erased]", "{}", one.text);
    assert!(one.body["erased_at"].is_string());
    assert!(
        !one.text.contains("1980") && !one.text.contains("GHA-55"),
        "{}",
        one.text
    );
    // The erased identifier is free; the name index forgot the holder.
    let r = app.get("/v1/holders?name=owusu", &auditor);
    assert_eq!(r.body["items"], json!([]), "{}", r.text);

    wait_integrated(url);
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], true, "{}", v.text);
    let entries = sql_count(url, "SELECT COUNT(*) AS n FROM audit_entries WHERE action IN ('personal_data.erased', 'holder.erased')");
    assert_eq!(entries, 2);

    // An erased holder takes no new licence and no new firearm.
    let r = app.post(
        &format!("/v1/holders/{seller}/licences"),
        &reg.registrar,
        &json!({"number": "AFTER-1", "type": "possession", "categories": ["rifle"],
            "valid_from": "2026-01-01", "valid_until": "2030-01-01", "issued_by": "GPS"}),
    );
    r.assert_problem(409, "holder_erased");
    let other = firearm(&reg, "AFTER-1");
    let r = transfer(&reg, &other, &seller, "2026-06-01T00:00:00Z");
    r.assert_problem(422, "validation_failed");
    assert!(r.text.contains("to.holder_id"), "{}", r.text);

    // Erased data changed afterwards is still found.
    sql(url, &format!("UPDATE firearm_events SET details = replace(details, 'repair', 'theft') WHERE firearm_id = '{gun}'"));
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
}

#[test]
fn holders_and_licences_written_around_the_registry_are_found() {
    let reg = registry();
    let app = &reg.app;
    let url = &app.database_url;
    let auditor = app.root_user("auditor", None, &["auditor"]);
    let h = holder(&reg, person("Real Person", "R-1"));
    licence(&reg, &h, "2020-01-01", "2030-12-31");
    wait_integrated(url);
    assert_eq!(app.get("/v1/audit/verify", &auditor).body["valid"], true);
    sql(url, "UPDATE holders SET name = 'Someone Else'");
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
    sql(url, "UPDATE holders SET name = 'Real Person'");
    assert_eq!(app.get("/v1/audit/verify", &auditor).body["valid"], true);
    sql(url, &format!("INSERT INTO holders (id, kind, name, recorded_by_agency_id, version, created_at, updated_at) \
        VALUES ('{}', 'individual', 'Ghost', '{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        uuid::Uuid::now_v7(), reg.agency));
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
    assert!(
        v.body["reason"].as_str().unwrap_or("").contains("holders"),
        "{}",
        v.text
    );
}
