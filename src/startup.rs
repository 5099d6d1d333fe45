//! Wires configuration, database, keys and HTTP together.

use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App, HttpServer};
use std::net::TcpListener;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::accounts;
use crate::audit::reads::ReadLog;
use crate::audit::sequencer::{self, AuditLog};
use crate::audit::signing::NoteKey;
use crate::audit::witnessing::{self, Witnesses};
use crate::auth::TokenKeys;
use crate::config::{redact_url, Settings};
use crate::db::{self, replica::Replicas, DbTarget};
use crate::http::state::AppState;
use crate::http::{self, metrics::Metrics, observe};
use crate::openapi::ApiDoc;

pub struct Application {
    port: u16,
    server: Server,
    stop_sequencer: Arc<AtomicBool>,
    reads_writer: std::thread::JoinHandle<()>,
}

/// Loads (or creates) the audit signing key and signs the empty tree once.
fn open_audit_log(settings: &Settings, pool: &db::Pool) -> Result<AuditLog, String> {
    let path = settings
        .audit_key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("audit_key"));
    let key = NoteKey::load_or_create(&path, &settings.audit_origin)?;
    let log = AuditLog {
        origin: settings.audit_origin.clone(),
        key,
    };
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    sequencer::ensure_genesis(&mut conn, &log).map_err(|e| e.to_string())?;
    Ok(log)
}

/// Opens the database named by the settings and brings its schema up to date.
pub fn open_database(settings: &Settings) -> Result<db::Pool, String> {
    // Keys, spooled bodies and, by default, the SQLite file live here.
    crate::config::private_dir(&settings.data_dir)?;
    crate::config::restrict(&settings.data_dir)?;
    let target = DbTarget::parse(&settings.database_url)?;
    let pool = db::build_pool(&target, settings.pool_size)?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let applied = db::migrate(&mut conn)?;
    for m in applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(pool)
}

/// The read standbys the settings name: PostgreSQL's only, since a
/// standby of SQLite does not exist.
fn open_replicas(settings: &Settings) -> Result<Option<Arc<Replicas>>, String> {
    let Some(urls) = &settings.database_read_url else {
        return Ok(None);
    };
    if DbTarget::parse(&settings.database_url)?.is_sqlite() {
        return Err(
            "REGISTRY_DATABASE_READ_URL needs a PostgreSQL primary; SQLite has no standbys".into(),
        );
    }
    tracing::info!(
        standbys = urls.split_whitespace().count(),
        "reads that can lag go to standbys"
    );
    Replicas::open(urls, settings.pool_size).map(|r| Some(Arc::new(r)))
}

/// The HTTP server on `listener`, over TLS when the settings name a
/// certificate, with the scheme it speaks.
fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
) -> Result<(Server, &'static str), String> {
    let workers = state.settings.workers;
    let tls = state
        .settings
        .tls
        .as_ref()
        .map(|t| crate::tls::server_config(&t.cert, &t.key))
        .transpose()?;
    let openapi = ApiDoc::openapi();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(http::consistency::stamp))
            .wrap(from_fn(observe::observe))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
            .configure(http::routes)
            .default_service(web::to(http::ops::no_route))
    })
    // SIGTERM and SIGINT stop accepting and let in-flight requests
    // finish for up to this long.
    .shutdown_timeout(30);
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(|e| e.to_string())?
    .run();
    Ok((server, scheme))
}

impl Application {
    /// Binds, migrates and bootstraps. Call inside an actix system; the
    /// server runs once [`Application::run`] is awaited.
    pub async fn build(settings: Settings) -> Result<Self, String> {
        tracing::info!(database = %redact_url(&settings.database_url), "opening database");
        let replicas = open_replicas(&settings)?;
        let pool = open_database(&settings)?;
        if let Some(password) =
            accounts::bootstrap_admin(&pool, settings.admin_password.as_deref()).await?
        {
            // Printed once, on the first start of an empty registry, and
            // deliberately not through the log.
            println!(
                "\n  Created the system administrator `admin` with the password:\n\n      {password}\n\n  Store it now; it is not shown again.\n"
            );
        }
        let tokens = TokenKeys::load(
            settings.jwt_secret.as_deref(),
            &settings.data_dir,
            settings.token_ttl_secs,
        )?;
        let audit = Arc::new(open_audit_log(&settings, &pool)?);
        let stop_sequencer = Arc::new(AtomicBool::new(false));
        if settings.audit_sequencer_paused {
            tracing::warn!("audit sequencer paused: entries queue up until it runs again");
        } else {
            sequencer::spawn(pool.clone(), audit.clone(), stop_sequencer.clone())?;
        }
        let witnesses =
            Witnesses::from_settings(&settings.witnesses, settings.witness_quorum)?.map(Arc::new);
        if let Some(w) = &witnesses {
            witnessing::spawn(
                pool.clone(),
                audit.clone(),
                w.clone(),
                stop_sequencer.clone(),
            )?;
        }
        let keep = crate::housekeeping::Retention {
            idempotency_keys: chrono::Duration::hours(settings.idempotency_retention_hours),
            login_attempts: chrono::Duration::days(1),
        };
        crate::housekeeping::spawn(pool.clone(), keep, settings.clone(), stop_sequencer.clone())?;
        let node = crate::webhooks::node_name(&settings.data_dir)?;
        crate::webhooks::deliver::Deliverer::new(pool.clone(), settings.webhooks, node)
            .spawn(stop_sequencer.clone())?;
        let (reads, reads_writer) = ReadLog::start(
            pool.clone(),
            audit.clone(),
            stop_sequencer.clone(),
            settings.audit_reads,
        )?;
        if !settings.audit_reads {
            tracing::warn!("reads are not recorded in the audit log (REGISTRY_AUDIT_READS=false)");
        }
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let state = web::Data::new(AppState {
            pool,
            replicas,
            tokens,
            settings,
            metrics: Metrics::default(),
            audit,
            reads,
            witnesses,
            tiles: Default::default(),
        });
        let (server, scheme) = serve(listener, state)?;
        tracing::info!(port, scheme, "registry listening");
        Ok(Self {
            port,
            server,
            stop_sequencer,
            reads_writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.stop_sequencer.store(true, Ordering::Relaxed);
        // The read entries still queued are written before the process ends.
        let writer = self.reads_writer;
        let _ = actix_web::web::block(move || writer.join()).await;
        result
    }
}
