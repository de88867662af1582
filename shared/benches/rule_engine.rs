//! Rule engine throughput: events evaluated per second against 10, 1,000 and 10,000 rules
//! (half `contains`, half `regex`), for the v2.5 sample syslog messages (which these rules
//! mostly do not match) and for messages that match one rule. Run with
//! `cargo bench -p mutt-shared --bench rule_engine`; figures go in docs/benchmarks.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shared::event::Severity;
use shared::rules::{EventView, MatchType, Rule, RuleSet, Verdict};
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

fn sample_messages() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/corpus/events.json");
    let text = std::fs::read_to_string(path).expect("data/corpus/events.json (scripts/gen-corpus)");
    let events: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON array");
    events
        .iter()
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
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
    let mut group = c.benchmark_group("rule_engine");
    for n in [10, 1_000, 10_000] {
        let set = RuleSet::compile(rules(n)).expect("rules compile");
        group.throughput(Throughput::Elements(samples.len() as u64));
        group.bench_with_input(BenchmarkId::new("corpus", n), &samples, |b, m| {
            b.iter(|| evaluate_all(&set, m))
        });
        group.bench_with_input(BenchmarkId::new("matching", n), &matching, |b, m| {
            b.iter(|| evaluate_all(&set, m))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
