//! Reading one's own writes when reads go to standbys: each write's answer
//! carries `Registry-Consistency`, the primary's WAL position once it has
//! committed, and a read that sends it back is served only by a server
//! that has replayed past it (docs/scaling.md).

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpRequest};

use super::state::AppState;
use crate::db;
use crate::db::replica::{self, Lsn, Reader};

use crate::error::{AppError, AppResult};

pub const CONSISTENCY: HeaderName = HeaderName::from_static("registry-consistency");

/// The position a request sent back in `Registry-Consistency`, if any.
fn read_after(req: &HttpRequest) -> AppResult<Option<Lsn>> {
    let Some(raw) = req.headers().get(&CONSISTENCY) else {
        return Ok(None);
    };
    raw.to_str()
        .map_err(|_| "not text".to_string())
        .and_then(|v| v.trim().parse::<Lsn>())
        .map(Some)
        .map_err(|e| {
            AppError::bad_request(
                "invalid_consistency_token",
                format!("Registry-Consistency must be a token a write's answer carried: {e}"),
            )
        })
}

/// Where the request's reads that can lag go.
pub fn reader(req: &HttpRequest) -> AppResult<Reader> {
    let after = read_after(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    Ok(Reader::new(
        state.pool.clone(),
        state.replicas.clone(),
        after,
    ))
}

impl FromRequest for Reader {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(reader(req))
    }
}

/// Adds `Registry-Consistency` to the answer of every write that
/// succeeded, when reads go to standbys (without them it is never needed,
/// and the round trip is saved).
pub async fn stamp(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let state = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| write && s.replicas.is_some())
        .cloned();
    let mut res = next.call(req).await?;
    let Some(state) = state.filter(|_| res.status().is_success()) else {
        return Ok(res);
    };
    // The write has committed by now, so the primary's position is past it.
    match db::run(&state.pool, replica::written_up_to).await {
        Ok(Some(lsn)) => {
            if let Ok(v) = HeaderValue::from_str(&lsn.to_string()) {
                res.headers_mut().insert(CONSISTENCY, v);
            }
        }
        Ok(None) => {}
        // The write stands; only the token is missing, so a read that
        // follows may be served by a standby that has not seen it yet.
        Err(e) => tracing::warn!(error = %e, "no consistency token for a write"),
    }
    Ok(res)
}
