//! Starts the real registry on port 0 against a database of its own and
//! talks HTTP to it. SQLite by default (a file per test); PostgreSQL (a
//! database per test) when `TEST_DATABASE_URL` is set.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use registry::config::Settings;
use registry::startup::Application;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

pub const ADMIN_PASSWORD: &str = "bootstrap-admin-password";
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
pub const PASSWORD: &str = "correct horse battery staple";

pub enum TestDb {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub fn new() -> (Self, String) {
        let id = uuid::Uuid::now_v7().simple().to_string();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("registry_test_{id}");
                let mut conn =
                    PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                let url = format!("{base}/{name}");
                (Self::Postgres { admin_url, name }, url)
            }
            None => {
                let dir = std::env::temp_dir().join(format!("registry-test-{id}"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}", dir.join("registry.db").display());
                (Self::Sqlite { dir }, url)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            Self::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ =
                        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    handle: actix_web::dev::ServerHandle,
    agent: ureq::Agent,
    /// A second system administrator, made when a test first needs one.
    approver: std::sync::OnceLock<String>,
    // Dropped last: the server must stop before its database goes.
    pub db: Option<TestDb>,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
    /// The body as sent, for binary answers (tiles).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["type"].is_string());
    }
}

pub fn settings(database_url: &str, data_dir: &std::path::Path) -> Settings {
    Settings {
        database_url: database_url.to_string(),
        database_read_url: None,
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        jwt_secret: Some(JWT_SECRET.into()),
        token_ttl_secs: 900,
        console_session_secs: 3600,
        pool_size: Some(4),
        workers: Some(2),
        trusted_proxies: Vec::new(),
        log_json: false,
        audit_key_file: None,
        audit_origin: "registry.test/audit".into(),
        audit_sequencer_paused: false,
        audit_reads: true,
        require_purpose: false,
        import_max_bytes: registry::config::DEFAULT_IMPORT_MAX_BYTES,
        import_max_rows: 1_000_000,
        import_max_listed: 1_000,
        trace_budget: std::time::Duration::from_secs(2),
        idempotency_retention_hours: 24,
        tls: None,
        licence_check: registry::domain::LicenceCheck::Enforce,
        retention_open_years: 10,
        retention_restricted_years: 30,
        tlog_public: false,
        witnesses: Vec::new(),
        witness_quorum: None,
        webhooks: registry::config::WebhookSettings {
            allow_private: true,
            ..Default::default()
        },
    }
}

pub fn spawn() -> TestApp {
    spawn_with(|_| {})
}

pub fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let (db, database_url) = TestDb::new();
    let data_dir =
        std::env::temp_dir().join(format!("registry-data-{}", uuid::Uuid::now_v7().simple()));
    let mut s = settings(&database_url, &data_dir);
    configure(&mut s);
    start(s, db)
}

/// Starts a registry in a thread of its own: its port and its handle.
fn launch(s: Settings) -> (u16, actix_web::dev::ServerHandle) {
    // Server logs go to the test's captured output: shown when it fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(s).await {
                Ok(app) => {
                    let _ = tx.send(Ok((app.port(), app.handle())));
                    let _ = app.run().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server start timed out")
        .expect("server failed to start")
}

fn start(s: Settings, db: TestDb) -> TestApp {
    let database_url = s.database_url.clone();
    let data_dir = s.data_dir.clone();
    let (port, handle) = launch(s);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        database_url,
        data_dir,
        handle,
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .redirects(0)
            .build(),
        approver: std::sync::OnceLock::new(),
        db: Some(db),
    }
}

impl TestApp {
    /// Stops this server and starts a new one on the same database and data
    /// directory, as an operator's restart would.
    pub fn restart(mut self) -> TestApp {
        self.restart_with(|_| {})
    }

    pub fn restart_with(&mut self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        let db = self.db.take().expect("database");
        let mut s = settings(&self.database_url, &self.data_dir);
        configure(&mut s);
        let data_dir = std::mem::take(&mut self.data_dir);
        let app = start(s, db);
        drop(data_dir);
        app
    }
}

