//! Armouries and stock checks over HTTP (docs/stockpiles.md).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, parse_id, wants_csv, with_etag};
use crate::audit::reads;
use crate::auth::{self, Caller, Recorder};
use crate::error::AppResult;
use crate::firearms::view::FirearmView;
use crate::http::state::AppState;
use crate::stockpiles::checks::{self, CheckView, SightingsAnswer};
use crate::stockpiles::input::{CloseCheck, CreateArmoury, OpenCheck, Sightings};
use crate::stockpiles::{self, report, ArmouryView};

/// Creates an armoury of the caller's agency.
#[utoipa::path(post, path = "/v1/armouries", tag = "stockpiles", request_body = CreateArmoury,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = ArmouryView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "not an admin or registrar of an agency", body = crate::http::Problem),
        (status = 409, description = "duplicate_armoury: the agency has an armoury of that name", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateArmoury>,
) -> AppResult<HttpResponse> {
    let new = body.0.parse();
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        crate::auth::policy::require(user, crate::auth::policy::Action::ManageArmouries)?;
        stockpiles::create(c, user, new?)
    })
    .await?;
    let location = format!("/v1/armouries/{}", row.id);
    Ok(created(&location, row.version, ArmouryView::from(row)))
}

/// Lists the caller's agency's armouries (an auditor's: every agency's).
#[utoipa::path(get, path = "/v1/armouries", tag = "stockpiles", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<ArmouryView>), (status = 400, body = crate::http::Problem),
        (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<ArmouryView>>> {
    let page = query.parse()?;
    let limit = page.limit;
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        stockpiles::page(c, user, page.after.as_deref(), limit + 1)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, |r| Ok(ArmouryView::from(r))).map(web::Json)
}

/// Reads one armoury.
#[utoipa::path(get, path = "/v1/armouries/{id}", tag = "stockpiles", security(("bearer" = [])),
    responses((status = 200, body = ArmouryView), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        stockpiles::get(c, user, &id)
    })
    .await?;
    Ok(with_etag(row.version, ArmouryView::from(row)))
}

/// The firearms the armoury holds now: its custodian is the armoury, or
/// its owner is and it has no custodian. Paginated, oldest first.
#[utoipa::path(get, path = "/v1/armouries/{id}/firearms", tag = "stockpiles", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<FirearmView>), (status = 404, body = crate::http::Problem)))]
pub async fn firearms(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<FirearmView>>> {
    let id = parse_id(&id)?;
    let page = query.parse()?;
    let limit = page.limit;
    let reads = state.reads.clone();
    let rows = auth::run_as(&state.pool, caller, move |c, user| {
        let rows = stockpiles::holdings(c, user, &id, page.after.as_deref(), limit + 1)?;
        let detail = json!({"armoury_id": id, "cursor": page.after, "limit": limit});
        let read = reads::entry("armoury.holdings.read", format!("armoury:{id}"), detail);
        reads.record(c, &user.audit_actor(), read)?;
        Ok(rows)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, |f| Ok(FirearmView::from(f))).map(web::Json)
}

/// Opens a stock check of an armoury of the registrar's agency; what the
/// armoury holds now is what the check expects.
#[utoipa::path(post, path = "/v1/armouries/{id}/stock-checks", tag = "stockpiles", request_body = OpenCheck,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = CheckView, headers(("Location" = String))),
        (status = 403, body = crate::http::Problem),
        (status = 404, description = "no armoury of the caller's agency has this id", body = crate::http::Problem),
        (status = 409, description = "stock_check_open: the armoury has an open check", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn open(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<OpenCheck>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let reference = body.0.parse();
    let check = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        checks::open(c, &actor, &id, reference?)
    })
    .await?;
    let location = format!("/v1/stock-checks/{}", check.id);
    Ok(created(
        &location,
        check.version,
        CheckView::new(check, None),
    ))
}

/// Records what was sighted, at most 1,000 items a request.
#[utoipa::path(post, path = "/v1/stock-checks/{id}/sightings", tag = "stockpiles", request_body = Sightings,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 200, body = SightingsAnswer),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "stock_check_closed", body = crate::http::Problem),
        (status = 422, description = "an invalid item, or more than 1,000", body = crate::http::Problem)))]
pub async fn sightings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<Sightings>,
) -> AppResult<web::Json<SightingsAnswer>> {
    let id = parse_id(&id)?;
    let items = body.0.parse();
    let answer = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        checks::sight(c, &actor, &id, items?)
    })
    .await?;
    Ok(web::Json(answer))
}

/// A check and its report: JSON, or CSV with `Accept: text/csv`.
#[utoipa::path(get, path = "/v1/stock-checks/{id}", tag = "stockpiles", security(("bearer" = [])),
    responses(
        (status = 200, description = "the check and its report; with Accept: text/csv, the report's rows",
            content((CheckView = "application/json"), (String = "text/csv"))),
        (status = 404, body = crate::http::Problem)))]
pub async fn show_check(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let csv = wants_csv(&req);
    let reads = state.reads.clone();
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        let view = checks::show(c, user, &id)?;
        let detail = json!({"check_id": id, "format": if csv { "csv" } else { "json" }});
        let read = reads::entry("stock_check.read", format!("stock_check:{id}"), detail);
        reads.record(c, &user.audit_actor(), read)?;
        Ok(view)
    })
    .await?;
    match (&view.report, csv) {
        (Some(r), true) => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report::csv(r)?)),
        _ => Ok(with_etag(view.version, view)),
    }
}

/// Closes a check: a registrar of its agency other than the one who
/// opened it. With missing firearms, `missing_action` is required.
#[utoipa::path(post, path = "/v1/stock-checks/{id}/close", tag = "stockpiles", request_body = CloseCheck,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 200, body = CheckView),
        (status = 403, description = "four_eyes: the opener cannot close it", body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "stock_check_closed", body = crate::http::Problem),
        (status = 422, description = "missing_action required", body = crate::http::Problem)))]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<CloseCheck>,
) -> AppResult<web::Json<CheckView>> {
    let id = parse_id(&id)?;
    let closing = body.0.parse();
    let view = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        checks::close(c, &actor, &id, closing?)
    })
    .await?;
    Ok(web::Json(view))
}
