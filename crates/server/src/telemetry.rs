//! Logging setup: human-readable or JSON lines, filtered by `LOG_LEVEL`.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Logs go to stderr so stdout stays for command output.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::builder().parse_lossy(level);
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never into files or log collectors.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed or full stderr must not bring the server down (the library would panic).
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
