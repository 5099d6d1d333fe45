//! Sending the outbox, off every request's path. One thread per node
//! leases due messages (the lease is the lock between nodes), sends them
//! from a few threads at once, and writes what happened in one
//! transaction. A failure delays the message (growing delays with
//! jitter, for the retry window) and holds back its subscription for a
//! while (at most half a minute), so a dead receiver gets one probe at a time,
//! not every message; its first success makes every waiting message due.

use chrono::{Duration as Span, NaiveDateTime};
use rand::Rng;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{give_up, sign, WebhookSettings};
use crate::db::webhooks::{self as store, AttemptRow, MessageRow, Outcome, WebhookRow};
use crate::db::{self, DbConn, Pool, StoreResult};
use crate::domain::webhook::{is_public, DeliveryState, Destination};

/// Messages leased at a time.
const BATCH: i64 = 32;
/// Deliveries in flight at once.
const SENDERS: usize = 8;
/// Covers a batch: BATCH / SENDERS sends in a row, each within TIMEOUT.
const LEASE_SECS: i64 = 60;
/// One delivery, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle node waits before looking again.
const IDLE: Duration = Duration::from_millis(250);
/// How often messages past the retry window are given up on.
const SWEEP: Duration = Duration::from_secs(30);
/// What is kept of a receiver's answer, and read of it at most.
const KEEP_ERROR: usize = 300;
const READ_BODY: u64 = 64 * 1024;

/// The delay before a message's next attempt after `attempts` failures:
/// 5 s doubling to at most 6 h, each drawn within ±20%.
pub fn retry_delay(attempts: i32) -> Span {
    let base = 5_i64.saturating_mul(1 << attempts.clamp(1, 13).saturating_sub(1));
    jitter(base.min(6 * 3600))
}

/// How long a subscription is held back after `failures` failed attempts
/// in a row: 2 s doubling to at most 30 s, so a receiver that comes back
/// is found within 36 s and its backlog sent within the minute.
pub fn hold_back(failures: i32) -> Span {
    let base = 1_i64 << failures.clamp(1, 5);
    jitter(base.min(30))
}

fn jitter(secs: i64) -> Span {
    let ms = secs * 1000;
    Span::milliseconds(rand::thread_rng().gen_range(ms * 4 / 5..=ms * 6 / 5))
}

/// Connects only to public addresses: the name is resolved here, at
/// delivery time, and what it resolves to is what is checked and used,
/// so a name that turns private later (DNS rebinding) is caught.
struct PublicOnly;

impl ureq::Resolver for PublicOnly {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        let public: Vec<SocketAddr> = netloc
            .to_socket_addrs()?
            .filter(|a| is_public(a.ip()))
            .collect();
        if public.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{netloc} resolves to no public address"),
            ));
        }
        Ok(public)
    }
}

