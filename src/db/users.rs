use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{unique, StoreError, StoreResult};
use super::schema::users;
use super::DbConn;

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub password_hash: String,
    pub agency_id: Option<String>,
    pub roles: String,
    pub disabled: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    pub must_change_password: bool,
    pub token_epoch: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct UserInsertForm {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub password_hash: String,
    pub agency_id: Option<String>,
    pub roles: String,
    pub disabled: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub must_change_password: bool,
    pub token_epoch: i64,
}

pub fn insert(conn: &mut DbConn, form: &UserInsertForm) -> StoreResult<UserRow> {
    diesel::insert_into(users::table)
        .values(form)
        .execute(conn)
        .map_err(|e| unique(e, StoreError::DuplicateUsername))?;
    find(conn, &form.id)?.ok_or(StoreError::NotFound)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<UserRow>> {
    Ok(users::table
        .find(id)
        .select(users::all_columns)
        .first(conn)
        .optional()?)
}

pub fn find_by_username_key(conn: &mut DbConn, key: &str) -> StoreResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::username_key.eq(key))
        .select(users::all_columns)
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// One page of users, optionally of one agency, in creation order.
pub fn page(
    conn: &mut DbConn,
    agency_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRow>> {
    let mut q = users::table
        .select(users::all_columns)
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(agency_id) = agency_id {
        q = q.filter(users::agency_id.eq(agency_id.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(users::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Disables a user. Writing to the row first serialises concurrent changes.
pub fn set_disabled(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((
            users::disabled.eq(true),
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

/// Replaces a user's roles, only if the row is still at `expected_version`
/// when one is given.
pub fn set_roles(
    conn: &mut DbConn,
    id: &str,
    roles: &str,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> StoreResult<UserRow> {
    let target = users::table.find(id);
    let changes = (
        users::roles.eq(roles),
        users::version.eq(users::version + 1),
        users::updated_at.eq(now),
    );
    let updated = match expected_version {
        Some(v) => diesel::update(target.filter(users::version.eq(v)))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(target).set(changes).execute(conn)?,
    };
    let row = find(conn, id)?.ok_or(StoreError::NotFound)?;
    if updated == 0 {
        return Err(StoreError::Stale {
            current: row.version,
        });
    }
    Ok(row)
}

/// Sets a new password hash and raises the token epoch, which revokes
/// every token issued before.
pub fn set_password(
    conn: &mut DbConn,
    id: &str,
    hash: &str,
    must_change: bool,
    now: NaiveDateTime,
) -> StoreResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::must_change_password.eq(must_change),
            users::token_epoch.eq(users::token_epoch + 1),
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

pub fn record_login(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(now))
        .execute(conn)?;
    Ok(())
}
