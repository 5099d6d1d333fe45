use crate::helpers::*;
use serde_json::{json, Value};
use std::io::Read;

const HEADER: &str = "category,manufacturer,model,calibre,country_of_manufacture,year_of_manufacture,serial_number,markings,components,owner,custodian,occurred_at,notes";

/// A CSV cell holding JSON, quoted as RFC 4180 requires.
fn cell(v: &Value) -> String {
    format!("\"{}\"", v.to_string().replace('"', "\"\""))
}

fn csv_row(serial: &str, agency: &str, notes: &str) -> String {
    let owner = json!({"kind": "agency", "name": "Ghana Police Service", "agency_id": agency});
    let markings =
        json!([{"kind": "import", "text": "GH 2015, ACME", "country": "GH", "year": 2015}]);
    let components = json!([{"kind": "frame", "serial_number": format!("F-{serial}")}]);
    format!(
        "self_loading_pistol,Glock GmbH,17,9x19mm,AT,2012,{serial},{},{},{},,2015-06-01T00:00:00Z,\"{}\"",
        cell(&markings),
        cell(&components),
        cell(&owner),
        notes.replace('"', "\"\"")
    )
}

fn csv(rows: &[String]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

fn import(reg: &Registry, query: &str, content_type: &str, body: &str) -> Reply {
    reg.app
        .req("POST", &format!("/v1/firearms/import{query}"))
        .token(&reg.registrar)
        .raw(content_type, body.as_bytes())
}

fn count(reg: &Registry) -> usize {
    reg.app.get("/v1/firearms?limit=1000", &reg.registrar).body["items"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_csv_import_registers_every_row_with_json_cells() {
    let reg = registry();
    let rows: Vec<String> = (1..=3)
        .map(|i| {
            csv_row(
                &format!("CSV-{i}"),
                &reg.agency,
                "kept, with \"quotes\"\nand a second line",
            )
        })
        .collect();
    let r = import(&reg, "", "text/csv", &csv(&rows));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["imported"].as_u64(), r.body["rejected"].as_u64()),
        (Some(3), Some(0))
    );
    let first = &r.body["firearms"][0];
    assert_eq!(first["row"], 1);
    let shown = reg.app.get(
        &format!("/v1/firearms/{}", first["id"].as_str().expect("id")),
        &reg.registrar,
    );
    assert_eq!(shown.body["serial_normalized"], "CSV1");
    assert_eq!(shown.body["markings"][0]["text"], "GH 2015, ACME");
    assert_eq!(shown.body["components"][0]["serial_number"], "F-CSV-1");
    assert_eq!(
        shown.body["notes"],
        "kept, with \"quotes\"\nand a second line"
    );
    assert_eq!(count(&reg), 3);
}

#[test]
fn an_ndjson_import_registers_every_line() {
    let reg = registry();
    let body: String = (1..=3)
        .map(|i| format!("{}\n", pistol(&format!("ND-{i}"), &reg.agency)))
        .collect();
    let r = import(&reg, "", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["imported"], 3);
    assert_eq!(count(&reg), 3);
}

fn mixed_file(reg: &Registry) -> String {
    reg.register(&pistol("TAKEN-1", &reg.agency));
    let mut bad_serial = pistol("", &reg.agency);
    bad_serial["components"] = json!([]);
    let mut bad_country = pistol("OK-9", &reg.agency);
    bad_country["country_of_manufacture"] = json!("XX");
    let lines = [
        pistol("GOOD-1", &reg.agency),
        bad_serial,
        pistol("GOOD-2", &reg.agency),
        pistol("good 1", &reg.agency),
        pistol("TAKEN-1", &reg.agency),
        bad_country,
    ];
    let mut body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    body.push_str("{\"category\": \"rifle\",\n");
    body
}

#[test]
fn one_bad_row_rejects_the_whole_file_and_every_bad_row_is_reported() {
    let reg = registry();
    let body = mixed_file(&reg);
    let r = import(&reg, "", "application/x-ndjson", &body);
    r.assert_problem(422, "import_rejected");
    let errors: Vec<(u64, String)> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "serial_number".to_string()),
            (4, "serial_number".to_string()),
            (5, "serial_number".to_string()),
            (6, "country_of_manufacture".to_string()),
            (7, "row".to_string()),
        ],
        "{}",
        r.text
    );
    let messages = r.text.clone();
    assert!(
        messages.contains("the same unique marking as row 1"),
        "{messages}"
    );
    assert!(
        messages.contains("already registered as firearm"),
        "{messages}"
    );
    assert_eq!(count(&reg), 1, "nothing was written");
}

