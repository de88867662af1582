//! The regex side of the engine, built so that thousands of regex rules cost little more
//! per event than ten.
//!
//! One `RegexSet` of thousands of patterns overwhelms the lazy DFA (measured: 5,000
//! patterns evaluated ~380 events/s). Instead, each pattern's required prefix literals
//! (regex-syntax's extractor: every match starts with one of them) go into one
//! aho-corasick automaton; an event runs only the regexes whose literal occurs in it, best
//! rank first, and stops at the first match. Patterns without a usable literal (`.*x`,
//! `\d+`) go into a `RegexSet`, which stays fast while such patterns are few.
//!
//! Matching is case-insensitive, so literals are lowercased and searched in the lowercased
//! message. That stays a necessary condition for ASCII literals once `ſ` (U+017F, which
//! case-folds to `s` but lowercases to itself) is mapped to `s`; U+212A KELVIN SIGN already
//! lowercases to `k`. Patterns with non-ASCII literals go to the `RegexSet`.

use super::model::compile_pattern;
use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use std::collections::HashMap;

#[derive(Debug)]
pub(super) struct RegexIndex {
    literals: Option<AhoCorasick>,
    /// For each literal, indices into `filtered`.
    literal_targets: Vec<Vec<usize>>,
    /// Prefiltered regexes, in rank order, with their rule's rank.
    filtered: Vec<(usize, regex::Regex)>,
    unfiltered: regex::RegexSet,
    unfiltered_ranks: Vec<usize>,
}

/// The lowercase ASCII literals one of which every match of `pattern` starts with, or
/// `None` when there is no such useful set.
fn required_literals(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty()
        || literals
            .iter()
            .any(|l| l.is_empty() || !l.as_bytes().is_ascii())
    {
        return None;
    }
    let mut lowered: Vec<String> = literals
        .iter()
        .map(|l| String::from_utf8_lossy(l.as_bytes()).to_ascii_lowercase())
        .collect();
    lowered.sort();
    lowered.dedup();
    Some(lowered)
}

impl RegexIndex {
    /// `patterns` are (rank, pattern) in rank order. Errors carry the failing rank.
    pub(super) fn build(patterns: &[(usize, &str)]) -> Result<Self, (usize, String)> {
        let mut literal_ids: HashMap<String, usize> = HashMap::new();
        let mut literal_list: Vec<String> = Vec::new();
        let mut literal_targets: Vec<Vec<usize>> = Vec::new();
        let mut filtered = Vec::new();
        let mut unfiltered_patterns = Vec::new();
        let mut unfiltered_ranks = Vec::new();
        for &(rank, pattern) in patterns {
            let regex = compile_pattern(pattern).map_err(|e| (rank, e))?;
            match required_literals(pattern) {
                Some(literals) => {
                    let index = filtered.len();
                    filtered.push((rank, regex));
                    for literal in literals {
                        let id = *literal_ids.entry(literal.clone()).or_insert_with(|| {
                            literal_list.push(literal);
                            literal_targets.push(Vec::new());
                            literal_list.len() - 1
                        });
                        literal_targets[id].push(index);
                    }
                }
                None => {
                    unfiltered_patterns.push(pattern);
                    unfiltered_ranks.push(rank);
                }
            }
        }
        let literals = if literal_list.is_empty() {
            None
        } else {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&literal_list);
            Some(automaton.map_err(|e| (filtered.first().map_or(0, |f| f.0), e.to_string()))?)
        };
        let unfiltered = regex::RegexSetBuilder::new(&unfiltered_patterns)
            .case_insensitive(true)
            .size_limit(1 << 26)
            .build()
            .map_err(|e| {
                (
                    unfiltered_ranks.first().copied().unwrap_or(0),
                    e.to_string(),
                )
            })?;
        Ok(Self {
            literals,
            literal_targets,
            filtered,
            unfiltered,
            unfiltered_ranks,
        })
    }

    /// Whether it holds no pattern at all.
    pub(super) fn is_empty(&self) -> bool {
        self.filtered.is_empty() && self.unfiltered_ranks.is_empty()
    }

    /// Calls `consider` with the rank of every regex rule that matches `message` and
    /// passes `applies`, except that among prefiltered rules only the best is reported.
    /// `lowered` is `message.to_lowercase()`.
    pub(super) fn matches(
        &self,
        message: &str,
        lowered: &str,
        applies: impl Fn(usize) -> bool,
        mut consider: impl FnMut(usize),
    ) {
        if let Some(automaton) = &self.literals {
            let folded;
            let haystack = if lowered.contains('ſ') {
                folded = lowered.replace('ſ', "s");
                folded.as_str()
            } else {
                lowered
            };
            let mut candidates: Vec<usize> = automaton
                .find_overlapping_iter(haystack)
                .flat_map(|m| self.literal_targets[m.pattern().as_usize()].iter().copied())
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            // `filtered` is in rank order, so the first confirmed match is the best.
            if let Some(&(rank, _)) = candidates
                .iter()
                .map(|&i| &self.filtered[i])
                .find(|(rank, regex)| applies(*rank) && regex.is_match(message))
            {
                consider(rank);
            }
        }
        if !self.unfiltered_ranks.is_empty() {
            for i in self.unfiltered.matches(message).iter() {
                let rank = self.unfiltered_ranks[i];
                if applies(rank) {
                    consider(rank);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::required_literals;

    #[test]
    fn literals_are_extracted_lowercased_or_refused() {
        let literals = required_literals(r"iface-[0-9]-down").expect("has a literal prefix");
        assert!(
            literals
                .iter()
                .any(|l| "iface-5-down".starts_with(l.as_str())),
            "{literals:?}"
        );
        assert!(
            literals.iter().all(|l| l.starts_with("iface-")),
            "{literals:?}"
        );
        assert_eq!(
            required_literals(r"iface-\d+ down"),
            Some(vec!["iface-".to_owned()])
        );
        assert_eq!(required_literals("ERR[a-z]+"), Some(vec!["err".to_owned()]));
        assert_eq!(required_literals("(?i)ab"), Some(vec!["ab".to_owned()]));
        assert_eq!(required_literals(r".*x"), None, "can start anywhere");
        assert_eq!(required_literals(r"a?"), None, "can match empty");
        assert_eq!(
            required_literals("échec"),
            None,
            "non-ASCII goes unfiltered"
        );
    }
}
