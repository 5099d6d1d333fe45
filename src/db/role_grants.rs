//! Grants of privileged roles waiting for a second system administrator.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{StoreError, StoreResult};
use super::schema::role_grants;
use super::DbConn;

pub const PENDING: &str = "pending_approval";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = role_grants, treat_none_as_default_value = false)]
pub struct GrantRow {
    pub id: String,
    pub user_id: String,
    pub roles: String,
    pub status: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, row: &GrantRow) -> StoreResult<()> {
    diesel::insert_into(role_grants::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<GrantRow>> {
    Ok(role_grants::table
        .find(id)
        .select(role_grants::all_columns)
        .first(conn)
        .optional()?)
}

/// Records the decision on a grant that is still pending; answers the
/// grant as it is now, and whether this call decided it.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    decided_by: &str,
    now: NaiveDateTime,
) -> StoreResult<(GrantRow, bool)> {
    let decided = diesel::update(
        role_grants::table
            .find(id)
            .filter(role_grants::status.eq(PENDING)),
    )
    .set((
        role_grants::status.eq(status),
        role_grants::decided_by.eq(decided_by),
        role_grants::decided_at.eq(now),
        role_grants::version.eq(role_grants::version + 1),
    ))
    .execute(conn)?;
    let row = find(conn, id)?.ok_or(StoreError::NotFound)?;
    Ok((row, decided == 1))
}

/// One page of grants, optionally in one status, oldest first.
pub fn page(
    conn: &mut DbConn,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<GrantRow>> {
    let mut q = role_grants::table
        .select(role_grants::all_columns)
        .order(role_grants::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(role_grants::status.eq(status.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(role_grants::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}