/// A file whose rows are all valid but one marking is already registered:
/// the database's constraint finds it, the rows are then looked up, and
/// the report names the firearm that holds it.
#[test]
fn a_marking_already_registered_rejects_an_otherwise_valid_file() {
    let reg = registry();
    let existing = reg.register(&pistol("HELD-1", &reg.agency))["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lines = [
        pistol("FRESH-1", &reg.agency),
        pistol("held 1", &reg.agency),
        pistol("FRESH-2", &reg.agency),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let r = import(&reg, "", "application/x-ndjson", &body);
    r.assert_problem(422, "import_rejected");
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", r.text);
    assert_eq!(errors[0]["row"], 2);
    assert_eq!(errors[0]["field"], "serial_number");
    let message = errors[0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&existing),
        "{message} should name {existing}"
    );
    assert_eq!(count(&reg), 1, "nothing was written");
    let r = import(&reg, "?mode=partial", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["imported"], 2);
    assert_eq!(count(&reg), 3);
}

#[test]
fn partial_mode_writes_the_good_rows_and_reports_the_bad() {
    let reg = registry();
    let body = mixed_file(&reg);
    let r = import(&reg, "?mode=partial", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["mode"], "partial");
    assert_eq!(
        (
            r.body["received"].as_u64(),
            r.body["imported"].as_u64(),
            r.body["rejected"].as_u64()
        ),
        (Some(7), Some(2), Some(5))
    );
    let rows: Vec<u64> = r.body["firearms"]
        .as_array()
        .expect("firearms")
        .iter()
        .filter_map(|f| f["row"].as_u64())
        .collect();
    assert_eq!(rows, vec![1, 3]);
    assert_eq!(count(&reg), 3);
}

#[test]
fn rows_are_numbered_over_data_rows_not_lines() {
    let reg = registry();
    let rows = vec![
        csv_row("ROW-1", &reg.agency, "two\nlines"),
        csv_row("ROW-2", &reg.agency, "x").replace(",AT,", ",XX,"),
    ];
    let r = import(&reg, "", "text/csv", &csv(&rows));
    r.assert_problem(422, "import_rejected");
    assert_eq!(r.body["errors"][0]["row"], 2, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "country_of_manufacture");
}

#[test]
fn csv_cells_that_are_not_json_or_numbers_are_row_errors() {
    let reg = registry();
    let good = csv_row("C-1", &reg.agency, "");
    let owner = json!({"kind": "agency", "name": "Ghana Police Service", "agency_id": reg.agency});
    assert!(good.contains(&cell(&owner)));
    let bad_json = good
        .replace(&cell(&owner), "\"{nope\"")
        .replace("C-1", "C-2");
    let bad_year = good.replace(",2012,", ",twenty,").replace("C-1", "C-3");
    let short = "rifle,Maker".to_string();
    let r = import(
        &reg,
        "",
        "text/csv",
        &csv(&[good, bad_json, bad_year, short]),
    );
    r.assert_problem(422, "import_rejected");
    let fields: Vec<(u64, &str)> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![(2, "owner"), (3, "year_of_manufacture"), (4, "row")],
        "{}",
        r.text
    );
    assert_eq!(count(&reg), 0);
}

#[test]
fn a_csv_without_its_header_is_refused() {
    let reg = registry();
    let row = csv_row("H-1", &reg.agency, "");
    // No header line at all: the first data row is taken as one and fails.
    let r = import(&reg, "", "text/csv", &format!("{row}\n"));
    r.assert_problem(422, "invalid_csv_header");
    // A header missing a required column.
    let r = import(
        &reg,
        "",
        "text/csv",
        "category,manufacturer,country_of_manufacture,owner\nrifle,X,AT,{}\n",
    );
    r.assert_problem(422, "invalid_csv_header");
    assert!(r.body["detail"]
        .as_str()
        .unwrap_or("")
        .contains("serial_number"));
    // A misspelt column.
    let r = import(
        &reg,
        "",
        "text/csv",
        &csv(&[row]).replacen("calibre", "caliber", 1),
    );
    r.assert_problem(422, "invalid_csv_header");
    // Nothing at all.
    import(&reg, "", "text/csv", "").assert_problem(422, "invalid_csv_header");
    assert_eq!(count(&reg), 0);
}

