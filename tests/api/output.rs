//! Answers that cannot be turned against their readers: CSV a spreadsheet
//! will not run, headers browsers honour, request ids and metrics labels
//! that a caller cannot fill with what they like.

use serde_json::json;

use crate::helpers::*;

#[test]
fn history_csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
    let reg = registry();
    let f = reg.register(&pistol("CSV-1", &reg.agency));
    let id = f["id"].as_str().expect("id");
    for notes in ["=1+1", "+123", "@foo", "-2+3"] {
        let r = reg.app.post(
            &format!("/v1/firearms/{id}/events"),
            &reg.registrar,
            &json!({"type": "marking_added", "notes": notes,
                    "marking": {"kind": "state", "text": format!("M{}", notes.len())}}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = reg
        .app
        .req("GET", &format!("/v1/firearms/{id}/history"))
        .token(&reg.registrar)
        .header("Accept", "text/csv")
        .send();
    assert_eq!(r.status, 200);
    let mut rows = csv::Reader::from_reader(r.text.as_bytes());
    let headers = rows.headers().expect("header").clone();
    let notes_at = headers
        .iter()
        .position(|h| h == "notes")
        .expect("notes column");
    let notes: Vec<String> = rows
        .records()
        .map(|r| r.expect("row")[notes_at].to_string())
        .filter(|n| !n.is_empty() && n != "free text")
        .collect();
    assert_eq!(notes, ["'=1+1", "'+123", "'@foo", "'-2+3"]);
    // The JSON answer keeps the notes exactly as given.
    let h = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    assert_eq!(h.body["events"][1]["notes"], "=1+1");
}

#[test]
fn answers_carry_headers_that_keep_browsers_safe() {
    let reg = registry();
    let api = reg.app.get("/v1/firearms", &reg.registrar);
    let service = reg.app.req("GET", "/health").send();
    for r in [&api, &service] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(
            r.header("content-security-policy"),
            Some("frame-ancestors 'none'")
        );
    }
    assert_eq!(api.header("cache-control"), Some("no-store"));
    // Errors too.
    let refused = reg.app.req("GET", "/v1/firearms").send();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("cache-control"), Some("no-store"));
}

#[test]
fn request_ids_outside_their_alphabet_are_replaced_everywhere() {
    let reg = registry();
    for bad in ["id<script>;x;y", "a b", &"x".repeat(129), "a/b"] {
        let r = reg
            .app
            .req("GET", "/v1/firearms")
            .token(&reg.registrar)
            .header("X-Request-Id", bad)
            .send();
        assert_eq!(r.status, 200);
        let echoed = r.header("x-request-id").expect("an id");
        assert_ne!(echoed, bad);
        assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
    }
    let kept = reg
        .app
        .req("GET", "/v1/firearms")
        .token(&reg.registrar)
        .header("X-Request-Id", "case-7.run_2")
        .send();
    assert_eq!(kept.header("x-request-id"), Some("case-7.run_2"));
    // What reaches the audit log is the replacement, never the caller's text.
    wait_for_entries(&reg.app.database_url, "firearm.list", 5);
    assert_eq!(
        sql_count(
            &reg.app.database_url,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE request_id LIKE '%<%' OR request_id LIKE '% %'"
        ),
        0
    );
}

#[test]
fn invented_methods_are_counted_as_other() {
    let app = spawn();
    for i in 0..20 {
        let _ = app.req(&format!("FOO{i}"), "/metrics").send();
    }
    let metrics = app.req("GET", "/metrics").send().text;
    assert!(!metrics.contains("FOO"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}
