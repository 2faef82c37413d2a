//! The integration tests: one binary that runs storywatch as a user does
//! (real HTTP servers on 127.0.0.1, real files, real signals).

mod common;

mod article_eval;
mod cli;
mod commands;
mod crash;
mod database;
mod delivery;
mod email;
mod eval_matching;
mod faults;
mod feed_cap;
mod feed_fixtures;
mod full_text;
mod neardup_eval;
mod poll_http;
mod report;
mod service;
mod store_faults;
mod stories_cli;
mod tls;
mod upgrade;
