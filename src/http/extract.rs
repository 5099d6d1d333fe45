//! From a request to its caller: the bearer token, the request id, the
//! `Registry-Purpose` header, and the extractors that hand handlers a
//! [`Caller`] or an [`AuthUser`].

use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::state::AppState;
use crate::auth::{AuthUser, Caller};
use crate::db;
use crate::error::{AppError, AppResult};

/// The id the request-id middleware gave this request.
pub fn request_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<super::observe::RequestId>()
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

impl FromRequest for Caller {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(caller(req))
    }
}

/// The caller a request's bearer token, or failing one its console
/// session cookie, names, not yet checked against the account.
pub fn caller(req: &HttpRequest) -> AppResult<Caller> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let session = match req.headers().contains_key(header::AUTHORIZATION) {
        true => None,
        false => session_cookie(req),
    };
    let Some(cookie) = session else {
        let claims = state.tokens.verify(bearer_token(req)?)?;
        return Ok(Caller::new(
            claims.sub,
            claims.ep,
            request_id(req),
            purpose(req)?,
            req.path(),
        ));
    };
    let claims = state.tokens.verify(cookie)?;
    let sid = claims
        .sid
        .ok_or_else(|| AppError::unauthorized("invalid_token", "the session is not valid"))?;
    if !req.method().is_safe() {
        let given = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !state.tokens.csrf_matches(&sid, given) {
            return Err(AppError::forbidden_because(
                "csrf_token_invalid",
                "a console request that changes something must carry its session's \
                 X-CSRF-Token (GET /v1/auth/session gives it)",
            ));
        }
    }
    Ok(Caller::new(
        claims.sub,
        claims.ep,
        request_id(req),
        purpose(req)?,
        req.path(),
    )
    .in_session(sid))
}

/// The cookie that carries a console session's token.
pub const SESSION_COOKIE: &str = "registry_session";
/// The header in which a console request that changes something carries
/// its session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The console session's token in the `Cookie` header, if there is one.
pub fn session_cookie(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|v| !v.is_empty())
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
