//! The `registry` command line: `serve` (the default), `migrate`, `user create`.

use clap::{Args, Parser, Subcommand};
use std::io::BufRead;

use crate::accounts::{self, NewUser};
use crate::config::Settings;
use crate::domain::{Password, Role, Roles, Username};
use crate::startup::{open_database, Application};

#[derive(Parser)]
#[command(
    name = "registry",
    version,
    about = "Weapons marking and record-keeping registry",
    long_about = "Weapons marking and record-keeping registry.\n\nConfiguration comes from the \
    environment (and a .env file): DATABASE_URL (sqlite://path or postgres://...; default \
    sqlite://data/registry.db), REGISTRY_BIND (default 127.0.0.1:8080), REGISTRY_ADMIN_PASSWORD, \
    REGISTRY_JWT_SECRET, REGISTRY_DATA_DIR (default data), RUST_LOG."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Register firearms in bulk from a CSV or NDJSON file, offline, with
    /// the same rules as POST /v1/firearms/import.
    Import(ImportArgs),
    /// Work with audit log exports.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Personal data by the clock (docs/holders.md).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Print a national report (docs/reports.md), read on the record.
    Report(ReportArgs),
    /// Work with trace requests.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Witness other registries' audit logs (c2sp.org/tlog-witness).
    #[command(subcommand)]
    Witness(WitnessCommand),
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Serve a witness: cosign each log's checkpoints that extend the last
    /// one cosigned, and refuse the others. Needs no database.
    Serve(WitnessArgs),
}

#[derive(Args)]
pub struct WitnessArgs {
    /// The witness's name, e.g. `witness.example.org/w1`.
    #[arg(long)]
    pub name: String,
    /// Where its key and the latest checkpoint of each log are kept.
    #[arg(long)]
    pub state: std::path::PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// A log to follow: its verifier key (its origin is the key's name),
    /// or `<origin> <verifier key>`. Repeat for several.
    #[arg(long = "log", required = true)]
    pub logs: Vec<String>,
}

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Check a signed trace answer offline: the `signed_response` note, or
    /// the JSON of GET /v1/trace-requests/{id} (whose shown response must be
    /// the signed one), against the responding registry's key.
    VerifyAnswer(VerifyArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ReportKind {
    /// International Tracing Instrument figures for a year.
    Iti,
    /// Arms Trade Treaty small arms and light weapons table for a year.
    Att,
    /// SDG indicator 16.4.2 over a period.
    Sdg,
}

#[derive(Args)]
pub struct ReportArgs {
    pub kind: ReportKind,
    /// The reporting year (iti, att).
    #[arg(long)]
    pub year: Option<String>,
    /// exports or imports (att).
    #[arg(long)]
    pub direction: Option<String>,
    /// First and last day, YYYY-MM-DD (sdg; by default all time).
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    /// Count only the records of this country's agencies (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
    /// json or csv.
    #[arg(long, default_value = "json")]
    pub format: String,
}

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Erase the personal data that is due now, recording each erasure in
    /// the audit log (the service also does this daily).
    Run,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check an export (GET /v1/audit/export) offline, with no database:
    /// every leaf, the gap-free order, and the checkpoint's signature and root.
    Verify(VerifyArgs),
    /// Check an evidence bundle (GET /v1/firearms/{id}/evidence) offline:
    /// every event against its entry, every entry in the signed
    /// checkpoint, the firearm's state, and the events' gap-free sequence.
    VerifyEvidence(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The file to check: an NDJSON export, or an evidence bundle.
    pub file: std::path::PathBuf,
    /// The registry's key: its verifier key (`name+hash+base64key`), its
    /// hex `public_key`, or a file holding either or the JSON answer of
    /// GET /v1/audit/key.
    #[arg(long)]
    pub key: String,
    /// A witness whose cosignature the checkpoint must carry: its
    /// cosignature verifier key. Repeat for several.
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A .csv file with a header line, or a .ndjson/.jsonl file.
    pub file: std::path::PathBuf,
    /// The registrar recorded as registering the firearms; their agency
    /// becomes responsible for them.
    #[arg(long)]
    pub username: String,
    /// Write the good rows and report the bad ones, instead of all-or-nothing.
    #[arg(long)]
    pub partial: bool,
    /// csv or ndjson; by default taken from the file's extension.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from REGISTRY_NEW_USER_PASSWORD,
    /// or else from the first line of standard input.
    Create(CreateUserArgs),
}

#[derive(Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub username: String,
    /// The user's agency (required unless the only role is system_admin).
    #[arg(long)]
    pub agency_id: Option<String>,
    /// A role; repeat for several (system_admin, admin, registrar, tracer, auditor).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
}

