//! "What would this rule change have done?": a draft rules file run over the alerters'
//! sample of recent events (`mutt:backtest_sample`, written by `alerter::sample`), beside
//! the live rules, with the alerter's own routing code.
//!
//! The report says, per draft rule, how many sampled events it would take, and which
//! decisions change (rule, handling, forwarded or not) with examples of each. Silences
//! are left out on both sides: a backtest compares rules. The draft's rules keep the ids
//! of the stored rules they are (matched as an import matches them); new ones get
//! negative ids in the report's decisions.

use super::AppState;
use super::rule_file::{Entry, entries, resolve};
use crate::error::ApiError;
use serde::Serialize;
use shared::event::{Event, Severity};
use shared::rules::routing::{Decision, RoutingData, Snapshot, decide};
use shared::rules::{MatchType, Rule};
use shared::store::api_keys::Scope;
use shared::store::hosts;
use shared::store::rules::{RuleValues, StoredRule};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Examples kept per changed decision.
const EXAMPLES: usize = 3;

/// What a rule set decides for an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The rule that matched; negative for a rule new in the draft; none when unhandled.
    pub rule_id: Option<i32>,
    pub rule_name: Option<String>,
    /// The handling, or `unhandled`.
    pub handling: String,
    pub forwarded: bool,
    /// The team its alert would go to.
    pub team: Option<String>,
}

impl Outcome {
    /// The same decision, whatever the rule is called.
    fn same_as(&self, other: &Outcome) -> bool {
        (self.rule_id, &self.handling, self.forwarded, &self.team)
            == (other.rule_id, &other.handling, other.forwarded, &other.team)
    }
}

/// An event of the sample.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Example {
    pub hostname: String,
    pub message: String,
    pub timestamp: Option<String>,
    pub event_id: Option<String>,
}

/// Events whose decision the draft changes from `from` to `to`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionChange {
    pub from: Outcome,
    pub to: Outcome,
    pub events: usize,
    pub examples: Vec<Example>,
}

/// A rule of the draft, and the sampled events it would take.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DraftRule {
    pub line: usize,
    /// The stored rule it is; negative when new.
    pub id: i32,
    pub name: Option<String>,
    pub events: usize,
}

/// What the draft would have done to the sampled events.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BacktestReport {
    /// Events in the sample that could be read as events.
    pub events: usize,
    /// Sample items that are not events (never expected; counted, not fatal).
    pub unreadable: usize,
    /// In the draft's order.
    pub rules: Vec<DraftRule>,
    /// Most events first.
    pub changes: Vec<DecisionChange>,
    /// Events decided the same way.
    pub unchanged: usize,
    /// Reading the sample and deciding every event twice.
    pub elapsed_ms: f64,
}

fn engine_rule(id: i32, values: &RuleValues) -> Rule {
    Rule {
        id,
        match_string: values.match_string.clone(),
        trap_oid: values.trap_oid.clone(),
        syslog_severity: values
            .syslog_severity
            .and_then(|s| u8::try_from(s).ok())
            .and_then(Severity::new),
        match_type: MatchType::parse(&values.match_type).unwrap_or(MatchType::Contains),
        priority: values.priority,
        prod_handling: values.prod_handling.clone(),
        dev_handling: values.dev_handling.clone(),
        team_assignment: values.team_assignment.clone(),
        is_active: true,
    }
}

fn outcome(decision: &Decision<'_>, names: &HashMap<i32, Option<String>>) -> Outcome {
    match decision {
        Decision::Handled {
            rule,
            handling,
            forward,
            ..
        } => Outcome {
            rule_id: Some(rule.id),
            rule_name: names.get(&rule.id).cloned().flatten(),
            handling: (*handling).to_owned(),
            forwarded: *forward,
            team: Some(rule.team_assignment.clone()),
        },
        Decision::Unhandled => Outcome {
            rule_id: None,
            rule_name: None,
            handling: "unhandled".into(),
            forwarded: false,
            team: None,
        },
    }
}

fn example(event: &Event) -> Example {
    Example {
        hostname: event.hostname.clone(),
        message: event.message.chars().take(200).collect(),
        timestamp: event.time().map(|t| t.to_rfc3339()),
        event_id: event.event_id.map(|id| id.0.to_string()),
    }
}

