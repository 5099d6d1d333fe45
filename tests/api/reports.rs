//! Statistics and national reports (api-contract.md, "Statistics and
//! national reports"): a registry with a known story, and every figure of
//! every report checked against it.

use crate::helpers::*;
use serde_json::{json, Value};

struct Story {
    reg: Registry,
    auditor: String,
    customs: String,
    gh_tracer: String,
    r1: String,
}

fn at(day: &str) -> String {
    format!("{day}T10:00:00Z")
}

fn firearm(reg: &Registry, token: &str, serial: &str, category: &str, day: &str) -> String {
    let mut body = pistol(serial, &reg.agency);
    body["category"] = json!(category);
    body["occurred_at"] = json!(at(day));
    let r = reg.app.post("/v1/firearms", token, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("id").to_string()
}

fn event(reg: &Registry, token: &str, id: &str, mut body: Value, day: &str) {
    body["occurred_at"] = json!(at(day));
    let r = reg
        .app
        .post(&format!("/v1/firearms/{id}/events"), token, &body);
    assert_eq!(r.status, 201, "{}", r.text);
}

fn export(to: &str) -> Value {
    json!({"type": "export", "to_country": to, "licence_number": "EXP-1", "end_user_certificate": "EUC-1"})
}

fn import(from: &str, marked: bool) -> Value {
    let marking = marked
        .then(|| json!({"kind": "import", "text": "GH 2025 ACME", "country": "GH", "year": 2025}));
    json!({"type": "import", "from_country": from, "licence_number": "IMP-1", "marking": marking})
}

fn seize(agency: &str) -> Value {
    json!({"type": "seized", "case_reference": "SZ-1",
        "to": {"kind": "agency", "name": "Evidence store", "agency_id": agency}})
}

/// Registrations in 2024 and 2025, exports to two countries, imports with
/// and without an import marking, a loss and its recovery, a seizure of a
/// registered firearm and one of a weapon registered only when found,
/// destructions by two methods, a correction of a category, and six trace
/// requests: one answered with each outcome, one overdue, one pending.
fn story() -> Story {
    let reg = registry();
    let r = &reg.registrar;
    let police = reg.agency.clone();
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &police, &["auditor"]);
    let customs = reg.app.create_agency(&reg.admin, "Customs Division", "GH");
    let (_, customs_reg) = reg
        .app
        .create_user(&reg.admin, "customs-reg", &customs, &["registrar"]);

    let x0 = firearm(&reg, r, "X0", "carbine", "2024-05-01");
    event(&reg, r, &x0, export("BE"), "2024-06-01");
    let p: Vec<String> = (1..=6)
        .map(|i| {
            firearm(
                &reg,
                r,
                &format!("P{i}"),
                "self_loading_pistol",
                "2025-01-10",
            )
        })
        .collect();
    let r1 = firearm(&reg, r, "R1", "rifle", "2025-01-10");
    event(&reg, r, &p[0], export("TG"), "2025-02-01");
    event(&reg, r, &p[1], export("FR"), "2025-02-02");
    event(&reg, r, &r1, export("TG"), "2025-02-03");
    event(&reg, r, &p[0], import("TG", true), "2025-03-01");
    event(&reg, r, &x0, import("BE", false), "2025-04-01");
    event(
        &reg,
        r,
        &p[2],
        json!({"type": "reported_lost", "report_reference": "L-1"}),
        "2025-05-01",
    );
    event(&reg, r, &p[2], json!({"type": "recovered"}), "2025-06-01");
    event(&reg, r, &p[3], seize(&police), "2025-07-01");
    event(
        &reg,
        r,
        &p[3],
        json!({"type": "destroyed", "method": "cutting", "witnesses": ["A. Mensah"]}),
        "2025-09-01",
    );
    let found = firearm(&reg, &customs_reg, "F1", "revolver", "2025-08-01");
    event(&reg, &customs_reg, &found, seize(&customs), "2025-08-01");
    let d = reg.app.post(
        "/v1/destructions",
        r,
        &json!({"firearm_ids": [p[4], p[5]], "method": "crushing", "occurred_at": at("2025-10-01"),
                "witnesses": ["UNREC observer"]}),
    );
    assert_eq!(d.status, 201, "{}", d.text);

    let (_, gh_tracer) = reg
        .app
        .create_user(&reg.admin, "gh-tracer", &police, &["tracer"]);
    let tg = reg.app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, tg_tracer) = reg
        .app
        .create_user(&reg.admin, "tg-tracer", &tg, &["tracer"]);
    let in_secs = |s| (chrono::Utc::now() + chrono::Duration::seconds(s)).to_rfc3339();
    let send = |respond_in: i64| {
        let body = json!({"to_agency_id": police,
            "firearm": {"category": "self_loading_pistol", "manufacturer": "Glock GmbH",
                        "country_of_manufacture": "AT", "serial_number": "P*"},
            "circumstances": {"seized_at": "2026-10-01T12:00:00Z", "location": "Lomé port",
                              "context": "found in a container", "description": "pistol"},
            "urgency": "normal", "respond_by": in_secs(respond_in)});
        let r = reg.app.post("/v1/trace-requests", &tg_tracer, &body);
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    };
    let answers = [
        json!({"outcome": "identified", "firearm_id": p[0], "information": "exported 2025"}),
        json!({"outcome": "not_found"}),
        json!({"outcome": "insufficient_information"}),
        json!({"outcome": "declined", "information": "an investigation is open"}),
    ];
    let ids: Vec<String> = answers.iter().map(|_| send(14 * 86_400)).collect();
    for (id, answer) in ids.iter().zip(&answers) {
        let path = format!("/v1/trace-requests/{id}/response");
        let r = reg.app.post(&path, &gh_tracer, answer);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    send(1);
    send(14 * 86_400);
    // The first of those two is overdue once its second has passed.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    Story {
        reg,
        auditor,
        customs,
        gh_tracer,
        r1,
    }
}

