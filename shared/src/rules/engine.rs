//! The compiled rule set: every active rule in one matcher, so that the cost per event does
//! not grow with the number of rules.
//!
//! `contains` patterns go into one aho-corasick automaton (all overlapping matches are
//! collected, because the lowest-priority rule wins, not the leftmost match), `regex`
//! patterns into a literal-prefiltered index (see `prefilter`), and `oid_prefix` rules into
//! a map keyed by OID, probed with each whole-arc prefix of the event's OID. Candidates are
//! then filtered by v2.5's branch and severity rules and the best (lowest priority, then
//! lowest id) wins.

use super::model::{MatchType, Rule, RuleError};
use super::prefilter::RegexIndex;
use crate::event::Severity;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

/// The parts of an event that rules look at.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventView<'a> {
    pub message: &'a str,
    pub trap_oid: Option<&'a str>,
    pub syslog_severity: Option<Severity>,
}

/// What the engine decided for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict<'r> {
    Matched(&'r Rule),
    Unmatched,
}

/// The active rules, compiled.
#[derive(Debug)]
pub struct RuleSet {
    /// Active rules sorted by (priority, id): a rule's index is its rank.
    rules: Vec<Rule>,
    contains: Option<AhoCorasick>,
    /// For each aho-corasick pattern, the ranks of the rules that use it.
    contains_rules: Vec<Vec<usize>>,
    regexes: RegexIndex,
    /// Normalised OID (no leading dot) → ranks of `oid_prefix` rules with that OID.
    oid_prefixes: HashMap<String, Vec<usize>>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn normalise_oid(oid: &str) -> &str {
    oid.strip_prefix('.').unwrap_or(oid)
}

impl RuleSet {
    /// Compiles the active rules among `rules`. An invalid rule fails the whole set, so
    /// that the caller keeps its previous set and reports the rule (the web UI refuses
    /// such rules, so this means the database was edited behind its back).
    pub fn compile(rules: impl IntoIterator<Item = Rule>) -> Result<Self, RuleError> {
        let mut rules: Vec<Rule> = rules.into_iter().filter(|r| r.is_active).collect();
        rules.sort_by_key(|r| (r.priority, r.id));
        for rule in &rules {
            rule.validate()?;
        }

        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        let mut contains_rules: Vec<Vec<usize>> = Vec::new();
        let mut regex_patterns: Vec<(usize, &str)> = Vec::new();
        let mut oid_prefixes: HashMap<String, Vec<usize>> = HashMap::new();
        for (rank, rule) in rules.iter().enumerate() {
            if let (MatchType::OidPrefix, Some(oid)) = (rule.match_type, present(&rule.trap_oid)) {
                oid_prefixes
                    .entry(normalise_oid(oid).to_owned())
                    .or_default()
                    .push(rank);
            }
            match (rule.match_type, present(&rule.match_string)) {
                (MatchType::Contains, Some(text)) => {
                    let lowered = text.to_lowercase();
                    let id = *pattern_index.entry(lowered.clone()).or_insert_with(|| {
                        patterns.push(lowered);
                        contains_rules.push(Vec::new());
                        patterns.len() - 1
                    });
                    contains_rules[id].push(rank);
                }
                (MatchType::Regex, Some(pattern)) => regex_patterns.push((rank, pattern)),
                _ => {}
            }
        }
        let regexes = RegexIndex::build(&regex_patterns).map_err(|(rank, message)| {
            RuleError::InvalidRegex {
                rule_id: rules[rank].id,
                message,
            }
        })?;
        let contains = if patterns.is_empty() {
            None
        } else {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns);
            Some(automaton.map_err(|e| RuleError::TooLarge(e.to_string()))?)
        };
        Ok(Self {
            rules,
            contains,
            contains_rules,
            regexes,
            oid_prefixes,
        })
    }

    /// The active rules, best first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule for `event`: v2.5's semantics with mutt-rs's decisions (docs/compatibility.md).
    pub fn evaluate(&self, event: &EventView<'_>) -> Verdict<'_> {
        let event_oid = event.trap_oid.filter(|o| !o.is_empty()).map(normalise_oid);
        let mut best: Option<usize> = None;
        let mut consider = |rank: usize| {
            if best.is_none_or(|b| rank < b) {
                best = Some(rank);
            }
        };

        // OID branch: an event with a trap_oid is compared with rules that have one, on
        // whole arcs; such rules are then not looked at as text rules.
        if let Some(oid) = event_oid {
            let mut end = 0;
            for arc in oid.split('.') {
                end += arc.len();
                if let Some(ranks) = self.oid_prefixes.get(&oid[..end]) {
                    ranks.iter().copied().for_each(&mut consider);
                }
                end += 1;
            }
        }

        if !event.message.is_empty() {
            let text_rule_applies = |rank: usize| {
                let rule = &self.rules[rank];
                let in_oid_branch = event_oid.is_some() && present(&rule.trap_oid).is_some();
                let severity_ok = rule
                    .syslog_severity
                    .is_none_or(|s| Some(s) == event.syslog_severity);
                !in_oid_branch && severity_ok
            };
            let lowered = event.message.to_lowercase();
            if let Some(automaton) = &self.contains {
                for m in automaton.find_overlapping_iter(&lowered) {
                    for &rank in &self.contains_rules[m.pattern().as_usize()] {
                        if text_rule_applies(rank) {
                            consider(rank);
                        }
                    }
                }
            }
            self.regexes
                .matches(event.message, &lowered, text_rule_applies, &mut consider);
        }

        match best {
            Some(rank) => Verdict::Matched(&self.rules[rank]),
            None => Verdict::Unmatched,
        }
    }
}
