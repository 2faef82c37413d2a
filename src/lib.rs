//! storywatch watches news feeds for follow-ups on stories its users care about.
//!
//! The pipeline, one function call per arrow (see ARCHITECTURE.md):
//!
//! ```text
//! fetch → parse → normalise → (full text) → dedup → match → store + alert
//! feeds::fetch → feeds::parse → feeds::normalize → fulltext + article → dedup → matching → store (alerts in the same transaction)
//! ```
//!
//! [`pipeline::Pipeline::poll_feed`] runs it for one feed; [`poll`] runs it
//! for every feed once. [`cli`] is what the binary calls.

pub mod alerts;
pub mod article;
pub mod backoff;
pub mod canonical;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dedup;
pub mod extract;
pub mod feeds;
pub mod fulltext;
pub mod group_commit;
pub mod health;
pub mod matching;
pub mod metrics;
pub mod neardup;
pub mod notify;
pub mod paraphrase;
pub mod pipeline;
pub mod poll;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod service;
pub mod store;
pub mod stories;
pub mod subscriptions;
pub mod supervise;
pub mod telemetry;
pub mod terminal;
pub mod tls;