fn get(s: &Story, token: &str, path: &str) -> Value {
    let r = s.reg.app.get(path, token);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

fn csv(s: &Story, path: &str) -> String {
    let r = s
        .reg
        .app
        .req("GET", path)
        .token(&s.auditor)
        .header("Accept", "text/csv")
        .send();
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/csv")));
    r.text
}

fn check_iti(s: &Story) {
    let iti = get(s, &s.auditor, "/v1/reports/iti?year=2025");
    assert_eq!(iti["year"], 2025);
    assert_eq!(iti["firearms_registered"], 8, "{iti}");
    assert_eq!(iti["marked_at_import"], 1);
    assert_eq!(iti["imported"], 2);
    assert_eq!(iti["exported"], 3);
    assert_eq!(iti["seized_or_found"], 2);
    assert_eq!(iti["recovered"], 1);
    assert_eq!(iti["reported_lost"], 1);
    assert_eq!(iti["reported_stolen"], 0);
    assert_eq!(iti["destroyed"]["total"], 3);
    assert_eq!(iti["destroyed"]["by_method"]["cutting"], 1);
    assert_eq!(iti["destroyed"]["by_method"]["crushing"], 2);
    assert_eq!(iti["destroyed"]["by_method"]["smelting"], 0);
    // Trace requests count in the year they were sent: this one.
    assert_eq!(iti["trace_requests"]["sent"], 0);
    let year = chrono::Utc::now().format("%Y").to_string();
    let now = get(s, &s.auditor, &format!("/v1/reports/iti?year={year}"));
    let t = &now["trace_requests"];
    assert_eq!(
        (t["sent"].clone(), t["received"].clone()),
        (json!(6), json!(6))
    );
    assert_eq!(t["answered"], 4);
    assert_eq!(t["overdue"], 1, "{t}");
    for outcome in [
        "identified",
        "not_found",
        "insufficient_information",
        "declined",
    ] {
        assert_eq!(t["by_outcome"][outcome], 1, "{outcome}");
    }
    assert!(t["median_days_to_answer"]
        .as_f64()
        .is_some_and(|d| (0.0..0.01).contains(&d)));
    assert_eq!(now["firearms_registered"], 0);
    // Scoped to a country with no records.
    let tg = get(s, &s.auditor, "/v1/reports/iti?year=2025&country=TG");
    assert_eq!(
        (tg["firearms_registered"].clone(), tg["country"].clone()),
        (json!(0), json!("TG"))
    );
    let text = csv(s, "/v1/reports/iti?year=2025");
    assert!(text.starts_with("figure,value\n"), "{text}");
    assert!(text.contains("destroyed.by_method.crushing,2\n"), "{text}");
}

fn att_rows(s: &Story, query: &str) -> Vec<(String, String, i64)> {
    let att = get(s, &s.auditor, &format!("/v1/reports/att?{query}"));
    att["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["category"].as_str().expect("category").to_string(),
                r["partner_country"].as_str().expect("partner").to_string(),
                r["items"].as_i64().expect("items"),
            )
        })
        .collect()
}

