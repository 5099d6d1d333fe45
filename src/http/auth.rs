use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;
use crate::accounts::passwords;
use crate::auth::{login, AuthUser};
use crate::domain::net::{client_address, Cidr};
use crate::domain::Password;
use crate::error::{AppError, AppResult, Validator};
use crate::http::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The token is good only for `/v1/auth/me` and `/v1/auth/password`
    /// until the user chooses a new password.
    pub password_change_required: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: String,
    pub username: String,
    pub agency_id: Option<String>,
    pub roles: Vec<&'static str>,
}

/// The client address used for throttling: the peer, or behind trusted
/// proxies the rightmost hop they did not write (see `domain::net`).
fn client_ip(req: &HttpRequest, trusted: &[Cidr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_address(peer, forwarded, trusted).to_string()
}

/// No account has a longer name or password, so such an attempt is
/// refused before it is counted or logged: a stranger cannot fill the
/// failure table or the audit log with megabytes of username.
fn check_lengths(body: &LoginRequest) -> AppResult<()> {
    let mut v = Validator::new();
    if body.username.chars().count() > 64 {
        v.push("username", "must be at most 64 characters");
    }
    if body.password.chars().count() > 1024 {
        v.push("password", "must be at most 1024 characters");
    }
    v.finish()
}

/// Exchanges a username and password for a short-lived access token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "wrong username or password (the same answer either way)", body = crate::http::Problem),
        (status = 422, description = "a username over 64 or a password over 1,024 characters; nothing is counted or logged", body = crate::http::Problem),
        (status = 429, description = "too many failures for this username or client", body = crate::http::Problem)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> AppResult<web::Json<TokenResponse>> {
    let ApiJson(body) = body;
    check_lengths(&body)?;
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let request_id = super::extract::request_id(&req);
    let issued = login::login(
        &state.pool,
        &state.tokens,
        &body.username,
        body.password,
        ip,
        request_id,
    )
    .await?;
    Ok(web::Json(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        password_change_required: issued.password_change_required,
    }))
}

/// Changes the caller's own password. Every token issued before, this one
/// included, stops working: log in again.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePassword,
    security(("bearer" = [])),
    responses((status = 204),
        (status = 403, description = "wrong_password", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem),
        (status = 429, body = crate::http::Problem)))]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: ApiJson<ChangePassword>,
) -> AppResult<HttpResponse> {
    let ApiJson(body) = body;
    let new =
        Password::parse(&body.new_password).map_err(|m| AppError::field("new_password", m))?;
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    passwords::change_own(&state.pool, &user, body.current_password, new, ip).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account, with roles as the database holds them now.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::http::Problem)))]
pub async fn me(user: AuthUser) -> web::Json<Me> {
    web::Json(Me {
        roles: user.roles.names(),
        id: user.id,
        username: user.username,
        agency_id: user.agency_id,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Send it as `X-CSRF-Token` with every request of the session that
    /// changes something.
    pub csrf_token: String,
    /// Seconds the session lasts from signing in.
    pub expires_in: i64,
    /// The session is good only for choosing a new password (and signing
    /// out) until the user has chosen one.
    pub password_change_required: bool,
}

/// The `Set-Cookie` value of a console session: unreadable by scripts,
/// never sent with a request another site starts, and over TLS only when
/// the registry serves TLS.
fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
        super::extract::SESSION_COOKIE
    )
}

/// Signs in to the web console: the same check, throttling and audit entry
/// as `/v1/auth/login`, answered with a session cookie instead of a token.
#[utoipa::path(post, path = "/v1/auth/session", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = SessionInfo, description = "signed in; the session's token is in the `registry_session` cookie (HttpOnly, SameSite=Strict)"),
        (status = 401, description = "wrong username or password (the same answer either way)", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem),
        (status = 429, body = crate::http::Problem)))]
pub async fn open_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    let ApiJson(body) = body;
    check_lengths(&body)?;
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let session = login::open_session(
        &state.pool,
        &state.tokens,
        (&body.username, body.password),
        ip,
        super::extract::request_id(&req),
        state.settings.console_session_secs,
    )
    .await?;
    let cookie = session_cookie(
        &session.token,
        session.expires_in,
        state.settings.tls.is_some(),
    );
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::SET_COOKIE, cookie))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(SessionInfo {
            csrf_token: session.csrf_token,
            expires_in: session.expires_in,
            password_change_required: session.password_change_required,
        }))
}

/// The console session the cookie names: its CSRF token, for a page loaded
/// after signing in.
#[utoipa::path(get, path = "/v1/auth/session", tag = "auth",
    responses((status = 200, body = SessionInfo),
        (status = 400, description = "not_a_session: the request carries a bearer token, not a session cookie", body = crate::http::Problem),
        (status = 401, body = crate::http::Problem)))]
pub async fn show_session(
    state: web::Data<AppState>,
    caller: crate::auth::Caller,
) -> AppResult<HttpResponse> {
    let sid = session_of(&caller)?.to_string();
    let user_id = caller.user_id().to_string();
    let must_change = crate::db::run(&state.pool, move |c| -> AppResult<bool> {
        caller.account(c)?;
        Ok(crate::db::users::find(c, &user_id)?.is_some_and(|u| u.must_change_password))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(SessionInfo {
            csrf_token: state.tokens.csrf_token(&sid),
            expires_in: state.settings.console_session_secs,
            password_change_required: must_change,
        }))
}

/// Signs out: the session ends on the server, so its cookie stops working
/// even where the browser kept a copy.
#[utoipa::path(delete, path = "/v1/auth/session", tag = "auth",
    params(("X-CSRF-Token" = String, Header, description = "the session's CSRF token")),
    responses((status = 204),
        (status = 400, description = "not_a_session", body = crate::http::Problem),
        (status = 401, body = crate::http::Problem),
        (status = 403, description = "csrf_token_invalid", body = crate::http::Problem)))]
pub async fn end_session(
    state: web::Data<AppState>,
    caller: crate::auth::Caller,
) -> AppResult<HttpResponse> {
    let sid = session_of(&caller)?.to_string();
    let user = crate::db::run(&state.pool, move |c| caller.account(c)).await?;
    login::end_session(&state.pool, user.audit_actor(), sid).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((
            actix_web::http::header::SET_COOKIE,
            session_cookie("", 0, state.settings.tls.is_some()),
        ))
        .finish())
}

fn session_of(caller: &crate::auth::Caller) -> AppResult<&str> {
    caller.session().ok_or_else(|| {
        AppError::bad_request(
            "not_a_session",
            "this request carries a bearer token, not a console session cookie",
        )
    })
}
