//! Webhooks against a real local receiver: signed deliveries, retries,
//! the failing state, refusals, and nothing lost or doubled across a
//! SIGKILL. Signatures are checked by code written here from the
//! Standard Webhooks specification and RFC 2104, not by `src/webhooks`.

use crate::helpers::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver took.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub status: u16,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Plan {
    /// Send this `location` with every answer.
    location: Option<String>,
    /// Statuses to answer next, in order; 200 after them.
    next: VecDeque<u16>,
    /// Answer every request with this, when set.
    always: Option<u16>,
    got: Vec<Delivery>,
}

/// A receiver on a loopback port that records every request.
pub struct Receiver {
    pub url: String,
    plan: Arc<Mutex<Plan>>,
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let plan = Arc::new(Mutex::new(Plan::default()));
        let shared = plan.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let plan = shared.clone();
                std::thread::spawn(move || serve(stream, &plan));
            }
        });
        Self { url, plan }
    }

    pub fn answer_next(&self, statuses: &[u16]) {
        self.plan.lock().unwrap().next.extend(statuses);
    }

    pub fn always(&self, status: Option<u16>) {
        self.plan.lock().unwrap().always = status;
    }

    pub fn redirect_to(&self, url: &str) {
        let mut p = self.plan.lock().unwrap();
        p.location = Some(url.to_string());
        p.always = Some(302);
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.plan.lock().unwrap().got.clone()
    }

    /// Waits for requests answered 2xx until `done` says enough.
    pub fn wait(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let started = Instant::now();
        loop {
            let got: Vec<_> = self
                .received()
                .into_iter()
                .filter(|d| (200..300).contains(&d.status))
                .collect();
            if done(&got) {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "waited 90 s for {what}; got {} deliveries",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(stream: TcpStream, plan: &Mutex<Plan>) {
    let mut reader = BufReader::new(stream);
    let mut headers = HashMap::new();
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        line.clear();
        // A sender killed in the middle of its headers sent no request.
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, location) = {
        let mut p = plan.lock().unwrap();
        let status = p.always.or_else(|| p.next.pop_front()).unwrap_or(200);
        p.got.push(Delivery {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status,
        });
        let location = p.location.as_ref().map(|l| format!("location: {l}\r\n"));
        (status, location.unwrap_or_default())
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\n{location}content-length: 2\r\nconnection: close\r\n\r\nok"
    );
}

/// HMAC-SHA256 as RFC 2104 defines it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// Whether one of the delivery's signatures is valid for `secret`, as the
/// Standard Webhooks specification says a receiver checks it: the secret
/// is base64 after `whsec_`; the signed content is
/// `{webhook-id}.{webhook-timestamp}.{body}`; the header lists
/// space-separated `v1,<base64>`; the timestamp is recent.
pub fn signed_by(d: &Delivery, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let timestamp: i64 = d.header("webhook-timestamp").parse().expect("timestamp");
    let skew = (chrono::Utc::now().timestamp() - timestamp).abs();
    let content = format!("{}.{}.{}", d.header("webhook-id"), timestamp, d.body);
    let expected = format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(&key, content.as_bytes()))
    );
    skew < 300
        && d.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
}

struct Agency {
    reg: Registry,
    admin: String,
    receiver: Receiver,
}

fn agency_with(configure: impl FnOnce(&mut registry::config::Settings)) -> Agency {
    let reg = registry_with(configure);
    let (_, admin) = reg
        .app
        .create_user(&reg.admin, "gh-admin", &reg.agency, &["admin"]);
    Agency {
        reg,
        admin,
        receiver: Receiver::start(),
    }
}

