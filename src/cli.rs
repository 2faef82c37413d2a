//! The command line: argument parsing, command dispatch and exit codes.
//! Exit codes: 0 success, 1 runtime failure (store cannot be opened, …),
//! 2 configuration or usage error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::poll::{self, PollError, PollOptions};
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "storywatch",
    version,
    about = "Watches news feeds for follow-ups on the stories you care about"
)]
pub struct Cli {
    /// Config file [default: $STORYWATCH_CONFIG, else config/storywatch.toml]
    #[arg(
        long,
        short,
        global = true,
        env = "STORYWATCH_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Log level for storywatch's own messages (RUST_LOG overrides)
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL")]
    pub log_level: String,
    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll every feed once, store new items and print a summary
    Poll {
        /// Poll only this feed
        #[arg(long, value_name = "NAME")]
        feed: Option<String>,
        /// Print one JSON object instead of the table
        #[arg(long)]
        json: bool,
        /// Fetch and parse, but write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the config file and print a summary
    CheckConfig,
}

/// A failed command and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn config(e: impl std::fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: e.to_string(),
        }
    }
    fn runtime(e: impl std::fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.log_level, cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("storywatch: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let path = config::resolve_path(cli.config.as_deref());
    let config = Config::load(&path).map_err(Failure::config)?;
    match cli.command {
        Command::CheckConfig => {
            print!("{}", describe(&config));
            Ok(())
        }
        Command::Poll {
            feed,
            json,
            dry_run,
        } => {
            let opts = PollOptions {
                feed,
                dry_run,
                progress: !json && std::io::stderr().is_terminal(),
            };
            let rt = runtime()?;
            let summary = rt
                .block_on(poll::poll_once(&config, &opts))
                .map_err(|e| match e {
                    PollError::UnknownFeed(_) => Failure::config(e),
                    other => Failure::runtime(other),
                })?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&summary).map_err(Failure::runtime)?
                );
            } else {
                print!("{}", summary.render());
                if dry_run {
                    println!("(dry run: nothing was written)");
                }
            }
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

/// The `check-config` summary.
fn describe(c: &Config) -> String {
    let mut out = format!("config OK: {}\n", c.path.display());
    out.push_str(&format!("storage: {}\n", c.storage.path.display()));
    out.push_str(&format!(
        "poll: every {} by default, {} feeds at once, {} per host, timeout {}, max body {} bytes\n",
        humantime::format_duration(c.poll.interval),
        c.poll.concurrency,
        c.poll.per_host,
        humantime::format_duration(c.poll.timeout),
        c.poll.max_body
    ));
    out.push_str(&format!("user agent: {}\n", c.poll.user_agent));
    out.push_str(&format!("feeds: {}\n", c.feeds.len()));
    for f in &c.feeds {
        out.push_str(&format!(
            "  {}  every {}  {}\n",
            f.name,
            humantime::format_duration(f.interval),
            crate::pipeline::redact(&f.url)
        ));
    }
    out
}
