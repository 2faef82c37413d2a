//! The command line: argument parsing, command dispatch and exit codes.
//! Exit codes: 0 success, 1 runtime failure (store cannot be opened, …),
//! 2 configuration or usage error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::alerts::ops;
use crate::commands;
use crate::config::{self, Config};
use crate::poll::{self, PollError, PollOptions};
use crate::service;
use crate::store::AlertFilter;
use crate::subscriptions;
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
    /// Run as a service: poll each feed when due and deliver alerts, until SIGTERM/SIGINT
    Run,
    /// Validate the config file and print a summary
    CheckConfig,
    /// Feeds: health, resuming paused ones, OPML import and export
    Feeds {
        #[command(subcommand)]
        command: FeedsCommand,
    },
    /// Stories: their reference articles and derived watchlists
    Story {
        #[command(subcommand)]
        command: StoryCommand,
    },
    /// Explain why a stored item (id, link or canonical URL) matched a story or not;
    /// a URL not in the store is fetched and scored
    Explain {
        #[arg(value_name = "ITEM|URL")]
        item: String,
        /// One JSON object per item
        #[arg(long)]
        json: bool,
    },
    /// Extract the article from a saved page or URL: title, canonical URL,
    /// published, authors, language and main text (works without a config)
    Extract {
        #[arg(value_name = "PATH|URL")]
        source: String,
        /// One JSON object with those keys; `text` has blank lines between paragraphs
        #[arg(long)]
        json: bool,
    },
    /// Alerts raised so far
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Stored items, newest first: find one to `explain` or give `feedback` on
    Items {
        /// Only items whose title or text contains these words (case and accents ignored)
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only items of this feed
        #[arg(long, value_name = "NAME")]
        feed: Option<String>,
        /// Only items this story matched, with their scores
        #[arg(long, value_name = "ID")]
        story: Option<String>,
        /// Items first seen within this period
        #[arg(long, default_value = "30d", value_parser = parse_duration)]
        since: std::time::Duration,
        /// At most this many items
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per item
        #[arg(long)]
        json: bool,
    },
    /// A story's page as one self-contained HTML file: timeline, copies, names, near misses
    Report {
        #[arg(long, value_name = "ID")]
        story: String,
        /// Alerts raised within this period
        #[arg(long, default_value = "30d", value_parser = parse_duration)]
        since: std::time::Duration,
        /// Write the page here (default: standard output)
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// A consistent copy of the database, taken while `run` goes on writing
    Backup {
        /// Where the copy goes (replaced only once the new copy is checked)
        file: PathBuf,
    },
    /// The database file itself
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Recent clusters of near-duplicate items, with their members and sources
    Clusters {
        /// Only clusters that matched this story
        #[arg(long, value_name = "ID")]
        story: Option<String>,
        /// At most this many clusters
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Say whether an alerted or stored item is a follow-up of a story; the story learns from it
    Feedback {
        /// An alert id, item id, link or canonical URL
        #[arg(value_name = "ALERT_OR_ITEM")]
        item: String,
        /// relevant (a follow-up) or irrelevant (not this story)
        #[arg(value_parser = ["relevant", "irrelevant"])]
        verdict: String,
        /// The story (default: the alert's, or the only one the item matched)
        #[arg(long, value_name = "ID")]
        story: Option<String>,
    },
    /// Re-run matching over stored items with the current config and show what changed
    Rescore {
        /// Only this story
        #[arg(long, value_name = "ID")]
        story: Option<String>,
        /// Items first seen within this period
        #[arg(long, default_value = "7d", value_parser = parse_duration)]
        since: std::time::Duration,
        /// Show the changes only (the default)
        #[arg(long, conflicts_with = "apply")]
        dry_run: bool,
        /// Store the new results and queue the alerts they raise
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Check every page and index (SQLite's integrity_check); exit 3 when damaged
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Every feed's health: status, last success, next poll, error streak, last error
    List {
        /// One JSON object per feed
        #[arg(long)]
        json: bool,
    },
    /// Poll a feed again that was paused after too many failures
    Resume { name: String },
    /// Print `[[feed]]` tables for the subscriptions in an OPML file (for an include file)
    ImportOpml {
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Print the configured feeds as OPML
    ExportOpml,
    /// Print the `[[feed]]` table for a feed URL, or for the feed a web page announces
    Add {
        #[arg(value_name = "URL")]
        url: String,
        /// The feed's name (default: from its title)
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoryCommand {
    /// Print a story's derived watchlist: entities, aliases, weights, origins, events
    Show { id: String },
    /// List the stories
    List,
    /// Store another reference article (a file, or a URL to fetch) for a story
    Add {
        #[arg(long)]
        id: String,
        #[arg(value_name = "PATH|URL")]
        source: String,
    },
    /// Forget a story kept in the database (its alerts and matches stay)
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first
    List {
        /// One `storywatch.alert.v1` JSON object per line
        #[arg(long)]
        json: bool,
        /// At most this many
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Only alerts of this story
        #[arg(long, value_name = "ID")]
        story: Option<String>,
        /// Only alerts of this kind
        #[arg(long, value_enum)]
        kind: Option<crate::alerts::AlertKind>,
        /// Only alerts a sink refused or gave up on
        #[arg(long, conflicts_with = "pending")]
        failed: bool,
        /// Only alerts still waiting to be delivered somewhere
        #[arg(long)]
        pending: bool,
    },
    /// Queue failed deliveries again (resuming paused sinks) and send them now
    Retry {
        /// The alert's id
        #[arg(
            value_name = "ID",
            required_unless_present = "all_failed",
            conflicts_with = "all_failed"
        )]
        id: Option<String>,
        /// Every failed or given-up delivery
        #[arg(long)]
        all_failed: bool,
    },
    /// Send a clearly marked test alert to one sink
    Test {
        #[arg(value_name = "SINK")]
        sink: String,
    },
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
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
    /// The database cannot be used now: held by another storywatch,
    /// locked, corrupt, or from a newer version.
    fn database(e: impl std::fmt::Display) -> Failure {
        Failure {
            code: 3,
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
            if !f.message.is_empty() {
                use std::io::Write;
                // A closed stderr must not turn a failure into a panic.
                let _ = writeln!(std::io::stderr(), "storywatch: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

/// Writes to standard output. A reader that stopped reading (`| head`) ends
/// the command quietly and successfully, as it asked; any other failed
/// write (a full disk) is a failure of the command. Neither panics.
fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Failure {
                code: 0,
                message: String::new(),
            },
            _ => Failure {
                code: 1,
                message: format!("cannot write to standard output: {e}"),
            },
        })
}

macro_rules! say {
    ($($arg:tt)*) => { emit(&format!($($arg)*))? };
}

macro_rules! sayln {
    ($($arg:tt)*) => { emit(&(format!($($arg)*) + "\n"))? };
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let path = config::resolve_path(cli.config.as_deref());
    if let Command::Extract { source, json } = &cli.command {
        // A config only lends its [poll] limits to URL fetches; without one
        // the defaults apply, so a saved page can be checked anywhere.
        let config = if cli.config.is_some() || path.exists() {
            Config::load(&path).map_err(Failure::config)?
        } else {
            Config::from_toml("", &path).map_err(Failure::config)?
        };
        let out = runtime()?
            .block_on(commands::extract(&config, source, *json))
            .map_err(command_failure)?;
        say!("{out}");
        return Ok(());
    }
    let config = Config::load(&path).map_err(Failure::config)?;
    crate::matching::gazetteer::install(&config.matching.user_data).map_err(Failure::config)?;
    match cli.command {
        Command::CheckConfig => {
            let found = crate::preflight::check(&config);
            if !found.ok() {
                return Err(Failure::config(format!(
                    "{}: the config is valid, but poll and run would not start:\n  {}",
                    config.path.display(),
                    found.problems.join("\n  ")
                )));
            }
            say!("{}", commands::check_config(&config));
            for note in &found.notes {
                sayln!("note: {note}");
            }
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
                    e if e.database_unusable() => Failure::database(e),
                    PollError::UnknownFeed(_) | PollError::Story(_) | PollError::Sink(_) => {
                        Failure::config(e)
                    }
                    other => Failure::runtime(other),
                })?;
            if json {
                sayln!(
                    "{}",
                    serde_json::to_string(&summary).map_err(Failure::runtime)?
                );
            } else {
                say!("{}", summary.render());
                if dry_run {
                    sayln!("(dry run: nothing was written)");
                }
            }
            Ok(())
        }
        Command::Feeds { command } => {
            let out = match command {
                FeedsCommand::List { json } => subscriptions::list(&config, json),
                FeedsCommand::Resume { name } => subscriptions::resume(&config, &name),
                FeedsCommand::ImportOpml { file } => subscriptions::import_opml(&config, &file),
                FeedsCommand::ExportOpml => Ok(subscriptions::export_opml(&config)),
                FeedsCommand::Add { url, name } => {
                    runtime()?.block_on(subscriptions::add(&config, &url, name.as_deref()))
                }
            }
            .map_err(|e| {
                if e.database_unusable() {
                    Failure::database(e)
                } else if e.is_usage() {
                    Failure::config(e)
                } else {
                    Failure::runtime(e)
                }
            })?;
            say!("{out}");
            Ok(())
        }
        Command::Story { command } => {
            let out = match command {
                StoryCommand::Show { id } => commands::story_show(&config, &id),
                StoryCommand::List => commands::story_list(&config),
                StoryCommand::Remove { id } => commands::story_remove(&config, &id),
                StoryCommand::Add { id, source } => {
                    runtime()?.block_on(commands::story_add(&config, &id, &source))
                }
            };
            say!("{}", out.map_err(command_failure)?);
            Ok(())
        }
        Command::Extract { .. } => unreachable!("handled before the config is loaded"),
        Command::Explain { item, json } => {
            let out = runtime()?
                .block_on(commands::explain(&config, &item, json))
                .map_err(command_failure)?;
            say!("{out}");
            Ok(())
        }
        Command::Alerts { command } => match command {
            AlertsCommand::List {
                json,
                limit,
                story,
                kind,
                failed,
                pending,
            } => {
                let delivery: Option<&'static [&'static str]> = if failed {
                    Some(&["failed", "dead"])
                } else if pending {
                    Some(&["pending"])
                } else {
                    None
                };
                let filter = AlertFilter {
                    story,
                    kind,
                    limit,
                    delivery,
                };
                say!(
                    "{}",
                    commands::alerts_list(&config, &filter, json).map_err(command_failure)?
                );
                Ok(())
            }
            AlertsCommand::Retry { id, all_failed: _ } => {
                let out = runtime()?
                    .block_on(ops::retry(&config, id.as_deref()))
                    .map_err(ops_failure)?;
                say!("{out}");
                Ok(())
            }
            AlertsCommand::Test { sink } => {
                let out = runtime()?
                    .block_on(ops::test(&config, &sink))
                    .map_err(ops_failure)?;
                say!("{out}");
                Ok(())
            }
        },
        Command::Run => {
            let rt = runtime()?;
            rt.block_on(service::run(&path, config))
                .map_err(|e| match e {
                    e if e.database_unusable() => Failure::database(e),
                    service::ServiceError::Story(_) | service::ServiceError::Sink(_) => {
                        Failure::config(e)
                    }
                    other => Failure::runtime(other),
                })
        }
        Command::Items {
            search,
            feed,
            story,
            since,
            limit,
            json,
        } => {
            let query = commands::ItemQuery {
                search,
                feed,
                story,
                since,
                limit,
            };
            emit(&commands::items(&config, &query, json).map_err(command_failure)?)?;
            Ok(())
        }
        Command::Report { story, since, out } => {
            emit(
                &commands::report(&config, &story, since, out.as_deref())
                    .map_err(command_failure)?,
            )?;
            Ok(())
        }
        Command::Backup { file } => {
            say!(
                "{}",
                commands::backup(&config, &file).map_err(command_failure)?
            );
            Ok(())
        }
        Command::Db {
            command: DbCommand::Check { json },
        } => {
            let (text, sound) = commands::db_check(&config, json).map_err(command_failure)?;
            say!("{text}");
            if sound {
                Ok(())
            } else {
                Err(Failure::database(""))
            }
        }
        Command::Clusters { story, limit } => {
            say!(
                "{}",
                commands::clusters(&config, story.as_deref(), limit).map_err(command_failure)?
            );
            Ok(())
        }
        Command::Feedback {
            item,
            verdict,
            story,
        } => {
            say!(
                "{}",
                commands::feedback(&config, &item, verdict == "relevant", story.as_deref())
                    .map_err(command_failure)?
            );
            Ok(())
        }
        Command::Rescore {
            story,
            since,
            dry_run: _,
            apply,
        } => {
            say!(
                "{}",
                commands::rescore(&config, story.as_deref(), since, apply)
                    .map_err(command_failure)?
            );
            Ok(())
        }
    }
}

fn command_failure(e: commands::CommandError) -> Failure {
    if e.database_unusable() {
        Failure::database(e)
    } else if e.is_usage() {
        Failure::config(e)
    } else {
        Failure::runtime(e)
    }
}

fn ops_failure(e: ops::OpsError) -> Failure {
    if e.database_unusable() {
        Failure::database(e)
    } else if e.is_usage() {
        Failure::config(e)
    } else {
        Failure::runtime(e)
    }
}

/// The async runtime: one worker per core, and a blocking pool sized to the
/// blocking work the pipeline lets run at once (one parse per core, the
/// store writer, and one more for name lookups and files). Tokio's default
/// of 512 threads started new ones whenever a task was handed over before
/// the last one was idle again; a cold poll ended with nine or ten threads,
/// each keeping its own malloc arena and stack (2–3 MiB more resident).
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores + 2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}
