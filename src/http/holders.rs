//! Holders and licences over HTTP (docs/holders.md). Every read of a
//! holder is on the record (`holder.read`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, parse_id, with_etag};
use crate::audit::reads;
use crate::auth::{self, Caller};
use crate::error::{AppError, AppResult};
use crate::holders::input::{CreateHolder, CreateLicence, RevokeLicence};
use crate::holders::licences::{self, LicenceView, Revoked};
use crate::holders::retention::Tiers;
use crate::holders::{self, HolderView, Holding, Search};
use crate::http::state::AppState;

/// Records a holder: a person or an organisation.
#[utoipa::path(post, path = "/v1/holders", tag = "holders", request_body = CreateHolder,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = HolderView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = crate::http::Problem),
        (status = 409, description = "duplicate_holder: an identifier is another holder's, named by existing_holder_id", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateHolder>,
) -> AppResult<HttpResponse> {
    let new = body.0.parse(crate::db::now().date());
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        crate::auth::policy::require(user, crate::auth::policy::Action::RecordHolders)?;
        holders::create(c, user, new?)
    })
    .await?;
    let location = format!("/v1/holders/{}", view.id);
    Ok(created(&location, view.version, view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HolderSearch {
    /// One or more words of the name, each the start of a word, in any
    /// order; case and accents do not matter.
    pub name: Option<String>,
    /// An identifier's exact value (spaces and dashes do not matter).
    pub identifier: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Finds holders by name or by identifier.
#[utoipa::path(get, path = "/v1/holders", tag = "holders", security(("bearer" = [])),
    params(HolderSearch),
    responses((status = 200, body = Page<HolderView>), (status = 400, body = crate::http::Problem),
        (status = 403, body = crate::http::Problem), (status = 422, body = crate::http::Problem)))]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<HolderSearch>,
) -> AppResult<web::Json<Page<HolderView>>> {
    caller.require_purpose(state.settings.require_purpose)?;
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .parse()?;
    let what = Search::parse(q.name.as_deref(), q.identifier.as_deref())?;
    let limit = page.limit;
    let reads = state.reads.clone();
    let tiers = Tiers::of(&state.settings);
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        let rows = holders::search(c, user, &tiers, &what, page.after.as_deref(), limit + 1)?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let detail = json!({"name": q.name, "identifier": q.identifier, "found": ids});
        reads.record(
            c,
            &user.audit_actor(),
            reads::entry("holder.read", "holders", detail),
        )?;
        Ok(rows)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, Ok).map(web::Json)
}

/// Reads one holder, with its licences.
#[utoipa::path(get, path = "/v1/holders/{id}", tag = "holders", security(("bearer" = [])),
    responses((status = 200, body = HolderView), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require_purpose(state.settings.require_purpose)?;
    let id = parse_id(&id)?;
    let reads = state.reads.clone();
    let tiers = Tiers::of(&state.settings);
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        let view = holders::get(c, user, &tiers, &id)?;
        let read = reads::entry(
            "holder.read",
            format!("holder:{id}"),
            json!({"holder_id": id}),
        );
        reads.record(c, &user.audit_actor(), read)?;
        Ok(view)
    })
    .await?;
    Ok(with_etag(view.version, view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HeldQuery {
    /// RFC 3339: what the holder held at that moment; now when absent.
    pub at: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The firearms a holder owns or keeps now, or at a past moment.
#[utoipa::path(get, path = "/v1/holders/{id}/firearms", tag = "holders", security(("bearer" = [])),
    params(HeldQuery),
    responses((status = 200, body = Page<Holding>), (status = 404, body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn firearms(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<HeldQuery>,
) -> AppResult<web::Json<Page<Holding>>> {
    caller.require_purpose(state.settings.require_purpose)?;
    let id = parse_id(&id)?;
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .parse()?;
    let at =
        q.at.as_deref()
            .map(|raw| {
                chrono::DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.naive_utc())
                    .map_err(|_| AppError::field("at", "must be an RFC 3339 time"))
            })
            .transpose()?;
    let limit = page.limit;
    let reads = state.reads.clone();
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        let rows = holders::held(c, user, &id, at, page.after.as_deref(), limit + 1)?;
        let detail = json!({"holder_id": id, "at": q.at, "firearms": rows.len()});
        reads.record(
            c,
            &user.audit_actor(),
            reads::entry("holder.read", format!("holder:{id}"), detail),
        )?;
        Ok(rows)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.firearm_id, Ok).map(web::Json)
}

/// Issues a licence to a holder.
#[utoipa::path(post, path = "/v1/holders/{id}/licences", tag = "holders", request_body = CreateLicence,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = LicenceView, headers(("Location" = String))),
        (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "duplicate_licence: the issuer has a licence of that number", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn add_licence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<CreateLicence>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let new = body.0.parse();
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        crate::auth::policy::require(user, crate::auth::policy::Action::RecordHolders)?;
        licences::add(c, user, &id, new?)
    })
    .await?;
    let location = format!("/v1/holders/{}/licences/{}", view.holder_id, view.id);
    Ok(created(&location, view.version, view))
}

/// Revokes a licence; answers what the holder must surrender, and tells
/// the agencies responsible for those firearms.
#[utoipa::path(post, path = "/v1/holders/{id}/licences/{lid}/revoke", tag = "holders",
    request_body = RevokeLicence, security(("bearer" = [])),
    responses(
        (status = 200, body = Revoked),
        (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "licence_revoked: already revoked", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: ApiJson<RevokeLicence>,
) -> AppResult<web::Json<Revoked>> {
    let (id, lid) = path.into_inner();
    let (id, lid) = (parse_id(&id)?, parse_id(&lid)?);
    let reason = body.0.parse();
    let revoked = auth::run_as(&state.pool, caller, move |c, user| {
        crate::auth::policy::require(user, crate::auth::policy::Action::RecordHolders)?;
        licences::revoke(c, user, &id, &lid, reason?)
    })
    .await?;
    Ok(web::Json(revoked))
}
