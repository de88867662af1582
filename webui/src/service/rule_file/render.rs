//! Writing the active rules as a rules file, which `parse` reads back to the same rules.
//!
//! Every text value is written as a JSON string: JSON's escapes are a subset of YAML's
//! double-quoted style, so any text (quotes, `#`, `: `, newlines, non-ASCII) comes back
//! exactly, without a YAML emitter of our own.

use shared::store::rules::StoredRule;
use std::fmt::Write;

fn text(value: &str) -> String {
    serde_json::to_string(value).expect("a string serialises")
}

/// The file for `rules` (the active ones are written, by priority then id), with a header
/// saying when and how.
pub fn render(rules: &[StoredRule], generated_at: &str) -> String {
    let mut active: Vec<&StoredRule> = rules.iter().filter(|r| r.values.is_active).collect();
    active.sort_by_key(|r| (r.values.priority, r.id));
    let mut out = format!(
        "# mutt-rs rules: the {} active rules, exported {generated_at}.\n\
         # Import: `webui rules import FILE [--dry-run]` (docs/operations.md, \"Rules as code\").\n\
         # A rule is matched to a stored one by `id`, else by `name`; stored rules missing\n\
         # from the file are deactivated.\n",
        active.len()
    );
    if active.is_empty() {
        out.push_str("rules: []\n");
        return out;
    }
    out.push_str("rules:\n");
    for rule in active {
        let v = &rule.values;
        let _ = writeln!(out, "  - id: {}", rule.id);
        if let Some(name) = &v.name {
            let _ = writeln!(out, "    name: {}", text(name));
        }
        if let Some(d) = &v.description {
            let _ = writeln!(out, "    description: {}", text(d));
        }
        let _ = writeln!(out, "    match_type: {}", text(&v.match_type));
        if let Some(m) = &v.match_string {
            let _ = writeln!(out, "    match_string: {}", text(m));
        }
        if let Some(o) = &v.trap_oid {
            let _ = writeln!(out, "    trap_oid: {}", text(o));
        }
        if let Some(s) = v.syslog_severity {
            let _ = writeln!(out, "    syslog_severity: {s}");
        }
        let _ = writeln!(out, "    priority: {}", v.priority);
        let _ = writeln!(out, "    prod_handling: {}", text(&v.prod_handling));
        let _ = writeln!(out, "    dev_handling: {}", text(&v.dev_handling));
        let _ = writeln!(out, "    team_assignment: {}", text(&v.team_assignment));
    }
    out
}
