use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::json::{declared_length, ApiJson};
use super::pagination::{Page, PageQuery};
use super::{created, parse_id, with_etag};
use crate::audit::{reads, Sink};
use crate::auth::policy::{self, Action};
use crate::auth::Recorder;
use crate::auth::{self, AuthUser, Caller};
use crate::db::{self, firearms::Filters, replica::Reader};
use crate::domain::{text, Category, CountryCode, Status};
use crate::error::{AppError, AppResult};
use crate::firearms::import::{rows, Format};
use crate::firearms::view::FirearmView;
use crate::firearms::ImportCaps;
use crate::firearms::{self, ImportReport, RegisterFirearm};
use crate::http::spool::{spool, Spooled};
use crate::http::state::AppState;
use actix_web::HttpMessage;

/// Registers a firearm; the caller's agency becomes responsible for it.
#[utoipa::path(post, path = "/v1/firearms", tag = "firearms", request_body = RegisterFirearm,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = FirearmView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "not a registrar", body = crate::http::Problem),
        (status = 409, description = "duplicate_marking: names the existing firearm in existing_firearm_id", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<RegisterFirearm>,
) -> AppResult<HttpResponse> {
    // Parsed here, refused only once the caller is known to be a registrar.
    let new = body.0.parse(Utc::now()).map_err(AppError::Validation);
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        firearms::register(c, &actor, new?)
    })
    .await?;
    let location = format!("/v1/firearms/{}", row.id);
    Ok(created(&location, row.version, FirearmView::from(row)))
}