pub fn run(cli: Cli, settings: Settings) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).await?;
            app.run().await.map_err(|e| e.to_string())
        }),
        Command::Migrate => {
            open_database(&settings)?;
            println!("database is up to date");
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(args, &settings),
        Command::Import(args) => import(args, &settings),
        Command::Audit(AuditCommand::Verify(args)) => verify_export(&args),
        Command::Audit(AuditCommand::VerifyEvidence(args)) => verify_evidence(&args),
        Command::Retention(RetentionCommand::Run) => {
            let pool = open_database(&settings)?;
            let summary = crate::housekeeping::erase_due(&pool, &settings, "cli")
                .map_err(|e| e.to_string())?;
            println!(
                "erased the personal data of {} firearms, {} events and {} holders",
                summary.firearms, summary.events, summary.holders
            );
            Ok(())
        }
        Command::Report(args) => report(&args, &settings),
        Command::Trace(TraceCommand::VerifyAnswer(args)) => verify_answer(&args),
        Command::Witness(WitnessCommand::Serve(args)) => {
            let witness = crate::witness::Witness::open(&args.state, &args.name, &args.logs)?;
            crate::witness::serve::run(witness, &args.listen)
        }
    }
}

/// Reads `--key`: the key itself (verifier key or hex public key), or a
/// file holding either or the JSON answer of GET /v1/audit/key.
fn verifier_key(arg: &str) -> Result<crate::audit::signing::NoteVerifier, String> {
    let text = std::fs::read_to_string(arg).unwrap_or_else(|_| arg.to_string());
    crate::audit::signing::NoteVerifier::parse_any(&text)
}

fn verify_export(args: &VerifyArgs) -> Result<(), String> {
    let verifier = verifier_key(&args.key)?;
    let (file, progress) = crate::progress::open(&args.file, "verify")?;
    let (origin, size, root, witnessed) = crate::audit::verify::verify_export(
        std::io::BufReader::new(file),
        &verifier,
        &args.witnesses,
    )
    .map_err(|e| format!("INVALID: {e}"))?;
    progress.finish();
    println!(
        "valid: {size} entries, root {root}, signed by {origin}{}",
        cosigned(witnessed)
    );
    Ok(())
}

fn cosigned(witnesses: usize) -> String {
    match witnesses {
        0 => String::new(),
        n => format!(", cosigned by the {n} witnesses given"),
    }
}

fn verify_evidence(args: &VerifyArgs) -> Result<(), String> {
    let verifier = verifier_key(&args.key)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let v = crate::audit::evidence::verify(&text, &verifier, &args.witnesses)
        .map_err(|e| format!("INVALID: {e}"))?;
    let extent = if v.complete {
        "the whole history and the current state".to_string()
    } else {
        format!("the history through sequence {}", v.events)
    };
    println!(
        "valid: firearm {}, {} events ({extent}), in the log of {} at size {}{}",
        v.firearm_id,
        v.events,
        v.origin,
        v.size,
        cosigned(v.cosigned)
    );
    Ok(())
}

fn verify_answer(args: &VerifyArgs) -> Result<(), String> {
    let verifier = verifier_key(&args.key)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let a = crate::trace::requests::verify_answer(&text, &verifier)
        .map_err(|e| format!("INVALID: {e}"))?;
    let field = |name: &str| a[name].as_str().unwrap_or("?").to_string();
    println!(
        "valid: the answer to trace request {} ({}), outcome {}, given by agency {} to agency {} at {}, signed by {}",
        field("reference"),
        field("request_id"),
        field("outcome"),
        field("to_agency_id"),
        field("from_agency_id"),
        field("responded_at"),
        field("signer")
    );
    Ok(())
}

