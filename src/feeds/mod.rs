//! Getting feeds in: fetch (conditional GET, limits) → charset → repair →
//! parse (feed-rs) → normalise into [`normalize::Item`]s.

pub mod cap;
pub mod charset;
pub mod dates;
pub mod discover;
pub mod fetch;
pub mod guard;
pub mod hints;
pub mod hosts;
pub mod normalize;
pub mod parse;
pub mod repair;
