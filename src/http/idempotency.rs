//! `Idempotency-Key` for every POST under `/v1`. The key is reserved in the
//! database before the handler runs and the successful response is stored,
//! so a retry (even after a restart) replays the first answer and writes
//! nothing. The same key with another request is a 422. Failed requests
//! wrote nothing, so their key is released for a corrected retry.
//!
//! Login and the console's sign-in are excluded: replaying them would mean
//! storing tokens at rest.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::extract::caller;
use super::firearms::spool_dir;
use super::json::{declared_length, read_body, JSON_LIMIT};
use super::spool::{spool, Spooled};
use crate::auth::AuthUser;
use crate::auth::Recorder;
use crate::db::{self, idempotency as store, idempotency::Held, idempotency::KeyRef};
use crate::error::AppError;
use crate::http::state::AppState;

pub const HEADER: &str = "idempotency-key";
const REPLAYED_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

fn key_of(req: &ServiceRequest) -> Option<Result<String, AppError>> {
    let raw = req.headers().get(HEADER)?;
    let valid = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    Some(valid.map(str::to_string).ok_or_else(|| {
        AppError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        )
    }))
}

fn error(req: ServiceRequest, e: AppError) -> ServiceResponse<BoxBody> {
    req.into_response(e.error_response())
}

/// A refusal before the body was read. The connection is closed after it:
/// reading the rest would be doing what the refusal avoids, and a client
/// still sending waits for the server otherwise.
fn refuse_unread(mut req: ServiceRequest, e: AppError) -> ServiceResponse<BoxBody> {
    drop(req.take_payload());
    let mut res = e.error_response();
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    req.into_response(res)
}

