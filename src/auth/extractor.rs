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
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// Refuses with 403 unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> AppResult<()> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(Role::as_str).collect();
            Err(AppError::forbidden(format!(
                "this needs one of the roles: {}",
                names.join(", ")
            )))
        }
    }

    /// The audit log's view of this user.
    pub fn audit_actor(&self) -> crate::audit::AuditActor {
        crate::audit::AuditActor {
            user_id: Some(self.id.clone()),
            username: Some(self.username.clone()),
            agency_id: self.agency_id.clone(),
            request_id: self.request_id.clone(),
        }
    }

    fn from_row(row: UserRow, request_id: String) -> AppResult<Self> {
        let roles = Roles::from_stored(&row.roles).map_err(AppError::internal)?;
        Ok(Self {
            id: row.id,
            username: row.username,
            agency_id: row.agency_id,
            roles,
            request_id,
        })
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
    request_id: String,
}

impl Caller {
    /// The account behind the token, as it is now: refused if it has been
    /// disabled, with the roles it holds at this moment.
    pub fn account(&self, conn: &mut DbConn) -> AppResult<AuthUser> {
        match db::users::find(conn, &self.user_id)? {
            Some(row) if row.disabled => Err(AppError::unauthorized(
                "account_disabled",
                "this account has been disabled",
            )),
            Some(row) => AuthUser::from_row(row, self.request_id.clone()),
            None => Err(AppError::unauthorized(
                "invalid_token",
                "the access token is not valid",
            )),
        }
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

fn caller(req: &HttpRequest) -> AppResult<Caller> {
    let token = bearer_token(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let claims = state.tokens.verify(token)?;
    Ok(Caller {
        user_id: claims.sub,
        request_id: request_id(req),
    })
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