fn subscribe(a: &Agency, events: &[&str]) -> Value {
    let r = a.reg.app.post(
        "/v1/webhooks",
        &a.admin,
        &json!({"url": a.receiver.url, "events": events}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// The subscription's messages once `done` holds of them: the registry
/// records an outcome after the receiver has answered.
fn deliveries_when(a: &Agency, hook: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let listed = deliveries(a, hook);
        if done(&listed) {
            return listed;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{listed:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn delivered(n: usize) -> impl Fn(&[Value]) -> bool {
    move |listed| listed.len() == n && listed.iter().all(|m| m["state"] == "delivered")
}

fn deliveries(a: &Agency, hook: &str) -> Vec<Value> {
    let r = a
        .reg
        .app
        .get(&format!("/v1/webhooks/{hook}/deliveries"), &a.admin);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_subscriber_gets_signed_messages_for_what_it_asked() {
    let a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered", "firearm.status_changed"]);
    let secret = hook["secret"].as_str().expect("secret shown once");
    assert_eq!(hook["status"], "active");
    assert_eq!(
        hook["events"],
        json!(["firearm.registered", "firearm.status_changed"])
    );
    let id = hook["id"].as_str().expect("id");
    let shown = a.reg.app.get(&format!("/v1/webhooks/{id}"), &a.admin);
    assert!(shown.body.get("secret").is_none(), "{}", shown.text);

    let gun = a.reg.register(&pistol("WH-1", &a.reg.agency));
    let gun = gun["id"].as_str().expect("id");
    let r = a.reg.app.post(
        &format!("/v1/firearms/{gun}/events"),
        &a.reg.registrar,
        &json!({"type": "reported_stolen", "report_reference": "GPS/2026/1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    a.receiver.wait("two messages", |d| d.len() >= 2);
    std::thread::sleep(Duration::from_millis(500));
    let got: Vec<_> = a.receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    let types: Vec<_> = got.iter().map(|d| d.json()["type"].clone()).collect();
    assert!(types.contains(&json!("firearm.registered")), "{types:?}");
    assert!(
        types.contains(&json!("firearm.status_changed")),
        "{types:?}"
    );
    for d in &got {
        assert!(signed_by(d, secret), "{d:?}");
        assert!(!signed_by(d, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(d.header("webhook-id").starts_with("msg_"));
        assert_eq!(d.header("content-type"), "application/json");
        let body = d.json();
        assert_eq!(body["data"]["firearm_id"], gun);
        assert!(body["timestamp"].is_string());
        assert_eq!(
            body["data"]["links"]["firearm"],
            format!("/v1/firearms/{gun}")
        );
    }
    let changed = got
        .iter()
        .map(Delivery::json)
        .find(|b| b["type"] == "firearm.status_changed")
        .expect("status change");
    assert_eq!(
        changed["data"]["status"],
        json!({"old": "active", "new": "stolen"})
    );
    assert_eq!(changed["data"]["event_type"], "reported_stolen");
    // The payload carries no personal data or free text of the record.
    assert!(!got
        .iter()
        .any(|d| d.body.contains("Glock") || d.body.contains("free text")));

    let listed = deliveries_when(&a, id, delivered(2));
    for m in &listed {
        assert_eq!(m["state"], "delivered", "{m}");
        assert_eq!(m["attempt_count"], 1);
        assert_eq!(m["attempts"][0]["status_code"], 200);
        assert!(m["next_attempt_at"].is_null());
    }
}

#[test]
fn a_500_is_retried_under_the_same_id_and_the_attempts_are_listed() {
    let a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    a.receiver.answer_next(&[500]);
    a.reg.register(&pistol("WH-500", &a.reg.agency));
    let got = a.receiver.wait("the retry", |d| !d.is_empty());
    let all = a.receiver.received();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].status, 500);
    assert_eq!(all[0].header("webhook-id"), got[0].header("webhook-id"));
    assert_eq!(all[0].body, got[0].body);
    let listed = deliveries_when(&a, id, delivered(1));
    let m = &listed[0];
    assert_eq!(m["attempt_count"], 2);
    assert_eq!(m["attempts"][0]["status_code"], 500);
    assert!(m["attempts"][0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("500"));
    assert_eq!(m["attempts"][1]["status_code"], 200);
    assert_eq!(m["id"], got[0].header("webhook-id"));
}

#[test]
fn a_redirect_is_a_failure_and_is_not_followed() {
    let a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    let elsewhere = Receiver::start();
    a.receiver.redirect_to(&elsewhere.url);
    a.reg.register(&pistol("WH-302", &a.reg.agency));
    let listed = deliveries_when(&a, id, |l| {
        l.first().is_some_and(|m| m["attempt_count"] == 1)
    });
    let m = &listed[0];
    assert_eq!(m["state"], "pending", "{m}");
    assert_eq!(m["attempts"][0]["status_code"], 302);
    assert!(
        m["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("redirects are not followed"),
        "{m}"
    );
    assert!(m["next_attempt_at"].is_string());
    assert!(elsewhere.received().is_empty());
    // A message still being retried is not replayed: it goes again by itself.
    let path = format!(
        "/v1/webhooks/{id}/deliveries/{}/replay",
        m["id"].as_str().expect("id")
    );
    let r = a.reg.app.req("POST", &path).token(&a.admin).send();
    r.assert_problem(409, "delivery_pending");
}

#[test]
fn a_destination_allowed_no_more_is_refused_at_delivery() {
    let mut a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id").to_string();
    // The same registry, restarted without the setting that let it
    // subscribe a loopback http:// receiver.
    let restarted = a.reg.app.restart_with(|s| s.webhooks.allow_private = false);
    a.reg.app = restarted;
    a.reg.register(&pistol("WH-NOW-PRIVATE", &a.reg.agency));
    let listed = deliveries_when(&a, &id, |l| {
        l.first().is_some_and(|m| m["attempt_count"] == 1)
    });
    let m = &listed[0];
    assert!(m["attempts"][0]["status_code"].is_null(), "{m}");
    assert!(
        m["last_error"].as_str().unwrap_or("").contains("refused"),
        "{m}"
    );
    assert!(a.receiver.received().is_empty());
}

#[test]
fn a_message_given_up_on_marks_the_subscription_failing_and_tells_the_admins() {
    let a = agency_with(|s| s.webhooks.retry_for = chrono::Duration::seconds(1));
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    a.receiver.always(Some(503));
    a.reg.register(&pistol("WH-DEAD", &a.reg.agency));
    let listed = deliveries_when(&a, id, |l| {
        l.first().is_some_and(|m| m["state"] == "failed")
    });
    assert_eq!(listed[0]["attempts"][0]["status_code"], 503);
    let shown = a.reg.app.get(&format!("/v1/webhooks/{id}"), &a.admin);
    assert_eq!(shown.body["status"], "failing", "{}", shown.text);
    let notes = a.reg.app.get("/v1/notifications", &a.admin);
    let items = notes.body["items"].as_array().cloned().unwrap_or_default();
    let notice = items
        .iter()
        .find(|n| n["kind"] == "webhook_failing")
        .unwrap_or_else(|| panic!("{}", notes.text));
    assert_eq!(notice["query"]["webhook_id"], id);
    assert!(notice["firearm_id"].is_null());

    // The receiver is back; an admin sends the message again.
    a.receiver.always(None);
    let message = listed[0]["id"].as_str().expect("message id");
    let path = format!("/v1/webhooks/{id}/deliveries/{message}/replay");
    let r = a.reg.app.req("POST", &path).token(&a.admin).send();
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["state"], "pending");
    let got = a.receiver.wait("the replay", |d| !d.is_empty());
    assert_eq!(got[0].header("webhook-id"), message);
    let started = Instant::now();
    while a.reg.app.get(&format!("/v1/webhooks/{id}"), &a.admin).body["status"] != "active" {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
    let a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    let old = hook["secret"].as_str().expect("secret");
    let r = a
        .reg
        .app
        .req("POST", &format!("/v1/webhooks/{id}/rotate-secret"))
        .token(&a.admin)
        .send();
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.body["secret"].as_str().expect("new secret");
    assert_ne!(old, new);
    assert!(r.body["previous_secret_valid_until"].is_string());
    assert_eq!(r.body["version"], 2);
    a.reg.register(&pistol("WH-ROT", &a.reg.agency));
    let got = a.receiver.wait("a message", |d| !d.is_empty());
    assert!(
        signed_by(&got[0], old) && signed_by(&got[0], new),
        "{:?}",
        got[0]
    );
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
}

#[test]
fn alerts_and_trace_requests_reach_the_agencies_they_concern() {
    let gh = agency_with(|_| {});
    let app = &gh.reg.app;
    subscribe(&gh, &["alert", "trace_request.received"]);
    let tg = app.create_agency(&gh.reg.admin, "Police nationale", "TG");
    let (_, tg_admin) = app.create_user(&gh.reg.admin, "tg-admin", &tg, &["admin"]);
    let (_, tg_tracer) = app.create_user(&gh.reg.admin, "tg-tracer", &tg, &["tracer"]);
    let (_, gh_tracer) = app.create_user(&gh.reg.admin, "gh-tracer", &gh.reg.agency, &["tracer"]);
    let tg_receiver = Receiver::start();
    let r = app.post(
        "/v1/webhooks",
        &tg_admin,
        &json!({"url": tg_receiver.url, "events": ["trace_request.answered"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let tg_secret = r.body["secret"].as_str().expect("secret").to_string();

    let gun = gh.reg.register(&pistol("SL998877", &gh.reg.agency));
    let gun = gun["id"].as_str().expect("id");
    let r = app.post(
        &format!("/v1/firearms/{gun}/events"),
        &gh.reg.registrar,
        &json!({"type": "reported_stolen", "report_reference": "GPS/2026/77"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get("/v1/trace?serial=SL998877", &tg_tracer);
    assert_eq!(r.status, 200, "{}", r.text);
    let got = gh.receiver.wait("the alert", |d| !d.is_empty());
    let alert = got[0].json();
    assert_eq!(alert["type"], "alert");
    assert_eq!(alert["data"]["firearm_id"], gun);
    assert_eq!(alert["data"]["kind"], "traced_while_stolen");
    assert_eq!(alert["data"]["traced_by_agency_id"], tg);

    let r = app.post(
        "/v1/trace-requests",
        &tg_tracer,
        &json!({"to_agency_id": gh.reg.agency,
                "firearm": {"category": "self_loading_pistol", "manufacturer": "Glock GmbH",
                            "country_of_manufacture": "AT", "serial_number": "SL998877"},
                "circumstances": {"seized_at": "2026-10-01T12:00:00Z", "location": "Lomé port"},
                "urgency": "normal"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let request = r.body["id"].as_str().expect("id").to_string();
    let got = gh.receiver.wait("the request", |d| d.len() >= 2);
    let received = got[1].json();
    assert_eq!(received["type"], "trace_request.received");
    assert_eq!(received["data"]["trace_request_id"], request.as_str());
    assert_eq!(received["data"]["from_agency_id"], tg);

    let r = app.post(
        &format!("/v1/trace-requests/{request}/response"),
        &gh_tracer,
        &json!({"outcome": "identified", "firearm_id": gun, "information": "ours, stolen in 2026"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let got = tg_receiver.wait("the answer", |d| !d.is_empty());
    assert!(signed_by(&got[0], &tg_secret));
    let answered = got[0].json();
    assert_eq!(answered["type"], "trace_request.answered");
    assert_eq!(answered["data"]["outcome"], "identified");
    // Neither saw what it did not ask for.
    assert!(gh
        .receiver
        .received()
        .iter()
        .all(|d| d.json()["type"] != "trace_request.answered"));
}

#[test]
fn bad_subscriptions_are_refused_and_write_nothing() {
    let a = agency_with(|s| s.webhooks.allow_private = false);
    let app = &a.reg.app;
    let url = &app.database_url;
    for (body, field) in [
        (
            json!({"url": "http://hooks.example.org/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://127.0.0.1/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://[::1]/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://10.1.2.3/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://169.254.169.254/latest", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://localhost/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "ftp://hooks.example.org/x", "events": ["alert"]}),
            "url",
        ),
        // RFC 6761: no name under .invalid resolves.
        (
            json!({"url": "https://hooks.registry.invalid/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://93.184.215.14/x", "events": ["firearm.deleted"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://93.184.215.14/x", "events": []}),
            "events",
        ),
    ] {
        let r = app.post("/v1/webhooks", &a.admin, &body);
        r.assert_problem(422, "validation_failed");
        assert!(
            r.text.contains(&format!("\"{field}\"")),
            "{body}: {}",
            r.text
        );
    }
    app.post(
        "/v1/webhooks",
        &a.admin,
        &json!({"url": "https://93.184.215.14/x"}),
    )
    .assert_problem(422, "validation_failed");
    // Only an agency's admin subscribes.
    app.post(
        "/v1/webhooks",
        &a.reg.registrar,
        &json!({"url": "https://93.184.215.14/x", "events": ["alert"]}),
    )
    .assert_problem(403, "forbidden");
    assert_eq!(sql_count(url, "SELECT COUNT(*) AS n FROM webhooks"), 0);

    // A public address literal needs no name resolution.
    let r = app.post(
        "/v1/webhooks",
        &a.admin,
        &json!({"url": "https://93.184.215.14/x", "events": ["alert"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id");
    // Another agency's admin sees none of it.
    let other = app.create_agency(&a.reg.admin, "Police nationale", "TG");
    let (_, stranger) = app.create_user(&a.reg.admin, "tg-admin", &other, &["admin"]);
    for path in [
        format!("/v1/webhooks/{id}"),
        format!("/v1/webhooks/{id}/deliveries"),
    ] {
        app.get(&path, &stranger).assert_problem(404, "not_found");
    }
    for path in ["rotate-secret", "disable", "enable"] {
        app.req("POST", &format!("/v1/webhooks/{id}/{path}"))
            .token(&stranger)
            .send()
            .assert_problem(404, "not_found");
    }
    let r = app.get("/v1/webhooks", &stranger);
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    app.get("/v1/webhooks/not-an-id", &a.admin)
        .assert_problem(404, "not_found");
    let replay = format!("/v1/webhooks/{id}/deliveries/msg_0000/replay");
    app.req("POST", &replay)
        .token(&a.admin)
        .send()
        .assert_problem(404, "not_found");
}

#[test]
fn a_disabled_subscription_queues_nothing_and_rows_written_around_it_are_found() {
    let a = agency_with(|_| {});
    let app = &a.reg.app;
    let url = &app.database_url;
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    let r = app
        .req("POST", &format!("/v1/webhooks/{id}/disable"))
        .token(&a.admin)
        .send();
    assert_eq!(r.body["status"], "disabled", "{}", r.text);
    a.reg.register(&pistol("WH-OFF", &a.reg.agency));
    assert_eq!(
        sql_count(url, "SELECT COUNT(*) AS n FROM webhook_messages"),
        0
    );
    let r = app
        .req("POST", &format!("/v1/webhooks/{id}/enable"))
        .token(&a.admin)
        .send();
    assert_eq!(r.body["status"], "active", "{}", r.text);
    a.reg.register(&pistol("WH-ON", &a.reg.agency));
    a.receiver.wait("one message", |d| d.len() == 1);

    // The audit log vouches for every subscription as admins left it.
    let auditor = app.root_user("auditor", None, &["auditor"]);
    wait_integrated(url);
    assert_eq!(app.get("/v1/audit/verify", &auditor).body["valid"], true);
    sql(url, "UPDATE webhooks SET url = 'http://evil.example/'");
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
    sql(
        url,
        &format!("UPDATE webhooks SET url = '{}'", a.receiver.url),
    );
    assert_eq!(app.get("/v1/audit/verify", &auditor).body["valid"], true);
    sql(url, &format!("INSERT INTO webhooks (id, agency_id, url, events, secret, status, failures, version, \
        created_by, created_at, updated_at) VALUES ('{}', '{}', 'https://exfiltrate.example/', '[\"alert\"]', \
        'whsec_AAAA', 'active', 0, 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        uuid::Uuid::now_v7(), a.reg.agency));
    let v = app.get("/v1/audit/verify", &auditor);
    assert_eq!(v.body["valid"], false, "{}", v.text);
    assert!(
        v.body["reason"].as_str().unwrap_or("").contains("webhooks"),
        "{}",
        v.text
    );
}

#[test]
fn two_nodes_send_each_message_once() {
    let a = agency_with(|_| {});
    let hook = subscribe(&a, &["firearm.registered"]);
    let id = hook["id"].as_str().expect("id");
    let other = a.reg.app.second_node(|_| {});
    // Registrations go to both nodes, as a balancer spreads them; both
    // nodes' delivery threads poll the one outbox.
    let agent = ureq::agent();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            &a.reg.app.base
        } else {
            &other.base
        };
        let r = agent
            .post(&format!("{base}/v1/firearms"))
            .set("Authorization", &format!("Bearer {}", a.reg.registrar))
            .send_json(pistol(&format!("NODE-{i}"), &a.reg.agency))
            .expect("registered");
        assert_eq!(r.status(), 201);
    }
    deliveries_when(&a, id, delivered(40));
    let got = a.receiver.received();
    let ids: std::collections::HashSet<_> = got.iter().map(|d| d.header("webhook-id")).collect();
    assert_eq!(ids.len(), 40);
    assert_eq!(got.len(), 40, "a message was sent twice");
    // One attempt a message: neither node sent what the other held.
    let attempts = sql_count(
        &a.reg.app.database_url,
        "SELECT COUNT(*) AS n FROM webhook_attempts",
    );
    assert_eq!(attempts, 40);
    drop(other);
}

/// Kills the registry it holds when the test ends, passed or not.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn nothing_is_lost_or_doubled_across_a_sigkill() {
    use crate::cli::{
        agency_with_users, database_for, http, register_until_killed, registry_cmd, serve_cmd,
        temp_dir,
    };
    let dir = temp_dir();
    let (db, url) = database_for(&dir);
    let receiver = Receiver::start();
    let serve = |dir: &std::path::Path| {
        let mut cmd = registry_cmd(dir, &url);
        cmd.env("REGISTRY_WEBHOOK_ALLOW_PRIVATE", "true");
        serve_cmd(cmd, Some(ADMIN_PASSWORD))
    };
    let (child, port, _) = serve(&dir);
    let (agency, tokens) = agency_with_users(port, &[("reg", "registrar"), ("boss", "admin")]);
    let (registrar, boss) = (&tokens[0], &tokens[1]);
    let (status, hook) = http(
        port,
        "POST",
        "/v1/webhooks",
        Some(boss),
        Some(json!({"url": receiver.url, "events": ["firearm.registered"]})),
    );
    assert_eq!(status, 201, "{hook}");

    let acknowledged = register_until_killed(port, registrar, &agency, &child);
    let mut child = child;
    let _ = child.wait();
    assert!(
        acknowledged.len() > 20,
        "only {} before the kill",
        acknowledged.len()
    );

    let (child, _, _) = serve(&dir);
    let _stop = Kill(child);
    let firearms = sql_count(&url, "SELECT COUNT(*) AS n FROM firearms");
    assert!(firearms >= acknowledged.len() as i64);
    // The receiver keeps one copy per webhook-id, as a receiver that drops
    // duplicates does; every firearm must be there under exactly one id.
    let got = receiver.wait("every registration", |d| {
        let ids: std::collections::HashSet<_> = d.iter().map(|d| d.header("webhook-id")).collect();
        ids.len() as i64 >= firearms
    });
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    for d in &got {
        store
            .entry(d.header("webhook-id").to_string())
            .or_insert_with(|| d.json());
    }
    let mut per_firearm: BTreeMap<String, usize> = BTreeMap::new();
    for body in store.values() {
        let id = body["data"]["firearm_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        *per_firearm.entry(id).or_default() += 1;
    }
    assert_eq!(per_firearm.len() as i64, firearms);
    assert!(
        per_firearm.values().all(|n| *n == 1),
        "a firearm told twice"
    );
    for id in &acknowledged {
        assert!(
            per_firearm.contains_key(id),
            "{id} acknowledged and never delivered"
        );
    }
    assert_eq!(
        sql_count(&url, "SELECT COUNT(*) AS n FROM webhook_messages"),
        firearms
    );
    let _ = std::fs::remove_dir_all(&dir);
    drop(db);
}
