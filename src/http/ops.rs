//! Service endpoints: liveness, readiness, metrics. No authentication.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::metrics::PoolUse;
use crate::http::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Status)))]
pub async fn health() -> web::Json<Status> {
    web::Json(Status { status: "ok" })
}

/// Readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/ready", tag = "service",
    responses((status = 200, body = Status), (status = 503, body = crate::http::Problem)))]
pub async fn ready(state: web::Data<AppState>) -> AppResult<web::Json<Status>> {
    // The database's own error text is for the log, not for anyone who asks.
    db::run(&state.pool, |c| {
        c.batch_execute("SELECT 1").map_err(|e| {
            tracing::warn!(error = %e, "readiness check: the database did not answer");
            AppError::Unavailable("the database is not answering".into())
        })
    })
    .await
    .map_err(|e| match e {
        AppError::Unavailable(_) => e,
        other => {
            tracing::warn!(error = %other, "readiness check failed");
            AppError::Unavailable("the database is not answering".into())
        }
    })?;
    Ok(web::Json(Status { status: "ready" }))
}

/// Prometheus text: requests by route and status, latency, pool use.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    let text = state.metrics.render(&PoolUse {
        connections: pool.connections,
        idle: pool.idle_connections,
        max: state.pool.max_size(),
        reads_served: state
            .replicas
            .as_ref()
            .map(|r| {
                r.served()
                    .iter()
                    .map(|(server, n)| (server.label(), *n))
                    .collect()
            })
            .unwrap_or_default(),
    });
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// `/docs` is served by Swagger UI under `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Unknown paths and methods answer problem+json like everything else.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NoRoute(format!(
        "{} {} is not an endpoint of this registry",
        req.method(),
        req.path()
    )))
}
