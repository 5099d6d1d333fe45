//! Licences of holders: issued with categories and dates, revoked once,
//! checked by ownership transfers in the transfer's own transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::input::NewLicence;
use super::Holding;
use crate::audit::{self, content};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::holders::LicenceRow;
use crate::db::notifications::NotificationRow;
use crate::db::{self, DbConn};
use crate::domain::{text, Category, LicenceStatus};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceView {
    pub id: String,
    pub holder_id: String,
    pub number: String,
    #[serde(rename = "type")]
    pub licence_type: String,
    pub categories: Vec<Category>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub issued_by: String,
    /// `valid`, `expired` (past `valid_until`) or `revoked`.
    pub status: &'static str,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// The categories a stored licence covers.
pub fn categories(row: &LicenceRow) -> Vec<Category> {
    serde_json::from_str(&row.categories).unwrap_or_default()
}

impl LicenceView {
    pub fn new(r: LicenceRow, today: NaiveDate) -> AppResult<Self> {
        let status = match LicenceStatus::parse(&r.status).map_err(AppError::internal)? {
            LicenceStatus::Revoked => "revoked",
            LicenceStatus::Valid if r.valid_until < today => "expired",
            LicenceStatus::Valid => "valid",
        };
        Ok(Self {
            categories: categories(&r),
            id: r.id,
            holder_id: r.holder_id,
            number: r.number,
            licence_type: r.licence_type,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            issued_by: r.issued_by,
            status,
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
            revocation_reason: r.revocation_reason,
            version: r.version,
            created_at: r.created_at.and_utc(),
        })
    }
}

/// Issues a licence to a holder.
pub fn add(
    conn: &mut DbConn,
    user: &AuthUser,
    holder_id: &str,
    new: NewLicence,
) -> AppResult<LicenceView> {
    let agency = policy::acting_agency(user, Action::RecordHolders)?;
    let now = db::now();
    let row = LicenceRow {
        id: db::new_id(),
        holder_id: holder_id.to_string(),
        number_key: format!(
            "{}\u{1f}{}",
            text::fold(&new.issued_by),
            text::fold(&new.number)
        ),
        number: new.number,
        licence_type: new.licence_type.to_string(),
        categories: json!(new.categories).to_string(),
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        issued_by: new.issued_by,
        status: LicenceStatus::Valid.to_string(),
        revoked_at: None,
        revoked_by: None,
        revocation_reason: None,
        recorded_by_agency_id: agency,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    db::write_tx(conn, |c| -> AppResult<()> {
        let holder = db::holders::find(c, holder_id)?.ok_or(AppError::NotFound)?;
        if holder.erased_at.is_some() {
            return Err(AppError::conflict(
                "holder_erased",
                "the holder's personal data was erased; it takes no new licence",
            ));
        }
        db::holders::insert_licence(c, &row)?;
        let key = format!("licence:{}", row.id);
        let state = content::licence(&row);
        let entry =
            audit::Entry::new("licence.issued", key.clone(), state.clone()).subject(key, state);
        audit::queue(c, &user.audit_actor(), vec![entry])
    })?;
    LicenceView::new(row, now.date())
}

/// A revocation's answer: the licence, and what the holder must surrender.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub licence: LicenceView,
    /// What the holder owns or keeps now.
    pub firearms: Vec<Holding>,
}

/// The most firearms a revocation lists; a holder of more is an arsenal
/// that `GET /v1/holders/{id}/firearms` pages through.
const MAX_LISTED: i64 = 1_000;

/// Revokes a licence, once. In one transaction with what the holder holds
/// now, and a notification to the agency responsible for each firearm.
pub fn revoke(
    conn: &mut DbConn,
    user: &AuthUser,
    holder_id: &str,
    licence_id: &str,
    reason: String,
) -> AppResult<Revoked> {
    policy::acting_agency(user, Action::RecordHolders)?;
    db::write_tx(conn, |c| -> AppResult<Revoked> {
        let mut row = db::holders::take_licence(c, licence_id)?
            .filter(|l| l.holder_id == holder_id)
            .ok_or(AppError::NotFound)?;
        if row.status == LicenceStatus::Revoked.as_str() {
            return Err(AppError::conflict(
                "licence_revoked",
                "the licence is already revoked",
            ));
        }
        let now = db::now();
        row.status = LicenceStatus::Revoked.to_string();
        row.revoked_at = Some(now);
        row.revoked_by = Some(user.id.clone());
        row.revocation_reason = Some(reason.clone());
        row.version += 1;
        row.updated_at = now;
        db::holders::update_licence(c, &row)?;
        let firearms = super::holdings(c, holder_id, None, None, MAX_LISTED)?;
        for held in &firearms {
            notify(c, user, &row, held)?;
        }
        let key = format!("licence:{}", row.id);
        let state = content::licence(&row);
        let entry = audit::Entry::new("licence.revoked", key.clone(), state.clone())
            .detail(json!({"firearms_to_surrender": firearms.len()}))
            .subject(key, state);
        audit::queue(c, &user.audit_actor(), vec![entry])?;
        Ok(Revoked {
            licence: LicenceView::new(row, now.date())?,
            firearms,
        })
    })
}

/// Tells the agency responsible for a firearm that its holder's licence
/// was revoked (`GET /v1/notifications`, kind `licence_revoked`).
fn notify(c: &mut DbConn, user: &AuthUser, licence: &LicenceRow, held: &Holding) -> AppResult<()> {
    let about = json!({
        "holder_id": licence.holder_id, "licence_id": licence.id,
        "licence_number": licence.number, "reason": licence.revocation_reason,
    });
    db::notifications::insert(
        c,
        &NotificationRow {
            id: db::new_id(),
            agency_id: held.firearm.responsible_agency_id.clone(),
            firearm_id: Some(held.firearm_id.clone()),
            kind: "licence_revoked".into(),
            traced_by_user_id: user.id.clone(),
            traced_by_username: user.username.clone(),
            traced_by_agency_id: user.agency_id.clone(),
            query: about.to_string(),
            created_at: db::now(),
        },
    )?;
    Ok(())
}
