//! Logging in, with throttling of repeated failures per username and per
//! client address. A failure answers the same, and costs the same time,
//! whether or not the username exists.

use chrono::Duration;

use serde_json::json;

use super::password;
use super::TokenKeys;
use crate::audit::{self, AuditActor, Entry};
use crate::db::logins::{self, Admission, Attempt, Limits};
use crate::db::users::UserRow;
use crate::db::{self, Pool};
use crate::error::{AppError, AppResult};

/// Failures allowed within [`WINDOW_MINUTES`] before 429: for one username
/// from one address, and for one address whatever the usernames.
pub const MAX_FAILURES_PER_USERNAME_AND_ADDRESS: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const WINDOW_MINUTES: i64 = 15;

pub const LIMITS: Limits = Limits {
    per_username_and_address: MAX_FAILURES_PER_USERNAME_AND_ADDRESS,
    per_address: MAX_FAILURES_PER_ADDRESS,
    window: Duration::minutes(WINDOW_MINUTES),
};

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
    let user = authenticate(pool, username, password, client_ip, request_id).await?;
    Ok(Issued {
        access_token: tokens.issue(&user.id, user.token_epoch)?,
        expires_in: tokens.ttl_secs,
        password_change_required: user.must_change_password,
    })
}

/// A console session opened by signing in.
pub struct Session {
    /// The cookie's token.
    pub token: String,
    pub csrf_token: String,
    pub expires_in: i64,
    pub password_change_required: bool,
}

/// Signs in to the console: the same check, throttling and audit entry as
/// [`login`], then a session row that signing out ends.
pub async fn open_session(
    pool: &Pool,
    tokens: &TokenKeys,
    credentials: (&str, String),
    client_ip: String,
    request_id: String,
    ttl_secs: i64,
) -> AppResult<Session> {
    let (username, password) = credentials;
    let user = authenticate(pool, username, password, client_ip, request_id).await?;
    let user_id = user.id.clone();
    let sid = db::run(pool, move |c| {
        let now = db::now();
        let expires = now + Duration::seconds(ttl_secs);
        db::write_tx(c, |c| db::sessions::open(c, &user_id, now, expires))
    })
    .await?;
    Ok(Session {
        token: tokens.issue_session(&user.id, user.token_epoch, &sid, ttl_secs)?,
        csrf_token: tokens.csrf_token(&sid),
        expires_in: ttl_secs,
        password_change_required: user.must_change_password,
    })
}

/// Ends console session `sid` of `actor`, with an `auth.logout` entry.
pub async fn end_session(pool: &Pool, actor: AuditActor, sid: String) -> AppResult<()> {
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            if !db::sessions::end(c, &sid, db::now())? {
                return Ok(());
            }
            let target = format!("user:{}", actor.user_id.clone().unwrap_or_default());
            let content = json!({"session": sid});
            audit::queue(c, &actor, vec![Entry::new("auth.logout", target, content)])
        })
    })
    .await
}

/// Checks a username and password, throttled, and writes the attempt's
/// audit entry: the account when they match an enabled one.
async fn authenticate(
    pool: &Pool,
    username: &str,
    password: String,
    client_ip: String,
    request_id: String,
) -> AppResult<UserRow> {
    let key = username.trim().to_ascii_lowercase();
    let attempt = admit(pool, &key, &client_ip).await?;

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
                    logins::succeeded(c, &attempt)?;
                    db::users::record_login(c, &id, now)?;
                    audit::queue(
                        c,
                        &actor,
                        vec![Entry::new("auth.login", format!("user:{id}"), content)],
                    )
                })
            })
            .await?;
            Ok(user)
        }
        _ => {
            // The attempt was counted as a failure when it was admitted.
            db::run(pool, move |c| {
                db::write_tx(c, |c| {
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

/// Counts an attempt for `key` from `client_ip`, or refuses it with 429
/// while too many recent failures stand against either.
pub(crate) async fn admit(pool: &Pool, key: &str, client_ip: &str) -> AppResult<Attempt> {
    let (key, ip) = (key.to_string(), client_ip.to_string());
    let now = db::now();
    let admission = db::run(pool, move |c| {
        db::write_tx(c, |c| logins::begin_attempt(c, &key, &ip, now, LIMITS))
    })
    .await?;
    match admission {
        Admission::Admitted(attempt) => Ok(attempt),
        Admission::Throttled { until } => {
            let wait = (until - now).num_seconds().max(1);
            Err(AppError::TooManyRequests {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            })
        }
    }
}
