//! Webhook subscriptions and their deliveries over HTTP
//! (docs/webhooks.md). Admins of an agency, for their agency.

use actix_web::{web, HttpResponse};

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, parse_id, with_etag};
use crate::auth::{self, Caller};
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::webhooks::{self, Change, CreateWebhook, DeliveryView, WebhookView};

/// Subscribes a URL of the caller's agency to events. The answer holds
/// the signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = WebhookView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "not an admin of an agency", body = crate::http::Problem),
        (status = 422, description = "not https, a private or loopback address, an unknown event", body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateWebhook>,
) -> AppResult<HttpResponse> {
    let settings = state.settings.webhooks;
    let new = body.0.parse(settings.allow_private);
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        crate::auth::policy::require(user, crate::auth::policy::Action::ManageWebhooks)?;
        webhooks::create(c, user, new?, settings)
    })
    .await?;
    let location = format!("/v1/webhooks/{}", row.id);
    Ok(created(
        &location,
        row.version,
        WebhookView::with_secret(row),
    ))
}

/// The caller's agency's subscriptions, oldest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<WebhookView>), (status = 400, body = crate::http::Problem),
        (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<WebhookView>>> {
    let page = query.parse()?;
    let limit = page.limit;
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        webhooks::page(c, user, page.after.as_deref(), limit + 1)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, |r| Ok(WebhookView::from(r))).map(web::Json)
}

/// One subscription of the caller's agency (another agency's is a 404).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        webhooks::get(c, user, &id)
    })
    .await?;
    Ok(with_etag(row.version, WebhookView::from(row)))
}

async fn change(
    state: web::Data<AppState>,
    caller: Caller,
    id: &str,
    what: Change,
) -> AppResult<crate::db::webhooks::WebhookRow> {
    let id = parse_id(id)?;
    auth::run_as(&state.pool, caller, move |c, user| {
        webhooks::change(c, user, &id, what)
    })
    .await
}

/// A new signing secret. For a day the old one signs too: each delivery
/// carries both signatures, so the receiver can switch when it likes.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::http::Problem)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = change(state, caller, &id, Change::RotateSecret).await?;
    Ok(with_etag(row.version, WebhookView::with_secret(row)))
}

/// Stops queuing messages for the subscription; what is queued waits.
#[utoipa::path(post, path = "/v1/webhooks/{id}/disable", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::http::Problem)))]
pub async fn disable(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = change(state, caller, &id, Change::Disable).await?;
    Ok(with_etag(row.version, WebhookView::from(row)))
}

/// Takes messages again, and sends what waited.
#[utoipa::path(post, path = "/v1/webhooks/{id}/enable", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::http::Problem)))]
pub async fn enable(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = change(state, caller, &id, Change::Enable).await?;
    Ok(with_etag(row.version, WebhookView::from(row)))
}

/// The subscription's messages, oldest first, each with its attempts
/// (status codes, errors, times) and, while pending, its next try.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 404, body = crate::http::Problem)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<DeliveryView>>> {
    let id = parse_id(&id)?;
    let page = query.parse()?;
    let limit = page.limit;
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        webhooks::deliveries(c, user, &id, page.after.as_deref(), limit + 1)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, Ok).map(web::Json)
}

/// Sends a delivered or failed message again, under its `webhook-id`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{message_id}/replay", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 202, body = DeliveryView), (status = 404, body = crate::http::Problem),
        (status = 409, description = "delivery_pending: it is still being delivered", body = crate::http::Problem)))]
pub async fn replay(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, message_id) = path.into_inner();
    let id = parse_id(&id)?;
    if !message_id.starts_with("msg_") || message_id.len() > 40 {
        return Err(AppError::NotFound);
    }
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        webhooks::replay(c, user, &id, &message_id)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(view))
}
