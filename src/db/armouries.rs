//! Armouries, their stock checks, what each check expected and what was
//! sighted.

use chrono::NaiveDateTime;
use diesel::expression::IntoSql;
use diesel::prelude::*;
use std::collections::HashSet;

use super::error::{unique, StoreError, StoreResult};
use super::schema::{
    armouries, firearms, stock_check_expected, stock_check_seen, stock_check_sightings,
    stock_checks,
};
use super::DbConn;
use crate::domain::{CountryCode, Holder, HolderKind};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = armouries)]
pub struct ArmouryRow {
    pub id: String,
    pub agency_id: String,
    pub name: String,
    pub name_key: String,
    pub kind: String,
    pub location: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &ArmouryRow) -> StoreResult<()> {
    diesel::insert_into(armouries::table)
        .values(row)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::DuplicateArmoury))?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<ArmouryRow>> {
    Ok(armouries::table
        .find(id)
        .select(armouries::all_columns)
        .first(conn)
        .optional()?)
}

/// The armoury as a holder, as events and registrations record it: of
/// kind `agency`, with its name, its agency's id and country.
pub fn holder(conn: &mut DbConn, id: &str) -> StoreResult<Option<Holder>> {
    let Some(armoury) = find(conn, id)? else {
        return Ok(None);
    };
    let agency = super::agencies::find(conn, &armoury.agency_id)?;
    Ok(Some(Holder {
        kind: HolderKind::Agency,
        name: armoury.name,
        reference: None,
        country: agency.and_then(|a| CountryCode::parse(&a.country).ok()),
        agency_id: Some(armoury.agency_id),
        armoury_id: Some(armoury.id),
        holder_id: None,
    }))
}

