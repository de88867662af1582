//! A rule as stored in `alert_rules`, and the validation every rule passes before it is
//! stored or compiled.

use crate::event::Severity;
use serde::{Deserialize, Serialize};

/// How `match_string` (or `trap_oid`) is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    /// Case-insensitive substring of the message.
    Contains,
    /// Case-insensitive, unanchored regular expression search in the message.
    Regex,
    /// The event's `trap_oid` starts with the rule's `trap_oid`, on whole arcs.
    OidPrefix,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Contains => "contains",
            MatchType::Regex => "regex",
            MatchType::OidPrefix => "oid_prefix",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "contains" => Some(Self::Contains),
            "regex" => Some(Self::Regex),
            "oid_prefix" => Some(Self::OidPrefix),
            _ => None,
        }
    }
}

/// One row of `alert_rules` (the columns the engine needs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i32,
    pub match_string: Option<String>,
    pub trap_oid: Option<String>,
    pub syslog_severity: Option<Severity>,
    pub match_type: MatchType,
    /// Lower wins; ties go to the lower id.
    pub priority: i32,
    pub prod_handling: String,
    pub dev_handling: String,
    pub team_assignment: String,
    pub is_active: bool,
}

/// Why a rule cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule {rule_id}: invalid regex: {message}")]
    InvalidRegex { rule_id: i32, message: String },
    #[error("rule {rule_id}: needs a match_string or a trap_oid")]
    NoCriteria { rule_id: i32 },
    #[error("rule {rule_id}: match_type oid_prefix needs a trap_oid")]
    OidRuleWithoutOid { rule_id: i32 },
    #[error("the rule set is too large to compile: {0}")]
    TooLarge(String),
}

/// The most memory one user pattern may compile to; beyond it the rule is refused rather
/// than slowing every event down.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a rule's regex as the engine will use it: case-insensitive, unanchored. The
/// `regex` crate has no look-around or back-references; such patterns are refused with the
/// compiler's message.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

impl Rule {
    /// Checks what the database constraints cannot: a usable pattern and criteria that fit
    /// the match type.
    pub fn validate(&self) -> Result<(), RuleError> {
        let has = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        if !has(&self.match_string) && !has(&self.trap_oid) {
            return Err(RuleError::NoCriteria { rule_id: self.id });
        }
        match self.match_type {
            MatchType::OidPrefix if !has(&self.trap_oid) => {
                Err(RuleError::OidRuleWithoutOid { rule_id: self.id })
            }
            MatchType::Regex => match self.match_string.as_deref() {
                Some(p) if !p.is_empty() => {
                    compile_pattern(p)
                        .map(|_| ())
                        .map_err(|message| RuleError::InvalidRegex {
                            rule_id: self.id,
                            message,
                        })
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
