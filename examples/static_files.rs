//! The baseline `bench/evidence.sh` compares tile serving with: files
//! read from a directory by the same HTTP server the registry runs on
//! (actix-web, same workers), with the headers a static host would send.
//!   static_files <DIR> <ADDR> [WORKERS]

use actix_web::{web, App, HttpResponse, HttpServer};
use std::path::{Component, PathBuf};

async fn file(root: web::Data<PathBuf>, path: web::Path<String>) -> HttpResponse {
    let rel = PathBuf::from(path.as_str());
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return HttpResponse::NotFound().finish();
    }
    let full = root.join(rel);
    match web::block(move || std::fs::read(full)).await {
        Ok(Ok(bytes)) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(bytes),
        _ => HttpResponse::NotFound().finish(),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().expect("a directory"));
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8099".into());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    actix_web::rt::System::new().block_on(async move {
        let root = web::Data::new(root);
        HttpServer::new(move || {
            App::new()
                .app_data(root.clone())
                .route("/{path:.*}", web::get().to(file))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await
    })
}
