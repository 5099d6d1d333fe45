//! The registry's answer to a failed request, and its mapping to RFC 9457
//! `problem+json`.
//!
//! Policy, by layer:
//!
//! - Storage (`db`) returns [`StoreError`]: diesel's error, kept whole, or a
//!   refused constraint named by what it protects (`DuplicateMarking`, ...).
//!   It knows nothing of status codes.
//! - Domain parsers return the reason a value is invalid, as text for the
//!   field it came from; [`Validator`] collects them.
//! - `AppError` is made where an answer is built: the capability modules
//!   and the HTTP handlers. A capability that gives a storage failure a
//!   meaning of its own (a duplicate marking names the firearm holding it)
//!   matches the `StoreError` variant; anything else converts with `?`.
//! - Every failure a caller can cause is a 4xx with a stable `code` that
//!   scripts may match on (listed in `docs/errors.md`). A 5xx answers an
//!   opaque body; its cause, with the whole chain of causes beneath it, goes
//!   to the log with the request id, never to the caller, because internal
//!   messages can leak schema, paths or other agencies' data.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Value};

use crate::db::StoreError;

/// The cause of an internal error, for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// One invalid field of a request, as reported in `errors`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// Names the field a deserialisation error is about. serde reports a
    /// missing field at its parent, so the name is taken from the message.
    pub fn from_path(e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let message = e.inner().to_string();
        let mut field = e.path().to_string();
        if field == "." {
            field = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("body")
                .to_string();
        }
        // Drop serde's " at line 1 column 9" suffix: the field says where.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        Self::new(field, message)
    }

    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("invalid values")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    Unprocessable {
        code: &'static str,
        detail: String,
        extra: Option<Value>,
    },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NoRoute(String),
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        extra: Option<Value>,
    },
    #[error("version mismatch")]
    PreconditionFailed { current: i64 },
    #[error("payload over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {}", chain(.0.as_ref()))]
    Internal(Cause),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::forbidden_because("forbidden", detail)
    }

    /// A refusal the caller may want to tell apart (`self_grant`,
    /// `four_eyes`, `password_change_required`).
    pub fn forbidden_because(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    /// Adds members to the problem body (RFC 9457 extension members).
    pub fn with_extra(self, members: Value) -> Self {
        match self {
            Self::Conflict { code, detail, .. } => Self::Conflict {
                code,
                detail,
                extra: Some(members),
            },
            Self::Unprocessable { code, detail, .. } => Self::Unprocessable {
                code,
                detail,
                extra: Some(members),
            },
            other => other,
        }
    }

    /// An internal error that keeps its cause, and the causes beneath it,
    /// for the log.
    pub fn caused_by(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(cause))
    }

    /// An internal error from a message: for a broken invariant that has
    /// no error value of its own.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string().into())
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::Forbidden { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::NotFound => "not_found",
            Self::NoRoute(_) => "no_such_route",
            Self::PreconditionFailed { .. } => "version_mismatch",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "Malformed request",
            Self::Validation(_) | Self::Unprocessable { .. } => "Invalid values",
            Self::Unauthorized { .. } => "Authentication required",
            Self::Forbidden { .. } => "Not allowed",
            Self::NotFound | Self::NoRoute(_) => "Not found",
            Self::Conflict { .. } => "Conflict with the current state",
            Self::PreconditionFailed { .. } => "Version mismatch",
            Self::PayloadTooLarge { .. } => "Request body too large",
            Self::UnsupportedMediaType(_) => "Unsupported content type",
            Self::TooManyRequests { .. } => "Too many requests",
            Self::Unavailable(_) => "Service unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => format!("{} field(s) are invalid", errors.len()),
            Self::NotFound => "no such resource, or it is not visible to you".into(),
            Self::PreconditionFailed { current } => {
                format!("the record is now at version {current}; fetch it again")
            }
            Self::TooManyRequests { retry_after_secs } => {
                format!("try again in {retry_after_secs} seconds")
            }
            // Opaque on purpose: the cause is logged, not shown.
            Self::Internal(_) => "the registry could not complete the request".into(),
            other => other.to_string(),
        }
    }

    /// The `problem+json` body, exposed so that stored responses and tests
    /// render errors exactly as the live handler does.
    pub fn body(&self) -> Value {
        let status = self.status_code().as_u16();
        let mut body = json!({
            "type": format!("/problems/{}", self.code()),
            "title": self.title(),
            "status": status,
            "detail": self.detail(),
            "code": self.code(),
        });
        if let Self::Validation(errors) = self {
            body["errors"] = json!(errors);
        }
        if let Self::Conflict {
            extra: Some(Value::Object(extra)),
            ..
        }
        | Self::Unprocessable {
            extra: Some(Value::Object(extra)),
            ..
        } = self
        {
            for (k, v) in extra {
                body[k] = v.clone();
            }
        }
        body
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoRoute(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %chain(cause.as_ref()), "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Self::TooManyRequests { retry_after_secs } = self {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        // A lost or read-only database comes back (a failover takes
        // seconds): the client may retry, with the same Idempotency-Key.
        if let Self::Unavailable(_) = self {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if matches!(self, Self::Unauthorized { .. }) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.body(self.body().to_string())
    }
}

/// An error and its sources, outermost first: `database: relation "x"
/// does not exist`.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What a storage failure tells the caller when the capability gave it no
/// meaning of its own.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DuplicateMarking => Self::conflict(
                "duplicate_marking",
                "a firearm with this unique marking (country of manufacture, manufacturer, serial number) is already registered",
            ),
            StoreError::DuplicateUsername => {
                Self::conflict("duplicate_username", "that username is taken")
            }
            StoreError::DuplicateAgency => Self::conflict(
                "duplicate_agency",
                "an agency of that name already exists in that country",
            ),
            StoreError::DuplicateReference => {
                Self::conflict("duplicate_reference", "reference taken")
            }
            StoreError::DuplicateArmoury => Self::conflict(
                "duplicate_armoury",
                "the agency already has an armoury of that name",
            ),
            StoreError::DuplicateHolder => Self::conflict(
                "duplicate_holder",
                "an identifier is already held by another holder",
            ),
            StoreError::DuplicateLicence => Self::conflict(
                "duplicate_licence",
                "the issuer already has a licence of that number",
            ),
            StoreError::OpenCheck => Self::conflict(
                "stock_check_open",
                "the armoury already has an open stock check; close it first",
            ),
            StoreError::NotFound | StoreError::Query(diesel::result::Error::NotFound) => {
                Self::NotFound
            }
            StoreError::Stale { current } => Self::PreconditionFailed { current },
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "the database is unavailable or takes no writes");
                Self::Unavailable(
                    "the database is not answering or takes no writes now; retry shortly \
                     (with the same Idempotency-Key, a retried write is applied once)"
                        .into(),
                )
            }
            other @ (StoreError::Inconsistent(_) | StoreError::Query(_)) => {
                Self::Internal(Box::new(other))
            }
        }
    }
}

