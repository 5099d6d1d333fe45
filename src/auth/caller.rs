//! The caller as the bearer token names them, and their account as the
//! database holds it at this request.

use crate::db::{self, replica::Reader, users::UserRow, DbConn, Pool};
use crate::domain::{Role, Roles};
use crate::error::{AppError, AppResult};

/// The authenticated caller. The token only says who it is; whether the
/// account is still enabled and which roles it holds are read from the
/// database on every request, so disabling a user or removing a role takes
/// effect at once.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub username: String,
    pub agency_id: Option<String>,
    pub roles: Roles,
    /// The request this user is making, for the audit log.
    pub request_id: String,
    /// Why, as the request's `Registry-Purpose` says, for the audit log.
    pub purpose: Option<String>,
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// The audit log's view of this user.
    pub fn audit_actor(&self) -> crate::audit::AuditActor {
        crate::audit::AuditActor {
            user_id: Some(self.id.clone()),
            username: Some(self.username.clone()),
            agency_id: self.agency_id.clone(),
            request_id: self.request_id.clone(),
            purpose: self.purpose.clone(),
        }
    }
}

/// The caller as the bearer token names them: the token's signature and
/// expiry are checked, the account is not yet. [`Caller::account`] reads it
/// inside the database call the request makes anyway, so the request
/// crosses to the blocking pool once instead of twice (each crossing is
/// two thread switches, and on a short request they cost about as much as
/// the query: see docs/benchmarks.md). The administrative endpoints take
/// [`AuthUser`] instead, which reads the account in a call of its own.
#[derive(Debug, Clone)]
pub struct Caller {
    user_id: String,
    /// The token epoch the token was issued in.
    epoch: i64,
    request_id: String,
    purpose: Option<String>,
    /// Whether this request is one a user who must change their password
    /// may still make (`/v1/auth/me`, `/v1/auth/password`, the session).
    allowed_before_password_change: bool,
    /// The console session the request's cookie names, which must still be
    /// live; `None` for a bearer token.
    session: Option<String>,
}

/// The paths a user who must change their password may still call.
const BEFORE_PASSWORD_CHANGE: [&str; 3] = ["/v1/auth/me", "/v1/auth/password", "/v1/auth/session"];

impl Caller {
    pub fn new(
        user_id: String,
        epoch: i64,
        request_id: String,
        purpose: Option<String>,
        path: &str,
    ) -> Self {
        Self {
            user_id,
            epoch,
            request_id,
            purpose,
            allowed_before_password_change: BEFORE_PASSWORD_CHANGE.contains(&path),
            session: None,
        }
    }

    /// The caller of a console session's cookie.
    pub fn in_session(self, sid: String) -> Self {
        Self {
            session: Some(sid),
            ..self
        }
    }

    /// The console session this request is made in, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The account behind the token, as it is now: refused if it has been
    /// disabled or its password changed since the token was issued, with
    /// the roles it holds at this moment.
    pub fn account(&self, conn: &mut DbConn) -> AppResult<AuthUser> {
        let row = db::users::find(conn, &self.user_id)?.ok_or_else(|| {
            AppError::unauthorized("invalid_token", "the access token is not valid")
        })?;
        if let Some(sid) = &self.session {
            if !db::sessions::is_live(conn, sid, &self.user_id, db::now())? {
                return Err(AppError::unauthorized(
                    "session_ended",
                    "this console session has ended; sign in again",
                ));
            }
        }
        self.admit(row)
    }

    fn admit(&self, row: UserRow) -> AppResult<AuthUser> {
        if row.disabled {
            return Err(AppError::unauthorized(
                "account_disabled",
                "this account has been disabled",
            ));
        }
        if row.token_epoch != self.epoch {
            return Err(AppError::unauthorized(
                "token_revoked",
                "the password has changed since this token was issued; log in again",
            ));
        }
        if row.must_change_password && !self.allowed_before_password_change {
            return Err(AppError::forbidden_because(
                "password_change_required",
                "choose a new password with POST /v1/auth/password first",
            ));
        }
        Ok(AuthUser {
            roles: Roles::from_stored(&row.roles).map_err(AppError::internal)?,
            id: row.id,
            username: row.username,
            agency_id: row.agency_id,
            request_id: self.request_id.clone(),
            purpose: self.purpose.clone(),
        })
    }

    /// Refuses a read that gives no `Registry-Purpose` where the registry
    /// is configured to require one.
    pub fn require_purpose(&self, required: bool) -> AppResult<()> {
        if required && self.purpose.is_none() {
            return Err(AppError::bad_request(
                "purpose_required",
                "this registry records why its records are read: send Registry-Purpose \
                 with a case reference or reason",
            ));
        }
        Ok(())
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// Runs `f` as the caller's current account, read on the same connection
/// in the same trip to the blocking pool.
pub async fn run_as<T, F>(pool: &Pool, caller: Caller, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &AuthUser) -> AppResult<T> + Send + 'static,
{
    db::run(pool, move |conn| {
        let user = caller.account(conn)?;
        f(conn, &user)
    })
    .await
}

/// Like [`run_as`] for a read that can stand a moment's lag: the account is
/// read on the primary, so that disabling a user or taking a role away
/// holds at once, and `f` runs where `reader` sends it (a standby, when
/// there is one that has replayed past the caller's last write).
pub async fn read_as<T, F>(reader: Reader, caller: Caller, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &AuthUser) -> AppResult<T> + Send + 'static,
{
    actix_web::web::block(move || {
        let user = db::on_pooled(reader.primary(), |conn| caller.account(conn))?;
        reader.read(|conn| f(conn, &user))
    })
    .await
    .map_err(|e| AppError::from(db::StoreError::from(e)))?
}
