//! Alerts: what storywatch tells its users. An alert is written as a row in
//! the same transaction as the item and match that caused it; delivery comes
//! later and reads these rows.

pub mod answer;
pub mod deliver;
pub mod email;
pub mod feed_health;
pub mod format;
pub mod kind;
pub mod ops;
pub mod payload;
pub mod raise;
pub mod route;
pub mod secrets;
pub mod sign;
pub mod sink;

pub use kind::AlertKind;
pub use payload::{alert_id, AlertItem, AlertPayload, Matched, NewEntity, ALERT_TYPE};
pub use raise::RaisedAlert;