/// The error of a transaction whose caller gives some storage failures a
/// meaning of its own (a duplicate marking names the firearm holding it;
/// a taken reference draws another): storage's error as it came, or an
/// answer already made.
#[derive(Debug)]
pub enum TxError {
    Store(StoreError),
    App(AppError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<AppError> for TxError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<TxError> for AppError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Store(e) => e.into(),
            TxError::App(e) => e,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        StoreError::from(e).into()
    }
}

/// Collects every invalid field of a request before answering, so a caller
/// fixes a form in one round trip rather than one field at a time.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a parsed value, or records why the field is invalid.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// The collected errors themselves, for callers that report them per
    /// row rather than as one response.
    pub fn finish_fields(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    pub fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}

/// Unwraps values checked by a [`Validator`] after `finish` succeeded.
pub fn checked<T>(value: Option<T>) -> AppResult<T> {
    value.ok_or_else(|| AppError::internal("validated value missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_failure_keeps_its_cause_for_the_log_only() {
        let cause =
            diesel::result::Error::QueryBuilderError("relation \"firearms\" is gone".into());
        let e = AppError::from(StoreError::from(cause));
        assert!(matches!(e, AppError::Internal(_)));
        assert_eq!(
            e.to_string(),
            "internal error: database: relation \"firearms\" is gone"
        );
        assert_eq!(
            e.body()["detail"],
            "the registry could not complete the request"
        );
    }

    #[test]
    fn storage_refusals_become_their_answers() {
        let cases = [
            (StoreError::DuplicateMarking, 409, "duplicate_marking"),
            (StoreError::DuplicateUsername, 409, "duplicate_username"),
            (StoreError::NotFound, 404, "not_found"),
            (StoreError::Stale { current: 4 }, 412, "version_mismatch"),
            (
                StoreError::Unavailable("pool".into()),
                503,
                "service_unavailable",
            ),
            (StoreError::Inconsistent("x".into()), 500, "internal_error"),
        ];
        for (store, status, code) in cases {
            let e = AppError::from(store);
            assert_eq!(e.status_code().as_u16(), status);
            assert_eq!(e.code(), code);
        }
    }
}