/// Another registry node on the same database, as a second server behind
/// a load balancer: a data directory of its own (so a node name of its
/// own), the first node's keys.
pub struct Node {
    pub base: String,
    handle: actix_web::dev::ServerHandle,
    data_dir: PathBuf,
}

impl TestApp {
    pub fn second_node(&self, configure: impl FnOnce(&mut Settings)) -> Node {
        let data_dir =
            std::env::temp_dir().join(format!("registry-node-{}", uuid::Uuid::now_v7().simple()));
        let mut s = settings(&self.database_url, &data_dir);
        s.audit_key_file = Some(self.data_dir.join("audit_key"));
        configure(&mut s);
        let (port, handle) = launch(s);
        Node {
            base: format!("http://127.0.0.1:{port}"),
            handle,
            data_dir,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop without waiting; the database is dropped right after.
        // The stop command is sent at once; the future only waits for it.
        drop(self.handle.stop(false));
        if self.db.is_some() && !self.data_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn into_reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let res = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = res.status();
    let headers = res
        .headers_names()
        .into_iter()
        .filter_map(|n| res.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut res.into_reader(), &mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
        bytes,
    }
}

pub struct Req<'a> {
    app: &'a TestApp,
    inner: ureq::Request,
}

impl<'a> Req<'a> {
    pub fn token(mut self, token: &str) -> Self {
        self.inner = self.inner.set("Authorization", &format!("Bearer {token}"));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.set(name, value);
        self
    }

    pub fn send(self) -> Reply {
        let _ = self.app;
        into_reply(self.inner.call())
    }

    pub fn json(self, body: &Value) -> Reply {
        into_reply(self.inner.send_json(body.clone()))
    }

    pub fn raw(self, content_type: &str, body: &[u8]) -> Reply {
        into_reply(
            self.inner
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }
}

impl TestApp {
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            app: self,
            inner: self
                .agent
                .request(method, &format!("{}{}", self.base, path)),
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.req("GET", path).token(token).send()
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.req("POST", path).token(token).json(body)
    }

    pub fn login(&self, username: &str, password: &str) -> Reply {
        self.req("POST", "/v1/auth/login")
            .json(&json!({"username": username, "password": password}))
    }

    #[track_caller]
    pub fn token_for(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password);
        assert_eq!(r.status, 200, "login of {username}: {}", r.text);
        r.body["access_token"].as_str().expect("token").to_string()
    }

    pub fn admin_token(&self) -> String {
        self.token_for("admin", ADMIN_PASSWORD)
    }

