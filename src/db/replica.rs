//! Reads from PostgreSQL hot standbys (`REGISTRY_DATABASE_READ_URL`).
//!
//! A standby replays the primary's WAL a little behind it. Reads that can
//! stand that (traces, listings, statistics) go to a standby; a caller who
//! has just written sends back the position its write's answer carried (a
//! [`Lsn`], the `Registry-Consistency` header), and is served by a standby
//! only once it has replayed past it, otherwise by the primary. A standby
//! that cannot be reached rests for a while and the primary serves its reads:
//! a lost standby costs speed, never an answer.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2;
use diesel::sql_types::{Bool, Text};

use super::{on_pooled, ConnectionManager, DbConn, DbTarget, Pool, StoreError, StoreResult};

/// A position in PostgreSQL's write-ahead log, as `pg_lsn` writes it
/// (`16/B374D848`: two hexadecimal halves of a 64-bit offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(u64);

impl FromStr for Lsn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a WAL position such as 0/16B3748");
        let (hi, lo) = s.split_once('/').ok_or_else(bad)?;
        let half = |h: &str| {
            if h.is_empty() || h.len() > 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            u32::from_str_radix(h, 16).map_err(|_| bad())
        };
        Ok(Self((u64::from(half(hi)?) << 32) | u64::from(half(lo)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    lsn: String,
}

#[derive(QueryableByName)]
struct Replayed {
    #[diesel(sql_type = Bool)]
    past: bool,
}

#[derive(QueryableByName)]
struct InRecovery {
    #[diesel(sql_type = Bool)]
    standby: bool,
}

/// How far the primary has written its log: past the commit of every
/// transaction that has returned, so a standby that has replayed up to here
/// shows them all. None on SQLite, which has no standbys.
pub fn written_up_to(conn: &mut DbConn) -> StoreResult<Option<Lsn>> {
    let DbConn::Pg(c) = conn else {
        return Ok(None);
    };
    let row: Position =
        diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn").get_result(c)?;
    row.lsn.parse().map(Some).map_err(StoreError::Inconsistent)
}

/// Whether `conn` is to a standby, which takes no writes.
pub fn is_standby(conn: &mut DbConn) -> bool {
    let DbConn::Pg(c) = conn else {
        return false;
    };
    diesel::sql_query("SELECT pg_is_in_recovery() AS standby")
        .get_result::<InRecovery>(c)
        .is_ok_and(|r| r.standby)
}

/// Whether this server shows everything written up to `after`: a standby
/// that has replayed past it, or a server that is not a standby at all.
fn replayed_past(conn: &mut DbConn, after: Lsn) -> StoreResult<bool> {
    let DbConn::Pg(c) = conn else {
        return Ok(true);
    };
    let row: Replayed = diesel::sql_query(
        "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS past",
    )
    .bind::<Text, _>(after.to_string())
    .get_result(c)?;
    Ok(row.past)
}

/// Which server answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Replica,
    Primary,
}

impl Served {
    pub fn label(self) -> &'static str {
        match self {
            Self::Replica => "replica",
            Self::Primary => "primary",
        }
    }
}

/// How long a standby that failed is left alone before it is tried again.
const REST: Duration = Duration::from_secs(5);
/// How long a read waits for a standby's connection before the primary
/// serves it instead: an unreachable standby must not hold reads up.
const CONNECT_WAIT: Duration = Duration::from_millis(500);

struct Standby {
    pool: Pool,
    resting_until: Mutex<Option<Instant>>,
}

