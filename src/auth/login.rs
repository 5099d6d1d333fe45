//! Logging in, with throttling of repeated failures per username and per
//! client address. A failure answers the same, and costs the same time,
//! whether or not the username exists.

use chrono::Duration;

use serde_json::json;

use super::password;
use super::TokenKeys;
use crate::audit::{self, AuditActor, Entry};
use crate::db::{self, logins, logins::Subject, Pool};
use crate::error::{AppError, AppResult};

/// Failures allowed within [`WINDOW_MINUTES`] before 429.
pub const MAX_FAILURES_PER_USERNAME: i64 = 5;
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;
pub const WINDOW_MINUTES: i64 = 15;

pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    /// The token is good only for choosing a new password.
    pub password_change_required: bool,
}

pub async fn login(
    pool: &Pool,
    tokens: &TokenKeys,
    username: &str,
    password: String,
    client_ip: String,
    request_id: String,
) -> AppResult<Issued> {
    let key = username.trim().to_ascii_lowercase();
    check_throttle(pool, &key, &client_ip).await?;

    let lookup_key = key.clone();
    let user = db::run(pool, move |c| {
        db::users::find_by_username_key(c, &lookup_key)
    })
    .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Verifying a dummy hash for an unknown user keeps the timing flat.
    let matches = actix_web::web::block(move || {
        let hash = stored.as_deref().unwrap_or_else(|| password::dummy_hash());
        password::verify(&password, hash)
    })
    .await?;

    let mut actor = AuditActor {
        username: Some(username.trim().to_string()),
        request_id,
        ..AuditActor::default()
    };
    let content = json!({"username": key, "client_ip": client_ip});
    match user {
        Some(user) if matches && !user.disabled => {
            let now = db::now();
            actor.user_id = Some(user.id.clone());
            actor.agency_id = user.agency_id.clone();
            let id = user.id.clone();
            db::run(pool, move |c| {
                db::write_tx(c, |c| {
                    db::users::record_login(c, &id, now)?;
                    audit::queue(
                        c,
                        &actor,
                        vec![Entry::new("auth.login", format!("user:{id}"), content)],
                    )
                })
            })
            .await?;
            Ok(Issued {
                access_token: tokens.issue(&user.id, user.token_epoch)?,
                expires_in: tokens.ttl_secs,
                password_change_required: user.must_change_password,
            })
        }
        _ => {
            let now = db::now();
            db::run(pool, move |c| {
                db::write_tx(c, |c| {
                    logins::record_failure(c, &key, &client_ip, now)?;
                    let target = format!("username:{key}");
                    audit::queue(
                        c,
                        &actor,
                        vec![Entry::new("auth.login_failed", target, content)],
                    )
                })
            })
            .await?;
            Err(AppError::unauthorized(
                "invalid_credentials",
                "the username or password is wrong",
            ))
        }
    }
}

pub(crate) async fn check_throttle(pool: &Pool, key: &str, client_ip: &str) -> AppResult<()> {
    let (key, ip) = (key.to_string(), client_ip.to_string());
    let now = db::now();
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let blocked_since = db::run(pool, move |c| -> AppResult<_> {
        let (n, oldest) = logins::failures_since(c, Subject::Username(&key), since)?;
        if n >= MAX_FAILURES_PER_USERNAME {
            return Ok(oldest);
        }
        let (n, oldest) = logins::failures_since(c, Subject::ClientIp(&ip), since)?;
        Ok(if n >= MAX_FAILURES_PER_CLIENT {
            oldest
        } else {
            None
        })
    })
    .await?;
    match blocked_since {
        Some(oldest) => {
            let frees_at = oldest + Duration::minutes(WINDOW_MINUTES);
            let wait = (frees_at - now).num_seconds().max(1);
            Err(AppError::TooManyRequests {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            })
        }
        None => Ok(()),
    }
}
