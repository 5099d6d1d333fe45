//! Settings, read from the environment (and a `.env` file, loaded by `main`).
//! Secrets are kept out of `Debug` output so they never reach a log line.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::net::Cidr;

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    /// PostgreSQL hot standbys that serve reads which can stand a moment's
    /// lag (`REGISTRY_DATABASE_READ_URL`, URLs separated by spaces).
    pub database_read_url: Option<String>,
    pub bind: String,
    pub data_dir: PathBuf,
    pub admin_password: Option<String>,
    pub jwt_secret: Option<String>,
    pub token_ttl_secs: i64,
    /// How long a web console session lasts from signing in
    /// (`REGISTRY_CONSOLE_SESSION_SECS`, 8 hours).
    pub console_session_secs: i64,
    pub pool_size: Option<u32>,
    pub workers: Option<usize>,
    /// Proxies whose `X-Forwarded-For` is believed, for login throttling
    /// (`REGISTRY_TRUSTED_PROXIES`, comma-separated addresses or blocks).
    pub trusted_proxies: Vec<Cidr>,
    pub log_json: bool,
    /// The audit log's signing key file (C2SP private key text); default
    /// `<data dir>/audit_key`, generated on first start.
    pub audit_key_file: Option<PathBuf>,
    /// The origin line of the audit log's checkpoints.
    pub audit_origin: String,
    /// Leave queued audit entries unintegrated (for benchmarks and
    /// maintenance); they are integrated once a sequencer runs again.
    pub audit_sequencer_paused: bool,
    /// Record reads of registry data in the audit log. Off only to measure
    /// what recording costs (`REGISTRY_AUDIT_READS=false`); never in service.
    pub audit_reads: bool,
    /// Refuse reads of histories and traces that give no `Registry-Purpose`.
    pub require_purpose: bool,
    /// The largest import body, in bytes.
    pub import_max_bytes: usize,
    /// The most data rows one import may hold.
    pub import_max_rows: usize,
    /// Failing rows whose errors an import's answer lists.
    pub import_max_listed: usize,
    /// How long one trace query may spend checking its candidates.
    pub trace_budget: std::time::Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_retention_hours: i64,
    /// Serve HTTPS with this PEM certificate chain and key
    /// (`REGISTRY_TLS_CERT`, `REGISTRY_TLS_KEY`); both or neither.
    pub tls: Option<TlsFiles>,
    /// What an ownership transfer to an unlicensed holder does
    /// (`REGISTRY_LICENCE_CHECK`: enforce, warn, off).
    pub licence_check: crate::domain::LicenceCheck,
    /// Years after a firearm's destruction that its holders' personal
    /// data reads as before (`REGISTRY_RETENTION_OPEN_YEARS`, 10).
    pub retention_open_years: u32,
    /// Years after destruction until erasure
    /// (`REGISTRY_RETENTION_RESTRICTED_YEARS`, 30).
    pub retention_restricted_years: u32,
    /// Where and for how long webhook messages are delivered.
    pub webhooks: WebhookSettings,
    /// Serve the checkpoint and hash tiles under `/tlog/` without a token
    /// (`REGISTRY_TLOG_PUBLIC`): they are hashes and disclose no record.
    pub tlog_public: bool,
    /// Witnesses the log submits its checkpoints to (`REGISTRY_WITNESSES`:
    /// `;`-separated `<URL> <verifier key>`).
    pub witnesses: Vec<WitnessSetting>,
    /// How many must cosign a head (`REGISTRY_WITNESS_QUORUM`; all).
    pub witness_quorum: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct WitnessSetting {
    pub url: String,
    pub key: String,
}

fn witnesses() -> Result<Vec<WitnessSetting>, String> {
    let Some(list) = var("REGISTRY_WITNESSES") else {
        return Ok(Vec::new());
    };
    list.split(';')
        .filter(|w| !w.trim().is_empty())
        .map(|w| match w.split_whitespace().collect::<Vec<_>>()[..] {
            [url, key] => Ok(WitnessSetting {
                url: url.into(),
                key: key.into(),
            }),
            _ => Err(format!(
                "REGISTRY_WITNESSES: `{w}` is not `<URL> <verifier key>`"
            )),
        })
        .collect()
}

/// How webhooks behave on this node (docs/webhooks.md).
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Allow `http://` and loopback or private destinations
    /// (`REGISTRY_WEBHOOK_ALLOW_PRIVATE`): tests and closed networks.
    pub allow_private: bool,
    /// How long a message is retried before it is given up on
    /// (`REGISTRY_WEBHOOK_RETRY_HOURS`, 72).
    pub retry_for: chrono::Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry_for: chrono::Duration::hours(72),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn tls_files() -> Result<Option<TlsFiles>, String> {
    match (var("REGISTRY_TLS_CERT"), var("REGISTRY_TLS_KEY")) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        })),
        (None, None) => Ok(None),
        _ => Err("set both REGISTRY_TLS_CERT and REGISTRY_TLS_KEY, or neither".into()),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/registry.db";
