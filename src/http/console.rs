//! The web console: a page and its script, style and message catalogs,
//! compiled into the binary and served at `/` (docs/console.md). The
//! console has no privileges of its own: every screen calls the `/v1` API
//! with the signed-in user's session cookie.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::{AppError, AppResult};

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// No inline script, no script or style from elsewhere, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

fn asset(name: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn serve(name: &str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(name)))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // The files change only with the binary; revalidating is cheap.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// The console's page.
pub async fn page() -> AppResult<HttpResponse> {
    let body = asset("index.html").ok_or_else(|| AppError::internal("console page missing"))?;
    Ok(serve("index.html", body))
}

/// One of the console's files: `/console/{path}`.
pub async fn file(path: web::Path<String>) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let body = asset(&name).ok_or(AppError::NotFound)?;
    Ok(serve(&name, body))
}

#[derive(Serialize)]
struct Language {
    code: String,
    name: String,
}

/// The languages the console has a catalog for (`console/i18n/*.json`),
/// each by the name it gives itself: adding a language is adding a file.
pub async fn languages() -> HttpResponse {
    let languages: Vec<Language> = ASSETS
        .iter()
        .filter_map(|(name, body)| {
            let code = name.strip_prefix("i18n/")?.strip_suffix(".json")?;
            let catalog: serde_json::Value = serde_json::from_slice(body).ok()?;
            Some(Language {
                code: code.to_string(),
                name: catalog.get("language.name")?.as_str()?.to_string(),
            })
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(languages)
}
