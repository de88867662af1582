//! Alert rules and the engine that picks the rule for an event.
//!
//! Pure: no IO. The alerter compiles the active rules into a [`RuleSet`] when its cache
//! loads; the web UI validates a rule with the same compiler before storing it.

mod engine;
mod model;
mod prefilter;
mod silence;

pub mod routing;

pub use engine::{EventView, RuleSet, Verdict};
pub use model::{MatchType, Rule, RuleError, compile_pattern};
pub use routing::RoutingData;
pub use silence::{Silence, SilenceError, SilenceSet, SilenceView};

#[cfg(test)]
mod tests;
