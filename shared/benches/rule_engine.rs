//! Rule engine throughput: events evaluated per second against 10, 1,000 and 10,000 rules
//! (half `contains`, half `regex`), over the corpus's messages (`data/corpus`):
//! - `corpus`: as they are; no rule matches and none reaches a regex (0 % run one);
//! - `regex_half` / `regex_all`: half / all of them carry a regex rule's required literal
//!   (`iface-<n>-`), so the prefilter lets that regex run, and it rejects the message;
//! - `matching`: each carries a `contains` rule's token and matches;
//! - `baseline`: one substring search per message, the floor of touching each message
//!   (the machine's ceiling for this work, in the same run);
//! - `silences` / `silenced`: 1,000 rules, every event matches one (the `matching`
//!   messages), then the silence check as the alerter does it, against 0, 10 and 1,000
//!   active silences (a quarter each: exact hostnames, hostname globs, rule ids, message
//!   regexes); in `silences` none matches the corpus's hosts, in `silenced` each event's
//!   host has an exact silence of its own.
//!
//! Run with `cargo bench -p mutt-shared --bench rule_engine`; `scripts/bench-all` runs it
//! and puts the figures, as ratios to the baseline, in docs/benchmarks.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shared::event::Severity;
use shared::rules::{
    EventView, MatchType, Rule, RuleSet, Silence, SilenceSet, SilenceView, Verdict,
};
use std::hint::black_box;

fn rules(n: usize) -> Vec<Rule> {
    (0..n)
        .map(|i| {
            let (match_type, text) = if i % 2 == 0 {
                (MatchType::Contains, format!("ERRCODE-{i:05}"))
            } else {
                (MatchType::Regex, format!(r"iface-{i}-[a-z]+ (down|flap)"))
            };
            Rule {
                id: i as i32 + 1,
                match_string: Some(text),
                trap_oid: None,
                syslog_severity: None,
                match_type,
                priority: (i % 100) as i32,
                prod_handling: "Page_and_ticket".into(),
                dev_handling: "Ignore".into(),
                team_assignment: "NetOps".into(),
                is_active: true,
            }
        })
        .collect()
}

fn corpus() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/corpus/events.json");
    let text = std::fs::read_to_string(path).expect("data/corpus/events.json (scripts/gen-corpus)");
    serde_json::from_str(&text).expect("JSON array")
}

fn sample_messages() -> Vec<String> {
    corpus()
        .iter()
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
}

/// `n` active silences, a quarter of each kind; `silenced_hosts` get exact ones first.
fn silences(n: usize, silenced_hosts: &[String]) -> SilenceSet {
    let now = chrono::Utc::now();
    let window = |id: usize| Silence {
        id: id as i32,
        hostname: None,
        team: None,
        rule_id: None,
        message_regex: None,
        starts_at: now - chrono::Duration::hours(1),
        ends_at: now + chrono::Duration::hours(1),
    };
    let made = (0..n).map(|i| match (silenced_hosts.get(i), i % 4) {
        (Some(host), _) => Silence {
            hostname: Some(host.clone()),
            ..window(i)
        },
        (None, 0) => Silence {
            hostname: Some(format!("maint-host-{i}")),
            ..window(i)
        },
        (None, 1) => Silence {
            hostname: Some(format!("maint-site{i}-*")),
            ..window(i)
        },
        (None, 2) => Silence {
            rule_id: Some(100_000 + i as i32),
            ..window(i)
        },
        _ => Silence {
            message_regex: Some(format!("maint-{i}-[a-z]+ (down|up)")),
            ..window(i)
        },
    });
    SilenceSet::compile(made).expect("silences compile")
}

/// The rule, then the silence, for each (host, message): what the alerter does per event.
fn route_all(set: &RuleSet, quiet: &SilenceSet, events: &[(String, String)]) -> usize {
    let now = chrono::Utc::now();
    events
        .iter()
        .filter(|(host, message)| {
            let view = EventView {
                message,
                trap_oid: None,
                syslog_severity: Severity::new(3),
            };
            let Verdict::Matched(rule) = set.evaluate(black_box(&view)) else {
                return false;
            };
            let event = SilenceView {
                hostname: host,
                team: Some(&rule.team_assignment),
                rule_id: Some(rule.id),
                message,
            };
            quiet.find(black_box(&event), now).is_some()
        })
        .count()
}

fn evaluate_all(set: &RuleSet, messages: &[String]) -> usize {
    messages
        .iter()
        .filter(|m| {
            let view = EventView {
                message: m,
                trap_oid: None,
                syslog_severity: Severity::new(3),
            };
            matches!(set.evaluate(black_box(&view)), Verdict::Matched(_))
        })
        .count()
}

fn bench(c: &mut Criterion) {
    let samples = sample_messages();
    let matching: Vec<String> = samples
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{m} ERRCODE-{:05}", (i * 2) % 10))
        .collect();
    // An odd rule number below 10 is a regex rule in every rule set.
    let reaching = |every: usize| -> Vec<String> {
        samples
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if i % every == 0 {
                    format!("{m} iface-{}-eth up", 1 + 2 * (i % 5))
                } else {
                    m.clone()
                }
            })
            .collect()
    };
    let (regex_half, regex_all) = (reaching(2), reaching(1));
    let mut group = c.benchmark_group("rule_engine");
    group.throughput(Throughput::Elements(samples.len() as u64));
    group.bench_with_input(BenchmarkId::new("baseline", 0), &samples, |b, m| {
        b.iter(|| {
            m.iter()
                .filter(|m| black_box(m.as_str()).contains("ERRCODE-"))
                .count()
        })
    });
    for n in [10, 1_000, 10_000] {
        let set = RuleSet::compile(rules(n)).expect("rules compile");
        for (name, messages) in [
            ("corpus", &samples),
            ("regex_half", &regex_half),
            ("regex_all", &regex_all),
            ("matching", &matching),
        ] {
            group.bench_with_input(BenchmarkId::new(name, n), messages, |b, m| {
                b.iter(|| evaluate_all(&set, m))
            });
        }
    }

    let hosts: Vec<String> = corpus()
        .iter()
        .filter_map(|e| e["hostname"].as_str().map(str::to_owned))
        .collect();
    let events: Vec<(String, String)> = hosts.iter().cloned().zip(matching).collect();
    let mut distinct = hosts.clone();
    distinct.sort();
    distinct.dedup();
    let set = RuleSet::compile(rules(1_000)).expect("rules compile");
    for n in [0, 10, 1_000] {
        let quiet = silences(n, &[]);
        assert_eq!(route_all(&set, &quiet, &events), 0, "none is silenced");
        group.bench_with_input(BenchmarkId::new("silences", n), &events, |b, e| {
            b.iter(|| route_all(&set, &quiet, e))
        });
    }
    let quiet = silences(distinct.len().max(1_000), &distinct);
    assert_eq!(
        route_all(&set, &quiet, &events),
        events.len(),
        "each is silenced"
    );
    group.bench_with_input(
        BenchmarkId::new("silenced", quiet.len()),
        &events,
        |b, e| b.iter(|| route_all(&set, &quiet, e)),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
