use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

/// Structured logs through `tracing`, filtered by `RUST_LOG` (default
/// `info`). `REGISTRY_LOG_FORMAT=json` gives one JSON object per line.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
