//! What to do with one event, without IO: which rule, which
//! environment, which handling, whether to forward, and whether a silence quiets it. The alerter routes every event with
//! it; the web UI's `POST /rules/test` answers with the same code, so a test can never
//! disagree with what the alerter will do.

use super::{
    EventView, Rule, RuleError, RuleSet, Silence, SilenceError, SilenceSet, SilenceView, Verdict,
};
use crate::event::Event;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Everything the alerter routes with: the active rules, the development hosts, the
/// device teams and the silences that have not ended (read from PostgreSQL by `store::rules::load_routing`; this module does no
/// IO).
#[derive(Clone, Debug, Default)]
pub struct RoutingData {
    pub rules: Vec<Rule>,
    pub dev_hosts: HashSet<String>,
    pub teams: HashMap<String, String>,
    pub silences: Vec<Silence>,
}

/// The handlings that send an alert to Moog (compared case-insensitively).
const FORWARDING_HANDLINGS: [&str; 3] = ["page_and_ticket", "page_only", "ticket_only"];

/// One consistent view of the routing data: compiled rules, dev hosts, teams, silences.
#[derive(Debug)]
pub struct Snapshot {
    pub rules: RuleSet,
    pub dev_hosts: HashSet<String>,
    pub teams: HashMap<String, String>,
    pub silences: SilenceSet,
}

/// Why routing data cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error(transparent)]
    Silence(#[from] SilenceError),
}

impl Snapshot {
    pub fn empty() -> Self {
        Self {
            rules: RuleSet::compile([]).expect("an empty rule set compiles"),
            dev_hosts: HashSet::new(),
            teams: HashMap::new(),
            silences: SilenceSet::empty(),
        }
    }

    /// Compiles what `store::rules::load_routing` read.
    pub fn compile(data: RoutingData) -> Result<Self, CompileError> {
        Ok(Self {
            rules: RuleSet::compile(data.rules)?,
            dev_hosts: data.dev_hosts,
            teams: data.teams,
            silences: SilenceSet::compile(data.silences)?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Prod,
    Dev,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Dev => "dev",
        }
    }
}

/// The routing decision for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'s> {
    Handled {
        rule: &'s Rule,
        environment: Environment,
        handling: &'s str,
        forward: bool,
    },
    Unhandled,
}

impl<'s> Decision<'s> {
    /// The rule that matched, if any.
    pub fn rule(&self) -> Option<&'s Rule> {
        match self {
            Decision::Handled { rule, .. } => Some(rule),
            Decision::Unhandled => None,
        }
    }
}

/// Whether a handling text means "send to Moog".
pub fn forwards(handling: &str) -> bool {
    FORWARDING_HANDLINGS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(handling.trim()))
}

pub fn decide<'s>(snapshot: &'s Snapshot, event: &Event) -> Decision<'s> {
    let view = EventView {
        message: &event.message,
        trap_oid: event.trap_oid.as_deref(),
        syslog_severity: event.syslog_severity,
    };
    match snapshot.rules.evaluate(&view) {
        Verdict::Unmatched => Decision::Unhandled,
        Verdict::Matched(rule) => {
            // v2.5: exact, case-sensitive hostname comparison.
            let environment = if snapshot.dev_hosts.contains(&event.hostname) {
                Environment::Dev
            } else {
                Environment::Prod
            };
            let handling = match environment {
                Environment::Dev => rule.dev_handling.as_str(),
                Environment::Prod => rule.prod_handling.as_str(),
            };
            Decision::Handled {
                rule,
                environment,
                handling,
                forward: forwards(handling),
            }
        }
    }
}

/// The silence that quiets `event` at `now`, given what was decided for it. A silence's
/// team is the team the event would go to: its rule's, or for an unmatched event the
/// device team of its host (where an unhandled meta-alert would go).
pub fn silenced_by(
    snapshot: &Snapshot,
    event: &Event,
    decision: &Decision<'_>,
    now: DateTime<Utc>,
) -> Option<i32> {
    if snapshot.silences.is_empty() {
        return None;
    }
    let (rule_id, team) = match decision.rule() {
        Some(rule) => (Some(rule.id), Some(rule.team_assignment.as_str())),
        None => (
            None,
            snapshot.teams.get(&event.hostname).map(String::as_str),
        ),
    };
    snapshot.silences.find(
        &SilenceView {
            hostname: &event.hostname,
            team,
            rule_id,
            message: &event.message,
        },
        now,
    )
}
