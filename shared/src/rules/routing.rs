//! What to do with one event, without IO: which rule, which
//! environment, which handling, whether to forward. The alerter routes every event with
//! it; the web UI's `POST /rules/test` answers with the same code, so a test can never
//! disagree with what the alerter will do.

use super::{EventView, Rule, RuleError, RuleSet, Verdict};
use crate::event::Event;
use std::collections::{HashMap, HashSet};

/// Everything the alerter routes with: the active rules, the development hosts and the
/// device teams (read from PostgreSQL by `store::rules::load_routing`; this module does no
/// IO).
#[derive(Clone, Debug, Default)]
pub struct RoutingData {
    pub rules: Vec<Rule>,
    pub dev_hosts: HashSet<String>,
    pub teams: HashMap<String, String>,
}

/// The handlings that send an alert to Moog (compared case-insensitively).
const FORWARDING_HANDLINGS: [&str; 3] = ["page_and_ticket", "page_only", "ticket_only"];

/// One consistent view of the routing data: compiled rules, dev hosts, teams.
#[derive(Debug)]
pub struct Snapshot {
    pub rules: RuleSet,
    pub dev_hosts: HashSet<String>,
    pub teams: HashMap<String, String>,
}

impl Snapshot {
    pub fn empty() -> Self {
        Self {
            rules: RuleSet::compile([]).expect("an empty rule set compiles"),
            dev_hosts: HashSet::new(),
            teams: HashMap::new(),
        }
    }

    /// Compiles what `store::rules::load_routing` read.
    pub fn compile(data: RoutingData) -> Result<Self, RuleError> {
        Ok(Self {
            rules: RuleSet::compile(data.rules)?,
            dev_hosts: data.dev_hosts,
            teams: data.teams,
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