fn row(category: &str, partner: &str, n: i64) -> (String, String, i64) {
    (category.into(), partner.into(), n)
}

fn check_att(s: &Story) {
    let pistols = "revolvers_and_self_loading_pistols";
    assert_eq!(
        att_rows(s, "year=2025&direction=exports"),
        vec![
            row(pistols, "FR", 1),
            row(pistols, "TG", 1),
            row("rifles_and_carbines", "TG", 1)
        ]
    );
    assert_eq!(
        att_rows(s, "year=2025&direction=imports"),
        vec![row(pistols, "TG", 1), row("rifles_and_carbines", "BE", 1)]
    );
    assert_eq!(
        att_rows(s, "year=2024&direction=exports"),
        vec![row("rifles_and_carbines", "BE", 1)]
    );
    let text = csv(s, "/v1/reports/att?year=2025&direction=exports");
    assert!(
        text.starts_with("year,direction,group,category,partner_country,items\n"),
        "{text}"
    );
    assert!(text.contains("2025,exports,small_arms,rifles_and_carbines,TG,1\n"));

    // The rifle was an assault rifle all along: its export moves with it.
    event(
        &s.reg,
        &s.reg.registrar,
        &s.r1,
        json!({"type": "correction", "changes": {"category": "assault_rifle"}, "reason": "misread"}),
        "2025-11-01",
    );
    assert_eq!(
        att_rows(s, "year=2025&direction=exports"),
        vec![
            row(pistols, "FR", 1),
            row(pistols, "TG", 1),
            row("assault_rifles", "TG", 1)
        ]
    );
}

fn check_sdg(s: &Story) {
    let y2025 = get(
        s,
        &s.auditor,
        "/v1/reports/sdg-16-4-2?from=2025-01-01&to=2025-12-31",
    );
    assert_eq!(y2025["seizures"], 2);
    assert_eq!(y2025["seizures_of_registered_firearms"], 1);
    assert_eq!(y2025["seized_found_surrendered"], 2);
    assert_eq!(y2025["origin_established"], 1);
    assert_eq!(y2025["proportion"], 0.5);
    let all = get(s, &s.auditor, "/v1/reports/sdg-16-4-2");
    assert_eq!(all["trace_requests_sent"], 6);
    assert_eq!(all["trace_requests_identified"], 1);
    assert_eq!(all["seized_found_surrendered"], 8);
    assert_eq!(all["origin_established"], 2);
    assert_eq!(all["proportion"], 0.25);
    let text = csv(s, "/v1/reports/sdg-16-4-2?from=2025-01-01&to=2025-12-31");
    assert!(text.contains("proportion,0.5\n"), "{text}");
}

fn check_statistics(s: &Story) {
    let all = get(s, &s.auditor, "/v1/statistics");
    let f = &all["firearms"];
    assert_eq!(f["total"], 9, "{f}");
    let by_status = &f["by_status"];
    assert_eq!(
        [
            &by_status["active"],
            &by_status["exported"],
            &by_status["destroyed"],
            &by_status["seized"]
        ],
        [&json!(3), &json!(2), &json!(3), &json!(1)]
    );
    assert_eq!(f["by_category"]["self_loading_pistol"], 6);
    assert_eq!(f["by_category"]["assault_rifle"], 1);
    assert_eq!(f["by_category"]["rifle"], 0);
    let e = &all["events"];
    assert_eq!(e["total"], 23, "{e}");
    assert_eq!(e["by_type"]["registered"], 9);
    assert_eq!(e["by_type"]["export"], 4);
    assert_eq!(e["by_type"]["correction"], 1);
    assert_eq!(e["by_year"], json!({"2024": 2, "2025": 21}));
    assert_eq!(all["trace_requests"]["received"], 6);
    // Periods that cut months: the days at the ends are counted by day.
    let cut = get(
        s,
        &s.auditor,
        "/v1/statistics?from=2025-01-10&to=2025-02-02",
    );
    assert_eq!(cut["events"]["total"], 9, "{}", cut["events"]);
    let cut = get(
        s,
        &s.auditor,
        "/v1/statistics?from=2025-01-11&to=2025-03-01",
    );
    let by_type = &cut["events"]["by_type"];
    assert_eq!(
        (&by_type["export"], &by_type["import"]),
        (&json!(3), &json!(1))
    );
    assert_eq!(
        (&by_type["registered"], &cut["events"]["total"]),
        (&json!(0), &json!(4))
    );

    // The police registrar sees the police's own figures.
    let own = get(
        s,
        &s.reg.registrar,
        "/v1/statistics?from=2025-01-01&to=2025-12-31",
    );
    assert_eq!(own["agency_id"], s.reg.agency.as_str());
    assert_eq!(own["firearms"]["total"], 8);
    assert_eq!(own["events"]["total"], 19, "{}", own["events"]);
    assert_eq!(own["trace_requests"]["received"], 0, "sent in another year");
    let tracer = get(s, &s.gh_tracer, "/v1/statistics");
    assert_eq!(tracer["trace_requests"]["received"], 6);
    assert_eq!(tracer["trace_requests"]["sent"], 0);
    let customs = get(
        s,
        &s.auditor,
        &format!("/v1/statistics?agency_id={}", s.customs),
    );
    assert_eq!(customs["firearms"]["total"], 1);
    assert_eq!(customs["events"]["total"], 2);
    let text = csv(s, "/v1/statistics");
    assert!(text.contains("firearms.total,9\n"), "{text}");
}