/// The draft's rules with the ids they get: the stored rule's, or -1, -2, … when new.
fn draft_rules(resolved: &[(Entry, Option<&StoredRule>)]) -> Vec<(Entry, i32)> {
    let mut next_new = 0;
    resolved
        .iter()
        .map(|(entry, stored)| {
            let id = stored.map_or_else(
                || {
                    next_new -= 1;
                    next_new
                },
                |s| s.id,
            );
            (entry.clone(), id)
        })
        .collect()
}

/// Runs the decisions over `items` (pure: the sample and both rule sets are given).
fn compare(
    items: &[Vec<u8>],
    live: &Snapshot,
    draft: &Snapshot,
    names: &HashMap<i32, Option<String>>,
) -> (BacktestReport, HashMap<i32, usize>) {
    let mut report = BacktestReport {
        events: 0,
        unreadable: 0,
        rules: Vec::new(),
        changes: Vec::new(),
        unchanged: 0,
        elapsed_ms: 0.0,
    };
    let mut taken: HashMap<i32, usize> = HashMap::new();
    let mut changes: HashMap<(Outcome, Outcome), DecisionChange> = HashMap::new();
    for item in items {
        let Ok(event) = serde_json::from_slice::<Event>(item) else {
            report.unreadable += 1;
            continue;
        };
        report.events += 1;
        let after = decide(draft, &event);
        if let Some(rule) = after.rule() {
            *taken.entry(rule.id).or_default() += 1;
        }
        let before = decide(live, &event);
        let (from, to) = (outcome(&before, names), outcome(&after, names));
        if from.same_as(&to) {
            report.unchanged += 1;
            continue;
        }
        let change = changes
            .entry((from.clone(), to.clone()))
            .or_insert_with(|| DecisionChange {
                from,
                to,
                events: 0,
                examples: Vec::new(),
            });
        change.events += 1;
        if change.examples.len() < EXAMPLES {
            change.examples.push(example(&event));
        }
    }
    let mut changes: Vec<DecisionChange> = changes.into_values().collect();
    changes.sort_by(|a, b| {
        b.events
            .cmp(&a.events)
            .then(a.from.rule_id.cmp(&b.from.rule_id))
    });
    report.changes = changes;
    (report, taken)
}

/// Runs the draft rules file `text` over the sample (read scope).
pub async fn run(
    state: &AppState,
    caller: &super::Caller,
    text: &str,
) -> Result<BacktestReport, ApiError> {
    caller.require(Scope::Read)?;
    let entries = entries(text)?;
    // One connection, one read of each table: the draft's ids and names, the live rules and
    // the routing data come from the same rows.
    let conn = state.pool.get().await?;
    let stored = shared::store::rules::all(&conn).await?;
    let dev_hosts: HashSet<String> = hosts::dev_hosts(&conn)
        .await?
        .into_iter()
        .map(|h| h.hostname)
        .collect();
    let teams: HashMap<String, String> = hosts::teams(&conn)
        .await?
        .into_iter()
        .map(|t| (t.hostname, t.team_assignment))
        .collect();
    drop(conn);
    let resolved = resolve(entries, &stored).map_err(ApiError::Invalid)?;
    let drafted = draft_rules(&resolved);
    let started = Instant::now();
    let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(&state.keys.backtest_sample)
        .arg(0)
        .arg(-1)
        .query_async(&mut state.redis.clone())
        .await?;
    let mut names: HashMap<i32, Option<String>> = stored
        .iter()
        .map(|r| (r.id, r.values.name.clone()))
        .collect();
    names.extend(drafted.iter().map(|(e, id)| (*id, e.name.clone())));
    let live_data = RoutingData {
        rules: stored
            .iter()
            .filter(|r| r.values.is_active)
            .map(|r| engine_rule(r.id, &r.values))
            .collect(),
        dev_hosts,
        teams,
        silences: Vec::new(),
    };
    let draft_data = RoutingData {
        rules: drafted
            .iter()
            .map(|(e, id)| engine_rule(*id, &e.values))
            .collect(),
        ..live_data.clone()
    };
    let compiled =
        |data| Snapshot::compile(data).map_err(|e| ApiError::Internal(format!("rules: {e}")));
    let (live, draft) = (compiled(live_data)?, compiled(draft_data)?);
    let (mut report, taken) =
        tokio::task::spawn_blocking(move || compare(&items, &live, &draft, &names))
            .await
            .map_err(|e| ApiError::Internal(format!("backtest: {e}")))?;
    report.rules = drafted
        .iter()
        .map(|(e, id)| DraftRule {
            line: e.line,
            id: *id,
            name: e.name.clone(),
            events: taken.get(id).copied().unwrap_or(0),
        })
        .collect();
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}
