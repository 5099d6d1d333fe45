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
    }
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
    };
    let row = actix_web::rt::System::new()
        .block_on(accounts::insert_user(&pool, new))
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
