//! Passwords: a user changes their own; an administrator sets a new one
//! for a user it manages. Either way every token issued before stops
//! working (the account's token epoch is raised).

use super::{hash_password, managed_user, user_entry};
use crate::audit;
use crate::auth::{login, password, policy, AuthUser};
use crate::db::{self, logins, users, Pool};
use crate::domain::{Password, Roles};
use crate::error::{AppError, AppResult};

/// Changes the caller's own password, given the current one. A wrong
/// current password counts as a failed login, so a stolen token cannot
/// be used to guess it.
pub async fn change_own(
    pool: &Pool,
    user: &AuthUser,
    current: String,
    new: Password,
    client_ip: String,
) -> AppResult<()> {
    let key = user.username.to_ascii_lowercase();
    let attempt = login::admit(pool, &key, &client_ip).await?;
    let id = user.id.clone();
    let row = db::run(pool, move |c| users::find(c, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    let stored = row.password_hash.clone();
    let given = current.clone();
    let matches = actix_web::web::block(move || password::verify(&given, &stored)).await?;
    if !matches {
        // The attempt was counted as a failure when it was admitted.
        return Err(AppError::forbidden_because(
            "wrong_password",
            "the current password is wrong",
        ));
    }
    db::run(pool, move |c| logins::succeeded(c, &attempt)).await?;
    if current == new.expose() {
        return Err(AppError::field(
            "new_password",
            "must differ from the current password",
        ));
    }
    let hash = hash_password(&new).await?;
    store(pool, user, row.id, hash, false, "user.password_changed").await
}

/// Sets a new password for a user `caller` manages. The user must choose
/// their own at their next login unless `must_change` is false.
pub async fn reset(
    pool: &Pool,
    caller: &AuthUser,
    id: String,
    new: Password,
    must_change: bool,
) -> AppResult<()> {
    let row = managed_user(pool, caller, id).await?;
    let roles = Roles::from_stored(&row.roles).map_err(AppError::internal)?;
    policy::reset_password(caller, &row.id, &roles)?;
    let hash = hash_password(&new).await?;
    store(
        pool,
        caller,
        row.id,
        hash,
        must_change,
        "user.password_reset",
    )
    .await
}

async fn store(
    pool: &Pool,
    actor: &AuthUser,
    id: String,
    hash: String,
    must_change: bool,
    action: &'static str,
) -> AppResult<()> {
    let actor = actor.audit_actor();
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let row = users::set_password(c, &id, &hash, must_change, db::now())?;
            audit::queue(c, &actor, vec![user_entry(action, &row)])
        })
    })
    .await
}