#[test]
fn imports_refuse_other_content_types_modes_and_roles() {
    let reg = registry();
    let body = format!("{}\n", pistol("T-1", &reg.agency));
    import(&reg, "", "application/json", &body).assert_problem(415, "unsupported_media_type");
    import(&reg, "?mode=most", "application/x-ndjson", &body)
        .assert_problem(400, "invalid_parameter");
    let (_, tracer) = reg
        .app
        .create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    reg.app
        .req("POST", "/v1/firearms/import")
        .token(&tracer)
        .raw("application/x-ndjson", body.as_bytes())
        .assert_problem(403, "forbidden");
    assert_eq!(count(&reg), 0);
}

/// An endless body, sent chunked so no length is declared up front.
struct Endless {
    sent: usize,
    limit: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.sent >= self.limit {
            return Ok(0);
        }
        let n = buf.len().min(self.limit - self.sent);
        buf[..n].fill(b'x');
        if self.sent == 0 && n > 12 {
            buf[..12].copy_from_slice(b"{\"notes\": \"x");
        }
        self.sent += n;
        Ok(n)
    }
}

#[test]
fn a_body_over_64_mebibytes_is_413() {
    let reg = registry();
    let url = format!("{}/v1/firearms/import", reg.app.base);
    let over = 64 * 1024 * 1024 + 1024;
    // Streamed without a declared length: refused once it passes the limit.
    let res = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", reg.registrar))
        .set("Content-Type", "application/x-ndjson")
        .send(Endless {
            sent: 0,
            limit: over,
        });
    let status = match res {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        // The server may answer and close before the client finishes sending.
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status, 413);
    // Declared too large: refused before reading.
    let res = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", reg.registrar))
        .set("Content-Type", "text/csv")
        .set("Content-Length", &over.to_string())
        .send_bytes(b"");
    assert!(matches!(
        res,
        Err(ureq::Error::Status(413, _)) | Err(ureq::Error::Transport(_))
    ));
    assert_eq!(count(&reg), 0);
}

#[test]
fn ten_thousand_rows_in_one_request() {
    let reg = registry();
    let rows: Vec<String> = (0..10_000)
        .map(|i| csv_row(&format!("BULK-{i:05}"), &reg.agency, ""))
        .collect();
    let started = std::time::Instant::now();
    let r = import(&reg, "", "text/csv", &csv(&rows));
    eprintln!(
        "10,000-row CSV import (debug build): {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 201, "{}", &r.text[..r.text.len().min(2000)]);
    assert_eq!(r.body["imported"], 10_000);
    let page = reg.app.get(
        "/v1/firearms?limit=1000&manufacturer=glock%20gmbh",
        &reg.registrar,
    );
    assert_eq!(page.body["items"].as_array().map(Vec::len), Some(1000));
    assert!(page.body["next_cursor"].is_string());
    // The same file again: every row is already registered.
    let r = import(&reg, "", "text/csv", &csv(&rows[..50]));
    r.assert_problem(422, "import_rejected");
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(50));
}

fn with_history(serial: &str, agency: &str) -> Value {
    let mut b = pistol(serial, agency);
    b["history"] = json!([
        {"type": "custody_transfer", "occurred_at": "2016-01-10T00:00:00Z", "to": {"kind": "agency", "name": "Kumasi armoury", "agency_id": agency}},
        {"type": "marking_added", "occurred_at": "2017-03-01T00:00:00Z", "marking": {"kind": "state", "text": "GPS-2017-0042"}},
        {"type": "reported_lost", "occurred_at": "2019-05-05T00:00:00Z", "report_reference": "KMS/19/5"},
        {"type": "recovered", "occurred_at": "2020-02-02T00:00:00Z"}
    ]);
    b
}

