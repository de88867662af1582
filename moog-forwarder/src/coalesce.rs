//! Storm control (`MOOG_COALESCE_WINDOW`, issue #18), without IO: the alerts a lane took,
//! grouped so that alerts of one Moog signature whose events lie within the window are
//! sent once (`webhook::coalesced`). Moog de-duplicates by signature anyway; in a storm,
//! sending each copy only spends the rate limit that a new, different alert is waiting for.

use crate::webhook::{self, AlertView};
use std::collections::HashMap;
use std::time::Duration;

/// Queue items sent as one alert: the first is the one Moog sees, the rest are folded into
/// it. Each is acknowledged, retried or dead-lettered on its own.
pub type Group = Vec<Vec<u8>>;

/// Groups `items`: within one signature, in order of their events' times, a group spans at
/// most `window`. An item that is not an alert stays alone (delivery dead-letters it).
/// Groups come in the order of their first items in `items`.
pub fn group(items: Vec<Vec<u8>>, template: &str, window: Duration, now: i64) -> Vec<Group> {
    let window = window.as_secs() as i64;
    let mut by_signature: HashMap<String, Vec<(i64, usize)>> = HashMap::new();
    let mut alone = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match serde_json::from_slice::<AlertView>(item) {
            Ok(alert) => by_signature
                .entry(webhook::signature(&alert, template))
                .or_default()
                .push((webhook::agent_time(&alert, now), index)),
            Err(_) => alone.push(vec![index]),
        }
    }
    let mut groups: Vec<Vec<usize>> = alone;
    for mut members in by_signature.into_values() {
        members.sort_unstable();
        let mut current: Vec<usize> = Vec::new();
        let mut opened = i64::MIN;
        for (time, index) in members {
            if current.is_empty() || time.saturating_sub(opened) > window {
                if !current.is_empty() {
                    groups.push(std::mem::take(&mut current));
                }
                opened = time;
            }
            current.push(index);
        }
        groups.push(current);
    }
    groups.sort_unstable_by_key(|g| g.iter().copied().min());
    let mut items: Vec<Option<Vec<u8>>> = items.into_iter().map(Some).collect();
    groups
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|i| items[i].take().expect("each item in one group"))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(host: &str, rule: i32, time: &str) -> Vec<u8> {
        json!({"hostname": host, "team_assignment": "NetOps", "severity": "Major",
               "message_body": "LINK-DOWN", "raw_json": {"timestamp": time},
               "_correlation_id": format!("{host}-{time}"), "rule_id": rule})
        .to_string()
        .into_bytes()
    }

    /// Each group as `host@mm:ss` of its members (`?` for what is not an alert).
    fn hosts(groups: &[Group]) -> Vec<Vec<String>> {
        let label = |item: &Vec<u8>| {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(item) else {
                return "?".to_owned();
            };
            let time = v["raw_json"]["timestamp"].as_str().expect("a time");
            format!(
                "{}@{}",
                v["hostname"].as_str().expect("a host"),
                &time[14..19]
            )
        };
        groups
            .iter()
            .map(|g| g.iter().map(label).collect())
            .collect()
    }

    #[test]
    fn one_signature_within_the_window_is_one_group_and_others_stay_apart() {
        let items = vec![
            alert("a", 1, "2026-12-07T10:00:00Z"),
            alert("b", 1, "2026-12-07T10:00:01Z"),
            alert("a", 1, "2026-12-07T10:00:30Z"),
            alert("a", 2, "2026-12-07T10:00:31Z"),
            b"not an alert".to_vec(),
            alert("a", 1, "2026-12-07T10:01:30Z"),
        ];
        let groups = group(items, "{hostname}:{rule_id}", Duration::from_secs(60), 0);
        assert_eq!(
            hosts(&groups),
            [
                vec!["a@00:00", "a@00:30"],
                vec!["b@00:01"],
                vec!["a@00:31"],
                vec!["?"],
                vec!["a@01:30"],
            ]
        );
    }

    #[test]
    fn every_item_is_in_exactly_one_group() {
        let items: Vec<_> = (0..500)
            .map(|i| {
                alert(
                    &format!("h{}", i % 7),
                    1,
                    &format!("2026-12-07T10:{:02}:00Z", i % 60),
                )
            })
            .collect();
        let groups = group(
            items.clone(),
            "{hostname}:{rule_id}",
            Duration::from_secs(300),
            0,
        );
        let mut flat: Vec<Vec<u8>> = groups.into_iter().flatten().collect();
        let mut expected = items;
        flat.sort();
        expected.sort();
        assert_eq!(flat, expected);
    }
}
