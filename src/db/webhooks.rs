//! Webhook subscriptions, their outbox and delivery attempts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::{webhook_attempts, webhook_messages, webhooks};
use super::DbConn;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhooks, treat_none_as_default_value = false)]
pub struct WebhookRow {
    pub id: String,
    pub agency_id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub status: String,
    pub failures: i32,
    pub blocked_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhook_messages, treat_none_as_default_value = false)]
pub struct MessageRow {
    pub id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhook_attempts, treat_none_as_default_value = false)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: String,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> StoreResult<()> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes what an admin changes: the destination, the events, the
/// secrets, enabled or not. The delivery threads' bookkeeping (failures,
/// hold-back) is theirs alone, so neither overwrites the other.
pub fn update_settings(conn: &mut DbConn, row: &WebhookRow) -> StoreResult<()> {
    use webhooks as w;
    diesel::update(w::table.find(&row.id))
        .set((
            w::url.eq(&row.url),
            w::events.eq(&row.events),
            w::secret.eq(&row.secret),
            w::previous_secret.eq(&row.previous_secret),
            w::previous_secret_until.eq(row.previous_secret_until),
            w::status.eq(&row.status),
            w::version.eq(row.version),
            w::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: one more failure in a row, held back until `until`.
pub fn note_failure(
    conn: &mut DbConn,
    id: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<()> {
    use webhooks as w;
    diesel::update(w::table.find(id))
        .set((w::failures.eq(w::failures + 1), w::blocked_until.eq(until)))
        .execute(conn)?;
    diesel::update(w::table.find(id).filter(w::failing_since.is_null()))
        .set(w::failing_since.eq(now))
        .execute(conn)?;
    Ok(())
}

/// A delivery went through: no failures in a row, nothing held back, and
/// a failing subscription is active again.
pub fn note_success(conn: &mut DbConn, id: &str) -> StoreResult<()> {
    use webhooks as w;
    diesel::update(w::table.find(id))
        .set((
            w::failures.eq(0),
            w::blocked_until.eq(None::<NaiveDateTime>),
            w::failing_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::update(w::table.find(id).filter(w::status.eq("failing")))
        .set(w::status.eq("active"))
        .execute(conn)?;
    Ok(())
}

/// Marks these subscriptions failing where they were active; returns
/// those that turned so: (id, agency, url).
pub fn mark_failing(
    conn: &mut DbConn,
    ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    use webhooks as w;
    Ok(diesel::update(
        w::table
            .filter(w::id.eq_any(ids))
            .filter(w::status.eq("active")),
    )
    .set(w::status.eq("failing"))
    .returning((w::id, w::agency_id, w::url))
    .load(conn)?)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<WebhookRow>> {
    Ok(webhooks::table
        .find(id)
        .select(webhooks::all_columns)
        .first(conn)
        .optional()?)
}

/// One page of an agency's subscriptions, oldest first.
pub fn page(
    conn: &mut DbConn,
    agency_id: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<WebhookRow>> {
    let mut q = webhooks::table
        .filter(webhooks::agency_id.eq(agency_id))
        .order(webhooks::id.asc())
        .limit(limit)
        .select(webhooks::all_columns)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhooks::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The subscriptions of these agencies that take new messages (any but
/// disabled): (id, agency, events as stored).
pub fn subscribers(
    conn: &mut DbConn,
    agencies: &[&str],
) -> StoreResult<Vec<(String, String, String)>> {
    Ok(webhooks::table
        .filter(webhooks::agency_id.eq_any(agencies))
        .filter(webhooks::status.ne("disabled"))
        .select((webhooks::id, webhooks::agency_id, webhooks::events))
        .load(conn)?)
}

pub fn insert_messages(conn: &mut DbConn, rows: &[MessageRow]) -> StoreResult<()> {
    // One statement per row: SQLite's multi-row insert needs a savepoint,
    // and messages come a few at a time.
    for row in rows {
        diesel::insert_into(webhook_messages::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Up to `limit` messages that are due and not held by a live lease, of
/// subscriptions that are neither disabled nor waiting out a failure,
/// the most overdue of each first. Plain reads: most polls find nothing
/// and take no write lock, and each reads one subscription's due
/// messages from the index, never a held-back backlog.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> StoreResult<Vec<String>> {
    let mut open: Vec<String> = webhooks::table
        .filter(webhooks::status.ne("disabled"))
        .filter(
            webhooks::blocked_until
                .is_null()
                .or(webhooks::blocked_until.le(now)),
        )
        .select(webhooks::id)
        .load(conn)?;
    // A random first subscription each round, so that one with a long
    // backlog does not keep the others waiting.
    rand::seq::SliceRandom::shuffle(open.as_mut_slice(), &mut rand::thread_rng());
    let mut due = Vec::new();
    for hook in open {
        let left = limit - due.len() as i64;
        if left <= 0 {
            break;
        }
        due.extend(due_of(hook, now, left).load::<String>(conn)?);
    }
    Ok(due)
}

/// One subscription's due messages. `state = 'pending'` is written out,
/// not bound: SQLite uses a partial index only for a term it can match
/// when the statement is prepared, and with a bound state it sorted the
/// subscription's every message on each poll.
fn due_of(
    hook: String,
    now: NaiveDateTime,
    limit: i64,
) -> impl for<'a> diesel::query_dsl::LoadQuery<'a, DbConn, String>
       + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> {
    use webhook_messages as m;
    m::table
        .filter(m::webhook_id.eq(hook))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "state = 'pending'",
        ))
        .filter(m::next_attempt_at.le(now))
        .filter(m::lease_until.is_null().or(m::lease_until.lt(now)))
        .order(m::next_attempt_at.asc())
        .limit(limit)
        .select(m::id)
}

/// Leases these messages to `owner` until `until`, those still pending
/// and free. The lease is the lock: of several nodes leasing at once,
/// each message goes to one (the update re-checks the lease under the row
/// lock it takes).
pub fn lease(
    conn: &mut DbConn,
    ids: &[String],
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<MessageRow>> {
    use webhook_messages as m;
    Ok(diesel::update(
        m::table
            .filter(m::id.eq_any(ids))
            .filter(m::state.eq("pending"))
            .filter(m::lease_until.is_null().or(m::lease_until.lt(now))),
    )
    .set((m::lease_owner.eq(owner), m::lease_until.eq(until)))
    .returning(m::all_columns)
    .load(conn)?)
}

/// Gives back what a node that is gone held: on start, a node's own
/// leases from before it restarted.
pub fn release_owner(conn: &mut DbConn, owner: &str) -> StoreResult<usize> {
    use webhook_messages as m;
    Ok(diesel::update(m::table.filter(m::lease_owner.eq(owner)))
        .set((
            m::lease_owner.eq(None::<String>),
            m::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?)
}

/// Gives back messages claimed and not attempted.
pub fn release(conn: &mut DbConn, ids: &[String]) -> StoreResult<()> {
    use webhook_messages as m;
    diesel::update(m::table.filter(m::id.eq_any(ids)))
        .set((
            m::lease_owner.eq(None::<String>),
            m::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// What an attempt left a message as.
pub struct Outcome<'a> {
    pub id: &'a str,
    pub state: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status: Option<i32>,
    pub last_error: Option<&'a str>,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn record_outcome(conn: &mut DbConn, o: &Outcome<'_>) -> StoreResult<()> {
    use webhook_messages as m;
    diesel::update(m::table.find(o.id))
        .set((
            m::state.eq(o.state),
            m::attempts.eq(o.attempts),
            m::next_attempt_at.eq(o.next_attempt_at),
            m::last_status.eq(o.last_status),
            m::last_error.eq(o.last_error),
            m::delivered_at.eq(o.delivered_at),
            m::lease_owner.eq(None::<String>),
            m::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_attempts(conn: &mut DbConn, rows: &[AttemptRow]) -> StoreResult<()> {
    for row in rows {
        diesel::insert_into(webhook_attempts::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The endpoint answered again: its pending messages are due now rather
/// than at the later times their failures set.
pub fn pull_forward(conn: &mut DbConn, webhook_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    use webhook_messages as m;
    // Messages another node holds are its to write.
    diesel::update(
        m::table
            .filter(m::webhook_id.eq(webhook_id))
            .filter(m::state.eq("pending"))
            .filter(m::next_attempt_at.gt(now))
            .filter(m::lease_until.is_null().or(m::lease_until.lt(now))),
    )
    .set(m::next_attempt_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Marks `failed` every pending message created before `before`; returns
/// the subscriptions they belong to.
pub fn expire(conn: &mut DbConn, before: NaiveDateTime) -> StoreResult<Vec<String>> {
    use webhook_messages as m;
    let mut ids: Vec<String> = diesel::update(
        m::table
            .filter(m::state.eq("pending"))
            .filter(m::created_at.lt(before)),
    )
    .set(m::state.eq("failed"))
    .returning(m::webhook_id)
    .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

pub fn find_message(conn: &mut DbConn, id: &str) -> StoreResult<Option<MessageRow>> {
    Ok(webhook_messages::table
        .find(id)
        .select(webhook_messages::all_columns)
        .first(conn)
        .optional()?)
}

/// Sends a message again from now: pending, due, its attempts kept.
pub fn requeue(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<()> {
    use webhook_messages as m;
    diesel::update(m::table.find(id))
        .set((
            m::state.eq("pending"),
            m::next_attempt_at.eq(now),
            m::delivered_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// One page of a subscription's messages, oldest first.
pub fn messages(
    conn: &mut DbConn,
    webhook_id: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<MessageRow>> {
    let mut q = webhook_messages::table
        .filter(webhook_messages::webhook_id.eq(webhook_id))
        .order(webhook_messages::id.asc())
        .limit(limit)
        .select(webhook_messages::all_columns)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhook_messages::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The attempts at these messages, oldest first.
pub fn attempts(conn: &mut DbConn, message_ids: &[String]) -> StoreResult<Vec<AttemptRow>> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::message_id.eq_any(message_ids))
        .order((webhook_attempts::message_id, webhook_attempts::id))
        .select(webhook_attempts::all_columns)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    /// A subscription's due messages come from the partial index in
    /// order, without sorting its backlog.
    #[test]
    fn sqlite_reads_due_messages_from_the_due_index() {
        let query = super::due_of("w".into(), crate::db::now(), 32);
        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        let sql = sql.split(" -- binds").next().unwrap_or_default();
        let plan = crate::db::sqlite_plan(&sql.replace('?', "'x'"));
        assert!(
            plan.iter().any(|d| d.contains("webhook_messages_due")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
    }
}
