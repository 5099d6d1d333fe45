use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::notifications;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub id: String,
    pub agency_id: String,
    pub firearm_id: Option<String>,
    pub kind: String,
    pub traced_by_user_id: String,
    pub traced_by_username: String,
    pub traced_by_agency_id: Option<String>,
    pub query: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &NotificationRow) -> StoreResult<()> {
    diesel::insert_into(notifications::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One page of an agency's notifications, oldest first.
pub fn page(
    conn: &mut DbConn,
    agency_id: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .filter(notifications::agency_id.eq(agency_id.to_string()))
        .order(notifications::id.asc())
        .limit(limit)
        .select(notifications::all_columns)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(notifications::id.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}
