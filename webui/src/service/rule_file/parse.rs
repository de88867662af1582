//! Reading a rules file: YAML with one entry per active rule under `rules:`.
//!
//! Every entry is checked with the API's own checks (`rules::RuleDraft`, so a file cannot
//! hold a rule the API would refuse), and every problem is collected with the line it is
//! on, so that one pass names all of them. marked-yaml keeps each node's position;
//! quoted scalars stay text (`priority: "10"` is refused, as `"10"` would be in JSON).

use super::super::fields::Fields;
use super::super::rules::{RULE_FIELDS, checked_rule};
use crate::error::Problem;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, Node};
use marked_yaml::{LoaderOptions, parse_yaml_with_options};
use serde_json::{Map, Value};
use shared::store::rules::RuleValues;
use std::collections::HashMap;

/// One rule of a file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Where the entry starts.
    pub line: usize,
    /// The stored rule it is, when the file says so; otherwise it is found by name.
    pub id: Option<i32>,
    /// Required without an `id`.
    pub name: Option<String>,
    /// What the rule is to be (always active).
    pub values: RuleValues,
}

/// The fields an entry may have: a rule's, less `is_active` (a file lists the active
/// rules), plus `id`.
fn entry_fields() -> Vec<&'static str> {
    std::iter::once("id")
        .chain(RULE_FIELDS.into_iter().filter(|f| *f != "is_active"))
        .collect()
}

fn line_of(node: &Node) -> usize {
    node.span().start().map_or(1, |m| m.line())
}

fn key_line(key: &MarkedScalarNode) -> usize {
    key.span().start().map_or(1, |m| m.line())
}

/// A plain `null`, `~` or nothing.
fn is_null(scalar: &MarkedScalarNode) -> bool {
    scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
}

/// An entry's scalar as the JSON value the API would have been sent.
fn json_of(name: &str, scalar: &MarkedScalarNode) -> Result<Value, String> {
    if is_null(scalar) {
        return Ok(Value::Null);
    }
    match name {
        "id" | "priority" => scalar
            .as_i32()
            .map(Value::from)
            .ok_or_else(|| format!("{name} must be a whole number")),
        // A level 0 to 7, or a name such as `error`.
        "syslog_severity" => Ok(scalar
            .as_i64()
            .map_or_else(|| Value::from(scalar.as_str()), Value::from)),
        _ => Ok(Value::from(scalar.as_str())),
    }
}

/// The line an API message is about: the field it names, else the entry's first line.
fn line_for(message: &str, lines: &HashMap<String, usize>, entry_line: usize) -> usize {
    if message.starts_with("invalid regex")
        && let Some(line) = lines.get("match_string")
    {
        return *line;
    }
    lines
        .iter()
        .find(|(field, _)| message.starts_with(field.as_str()))
        .map_or(entry_line, |(_, line)| *line)
}

fn entry(map: &MarkedMappingNode, entry_line: usize, problems: &mut Vec<Problem>) -> Option<Entry> {
    let known = entry_fields();
    let mut body = Map::new();
    let mut lines: HashMap<String, usize> = HashMap::new();
    let mut ok = true;
    for (key, value) in map.iter() {
        let line = key_line(key);
        let name = key.as_str();
        if !known.contains(&name) {
            problems.push(Problem {
                line,
                message: format!(
                    "unknown field {name:?}; expected one of: {}",
                    known.join(", ")
                ),
            });
            ok = false;
            continue;
        }
        let Some(scalar) = value.as_scalar() else {
            problems.push(Problem {
                line,
                message: format!("{name} must be a single value, not a list or a mapping"),
            });
            ok = false;
            continue;
        };
        match json_of(name, scalar) {
            Ok(v) => {
                lines.insert(name.to_owned(), line);
                body.insert(name.to_owned(), v);
            }
            Err(message) => {
                problems.push(Problem { line, message });
                ok = false;
            }
        }
    }
    // Checked without the fields refused above, so that the entry's other problems are
    // named in the same pass.
    let id = body.remove("id").and_then(|v| v.as_i64()).map(|v| v as i32);
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned);
    if name.is_none() && id.is_none() {
        problems.push(Problem {
            line: lines.get("name").copied().unwrap_or(entry_line),
            message: "give the rule a name (a rule without an id is matched by name)".into(),
        });
        return None;
    }
    let called = name
        .clone()
        .unwrap_or_else(|| format!("id {}", id.unwrap_or_default()));
    let checked = Fields::new(body, &RULE_FIELDS).and_then(|fields| checked_rule(&fields));
    match checked {
        Ok(_) if !ok => None,
        Ok(values) => Some(Entry {
            line: entry_line,
            id,
            name,
            values,
        }),
        Err(error) => {
            let message = error.to_string();
            problems.push(Problem {
                line: line_for(&message, &lines, entry_line),
                message: format!("rule {called:?}: {message}"),
            });
            None
        }
    }
}

/// The checked entries of a rules file, or every problem it has.
pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<Problem>> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let root = parse_yaml_with_options(0, text, options).map_err(|e| {
        let line = match &e {
            marked_yaml::LoadError::TopLevelMustBeMapping(m)
            | marked_yaml::LoadError::TopLevelMustBeSequence(m)
            | marked_yaml::LoadError::UnexpectedAnchor(m)
            | marked_yaml::LoadError::MappingKeyMustBeScalar(m)
            | marked_yaml::LoadError::UnexpectedTag(m)
            | marked_yaml::LoadError::ScanError(m, _) => m.line(),
            marked_yaml::LoadError::DuplicateKey(inner) => {
                inner.key.span().start().map_or(1, |m| m.line())
            }
        };
        vec![Problem {
            line,
            message: format!("not a rules file: {e}"),
        }]
    })?;
    let top = root
        .as_mapping()
        .expect("the loader wants a mapping at the top");
    let mut problems = Vec::new();
    for (key, _) in top.iter().filter(|(k, _)| k.as_str() != "rules") {
        problems.push(Problem {
            line: key_line(key),
            message: format!(
                "unknown key {:?}: a rules file has only `rules:`",
                key.as_str()
            ),
        });
    }
    let Some(list) = top.get_node("rules") else {
        problems.push(Problem {
            line: 1,
            message: "no `rules:` list".into(),
        });
        return Err(problems);
    };
    let Some(list) = list.as_sequence() else {
        // `rules:` with nothing after it is an empty list: every rule deactivated.
        if list.as_scalar().is_some_and(is_null) {
            return if problems.is_empty() {
                Ok(Vec::new())
            } else {
                Err(problems)
            };
        }
        problems.push(Problem {
            line: line_of(list),
            message: "`rules:` must be a list of rules".into(),
        });
        return Err(problems);
    };
    let mut entries = Vec::new();
    for item in list.iter() {
        let line = line_of(item);
        match item.as_mapping() {
            Some(map) => entries.extend(entry(map, line, &mut problems)),
            None => problems.push(Problem {
                line,
                message: "each rule is a mapping of its fields".into(),
            }),
        }
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids: HashMap<i32, usize> = HashMap::new();
    for e in &entries {
        if let Some(first) = e.name.as_deref().and_then(|n| names.insert(n, e.line)) {
            problems.push(Problem {
                line: e.line,
                message: format!("the rule at line {first} has this name too"),
            });
        }
        if let Some(first) = e.id.and_then(|id| ids.insert(id, e.line)) {
            problems.push(Problem {
                line: e.line,
                message: format!("the rule at line {first} has this id too"),
            });
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}
