use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{unique, StoreError, StoreResult};
use super::schema::trace_requests as tr;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = tr, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct TraceRequestRow {
    pub id: String,
    pub reference: String,
    pub from_agency_id: String,
    pub to_agency_id: String,
    pub created_by_user_id: String,
    pub firearm: String,
    pub circumstances: String,
    pub urgency: String,
    pub respond_by: Option<NaiveDateTime>,
    pub status: String,
    pub candidates: String,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
    pub response: Option<String>,
    pub responded_at: Option<NaiveDateTime>,
    pub responded_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The response's outcome, for counting answers (docs/reports.md).
    pub outcome: Option<String>,
    /// The response as a note signed with the audit key.
    pub signed_response: Option<String>,
}

/// Inserts a request; a taken reference answers `duplicate_reference` so
/// the caller can draw another.
pub fn insert(conn: &mut DbConn, row: &TraceRequestRow) -> StoreResult<()> {
    diesel::insert_into(tr::table)
        .values(row)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::DuplicateReference))?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<TraceRequestRow>> {
    Ok(tr::table
        .find(id)
        .select(tr::all_columns)
        .first(conn)
        .optional()?)
}

/// Takes a request for one change (see `firearms::take_for_change`).
pub fn take_for_change(conn: &mut DbConn, id: &str) -> StoreResult<TraceRequestRow> {
    diesel::update(tr::table.find(id))
        .set(tr::version.eq(tr::version + 1))
        .execute(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

pub fn update(conn: &mut DbConn, row: &TraceRequestRow) -> StoreResult<()> {
    diesel::update(tr::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Which requests to list.
pub enum Mailbox {
    Inbox(String),
    Outbox(String),
    All,
}

pub fn page(
    conn: &mut DbConn,
    which: &Mailbox,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<TraceRequestRow>> {
    let mut q = tr::table
        .order(tr::id.asc())
        .limit(limit)
        .select(tr::all_columns)
        .into_boxed();
    q = match which {
        Mailbox::Inbox(agency) => q.filter(tr::to_agency_id.eq(agency.clone())),
        Mailbox::Outbox(agency) => q.filter(tr::from_agency_id.eq(agency.clone())),
        Mailbox::All => q,
    };
    if let Some(status) = status {
        q = q.filter(tr::status.eq(status.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(tr::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}
