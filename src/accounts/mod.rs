//! Agencies and users: creating and changing accounts, as the rules in
//! `auth::policy` allow. Handlers and the command line both come through
//! here.

pub mod grants;
pub mod passwords;

use crate::audit::{self, content, AuditActor, Entry};
use crate::auth::policy::{self, Action};
use crate::auth::{password, AuthUser};
use crate::db::role_grants::GrantRow;
use crate::db::{self, agencies, users, DbConn, Pool};
use crate::domain::{AgencyKind, AgencyName, CountryCode, Password, Roles, Username};
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
    pub must_change_password: bool,
}

fn agency_entry(action: &str, row: &agencies::AgencyRow) -> Entry {
    let state = content::agency(row);
    Entry::new(action, format!("agency:{}", row.id), state.clone())
        .subject(format!("agency:{}", row.id), state)
}

pub(crate) fn user_entry(action: &str, row: &users::UserRow) -> Entry {
    let state = content::user(row);
    let mut shown = state.clone();
    // The entry shows the account, never its password hash; the state
    // digest still covers the hash.
    shown["password_hash"] = serde_json::Value::Null;
    Entry::new(action, format!("user:{}", row.id), shown).subject(format!("user:{}", row.id), state)
}

pub async fn create_agency(
    pool: &Pool,
    actor: &AuditActor,
    new: NewAgency,
) -> AppResult<agencies::AgencyRow> {
    let actor = actor.clone();
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
        db::write_tx(c, |c| {
            let row = agencies::insert(c, &form)?;
            audit::queue(c, &actor, vec![agency_entry("agency.created", &row)])?;
            Ok(row)
        })
    })
    .await
}

/// Creates a user as `caller` asks. The roles that need four eyes are not
/// given at once: they wait in a grant for a second system administrator.
pub async fn create_user(
    pool: &Pool,
    caller: &AuthUser,
    new: NewUser,
) -> AppResult<(users::UserRow, Option<GrantRow>)> {
    policy::require(caller, Action::ManageUsers)?;
    if !policy::may_manage_agency(caller, new.agency_id.as_deref()) {
        return Err(AppError::forbidden(
            "an admin may create users only in their own agency",
        ));
    }
    let requested = new.roles.clone();
    let change = policy::role_change(caller, "", &Roles::default(), &requested)?;
    let new = NewUser {
        roles: change.now,
        ..new
    };
    let actor = caller.audit_actor();
    let requester = caller.id.clone();
    let form = user_form(new).await?;
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let row = write_user(c, &actor, &form)?;
            let grant = match change.pending {
                Some(roles) => Some(grants::request(c, &actor, &row.id, &requester, &roles)?),
                None => None,
            };
            Ok((row, grant))
        })
    })
    .await
}

/// Writes a user with every role it is given, no approval asked: for the
/// command line on the server's own host and the first start, the root of
/// trust.
pub async fn insert_user(
    pool: &Pool,
    actor: &AuditActor,
    new: NewUser,
) -> AppResult<users::UserRow> {
    let actor = actor.clone();
    let form = user_form(new).await?;
    db::run(pool, move |c| {
        db::write_tx(c, |c| write_user(c, &actor, &form))
    })
    .await
}

/// Hashes a password off the runtime.
pub(crate) async fn hash_password(secret: &Password) -> AppResult<String> {
    let secret = secret.expose().to_string();
    actix_web::web::block(move || password::hash(&secret)).await?
}

async fn user_form(new: NewUser) -> AppResult<users::UserInsertForm> {
    let hash = hash_password(&new.password).await?;
    let now = db::now();
    Ok(users::UserInsertForm {
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
        must_change_password: new.must_change_password,
        token_epoch: 0,
    })
}

/// Writes the user, checking that the agency exists in the same
/// transaction.
fn write_user(
    c: &mut DbConn,
    actor: &AuditActor,
    form: &users::UserInsertForm,
) -> AppResult<users::UserRow> {
    ensure_agency(c, form.agency_id.as_deref())?;
    let row = users::insert(c, form)?;
    audit::queue(c, actor, vec![user_entry("user.created", &row)])?;
    Ok(row)
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
pub(crate) async fn managed_user(
    pool: &Pool,
    caller: &AuthUser,
    id: String,
) -> AppResult<users::UserRow> {
    policy::require(caller, Action::ManageUsers)?;
    let row = db::run(pool, move |c| users::find(c, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::may_manage_agency(caller, row.agency_id.as_deref()) {
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
    let actor = caller.audit_actor();
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let row = users::set_disabled(c, &row.id, db::now())?;
            audit::queue(c, &actor, vec![user_entry("user.disabled", &row)])?;
            Ok(row)
        })
    })
    .await
}

/// Replaces a user's roles as far as the policy allows at once; roles that
/// need four eyes wait in a grant.
pub async fn set_roles(
    pool: &Pool,
    caller: &AuthUser,
    id: String,
    roles: Roles,
    if_match: Option<i64>,
) -> AppResult<(users::UserRow, Option<GrantRow>)> {
    let row = managed_user(pool, caller, id).await?;
    let old = Roles::from_stored(&row.roles).map_err(AppError::internal)?;
    let change = policy::role_change(caller, &row.id, &old, &roles)?;
    let actor = caller.audit_actor();
    let requester = caller.id.clone();
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let row = users::set_roles(c, &row.id, &change.now.to_stored(), if_match, db::now())?;
            audit::queue(c, &actor, vec![user_entry("user.roles_changed", &row)])?;
            let grant = match change.pending {
                Some(roles) => Some(grants::request(c, &actor, &row.id, &requester, &roles)?),
                None => None,
            };
            Ok((row, grant))
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
        must_change_password: false,
    };
    let actor = AuditActor {
        username: Some("registry".into()),
        request_id: "bootstrap".into(),
        ..AuditActor::default()
    };
    match insert_user(pool, &actor, new).await {
        Ok(_) => Ok(generated.then_some(secret)),
        // Another process bootstrapped at the same moment.
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