fn agent(allow_private: bool) -> ureq::Agent {
    let builder = ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .timeout_connect(CONNECT_TIMEOUT)
        .redirects(0)
        .user_agent(concat!("registry-webhooks/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder.build()
    } else {
        builder.resolver(PublicOnly).build()
    }
}

/// What one send came to.
struct Sent {
    message: MessageRow,
    /// None: not attempted (its subscription failed earlier in the batch).
    result: Option<Attempt>,
}

struct Attempt {
    at: NaiveDateTime,
    status: Option<u16>,
    error: Option<String>,
    millis: i64,
}

impl Attempt {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends one message as Standard Webhooks says: the stored payload, its
/// id, this attempt's time, and a signature with every valid secret.
fn send(agent: &ureq::Agent, hook: &WebhookRow, m: &MessageRow, allow_private: bool) -> Attempt {
    let at = db::now();
    let started = Instant::now();
    let mut secrets = vec![hook.secret.as_str()];
    if let (Some(old), Some(until)) = (&hook.previous_secret, hook.previous_secret_until) {
        if until > at {
            secrets.push(old);
        }
    }
    let timestamp = at.and_utc().timestamp();
    let signature = sign::signature(&secrets, &m.id, timestamp, m.payload.as_bytes());
    let answer = match Destination::parse(&hook.url, allow_private) {
        Err(e) => Err(format!("refused: the URL {e}")),
        Ok(to) => match agent
            .post(to.as_str())
            .set("content-type", "application/json")
            .set("webhook-id", &m.id)
            .set("webhook-timestamp", &timestamp.to_string())
            .set("webhook-signature", &signature)
            .send_bytes(m.payload.as_bytes())
        {
            // ureq reports 4xx and 5xx as errors that carry the answer.
            Ok(res) | Err(ureq::Error::Status(_, res)) => Ok(res),
            Err(e) => Err(e.to_string()),
        },
    };
    let (status, error) = match answer {
        Ok(res) => {
            let status = res.status();
            let mut body = String::new();
            // Read to the end (within reason) so the connection is reused.
            let _ = res.into_reader().take(READ_BODY).read_to_string(&mut body);
            let error = (!(200..300).contains(&status)).then(|| {
                if (300..400).contains(&status) {
                    format!("status {status}: redirects are not followed")
                } else {
                    clip(&format!("status {status}: {body}"))
                }
            });
            (Some(status), error)
        }
        Err(e) => (None, Some(clip(&e))),
    };
    Attempt {
        at,
        status,
        error,
        millis: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(KEEP_ERROR).collect()
}

/// One node's delivery loop.
pub struct Deliverer {
    pool: Pool,
    settings: WebhookSettings,
    owner: String,
    agent: ureq::Agent,
}

impl Deliverer {
    pub fn new(pool: Pool, settings: WebhookSettings, owner: String) -> Self {
        let agent = agent(settings.allow_private);
        Self {
            pool,
            settings,
            owner,
            agent,
        }
    }

    /// Runs until `stop`, first taking back what this node held before a
    /// crash.
    pub fn spawn(self, stop: Arc<AtomicBool>) -> Result<std::thread::JoinHandle<()>, String> {
        match db::on_pooled(&self.pool, |c| store::release_owner(c, &self.owner)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                messages = n,
                "took back webhook messages leased before a restart"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot take back leased webhook messages"),
        }
        std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || {
                let mut swept = Instant::now() - SWEEP;
                while !stop.load(Ordering::Relaxed) {
                    if swept.elapsed() >= SWEEP {
                        swept = Instant::now();
                        if let Err(e) = self.sweep() {
                            tracing::warn!(error = %e, "giving up on old webhook messages failed");
                        }
                    }
                    match self.round() {
                        Ok(0) => std::thread::sleep(IDLE),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook delivery round failed; trying again");
                            std::thread::sleep(IDLE * 4);
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start the webhook thread: {e}"))
    }

    /// Gives up on messages past the retry window that no attempt did.
    fn sweep(&self) -> crate::error::AppResult<()> {
        let before = db::now() - self.settings.retry_for;
        let mut conn = self.pool.get().map_err(db::StoreError::from)?;
        db::write_tx(&mut conn, |c| {
            let hooks = store::expire(c, before)?;
            give_up(c, &hooks)
        })
    }

    /// Leases, sends and records one batch; the number leased.
    pub fn round(&self) -> crate::error::AppResult<usize> {
        let mut conn = self.pool.get().map_err(db::StoreError::from)?;
        let now = db::now();
        let due = store::due(&mut conn, now, BATCH)?;
        if due.is_empty() {
            return Ok(0);
        }
        let until = now + Span::seconds(LEASE_SECS);
        let leased = db::write_tx(&mut conn, |c| {
            store::lease(c, &due, &self.owner, now, until)
        })?;
        let n = leased.len();
        let hooks = hooks_of(&mut conn, &leased)?;
        drop(conn);
        let sent = self.send_all(leased, &hooks);
        let mut conn = self.pool.get().map_err(db::StoreError::from)?;
        let retry_for = self.settings.retry_for;
        db::write_tx(&mut conn, |c| record(c, &hooks, sent, retry_for))?;
        Ok(n)
    }

    /// Sends a batch from up to SENDERS threads. After a subscription's
    /// first failure in the batch, its other messages wait.
    fn send_all(&self, leased: Vec<MessageRow>, hooks: &BTreeMap<String, WebhookRow>) -> Vec<Sent> {
        let queue = Mutex::new(VecDeque::from(leased));
        let failed = Mutex::new(HashSet::new());
        let done = Mutex::new(Vec::new());
        let allow_private = self.settings.allow_private;
        // The queue's lock is taken and let go inside `next`, not held
        // through a send.
        let next = || queue.lock().ok().and_then(|mut q| q.pop_front());
        std::thread::scope(|s| {
            for _ in 0..SENDERS {
                s.spawn(|| {
                    while let Some(message) = next() {
                        let hook = hooks.get(&message.webhook_id);
                        let skip = hook.is_none_or(|h| {
                            failed.lock().map(|f| f.contains(&h.id)).unwrap_or(true)
                        });
                        let result = match hook {
                            Some(h) if !skip => Some(send(&self.agent, h, &message, allow_private)),
                            _ => None,
                        };
                        if result.as_ref().is_some_and(|r| !r.ok()) {
                            if let Ok(mut f) = failed.lock() {
                                f.insert(message.webhook_id.clone());
                            }
                        }
                        if let Ok(mut d) = done.lock() {
                            d.push(Sent { message, result });
                        }
                    }
                });
            }
        });
        done.into_inner().unwrap_or_default()
    }
}

fn hooks_of(c: &mut DbConn, messages: &[MessageRow]) -> StoreResult<BTreeMap<String, WebhookRow>> {
    let mut hooks = BTreeMap::new();
    for m in messages {
        if !hooks.contains_key(&m.webhook_id) {
            if let Some(h) = store::find(c, &m.webhook_id)? {
                hooks.insert(h.id.clone(), h);
            }
        }
    }
    Ok(hooks)
}

/// Writes a batch's attempts, the messages' new states and what they
/// say of each subscription, in the caller's transaction.
fn record(
    c: &mut DbConn,
    hooks: &BTreeMap<String, WebhookRow>,
    sent: Vec<Sent>,
    retry_for: Span,
) -> crate::error::AppResult<()> {
    let now = db::now();
    let mut untried = Vec::new();
    let mut attempts = Vec::new();
    // Per subscription: whether any attempt succeeded, failed.
    let mut heard: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    let mut gave_up = Vec::new();
    for Sent { message: m, result } in &sent {
        let Some(a) = result else {
            untried.push(m.id.clone());
            continue;
        };
        let tried = m.attempts + 1;
        let ok = a.ok();
        let entry = heard.entry(m.webhook_id.as_str()).or_default();
        entry.0 |= ok;
        entry.1 |= !ok;
        let next = now + retry_delay(tried);
        let expired = !ok && next > m.created_at + retry_for;
        let state = match (ok, expired) {
            (true, _) => DeliveryState::Delivered,
            (false, true) => DeliveryState::Failed,
            (false, false) => DeliveryState::Pending,
        };
        if expired {
            gave_up.push(m.webhook_id.clone());
        }
        store::record_outcome(
            c,
            &Outcome {
                id: &m.id,
                state: state.as_str(),
                attempts: tried,
                next_attempt_at: if ok { m.next_attempt_at } else { next },
                last_status: a.status.map(i32::from),
                last_error: a.error.as_deref(),
                delivered_at: ok.then_some(a.at),
            },
        )?;
        attempts.push(AttemptRow {
            id: db::new_id(),
            message_id: m.id.clone(),
            attempted_at: a.at,
            status_code: a.status.map(i32::from),
            error: a.error.clone(),
            duration_ms: a.millis,
        });
    }
    store::insert_attempts(c, &attempts)?;
    if !untried.is_empty() {
        store::release(c, &untried)?;
    }
    for (id, (any_ok, any_failed)) in heard {
        if any_ok {
            if hooks.get(id).is_some_and(|h| h.failures > 0) {
                store::pull_forward(c, id, now)?;
            }
            store::note_success(c, id)?;
        } else if any_failed {
            let failures = hooks.get(id).map_or(1, |h| h.failures + 1);
            store::note_failure(c, id, now + hold_back(failures), now)?;
        }
    }
    gave_up.sort();
    gave_up.dedup();
    give_up(c, &gave_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolver_gives_no_private_address() {
        use ureq::Resolver;
        for netloc in [
            "localhost:443",
            "127.0.0.1:443",
            "[::1]:443",
            "10.0.0.1:443",
            "169.254.169.254:80",
        ] {
            let err = PublicOnly.resolve(netloc).unwrap_err();
            assert!(
                err.to_string().contains("no public address"),
                "{netloc}: {err}"
            );
        }
        assert_eq!(
            PublicOnly.resolve("93.184.215.14:443").unwrap(),
            vec!["93.184.215.14:443".parse().unwrap()]
        );
    }

    #[test]
    fn delays_grow_and_stay_bounded() {
        let secs = |d: Span| d.num_milliseconds() as f64 / 1000.0;
        assert!((4.0..=6.0).contains(&secs(retry_delay(1))));
        assert!((8.0..=12.0).contains(&secs(retry_delay(2))));
        assert!(secs(retry_delay(30)) <= 6.0 * 3600.0 * 1.2);
        assert!(secs(hold_back(1)) <= 2.4 && secs(hold_back(50)) <= 36.0);
        // Over 72 hours, a dead receiver is tried a few dozen times.
        let (mut t, mut n) = (0.0, 0);
        while t < 72.0 * 3600.0 {
            n += 1;
            t += secs(retry_delay(n));
        }
        assert!((15..40).contains(&n), "{n} attempts");
    }
}
