//! Time as stored in documents: milliseconds since the Unix epoch, UTC.

use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A moment, in milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Reconcile,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

// By hand: the derived impl does not hydrate inside an `Option`.
impl Hydrate for Timestamp {
    fn hydrate_int(i: i64) -> Result<Self, autosurgeon::HydrateError> {
        Ok(Self(i))
    }

    fn hydrate_uint(u: u64) -> Result<Self, autosurgeon::HydrateError> {
        Ok(Self(i64::try_from(u).unwrap_or(i64::MAX)))
    }

    /// A JavaScript `Date`, as a stock automerge client stores one.
    fn hydrate_timestamp(t: i64) -> Result<Self, autosurgeon::HydrateError> {
        Ok(Self(t))
    }
}

impl Timestamp {
    /// Now, from the system clock.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// As a chrono date-time, for display.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_datetime().format("%Y-%m-%d %H:%M"))
    }
}
