//! Holders, their identifiers and the words of their names, licences, and
//! the links that say who owned and kept each firearm after each event.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::error::{unique, StoreError, StoreResult};
use super::schema::{holder_identifiers, holder_links, holder_name_words, holders, licences};
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = holders, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct HolderRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub country: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<String>,
    pub agency_id: Option<String>,
    pub recorded_by_agency_id: String,
    pub erased_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = holder_identifiers)]
pub struct IdentifierRow {
    pub holder_id: String,
    pub position: i32,
    pub id_type: String,
    /// The holder's country, or empty: identifiers are unique per country.
    pub country: String,
    pub value: String,
    pub value_key: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = licences, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct LicenceRow {
    pub id: String,
    pub holder_id: String,
    pub number: String,
    pub licence_type: String,
    /// JSON array of firearm categories.
    pub categories: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub issued_by: String,
    /// Issuer and number folded: one licence of a number per issuer.
    pub number_key: String,
    pub status: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<String>,
    pub revocation_reason: Option<String>,
    pub recorded_by_agency_id: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holder_links, treat_none_as_default_value = false)]
pub struct LinkRow {
    pub firearm_id: String,
    pub sequence: i64,
    pub occurred_at: NaiveDateTime,
    pub owner_holder_id: Option<String>,
    pub custodian_holder_id: Option<String>,
}

