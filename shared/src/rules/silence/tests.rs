use super::*;
use chrono::Duration;

fn now() -> DateTime<Utc> {
    "2026-12-07T10:00:00Z".parse().expect("a time")
}

fn silence(id: i32) -> Silence {
    Silence {
        id,
        hostname: None,
        team: None,
        rule_id: None,
        message_regex: None,
        starts_at: now() - Duration::hours(1),
        ends_at: now() + Duration::hours(1),
    }
}

fn host(id: i32, pattern: &str) -> Silence {
    Silence {
        hostname: Some(pattern.into()),
        ..silence(id)
    }
}

fn event<'a>(hostname: &'a str, message: &'a str) -> SilenceView<'a> {
    SilenceView {
        hostname,
        team: Some("NetOps"),
        rule_id: Some(7),
        message,
    }
}

fn set(silences: Vec<Silence>) -> SilenceSet {
    SilenceSet::compile(silences).expect("compiles")
}

#[test]
fn hostname_exact_and_glob_case_insensitively() {
    let set = set(vec![host(1, "core-rtr1"), host(2, "edge-*.dc[12]")]);
    assert_eq!(set.find(&event("core-rtr1", "x"), now()), Some(1));
    assert_eq!(set.find(&event("CORE-RTR1", "x"), now()), Some(1));
    assert_eq!(set.find(&event("core-rtr10", "x"), now()), None, "exact");
    assert_eq!(set.find(&event("edge-7.dc2", "x"), now()), Some(2));
    assert_eq!(set.find(&event("edge-7.dc3", "x"), now()), None);
}

#[test]
fn every_matcher_must_hold() {
    let both = Silence {
        team: Some("NetOps".into()),
        rule_id: Some(7),
        message_regex: Some(r"link (down|flap)".into()),
        ..host(1, "sw-*")
    };
    let set = set(vec![both]);
    assert_eq!(
        set.find(&event("sw-1", "Link DOWN on ge-0/0/1"), now()),
        Some(1)
    );
    assert_eq!(set.find(&event("sw-1", "link up"), now()), None, "message");
    assert_eq!(set.find(&event("rtr-1", "link down"), now()), None, "host");
    let other_rule = SilenceView {
        rule_id: Some(8),
        ..event("sw-1", "link down")
    };
    assert_eq!(set.find(&other_rule, now()), None, "rule");
    let unmatched = SilenceView {
        rule_id: None,
        team: None,
        ..event("sw-1", "link down")
    };
    assert_eq!(set.find(&unmatched, now()), None, "no rule, no team");
}

#[test]
fn each_kind_of_index_finds_its_silences() {
    let by_rule = Silence {
        rule_id: Some(7),
        ..silence(10)
    };
    let by_team = Silence {
        team: Some("Storage".into()),
        ..silence(11)
    };
    let by_message = Silence {
        message_regex: Some("fan tray [0-9]+ failed".into()),
        ..silence(12)
    };
    let unfiltered = Silence {
        message_regex: Some(r"\d+ degrees".into()),
        ..silence(13)
    };
    let set = set(vec![by_rule, by_team, by_message, unfiltered]);
    assert_eq!(set.find(&event("a", "x"), now()), Some(10));
    let storage = SilenceView {
        team: Some("Storage"),
        rule_id: None,
        ..event("a", "x")
    };
    assert_eq!(set.find(&storage, now()), Some(11));
    let plain = |message| SilenceView {
        team: None,
        rule_id: None,
        ..event("a", message)
    };
    assert_eq!(set.find(&plain("FAN TRAY 2 FAILED"), now()), Some(12));
    assert_eq!(set.find(&plain("at 85 degrees"), now()), Some(13));
    assert_eq!(set.find(&plain("all fine"), now()), None);
}

#[test]
fn the_lowest_id_wins() {
    let set = set(vec![
        host(9, "*"),
        host(4, "core-*"),
        Silence {
            rule_id: Some(7),
            ..silence(2)
        },
    ]);
    assert_eq!(set.find(&event("core-1", "x"), now()), Some(2));
    let other = SilenceView {
        rule_id: Some(1),
        ..event("core-1", "x")
    };
    assert_eq!(set.find(&other, now()), Some(4));
}

#[test]
fn only_between_start_and_end() {
    let upcoming = Silence {
        starts_at: now() + Duration::minutes(5),
        ends_at: now() + Duration::hours(2),
        ..host(1, "core-1")
    };
    let ended = Silence {
        starts_at: now() - Duration::hours(2),
        ends_at: now(),
        ..host(2, "core-1")
    };
    let message = Silence {
        message_regex: Some("boom".into()),
        ends_at: now(),
        ..silence(3)
    };
    let set = set(vec![upcoming, ended, message]);
    let e = event("core-1", "boom");
    assert_eq!(set.find(&e, now()), None, "the end is exclusive");
    assert_eq!(set.find(&e, now() - Duration::seconds(1)), Some(2));
    assert_eq!(set.find(&e, now() + Duration::minutes(5)), Some(1));
    assert_eq!(set.find(&e, now() + Duration::hours(2)), None);
}

#[test]
fn invalid_silences_are_named() {
    assert_eq!(silence(1).validate(), Err(SilenceError::NoMatcher));
    let empty = Silence {
        hostname: Some(String::new()),
        ..silence(1)
    };
    assert_eq!(empty.validate(), Err(SilenceError::NoMatcher));
    assert!(matches!(
        host(1, "core-[").validate(),
        Err(SilenceError::InvalidGlob(_))
    ));
    let regex = Silence {
        message_regex: Some("(unclosed".into()),
        ..silence(1)
    };
    assert!(matches!(
        regex.validate(),
        Err(SilenceError::InvalidRegex(_))
    ));
    let backwards = Silence {
        ends_at: now() - Duration::hours(2),
        ..host(1, "a")
    };
    assert_eq!(backwards.validate(), Err(SilenceError::EndsBeforeStart));
    let error = SilenceSet::compile(vec![host(1, "a"), host(5, "b{")]).expect_err("an open brace");
    assert!(
        matches!(error, SilenceError::Stored { id: 5, .. }),
        "{error:?}"
    );
}

#[test]
fn none_costs_nothing_and_finds_nothing() {
    let set = SilenceSet::empty();
    assert!(set.is_empty());
    assert_eq!(set.find(&event("core-1", "x"), now()), None);
}

#[test]
fn a_thousand_silences_find_the_right_one() {
    let mut silences: Vec<Silence> = (0..1000)
        .map(|i| match i % 4 {
            0 => host(i, &format!("host-{i}")),
            1 => host(i, &format!("site{i}-*")),
            2 => Silence {
                rule_id: Some(10_000 + i),
                ..silence(i)
            },
            _ => Silence {
                message_regex: Some(format!("errcode-{i}-[a-z]+")),
                ..silence(i)
            },
        })
        .collect();
    silences.reverse();
    let set = set(silences);
    assert_eq!(set.len(), 1000);
    assert_eq!(set.find(&event("host-400", "x"), now()), Some(400));
    assert_eq!(set.find(&event("site401-sw3", "x"), now()), Some(401));
    let rule = SilenceView {
        rule_id: Some(10_402),
        ..event("elsewhere", "x")
    };
    assert_eq!(set.find(&rule, now()), Some(402));
    assert_eq!(
        set.find(&event("elsewhere", "ERRCODE-403-abc here"), now()),
        Some(403)
    );
    assert_eq!(set.find(&event("elsewhere", "nothing"), now()), None);
}
