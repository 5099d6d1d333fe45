use crate::helpers::*;
use serde_json::{json, Value};

/// Registers `n` firearms in one import and answers their ids.
fn many(reg: &Registry, prefix: &str, n: usize) -> Vec<String> {
    let body: String = (0..n)
        .map(|i| format!("{}\n", pistol(&format!("{prefix}-{i}"), &reg.agency)))
        .collect();
    let r = reg
        .app
        .req("POST", "/v1/firearms/import")
        .token(&reg.registrar)
        .raw("application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 201, "{}", &r.text[..r.text.len().min(500)]);
    r.body["firearms"]
        .as_array()
        .expect("firearms")
        .iter()
        .filter_map(|f| f["id"].as_str().map(String::from))
        .collect()
}

fn destroy(reg: &Registry, token: &str, ids: &[String]) -> Reply {
    reg.app.post(
        "/v1/destructions",
        token,
        &json!({"firearm_ids": ids, "method": "crushing", "occurred_at": "2026-11-01T10:00:00Z",
                "location": "Accra, public ceremony", "certificate_reference": "DC-2026-11",
                "witnesses": ["A. Mensah", "UNREC observer"]}),
    )
}

fn status_counts(reg: &Registry) -> (usize, usize) {
    let mut cursor = String::new();
    let (mut active, mut destroyed) = (0, 0);
    loop {
        let r = reg
            .app
            .get(&format!("/v1/firearms?limit=1000{cursor}"), &reg.registrar);
        for f in r.body["items"].as_array().expect("items") {
            match f["status"].as_str() {
                Some("active") => active += 1,
                Some("destroyed") => destroyed += 1,
                _ => {}
            }
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return (active, destroyed),
        }
    }
}

#[test]
fn five_thousand_firearms_are_destroyed_in_one_request() {
    let reg = registry();
    let ids = many(&reg, "D", 5000);
    let r = destroy(&reg, &reg.registrar, &ids);
    assert_eq!(r.status, 201, "{}", &r.text[..r.text.len().min(500)]);
    assert_eq!(r.body["count"], 5000);
    let batch = r.body["id"].as_str().expect("id").to_string();
    assert_eq!(status_counts(&reg), (0, 5000));
    let h = reg.app.get(
        &format!("/v1/firearms/{}/history", ids[4321]),
        &reg.registrar,
    );
    let last = &h.body["events"][1];
    assert_eq!(last["type"], "destroyed");
    assert_eq!(last["sequence"], 2);
    assert_eq!(last["occurred_at"], "2026-11-01T10:00:00Z");
    assert_eq!(last["location"], "Accra, public ceremony");
    assert_eq!(last["details"]["destruction_id"], batch.as_str());
    assert_eq!(
        last["details"]["witnesses"],
        json!(["A. Mensah", "UNREC observer"])
    );
}

#[test]
fn one_bad_id_among_thousands_destroys_nothing_and_every_failure_is_listed() {
    let reg = registry();
    let mut ids = many(&reg, "B", 2000);
    let other = reg
        .app
        .create_agency(&reg.admin, "Ghana Armed Forces", "GH");
    let (_, other_registrar) = reg
        .app
        .create_user(&reg.admin, "army", &other, &["registrar"]);
    let theirs = reg
        .app
        .post("/v1/firearms", &other_registrar, &pistol("ARMY-1", &other))
        .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let already = many(&reg, "GONE", 1);
    assert_eq!(destroy(&reg, &reg.registrar, &already).status, 201);
    let unknown = uuid::Uuid::now_v7().to_string();
    ids.insert(700, unknown.clone());
    ids.insert(1500, theirs.clone());
    ids.push(already[0].clone());
    let r = destroy(&reg, &reg.registrar, &ids);
    r.assert_problem(409, "destruction_rejected");
    let failures: Vec<(String, String)> = r.body["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| {
            (
                f["firearm_id"].as_str().unwrap_or("").into(),
                f["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            (unknown, "not_found".to_string()),
            (theirs, "not_responsible".to_string()),
            (already[0].clone(), "illegal_transition".to_string()),
        ]
    );
    assert_eq!(status_counts(&reg), (2001, 1), "nothing more was destroyed");
    let h = reg
        .app
        .get(&format!("/v1/firearms/{}/history", ids[0]), &reg.registrar);
    assert_eq!(h.body["events"].as_array().map(Vec::len), Some(1));
}

#[test]
fn bad_batches_are_422_and_only_registrars_destroy() {
    let reg = registry();
    let ids = many(&reg, "V", 2);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"firearm_ids": [], "method": "crushing"}),
            "firearm_ids",
        ),
        (
            json!({"firearm_ids": [ids[0], "nope"], "method": "crushing"}),
            "firearm_ids[1]",
        ),
        (
            json!({"firearm_ids": [ids[0], ids[0]], "method": "crushing"}),
            "firearm_ids[1]",
        ),
        (
            json!({"firearm_ids": ids, "method": "dissolving"}),
            "method",
        ),
        (json!({"firearm_ids": ids}), "method"),
        (
            json!({"firearm_ids": ids, "method": "crushing", "occurred_at": "2999-01-01T00:00:00Z"}),
            "occurred_at",
        ),
    ];
    for (b, field) in cases {
        let r = reg.app.post("/v1/destructions", &reg.registrar, &b);
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let (_, auditor) =
        reg.app
            .create_user(&reg.admin, "auditor", &reg.agency, &["auditor", "tracer"]);
    destroy(&reg, &auditor, &ids).assert_problem(403, "forbidden");
    assert_eq!(status_counts(&reg), (2, 0));
}