#[test]
fn imported_records_bring_their_custody_history() {
    let reg = registry();
    let body: String = (1..=3)
        .map(|i| format!("{}\n", with_history(&format!("HIST-{i}"), &reg.agency)))
        .collect();
    let r = import(&reg, "", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["firearms"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let f = reg.app.get(&format!("/v1/firearms/{id}"), &reg.registrar);
    assert_eq!(
        (f.body["status"].as_str(), f.body["version"].as_i64()),
        (Some("active"), Some(5))
    );
    assert_eq!(f.body["custodian"]["name"], "Kumasi armoury");
    let h = reg
        .app
        .get(&format!("/v1/firearms/{id}/history"), &reg.registrar);
    let events = h.body["events"].as_array().expect("events");
    let seen: Vec<(i64, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["sequence"].as_i64().unwrap_or(0),
                e["type"].as_str().unwrap_or(""),
                e["occurred_at"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "registered", "2015-06-01T00:00:00Z"),
            (2, "custody_transfer", "2016-01-10T00:00:00Z"),
            (3, "marking_added", "2017-03-01T00:00:00Z"),
            (4, "reported_lost", "2019-05-05T00:00:00Z"),
            (5, "recovered", "2020-02-02T00:00:00Z"),
        ]
    );
    // The marking added in the history is traceable, and the log vouches for it all.
    let (_, tracer) =
        reg.app
            .create_user(&reg.admin, "tracer", &reg.agency, &["tracer", "auditor"]);
    let t = reg.app.get("/v1/trace?marking=GPS-2017-0042", &tracer);
    assert_eq!(
        t.body["matches"].as_array().map(Vec::len),
        Some(3),
        "{}",
        t.text
    );
    wait_integrated(&reg.app.database_url);
    assert_eq!(reg.app.get("/v1/audit/verify", &tracer).body["valid"], true);
}

#[test]
fn a_history_the_status_machine_refuses_rejects_its_row() {
    let reg = registry();
    let mut bad = pistol("HIST-BAD", &reg.agency);
    bad["history"] = json!([
        {"type": "export", "to_country": "TG", "licence_number": "EXP-1"},
        {"type": "custody_transfer", "to": {"kind": "dealer", "name": "Somewhere"}}
    ]);
    let mut typo = pistol("HIST-TYPO", &reg.agency);
    typo["history"] = json!([{"type": "teleported"}]);
    let body = format!(
        "{}\n{}\n{}\n",
        with_history("HIST-OK", &reg.agency),
        bad,
        typo
    );
    let r = import(&reg, "", "application/x-ndjson", &body);
    r.assert_problem(422, "import_rejected");
    let errors: Vec<(u64, &str)> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [(2, "history[1]"), (3, "history[0].type")],
        "{}",
        r.text
    );
    assert!(r.text.contains("illegal_transition"));
    assert_eq!(count(&reg), 0);
    // The same holds for a single registration.
    let single = reg.app.post("/v1/firearms", &reg.registrar, &bad);
    single.assert_problem(422, "validation_failed");
    assert_eq!(single.body["errors"][0]["field"], "history[1]");
    assert_eq!(
        reg.app
            .post(
                "/v1/firearms",
                &reg.registrar,
                &with_history("HIST-ONE", &reg.agency)
            )
            .status,
        201
    );
}

#[test]
fn an_answer_lists_the_first_failing_rows_and_counts_them_all() {
    let reg = registry_with(|s| s.import_max_listed = 3);
    let rows: Vec<String> = (0..10)
        .map(|i| csv_row(&format!("BAD-{i}"), "no-such-agency", ""))
        .collect();
    let r = import(&reg, "", "text/csv", &csv(&rows));
    r.assert_problem(422, "import_rejected");
    assert_eq!(r.body["rejected"], 10);
    assert_eq!(r.body["received"], 10);
    let listed: std::collections::BTreeSet<u64> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["row"].as_u64())
        .collect();
    assert_eq!(listed, [1, 2, 3].into());
    let r = import(&reg, "?mode=partial", "text/csv", &csv(&rows));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["rejected"].as_u64(), r.body["imported"].as_u64()),
        (Some(10), Some(0))
    );
    assert!(r.body["errors"].as_array().is_some_and(|e| e.len() == 3));
    assert_eq!(count(&reg), 0);
}

#[test]
fn an_import_over_the_row_cap_writes_nothing() {
    let reg = registry_with(|s| s.import_max_rows = 5);
    let rows: Vec<String> = (0..6)
        .map(|i| csv_row(&format!("CAP-{i}"), &reg.agency, ""))
        .collect();
    import(&reg, "?mode=partial", "text/csv", &csv(&rows)).assert_problem(422, "import_too_large");
    assert_eq!(count(&reg), 0);
    assert_eq!(import(&reg, "", "text/csv", &csv(&rows[..5])).status, 201);
    assert_eq!(count(&reg), 5);
}