pub const DEFAULT_AUDIT_ORIGIN: &str = "registry.local/audit";
pub const DEFAULT_IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    var(name)
        .map(|v| {
            v.parse()
                .map_err(|_| format!("{name} has an invalid value `{v}`"))
        })
        .transpose()
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let data_dir = var("REGISTRY_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data"));
        Ok(Self {
            database_url,
            database_read_url: var("REGISTRY_DATABASE_READ_URL"),
            bind: var("REGISTRY_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir,
            admin_password: var("REGISTRY_ADMIN_PASSWORD"),
            jwt_secret: var("REGISTRY_JWT_SECRET"),
            token_ttl_secs: parse_var("REGISTRY_TOKEN_TTL_SECS")?.unwrap_or(900),
            console_session_secs: parse_var("REGISTRY_CONSOLE_SESSION_SECS")?.unwrap_or(8 * 3600),
            pool_size: parse_var("REGISTRY_DB_POOL_SIZE")?,
            workers: parse_var("REGISTRY_WORKERS")?,
            trusted_proxies: trusted_proxies()?,
            log_json: var("REGISTRY_LOG_FORMAT").is_some_and(|v| v == "json"),
            audit_key_file: var("REGISTRY_AUDIT_KEY_FILE").map(PathBuf::from),
            audit_origin: var("REGISTRY_AUDIT_ORIGIN")
                .unwrap_or_else(|| DEFAULT_AUDIT_ORIGIN.into()),
            audit_sequencer_paused: var("REGISTRY_AUDIT_SEQUENCER").is_some_and(|v| v == "paused"),
            audit_reads: parse_var("REGISTRY_AUDIT_READS")?.unwrap_or(true),
            require_purpose: parse_var("REGISTRY_REQUIRE_PURPOSE")?.unwrap_or(false),
            import_max_bytes: parse_var("REGISTRY_IMPORT_MAX_BYTES")?
                .unwrap_or(DEFAULT_IMPORT_MAX_BYTES),
            import_max_rows: parse_var("REGISTRY_IMPORT_MAX_ROWS")?.unwrap_or(1_000_000),
            import_max_listed: parse_var("REGISTRY_IMPORT_MAX_LISTED")?.unwrap_or(1_000),
            tls: tls_files()?,
            idempotency_retention_hours: parse_var("REGISTRY_IDEMPOTENCY_RETENTION_HOURS")?
                .unwrap_or(24),
            trace_budget: std::time::Duration::from_millis(
                parse_var("REGISTRY_TRACE_BUDGET_MS")?.unwrap_or(2_000),
            ),
            licence_check: var("REGISTRY_LICENCE_CHECK")
                .map(|v| {
                    crate::domain::LicenceCheck::parse(&v)
                        .map_err(|e| format!("REGISTRY_LICENCE_CHECK: {e}"))
                })
                .transpose()?
                .unwrap_or(crate::domain::LicenceCheck::Enforce),
            retention_open_years: parse_var("REGISTRY_RETENTION_OPEN_YEARS")?.unwrap_or(10),
            retention_restricted_years: parse_var("REGISTRY_RETENTION_RESTRICTED_YEARS")?
                .unwrap_or(30),
            webhooks: WebhookSettings {
                allow_private: parse_var("REGISTRY_WEBHOOK_ALLOW_PRIVATE")?.unwrap_or(false),
                retry_for: chrono::Duration::hours(
                    parse_var::<u32>("REGISTRY_WEBHOOK_RETRY_HOURS")?
                        .unwrap_or(72)
                        .into(),
                ),
            },
            tlog_public: parse_var("REGISTRY_TLOG_PUBLIC")?.unwrap_or(false),
            witnesses: witnesses()?,
            witness_quorum: parse_var("REGISTRY_WITNESS_QUORUM")?,
        })
    }
}

fn trusted_proxies() -> Result<Vec<Cidr>, String> {
    // The old switch believed the leftmost, client-written hop. Starting
    // with it set would silently change who is throttled; say so instead.
    if var("REGISTRY_TRUST_FORWARDED_FOR").is_some() {
        return Err(
            "REGISTRY_TRUST_FORWARDED_FOR is no longer read: list the proxies in \
                    REGISTRY_TRUSTED_PROXIES (e.g. 10.0.0.0/8) instead"
                .into(),
        );
    }
    var("REGISTRY_TRUSTED_PROXIES")
        .map(|v| Cidr::parse_list(&v).map_err(|e| format!("REGISTRY_TRUSTED_PROXIES: {e}")))
        .transpose()
        .map(Option::unwrap_or_default)
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_read_url",
                &self.database_read_url.as_deref().map(|urls| {
                    urls.split_whitespace()
                        .map(redact_url)
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
            )
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("admin_password", &redact(&self.admin_password))
            .field("jwt_secret", &redact(&self.jwt_secret))
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("console_session_secs", &self.console_session_secs)
            .finish_non_exhaustive()
    }
}

/// Hides a password in a connection URL (`postgres://user:secret@host`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Creates a folder, and any missing above it, that only its owner may
/// enter (0700). An existing folder is left as it is: it may be shared.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Narrows an existing file or folder to its owner: 0600 for a file, 0700
/// for a folder. Data written by an older version, or copied in, is
/// closed up at start.
pub fn restrict(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mode = if meta.is_dir() { 0o700 } else { 0o600 };
        if meta.permissions().mode() & 0o777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            super::redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact_url("sqlite://data/r.db"),
            "sqlite://data/r.db"
        );
    }
}
