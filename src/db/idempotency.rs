//! `Idempotency-Key` reservations. A key is reserved before the request
//! runs, so two concurrent retries cannot both write, and the response is
//! kept so that a retry replays it.
//!
//! A key moves from `pending` to `applied` inside the transaction of the
//! request's write, and to `done` once the answer is stored. A write whose
//! commit was cut off (the database failed over as it committed) answers
//! 503 without knowing whether it took; its key then tells: still
//! `pending`, nothing was written and the key is released for the retry;
//! `applied`, the write took and is not done again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::idempotency_keys as ik;
use super::{is_unique_violation, DbConn};

/// A response kept for replay.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    /// JSON object of the headers worth replaying (content type, location, etag).
    pub headers: String,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Reservation {
    /// The key is new and now reserved for this request.
    Fresh,
    /// The same request was answered before.
    Replay(StoredResponse),
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key has not finished.
    InProgress,
    /// The first request's write took, but its answer was not stored.
    Applied,
}

/// The key of the request being served, for its write to mark.
#[derive(Debug, Clone)]
pub struct HeldKey {
    pub scope: String,
    pub key: String,
}

tokio::task_local! {
    static REQUEST_KEY: HeldKey;
}

thread_local! {
    static APPLYING: std::cell::RefCell<Option<HeldKey>> = const { std::cell::RefCell::new(None) };
}

/// Serves `f` (a request) holding `key`: its writes mark it applied.
pub async fn holding<F: std::future::Future>(key: HeldKey, f: F) -> F::Output {
    REQUEST_KEY.scope(key, f).await
}

/// The key the request being served holds, if any.
pub(crate) fn held() -> Option<HeldKey> {
    REQUEST_KEY.try_with(Clone::clone).ok()
}

/// Runs `f` on this (blocking) thread with `key` as the one its write
/// transactions mark.
pub(crate) fn applying<T>(key: Option<HeldKey>, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            APPLYING.with(|a| a.borrow_mut().take());
        }
    }
    APPLYING.with(|a| *a.borrow_mut() = key);
    let _reset = Reset;
    f()
}

/// Marks the key of the write being committed as applied, in its
/// transaction; nothing when this thread serves no key.
pub(crate) fn mark_applied(conn: &mut DbConn) -> StoreResult<()> {
    let Some(k) = APPLYING.with(|a| a.borrow().clone()) else {
        return Ok(());
    };
    diesel::update(
        ik::table
            .find((&k.scope, &k.key))
            .filter(ik::state.eq("pending")),
    )
    .set(ik::state.eq("applied"))
    .execute(conn)?;
    Ok(())
}

pub struct KeyRef<'a> {
    pub scope: &'a str,
    pub key: &'a str,
}

/// A key as one attempt holds it: `holder` names the attempt, so that it
/// releases its own reservation and never another attempt's.
pub struct Held<'a> {
    pub key: KeyRef<'a>,
    pub holder: &'a str,
}

pub fn reserve(
    conn: &mut DbConn,
    held: &Held<'_>,
    method: &str,
    path: &str,
    request_hash: &str,
    now: NaiveDateTime,
) -> StoreResult<Reservation> {
    let k = &held.key;
    let inserted = diesel::insert_into(ik::table)
        .values((
            ik::holder.eq(held.holder),
            ik::scope.eq(k.scope),
            ik::idem_key.eq(k.key),
            ik::method.eq(method),
            ik::path.eq(path),
            ik::request_hash.eq(request_hash),
            ik::state.eq("pending"),
            ik::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(Reservation::Fresh),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    let (hash, state, status, headers, body): (
        String,
        String,
        Option<i32>,
        Option<String>,
        Option<Vec<u8>>,
    ) = ik::table
        .find((k.scope, k.key))
        .select((
            ik::request_hash,
            ik::state,
            ik::status_code,
            ik::response_headers,
            ik::response_body,
        ))
        .first(conn)?;
    if hash != request_hash {
        return Ok(Reservation::Mismatch);
    }
    match (state.as_str(), status) {
        ("done", Some(status)) => Ok(Reservation::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: headers.unwrap_or_else(|| "{}".into()),
            body: body.unwrap_or_default(),
        })),
        ("applied", _) => Ok(Reservation::Applied),
        _ => Ok(Reservation::InProgress),
    }
}

pub fn complete(
    conn: &mut DbConn,
    k: &KeyRef<'_>,
    response: &StoredResponse,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(ik::table.find((k.scope, k.key)))
        .set((
            ik::state.eq("done"),
            ik::status_code.eq(i32::from(response.status)),
            ik::response_headers.eq(&response.headers),
            ik::response_body.eq(&response.body),
            ik::completed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Frees a key whose request failed and wrote nothing, so it can be
/// retried: only while `pending`, and only the attempt's own reservation.
pub fn release(conn: &mut DbConn, held: &Held<'_>) -> StoreResult<()> {
    diesel::delete(
        ik::table
            .find((held.key.scope, held.key.key))
            .filter(ik::state.eq("pending"))
            .filter(ik::holder.eq(held.holder)),
    )
    .execute(conn)?;
    Ok(())
}

/// Forgets keys reserved before `before`: a retry after that runs anew.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(ik::table.filter(ik::created_at.lt(before))).execute(conn)?)
}
