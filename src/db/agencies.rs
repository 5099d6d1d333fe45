use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{unique, StoreError, StoreResult};
use super::schema::agencies;
use super::DbConn;

#[derive(Debug, Clone, Queryable)]
pub struct AgencyRow {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub country: String,
    pub kind: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = agencies)]
pub struct AgencyInsertForm {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub country: String,
    pub kind: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, form: &AgencyInsertForm) -> StoreResult<AgencyRow> {
    diesel::insert_into(agencies::table)
        .values(form)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::DuplicateAgency))?;
    find(conn, &form.id)?.ok_or(StoreError::NotFound)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<AgencyRow>> {
    Ok(agencies::table
        .find(id)
        .select(agencies::all_columns)
        .first(conn)
        .optional()?)
}

/// One page of agencies after `after` (an id), in creation order.
pub fn page(conn: &mut DbConn, after: Option<&str>, limit: i64) -> StoreResult<Vec<AgencyRow>> {
    let mut q = agencies::table
        .select(agencies::all_columns)
        .order(agencies::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(agencies::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The ids of a country's agencies.
pub fn ids_in_country(conn: &mut DbConn, country: &str) -> StoreResult<Vec<String>> {
    Ok(agencies::table
        .filter(agencies::country.eq(country))
        .select(agencies::id)
        .load(conn)?)
}