#[test]
fn a_spooled_body_leaves_no_file_behind() {
    let reg = registry();
    let rows: Vec<String> = (0..3)
        .map(|i| csv_row(&format!("SP-{i}"), &reg.agency, ""))
        .collect();
    let r = reg
        .app
        .req("POST", "/v1/firearms/import")
        .token(&reg.registrar)
        .header("Idempotency-Key", "spool-1")
        .raw("text/csv", csv(&rows).as_bytes());
    assert_eq!(r.status, 201, "{}", r.text);
    // The retry replays the answer; the body it sent is spooled again.
    let again = reg
        .app
        .req("POST", "/v1/firearms/import")
        .token(&reg.registrar)
        .header("Idempotency-Key", "spool-1")
        .raw("text/csv", csv(&rows).as_bytes());
    assert_eq!(again.body, r.body);
    import(&reg, "", "text/csv", &csv(&rows)).assert_problem(422, "import_rejected");
    let spool = reg.app.data_dir.join("spool");
    let left = std::fs::read_dir(&spool).map_or(0, |d| d.count());
    assert_eq!(left, 0, "files left in {}", spool.display());
}

/// A bulk import writes its entries into the tree itself, in its own
/// transaction: each is one row written once with its seq, never queued
/// and then updated by the sequencer; the signed head covers them when
/// the import answers, and the log verifies.
#[test]
fn an_import_writes_its_entries_straight_into_the_tree() {
    let reg = registry();
    let url = reg.app.database_url.clone();
    sql_as_client(&url, "CREATE TABLE entry_updates (id TEXT NOT NULL)").expect("table");
    trigger(
        &reg.app,
        "trail_entry_updates",
        "AFTER UPDATE ON audit_entries",
        "INSERT INTO entry_updates VALUES (NEW.id); RETURN NEW;",
        "INSERT INTO entry_updates VALUES (NEW.id);",
    );
    let body: String = (0..3)
        .map(|i| with_history(&format!("TREE-{i}"), &reg.agency).to_string() + "\n")
        .collect();
    let r = import(&reg, "", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    let firearm_entries = "FROM audit_entries WHERE action LIKE 'firearm.%'";
    assert_eq!(
        sql_count(&url, &format!("SELECT COUNT(*) AS n {firearm_entries}")),
        16
    );
    assert_eq!(
        sql_count(
            &url,
            &format!("SELECT COUNT(*) AS n {firearm_entries} AND seq IS NULL")
        ),
        0
    );
    assert_eq!(
        sql_count(
            &url,
            &format!(
                "SELECT COUNT(*) AS n FROM entry_updates WHERE id IN (SELECT id {firearm_entries})"
            )
        ),
        0
    );
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    wait_integrated(&url);
    let report = reg.app.get("/v1/audit/verify", &auditor);
    assert_eq!(report.body["valid"], true, "{}", report.text);
}

/// Two imports at once each take the log's lock before writing a row, so
/// one waits for the other rather than each holding what the other needs.
#[test]
fn two_imports_at_once_both_land() {
    let reg = registry();
    let bodies: Vec<String> = (0..2)
        .map(|k| {
            (0..300)
                .map(|i| pistol(&format!("BOTH-{k}-{i}"), &reg.agency).to_string() + "\n")
                .collect()
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|b| s.spawn(|| import(&reg, "", "application/x-ndjson", b).status))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("import"))
            .collect()
    });
    assert_eq!(statuses, [201, 201]);
    assert_eq!(
        sql_count(
            &reg.app.database_url,
            "SELECT COUNT(*) AS n FROM firearms WHERE serial_number LIKE 'BOTH-%'"
        ),
        600
    );
}

/// A batch large enough to be sent by COPY on PostgreSQL, with one marking
/// the registry already holds: the batch is refused as a whole by the
/// unique index, then written without that row, which is named.
#[test]
fn a_large_batch_with_a_registered_marking_writes_the_rest() {
    let reg = registry();
    let taken = reg.register(&pistol("LARGE-150", &reg.agency));
    let body: String = (0..300)
        .map(|i| pistol(&format!("LARGE-{i}"), &reg.agency).to_string() + "\n")
        .collect();
    let r = import(&reg, "?mode=partial", "application/x-ndjson", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["imported"].as_u64(), r.body["rejected"].as_u64()),
        (Some(299), Some(1))
    );
    assert_eq!(r.body["errors"][0]["row"], 151);
    let message = r.body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(taken["id"].as_str().expect("id")),
        "{message}"
    );
}
