//! Armouries (the places an agency keeps firearms) and stock checks (a
//! count of what is really there against what the registry says). What an
//! armoury holds is the firearms whose holder is the armoury now; events
//! move firearms in and out (`{"to": {"armoury_id"}}`, see `events`).

pub mod checks;
pub mod input;
pub mod report;

use serde::Serialize;

use crate::audit::{self, content};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::armouries::ArmouryRow;
use crate::db::{self, DbConn};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use input::NewArmoury;

/// An armoury as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArmouryView {
    pub id: String,
    pub agency_id: String,
    pub name: String,
    pub kind: String,
    pub location: Option<String>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<ArmouryRow> for ArmouryView {
    fn from(r: ArmouryRow) -> Self {
        Self {
            id: r.id,
            agency_id: r.agency_id,
            name: r.name,
            kind: r.kind,
            location: r.location,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// Creates an armoury of the caller's agency.
pub fn create(conn: &mut DbConn, user: &AuthUser, new: NewArmoury) -> AppResult<ArmouryRow> {
    let agency_id = policy::acting_agency(user, Action::ManageArmouries)?;
    let now = db::now();
    let row = ArmouryRow {
        id: db::new_id(),
        agency_id,
        name_key: text::fold(&new.name),
        name: new.name,
        kind: new.kind.to_string(),
        location: new.location,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    db::write_tx(conn, |c| -> AppResult<()> {
        db::armouries::insert(c, &row)?;
        let key = format!("armoury:{}", row.id);
        let state = content::armoury(&row);
        let entry =
            audit::Entry::new("armoury.created", key.clone(), state.clone()).subject(key, state);
        audit::queue(c, &user.audit_actor(), vec![entry])
    })?;
    Ok(row)
}

/// An armoury the caller may read (its agency's users, auditors), or 404.
pub fn get(conn: &mut DbConn, user: &AuthUser, id: &str) -> AppResult<ArmouryRow> {
    policy::require(user, Action::ReadArmouries)?;
    let row = db::armouries::find(conn, id)?.ok_or(AppError::NotFound)?;
    policy::armoury_scope(user, &row.agency_id)?;
    Ok(row)
}

/// One page of the armouries the caller sees: its agency's, or all of
/// them for an auditor.
pub fn page(
    conn: &mut DbConn,
    user: &AuthUser,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<ArmouryRow>> {
    policy::require(user, Action::ReadArmouries)?;
    let agency = if user.has(crate::domain::Role::Auditor) {
        None
    } else {
        Some(user.agency_id.clone().ok_or(AppError::NotFound)?)
    };
    Ok(db::armouries::page(conn, agency.as_deref(), after, limit)?)
}

/// One page of the firearms an armoury holds now.
pub fn holdings(
    conn: &mut DbConn,
    user: &AuthUser,
    id: &str,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<crate::domain::Firearm>> {
    get(conn, user, id)?;
    let filters = db::firearms::Filters {
        armoury_id: Some(id.to_string()),
        ..Default::default()
    };
    Ok(db::firearms::page(conn, &filters, after, limit)?)
}
