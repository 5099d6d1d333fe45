//! Failed-login records behind throttling. They live in the database so a
//! restart does not hand an attacker a fresh set of guesses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::{login_failures, users};
use super::{new_id, DbConn};

pub fn record_failure(
    conn: &mut DbConn,
    username_key: &str,
    client_ip: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(new_id()),
            login_failures::username_key.eq(username_key),
            login_failures::client_ip.eq(client_ip),
            login_failures::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whose failures to count.
pub enum Subject<'a> {
    Username(&'a str),
    ClientIp(&'a str),
}

/// The number of failures of `subject` since `since`, and the oldest of them
/// (from which the caller tells when the window frees up). A username's
/// failures before its last successful login do not count.
pub fn failures_since(
    conn: &mut DbConn,
    subject: Subject<'_>,
    since: NaiveDateTime,
) -> StoreResult<(i64, Option<NaiveDateTime>)> {
    let mut since = since;
    let mut q = login_failures::table
        .select(login_failures::at)
        .order(login_failures::at.asc())
        .into_boxed();
    match subject {
        Subject::Username(key) => {
            let last_login: Option<NaiveDateTime> = users::table
                .filter(users::username_key.eq(key))
                .select(users::last_login_at)
                .first::<Option<NaiveDateTime>>(conn)
                .optional()?
                .flatten();
            since = last_login.map_or(since, |l| l.max(since));
            q = q.filter(login_failures::username_key.eq(key.to_string()));
        }
        Subject::ClientIp(ip) => q = q.filter(login_failures::client_ip.eq(ip.to_string())),
    }
    let rows: Vec<NaiveDateTime> = q.filter(login_failures::at.gt(since)).load(conn)?;
    Ok((rows.len() as i64, rows.first().copied()))
}
