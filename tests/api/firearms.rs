use crate::helpers::*;
use serde_json::{json, Value};

fn count(reg: &Registry) -> usize {
    let r = reg.app.get("/v1/firearms?limit=1000", &reg.registrar);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_registrar_registers_a_firearm_and_anyone_reads_it() {
    let reg = registry();
    let r = reg.app.post(
        "/v1/firearms",
        &reg.registrar,
        &pistol("ABC-12345", &reg.agency),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/firearms/{id}").as_str())
    );
    assert_eq!(r.header("etag"), Some("\"1\""));
    let f = &r.body;
    assert_eq!(f["serial_number"], "ABC-12345");
    assert_eq!(f["serial_normalized"], "ABC12345");
    assert_eq!(f["status"], "active");
    assert_eq!(f["version"], 1);
    assert_eq!(f["responsible_agency_id"], reg.agency.as_str());
    assert_eq!(f["owner"]["agency_id"], reg.agency.as_str());
    assert_eq!(f["custodian"], Value::Null);
    assert_eq!(
        f["markings"][0],
        json!({"kind": "import", "text": "GH 2015 ACME", "country": "GH", "year": 2015})
    );
    assert_eq!(
        f["components"][0],
        json!({"kind": "slide", "serial_number": "ABC-12345"})
    );
    assert_eq!(f["year_of_manufacture"], 2012);

    // Another agency's tracer reads the same record: the registry is national.
    let other = reg.app.create_agency(&reg.admin, "Customs Division", "GH");
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &other, &["tracer"]);
    let shown = reg.app.get(&format!("/v1/firearms/{id}"), &tracer);
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body, r.body);
    assert_eq!(shown.header("etag"), Some("\"1\""));
    // The system administrator does not (separation of duties).
    reg.app
        .get(&format!("/v1/firearms/{id}"), &reg.admin)
        .assert_problem(403, "forbidden");
    reg.app
        .get("/v1/firearms", &reg.admin)
        .assert_problem(403, "forbidden");
}

#[test]
fn only_registrars_register() {
    let reg = registry();
    let (_, tracer) = reg.app.create_user(
        &reg.admin,
        "tracer",
        &reg.agency,
        &["tracer", "auditor", "admin"],
    );
    reg.app
        .post("/v1/firearms", &tracer, &pistol("A1", &reg.agency))
        .assert_problem(403, "forbidden");
    reg.app
        .post("/v1/firearms", &reg.admin, &pistol("A1", &reg.agency))
        .assert_problem(403, "forbidden");
    assert_eq!(count(&reg), 0);
}

#[test]
fn unknown_and_invalid_ids_are_404() {
    let reg = registry();
    reg.app
        .get("/v1/firearms/nonsense", &reg.registrar)
        .assert_problem(404, "not_found");
    let unknown = uuid::Uuid::now_v7();
    reg.app
        .get(&format!("/v1/firearms/{unknown}"), &reg.registrar)
        .assert_problem(404, "not_found");
}

#[test]
fn a_second_registration_of_a_unique_marking_is_409_naming_the_first() {
    let reg = registry();
    let first = reg.register(&pistol("ABC-12345", &reg.agency));
    // Same marking written differently: case, separators, manufacturer spacing.
    let mut again = pistol("abc 123.45", &reg.agency);
    again["manufacturer"] = json!("  GLOCK   gmbh ");
    let r = reg.app.post("/v1/firearms", &reg.registrar, &again);
    r.assert_problem(409, "duplicate_marking");
    assert_eq!(r.body["existing_firearm_id"], first["id"]);
    assert!(r.body["detail"]
        .as_str()
        .unwrap_or("")
        .contains(first["id"].as_str().unwrap_or("?")));
    // The same serial from another maker, or another country, is another firearm.
    let mut other_maker = pistol("ABC-12345", &reg.agency);
    other_maker["manufacturer"] = json!("Steyr Arms");
    reg.register(&other_maker);
    let mut other_country = pistol("ABC-12345", &reg.agency);
    other_country["country_of_manufacture"] = json!("US");
    reg.register(&other_country);
    assert_eq!(count(&reg), 3);
}

