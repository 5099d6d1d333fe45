//! Storage: one connection type over PostgreSQL and SQLite, the pool, the
//! migrations, and plain query functions per resource. Where the backends
//! differ, the `match` on [`DbConn`] stays inside this module.

pub mod agencies;
pub mod armouries;
pub mod audit;
pub mod counts;
pub mod error;
pub mod firearms;
pub mod holders;
pub mod idempotency;
pub mod logins;
pub mod notifications;
pub mod replica;
pub mod role_grants;
pub mod schema;
pub mod sessions;
pub mod trace;
pub mod trace_requests;
pub mod users;
pub mod webhooks;
pub mod witnesses;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::Path;
use std::time::{Duration, Instant};

pub use error::{StoreError, StoreResult};

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// Which database a `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Postgres(String),
    Sqlite(String),
}

impl DbTarget {
    /// Chooses the backend from the URL scheme. Unlike diesel's derived
    /// `establish`, which tries each backend in turn, a wrong PostgreSQL
    /// password is then reported as such rather than as a bad file name.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!("DATABASE_URL must start with sqlite:// or postgres://, got `{url}`")
            })?;
        if path.is_empty() {
            return Err("DATABASE_URL names no SQLite file".into());
        }
        Ok(Self::Sqlite(path.to_string()))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// Opens connections for the pool and sets each one up the same way.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DbTarget,
    /// Whether the pool's connections must take writes: a standby's never do.
    writable: bool,
}

/// SQLite settings on every connection. `synchronous=FULL` in WAL mode makes
/// a commit durable across a power cut, which is what "acknowledged" means
/// here (see docs/operations.md). `busy_timeout` lets writers queue for the
/// single write lock instead of failing.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// Creates the SQLite file empty, readable by its owner only, before
/// SQLite opens it: SQLite gives its `-wal` and `-shm` files the mode of
/// the database file.
fn create_private_file(path: &Path) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::config::private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

impl ConnectionManager {
    pub fn new(target: DbTarget) -> Self {
        Self {
            target,
            writable: true,
        }
    }

    /// Connections for reads only, to a standby.
    pub fn for_reads(target: DbTarget) -> Self {
        Self {
            target,
            writable: false,
        }
    }

