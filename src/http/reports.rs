//! Statistics and national reports over HTTP (docs/reports.md). Every
//! read is on the record (`statistics.read`, `report.read`), and each
//! answers CSV with `Accept: text/csv`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::wants_csv;
use crate::audit::reads;
use crate::auth::{self, Caller};
use crate::db::DbConn;
use crate::domain::CountryCode;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::reports::input::{country, direction, period, year};
use crate::reports::{self, render, AttReport, ItiReport, Scope, SdgReport, Statistics};

/// Reads figures as the caller, on the record, and answers them as JSON
/// or as CSV.
async fn answer<T, F>(
    state: &AppState,
    req: &HttpRequest,
    caller: Caller,
    action: &'static str,
    mut detail: Value,
    read: F,
    csv: fn(&T) -> AppResult<Vec<u8>>,
) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &crate::auth::AuthUser) -> AppResult<(T, Scope)> + Send + 'static,
{
    let wants = wants_csv(req);
    detail["format"] = json!(if wants { "csv" } else { "json" });
    let reads = state.reads.clone();
    let figures = auth::read_as(super::consistency::reader(req)?, caller, move |c, user| {
        let (figures, scope) = read(c, user)?;
        detail["agency_id"] = json!(scope.agency_id());
        detail["country"] = json!(scope.country());
        reads.record(
            c,
            &user.audit_actor(),
            reads::entry(action, "reports", detail),
        )?;
        Ok(figures)
    })
    .await?;
    if wants {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(csv(&figures)?));
    }
    Ok(HttpResponse::Ok().json(figures))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// First day, `YYYY-MM-DD` (default 1900-01-01).
    pub from: Option<String>,
    /// Last day, included (default today).
    pub to: Option<String>,
    /// Auditors: one agency's figures (default all). Others: their own.
    pub agency_id: Option<String>,
}

/// Figures of the firearms an agency (or the registry) is responsible
/// for now, and of the events and trace requests of a period.
#[utoipa::path(get, path = "/v1/statistics", tag = "reports", security(("bearer" = [])),
    params(StatisticsQuery),
    responses(
        (status = 200, description = "the figures; with Accept: text/csv, `figure,value` rows",
            content((Statistics = "application/json"), (String = "text/csv"))),
        (status = 403, body = crate::http::Problem),
        (status = 404, description = "an agency the caller may not see", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn statistics(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<StatisticsQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let agency_id = q.agency_id.as_deref().map(super::parse_id).transpose()?;
    let detail = json!({"report": "statistics", "from": period.from, "to": period.to});
    let read = move |c: &mut DbConn, user: &crate::auth::AuthUser| {
        let scope = reports::statistics_scope(c, user, agency_id)?;
        Ok((reports::statistics(c, &scope, period)?, scope))
    };
    let action = "statistics.read";
    answer(
        &state,
        &req,
        caller,
        action,
        detail,
        read,
        render::figures_csv,
    )
    .await
}

/// A national report: auditors only, scoped to `country` when given, its
/// read recorded as `report.read`.
async fn national<T, F>(
    state: &AppState,
    req: &HttpRequest,
    caller: Caller,
    (detail, country): (Value, Option<CountryCode>),
    report: F,
    csv: fn(&T) -> AppResult<Vec<u8>>,
) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &Scope) -> AppResult<T> + Send + 'static,
{
    let read = move |c: &mut DbConn, user: &crate::auth::AuthUser| {
        let scope = reports::report_scope(user, country)?;
        Ok((report(c, &scope)?, scope))
    };
    answer(state, req, caller, "report.read", detail, read, csv).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The reporting year, 1900 to next year.
    pub year: Option<String>,
    /// `exports` or `imports` (the ATT report only).
    pub direction: Option<String>,
    /// ISO 3166-1 alpha-2: count the records of that country's agencies only.
    pub country: Option<String>,
}

/// The International Tracing Instrument national report's figures for a year.
#[utoipa::path(get, path = "/v1/reports/iti", tag = "reports", security(("bearer" = [])),
    params(YearQuery),
    responses(
        (status = 200, content((ItiReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = crate::http::Problem), (status = 422, body = crate::http::Problem)))]
pub async fn iti(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    if q.direction.is_some() {
        return Err(AppError::field(
            "direction",
            "applies to the ATT report only",
        ));
    }
    let (year, country) = (year(q.year.as_deref())?, country(q.country.as_deref())?);
    let detail = json!({"report": "iti", "year": year.get()});
    let report = move |c: &mut DbConn, scope: &Scope| reports::iti(c, scope, year);
    national(
        &state,
        &req,
        caller,
        (detail, country),
        report,
        render::figures_csv,
    )
    .await
}

/// The Arms Trade Treaty annual report's small arms and light weapons
/// table for a year: items by category and partner country.
#[utoipa::path(get, path = "/v1/reports/att", tag = "reports", security(("bearer" = [])),
    params(YearQuery),
    responses(
        (status = 200, content((AttReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = crate::http::Problem), (status = 422, body = crate::http::Problem)))]
pub async fn att(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let (year, country, direction) = (
        year(q.year.as_deref())?,
        country(q.country.as_deref())?,
        direction(q.direction.as_deref())?,
    );
    let detail = json!({"report": "att", "year": year.get(), "direction": direction});
    let report = move |c: &mut DbConn, scope: &Scope| reports::att(c, scope, year, direction);
    national(
        &state,
        &req,
        caller,
        (detail, country),
        report,
        render::att_csv,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD` (default 1900-01-01).
    pub from: Option<String>,
    /// Last day, included (default today).
    pub to: Option<String>,
    /// ISO 3166-1 alpha-2: count the records of that country's agencies only.
    pub country: Option<String>,
}

/// SDG indicator 16.4.2: the share of seized, found or surrendered
/// weapons whose illicit origin was traced or established.
#[utoipa::path(get, path = "/v1/reports/sdg-16-4-2", tag = "reports", security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, content((SdgReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = crate::http::Problem), (status = 422, body = crate::http::Problem)))]
pub async fn sdg(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let (period, country) = (
        period(q.from.as_deref(), q.to.as_deref())?,
        country(q.country.as_deref())?,
    );
    let detail = json!({"report": "sdg-16-4-2", "from": period.from, "to": period.to});
    let report = move |c: &mut DbConn, scope: &Scope| reports::sdg(c, scope, period);
    national(
        &state,
        &req,
        caller,
        (detail, country),
        report,
        render::figures_csv,
    )
    .await
}