/// Reads one firearm record.
#[utoipa::path(get, path = "/v1/firearms/{id}", tag = "firearms", security(("bearer" = [])),
    responses((status = 200, body = FirearmView, headers(("ETag" = String))),
        (status = 403, body = crate::http::Problem), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let reads = state.reads.clone();
    let tiers = crate::holders::retention::Tiers::of(&state.settings);
    let row = auth::run_as(&state.pool, caller, move |c, user| {
        let mut row = firearms::get(c, user, &id)?;
        crate::holders::retention::restrict_firearm(c, user, &tiers, &mut row, &mut [])?;
        let read = reads::entry(
            "firearm.read",
            format!("firearm:{id}"),
            json!({"firearm_id": id}),
        );
        reads.record(c, &user.audit_actor(), read)?;
        Ok(row)
    })
    .await?;
    Ok(with_etag(row.version, FirearmView::from(row)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FirearmQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    /// Compared case-insensitively, whitespace collapsed.
    pub manufacturer: Option<String>,
    pub country_of_manufacture: Option<String>,
    pub responsible_agency_id: Option<String>,
    /// The serial as marked or read: compared normalised (case, spaces and
    /// `-` `.` `/` `_` ignored), exactly. Tracing (`/v1/trace`) finds
    /// partial serials and look-alikes.
    pub serial_number: Option<String>,
    /// Items per page, 1 to 1000 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn filter<T>(
    raw: Option<&str>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> AppResult<Option<T>> {
    raw.map(|r| {
        parse(r).map_err(|m| AppError::bad_request("invalid_parameter", format!("{name}: {m}")))
    })
    .transpose()
}

impl FirearmQuery {
    /// The query as given, for the read's audit entry.
    fn as_detail(&self) -> serde_json::Value {
        json!({
            "status": self.status, "category": self.category,
            "manufacturer": self.manufacturer,
            "country_of_manufacture": self.country_of_manufacture,
            "responsible_agency_id": self.responsible_agency_id,
            "serial_number": self.serial_number,
            "limit": self.limit, "cursor": self.cursor,
        })
    }

    fn filters(&self) -> AppResult<Filters> {
        Ok(Filters {
            status: filter(self.status.as_deref(), "status", Status::parse)?.map(|s| s.to_string()),
            category: filter(self.category.as_deref(), "category", Category::parse)?
                .map(|c| c.to_string()),
            manufacturer_key: self.manufacturer.as_deref().map(text::fold),
            country_of_manufacture: filter(
                self.country_of_manufacture.as_deref(),
                "country_of_manufacture",
                CountryCode::parse,
            )?
            .map(|c| c.to_string()),
            responsible_agency_id: filter(
                self.responsible_agency_id.as_deref(),
                "responsible_agency_id",
                crate::input::parse_uuid,
            )?,
            serial_normalized: self
                .serial_number
                .as_deref()
                .map(crate::domain::serial::normalize),
            armoury_id: None,
        })
    }
}

/// Lists firearms, oldest first, with optional filters.
#[utoipa::path(get, path = "/v1/firearms", tag = "firearms", security(("bearer" = [])),
    params(FirearmQuery),
    responses((status = 200, body = Page<FirearmView>), (status = 400, body = crate::http::Problem),
        (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    reader: Reader,
    query: web::Query<FirearmQuery>,
) -> AppResult<web::Json<Page<FirearmView>>> {
    let filters = query.filters()?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let limit = page.limit;
    let reads = state.reads.clone();
    let read = reads::entry("firearm.list", "firearms", query.as_detail());
    let rows = auth::read_as(reader, caller, move |c, user| {
        policy::require(user, Action::ReadFirearms)?;
        let rows = db::firearms::page(c, &filters, page.after.as_deref(), limit + 1)?;
        reads.record(c, &user.audit_actor(), read)?;
        Ok(rows)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, |f| Ok(FirearmView::from(f))).map(web::Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `all` (default): any bad row rejects the whole file. `partial`: the
    /// good rows are written and the bad ones reported.
    pub mode: Option<String>,
}

/// Registers many firearms from `text/csv` (header line, JSON cells for
/// markings, components, owner, custodian) or `application/x-ndjson`.
#[utoipa::path(post, path = "/v1/firearms/import", tag = "firearms", security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header line, or NDJSON (application/x-ndjson); at most 64 MiB by default (REGISTRY_IMPORT_MAX_BYTES)"),
    responses(
        (status = 201, body = ImportReport),
        (status = 200, description = "partial mode, nothing imported", body = ImportReport),
        (status = 413, body = crate::http::Problem),
        (status = 415, body = crate::http::Problem),
        (status = 422, description = "import_rejected (every bad row listed in errors) or invalid_csv_header", body = crate::http::Problem)))]
pub async fn import(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let actor = Recorder::registrar(&user)?;
    let partial = match query.mode.as_deref() {
        None | Some("all") => false,
        Some("partial") => true,
        Some(other) => {
            return Err(AppError::bad_request(
                "invalid_parameter",
                format!("mode must be all or partial, not `{other}`"),
            ))
        }
    };
    let format = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_content_type)
        .ok_or_else(|| {
            AppError::UnsupportedMediaType("send text/csv or application/x-ndjson".into())
        })?;
    let settings = &state.settings;
    let limit = settings.import_max_bytes;
    if declared_length(&req).is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    // The idempotency layer may have spooled the body already, to hash it.
    let spooled = req.extensions_mut().remove::<Spooled>();
    let body = match spooled {
        Some(s) => s,
        None => spool(payload.into_inner(), &spool_dir(settings), limit, None).await?,
    };
    let caps = ImportCaps {
        max_rows: settings.import_max_rows,
        max_listed: settings.import_max_listed,
    };
    // Paused (to measure the sequencer), the import's entries queue too.
    let log = (!settings.audit_sequencer_paused).then(|| state.audit.clone());
    let report = db::run(&state.pool, move |c| {
        let file = body.open().map_err(AppError::caused_by)?;
        let sink = log.as_deref().map_or(Sink::Queue, Sink::Tree);
        firearms::import(c, &actor, rows(file, format)?, partial, caps, sink)
    })
    .await?;
    let status = if report.imported > 0 {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(report))
}

/// Where request bodies are spooled: inside the data folder, which only
/// the registry's user may read.
pub fn spool_dir(settings: &crate::config::Settings) -> std::path::PathBuf {
    settings.data_dir.join("spool")
}