    pub fn connect_target(target: &DbTarget) -> Result<DbConn, diesel::ConnectionError> {
        match target {
            DbTarget::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET synchronous_commit TO on; SET TIME ZONE 'UTC';")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Pg(conn))
            }
            DbTarget::Sqlite(path) => {
                create_private_file(Path::new(path))
                    .map_err(diesel::ConnectionError::BadConnection)?;
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection, with when it was last given back to the pool and
/// whether its last use failed.
pub struct PooledDb {
    conn: DbConn,
    returned: Instant,
    suspect: bool,
}

impl std::ops::Deref for PooledDb {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PooledDb {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// A connection idle for longer than this is checked before use.
const IDLE_CHECK: Duration = Duration::from_secs(1);

const PG_WRITABLE: &str = "DO $$ BEGIN IF current_setting('transaction_read_only')::bool \
    THEN RAISE EXCEPTION 'the server takes no writes'; END IF; END $$";

impl ManageConnection for ConnectionManager {
    type Connection = PooledDb;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledDb, Self::Error> {
        let conn =
            Self::connect_target(&self.target).map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(PooledDb {
            conn,
            returned: Instant::now(),
            suspect: false,
        })
    }

    /// Only a connection that sat idle or whose last use failed is checked
    /// (one `SELECT 1`): one just used without error is known to work, and
    /// checking every checkout cost a round trip per request, a tenth of a
    /// short request's time. A connection the server closed thus fails one
    /// request at most, and is then replaced.
    fn is_valid(&self, conn: &mut PooledDb) -> Result<(), Self::Error> {
        if !conn.suspect && conn.returned.elapsed() < IDLE_CHECK {
            return Ok(());
        }
        let check = match conn.conn {
            // A primary demoted to a standby (a switchover) keeps its open
            // connections, read-only now: drop them, so that a new one
            // finds the new primary (target_session_attrs=read-write).
            DbConn::Pg(_) if self.writable => PG_WRITABLE,
            DbConn::Pg(_) | DbConn::Sqlite(_) => "SELECT 1",
        };
        conn.conn
            .batch_execute(check)
            .map_err(diesel::r2d2::Error::QueryError)?;
        conn.suspect = false;
        Ok(())
    }

    /// A connection whose transaction could not be closed (its server
    /// went away mid-transaction, say) is dropped rather than reused.
    /// r2d2 asks this as a connection comes back, so it also notes when.
    fn has_broken(&self, conn: &mut PooledDb) -> bool {
        use diesel::connection::TransactionManager;
        conn.returned = Instant::now();
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(&mut conn.conn)
    }
}

/// Rows per multi-row INSERT: well under both backends' bind limits.
pub const CHUNK: usize = 400;

/// Rows from which PostgreSQL is sent them by COPY.
pub const COPY_FROM: usize = 100;

/// Multi-row inserts do not compile on the multi-backend connection, so
/// this is the one place that runs them on the concrete connections.
#[macro_export]
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, $map_err:expr) => {
        // Many rows (a bulk import's batch) go by one COPY in binary: no
        // statement to parse, no bind parameters to plan, and PostgreSQL
        // loads them several times faster. A few rows stay a plain
        // insert: one round trip instead of two.
        if let ($crate::db::DbConn::Pg(c), true) =
            (&mut *$conn, $rows.len() >= $crate::db::COPY_FROM)
        {
            diesel::copy_from($table)
                .from_insertable(&$rows[..])
                .execute(c)
                .map_err($map_err)?;
        } else {
            $crate::insert_each_chunk!($conn, $table, $rows, $map_err);
        }
    };
}

/// [`insert_chunks`] as multi-row inserts.
#[macro_export]
macro_rules! insert_each_chunk {
    ($conn:expr, $table:expr, $rows:expr, $map_err:expr) => {
        for chunk in $rows.chunks($crate::db::CHUNK) {
            // diesel does not keep a multi-row insert as a prepared
            // statement, so a lone row goes as a single-row insert, which
            // it does: parsing and planning each time cost a short
            // request a tenth of its database time.
            match (&mut *$conn, chunk) {
                ($crate::db::DbConn::Pg(c), [row]) => {
                    diesel::insert_into($table).values(row).execute(c)
                }
                ($crate::db::DbConn::Pg(c), _) => {
                    diesel::insert_into($table).values(chunk).execute(c)
                }
                ($crate::db::DbConn::Sqlite(c), [row]) => {
                    diesel::insert_into($table).values(row).execute(c)
                }
                ($crate::db::DbConn::Sqlite(c), _) => {
                    diesel::insert_into($table).values(chunk).execute(c)
                }
            }
            .map_err($map_err)?;
        }
    };
}

/// Builds the pool. SQLite has one writer, so a small pool contends less.
pub fn build_pool(target: &DbTarget, size: Option<u32>) -> Result<Pool, String> {
    let default_size = if target.is_sqlite() { 4 } else { 10 };
    if let DbTarget::Sqlite(path) = target {
        // Switch the file to WAL once, alone: several pool connections doing
        // it at the same moment would contend for the exclusive lock.
        ConnectionManager::connect_target(target)
            .map_err(|e| format!("cannot open the database: {e}"))?;
        for suffix in ["", "-wal", "-shm"] {
            crate::config::restrict(Path::new(&format!("{path}{suffix}")))?;
        }
    }
    r2d2::Pool::builder()
        .max_size(size.unwrap_or(default_size))
        .connection_timeout(Duration::from_secs(10))
        // A PostgreSQL server restarts; checking a connection that sat idle
        // replaces those it closed. A SQLite file does not.
        .test_on_check_out(!target.is_sqlite())
        .build(ConnectionManager::new(target.clone()))
        .map_err(|e| format!("cannot connect to the database: {e}"))
}

#[derive(QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// The versions of a migration tree, as diesel records them.
fn versions<DB: diesel::backend::Backend>(tree: &EmbeddedMigrations) -> Vec<String>
where
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    diesel::migration::MigrationSource::<DB>::migrations(tree)
        // The folder's date, written as diesel records it: digits only.
        .map(|all| {
            all.iter()
                .map(|m| m.name().version().to_string().replace('-', ""))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every migration of the backend's tree is applied, read with a
/// plain SELECT: a service running as a role that may not create tables
/// (docs/operations.md) can still tell that it has nothing to do.
fn up_to_date(conn: &mut DbConn) -> bool {
    let query = "SELECT version FROM __diesel_schema_migrations";
    let (applied, embedded) = match conn {
        DbConn::Pg(c) => (
            diesel::sql_query(query).load::<AppliedVersion>(c),
            versions::<diesel::pg::Pg>(&PG_MIGRATIONS),
        ),
        DbConn::Sqlite(c) => (
            diesel::sql_query(query).load::<AppliedVersion>(c),
            versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
        ),
    };
    let Ok(applied) = applied else {
        return false;
    };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|a| a.version).collect();
    !embedded.is_empty() && embedded.iter().all(|v| applied.contains(v))
}

/// Applies every pending migration of the backend's own tree.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, String> {
    if up_to_date(conn) {
        return Ok(Vec::new());
    }
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts the latest applied migration; used by the migration tests to
/// write rows as an earlier schema held them.
pub fn revert_last(conn: &mut DbConn) -> Result<String, String> {
    match conn {
        DbConn::Pg(c) => c.revert_last_migration(PG_MIGRATIONS),
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
    }
    .map(|v| v.to_string())
    .map_err(|e| format!("revert failed: {e}"))
}

/// Reverts every applied migration; used by the migration tests.
pub fn revert_all(conn: &mut DbConn) -> Result<(), String> {
    match conn {
        DbConn::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| format!("revert failed: {e}"))
}

/// Runs a storage function on a pooled connection off the async runtime,
/// since diesel is synchronous. The function's error is the caller's: a
/// capability answers its own, storage's convert into it.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    let key = idempotency::held();
    actix_web::web::block(move || idempotency::applying(key, || on_pooled(&pool, f)))
        .await
        .map_err(|e| E::from(e.into()))?
}

/// Runs a storage function on a pooled connection, marking the connection
/// for a check before its next use if the function failed.
pub fn on_pooled<T, E: From<StoreError>>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = pool.get().map_err(|e| E::from(e.into()))?;
    let result = f(&mut conn);
    conn.suspect = result.is_err();
    result
}

/// SQLite has one writer. This process's writers take turns here rather
/// than in SQLite's busy handler, which sleeps and retries (up to 100 ms a
/// try): under load that left writes waiting hundreds of milliseconds
/// while the lock sat free. `busy_timeout` still covers other processes
/// (`registry import`, backups).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    static HOLDS_SQLITE_WRITER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread's turn to write; a nested write transaction keeps it.
struct SqliteWriter(Option<std::sync::MutexGuard<'static, ()>>);

impl SqliteWriter {
    fn take() -> Self {
        if HOLDS_SQLITE_WRITER.with(|h| h.get()) {
            return Self(None);
        }
        // A writer that panicked left no transaction open (the connection
        // rolls back), so the turn is still good to take.
        let guard = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
        HOLDS_SQLITE_WRITER.with(|h| h.set(true));
        Self(Some(guard))
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDS_SQLITE_WRITER.with(|h| h.set(false));
        }
    }
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, taking
/// the write lock first: a deferred transaction that reads and then writes
/// fails with "database is locked" when another writer got there between.
/// On PostgreSQL, callers that must serialise on one row update it first.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    use diesel::connection::{AnsiTransactionManager as Tm, TransactionManager};
    let _turn = matches!(conn, DbConn::Sqlite(_)).then(SqliteWriter::take);
    // Begun through the backend's own transaction manager, so that
    // statements inside that need a transaction (SQLite's multi-row insert,
    // an import's savepoint) nest as savepoints.
    let begun = match conn {
        DbConn::Sqlite(inner) => Tm::begin_transaction_sql(inner, "BEGIN IMMEDIATE"),
        DbConn::Pg(inner) => Tm::begin_transaction(inner),
    };
    begun.map_err(|e| E::from(e.into()))?;
    // The request's Idempotency-Key is marked in the write's own
    // transaction: committed together, or neither.
    let result = f(conn).and_then(|v| idempotency::mark_applied(conn).map(|()| v).map_err(E::from));
    let ended = match (&result, &mut *conn) {
        (Ok(_), DbConn::Sqlite(inner)) => Tm::commit_transaction(inner),
        (Ok(_), DbConn::Pg(inner)) => Tm::commit_transaction(inner),
        (Err(_), DbConn::Sqlite(inner)) => Tm::rollback_transaction(inner),
        (Err(_), DbConn::Pg(inner)) => Tm::rollback_transaction(inner),
    };
    match (result, ended) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => {
            // A failed commit has already rolled back or left the
            // transaction for the manager to roll back.
            let _ = match conn {
                DbConn::Sqlite(inner) => Tm::rollback_transaction(inner),
                DbConn::Pg(inner) => Tm::rollback_transaction(inner),
            };
            Err(E::from(e.into()))
        }
        // The caller's error is the one worth reporting.
        (Err(e), _) => Err(e),
    }
}

/// The server clock in UTC, at the microsecond precision both backends keep,
/// so a value reads back exactly as it was written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A fresh UUIDv7 as stored text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `e` is a unique-constraint violation, on either backend.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A migrated SQLite database in memory, for tests of storage functions.
#[cfg(test)]
pub(crate) fn sqlite_memory() -> SqliteConnection {
    let mut c = SqliteConnection::establish(":memory:").expect("memory database");
    c.run_pending_migrations(SQLITE_MIGRATIONS)
        .expect("migrations");
    c
}

/// The plan SQLite chooses for `sql` (its placeholders already filled)
/// on an empty database at the current schema: for tests that require an
/// index to be used.
#[cfg(test)]
pub(crate) fn sqlite_plan(sql: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct PlanRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let mut c = sqlite_memory();
    let plan: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(&mut c)
        .expect("plan");
    plan.into_iter().map(|r| r.detail).collect()
}
