//! The witness's HTTP surface (c2sp.org/tlog-witness): `POST
//! /add-checkpoint` and `GET /<origin hash>/checkpoint`. Answers are
//! plain text, as the protocol gives them.

use actix_web::{web, App, HttpResponse, HttpServer};
use std::sync::Arc;

use super::{Refusal, Witness};

async fn add_checkpoint(witness: web::Data<Arc<Witness>>, body: web::Bytes) -> HttpResponse {
    let Ok(text) = std::str::from_utf8(&body) else {
        return HttpResponse::BadRequest().body("the body is not UTF-8\n");
    };
    let now = chrono::Utc::now().timestamp().max(1) as u64;
    let witness = witness.get_ref().clone();
    let text = text.to_string();
    let answer =
        actix_web::rt::task::spawn_blocking(move || witness.add_checkpoint(&text, now)).await;
    let plain = |mut r: actix_web::HttpResponseBuilder, body: String| {
        r.content_type("text/plain; charset=utf-8").body(body)
    };
    match answer {
        Ok(Ok(line)) => plain(HttpResponse::Ok(), line),
        Ok(Err(Refusal::StaleOld(size))) => HttpResponse::Conflict()
            .content_type("text/x.tlog.size")
            .body(format!("{size}\n")),
        Ok(Err(Refusal::Malformed(e))) => plain(HttpResponse::BadRequest(), format!("{e}\n")),
        Ok(Err(Refusal::UnknownLog)) => plain(HttpResponse::NotFound(), "unknown log\n".into()),
        Ok(Err(Refusal::Unsigned(e))) => plain(HttpResponse::Forbidden(), format!("{e}\n")),
        Ok(Err(Refusal::Inconsistent(e))) => {
            tracing::warn!(reason = %e, "refused a checkpoint inconsistent with the one cosigned before");
            plain(HttpResponse::UnprocessableEntity(), format!("{e}\n"))
        }
        Ok(Err(Refusal::Failed(e))) => {
            tracing::error!(error = %e, "the witness cannot keep its state");
            plain(
                HttpResponse::InternalServerError(),
                "the witness failed\n".into(),
            )
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn latest(witness: web::Data<Arc<Witness>>, hash: web::Path<String>) -> HttpResponse {
    match witness.latest(&hash) {
        Ok(Some(note)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(note),
        Ok(None) => HttpResponse::NotFound().body("no checkpoint cosigned for this log\n"),
        Err(e) => HttpResponse::InternalServerError().body(format!("{e}\n")),
    }
}

/// Serves the witness on `listen` until the process is stopped. Prints
/// where it listens and its verifier key, which logs configure.
pub fn run(witness: Witness, listen: &str) -> Result<(), String> {
    let witness = Arc::new(witness);
    let vkey = witness.verifier_key();
    actix_web::rt::System::new().block_on(async move {
        let data = web::Data::new(witness);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/add-checkpoint", web::post().to(add_checkpoint))
                .route("/{hash}/checkpoint", web::get().to(latest))
        })
        .workers(2)
        .bind(listen)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        for addr in server.addrs() {
            println!("witness listening on http://{addr}");
        }
        println!("verifier key {vkey}");
        server.run().await.map_err(|e| e.to_string())
    })
}
