use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, parse_id, with_etag};
use crate::auth::AuthUser;
use crate::db::trace_requests::TraceRequestRow;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::trace::requests::{self, CreateRequest, Party, RequestStatus, RespondRequest};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TraceRequestView {
    pub id: String,
    /// `TR-<year>-<6 digits>`.
    pub reference: String,
    /// open, acknowledged or answered.
    pub status: String,
    pub urgency: String,
    pub from_agency_id: String,
    pub to_agency_id: String,
    #[schema(value_type = Object)]
    pub firearm: Value,
    #[schema(value_type = Object)]
    pub circumstances: Value,
    pub respond_by: Option<DateTime<Utc>>,
    /// Past `respond_by` with no response.
    pub overdue: bool,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The answer; `last_known_holder` only when the outcome is identified.
    #[schema(value_type = Option<Object>)]
    pub response: Option<Value>,
    /// The response as a C2SP signed note: its text is the canonical JSON
    /// of the response with the request it answers, signed with the
    /// registry's audit key (`/v1/audit/key`). Keep it; check it with
    /// `registry trace verify-answer`.
    pub signed_response: Option<String>,
    /// Matches found at creation: for the receiving agency and auditors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub candidates: Option<Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(row: TraceRequestRow, party: Party) -> TraceRequestView {
    let json = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let answered = row.status == RequestStatus::Answered.as_str();
    let overdue = !answered && row.respond_by.is_some_and(|t| t < Utc::now().naive_utc());
    let response = row.response.as_deref().map(json).map(|mut r| {
        if r["outcome"] != "identified" {
            if let Some(o) = r.as_object_mut() {
                o.remove("last_known_holder");
            }
        }
        r
    });
    TraceRequestView {
        candidates: (party != Party::Requester).then(|| json(&row.candidates)),
        firearm: json(&row.firearm),
        circumstances: json(&row.circumstances),
        respond_by: row.respond_by.map(|t| t.and_utc()),
        acknowledged_at: row.acknowledged_at.map(|t| t.and_utc()),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        id: row.id,
        reference: row.reference,
        status: row.status,
        urgency: row.urgency,
        from_agency_id: row.from_agency_id,
        to_agency_id: row.to_agency_id,
        overdue,
        response,
        signed_response: row.signed_response,
        version: row.version,
    }
}

/// Sends a trace request to another agency (tracers).
#[utoipa::path(post, path = "/v1/trace-requests", tag = "tracing", request_body = CreateRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses((status = 201, body = TraceRequestView), (status = 403, body = crate::http::Problem),
        (status = 422, description = "unknown or own agency, respond_by in the past, invalid description", body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<CreateRequest>,
) -> AppResult<HttpResponse> {
    let budget = crate::trace::Budget::of(state.settings.trace_budget);
    let row = requests::create(&state.pool, &user, body.0, budget).await?;
    let location = format!("/v1/trace-requests/{}", row.id);
    Ok(created(&location, row.version, view(row, Party::Requester)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// inbox (default): addressed to your agency; outbox: sent by it; all: every request (auditors).
    #[serde(rename = "box")]
    pub mailbox: Option<String>,
    /// open, acknowledged or answered.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Lists trace requests (tracers, auditors).
#[utoipa::path(get, path = "/v1/trace-requests", tag = "tracing", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Page<TraceRequestView>), (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> AppResult<web::Json<Page<TraceRequestView>>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            RequestStatus::parse(s)
                .map_err(|m| AppError::bad_request("invalid_parameter", format!("status: {m}")))
        })
        .transpose()?;
    let mailbox = query.mailbox.as_deref().unwrap_or("inbox");
    let limit = page.limit;
    let reads = state.reads.clone();
    let rows = requests::list(
        &state.pool,
        reads,
        &user,
        mailbox,
        status,
        page.after,
        limit + 1,
    )
    .await?;
    Page::from_rows(
        rows,
        limit,
        |r| &r.id,
        |r| {
            let party = requests::party(&user, &r)?;
            Ok(view(r, party))
        },
    )
    .map(web::Json)
}

/// Reads one request: the two agencies' tracers and auditors; 404 for anyone else.
#[utoipa::path(get, path = "/v1/trace-requests/{id}", tag = "tracing", security(("bearer" = [])),
    responses((status = 200, body = TraceRequestView), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let reads = state.reads.clone();
    let (row, party) = requests::read(&state.pool, reads, &user, parse_id(&id)?).await?;
    Ok(with_etag(row.version, view(row, party)))
}

/// Acknowledges receipt (tracers of the receiving agency; once).
#[utoipa::path(post, path = "/v1/trace-requests/{id}/acknowledge", tag = "tracing", security(("bearer" = [])),
    responses((status = 200, body = TraceRequestView), (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem), (status = 409, body = crate::http::Problem)))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = requests::acknowledge(&state.pool, &user, parse_id(&id)?).await?;
    Ok(with_etag(row.version, view(row, Party::Receiver)))
}

/// Answers the request (tracers of the receiving agency; once).
#[utoipa::path(post, path = "/v1/trace-requests/{id}/response", tag = "tracing", request_body = RespondRequest,
    security(("bearer" = [])),
    responses((status = 200, body = TraceRequestView), (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem), (status = 409, description = "already answered", body = crate::http::Problem),
        (status = 422, description = "declined without information, identified without an existing firearm_id", body = crate::http::Problem)))]
pub async fn respond(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: ApiJson<RespondRequest>,
) -> AppResult<HttpResponse> {
    let log = state.audit.clone();
    let row = requests::respond(&state.pool, log, &user, parse_id(&id)?, body.0).await?;
    Ok(with_etag(row.version, view(row, Party::Receiver)))
}
