//! A stored time as operators see it, in the API and on pages alike: RFC 3339, UTC,
//! milliseconds.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

/// In the API's schema: an RFC 3339 time, as it is serialised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, utoipa::ToSchema)]
pub struct Stamp(pub DateTime<Utc>);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
