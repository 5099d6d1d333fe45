//! The audit log as C2SP `tlog-tiles`: the checkpoint, hash tiles and
//! entry bundles under `/tlog/`, for tools that speak the spec rather than
//! this API. Hashes disclose no record, so `REGISTRY_TLOG_PUBLIC=true`
//! opens the checkpoint and hash tiles to anyone; entry bundles are the
//! entries themselves and stay with auditors.

use actix_web::dev::Payload;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::json;

use crate::audit::reads;
use crate::audit::tiles::{self, Kind, Tile};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::audit::{latest_head, signed_checkpoint};
use crate::http::state::AppState;

/// The auditor asking, when the request must come from one.
async fn reader(req: &HttpRequest, public: bool) -> AppResult<Option<AuthUser>> {
    if public {
        return Ok(None);
    }
    let user = AuthUser::from_request(req, &mut Payload::None).await?;
    policy::require(&user, Action::ReadAudit)?;
    Ok(Some(user))
}

fn cache(public: bool, directives: &[CacheDirective]) -> CacheControl {
    let scope = if public {
        CacheDirective::Public
    } else {
        CacheDirective::Private
    };
    CacheControl([vec![scope], directives.to_vec()].concat())
}

/// The latest checkpoint, with the cosignatures it has gathered.
#[utoipa::path(get, path = "/tlog/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 401, body = crate::http::Problem), (status = 403, body = crate::http::Problem)))]
pub async fn checkpoint(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let public = state.settings.tlog_public;
    reader(&req, public).await?;
    let head = latest_head(&state).await?;
    let note = signed_checkpoint(&state, &head).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        // It changes with every batch: not cached beyond a moment.
        .insert_header(cache(public, &[CacheDirective::NoCache]))
        .body(note))
}

/// A hash tile `<L>/<N>[.p/<W>]` or an entry bundle `entries/<N>[.p/<W>]`.
#[utoipa::path(get, path = "/tlog/tile/{tile}", tag = "audit", security(("bearer" = [])),
    params(("tile" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in 3-digit path elements")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = crate::http::Problem), (status = 403, body = crate::http::Problem),
        (status = 404, description = "no such tile in the current tree", body = crate::http::Problem)))]
pub async fn tile(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let tile = Tile::parse(&path).ok_or(AppError::NotFound)?;
    let public = state.settings.tlog_public && tile.kind != Kind::Entries;
    let user = reader(&req, public).await?;
    if let Some(data) = state.tiles.get(&tile) {
        return Ok(immutable(public, data));
    }
    let size = latest_head(&state).await?.size as u64;
    let needs = tile.needs().ok_or(AppError::NotFound)?;
    if needs > size {
        return Err(AppError::NotFound);
    }
    let first = tile.first().ok_or(AppError::NotFound)? as i64;
    let width = tile.width as i64;
    let body = match (tile.kind, user) {
        (Kind::Entries, Some(user)) => {
            let (reads, actor) = (state.reads.clone(), user.audit_actor());
            let read = reads::entry(
                "audit.read",
                "audit",
                json!({"bundle": tile.path(), "first": first, "count": width}),
            );
            let texts = db::run(&state.pool, move |c| -> AppResult<_> {
                let texts: Vec<String> = db::audit::range(c, first, width)?
                    .iter()
                    .map(crate::audit::text)
                    .collect();
                reads.record(c, &actor, read)?;
                Ok(texts)
            })
            .await?;
            complete(&texts, width)?;
            tiles::entry_bundle(&texts).map_err(|i| {
                AppError::conflict(
                    "entry_too_large",
                    format!(
                        "entry {} is over the 65,535 bytes an entry bundle can hold; read it from /v1/audit/entries",
                        first + i as i64
                    ),
                )
            })?
        }
        (Kind::Entries, None) => return Err(AppError::internal("entry bundles need a reader")),
        (Kind::Hashes(_), _) => {
            let level = tile.height();
            let hashes = db::run(&state.pool, move |c| {
                crate::audit::tree::stored(c, level, first as u64, width as u64)
            })
            .await?;
            complete(&hashes, width)?;
            let bytes = web::Bytes::from(hashes.concat());
            state.tiles.put(&tile, bytes.clone());
            return Ok(immutable(public, bytes));
        }
    };
    Ok(immutable(public, web::Bytes::from(body)))
}

/// Complete nodes and integrated entries never change: a tile, full or
/// partial, is the same bytes for ever.
fn immutable(public: bool, body: web::Bytes) -> HttpResponse {
    let forever = [
        CacheDirective::MaxAge(31_536_000),
        CacheDirective::Extension("immutable".into(), None),
    ];
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(cache(public, &forever))
        .body(body)
}

/// The tree promised `width` rows; fewer is a hole in the stored log.
fn complete<T>(rows: &[T], width: i64) -> AppResult<()> {
    if rows.len() as i64 != width {
        return Err(AppError::internal(format!(
            "the stored log has {} of the {width} rows a tile needs",
            rows.len()
        )));
    }
    Ok(())
}
