//! The web console: the page's safety headers and weight, its catalogs, and
//! its screens in a real browser (`browser.rs`).

use serde_json::{json, Value};

use crate::helpers::*;

/// Every file of the console, as the browser loads them.
const PAGE_FILES: [&str; 12] = [
    "/",
    "/console/app.js",
    "/console/records.js",
    "/console/holders.js",
    "/console/ui.js",
    "/console/requests.js",
    "/console/reports.js",
    "/console/admin.js",
    "/console/verify.js",
    "/console/style.css",
    "/console/i18n/en.json",
    "/console/i18n/fr.json",
];

#[test]
fn the_console_is_served_with_a_policy_that_allows_no_inline_script() {
    let app = spawn();
    let page = app.req("GET", "/").send();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").expect("a policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // The page loads its script from a file, and holds none itself.
    assert!(
        !page.text.contains("<script>") && !page.text.contains(" on"),
        "{}",
        page.text
    );
    let mut total = 0;
    for path in PAGE_FILES {
        let r = app.req("GET", path).send();
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-security-policy").is_some(), "{path}");
        total += r.bytes.len().max(r.text.len());
    }
    crate::browser::record_figure(
        "page-weight",
        &format!("console page weight: {total} bytes (HTML, scripts, style and both catalogs)"),
    );
    assert!(total < 200 * 1024, "{total} bytes");
    let languages = app.req("GET", "/console/languages").send();
    assert_eq!(
        languages.body,
        json!([{"code": "en", "name": "English"}, {"code": "fr", "name": "Français"}])
    );
    app.req("GET", "/console/nothing.js")
        .send()
        .assert_problem(404, "not_found");
}

#[test]
fn every_catalog_has_every_message_of_the_english_one() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/i18n");
    let english: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("en.json")).unwrap()).unwrap();
    // Every key a script names literally is in the English catalog.
    for entry in std::fs::read_dir(dir.join("..")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let script = std::fs::read_to_string(&path).unwrap();
        for (at, _) in script.match_indices("t(\"") {
            let before = script[..at].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == '.' {
                continue; // split("…"), not t("…")
            }
            let key = script[at + 3..].split('"').next().unwrap();
            assert!(
                english.contains_key(key),
                "{} uses {key}, en.json lacks it",
                path.display()
            );
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let catalog: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for key in english.keys() {
            assert!(catalog.contains_key(key), "{} lacks {key}", path.display());
        }
        assert!(catalog["language.name"].is_string());
    }
}

// ---- in a browser ---------------------------------------------------------

use crate::browser::Browser;

/// Signs in through the sign-in form, submitting it from the keyboard.
fn sign_in_in(b: &Browser, base: &str, username: &str, password: &str) {
    b.go(&format!("{base}/#/sign-in"));
    b.fill("#sign-in", "username", username);
    b.fill("#sign-in", "password", &format!("{password}\u{E007}"));
}

#[track_caller]
fn assert_accessible(b: &Browser, page: &str) {
    let violations = b.accessibility_violations();
    assert!(violations.is_empty(), "axe-core on {page}: {violations:#?}");
}

