//! Forgetting what the registry keeps only for a while: idempotency keys
//! past their retention, and login attempts past every throttle window.
//! Records are never pruned; these two tables hold no record.

use chrono::{Duration, NaiveDateTime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::db::{self, DbConn, Pool, StoreResult};

/// How long what is pruned is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// A retry with the same `Idempotency-Key` replays the first answer
    /// for this long; after it, the key is forgotten.
    pub idempotency_keys: Duration,
    /// Far longer than any throttle window, so pruning never lets a
    /// guess through early.
    pub login_attempts: Duration,
}

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency_keys: usize,
    pub login_attempts: usize,
}

/// Removes what is older than its retention at `now`.
pub fn prune(conn: &mut DbConn, now: NaiveDateTime, keep: Retention) -> StoreResult<Pruned> {
    Ok(Pruned {
        idempotency_keys: db::idempotency::prune(conn, now - keep.idempotency_keys)?,
        login_attempts: db::logins::prune(conn, now - keep.login_attempts)?,
    })
}

/// Erases the personal data that is due (`holders::retention`), as the
/// registry itself, under a request id that names where it ran from.
pub fn erase_due(
    pool: &Pool,
    settings: &crate::config::Settings,
    from: &str,
) -> crate::error::AppResult<crate::holders::retention::RunSummary> {
    let tiers = crate::holders::retention::Tiers::of(settings);
    let actor = crate::audit::AuditActor {
        username: Some("registry".into()),
        request_id: format!("retention-{from}-{}", db::new_id()),
        ..Default::default()
    };
    let mut conn = pool.get().map_err(db::StoreError::from)?;
    crate::holders::retention::run(&mut conn, &tiers, &actor)
}

/// How often the service erases what is due.
const ERASE_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How often the service prunes.
const EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Prunes at start and then every ten minutes, until `stop`.
pub fn spawn(
    pool: Pool,
    keep: Retention,
    settings: crate::config::Settings,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name("housekeeping".into())
        .spawn(move || {
            let mut erased_at: Option<std::time::Instant> = None;
            while !stop.load(Ordering::Relaxed) {
                if erased_at.is_none_or(|t| t.elapsed() >= ERASE_EVERY) {
                    match erase_due(&pool, &settings, "daily") {
                        Ok(s) => {
                            erased_at = Some(std::time::Instant::now());
                            if s.firearms > 0 {
                                tracing::info!(firearms = s.firearms, events = s.events, holders = s.holders, "erased personal data that was due");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "erasing personal data failed; trying again later"),
                    }
                }
                match db::on_pooled(&pool, |c| prune(c, db::now(), keep)) {
                    Ok(p) if p != Pruned::default() => tracing::info!(
                        idempotency_keys = p.idempotency_keys,
                        login_attempts = p.login_attempts,
                        "pruned"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning failed; trying again later"),
                }
                let started = std::time::Instant::now();
                while started.elapsed() < EVERY && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| format!("cannot start the housekeeping thread: {e}"))
}
