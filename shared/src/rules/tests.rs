use super::*;
use crate::event::Severity;

fn rule(id: i32, match_type: MatchType, text: &str, priority: i32) -> Rule {
    let (match_string, trap_oid) = match match_type {
        MatchType::OidPrefix => (None, Some(text.to_owned())),
        _ => (Some(text.to_owned()), None),
    };
    Rule {
        id,
        match_string,
        trap_oid,
        syslog_severity: None,
        match_type,
        priority,
        prod_handling: "Page_and_ticket".into(),
        dev_handling: "Ignore".into(),
        team_assignment: "NetOps".into(),
        is_active: true,
    }
}

fn matched(
    set: &RuleSet,
    message: &str,
    trap_oid: Option<&str>,
    severity: Option<u8>,
) -> Option<i32> {
    let view = EventView {
        message,
        trap_oid,
        syslog_severity: severity.and_then(Severity::new),
    };
    match set.evaluate(&view) {
        Verdict::Matched(rule) => Some(rule.id),
        Verdict::Unmatched => None,
    }
}

#[test]
fn contains_is_a_case_insensitive_substring() {
    let set = RuleSet::compile([rule(1, MatchType::Contains, "link-down", 10)]).expect("compiles");
    assert_eq!(matched(&set, "%LINK-DOWN: Gi0/1", None, None), Some(1));
    assert_eq!(matched(&set, "LiNk-DoWn", None, None), Some(1));
    assert_eq!(matched(&set, "link down", None, None), None);
    let unicode = RuleSet::compile([rule(2, MatchType::Contains, "ÉCHEC", 10)]).expect("compiles");
    assert_eq!(matched(&unicode, "connexion échec", None, None), Some(2));
}

#[test]
fn regex_is_an_unanchored_case_insensitive_search() {
    let set =
        RuleSet::compile([rule(1, MatchType::Regex, r"gi\d+/\d+ down", 10)]).expect("compiles");
    assert_eq!(
        matched(&set, "interface GI0/1 DOWN now", None, None),
        Some(1)
    );
    assert_eq!(matched(&set, "interface gi0/x down", None, None), None);
}

#[test]
fn the_lowest_priority_wins_and_ties_go_to_the_lowest_id() {
    let set = RuleSet::compile([
        rule(7, MatchType::Contains, "error", 20),
        rule(3, MatchType::Regex, "err", 20),
        rule(9, MatchType::Contains, "fatal error", 5),
        rule(4, MatchType::Contains, "error", 20),
    ])
    .expect("compiles");
    assert_eq!(
        matched(&set, "an ERROR", None, None),
        Some(3),
        "tie at 20: lowest id"
    );
    assert_eq!(
        matched(&set, "fatal error here", None, None),
        Some(9),
        "priority 5 beats 20 though found later"
    );
    let ids: Vec<i32> = set.rules().iter().map(|r| r.id).collect();
    assert_eq!(ids, [9, 3, 4, 7]);
}

#[test]
fn oid_prefix_matches_whole_arcs_and_ignores_a_leading_dot() {
    let set =
        RuleSet::compile([rule(1, MatchType::OidPrefix, ".1.3.6.1.4.1.9", 10)]).expect("compiles");
    assert_eq!(
        matched(&set, "trap", Some("1.3.6.1.4.1.9.9.41.2"), None),
        Some(1)
    );
    assert_eq!(
        matched(&set, "trap", Some(".1.3.6.1.4.1.9"), None),
        Some(1),
        "equal OIDs match"
    );
    assert_eq!(
        matched(&set, "trap", Some("1.3.6.1.4.1.99"), None),
        None,
        "not on a partial arc"
    );
    assert_eq!(
        matched(&set, "trap", None, None),
        None,
        "no OID, no OID match"
    );
    // The v2.5 sample rule has a leading dot and v2.5's demo traps have none: now they match.
    let sample = RuleSet::compile([rule(5, MatchType::OidPrefix, ".1.3.6.1.4.1.9.9.41.2", 15)])
        .expect("compiles");
    assert_eq!(
        matched(&sample, "", Some("1.3.6.1.4.1.9.9.41.2.0.1"), None),
        Some(5)
    );
}

#[test]
fn an_event_with_an_oid_is_matched_against_oid_rules_only_where_both_have_one() {
    let mut text_with_oid = rule(1, MatchType::Contains, "down", 1);
    text_with_oid.trap_oid = Some("1.3.6".into());
    let set = RuleSet::compile([text_with_oid, rule(2, MatchType::Contains, "down", 50)])
        .expect("compiles");
    // v2.5: a rule with a trap_oid is in the OID branch for an event with one, where only
    // oid_prefix rules can match, so its match_string is not considered.
    assert_eq!(matched(&set, "link down", Some("1.3.6.1"), None), Some(2));
    assert_eq!(
        matched(&set, "link down", None, None),
        Some(1),
        "without an event OID it is a text rule"
    );
}

