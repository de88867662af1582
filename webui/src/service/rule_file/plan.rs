//! What importing a rules file would do to the stored rules: which rules it creates,
//! which it changes and which it deactivates. Pure, so the dry run and the import decide
//! with the same code (the import again, inside its transaction).

use super::parse::Entry;
use crate::error::Problem;
use shared::store::rules::StoredRule;
use std::collections::HashMap;

/// The changes a file makes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub create: Vec<Entry>,
    /// The stored rule, and what it becomes.
    pub update: Vec<(StoredRule, Entry)>,
    /// Active rules the file does not list.
    pub deactivate: Vec<StoredRule>,
    /// Listed and already as the file says.
    pub unchanged: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.deactivate.is_empty()
    }
}

/// Each entry with the stored rule it is (by `id`, else by name), if any.
pub fn resolve(
    entries: Vec<Entry>,
    stored: &[StoredRule],
) -> Result<Vec<(Entry, Option<&StoredRule>)>, Vec<Problem>> {
    let by_id: HashMap<i32, &StoredRule> = stored.iter().map(|r| (r.id, r)).collect();
    let mut by_name: HashMap<&str, Vec<&StoredRule>> = HashMap::new();
    for rule in stored {
        if let Some(name) = rule.values.name.as_deref() {
            by_name.entry(name).or_default().push(rule);
        }
    }
    let mut problems = Vec::new();
    let mut claimed: HashMap<i32, usize> = HashMap::new();
    let mut resolved = Vec::with_capacity(entries.len());
    for entry in entries {
        let found = match (entry.id, entry.name.as_deref()) {
            (Some(id), _) => match by_id.get(&id) {
                Some(rule) => Some(*rule),
                None => {
                    problems.push(Problem {
                        line: entry.line,
                        message: format!(
                            "no stored rule has id {id} (leave the id out to create the rule)"
                        ),
                    });
                    continue;
                }
            },
            (None, Some(name)) => match by_name.get(name).map(Vec::as_slice) {
                None | Some([]) => None,
                Some([rule]) => Some(*rule),
                Some(several) => {
                    let ids: Vec<String> = several.iter().map(|r| r.id.to_string()).collect();
                    problems.push(Problem {
                        line: entry.line,
                        message: format!(
                            "rules {} are all named {name:?}: give this one its id",
                            ids.join(", ")
                        ),
                    });
                    continue;
                }
            },
            (None, None) => unreachable!("parse refuses an entry with neither"),
        };
        if let Some(old) = found
            && let Some(first) = claimed.insert(old.id, entry.line)
        {
            problems.push(Problem {
                line: entry.line,
                message: format!("the rule at line {first} is stored rule {} too", old.id),
            });
            continue;
        }
        resolved.push((entry, found));
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

/// Matches each entry to a stored rule (by `id`, else by name) and compares.
pub fn plan(entries: Vec<Entry>, stored: &[StoredRule]) -> Result<Plan, Vec<Problem>> {
    let resolved = resolve(entries, stored)?;
    let mut out = Plan::default();
    let mut listed = std::collections::HashSet::new();
    for (entry, found) in resolved {
        match found {
            None => out.create.push(entry),
            Some(old) => {
                listed.insert(old.id);
                if old.values == entry.values {
                    out.unchanged += 1;
                } else {
                    out.update.push((old.clone(), entry));
                }
            }
        }
    }
    out.deactivate = stored
        .iter()
        .filter(|r| r.values.is_active && !listed.contains(&r.id))
        .cloned()
        .collect();
    Ok(out)
}
