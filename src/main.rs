use clap::Parser;
use registry::{cli, config::Settings, telemetry};

fn main() -> std::process::ExitCode {
    // A missing .env is normal; the environment alone may configure us.
    let _ = dotenvy::dotenv();
    let parsed = cli::Cli::parse();
    let result = Settings::from_env().and_then(|settings| {
        telemetry::init(settings.log_json);
        cli::run(parsed, settings)
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("registry: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