#[test]
fn twenty_simultaneous_registrations_of_one_marking_give_one_201() {
    let reg = registry();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let reg = &reg;
                s.spawn(move || {
                    // Each spells the serial its own way.
                    let serial = if i % 2 == 0 { "XYZ-999" } else { "xyz 999" };
                    reg.app
                        .post("/v1/firearms", &reg.registrar, &pistol(serial, &reg.agency))
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(count(&reg), 1);
}

#[test]
fn bad_registrations_get_clear_errors_and_write_nothing() {
    let reg = registry();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("serial_number", json!(""), "empty serial"),
        ("serial_number", json!("   "), "whitespace serial"),
        ("serial_number", json!(" -./_ "), "separators only"),
        ("serial_number", json!("9".repeat(65)), "over 64"),
        ("serial_number", json!("AB\u{0007}12"), "control character"),
        ("manufacturer", json!("Glock\nGmbH"), "control character"),
        ("model", json!("17\u{0000}"), "control character"),
        ("country_of_manufacture", json!("XX"), "unassigned"),
        ("country_of_manufacture", json!("gha"), "alpha-3 lower"),
        ("year_of_manufacture", json!(1799), "before 1800"),
        ("year_of_manufacture", json!(2999), "future"),
        ("category", json!("ray_gun"), "unknown category"),
        ("occurred_at", json!("2999-01-01T00:00:00Z"), "future event"),
        ("occurred_at", json!("yesterday"), "not RFC 3339"),
    ];
    for (field, value, why) in cases {
        let mut body = pistol("OK-1", &reg.agency);
        body[field] = value;
        let r = reg.app.post("/v1/firearms", &reg.registrar, &body);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{why}: {}", r.text);
    }
    let nested: Vec<(&str, Value, &str)> = vec![
        (
            "components",
            json!([{"kind": "trigger", "serial_number": "X1"}]),
            "components[0].kind",
        ),
        (
            "components",
            json!([{"kind": "frame", "serial_number": "--"}]),
            "components[0].serial_number",
        ),
        (
            "markings",
            json!([{"kind": "import", "text": "GH", "country": "gh"}]),
            "markings[0].country",
        ),
        (
            "markings",
            json!([{"kind": "import", "text": "GH", "year": 1700}]),
            "markings[0].year",
        ),
        (
            "owner",
            json!({"kind": "agency", "name": "Nobody", "agency_id": uuid::Uuid::now_v7().to_string()}),
            "owner.agency_id",
        ),
        (
            "owner",
            json!({"kind": "agency", "name": "No id"}),
            "owner.agency_id",
        ),
        (
            "owner",
            json!({"kind": "dealer", "name": "Dealer", "agency_id": reg.agency}),
            "owner.agency_id",
        ),
        ("owner", json!({"kind": "alien", "name": "X"}), "owner.kind"),
        (
            "custodian",
            json!({"kind": "individual", "name": "A", "country": "XX"}),
            "custodian.country",
        ),
    ];
    for (field, value, path) in nested {
        let mut body = pistol("OK-2", &reg.agency);
        body[field] = value;
        let r = reg.app.post("/v1/firearms", &reg.registrar, &body);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], path, "{}", r.text);
    }
    let mut typo = pistol("OK-3", &reg.agency);
    typo["serial"] = json!("X");
    reg.app
        .post("/v1/firearms", &reg.registrar, &typo)
        .assert_problem(422, "validation_failed");
    assert_eq!(count(&reg), 0);
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let reg = registry();
    let mut body = pistol("", &reg.agency);
    body["country_of_manufacture"] = json!("XX");
    body["category"] = json!("phaser");
    let r = reg.app.post("/v1/firearms", &reg.registrar, &body);
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec![
            "category",
            "country_of_manufacture",
            "serial_number",
            "components[0].serial_number"
        ]
    );
}

#[test]
fn listing_filters_and_pages() {
    let reg = registry();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = pistol(&format!("P-{i}"), &reg.agency);
        if i % 2 == 1 {
            body["category"] = json!("rifle");
            body["manufacturer"] = json!("Kalashnikov Concern");
            body["country_of_manufacture"] = json!("RU");
        }
        ids.push(reg.register(&body)["id"].as_str().expect("id").to_string());
    }
    let get = |q: &str| {
        let r = reg.app.get(&format!("/v1/firearms?{q}"), &reg.registrar);
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|f| f["id"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("category=rifle"), vec![ids[1].clone(), ids[3].clone()]);
    assert_eq!(
        get("manufacturer=kalashnikov%20%20concern"),
        vec![ids[1].clone(), ids[3].clone()]
    );
    assert_eq!(get("country_of_manufacture=AT").len(), 3);
    assert_eq!(get("status=active").len(), 5);
    assert_eq!(get("status=destroyed").len(), 0);
    assert_eq!(
        get(&format!("responsible_agency_id={}", reg.agency)).len(),
        5
    );
    assert_eq!(
        get(&format!("responsible_agency_id={}", uuid::Uuid::now_v7())).len(),
        0
    );
    // Pages of 2 walk every firearm once, in order.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = reg
            .app
            .get(&format!("/v1/firearms?limit=2{cursor}"), &reg.registrar);
        seen.extend(
            r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|f| f["id"].as_str().unwrap_or("").to_string()),
        );
        // A registration in the middle of paging never shifts what is left.
        if seen.len() == 2 {
            reg.register(&pistol("LATE-1", &reg.agency));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(&seen[..5], &ids[..]);
    assert_eq!(seen.len(), 6, "the late registration comes last, once");
    for bad in [
        "status=broken",
        "category=ray_gun",
        "country_of_manufacture=XX",
        "responsible_agency_id=x",
        "colour=red",
    ] {
        reg.app
            .get(&format!("/v1/firearms?{bad}"), &reg.registrar)
            .assert_problem(400, "invalid_parameter");
    }
}

#[test]
fn the_listing_finds_a_firearm_by_its_serial_as_read() {
    let reg = registry();
    let a = reg.register(&pistol("ABC-12345", &reg.agency));
    reg.register(&pistol("ABC-12346", &reg.agency));
    let lister = reg
        .app
        .create_user(&reg.admin, "lister", &reg.agency, &["registrar"])
        .1;
    // Case, spaces and separators do not matter; anything else does.
    for given in ["ABC-12345", "abc 12345", "abc.123.45"] {
        let path = format!("/v1/firearms?serial_number={}", given.replace(' ', "%20"));
        let r = reg.app.get(&path, &lister);
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{given}: {}", r.text);
        assert_eq!(items[0]["id"], a["id"]);
    }
    let r = reg.app.get("/v1/firearms?serial_number=ABC-1234", &lister);
    assert_eq!(r.body["items"], serde_json::json!([]));
}
