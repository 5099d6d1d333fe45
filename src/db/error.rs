//! What storage can fail with. Storage knows rows and constraints, not
//! answers: a refused unique key is named here by what it protects, and the
//! layer that builds the answer decides what the caller is told (see
//! `AppError`). Everything else is the database's own error, kept whole
//! so its cause reaches the log.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another firearm holds this unique marking (country of manufacture,
    /// manufacturer, serial number).
    #[error("a firearm with this unique marking is already registered")]
    DuplicateMarking,
    #[error("the username is taken")]
    DuplicateUsername,
    #[error("an agency of that name already exists in that country")]
    DuplicateAgency,
    #[error("the trace request reference is taken")]
    DuplicateReference,
    #[error("the agency has an armoury of that name")]
    DuplicateArmoury,
    /// An identifier of the new holder is another holder's.
    #[error("an identifier is already held by another holder")]
    DuplicateHolder,
    #[error("the issuer has a licence of that number")]
    DuplicateLicence,
    /// The armoury already has an open stock check.
    #[error("the armoury has an open stock check")]
    OpenCheck,
    /// The row to change does not exist.
    #[error("no such row")]
    NotFound,
    /// The row is no longer at the version the caller expected.
    #[error("the row is at version {current}")]
    Stale { current: i64 },
    /// Storage holds what the registry never writes: a value that does not
    /// parse, or a statement that touched other rows than it must.
    #[error("storage is inconsistent: {0}")]
    Inconsistent(String),
    #[error("no database connection available: {0}")]
    Unavailable(String),
    #[error("database")]
    Query(#[source] diesel::result::Error),
}

/// The database's errors, with those that say it is gone or cannot take
/// writes now (a lost connection, a server shutting down or in recovery,
/// a primary turned standby, a SQLite file locked past the busy timeout)
/// kept apart: they are not the request's fault nor a bug, and the same
/// request may succeed a moment later (503 with Retry-After).
impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Query(e)
        }
    }
}

/// Messages of PostgreSQL's connection, shutdown and recovery errors
/// (classes 08 and 57P, and 25006), and SQLite's busy lock, that diesel
/// does not give a kind of their own.
const UNAVAILABLE: [&str; 10] = [
    "terminating connection",
    "server closed the connection",
    "connection has been closed",
    "no connection to the server",
    "could not receive data from server",
    "connection to server",
    "the database system is",
    "read-only transaction",
    "recovery is in progress",
    "database is locked",
];

pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(Kind::ReadOnlyTransaction | Kind::ClosedConnection, _)
        | Error::DatabaseError(Kind::UnableToSendCommand, _)
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            UNAVAILABLE.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for StoreError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Unavailable(format!("blocking task: {e}"))
    }
}

/// Names a refused unique key; any other error stays the database's.
pub(crate) fn unique(e: diesel::result::Error, taken: StoreError) -> StoreError {
    if super::is_unique_violation(&e) {
        taken
    } else {
        StoreError::from(e)
    }
}
