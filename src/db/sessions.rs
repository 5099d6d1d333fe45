//! Web console sessions: the rows their cookies name. A session is live
//! from its creation until it expires or its user signs out; ended rows are
//! kept.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::console_sessions;
use super::{new_id, DbConn};

/// Opens a session for `user_id` until `expires_at`, and returns its id.
pub fn open(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> StoreResult<String> {
    let id = new_id();
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id.eq(&id),
            console_sessions::user_id.eq(user_id),
            console_sessions::created_at.eq(now),
            console_sessions::expires_at.eq(expires_at),
            console_sessions::ended_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Whether session `id` of `user_id` is still live at `now`.
pub fn is_live(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let found: Option<String> = console_sessions::table
        .find(id)
        .filter(console_sessions::user_id.eq(user_id))
        .filter(console_sessions::ended_at.is_null())
        .filter(console_sessions::expires_at.gt(now))
        .select(console_sessions::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Ends session `id` at `now`; true when it was live until then.
pub fn end(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let ended = diesel::update(
        console_sessions::table
            .find(id)
            .filter(console_sessions::ended_at.is_null()),
    )
    .set(console_sessions::ended_at.eq(now))
    .execute(conn)?;
    Ok(ended == 1)
}