/// The holder that already holds one of these identifiers, if any.
pub fn holding_identifier(conn: &mut DbConn, ids: &[IdentifierRow]) -> StoreResult<Option<String>> {
    for id in ids {
        let found = holder_identifiers::table
            .filter(holder_identifiers::id_type.eq(&id.id_type))
            .filter(holder_identifiers::country.eq(&id.country))
            .filter(holder_identifiers::value_key.eq(&id.value_key))
            .select(holder_identifiers::holder_id)
            .first::<String>(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Writes a holder with its identifiers and name words. An identifier
/// another holder took meanwhile is `DuplicateHolder`.
pub fn insert(
    conn: &mut DbConn,
    row: &HolderRow,
    ids: &[IdentifierRow],
    words: &[String],
) -> StoreResult<()> {
    diesel::insert_into(holders::table)
        .values(row)
        .execute(conn)?;
    for id in ids {
        diesel::insert_into(holder_identifiers::table)
            .values(id)
            .execute(conn)
            .map_err(|e| unique(e, StoreError::DuplicateHolder))?;
    }
    for word in words {
        diesel::insert_into(holder_name_words::table)
            .values((
                holder_name_words::word.eq(word),
                holder_name_words::holder_id.eq(&row.id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<HolderRow>> {
    Ok(holders::table
        .find(id)
        .select(HolderRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn identifiers(conn: &mut DbConn, holder_id: &str) -> StoreResult<Vec<IdentifierRow>> {
    Ok(holder_identifiers::table
        .filter(holder_identifiers::holder_id.eq(holder_id))
        .order(holder_identifiers::position.asc())
        .select(IdentifierRow::as_select())
        .load(conn)?)
}

/// The identifiers of several holders, by holder and position.
pub fn identifiers_of(conn: &mut DbConn, holder_ids: &[String]) -> StoreResult<Vec<IdentifierRow>> {
    Ok(holder_identifiers::table
        .filter(holder_identifiers::holder_id.eq_any(holder_ids))
        .order((
            holder_identifiers::holder_id.asc(),
            holder_identifiers::position.asc(),
        ))
        .select(IdentifierRow::as_select())
        .load(conn)?)
}

pub fn licences_of(conn: &mut DbConn, holder_id: &str) -> StoreResult<Vec<LicenceRow>> {
    Ok(licences::table
        .filter(licences::holder_id.eq(holder_id))
        .order(licences::id.asc())
        .select(LicenceRow::as_select())
        .load(conn)?)
}

pub fn find_many(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<HolderRow>> {
    Ok(holders::table
        .filter(holders::id.eq_any(ids))
        .order(holders::id.asc())
        .select(HolderRow::as_select())
        .load(conn)?)
}

/// Ids of holders one of whose name words starts with `prefix`, in id
/// order after `after`: a range of the word index.
pub fn with_word(
    conn: &mut DbConn,
    prefix: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let end = format!("{prefix}{}", char::MAX);
    let mut q = holder_name_words::table
        .filter(holder_name_words::word.ge(prefix))
        .filter(holder_name_words::word.lt(end))
        .select(holder_name_words::holder_id)
        .distinct()
        .order(holder_name_words::holder_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(holder_name_words::holder_id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Ids of holders with an identifier of this folded value, in id order.
pub fn with_identifier(
    conn: &mut DbConn,
    key: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let mut q = holder_identifiers::table
        .filter(holder_identifiers::value_key.eq(key))
        .select(holder_identifiers::holder_id)
        .distinct()
        .order(holder_identifiers::holder_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(holder_identifiers::holder_id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

pub fn insert_licence(conn: &mut DbConn, row: &LicenceRow) -> StoreResult<()> {
    diesel::insert_into(licences::table)
        .values(row)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::DuplicateLicence))?;
    Ok(())
}

/// Takes a licence for a change or a check: on PostgreSQL its row is
/// locked, so a revocation and a transfer relying on the licence wait for
/// each other and the second sees what the first did. (SQLite runs one
/// writer at a time.)
pub fn take_licence(conn: &mut DbConn, id: &str) -> StoreResult<Option<LicenceRow>> {
    let q = licences::table.find(id).select(licences::all_columns);
    Ok(match conn {
        DbConn::Pg(c) => q.for_update().first(c).optional()?,
        DbConn::Sqlite(c) => q.first(c).optional()?,
    })
}

/// A holder's licences that are not revoked and in force on `day`,
/// share-locked on PostgreSQL: a revocation (`take_licence`) waits for the
/// transaction that relies on them, and they wait for it.
pub fn in_force(
    conn: &mut DbConn,
    holder_id: &str,
    day: NaiveDate,
) -> StoreResult<Vec<LicenceRow>> {
    let q = licences::table
        .filter(licences::holder_id.eq(holder_id))
        .filter(licences::status.eq("valid"))
        .filter(licences::valid_from.le(day))
        .filter(licences::valid_until.ge(day))
        .order(licences::id.asc())
        .select(licences::all_columns);
    Ok(match conn {
        DbConn::Pg(c) => q.for_share().load(c)?,
        DbConn::Sqlite(c) => q.load(c)?,
    })
}

pub fn update_licence(conn: &mut DbConn, row: &LicenceRow) -> StoreResult<()> {
    diesel::update(licences::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_licence(conn: &mut DbConn, id: &str) -> StoreResult<Option<LicenceRow>> {
    Ok(licences::table
        .find(id)
        .select(LicenceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_links(conn: &mut DbConn, rows: &[LinkRow]) -> StoreResult<()> {
    for row in rows {
        diesel::insert_into(holder_links::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The firearms `holder_id` owned or kept at `at` (now when None), each
/// with how: the latest link of each firearm at that moment names the
/// holder. In firearm id order after `after`.
pub fn held(
    conn: &mut DbConn,
    holder_id: &str,
    at: Option<NaiveDateTime>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<LinkRow>> {
    let later = diesel::alias!(holder_links as later);
    // The end of year 9999 stands for "now": SQLite compares times as text.
    let at = at.unwrap_or_else(|| {
        NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .unwrap_or_default()
    });
    let newer = later
        .filter(
            later
                .field(holder_links::firearm_id)
                .eq(holder_links::firearm_id),
        )
        .filter(
            later
                .field(holder_links::sequence)
                .gt(holder_links::sequence),
        )
        .filter(later.field(holder_links::occurred_at).le(at))
        .select(later.field(holder_links::sequence));
    let mut q = holder_links::table
        .filter(
            holder_links::owner_holder_id
                .eq(holder_id)
                .or(holder_links::custodian_holder_id.eq(holder_id)),
        )
        .filter(holder_links::occurred_at.le(at))
        .filter(diesel::dsl::not(diesel::dsl::exists(newer)))
        .order(holder_links::firearm_id.asc())
        .limit(limit)
        .select(holder_links::all_columns)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(holder_links::firearm_id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Every holder record a link of this firearm ever named: whose erasure
/// the firearm's erasure may complete.
pub fn linked_holders(conn: &mut DbConn, firearm_id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(Option<String>, Option<String>)> = holder_links::table
        .filter(holder_links::firearm_id.eq(firearm_id))
        .select((
            holder_links::owner_holder_id,
            holder_links::custodian_holder_id,
        ))
        .load(conn)?;
    let mut ids: Vec<String> = rows
        .into_iter()
        .flat_map(|(o, c)| [o, c])
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Every firearm a holder was ever linked to.
pub fn firearms_ever(conn: &mut DbConn, holder_id: &str) -> StoreResult<Vec<String>> {
    let mut ids: Vec<String> = holder_links::table
        .filter(
            holder_links::owner_holder_id
                .eq(holder_id)
                .or(holder_links::custodian_holder_id.eq(holder_id)),
        )
        .select(holder_links::firearm_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Replaces a holder's personal data: the row, its identifiers' values
/// (their keys become unique placeholders) and its name words.
pub fn erase(conn: &mut DbConn, row: &HolderRow, ids: &[IdentifierRow]) -> StoreResult<()> {
    diesel::update(holders::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    for id in ids {
        diesel::update(holder_identifiers::table.find((&id.holder_id, id.position)))
            .set(id)
            .execute(conn)?;
    }
    diesel::delete(holder_name_words::table.filter(holder_name_words::holder_id.eq(&row.id)))
        .execute(conn)?;
    Ok(())
}
