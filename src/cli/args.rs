//! What the command line accepts: every command, its options and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::telemetry::LogFormat;

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
