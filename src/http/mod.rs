//! The HTTP surface. Every route is listed in [`routes`]; handlers stay thin:
//! they parse the request's form, then call the capability modules
//! (`accounts`, `firearms`, `events`, `trace`) or `auth::run_as` with a plain
//! function on a connection, and render the answer.

pub mod agencies;
pub mod audit;
pub mod auth;
pub mod consistency;
pub mod console;
pub mod events;
pub mod extract;
pub mod firearms;
pub mod holders;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod observe;
pub mod ops;
pub mod pagination;
pub mod reports;
pub mod role_grants;
pub mod spool;
pub mod state;
pub mod stockpiles;
pub mod tlog;
pub mod trace;
pub mod trace_requests;
pub mod users;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{middleware::from_fn, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::{AppError, AppResult, FieldError};

/// An RFC 9457 problem, as every error is answered (for the OpenAPI document).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code; see docs/errors.md.
    pub code: String,
    pub errors: Option<Vec<FieldError>>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| AppError::bad_request("invalid_parameter", e.to_string()).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
    .configure(console_routes)
    .route("/health", web::get().to(ops::health))
    .route("/ready", web::get().to(ops::ready))
    .route("/metrics", web::get().to(ops::metrics))
    .route("/docs", web::get().to(ops::docs_redirect))
    .route("/tlog/checkpoint", web::get().to(tlog::checkpoint))
    .route("/tlog/tile/{tile:.*}", web::get().to(tlog::tile))
    .service(
        web::scope("/v1")
            .wrap(from_fn(idempotency::idempotency))
            .configure(auth_routes)
            .route("/agencies", web::post().to(agencies::create))
            .route("/agencies", web::get().to(agencies::list))
            .route("/agencies/{id}", web::get().to(agencies::show))
            .route("/users", web::post().to(users::create))
            .route("/users", web::get().to(users::list))
            .route("/users/{id}/disable", web::post().to(users::disable))
            .route("/users/{id}/roles", web::put().to(users::set_roles))
            .route(
                "/users/{id}/password",
                web::post().to(users::reset_password),
            )
            .route("/role-grants", web::get().to(role_grants::list))
            .route(
                "/role-grants/{id}/approve",
                web::post().to(role_grants::approve),
            )
            .route(
                "/role-grants/{id}/reject",
                web::post().to(role_grants::reject),
            )
            .route("/firearms", web::post().to(firearms::register))
            .route("/firearms", web::get().to(firearms::list))
            .route("/firearms/import", web::post().to(firearms::import))
            .route("/firearms/{id}", web::get().to(firearms::show))
            .route("/firearms/{id}/events", web::post().to(events::record))
            .route("/firearms/{id}/history", web::get().to(events::history))
            .route("/firearms/{id}/evidence", web::get().to(events::evidence))
            .route("/destructions", web::post().to(events::destroy))
            .route("/trace", web::get().to(trace::trace))
            .route("/notifications", web::get().to(trace::notifications))
            .route("/trace-requests", web::post().to(trace_requests::create))
            .route("/trace-requests", web::get().to(trace_requests::list))
            .route("/trace-requests/{id}", web::get().to(trace_requests::show))
            .route(
                "/trace-requests/{id}/acknowledge",
                web::post().to(trace_requests::acknowledge),
            )
            .route(
                "/trace-requests/{id}/response",
                web::post().to(trace_requests::respond),
            )
            .configure(stockpile_routes)
            .configure(holder_routes)
            .configure(webhook_routes)
            .route("/statistics", web::get().to(reports::statistics))
            .route("/reports/iti", web::get().to(reports::iti))
            .route("/reports/att", web::get().to(reports::att))
            .route("/reports/sdg-16-4-2", web::get().to(reports::sdg))
            .route("/audit/entries", web::get().to(audit::entries))
            .route("/audit/head", web::get().to(audit::head))
            .route("/audit/checkpoint", web::get().to(audit::checkpoint))
            .route("/audit/key", web::get().to(audit::key))
            .route("/audit/proof/inclusion", web::get().to(audit::inclusion))
            .route(
                "/audit/proof/consistency",
                web::get().to(audit::consistency),
            )
            .route("/audit/verify", web::get().to(audit::verify))
            .route("/audit/export", web::get().to(audit::export))
            .default_service(web::to(ops::no_route)),
    );
}

/// The web console's page and files (docs/console.md).
fn console_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(console::page))
        .route("/console/languages", web::get().to(console::languages))
        .route("/console/{path:.*}", web::get().to(console::file));
}

/// Logging in, the console's sessions, the caller's own account.
fn auth_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(auth::login))
        .route("/auth/me", web::get().to(auth::me))
        .route("/auth/session", web::post().to(auth::open_session))
        .route("/auth/session", web::get().to(auth::show_session))
        .route("/auth/session", web::delete().to(auth::end_session))
        .route("/auth/password", web::post().to(auth::change_password));
}

/// Holders and licences (docs/holders.md).
fn holder_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/holders", web::post().to(holders::create))
        .route("/holders", web::get().to(holders::search))
        .route("/holders/{id}", web::get().to(holders::show))
        .route("/holders/{id}/firearms", web::get().to(holders::firearms))
        .route(
            "/holders/{id}/licences",
            web::post().to(holders::add_licence),
        )
        .route(
            "/holders/{id}/licences/{lid}/revoke",
            web::post().to(holders::revoke),
        );
}

/// Webhook subscriptions and their deliveries (docs/webhooks.md).
fn webhook_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::post().to(webhooks::create))
        .route("/webhooks", web::get().to(webhooks::list))
        .route("/webhooks/{id}", web::get().to(webhooks::show))
        .route(
            "/webhooks/{id}/rotate-secret",
            web::post().to(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/disable", web::post().to(webhooks::disable))
        .route("/webhooks/{id}/enable", web::post().to(webhooks::enable))
        .route(
            "/webhooks/{id}/deliveries",
            web::get().to(webhooks::deliveries),
        )
        .route(
            "/webhooks/{id}/deliveries/{message_id}/replay",
            web::post().to(webhooks::replay),
        );
}

fn stockpile_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/armouries", web::post().to(stockpiles::create))
        .route("/armouries", web::get().to(stockpiles::list))
        .route("/armouries/{id}", web::get().to(stockpiles::show))
        .route(
            "/armouries/{id}/firearms",
            web::get().to(stockpiles::firearms),
        )
        .route(
            "/armouries/{id}/stock-checks",
            web::post().to(stockpiles::open),
        )
        .route("/stock-checks/{id}", web::get().to(stockpiles::show_check))
        .route(
            "/stock-checks/{id}/sightings",
            web::post().to(stockpiles::sightings),
        )
        .route(
            "/stock-checks/{id}/close",
            web::post().to(stockpiles::close),
        );
}

/// A path id: anything but a UUID cannot name a record, so it is a 404.
pub fn parse_id(raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound)
}

/// `If-Match: "<version>"`, if sent.
pub fn if_match(req: &HttpRequest) -> AppResult<Option<i64>> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_if_match",
                "If-Match must be a quoted version, e.g. \"3\"",
            )
        })
}

/// Whether the client asked for CSV (`Accept: text/csv`).
pub fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/csv"))
}

pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

pub fn with_etag(version: i64, body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(version)).json(body)
}

pub fn created(location: &str, version: i64, body: impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header(etag(version))
        .json(body)
}