/// The counts kept with each change equal a count made afresh from the
/// records by the migration's own backfill.
fn check_counts_match_records(url: &str) {
    let dir = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let path = format!("migrations/{dir}/2026-12-01-000008_reports/up.sql");
    let up = std::fs::read_to_string(&path).expect(&path);
    let backfill = up
        .split("-- backfill: begin")
        .nth(1)
        .and_then(|rest| rest.split("-- backfill: end").next())
        .expect("backfill markers");
    sql(
        url,
        &format!(
            "CREATE TABLE recount_events AS SELECT * FROM event_counts WHERE 1 = 0; \
             CREATE TABLE recount_monthly AS SELECT * FROM event_counts_monthly WHERE 1 = 0; \
             CREATE TABLE recount_firearms AS SELECT * FROM firearm_counts WHERE 1 = 0; {}",
            backfill
                .replace(
                    "INSERT INTO event_counts_monthly",
                    "INSERT INTO recount_monthly"
                )
                .replace("FROM event_counts\n", "FROM recount_events\n")
                .replace("INSERT INTO event_counts ", "INSERT INTO recount_events ")
                .replace("INSERT INTO firearm_counts", "INSERT INTO recount_firearms")
        ),
    );
    for (kept, recounted, key) in [
        (
            "event_counts",
            "recount_events",
            "day, agency_id, event_type, category, partner, detail",
        ),
        (
            "firearm_counts",
            "recount_firearms",
            "agency_id, status, category",
        ),
    ] {
        let sums = |t: &str| {
            format!("SELECT {key}, CAST(SUM(n) AS BIGINT) AS n FROM {t} GROUP BY {key} HAVING SUM(n) <> 0")
        };
        let only_in = |a: &str, b: &str| {
            let q = format!(
                "SELECT COUNT(*) AS n FROM (SELECT * FROM ({}) x EXCEPT SELECT * FROM ({}) y) d",
                sums(a),
                sums(b)
            );
            sql_count(url, &q)
        };
        assert_eq!(
            only_in(kept, recounted),
            0,
            "{kept} has counts the records do not"
        );
        assert_eq!(
            only_in(recounted, kept),
            0,
            "{kept} lacks counts of the records"
        );
    }
}

#[test]
fn every_figure_of_every_report_follows_from_the_story() {
    let s = story();
    check_iti(&s);
    check_sdg(&s);
    check_att(&s);
    check_statistics(&s);
    check_counts_match_records(&s.reg.app.database_url);
    // Every read above is on the record.
    wait_for_entries(&s.reg.app.database_url, "report.read", 12);
    wait_for_entries(&s.reg.app.database_url, "statistics.read", 7);
}

