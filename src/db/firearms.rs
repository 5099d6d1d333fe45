//! Firearm rows, their identifier index, and their history events.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{firearm_events, firearm_identifiers, firearms};
use super::{is_unique_violation, DbConn};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = firearms)]
pub struct FirearmRow {
    pub id: String,
    pub category: String,
    pub manufacturer: String,
    pub manufacturer_key: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country_of_manufacture: String,
    pub year_of_manufacture: Option<i32>,
    pub serial_number: String,
    pub serial_normalized: String,
    pub markings: String,
    pub components: String,
    pub status: String,
    pub owner: String,
    pub custodian: Option<String>,
    pub responsible_agency_id: String,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = firearm_identifiers)]
pub struct IdentifierInsertForm {
    pub firearm_id: String,
    pub position: i32,
    /// `serial`, `component` or `marking`.
    pub source: String,
    pub kind: String,
    pub text: String,
    pub normalized: String,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = firearm_events)]
pub struct EventRow {
    pub id: String,
    pub firearm_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
    pub recorded_by_user_id: String,
    pub recorded_by_username: String,
    pub recorded_by_agency_id: Option<String>,
    pub details: String,
}

/// Everything one registration writes.
pub struct Registration {
    pub firearm: FirearmRow,
    pub identifiers: Vec<IdentifierInsertForm>,
    pub event: EventRow,
}

/// Rows per multi-row INSERT: well under both backends' bind limits.
const CHUNK: usize = 400;

/// Multi-row inserts do not compile on the multi-backend connection, so
/// this is the one place that runs them on the concrete connections.
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(CHUNK) {
            match $conn {
                DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c),
                DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c),
            }
            .map_err(map_insert_error)?;
        }
    };
}

fn map_insert_error(e: diesel::result::Error) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict(
            "duplicate_marking",
            "a firearm with this unique marking (country of manufacture, manufacturer, serial number) is already registered",
        )
    } else {
        e.into()
    }
}

/// Writes registrations in batches. A unique-marking violation answers 409
/// `duplicate_marking`; the caller's transaction then writes nothing.
pub fn insert(conn: &mut DbConn, regs: &[Registration]) -> AppResult<()> {
    let firearm_rows: Vec<&FirearmRow> = regs.iter().map(|r| &r.firearm).collect();
    let firearm_rows: Vec<FirearmRow> = firearm_rows.into_iter().cloned().collect();
    insert_chunks!(conn, firearms::table, firearm_rows);
    let identifiers: Vec<IdentifierInsertForm> = regs
        .iter()
        .flat_map(|r| r.identifiers.iter().cloned())
        .collect();
    insert_chunks!(conn, firearm_identifiers::table, identifiers);
    let events: Vec<EventRow> = regs.iter().map(|r| r.event.clone()).collect();
    insert_chunks!(conn, firearm_events::table, events);
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> AppResult<Option<FirearmRow>> {
    Ok(firearms::table
        .find(id)
        .select(firearms::all_columns)
        .first(conn)
        .optional()?)
}

/// The id of the firearm holding a unique marking, if any.
pub fn find_by_marking(
    conn: &mut DbConn,
    country: &str,
    manufacturer_key: &str,
    serial_normalized: &str,
) -> AppResult<Option<String>> {
    Ok(firearms::table
        .filter(firearms::country_of_manufacture.eq(country))
        .filter(firearms::manufacturer_key.eq(manufacturer_key))
        .filter(firearms::serial_normalized.eq(serial_normalized))
        .select(firearms::id)
        .first(conn)
        .optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub status: Option<String>,
    pub category: Option<String>,
    pub manufacturer_key: Option<String>,
    pub country_of_manufacture: Option<String>,
    pub responsible_agency_id: Option<String>,
}

/// One page of firearms in id (creation) order. Keyset pagination on the id
/// means rows inserted while a client pages never shift the pages it has
/// yet to read: no row is skipped or repeated.
pub fn page(
    conn: &mut DbConn,
    filters: &Filters,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<FirearmRow>> {
    let mut q = firearms::table
        .select(firearms::all_columns)
        .order(firearms::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(v) = &filters.status {
        q = q.filter(firearms::status.eq(v.clone()));
    }
    if let Some(v) = &filters.category {
        q = q.filter(firearms::category.eq(v.clone()));
    }
    if let Some(v) = &filters.manufacturer_key {
        q = q.filter(firearms::manufacturer_key.eq(v.clone()));
    }
    if let Some(v) = &filters.country_of_manufacture {
        q = q.filter(firearms::country_of_manufacture.eq(v.clone()));
    }
    if let Some(v) = &filters.responsible_agency_id {
        q = q.filter(firearms::responsible_agency_id.eq(v.clone()));
    }
    if let Some(after) = after {
        q = q.filter(firearms::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

pub fn events(conn: &mut DbConn, firearm_id: &str) -> AppResult<Vec<EventRow>> {
    Ok(firearm_events::table
        .filter(firearm_events::firearm_id.eq(firearm_id))
        .order(firearm_events::sequence.asc())
        .select(firearm_events::all_columns)
        .load(conn)?)
}
