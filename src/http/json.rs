//! The JSON body extractor. It reads at most 1 MiB, insists on a JSON
//! content type, and tells malformed JSON (400) apart from well-formed JSON
//! with wrong or unknown fields (422, naming the field).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

pub const JSON_LIMIT: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

/// True for `application/json` and `application/*+json`.
fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The declared length, when it alone shows the body is too large.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Reads a whole body, refusing it once it passes `limit`.
pub async fn read_body(mut payload: Payload, limit: usize) -> Result<web::Bytes, AppError> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("unreadable_body", e.to_string()))?;
        if buf.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Names the field a deserialisation error is about.
pub fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    FieldError::from_path(e)
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return AppError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            );
        }
        AppError::Validation(vec![field_error(&e)])
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let early = if !is_json(req) {
            Some(AppError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            ))
        } else if declared_length(req).is_some_and(|n| n > JSON_LIMIT) {
            Some(AppError::PayloadTooLarge { limit: JSON_LIMIT })
        } else {
            None
        };
        let payload = payload.take();
        Box::pin(async move {
            if let Some(e) = early {
                return Err(e);
            }
            let bytes = read_body(payload, JSON_LIMIT).await?;
            parse(&bytes).map(ApiJson)
        })
    }
}