#[test]
fn bad_report_requests_are_refused_and_reads_are_kept_to_their_agency() {
    let reg = registry();
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    let other = reg.app.create_agency(&reg.admin, "Customs Division", "GH");
    let refused = |path: &str, status: u16, code: &str, field: Option<&str>| {
        let r = reg.app.get(path, &auditor);
        r.assert_problem(status, code);
        if let Some(field) = field {
            assert_eq!(r.body["errors"][0]["field"], field, "{path}: {}", r.text);
        }
    };
    let next = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1;
    refused(
        "/v1/reports/iti?year=1899",
        422,
        "validation_failed",
        Some("year"),
    );
    refused(
        &format!("/v1/reports/iti?year={}", next + 1),
        422,
        "validation_failed",
        Some("year"),
    );
    refused("/v1/reports/iti", 422, "validation_failed", Some("year"));
    refused(
        "/v1/reports/iti?year=2025&country=gh",
        422,
        "validation_failed",
        Some("country"),
    );
    refused(
        "/v1/reports/att?year=2025&direction=sideways",
        422,
        "validation_failed",
        Some("direction"),
    );
    refused(
        "/v1/reports/att?year=2025",
        422,
        "validation_failed",
        Some("direction"),
    );
    refused(
        "/v1/reports/sdg-16-4-2?from=2025-02-01&to=2025-01-01",
        422,
        "validation_failed",
        Some("from"),
    );
    refused(
        "/v1/statistics?from=2025-13-01",
        422,
        "validation_failed",
        Some("from"),
    );
    refused(
        "/v1/statistics?from=2026-01-01&to=2025-01-01",
        422,
        "validation_failed",
        Some("from"),
    );
    refused(
        "/v1/statistics?from=1899-12-31",
        422,
        "validation_failed",
        Some("from"),
    );
    refused(
        "/v1/reports/sdg-16-4-2?to=262143-12-31",
        422,
        "validation_failed",
        Some("to"),
    );
    refused("/v1/statistics?agency_id=police", 404, "not_found", None);
    let ghost = uuid::Uuid::now_v7();
    refused(
        &format!("/v1/statistics?agency_id={ghost}"),
        404,
        "not_found",
        None,
    );
    // Next year is still a year a report may name.
    let r = reg
        .app
        .get(&format!("/v1/reports/iti?year={next}"), &auditor);
    assert_eq!(r.status, 200, "{}", r.text);

    // Reports are for auditors; statistics for an agency's own users.
    reg.app
        .get("/v1/reports/iti?year=2025", &reg.registrar)
        .assert_problem(403, "forbidden");
    reg.app
        .get("/v1/statistics", &reg.admin)
        .assert_problem(403, "forbidden");
    reg.app
        .get(&format!("/v1/statistics?agency_id={other}"), &reg.registrar)
        .assert_problem(404, "not_found");
    let own = reg.app.get(
        &format!("/v1/statistics?agency_id={}", reg.agency),
        &reg.registrar,
    );
    assert_eq!(own.status, 200, "{}", own.text);
}

/// Writers that share count rows at once: registrations whose histories
/// have two days of one month (two daily rows, one monthly row) beside
/// single events on one of those days. Each gets its answer, and the
/// counts equal the records afterwards.
#[test]
fn concurrent_writers_of_shared_counts_all_commit_and_count_right() {
    let reg = registry();
    let custody = |day: &str, name: &str| {
        json!({"type": "custody_transfer", "occurred_at": at(day),
               "to": {"kind": "dealer", "name": name, "country": "GH"}})
    };
    let targets: Vec<String> = (0..4)
        .map(|i| {
            firearm(
                &reg,
                &reg.registrar,
                &format!("C-{i}"),
                "rifle",
                "2025-03-01",
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let (reg, targets, custody) = (&reg, &targets, &custody);
            scope.spawn(move || {
                for k in 0..10 {
                    if t % 2 == 0 {
                        let mut body = pistol(&format!("CC-{t}-{k}"), &reg.agency);
                        body["category"] = json!("rifle");
                        body["occurred_at"] = json!(at("2025-03-01"));
                        body["history"] = json!([
                            custody("2025-03-02", "Armoury A"),
                            custody("2025-03-03", "Armoury B")
                        ]);
                        let r = reg.app.post("/v1/firearms", &reg.registrar, &body);
                        assert_eq!(r.status, 201, "{}", r.text);
                    } else {
                        let id = &targets[(t + k) % targets.len()];
                        let to = if k % 2 == 0 { "Dealer A" } else { "Dealer B" };
                        let body = custody("2025-03-03", to);
                        let r = reg.app.post(
                            &format!("/v1/firearms/{id}/events"),
                            &reg.registrar,
                            &body,
                        );
                        assert!([201, 409, 422].contains(&r.status), "{}", r.text);
                    }
                }
            });
        }
    });
    let iti = reg.app.get(
        "/v1/statistics?from=2025-03-01&to=2025-03-31",
        &reg.registrar,
    );
    assert_eq!(
        iti.body["events"]["by_type"]["registered"], 34,
        "{}",
        iti.text
    );
    check_counts_match_records(&reg.app.database_url);
}