#[test]
fn in_a_browser_a_registrar_registers_and_transfers_and_an_auditor_traces_and_verifies() {
    let reg = registry();
    let app = &reg.app;
    app.create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    let b = Browser::start("en");
    b.go(&format!("{}/", app.base));
    b.wait_hash("#/sign-in");
    b.wait_text("h1", "Sign in");
    assert_accessible(&b, "sign in");
    b.screenshot("sign-in");

    // A wrong password is answered on the form.
    sign_in_in(&b, &app.base, "registrar", "not the password");
    b.wait_text("#sign-in .problem", "wrong");

    sign_in_in(&b, &app.base, "registrar", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/firearms/new']");
    b.wait_text("h1", "Register a firearm");
    let form = "#register";
    b.choose(form, "category", "assault_rifle");
    b.fill(form, "manufacturer", "Izhmash");
    b.fill(form, "model", "AKM");
    b.fill(form, "calibre", "7.62x39mm");
    b.fill(form, "country_of_manufacture", "XX");
    b.fill(form, "serial_number", "KX-4471-B");
    b.choose(form, "owner.kind", "agency");
    b.choose(form, "owner.agency_id", &reg.agency);
    b.fill(form, "owner.name", "Ghana Police Service");
    assert_accessible(&b, "register");
    b.screenshot("register");
    b.click("#register button[type=submit]");
    // The API's refusal is shown beside the field it names, and nothing
    // was written.
    let error = b.wait_text(
        "#register [data-field='country_of_manufacture'] .error",
        "ISO",
    );
    assert!(!error.is_empty());
    assert_eq!(
        sql_count(&app.database_url, "SELECT COUNT(*) AS n FROM firearms"),
        0
    );
    b.fill(form, "country_of_manufacture", "RU");
    b.click("#register button[type=submit]");
    let hash = b.wait_hash("#/firearms/0");
    let id = hash.trim_start_matches("#/firearms/").to_string();
    b.wait_text("h1", "KX-4471-B");

    // A custody transfer, recorded on the firearm's page.
    let form = "#record-event";
    b.choose(form, "type", "custody_transfer");
    b.choose(form, "to.kind", "dealer");
    b.fill(form, "to.name", "Tema Harbour Armoury");
    b.fill(form, "to.reference", "GH-DL-0042");
    b.fill(form, "location", "Tema");
    b.fill(form, "reason", "storage during refit");
    b.click("#record-event button[type=submit]");
    b.wait_text("#timeline", "Tema Harbour Armoury");
    let timeline = b.text("#timeline");
    assert!(
        timeline.contains("Registered") && timeline.contains("Custody transfer"),
        "{timeline}"
    );
    assert!(timeline.contains("Recorded by registrar"), "{timeline}");
    // Other kinds of event take their own fields.
    b.choose(form, "type", "reported_lost");
    b.fill(form, "report_reference", "GH-PR-2026-0099");
    b.click("#record-event button[type=submit]");
    b.wait_text("#timeline", "GH-PR-2026-0099");
    b.wait_text("main", "LOST");
    // A correction's changes must be JSON: said beside the field, before
    // anything is sent.
    b.choose(form, "type", "correction");
    b.fill(form, "reason", "model misread");
    b.fill(form, "changes", "model: AKMS");
    b.click("#record-event button[type=submit]");
    b.wait_text("#record-event [data-field='changes'] .error", "JSON");
    b.fill(form, "changes", "{\"model\": \"AKMS\"}");
    b.click("#record-event button[type=submit]");
    b.wait_text("#timeline", "Correction");
    assert_accessible(&b, "firearm page (registrar)");
    b.screenshot("firearm-registrar");

    // Signing out ends the session: the console asks to sign in again.
    b.click("nav button");
    b.wait_hash("#/sign-in");
    b.go(&format!("{}/#/firearms/{id}", app.base));
    b.wait_hash("#/sign-in");

    // An auditor finds it from a partial serial and opens the hit.
    sign_in_in(&b, &app.base, "auditor", PASSWORD);
    b.wait_hash("#/find");
    b.fill("#find", "serial", "KX-44*B");
    b.fill("#find", "purpose", "case 2026/114");
    b.click("#find button[type=submit]");
    b.wait_text("#results", "KX-4471-B");
    assert_accessible(&b, "find, with results");
    b.screenshot("find");
    b.click(&format!("#results a[href='#/firearms/{id}']"));
    b.wait_text("#timeline", "Tema Harbour Armoury");

    // Verified in the browser, against the registry's key.
    wait_integrated(&app.database_url);
    b.click("#verify");
    let proved = b.wait_text("#verify-result", "Verified");
    assert!(proved.contains("Each of the 4 events"), "{proved}");
    assert_accessible(&b, "firearm page (auditor, verified)");
    b.run(
        "document.querySelector('#verify-h').scrollIntoView()",
        json!([]),
    );
    b.screenshot("firearm-verified");

    // In French.
    b.run(
        "const s = document.querySelector('#language'); s.value = 'fr'; \
         s.dispatchEvent(new Event('change'));",
        json!([]),
    );
    b.wait_text("#timeline", "Changement de détenteur");
    b.wait_text("h2", "L'arme");
    assert_eq!(
        b.run("return document.documentElement.lang", json!([])),
        "fr"
    );
    assert_accessible(&b, "firearm page in French");
    b.screenshot("firearm-fr");
}

#[test]
fn in_a_browser_a_user_with_a_password_set_by_an_admin_chooses_their_own() {
    let reg = registry();
    let app = &reg.app;
    app.user_with_set_password(&reg.admin, "clerk", &reg.agency, "temporary password 1");
    // A French browser gets the console in French.
    let b = Browser::start("fr");
    sign_in_in(&b, &app.base, "clerk", "temporary password 1");
    b.wait_hash("#/password");
    b.wait_text("h1", "Choisir un nouveau mot de passe");
    assert_accessible(&b, "password change");
    b.fill(
        "#password-change",
        "current_password",
        "temporary password 1",
    );
    b.fill("#password-change", "new_password", "short");
    b.click("#password-change button[type=submit]");
    b.wait_text("#password-change [data-field='new_password'] .error", "12");
    b.fill("#password-change", "new_password", "my own passphrase");
    b.click("#password-change button[type=submit]");
    b.wait_hash("#/find");
    b.wait_text("nav", "clerk");
    assert_eq!(app.login("clerk", "my own passphrase").status, 200);
}

#[test]
fn in_a_browser_a_firearm_with_fifty_events_renders_and_verifies() {
    let reg = registry();
    let app = &reg.app;
    app.create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    let firearm = reg.register(&pistol("FIFTY-1", &reg.agency));
    let id = firearm["id"].as_str().expect("id");
    for i in 1..50 {
        let r = app.post(
            &format!("/v1/firearms/{id}/events"),
            &reg.registrar,
            &json!({"type": "custody_transfer", "occurred_at": "2020-01-01T00:00:00Z",
                    "to": {"kind": "dealer", "name": format!("Armoury {i}"), "reference": format!("DL-{i}")},
                    "location": "Accra", "reason": "rotation"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    wait_integrated(&app.database_url);
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "auditor", PASSWORD);
    b.wait_hash("#/find");
    // A fresh load of the page, timed by the browser from navigation start
    // to the timeline drawn. Printed, not asserted: a figure, not a test.
    let mut times = Vec::new();
    for _ in 0..5 {
        b.go(&format!("{}/#/firearms/{id}", app.base));
        b.go(&format!("{}/?again#/firearms/{id}", app.base));
        b.wait_text("#timeline", "Armoury 49");
        let ms = b.run(
            "const m = performance.getEntriesByName('firearm-page-rendered'); \
             return m.length ? m[m.length - 1].startTime : null;",
            json!([]),
        );
        times.push(ms.as_f64().expect("the page marks its render"));
    }
    times.sort_by(f64::total_cmp);
    crate::browser::record_figure(
        "render",
        &format!(
            "firearm page with 50 events: rendered {:.0} ms after navigation start \
             (median of 5; {:?})",
            times[2],
            times.iter().map(|t| t.round()).collect::<Vec<_>>()
        ),
    );
    let items = b.run(
        "return document.querySelectorAll('#timeline li').length",
        json!([]),
    );
    assert_eq!(items, 50);
    b.click("#verify");
    let proved = b.wait_text("#verify-result", "Verified");
    assert!(proved.contains("Each of the 50 events"), "{proved}");
}

#[test]
fn in_a_browser_a_trace_request_is_sent_acknowledged_and_answered() {
    let reg = registry();
    let app = &reg.app;
    let togo = app.create_agency(&reg.admin, "Police nationale", "TG");
    app.create_user(&reg.admin, "tg-tracer", &togo, &["tracer"]);
    app.create_user(&reg.admin, "gh-tracer", &reg.agency, &["tracer"]);
    let firearm = reg.register(&pistol("GH-7781-K", &reg.agency));
    let id = firearm["id"].as_str().expect("id");
    let r = app.post(
        &format!("/v1/firearms/{id}/events"),
        &reg.registrar,
        &json!({"type": "reported_stolen", "occurred_at": "2026-01-05T00:00:00Z",
                "report_reference": "GH-PR-2026-17"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Togo's tracer sends a request about a pistol seized at the border.
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "tg-tracer", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/trace-requests']");
    b.wait_text("h1", "Trace requests");
    b.click("a[href='#/trace-requests/new']");
    let form = "#new-request";
    b.choose(form, "to_agency_id", &reg.agency);
    b.choose(form, "urgency", "urgent");
    b.choose(form, "firearm.category", "self_loading_pistol");
    b.fill(form, "firearm.manufacturer", "Glock GmbH");
    b.fill(form, "firearm.country_of_manufacture", "AT");
    b.fill(form, "firearm.serial_number", "GH-7781-K");
    b.fill(form, "circumstances.location", "Aflao border post");
    b.fill(
        form,
        "circumstances.description",
        "found in a truck's spare tyre",
    );
    assert_accessible(&b, "new trace request");
    b.click("#new-request button[type=submit]");
    b.wait_hash("#/trace-requests/0");
    let request = b.wait_text("main", "TR-");
    assert!(request.contains("Aflao border post"), "{request}");
    b.click("nav button");
    b.wait_hash("#/sign-in");

    // Ghana's tracer finds it in the inbox, acknowledges and answers it.
    sign_in_in(&b, &app.base, "gh-tracer", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/trace-requests']");
    b.wait_text("#requests", "URGENT");
    assert_accessible(&b, "trace requests, inbox");
    b.screenshot("trace-requests");
    b.click("#requests a");
    b.wait_text("#candidates", "GH-7781-K");
    b.click("#acknowledge button[type=submit]");
    b.wait_text("main", "acknowledged");
    b.choose("#answer", "outcome", "identified");
    b.choose("#answer", "firearm_id", id);
    b.fill(
        "#answer",
        "information",
        "Reported stolen in Accra in January.",
    );
    b.click("#answer button[type=submit]");
    let answered = b.wait_text("#response", "identified");
    assert!(answered.contains("Reported stolen in Accra"), "{answered}");
    assert_accessible(&b, "an answered trace request");
    b.screenshot("trace-request-answered");

    // The signed answer is on the request for the sender too.
    let tg_token = app.token_for("tg-tracer", PASSWORD);
    let page = app.get("/v1/trace-requests?box=outbox", &tg_token);
    assert_eq!(page.body["items"][0]["status"], "answered");
    assert!(page.body["items"][0]["signed_response"].is_string());
}

#[test]
fn in_a_browser_an_agency_sees_who_traced_its_stolen_firearm() {
    let reg = registry();
    let app = &reg.app;
    let togo = app.create_agency(&reg.admin, "Police nationale", "TG");
    let (_, tg_tracer) = app.create_user(&reg.admin, "tg-tracer", &togo, &["tracer"]);
    let firearm = reg.register(&pistol("GH-9001-S", &reg.agency));
    let id = firearm["id"].as_str().expect("id");
    let r = app.post(
        &format!("/v1/firearms/{id}/events"),
        &reg.registrar,
        &json!({"type": "reported_stolen", "occurred_at": "2026-01-05T00:00:00Z"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let traced = app.get("/v1/trace?serial=GH-9001-S", &tg_tracer);
    assert_eq!(traced.body["matches"][0]["alert"], true);
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "registrar", PASSWORD);
    b.wait_hash("#/find");
    // A registrar may not trace, and finds the firearms it holds by the
    // serial as marked.
    b.fill("#find", "serial", "gh 9001 s");
    b.click("#find button[type=submit]");
    b.wait_text("#results", "STOLEN");
    b.click("a[href='#/notifications']");
    let list = b.wait_text("#notifications", "traced while stolen");
    assert!(
        list.contains("tg-tracer") && list.contains("Police nationale"),
        "{list}"
    );
    assert_accessible(&b, "notifications");
}

#[test]
fn in_a_browser_a_system_administrator_manages_agencies_and_users() {
    let reg = registry();
    let app = &reg.app;
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "admin", ADMIN_PASSWORD);
    // A system administrator reads no firearm data: the console opens on
    // the users.
    b.wait_hash("#/users");
    b.click("a[href='#/agencies']");
    b.wait_text("#agencies", "Ghana Police Service");
    b.fill("#new-agency", "name", "Service des douanes");
    b.fill("#new-agency", "country", "TG");
    b.choose("#new-agency", "kind", "customs");
    b.click("#new-agency button[type=submit]");
    b.wait_text("#agencies", "Service des douanes");
    assert_accessible(&b, "agencies");

    b.click("a[href='#/users']");
    b.wait_text("#users", "registrar");
    b.fill("#new-user", "username", "inspector");
    b.fill("#new-user", "password", "first password 123");
    b.choose("#new-user", "agency_id", &reg.agency);
    b.click("#new-user input.role[value='auditor']");
    b.click("#new-user button[type=submit]");
    b.wait_text("#users", "inspector");
    // Giving auditor waits for a second administrator: the one who asked
    // may not approve it, and the console says why.
    b.wait_text("#grants", "inspector");
    b.click("#grants button");
    b.wait_text("#user-notice", "approve");
    assert_accessible(&b, "users");
    b.screenshot("users");
    // Disabling asks first.
    b.click("#users button[aria-label='Disable registrar']");
    b.accept_dialog();
    b.wait_text("#users", "disabled");
    app.get("/v1/auth/me", &reg.registrar)
        .assert_problem(401, "account_disabled");
    let clerk = app.login("inspector", "first password 123");
    assert_eq!(
        clerk.body["password_change_required"], true,
        "{}",
        clerk.text
    );
}

#[test]
fn in_a_browser_an_auditor_reads_statistics_and_checks_the_signed_head() {
    let reg = registry();
    let app = &reg.app;
    app.create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    for i in 0..3 {
        reg.register(&pistol(&format!("STAT-{i}"), &reg.agency));
    }
    wait_integrated(&app.database_url);
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "auditor", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/statistics']");
    b.wait_text("#statistics", "Firearms by category");
    let charts = b.run(
        "return document.querySelectorAll('svg.chart rect.bar').length",
        json!([]),
    );
    assert!(charts.as_u64() >= Some(3), "{charts}");
    assert_accessible(&b, "statistics");
    b.screenshot("statistics");

    b.click("a[href='#/audit']");
    b.wait_text("#checkpoint", "registry.test/audit");
    b.click("#check-signature button[type=submit]");
    b.wait_text("#audit-result", "is signed by registry.test/audit");
    b.click("#verify-log button[type=submit]");
    b.wait_text("#audit-result", "The log is valid");
    assert_accessible(&b, "audit log");
    b.screenshot("audit");
}

#[test]
fn in_a_browser_a_registrar_imports_a_file_and_destroys_a_batch() {
    let reg = registry();
    let app = &reg.app;
    let owner = json!({"kind": "agency", "name": "Ghana Police Service", "agency_id": reg.agency})
        .to_string()
        .replace('"', "\"\"");
    let row = |serial: &str, country: &str| {
        format!("self_loading_pistol,Glock GmbH,17,9x19mm,{country},{serial},\"{owner}\",2015-06-01T00:00:00Z\n")
    };
    let csv = format!(
        "category,manufacturer,model,calibre,country_of_manufacture,serial_number,owner,occurred_at\n{}{}{}",
        row("IMP-1", "AT"),
        row("IMP-2", "ZZ"),
        row("IMP-3", "AT"),
    );
    let file = std::env::temp_dir().join(format!("import-{}.csv", uuid::Uuid::now_v7().simple()));
    std::fs::write(&file, csv).expect("write the file");

    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "registrar", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/import']");
    b.type_in("#import input[type=file]", &file.display().to_string());
    b.click("#import button[type=submit]");
    // All or nothing: the bad row is named, and nothing is written.
    let errors = b.wait_text("#import-errors", "country_of_manufacture");
    assert!(errors.contains('2'), "{errors}");
    assert_eq!(
        sql_count(&app.database_url, "SELECT COUNT(*) AS n FROM firearms"),
        0
    );
    assert_accessible(&b, "import, refused");
    b.choose("#import", "mode", "partial");
    b.click("#import button[type=submit]");
    b.wait_text("#import-result", "2 imported, 1 refused");
    b.screenshot("import");
    let _ = std::fs::remove_file(&file);

    // A batch by serial and by id: an unknown serial is named beside the
    // list, and nothing is destroyed until every line names a firearm.
    let second = app.get("/v1/firearms?serial_number=IMP-3", &reg.registrar);
    let second = second.body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    b.click("a[href='#/destructions']");
    b.fill(
        "#destruction",
        "firearms",
        &format!("imp 1\n{second}\nNOPE-9"),
    );
    b.choose("#destruction", "method", "smelting");
    b.fill("#destruction", "certificate_reference", "GH-DC-2026-004");
    b.fill("#destruction", "witnesses", "Insp. Mensah\nSgt. Owusu");
    b.click("#destruction button[type=submit]");
    b.wait_text("#destruction [data-field='firearms'] .error", "NOPE-9");
    assert_eq!(
        sql_count(
            &app.database_url,
            "SELECT COUNT(*) AS n FROM firearms WHERE status = 'destroyed'"
        ),
        0
    );
    b.fill("#destruction", "firearms", &format!("imp 1\n{second}"));
    b.click("#destruction button[type=submit]");
    b.wait_text("#destruction-result", "2 firearms recorded destroyed");
    assert_accessible(&b, "destruction batch");
    b.screenshot("destruction");
    assert_eq!(
        sql_count(
            &app.database_url,
            "SELECT COUNT(*) AS n FROM firearms WHERE status = 'destroyed'"
        ),
        2
    );
}

#[test]
fn in_a_browser_a_registrar_registers_a_holder_and_issues_and_revokes_a_licence() {
    let reg = registry();
    let app = &reg.app;
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "registrar", PASSWORD);
    b.wait_hash("#/find");
    b.click("a[href='#/holders']");
    let form = "#new-holder";
    b.choose(form, "kind", "individual");
    b.fill(form, "name", "Kwame Asante");
    b.fill(form, "country", "GH");
    b.choose(form, "identifiers.0.type", "national_id");
    b.fill(form, "identifiers.0.value", "GHA-123456789-0");
    b.click("#new-holder button[type=submit]");
    b.wait_hash("#/holders/0");
    b.wait_text("h1", "Kwame Asante");

    let form = "#new-licence";
    b.fill(form, "number", "GH-PL-2026-0042");
    b.choose(form, "type", "possession");
    b.run(
        "for (const [name, v] of [['valid_from', '2026-01-01'], ['valid_until', '2030-12-31']]) \
         document.querySelector(`#new-licence [name=${name}]`).value = v;",
        json!([]),
    );
    b.fill(form, "issued_by", "Ghana Police Service");
    // A licence covering no category is refused beside the categories.
    b.click("#new-licence button[type=submit]");
    b.wait_text("#new-licence .problem", "Some fields need correcting");
    let error = b.text("#new-licence [data-field='categories'] .error");
    assert!(!error.is_empty(), "no error beside the categories");
    b.click("#new-licence input.category[value='shotgun']");
    b.click("#new-licence button[type=submit]");
    b.wait_text("#licences", "GH-PL-2026-0042");
    assert_accessible(&b, "a holder with a licence");
    b.screenshot("holder");

    b.fill(".revoke", "reason", "conviction");
    b.click(".revoke button[type=submit]");
    b.wait_text("#licences", "REVOKED");
    b.wait_text("#licence-notice", "0 firearms must be surrendered");

    // Found again by the identifier.
    b.click("a[href='#/holders']");
    b.fill("#find-holder", "identifier", "GHA-123456789-0");
    b.click("#find-holder button[type=submit]");
    b.wait_text("#holders", "Kwame Asante");
    assert_accessible(&b, "holders, found");
}

#[test]
fn in_a_browser_a_registry_that_records_why_asks_before_showing_a_history() {
    let reg = registry_with(|s| s.require_purpose = true);
    let app = &reg.app;
    let firearm = reg.register(&pistol("WHY-1", &reg.agency));
    let id = firearm["id"].as_str().expect("id");
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "registrar", PASSWORD);
    b.wait_hash("#/find");
    b.go(&format!("{}/#/firearms/{id}", app.base));
    b.fill("#purpose", "purpose", "audit of the Tema armoury");
    assert_accessible(&b, "the purpose asked for");
    b.click("#purpose button[type=submit]");
    b.wait_text("#timeline", "Registered");
    wait_for_entries(&app.database_url, "history.read", 1);
    assert_eq!(
        sql_count(
            &app.database_url,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'history.read' \
             AND purpose = 'audit of the Tema armoury'"
        ),
        1
    );
}

#[test]
fn in_a_browser_a_weapon_is_found_and_opened_from_the_keyboard_alone() {
    let reg = registry();
    let app = &reg.app;
    app.create_user(&reg.admin, "tracer", &reg.agency, &["tracer"]);
    reg.register(&pistol("KEY-0042", &reg.agency));
    let b = Browser::start("en");
    sign_in_in(&b, &app.base, "tracer", PASSWORD);
    b.wait_hash("#/find");
    // The first field has the focus's way in: type, then Enter submits.
    b.find("#find [name='serial']");
    b.run(
        "document.querySelector(\"#find [name='serial']\").focus()",
        json!([]),
    );
    b.press("KEY-OO42\u{E007}");
    b.wait_text("#results", "KEY-0042");
    // Tab from the form to the hit, Enter to open it.
    for _ in 0..20 {
        let on_hit = b.run(
            "return document.activeElement.matches('#results a')",
            json!([]),
        );
        if on_hit == true {
            break;
        }
        b.press("\u{E004}");
    }
    b.press("\u{E007}");
    b.wait_hash("#/firearms/");
    b.wait_text("h1", "KEY-0042");
}