    #[track_caller]
    pub fn create_agency(&self, admin: &str, name: &str, country: &str) -> String {
        let r = self.post(
            "/v1/agencies",
            admin,
            &json!({"name": name, "country": country, "kind": "police"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Creates a user and returns (user id, token).
    #[track_caller]
    pub fn create_user(
        &self,
        admin: &str,
        username: &str,
        agency: &str,
        roles: &[&str],
    ) -> (String, String) {
        let r = self.post(
            "/v1/users",
            admin,
            &json!({"username": username, "password": PASSWORD, "agency_id": agency, "roles": roles}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        for grant in r.body["pending_grants"].as_array().expect("pending_grants") {
            self.approve(grant["grant_id"].as_str().expect("grant id"));
        }
        let id = r.body["id"].as_str().expect("id").to_string();
        (id, self.token_for(username, PASSWORD))
    }

    /// Gives a user of version 1 these roles instead of theirs, with a
    /// second system administrator's approval where one is needed.
    #[track_caller]
    pub fn replace_roles(&self, admin: &str, user_id: &str, roles: &[&str]) {
        let r = self
            .req("PUT", &format!("/v1/users/{user_id}/roles"))
            .token(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"roles": roles}));
        match r.status {
            200 => {}
            202 => self.approve(r.body["grant_id"].as_str().expect("grant id")),
            _ => panic!("{}", r.text),
        }
    }

    /// Approves a pending grant as a second system administrator.
    #[track_caller]
    pub fn approve(&self, grant_id: &str) {
        let r = self.post(
            &format!("/v1/role-grants/{grant_id}/approve"),
            self.approver(),
            &json!({}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// The token of a second system administrator, created as the command
    /// line on the server's host does (the root of trust, no approval).
    pub fn approver(&self) -> &str {
        self.approver
            .get_or_init(|| self.root_user("second-admin", None, &["system_admin"]))
    }

    /// Creates a user through the command line's path and logs it in.
    pub fn root_user(&self, username: &str, agency: Option<&str>, roles: &[&str]) -> String {
        use registry::domain::{Password, Roles, Username};
        let pool = registry::startup::open_database(&settings(&self.database_url, &self.data_dir))
            .expect("open the database");
        let new = registry::accounts::NewUser {
            username: Username::parse(username).expect("username"),
            password: Password::parse(PASSWORD).expect("password"),
            agency_id: agency.map(String::from),
            roles: Roles::parse(roles).expect("roles"),
            must_change_password: false,
        };
        let actor = registry::audit::AuditActor {
            username: Some("cli:test".into()),
            request_id: format!("cli-{username}"),
            ..Default::default()
        };
        actix_web::rt::System::new()
            .block_on(registry::accounts::insert_user(&pool, &actor, new))
            .expect("create the user");
        self.token_for(username, PASSWORD)
    }

    /// A registrar of `agency` whose password an administrator set to
    /// `password`: they must choose their own before anything else.
    #[track_caller]
    pub fn user_with_set_password(
        &self,
        admin: &str,
        username: &str,
        agency: &str,
        password: &str,
    ) {
        let (id, _) = self.create_user(admin, username, agency, &["registrar"]);
        let r = self.post(
            &format!("/v1/users/{id}/password"),
            admin,
            &json!({"password": password}),
        );
        assert_eq!(r.status, 204, "{}", r.text);
    }

    #[track_caller]
    pub fn disable_user(&self, admin: &str, user_id: &str) {
        let r = self
            .req("POST", &format!("/v1/users/{user_id}/disable"))
            .token(admin)
            .send();
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// An agency with a registrar, for firearm tests.
pub struct Registry {
    pub app: TestApp,
    pub admin: String,
    pub agency: String,
    pub registrar: String,
}

pub fn registry() -> Registry {
    registry_with(|_| {})
}

pub fn registry_with(configure: impl FnOnce(&mut Settings)) -> Registry {
    let app = spawn_with(configure);
    let admin = app.admin_token();
    let agency = app.create_agency(&admin, "Ghana Police Service", "GH");
    let (_, registrar) = app.create_user(&admin, "registrar", &agency, &["registrar"]);
    Registry {
        app,
        admin,
        agency,
        registrar,
    }
}

/// A registration body as the contract's example has it.
pub fn pistol(serial: &str, agency: &str) -> Value {
    json!({
        "category": "self_loading_pistol",
        "manufacturer": "Glock GmbH",
        "model": "17",
        "calibre": "9x19mm",
        "country_of_manufacture": "AT",
        "year_of_manufacture": 2012,
        "serial_number": serial,
        "markings": [{"kind": "import", "text": "GH 2015 ACME", "country": "GH", "year": 2015}],
        "components": [{"kind": "slide", "serial_number": serial}],
        "owner": {"kind": "agency", "name": "Ghana Police Service", "agency_id": agency},
        "custodian": null,
        "occurred_at": "2015-06-01T00:00:00Z",
        "notes": "free text"
    })
}

impl Registry {
    #[track_caller]
    pub fn register(&self, body: &Value) -> Value {
        let r = self.app.post("/v1/firearms", &self.registrar, body);
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Imports `count` pistols, serials `{prefix}-0` onwards, in one
    /// request, and waits until the log has integrated their entries.
    #[track_caller]
    pub fn import_pistols(&self, prefix: &str, count: usize) {
        let body: String = (0..count)
            .map(|i| format!("{}\n", pistol(&format!("{prefix}-{i}"), &self.agency)))
            .collect();
        let r = self
            .app
            .req("POST", "/v1/firearms/import")
            .token(&self.registrar)
            .raw("application/x-ndjson", body.as_bytes());
        assert_eq!(r.status, 201, "{}", r.text);
        wait_integrated(&self.app.database_url);
    }
}

/// Runs SQL directly on a test database, behind the registry's back, as
/// the database's owner would: with the append-only triggers out of the
/// way (to tamper with rows, or to look at what it stored).
pub fn sql(database_url: &str, statement: &str) {
    use diesel::connection::SimpleConnection;
    let target = registry::db::DbTarget::parse(database_url).expect("url");
    match registry::db::ConnectionManager::connect_target(&target).expect("connect") {
        registry::db::DbConn::Pg(mut c) => c.batch_execute(&format!(
            "SET session_replication_role = replica; {statement}"
        )),
        registry::db::DbConn::Sqlite(mut c) => {
            // SQLite has no switch: the owner drops the triggers, and puts
            // them back after.
            #[derive(diesel::QueryableByName)]
            struct Trigger {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                sql: String,
            }
            use diesel::RunQueryDsl;
            let triggers: Vec<Trigger> =
                diesel::sql_query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                    .load(&mut c)
                    .expect("triggers");
            let drop: String = triggers
                .iter()
                .map(|t| format!("DROP TRIGGER {};", t.name))
                .collect();
            let restore: String = triggers.iter().map(|t| format!("{};", t.sql)).collect();
            c.batch_execute(&format!("BEGIN; {drop} {statement}; {restore} COMMIT;"))
        }
    }
    .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// Runs SQL as any client of the database would, triggers and all.
pub fn sql_as_client(database_url: &str, statement: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    let target = registry::db::DbTarget::parse(database_url).expect("url");
    match registry::db::ConnectionManager::connect_target(&target).expect("connect") {
        registry::db::DbConn::Pg(mut c) => c.batch_execute(statement),
        registry::db::DbConn::Sqlite(mut c) => c.batch_execute(statement),
    }
    .map_err(|e| e.to_string())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A number from SQL that selects one BIGINT column named `n`.
pub fn sql_count(database_url: &str, statement: &str) -> i64 {
    use diesel::RunQueryDsl;
    let target = registry::db::DbTarget::parse(database_url).expect("url");
    let rows: Vec<Count> =
        match registry::db::ConnectionManager::connect_target(&target).expect("connect") {
            registry::db::DbConn::Pg(mut c) => diesel::sql_query(statement).load(&mut c),
            registry::db::DbConn::Sqlite(mut c) => diesel::sql_query(statement).load(&mut c),
        }
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    rows.first().map_or(0, |r| r.n)
}

/// Waits until `n` entries of `action` are in the log (read entries are
/// written off the request's path, within moments of the read).
#[track_caller]
pub fn wait_for_entries(database_url: &str, action: &str, n: i64) {
    let started = std::time::Instant::now();
    let query = format!("SELECT COUNT(*) AS n FROM audit_entries WHERE action = '{action}'");
    while sql_count(database_url, &query) < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{action}: fewer than {n} entries"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the audit sequencer has integrated every queued entry.
pub fn wait_integrated(database_url: &str) -> i64 {
    let started = std::time::Instant::now();
    loop {
        let pending = sql_count(
            database_url,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE seq IS NULL",
        );
        if pending == 0 {
            return sql_count(database_url, "SELECT COUNT(*) AS n FROM audit_entries");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{pending} entries never integrated"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Creates a trigger on both backends: `pg` as a PL/pgSQL body, `sqlite`
/// as the statements of a SQLite trigger.
pub fn trigger(app: &TestApp, name: &str, when: &str, pg: &str, sqlite: &str) {
    let statement = if app.database_url.starts_with("postgres") {
        format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {pg} END $$; \
             CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    } else {
        format!("CREATE TRIGGER {name} {when} BEGIN {sqlite} END")
    };
    sql_as_client(&app.database_url, &statement).expect("trigger");
}