pub async fn idempotency(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let applies = req.method() == Method::POST
        && !matches!(req.path(), "/v1/auth/login" | "/v1/auth/session");
    let key = match (applies, key_of(&req)) {
        (true, Some(Ok(key))) => key,
        (true, Some(Err(e))) => return Ok(error(req, e)),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Keys are per user; an unauthenticated request is refused by its
    // handler, so there is nothing to make idempotent.
    let Ok(caller) = caller(req.request()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let user_id = caller.user_id().to_string();
    // Who is asking, whether they may, and how much they may send are
    // settled before a byte of the body is read: a stranger or a tracer
    // cannot make the registry hold 64 MiB bodies.
    let account = db::run(&state.pool, move |c| caller.account(c)).await;
    let user = match account {
        Ok(user) => user,
        Err(e) => return Ok(refuse_unread(req, e)),
    };
    let limit = match admit_body(&req, &user, &state) {
        Ok(limit) => limit,
        Err(e) => return Ok(refuse_unread(req, e)),
    };
    let mut req = req;
    let path = req.uri().to_string();
    let (body, hash) = match read_hashed(&mut req, &path, &state, limit).await {
        Ok(read) => read,
        Err(e) => return Ok(error(req, e)),
    };
    let attempt = Attempt {
        scope: user_id.clone(),
        key: key.clone(),
        // This attempt's name on its reservation.
        holder: db::new_id(),
    };
    let method = req.method().to_string();
    let reserved = reserve(&state, &attempt, method, path, hash).await;
    match reserved {
        // The reservation's commit may have taken before the database went:
        // this attempt's own is released, once the database is back.
        Err(e) => {
            release(&state, attempt).await;
            Ok(error(req, e))
        }
        Ok(store::Reservation::Replay(stored)) => {
            let res = replay(&stored);
            Ok(req.into_response(res))
        }
        Ok(store::Reservation::Fresh) => {
            match body {
                Body::Held(bytes) => req.set_payload(bytes_payload(bytes)),
                Body::Spooled(spooled) => {
                    req.extensions_mut().insert(spooled);
                }
            }
            let held = store::HeldKey {
                scope: user_id.clone(),
                key: key.clone(),
            };
            let res = store::holding(held, next.call(req)).await?;
            finish(&state, attempt, res).await
        }
        Ok(refused) => Ok(error(req, refusal(&refused))),
    }
}

/// Why a key already reserved cannot run its request now.
fn refusal(reservation: &store::Reservation) -> AppError {
    match reservation {
        store::Reservation::Mismatch => AppError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        ),
        store::Reservation::Applied => AppError::conflict(
            "idempotency_key_applied",
            "the request with this Idempotency-Key was applied, but its answer was not stored \
             (the database failed as it answered): do not send it again; read the record it wrote",
        ),
        _ => AppError::conflict(
            "idempotency_key_in_use",
            "a request with this Idempotency-Key has not finished; retry later",
        ),
    }
}

/// Reads the body, held or spooled, with the hash that identifies the
/// request.
async fn read_hashed(
    req: &mut ServiceRequest,
    path: &str,
    state: &AppState,
    limit: usize,
) -> Result<(Body, String), AppError> {
    let mut hasher = request_hasher(req, path);
    let body = if req.path() == IMPORT_PATH {
        let dir = spool_dir(&state.settings);
        Body::Spooled(spool(req.take_payload(), &dir, limit, Some(&mut hasher)).await?)
    } else {
        let bytes = read_body(req.take_payload(), limit).await?;
        hasher.update(&bytes);
        Body::Held(bytes)
    };
    Ok((body, hex::encode(hasher.finalize())))
}

/// What identifies a request for replay: method, path, content type and
/// body, hashed. The body is fed in as it is read.
fn request_hasher(req: &ServiceRequest, path: &str) -> Sha256 {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut hasher = Sha256::new();
    for part in [req.method().as_str(), path, content_type] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
}

/// A body read before its handler runs: held when small, spooled to a
/// file when it is an import.
enum Body {
    Held(web::Bytes),
    Spooled(Spooled),
}

/// The one route whose bodies are large.
const IMPORT_PATH: &str = "/v1/firearms/import";

/// The most a request may send, refusing it first if its caller may not
/// use the route or it declares more.
fn admit_body(req: &ServiceRequest, user: &AuthUser, state: &AppState) -> Result<usize, AppError> {
    let limit = if req.path() == IMPORT_PATH {
        Recorder::registrar(user)?;
        state.settings.import_max_bytes
    } else {
        JSON_LIMIT
    };
    if declared_length(req.request()).is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    Ok(limit)
}

fn bytes_payload(body: web::Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    payload.into()
}

/// Reserves the attempt's key for its request (method, path and body hash).
async fn reserve(
    state: &AppState,
    attempt: &Attempt,
    method: String,
    path: String,
    hash: String,
) -> Result<store::Reservation, AppError> {
    let attempt = attempt.clone();
    db::run(&state.pool, move |c| {
        let held = Held {
            key: KeyRef {
                scope: &attempt.scope,
                key: &attempt.key,
            },
            holder: &attempt.holder,
        };
        store::reserve(c, &held, &method, &path, &hash, db::now())
    })
    .await
    .map_err(AppError::from)
}

/// One attempt at a request with a key.
#[derive(Clone)]
struct Attempt {
    scope: String,
    key: String,
    holder: String,
}

/// Releases the attempt's reservation: only while `pending` (a key whose
/// write took is `applied` and stays so).
async fn release(state: &AppState, attempt: Attempt) {
    settle(state, "release", move |c: &mut db::DbConn| {
        store::release(
            c,
            &Held {
                key: KeyRef {
                    scope: &attempt.scope,
                    key: &attempt.key,
                },
                holder: &attempt.holder,
            },
        )
    })
    .await;
}

/// Stores a success for replay, or releases the key after a failure.
async fn finish(
    state: &AppState,
    attempt: Attempt,
    res: ServiceResponse<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !res.status().is_success() {
        release(state, attempt).await;
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|_| AppError::internal("response body unreadable"))?;
    let headers: BTreeMap<&str, &str> = REPLAYED_HEADERS
        .iter()
        .filter_map(|h| Some((h.as_str(), head.headers().get(h)?.to_str().ok()?)))
        .collect();
    let stored = store::StoredResponse {
        status: head.status().as_u16(),
        headers: serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into()),
        body: bytes.to_vec(),
    };
    settle(state, "store the answer of", move |c| {
        store::complete(
            c,
            &KeyRef {
                scope: &attempt.scope,
                key: &attempt.key,
            },
            &stored,
            db::now(),
        )
    })
    .await;
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// How long a key's release or answer is retried while the database is
/// away (a failover takes seconds).
const SETTLE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// Releases a key or stores its answer; while the database is away, goes
/// on trying off the answer's path: a key left `pending` would answer
/// every retry with 409 until it expires.
async fn settle<F>(state: &AppState, what: &'static str, f: F)
where
    F: Fn(&mut db::DbConn) -> db::StoreResult<()> + Send + Sync + 'static,
{
    let pool = state.pool.clone();
    let f = std::sync::Arc::new(f);
    let once = f.clone();
    let Err(e) = db::run(&pool, move |c| once(c)).await else {
        return;
    };
    tracing::warn!(error = %e, "could not {what} an idempotency key yet; retrying");
    actix_web::rt::spawn(async move {
        let started = std::time::Instant::now();
        loop {
            actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
            let once = f.clone();
            match db::run(&pool, move |c| once(c)).await {
                Ok(()) => return,
                Err(e) if started.elapsed() > SETTLE_FOR => {
                    tracing::error!(error = %e, "could not {what} an idempotency key; it expires with its retention");
                    return;
                }
                Err(_) => {}
            }
        }
    });
}

fn replay(stored: &store::StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&stored.headers).unwrap_or_default();
    for (name, value) in headers {
        res.insert_header((name, value));
    }
    res.insert_header(("idempotent-replayed", "true"));
    res.body(stored.body.clone())
}
