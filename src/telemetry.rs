//! Logging setup. Logs go to stderr (stdout carries command output); human
//! format with colours on a terminal, plain under journald or in pipes,
//! JSON lines with `--log-format json`. `RUST_LOG` overrides the level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Installs the global subscriber; `level` is the default for storywatch's own
/// events (others stay at `warn`).
pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,storywatch={level}")));
    let stderr_tty = std::io::stderr().is_terminal();
    // journald adds its own timestamps.
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human if under_journald => builder.without_time().with_ansi(false).try_init(),
        LogFormat::Human => builder.with_ansi(stderr_tty).try_init(),
    };
}
