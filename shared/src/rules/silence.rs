//! Silences (maintenance windows): which silence, if any, quiets an event.
//!
//! A silence has one or more matchers, all of which must hold: a hostname (exact or a
//! glob such as `core-rtr-*`, compared case-insensitively, as DNS names are), a team, a
//! rule id and a message regex (case-insensitive and unanchored, as rule regexes are). It
//! quiets events from its start until its end; an expired silence never matches again.
//!
//! Built like the rule engine so that 1,000 silences cost an event about what ten do:
//! each silence is indexed by one of its matchers (exact hostnames, rule ids and teams in
//! hash maps, hostname globs in one `globset::GlobSet`, message-only silences in the rule
//! engine's literal-prefiltered regex index); an event looks up only the silences its
//! hostname, rule, team or message can select, and checks their other matchers (the
//! hostname never needs checking again: every silence with one is indexed by it). When
//! several silences match, the one with the lowest id is reported.

use super::model::compile_pattern;
use super::prefilter::RegexIndex;
use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::borrow::Cow;
use std::collections::HashMap;

/// A silence's matchers and window, as the alerter needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub id: i32,
    /// Exact, or a glob (`*`, `?`, `[a-z]`, `{a,b}`); case-insensitive.
    pub hostname: Option<String>,
    /// Compared exactly with the team the event would go to.
    pub team: Option<String>,
    /// The id of the rule the event matched.
    pub rule_id: Option<i32>,
    /// Searched for in the message, case-insensitively.
    pub message_regex: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Why a silence cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("needs at least one matcher: hostname, team, rule_id or message_regex")]
    NoMatcher,
    #[error("hostname: invalid glob: {0}")]
    InvalidGlob(String),
    #[error("message_regex: invalid regex: {0}")]
    InvalidRegex(String),
    #[error("ends_at must be after starts_at")]
    EndsBeforeStart,
    #[error("silence {id}: {source}")]
    Stored { id: i32, source: Box<SilenceError> },
}

/// What a silence looks at in an event.
#[derive(Clone, Copy, Debug, Default)]
pub struct SilenceView<'a> {
    pub hostname: &'a str,
    /// The team the event would be routed to: its rule's, or the device team of an
    /// unmatched event's host.
    pub team: Option<&'a str>,
    pub rule_id: Option<i32>,
    pub message: &'a str,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// A hostname glob, over lowercased hostnames. Lowercasing the pattern and the hostname
/// ourselves, rather than asking globset to ignore case, keeps globset's literal, prefix
/// and suffix strategies (a case-insensitive glob always becomes a regex, and a regex set
/// costs every event time in proportion to its globs).
fn glob(pattern: &str) -> Result<globset::Glob, SilenceError> {
    GlobBuilder::new(&pattern.to_lowercase())
        .build()
        .map_err(|e| SilenceError::InvalidGlob(e.kind().to_string()))
}

