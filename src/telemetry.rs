//! Logging setup. Logs go to stderr (stdout carries command output); human
//! format with colours on a terminal, plain in pipes, plain without
//! timestamps and with syslog priority prefixes under journald
//! (`$JOURNAL_STREAM`), JSON lines with `--log-format json`. `RUST_LOG`
//! overrides the level.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Installs the global subscriber; `level` is the default for storywatch's own
/// events (others stay at `warn`).
pub fn init(level: &str, format: LogFormat) {
    // html5ever warns about markup it tolerates ("foster parenting not
    // implemented"); on real news pages that is noise, not news.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,html5ever=error,storywatch={level}")));
    let stderr_tty = std::io::stderr().is_terminal();
    // journald adds its own timestamps.
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr a closed pipe) is
        // dropped: the subscriber's own report of it would go to stderr
        // through `eprintln!`, which panics the task that logged.
        .log_internal_errors(false)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human if under_journald => builder
            .event_format(SyslogPriority(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_target(false)
                    .with_ansi(false),
            ))
            .try_init(),
        LogFormat::Human => builder.with_ansi(stderr_tty).try_init(),
    };
}

/// Prefixes each line with its syslog priority (`<3>` error … `<7>` debug),
/// which journald reads from a service's stderr to set the entry's level.
struct SyslogPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for SyslogPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}
