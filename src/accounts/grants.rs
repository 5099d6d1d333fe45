//! Four eyes on the roles that open the whole registry: a grant of
//! `auditor` or `system_admin` waits until a second system administrator
//! approves it. Requests, approvals and rejections are audit entries.

use super::user_entry;
use crate::audit::{self, content, AuditActor, Entry};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::role_grants::{self, GrantRow, APPROVED, PENDING, REJECTED};
use crate::db::{self, users, DbConn, Pool};
use crate::domain::Roles;
use crate::error::{AppError, AppResult};

fn grant_entry(action: &str, row: &GrantRow) -> Entry {
    let state = content::role_grant(row);
    Entry::new(action, format!("user:{}", row.user_id), state.clone())
        .subject(format!("role_grant:{}", row.id), state)
}

/// Records a pending grant of `roles` to `user_id`, in the caller's
/// transaction.
pub fn request(
    c: &mut DbConn,
    actor: &AuditActor,
    user_id: &str,
    requested_by: &str,
    roles: &Roles,
) -> AppResult<GrantRow> {
    let row = GrantRow {
        id: db::new_id(),
        user_id: user_id.to_string(),
        roles: roles.to_stored(),
        status: PENDING.into(),
        requested_by: requested_by.to_string(),
        decided_by: None,
        version: 1,
        created_at: db::now(),
        decided_at: None,
    };
    role_grants::insert(c, &row)?;
    audit::queue(c, actor, vec![grant_entry("role_grant.requested", &row)])?;
    Ok(row)
}

/// Approves or rejects a pending grant. Approval adds its roles to the
/// user's roles as they are at that moment.
pub async fn decide(
    pool: &Pool,
    approver: &AuthUser,
    id: String,
    approve: bool,
) -> AppResult<GrantRow> {
    policy::require(approver, Action::DecideGrants)?;
    let approver = approver.clone();
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let grant = role_grants::find(c, &id)?.ok_or(AppError::NotFound)?;
            policy::decide_grant(&approver, &grant.requested_by, &grant.user_id)?;
            let status = if approve { APPROVED } else { REJECTED };
            let (grant, decided) = role_grants::decide(c, &id, status, &approver.id, db::now())?;
            if !decided {
                return Err(AppError::conflict(
                    "grant_not_pending",
                    format!("this grant was already {}", grant.status),
                ));
            }
            let actor = approver.audit_actor();
            let mut entries = vec![grant_entry(&format!("role_grant.{status}"), &grant)];
            if approve {
                let user = users::find(c, &grant.user_id)?.ok_or(AppError::NotFound)?;
                let roles = Roles::from_stored(&user.roles)
                    .and_then(|r| Ok(r.union(&Roles::from_stored(&grant.roles)?)))
                    .map_err(AppError::internal)?;
                let user = users::set_roles(c, &user.id, &roles.to_stored(), None, db::now())?;
                entries.push(user_entry("user.roles_changed", &user));
            }
            audit::queue(c, &actor, entries)?;
            Ok(grant)
        })
    })
    .await
}

/// Grants, oldest first, for system administrators.
pub async fn list(
    pool: &Pool,
    caller: &AuthUser,
    status: Option<&'static str>,
    after: Option<String>,
    limit: i64,
) -> AppResult<Vec<GrantRow>> {
    policy::require(caller, Action::DecideGrants)?;
    Ok(db::run(pool, move |c| {
        role_grants::page(c, status, after.as_deref(), limit)
    })
    .await?)
}