impl Silence {
    /// Checks what the database cannot: at least one matcher, a glob and a regex that
    /// compile, an end after the start.
    pub fn validate(&self) -> Result<(), SilenceError> {
        if present(&self.hostname).is_none()
            && present(&self.team).is_none()
            && self.rule_id.is_none()
            && present(&self.message_regex).is_none()
        {
            return Err(SilenceError::NoMatcher);
        }
        if let Some(pattern) = present(&self.hostname) {
            glob(pattern)?;
        }
        if let Some(pattern) = present(&self.message_regex) {
            compile_pattern(pattern).map_err(SilenceError::InvalidRegex)?;
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        Ok(())
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// Whether a hostname pattern is a glob rather than an exact name.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// `text` lowercased, borrowed when it already is (most hostnames are).
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_uppercase) || !text.is_ascii() {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// One silence, compiled: the matchers its index entry does not already guarantee.
#[derive(Debug)]
struct Compiled {
    silence: Silence,
    message: Option<regex::Regex>,
}

impl Compiled {
    /// Everything but the hostname, which the index that selected the silence has matched.
    fn matches(&self, event: &SilenceView<'_>, now: DateTime<Utc>) -> bool {
        let s = &self.silence;
        s.is_active(now)
            && s.rule_id.is_none_or(|id| event.rule_id == Some(id))
            && present(&s.team).is_none_or(|team| event.team == Some(team))
            && self
                .message
                .as_ref()
                .is_none_or(|r| r.is_match(event.message))
    }
}

/// Every silence that has not ended, compiled and indexed.
#[derive(Debug)]
pub struct SilenceSet {
    /// Sorted by id: an index is a rank, and the lowest rank wins.
    silences: Vec<Compiled>,
    /// Lowercased exact hostname → ranks.
    by_hostname: HashMap<String, Vec<usize>>,
    hostname_globs: GlobSet,
    /// For each glob of `hostname_globs`, its silence's rank.
    glob_ranks: Vec<usize>,
    by_rule: HashMap<i32, Vec<usize>>,
    by_team: HashMap<String, Vec<usize>>,
    /// Silences with nothing but a message regex.
    by_message: RegexIndex,
}

impl SilenceSet {
    pub fn empty() -> Self {
        Self::compile([]).expect("no silences compile")
    }

    /// Compiles `silences`; a silence that does not validate fails the set (the web UI
    /// refuses such silences, so this means the table was edited behind its back).
    pub fn compile(silences: impl IntoIterator<Item = Silence>) -> Result<Self, SilenceError> {
        let mut silences: Vec<Silence> = silences.into_iter().collect();
        silences.sort_by_key(|s| s.id);
        let mut compiled = Vec::with_capacity(silences.len());
        let mut by_hostname: HashMap<String, Vec<usize>> = HashMap::new();
        let mut globs = GlobSetBuilder::new();
        let mut glob_ranks = Vec::new();
        let mut by_rule: HashMap<i32, Vec<usize>> = HashMap::new();
        let mut by_team: HashMap<String, Vec<usize>> = HashMap::new();
        let mut message_only: Vec<(usize, &str)> = Vec::new();
        let stored = |id: i32| {
            move |source: SilenceError| SilenceError::Stored {
                id,
                source: Box::new(source),
            }
        };
        for (rank, silence) in silences.iter().enumerate() {
            silence.validate().map_err(stored(silence.id))?;
            let message = present(&silence.message_regex)
                .map(compile_pattern)
                .transpose()
                .map_err(|e| stored(silence.id)(SilenceError::InvalidRegex(e)))?;
            // The index entry: the most selective matcher the silence has.
            if let Some(pattern) = present(&silence.hostname) {
                if is_glob(pattern) {
                    globs.add(glob(pattern).map_err(stored(silence.id))?);
                    glob_ranks.push(rank);
                } else {
                    by_hostname
                        .entry(pattern.to_lowercase())
                        .or_default()
                        .push(rank);
                }
            } else if let Some(rule) = silence.rule_id {
                by_rule.entry(rule).or_default().push(rank);
            } else if let Some(team) = present(&silence.team) {
                by_team.entry(team.to_owned()).or_default().push(rank);
            } else if let Some(pattern) = present(&silence.message_regex) {
                message_only.push((rank, pattern));
            }
            compiled.push(Compiled {
                silence: silence.clone(),
                message,
            });
        }
        let hostname_globs = globs
            .build()
            .map_err(|e| SilenceError::InvalidGlob(e.to_string()))?;
        let by_message = RegexIndex::build(&message_only).map_err(|(rank, message)| {
            stored(silences[rank].id)(SilenceError::InvalidRegex(message))
        })?;
        Ok(Self {
            silences: compiled,
            by_hostname,
            hostname_globs,
            glob_ranks,
            by_rule,
            by_team,
            by_message,
        })
    }

    pub fn len(&self) -> usize {
        self.silences.len()
    }

    pub fn is_empty(&self) -> bool {
        self.silences.is_empty()
    }

    /// The id of the silence that quiets `event` at `now`, if any.
    pub fn find(&self, event: &SilenceView<'_>, now: DateTime<Utc>) -> Option<i32> {
        if self.silences.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut consider = |rank: usize| {
            if best.is_none_or(|b| rank < b) && self.silences[rank].matches(event, now) {
                best = Some(rank);
            }
        };
        if !self.by_hostname.is_empty() || !self.glob_ranks.is_empty() {
            let host = lowercase(event.hostname);
            if let Some(ranks) = self.by_hostname.get(host.as_ref()) {
                ranks.iter().copied().for_each(&mut consider);
            }
            if !self.glob_ranks.is_empty() {
                for glob in self.hostname_globs.matches(host.as_ref()) {
                    consider(self.glob_ranks[glob]);
                }
            }
        }
        if let Some(ranks) = event.rule_id.and_then(|id| self.by_rule.get(&id)) {
            ranks.iter().copied().for_each(&mut consider);
        }
        if let Some(ranks) = event.team.and_then(|team| self.by_team.get(team)) {
            ranks.iter().copied().for_each(&mut consider);
        }
        if !self.by_message.is_empty() && !event.message.is_empty() {
            let lowered = event.message.to_lowercase();
            self.by_message.matches(
                event.message,
                &lowered,
                |rank| self.silences[rank].silence.is_active(now),
                &mut consider,
            );
        }
        best.map(|rank| self.silences[rank].silence.id)
    }
}

#[cfg(test)]
mod tests;