impl Standby {
    fn resting(&self) -> bool {
        self.resting_until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    fn rest(&self, why: &StoreError) {
        tracing::warn!(error = %why, "a read standby failed; the primary serves its reads for a while");
        if let Ok(mut until) = self.resting_until.lock() {
            *until = Some(Instant::now() + REST);
        }
    }
}

/// The standbys reads may go to, taken in turn.
pub struct Replicas {
    standbys: Vec<Standby>,
    next: AtomicUsize,
    by_replica: AtomicU64,
    by_primary: AtomicU64,
}

impl Replicas {
    /// Pools for the standbys `urls` names, separated by white space (a
    /// URL may itself name several hosts, libpq's multi-host form). No
    /// connection is opened yet: a standby that is down at start is
    /// rested like one that goes down later.
    pub fn open(urls: &str, size: Option<u32>) -> Result<Self, String> {
        let mut standbys = Vec::new();
        for url in urls.split_whitespace() {
            let target = DbTarget::parse(url)?;
            if target.is_sqlite() {
                return Err(
                    "REGISTRY_DATABASE_READ_URL names PostgreSQL standbys; SQLite has none".into(),
                );
            }
            let pool = r2d2::Pool::builder()
                .max_size(size.unwrap_or(10))
                .min_idle(Some(0))
                .connection_timeout(CONNECT_WAIT)
                .test_on_check_out(true)
                .build_unchecked(ConnectionManager::for_reads(target));
            standbys.push(Standby {
                pool,
                resting_until: Mutex::new(None),
            });
        }
        if standbys.is_empty() {
            return Err("REGISTRY_DATABASE_READ_URL names no standby".into());
        }
        Ok(Self {
            standbys,
            next: AtomicUsize::new(0),
            by_replica: AtomicU64::new(0),
            by_primary: AtomicU64::new(0),
        })
    }

    /// Runs `f` on a standby that shows every write up to `after`, or on
    /// the primary when none does or none answers. Blocking.
    pub fn read<T, E: From<StoreError>>(
        &self,
        primary: &Pool,
        after: Option<Lsn>,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E> {
        let Some(mut conn) = self.caught_up(after) else {
            self.by_primary.fetch_add(1, Ordering::Relaxed);
            return on_pooled(primary, f);
        };
        self.by_replica.fetch_add(1, Ordering::Relaxed);
        let result = f(&mut conn);
        conn.suspect = result.is_err();
        result
    }

    /// A connection to the next standby, in turn, that answers and has
    /// replayed past `after`; none when no standby does.
    fn caught_up(&self, after: Option<Lsn>) -> Option<r2d2::PooledConnection<ConnectionManager>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.standbys.len() {
            let standby = &self.standbys[(start + i) % self.standbys.len()];
            if standby.resting() {
                continue;
            }
            let mut conn = match standby.pool.get() {
                Ok(conn) => conn,
                Err(e) => {
                    standby.rest(&e.into());
                    continue;
                }
            };
            match after.map_or(Ok(true), |lsn| replayed_past(&mut conn, lsn)) {
                Ok(true) => return Some(conn),
                // Behind: another standby may have caught up, else the primary.
                Ok(false) => {}
                Err(e) => {
                    conn.suspect = true;
                    standby.rest(&e);
                }
            }
        }
        None
    }

    /// Reads served so far by a standby and by the primary.
    pub fn served(&self) -> [(Served, u64); 2] {
        [
            (Served::Replica, self.by_replica.load(Ordering::Relaxed)),
            (Served::Primary, self.by_primary.load(Ordering::Relaxed)),
        ]
    }
}

/// Where one request's reads go: a standby when there is one that has
/// replayed past `after`, else the primary.
#[derive(Clone)]
pub struct Reader {
    primary: Pool,
    replicas: Option<Arc<Replicas>>,
    after: Option<Lsn>,
}

impl Reader {
    pub fn new(primary: Pool, replicas: Option<Arc<Replicas>>, after: Option<Lsn>) -> Self {
        Self {
            primary,
            replicas,
            after,
        }
    }

    /// The primary, for what must be read as it is now (an account).
    pub fn primary(&self) -> &Pool {
        &self.primary
    }

    /// Runs `f` where this request's reads go, off the async runtime.
    pub async fn run<T, E, F>(self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        actix_web::web::block(move || self.read(f))
            .await
            .map_err(|e| E::from(e.into()))?
    }

    /// Runs `f` where this request's reads go. Blocking.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.replicas {
            Some(replicas) => replicas.read(&self.primary, self.after, f),
            None => on_pooled(&self.primary, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_postgres_positions() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!("0/0".parse::<Lsn>().unwrap() < lsn);
    }

    #[test]
    fn refuses_what_is_not_a_position() {
        for bad in [
            "",
            "/",
            "0/",
            "/1",
            "1/2/3",
            "G/1",
            "123456789/0",
            "0/-1",
            " 0/1",
            "0x1/2",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn positions_round_trip_and_keep_their_order(a: u64, b: u64) {
            let (x, y) = (Lsn(a), Lsn(b));
            prop_assert_eq!(x.to_string().parse::<Lsn>(), Ok(x));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            let lower = x.to_string().to_lowercase();
            prop_assert_eq!(lower.parse::<Lsn>(), Ok(x));
        }
    }
}
