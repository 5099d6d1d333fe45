//! Login attempts behind throttling. They live in the database so a
//! restart does not hand an attacker a fresh set of guesses, and every
//! process serving the registry shares them.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::error::StoreResult;
use super::schema::{login_failures, users};
use super::{new_id, DbConn};

/// How many failures are allowed within a window before attempts wait.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For one username from one address.
    pub per_username_and_address: i64,
    /// For one address, whatever the usernames (password spraying).
    pub per_address: i64,
    pub window: Duration,
}

/// An attempt that was let through, to be settled once its password is
/// checked.
pub struct Attempt(String);

/// Whether an attempt may go ahead.
pub enum Admission {
    Admitted(Attempt),
    /// Refused until this time, when the oldest counted failure leaves
    /// the window.
    Throttled {
        until: NaiveDateTime,
    },
}

/// On PostgreSQL, attempts for the same key take turns for the rest of the
/// transaction; SQLite's write transaction is already exclusive.
fn take_turn(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    if let DbConn::Pg(c) = conn {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(i64::from_be_bytes(first))
            .execute(c)?;
    }
    Ok(())
}

/// The failures counted against a subject since `since`, oldest first.
fn failures(
    conn: &mut DbConn,
    username_key: Option<&str>,
    client_ip: &str,
    since: NaiveDateTime,
) -> StoreResult<Vec<NaiveDateTime>> {
    let mut q = login_failures::table
        .select(login_failures::at)
        .filter(login_failures::client_ip.eq(client_ip.to_string()))
        .filter(login_failures::succeeded.eq(false))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.asc())
        .into_boxed();
    if let Some(key) = username_key {
        q = q.filter(login_failures::username_key.eq(key.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Counts an attempt before its password is checked, in one step with the
/// check of the limits: of many concurrent attempts, no more than the
/// limit are let through. A username's failures before its last successful
/// login do not count. Must run in a write transaction.
pub fn begin_attempt(
    conn: &mut DbConn,
    username_key: &str,
    client_ip: &str,
    now: NaiveDateTime,
    limits: Limits,
) -> StoreResult<Admission> {
    take_turn(conn, &format!("address:{client_ip}"))?;
    let since = now - limits.window;
    let by_address = failures(conn, None, client_ip, since)?;
    let last_login: Option<NaiveDateTime> = users::table
        .filter(users::username_key.eq(username_key))
        .select(users::last_login_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten();
    let pair_since = last_login.map_or(since, |l| l.max(since));
    let by_pair = failures(conn, Some(username_key), client_ip, pair_since)?;
    // The window frees when the oldest counted failure leaves it. A limit
    // of 0 with nothing counted yet refuses until a full window from now.
    let over = |counted: &[NaiveDateTime], limit: i64| {
        (counted.len() as i64 >= limit)
            .then(|| counted.first().copied().unwrap_or(now) + limits.window)
    };
    let until = [
        over(&by_address, limits.per_address),
        over(&by_pair, limits.per_username_and_address),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(until) = until {
        return Ok(Admission::Throttled { until });
    }
    let id = new_id();
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(&id),
            login_failures::username_key.eq(username_key),
            login_failures::client_ip.eq(client_ip),
            login_failures::at.eq(now),
            login_failures::succeeded.eq(false),
        ))
        .execute(conn)?;
    Ok(Admission::Admitted(Attempt(id)))
}

/// The attempt's password was right: it no longer counts as a failure.
pub fn succeeded(conn: &mut DbConn, attempt: &Attempt) -> StoreResult<()> {
    diesel::update(login_failures::table.find(&attempt.0))
        .set(login_failures::succeeded.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Forgets attempts that left every window before `before`; they throttle
/// nothing any more.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(login_failures::table.filter(login_failures::at.lt(before)))
            .execute(conn)?,
    )
}
