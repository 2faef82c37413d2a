//! The command line: command dispatch and exit codes (the arguments are in
//! `args.rs`). Exit codes: 0 success, 1 runtime failure (store cannot be
//! opened, …), 2 configuration or usage error, 3 a database that cannot be
//! used as it is (held by another process, locked, damaged, newer).

mod args;

pub use args::{AlertsCommand, Cli, Command, DbCommand, FeedsCommand, StoryCommand};

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::alerts::ops;
use crate::commands;
use crate::config::{self, Config};
use crate::poll::{self, PollError, PollOptions};
use crate::service;
use crate::store::AlertFilter;
use crate::subscriptions;
use crate::telemetry;

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
    /// Exit 3 for an unusable database, 2 for a usage error, else 1.
    fn classified(e: impl std::fmt::Display, unusable: bool, usage: bool) -> Failure {
        match (unusable, usage) {
            (true, _) => Failure::database(e),
            (false, true) => Failure::config(e),
            (false, false) => Failure::runtime(e),
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
                let (unusable, usage) = (e.database_unusable(), e.is_usage());
                Failure::classified(e, unusable, usage)
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
    let (unusable, usage) = (e.database_unusable(), e.is_usage());
    Failure::classified(e, unusable, usage)
}

fn ops_failure(e: ops::OpsError) -> Failure {
    let (unusable, usage) = (e.database_unusable(), e.is_usage());
    Failure::classified(e, unusable, usage)
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