#[test]
fn a_severity_filter_applies_to_text_rules_not_oid_rules() {
    let mut only_crit = rule(1, MatchType::Contains, "fan", 1);
    only_crit.syslog_severity = Severity::new(2);
    let mut oid = rule(2, MatchType::OidPrefix, "1.3.6.1.4.1.9", 2);
    oid.syslog_severity = Severity::new(2);
    let set = RuleSet::compile([only_crit, oid, rule(3, MatchType::Contains, "fan", 9)])
        .expect("compiles");
    assert_eq!(matched(&set, "fan failed", None, Some(2)), Some(1));
    assert_eq!(matched(&set, "fan failed", None, Some(4)), Some(3));
    assert_eq!(
        matched(&set, "fan failed", None, None),
        Some(3),
        "no event severity fails the filter"
    );
    assert_eq!(
        matched(&set, "x", Some("1.3.6.1.4.1.9.1"), Some(6)),
        Some(2)
    );
}

#[test]
fn inactive_rules_are_left_out() {
    let mut off = rule(1, MatchType::Contains, "x", 1);
    off.is_active = false;
    let set = RuleSet::compile([off]).expect("compiles");
    assert!(set.is_empty());
    assert_eq!(matched(&set, "x", None, None), None);
}

#[test]
fn invalid_regex_is_refused_with_the_compilers_message() {
    for pattern in ["(unclosed", r"(?<=look)behind", r"(a)\1"] {
        let bad = rule(42, MatchType::Regex, pattern, 1);
        let err = bad.validate().expect_err(pattern);
        assert!(
            matches!(&err, RuleError::InvalidRegex { rule_id: 42, message } if !message.is_empty()),
            "{err}"
        );
        assert!(RuleSet::compile([bad]).is_err());
    }
    let mut no_oid = rule(5, MatchType::OidPrefix, "1.3", 1);
    no_oid.trap_oid = None;
    no_oid.match_string = Some("x".into());
    assert_eq!(
        no_oid.validate(),
        Err(RuleError::OidRuleWithoutOid { rule_id: 5 })
    );
}

#[test]
fn the_v25_sample_rules_route_the_v25_sample_events() {
    let set = RuleSet::compile([
        rule(1, MatchType::Contains, "CRITICAL", 10),
        rule(2, MatchType::Contains, "ERROR", 20),
        rule(3, MatchType::Contains, "LINK-DOWN", 5),
        rule(4, MatchType::Contains, "DOT1X-FIRMWARE-RUNNING", 50),
        rule(5, MatchType::OidPrefix, ".1.3.6.1.4.1.9.9.41.2", 15),
    ])
    .expect("compiles");
    assert_eq!(
        matched(&set, "%LINK-DOWN critical ERROR", None, None),
        Some(3)
    );
    assert_eq!(matched(&set, "CRITICAL and ERROR", None, None), Some(1));
    assert_eq!(
        matched(
            &set,
            "%LINEPROTO-5-UPDOWN: changed state to down",
            None,
            None
        ),
        None
    );
}

proptest::proptest! {
    #[test]
    fn any_event_yields_a_verdict_never_a_panic(
        message in "\\PC{0,80}",
        oid in proptest::option::of("[.0-9]{0,20}"),
        severity in proptest::option::of(0u8..=7),
    ) {
        let set = RuleSet::compile([
            rule(1, MatchType::Contains, "a", 3),
            rule(2, MatchType::Regex, "[0-9]+x", 2),
            rule(3, MatchType::OidPrefix, "1.3", 1),
        ]).expect("compiles");
        let _ = matched(&set, &message, oid.as_deref(), severity);
    }
}

#[test]
fn prefiltered_and_unfiltered_regexes_agree_with_plain_regex_semantics() {
    let set = RuleSet::compile([
        rule(1, MatchType::Regex, r"link-\d+ down", 5),
        rule(2, MatchType::Regex, r".*FLAP", 6),
        rule(3, MatchType::Regex, r"(?-i)CaseSensitive", 7),
        rule(4, MatchType::Regex, r"disk s[0-9]", 8),
    ])
    .expect("compiles");
    assert_eq!(matched(&set, "LINK-42 DOWN", None, None), Some(1));
    assert_eq!(
        matched(&set, "port flap detected", None, None),
        Some(2),
        "no literal prefix: unfiltered path"
    );
    assert_eq!(matched(&set, "a CaseSensitive thing", None, None), Some(3));
    assert_eq!(
        matched(&set, "a casesensitive thing", None, None),
        None,
        "inline flags still apply"
    );
    // `(?i)s` matches U+017F LATIN SMALL LETTER LONG S, which lowercases to itself.
    assert_eq!(matched(&set, "disk \u{17f}1 failed", None, None), Some(4));
    assert_eq!(matched(&set, "link-x down", None, None), None);
}

#[test]
fn among_many_regex_rules_the_best_ranked_match_wins() {
    let mut rules: Vec<Rule> = (0..500)
        .map(|i| {
            rule(
                i + 10,
                MatchType::Regex,
                &format!("code-{i}\\b"),
                100 - (i % 50),
            )
        })
        .collect();
    rules.push(rule(1, MatchType::Regex, "code-1", 100));
    let set = RuleSet::compile(rules).expect("compiles");
    // "code-499" also holds the literals of code-4 and code-49, but only rules whose whole
    // pattern matches count: code-499\b (priority 51) beats code-1 (priority 100).
    assert_eq!(
        matched(&set, "error code-499 seen", None, None),
        Some(499 + 10)
    );
}
