use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::db::{self, users::UserRow, DbConn, Pool};
use crate::domain::{Role, Roles};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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

/// The id the request-id middleware gave this request.
pub fn request_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<crate::http::observe::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// The token in `Authorization: Bearer <token>`, if the header is usable.
pub fn bearer_token(req: &HttpRequest) -> AppResult<&str> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::unauthorized(
                "invalid_token",
                "the Authorization header is not a Bearer token",
            )
        })
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
    /// may still make (`/v1/auth/me`, `/v1/auth/password`).
    allowed_before_password_change: bool,
}

/// The paths a user who must change their password may still call.
const BEFORE_PASSWORD_CHANGE: [&str; 2] = ["/v1/auth/me", "/v1/auth/password"];

impl Caller {
    /// The account behind the token, as it is now: refused if it has been
    /// disabled or its password changed since the token was issued, with
    /// the roles it holds at this moment.
    pub fn account(&self, conn: &mut DbConn) -> AppResult<AuthUser> {
        let row = db::users::find(conn, &self.user_id)?.ok_or_else(|| {
            AppError::unauthorized("invalid_token", "the access token is not valid")
        })?;
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

    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
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

impl FromRequest for Caller {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(caller(req))
    }
}

/// The caller a request's bearer token names, not yet checked against
/// the account.
pub fn caller(req: &HttpRequest) -> AppResult<Caller> {
    let token = bearer_token(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let claims = state.tokens.verify(token)?;
    Ok(Caller {
        user_id: claims.sub,
        epoch: claims.ep,
        request_id: request_id(req),
        purpose: purpose(req)?,
        allowed_before_password_change: BEFORE_PASSWORD_CHANGE.contains(&req.path()),
    })
}

/// The header in which a request says why it reads or changes a record.
pub const PURPOSE_HEADER: &str = "registry-purpose";
const MAX_PURPOSE_CHARS: usize = 200;

/// `Registry-Purpose`, if sent: a case reference or reason, recorded with
/// the request's audit entries.
pub fn purpose(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(raw) = req.headers().get(PURPOSE_HEADER) else {
        return Ok(None);
    };
    let invalid = || {
        AppError::bad_request(
            "invalid_purpose",
            format!(
                "Registry-Purpose must be 1 to {MAX_PURPOSE_CHARS} characters of UTF-8 text without control characters"
            ),
        )
    };
    let text = std::str::from_utf8(raw.as_bytes())
        .map_err(|_| invalid())?
        .trim();
    let len = text.chars().count();
    if len == 0 || len > MAX_PURPOSE_CHARS || text.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(Some(text.to_string()))
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let caller = caller(req);
        Box::pin(async move {
            let caller = caller?;
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            db::run(&state.pool, move |conn| caller.account(conn)).await
        })
    }
}
