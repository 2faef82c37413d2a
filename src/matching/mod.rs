//! Matching items against stories. Pure functions of their inputs: no I/O,
//! no clock. `watchlist` derives what a story is about from its reference
//! article; `matcher` compiles it into one automaton and explains each
//! score; `score` is the formula; `entities`, `text` and `gazetteer` (the
//! data files of `data/`) are the language parts.

pub mod entities;
pub mod gazetteer;
pub mod matcher;
pub mod novelty;
pub mod scan;
pub mod score;
pub mod terms;
pub mod text;
pub mod watchlist;

pub use matcher::{Draft, Explanation, Matcher};
pub use terms::{CorpusStats, UniformCorpus};
pub use watchlist::Watchlist;