fn describe(e: crate::error::AppError) -> String {
    let body = e.body();
    match body.get("errors") {
        Some(errors) => format!(
            "{}\n{}",
            e,
            serde_json::to_string_pretty(errors).unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

fn import(args: ImportArgs, settings: &Settings) -> Result<(), String> {
    use crate::audit::Sink;
    use crate::auth::Recorder;
    use crate::firearms::{self, import::Format};
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("ndjson") | Some("jsonl") => Format::Ndjson,
        Some(other) => return Err(format!("--format must be csv or ndjson, not {other}")),
        None => Format::from_path(&args.file)
            .ok_or("cannot tell the format from the file name; pass --format csv or ndjson")?,
    };
    let pool = open_database(settings)?;
    let (file, progress) = crate::progress::open(&args.file, "import")?;
    actix_web::rt::System::new().block_on(async move {
        let key = args.username.to_ascii_lowercase();
        let user = crate::db::run(&pool, move |c| {
            crate::db::users::find_by_username_key(c, &key)
        })
        .await
        .map_err(|e| describe(e.into()))?
        .filter(|u| !u.disabled)
        .ok_or_else(|| format!("no enabled user `{}`", args.username))?;
        let roles = Roles::from_stored(&user.roles)?;
        let auth = crate::auth::AuthUser {
            id: user.id,
            username: user.username,
            agency_id: user.agency_id,
            roles,
            request_id: format!("cli-{}", uuid::Uuid::now_v7()),
            purpose: None,
        };
        let actor = Recorder::registrar(&auth).map_err(describe)?;
        let caps = firearms::ImportCaps {
            max_rows: usize::MAX,
            max_listed: settings.import_max_listed,
        };
        let partial = args.partial;
        let report = crate::db::run(&pool, move |c| {
            let rows = firearms::import::rows(file, format)?;
            // Queued for the server's sequencer: this process may not hold
            // the key the server signs its heads with.
            firearms::import(c, &actor, rows, partial, caps, Sink::Queue)
        })
        .await
        .map_err(describe)?;
        progress.finish();
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        if report.rejected > 0 {
            return Err(format!("{} row(s) rejected", report.rejected));
        }
        Ok(())
    })
}

/// Reads a report as the operator at this workstation, on the record,
/// and prints it.
fn report(args: &ReportArgs, settings: &Settings) -> Result<(), String> {
    use crate::reports::{self, input, render, Scope};
    let csv = match args.format.as_str() {
        "json" => false,
        "csv" => true,
        other => return Err(format!("--format must be json or csv, not {other}")),
    };
    let country = input::country(args.country.as_deref()).map_err(describe)?;
    let scope = country.map_or(Scope::All, Scope::Country);
    let name = match args.kind {
        ReportKind::Iti => "iti",
        ReportKind::Att => "att",
        ReportKind::Sdg => "sdg-16-4-2",
    };
    let pool = open_database(settings)?;
    let progress = crate::progress::Progress::new(&format!("report {name}"), 2, false);
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot reach the database: {e}"))?;
    let c = &mut *conn;
    progress.step("reading the counts");
    let (body, detail) = match args.kind {
        ReportKind::Iti => {
            let year = input::year(args.year.as_deref()).map_err(describe)?;
            let r = reports::iti(c, &scope, year).map_err(describe)?;
            (
                render_as(&r, csv, render::figures_csv)?,
                serde_json::json!({"year": year.get()}),
            )
        }
        ReportKind::Att => {
            let year = input::year(args.year.as_deref()).map_err(describe)?;
            let direction = input::direction(args.direction.as_deref()).map_err(describe)?;
            let r = reports::att(c, &scope, year, direction).map_err(describe)?;
            let detail = serde_json::json!({"year": year.get(), "direction": direction});
            (render_as(&r, csv, render::att_csv)?, detail)
        }
        ReportKind::Sdg => {
            let period =
                input::period(args.from.as_deref(), args.to.as_deref()).map_err(describe)?;
            let r = reports::sdg(c, &scope, period).map_err(describe)?;
            let detail = serde_json::json!({"from": period.from, "to": period.to});
            (render_as(&r, csv, render::figures_csv)?, detail)
        }
    };
    progress.step("recording the read");
    let mut detail = detail;
    detail["report"] = serde_json::json!(name);
    detail["country"] = serde_json::json!(scope.country());
    detail["format"] = serde_json::json!(args.format);
    let actor = crate::audit::AuditActor {
        username: Some(whoami()),
        request_id: format!("cli-{}", uuid::Uuid::now_v7()),
        ..Default::default()
    };
    let entry = crate::audit::reads::entry("report.read", "reports", detail);
    crate::db::write_tx(c, |c| crate::audit::queue(c, &actor, vec![entry])).map_err(describe)?;
    progress.finish();
    println!("{body}");
    Ok(())
}

fn render_as<T: serde::Serialize>(
    report: &T,
    csv: bool,
    as_csv: fn(&T) -> crate::error::AppResult<Vec<u8>>,
) -> Result<String, String> {
    if csv {
        let bytes = as_csv(report).map_err(describe)?;
        return Ok(String::from_utf8_lossy(&bytes).trim_end().to_string());
    }
    serde_json::to_string_pretty(report).map_err(|e| e.to_string())
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("REGISTRY_NEW_USER_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (at least {} characters):", Password::MIN_CHARS);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The operating-system user running the command line, for the audit log.
fn whoami() -> String {
    let name = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{name}")
}

fn create_user(args: CreateUserArgs, settings: &Settings) -> Result<(), String> {
    let username = Username::parse(&args.username).map_err(|e| format!("username {e}"))?;
    let roles = Roles::parse(&args.roles)?;
    let only_system_admin = roles.iter().all(|r| r == Role::SystemAdmin);
    if args.agency_id.is_none() && !only_system_admin {
        return Err("--agency-id is required for any role but system_admin".into());
    }
    let agency_id = args
        .agency_id
        .map(|a| uuid::Uuid::parse_str(&a).map(|u| u.to_string()))
        .transpose()
        .map_err(|_| "--agency-id must be a UUID".to_string())?;
    let password = Password::parse(&read_password()?).map_err(|e| format!("password {e}"))?;
    let pool = open_database(settings)?;
    let new = NewUser {
        username,
        password,
        agency_id,
        roles,
        must_change_password: false,
    };
    let actor = crate::audit::AuditActor {
        username: Some(whoami()),
        request_id: format!("cli-{}", uuid::Uuid::now_v7()),
        ..Default::default()
    };
    let row = actix_web::rt::System::new()
        .block_on(accounts::insert_user(&pool, &actor, new))
        .map_err(|e| match e {
            crate::error::AppError::Validation(errs) => errs
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })?;
    println!("created user {} ({})", row.username, row.id);
    Ok(())
}