/// One page of armouries in creation order; of one agency, or of all.
pub fn page(
    conn: &mut DbConn,
    agency_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<ArmouryRow>> {
    let mut q = armouries::table
        .select(armouries::all_columns)
        .order(armouries::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(agency) = agency_id {
        q = q.filter(armouries::agency_id.eq(agency.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(armouries::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = stock_checks, treat_none_as_null = true)]
pub struct CheckRow {
    pub id: String,
    pub armoury_id: String,
    pub agency_id: String,
    pub reference: String,
    pub status: String,
    pub expected: i64,
    pub sightings: i64,
    pub seen: i64,
    pub opened_by: String,
    pub opened_by_username: String,
    pub opened_at: NaiveDateTime,
    pub closed_by: Option<String>,
    pub closed_by_username: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub missing_action: Option<String>,
    pub notes: Option<String>,
    /// The report as closed (JSON); a closed check's report is this, not
    /// recomputed from firearms that have moved on since.
    pub report: Option<String>,
    pub version: i64,
}

/// The statuses a firearm is physically kept in; lost, stolen, exported
/// or destroyed firearms are not expected on a shelf.
pub const KEPT: [&str; 3] = ["active", "seized", "deactivated"];

/// Opens a check: writes it, and as what it expects the firearms the
/// armoury holds now, in one statement. Answers how many.
pub fn open(conn: &mut DbConn, check: &CheckRow) -> StoreResult<i64> {
    diesel::insert_into(stock_checks::table)
        .values(check)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::OpenCheck))?;
    let held = firearms::table
        .filter(firearms::armoury_id.eq(&check.armoury_id))
        .filter(firearms::status.eq_any(KEPT))
        .select((
            check.id.clone().into_sql::<diesel::sql_types::Text>(),
            firearms::id,
        ));
    let n = diesel::insert_into(stock_check_expected::table)
        .values(held)
        .into_columns((
            stock_check_expected::check_id,
            stock_check_expected::firearm_id,
        ))
        .execute(conn)?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

pub fn find_check(conn: &mut DbConn, id: &str) -> StoreResult<Option<CheckRow>> {
    Ok(stock_checks::table
        .find(id)
        .select(stock_checks::all_columns)
        .first(conn)
        .optional()?)
}

/// Takes a check for a change: its row locked on PostgreSQL (SQLite's
/// write transaction already holds the database), so sightings and the
/// close apply one after another.
pub fn take_check(conn: &mut DbConn, id: &str) -> StoreResult<CheckRow> {
    let q = stock_checks::table
        .find(id)
        .select(stock_checks::all_columns);
    let row = match conn {
        DbConn::Pg(c) => q.for_update().first(c).optional()?,
        DbConn::Sqlite(c) => q.first(c).optional()?,
    };
    row.ok_or(StoreError::NotFound)
}

pub fn update_check(conn: &mut DbConn, row: &CheckRow) -> StoreResult<()> {
    let n = diesel::update(stock_checks::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Inconsistent(format!(
            "stock check {} updated {n} rows",
            row.id
        )))
    }
}

/// Which of `ids` the check expects.
pub fn expected_among(
    conn: &mut DbConn,
    check_id: &str,
    ids: &[String],
) -> StoreResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(super::CHUNK) {
        let rows: Vec<String> = stock_check_expected::table
            .filter(stock_check_expected::check_id.eq(check_id))
            .filter(stock_check_expected::firearm_id.eq_any(chunk))
            .select(stock_check_expected::firearm_id)
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

#[derive(Insertable)]
#[diesel(table_name = stock_check_seen)]
struct SeenRow<'a> {
    check_id: &'a str,
    firearm_id: &'a str,
}

/// Marks `ids` (each once) as sighted in the check, answering those that
/// were not sighted before: the rest are duplicates.
pub fn mark_seen(
    conn: &mut DbConn,
    check_id: &str,
    ids: &[String],
) -> StoreResult<HashSet<String>> {
    let mut new = HashSet::new();
    for chunk in ids.chunks(super::CHUNK) {
        let rows: Vec<SeenRow> = chunk
            .iter()
            .map(|id| SeenRow {
                check_id,
                firearm_id: id,
            })
            .collect();
        let inserted: Vec<String> = match conn {
            DbConn::Pg(c) => diesel::insert_into(stock_check_seen::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .returning(stock_check_seen::firearm_id)
                .get_results(c)?,
            // diesel runs a multi-row RETURNING insert on SQLite row by row
            // and takes a row the conflict skipped for an error. The write
            // transaction holds the whole database, so what is already
            // there cannot change between the look and the insert.
            DbConn::Sqlite(c) => {
                let before: HashSet<String> = stock_check_seen::table
                    .filter(stock_check_seen::check_id.eq(check_id))
                    .filter(stock_check_seen::firearm_id.eq_any(chunk))
                    .select(stock_check_seen::firearm_id)
                    .load::<String>(c)?
                    .into_iter()
                    .collect();
                let fresh: Vec<SeenRow> = rows
                    .into_iter()
                    .filter(|r| !before.contains(r.firearm_id))
                    .collect();
                if !fresh.is_empty() {
                    diesel::insert_into(stock_check_seen::table)
                        .values(&fresh)
                        .execute(c)?;
                }
                fresh.iter().map(|r| r.firearm_id.to_string()).collect()
            }
        };
        new.extend(inserted);
    }
    Ok(new)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = stock_check_sightings, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct SightingRow {
    pub id: String,
    pub check_id: String,
    pub position: i64,
    pub item: String,
    pub result: String,
    pub firearm_id: Option<String>,
    pub candidates: Option<String>,
    pub sighted_by: String,
    pub sighted_at: NaiveDateTime,
}

fn no_map(e: diesel::result::Error) -> StoreError {
    StoreError::from(e)
}

pub fn insert_sightings(conn: &mut DbConn, rows: &[SightingRow]) -> StoreResult<()> {
    crate::insert_chunks!(conn, stock_check_sightings::table, rows, no_map);
    Ok(())
}

/// Every sighting of a check, in the order they were made.
pub fn sightings(conn: &mut DbConn, check_id: &str) -> StoreResult<Vec<SightingRow>> {
    Ok(stock_check_sightings::table
        .filter(stock_check_sightings::check_id.eq(check_id))
        .order(stock_check_sightings::position.asc())
        .select(stock_check_sightings::all_columns)
        .load(conn)?)
}

/// What a report shows of a firearm: its marking, status and holders as
/// stored (the holders parsed only where the report shows them).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = firearms)]
pub struct BriefRow {
    pub id: String,
    pub category: String,
    pub manufacturer: String,
    pub country_of_manufacture: String,
    pub serial_number: String,
    pub status: String,
    pub owner: String,
    pub custodian: Option<String>,
    pub responsible_agency_id: String,
    pub armoury_id: Option<String>,
    pub serial_normalized: String,
    pub manufacturer_key: String,
}

/// The firearms a check expects, as they are now.
pub fn expected_firearms(conn: &mut DbConn, check_id: &str) -> StoreResult<Vec<BriefRow>> {
    Ok(firearms::table
        .inner_join(stock_check_expected::table)
        .filter(stock_check_expected::check_id.eq(check_id))
        .order(firearms::id.asc())
        .select(BriefRow::as_select())
        .load(conn)?)
}

/// The firearms whose normalised serial is one of `serials`, briefly.
pub fn briefs_by_serial(conn: &mut DbConn, serials: &[String]) -> StoreResult<Vec<BriefRow>> {
    let mut rows = Vec::with_capacity(serials.len());
    for chunk in serials.chunks(super::CHUNK) {
        let found: Vec<BriefRow> = firearms::table
            .filter(firearms::serial_normalized.eq_any(chunk))
            .select(BriefRow::as_select())
            .load(conn)?;
        rows.extend(found);
    }
    Ok(rows)
}

/// Many firearms by id, briefly (order not kept).
pub fn briefs(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<BriefRow>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::CHUNK) {
        let found: Vec<BriefRow> = firearms::table
            .filter(firearms::id.eq_any(chunk))
            .select(BriefRow::as_select())
            .load(conn)?;
        rows.extend(found);
    }
    Ok(rows)
}

/// How many rows a check has expected, sighted and seen, as stored: what
/// the check's audited state counts (`audit::verify`).
pub fn stored_counts(conn: &mut DbConn, check_id: &str) -> StoreResult<(i64, i64, i64)> {
    let expected: i64 = stock_check_expected::table
        .filter(stock_check_expected::check_id.eq(check_id))
        .count()
        .get_result(conn)?;
    let sighted: i64 = stock_check_sightings::table
        .filter(stock_check_sightings::check_id.eq(check_id))
        .count()
        .get_result(conn)?;
    let seen: i64 = stock_check_seen::table
        .filter(stock_check_seen::check_id.eq(check_id))
        .count()
        .get_result(conn)?;
    Ok((expected, sighted, seen))
}
