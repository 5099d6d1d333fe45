//! Agencies and users: the rules of who may create and change which
//! accounts. Handlers and the command line both come through here.

use crate::auth::{password, AuthUser};
use crate::db::{self, agencies, users, DbConn, Pool};
use crate::domain::{AgencyKind, AgencyName, CountryCode, Password, Role, Roles, Username};
use crate::error::{AppError, AppResult};

pub struct NewAgency {
    pub name: AgencyName,
    pub country: CountryCode,
    pub kind: AgencyKind,
}

pub struct NewUser {
    pub username: Username,
    pub password: Password,
    pub agency_id: Option<String>,
    pub roles: Roles,
}

pub async fn create_agency(pool: &Pool, new: NewAgency) -> AppResult<agencies::AgencyRow> {
    let now = db::now();
    let form = agencies::AgencyInsertForm {
        id: db::new_id(),
        name: new.name.display,
        name_key: new.name.key,
        country: new.country.to_string(),
        kind: new.kind.to_string(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    db::run(pool, move |c| {
        db::write_tx(c, |c| agencies::insert(c, &form))
    })
    .await
}

/// Whether `caller` may manage accounts of `agency_id`: a system
/// administrator anywhere, an admin only in their own agency.
fn may_manage(caller: &AuthUser, agency_id: Option<&str>) -> bool {
    caller.has(Role::SystemAdmin)
        || (caller.has(Role::Admin)
            && agency_id.is_some()
            && caller.agency_id.as_deref() == agency_id)
}

pub async fn create_user(
    pool: &Pool,
    caller: &AuthUser,
    new: NewUser,
) -> AppResult<users::UserRow> {
    caller.require_any(&[Role::SystemAdmin, Role::Admin])?;
    if !may_manage(caller, new.agency_id.as_deref()) {
        return Err(AppError::forbidden(
            "an admin may create users only in their own agency",
        ));
    }
    if new.roles.contains(Role::SystemAdmin) && !caller.has(Role::SystemAdmin) {
        return Err(AppError::forbidden(
            "only a system administrator may grant system_admin",
        ));
    }
    insert_user(pool, new).await
}

/// Hashes the password off the runtime and writes the user, checking that
/// the agency exists in the same transaction.
pub async fn insert_user(pool: &Pool, new: NewUser) -> AppResult<users::UserRow> {
    let secret = new.password.expose().to_string();
    let hash = actix_web::web::block(move || password::hash(&secret)).await??;
    let now = db::now();
    let form = users::UserInsertForm {
        id: db::new_id(),
        username: new.username.display,
        username_key: new.username.key,
        password_hash: hash,
        agency_id: new.agency_id,
        roles: new.roles.to_stored(),
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            ensure_agency(c, form.agency_id.as_deref())?;
            users::insert(c, &form)
        })
    })
    .await
}

fn ensure_agency(c: &mut DbConn, agency_id: Option<&str>) -> AppResult<()> {
    if let Some(id) = agency_id {
        if agencies::find(c, id)?.is_none() {
            return Err(AppError::field("agency_id", "no agency has this id"));
        }
    }
    Ok(())
}

/// Loads a user that `caller` may manage. A user of another agency is not
/// visible to an agency admin: 404, as the contract says.
async fn managed_user(pool: &Pool, caller: &AuthUser, id: String) -> AppResult<users::UserRow> {
    caller.require_any(&[Role::SystemAdmin, Role::Admin])?;
    let row = db::run(pool, move |c| users::find(c, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_manage(caller, row.agency_id.as_deref()) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

pub async fn disable_user(pool: &Pool, caller: &AuthUser, id: String) -> AppResult<users::UserRow> {
    let row = managed_user(pool, caller, id).await?;
    if row.id == caller.id {
        return Err(AppError::conflict(
            "cannot_disable_self",
            "you cannot disable your own account",
        ));
    }
    if row.disabled {
        return Ok(row);
    }
    db::run(pool, move |c| {
        db::write_tx(c, |c| users::set_disabled(c, &row.id, db::now()))
    })
    .await
}

pub async fn set_roles(
    pool: &Pool,
    caller: &AuthUser,
    id: String,
    roles: Roles,
    if_match: Option<i64>,
) -> AppResult<users::UserRow> {
    let row = managed_user(pool, caller, id).await?;
    let touches_system_admin = roles.contains(Role::SystemAdmin)
        || Roles::from_stored(&row.roles).is_ok_and(|r| r.contains(Role::SystemAdmin));
    if touches_system_admin && !caller.has(Role::SystemAdmin) {
        return Err(AppError::forbidden(
            "only a system administrator may change system_admin",
        ));
    }
    let stored = roles.to_stored();
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            users::set_roles(c, &row.id, &stored, if_match, db::now())
        })
    })
    .await
}

/// On an empty database, creates the `admin` system administrator. Returns
/// the generated password when none was configured, so it can be shown once.
pub async fn bootstrap_admin(
    pool: &Pool,
    configured: Option<&str>,
) -> Result<Option<String>, String> {
    let existing = db::run(pool, users::count)
        .await
        .map_err(|e| e.to_string())?;
    if existing > 0 {
        return Ok(None);
    }
    let (secret, generated) = match configured {
        Some(p) => (p.to_string(), false),
        None => (crate::auth::token::random_hex(12), true),
    };
    let new = NewUser {
        username: Username::parse("admin")?,
        password: Password::parse(&secret).map_err(|e| format!("REGISTRY_ADMIN_PASSWORD {e}"))?,
        agency_id: None,
        roles: Roles::parse(&["system_admin"])?,
    };
    match insert_user(pool, new).await {
        Ok(_) => Ok(generated.then_some(secret)),
        // Another process bootstrapped at the same moment.
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
