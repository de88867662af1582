use super::render::render;
use super::*;
use shared::store::Stamp;
use shared::store::rules::RuleValues;

fn stored(id: i32, name: Option<&str>, text: &str, active: bool) -> StoredRule {
    StoredRule {
        id,
        values: RuleValues {
            name: name.map(str::to_owned),
            description: None,
            match_string: Some(text.into()),
            trap_oid: None,
            syslog_severity: None,
            match_type: "contains".into(),
            priority: 100,
            prod_handling: "Page_and_ticket".into(),
            dev_handling: "Ignore".into(),
            team_assignment: "NetOps".into(),
            is_active: active,
        },
        created_at: Stamp(chrono::Utc::now()),
        updated_at: Stamp(chrono::Utc::now()),
    }
}

const FILE: &str = r#"# a comment
rules:
  - name: core link down
    match_string: LINK-DOWN
    priority: 10
    prod_handling: Page_and_ticket
    dev_handling: Ignore
    team_assignment: NetOps
  - id: 7
    match_type: regex
    match_string: 'fan tray \d+ (failed|removed)'
    syslog_severity: error
    prod_handling: Ticket_only
    dev_handling: Ignore
    team_assignment: Facilities
"#;

#[test]
fn a_file_reads_into_checked_rules_with_their_lines() {
    let entries = parse(FILE).expect("a good file");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].line, 3);
    assert_eq!(entries[0].name.as_deref(), Some("core link down"));
    assert_eq!(entries[0].values.priority, 10);
    assert!(entries[0].values.is_active);
    assert_eq!(entries[1].line, 9);
    assert_eq!(entries[1].id, Some(7));
    assert_eq!(entries[1].values.syslog_severity, Some(3));
    assert_eq!(entries[1].values.match_type, "regex");
    assert_eq!(entries[1].values.priority, 100, "v2.5's default");
}

#[test]
fn every_bad_line_is_named_and_nothing_is_taken() {
    let file = r#"rules:
  - name: one
    match_string: X
    priority: "ten"
    prod_handling: Page_only
    dev_handling: Ignore
    team_assignment: T
  - name: two
    match_type: regex
    match_string: "(unclosed"
    prod_handling: Page_only
    dev_handling: Ignore
    team_assignment: T
  - name: three
    match_string: Y
    colour: blue
    prod_handling: Page_only
    dev_handling: Ignore
    team_assignment: T
  - name: one
    match_string: Z
    prod_handling: Page_only
    dev_handling: Ignore
  - match_string: nameless
    prod_handling: Page_only
    dev_handling: Ignore
    team_assignment: T
"#;
    let problems = parse(file).expect_err("a bad file");
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![4, 10, 16, 20, 24], "{problems:#?}");
    assert!(
        problems[0]
            .message
            .contains("priority must be a whole number")
    );
    assert!(
        problems[1].message.contains("invalid regex"),
        "{problems:#?}"
    );
    assert!(problems[2].message.contains("unknown field \"colour\""));
    assert!(
        problems[3].message.contains("team_assignment"),
        "{problems:#?}"
    );
    assert!(problems[4].message.contains("name"));
}

#[test]
fn a_file_that_is_not_yaml_or_not_a_rules_file_is_named_too() {
    let problems = parse("rules:\n  - name: a\n    x: [unclosed\n").expect_err("bad YAML");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.starts_with("not a rules file"),
        "{problems:?}"
    );
    let problems = parse("rulez: []\n").expect_err("no rules key");
    assert!(problems.iter().any(|p| p.message.contains("unknown key")));
    let problems = parse("rules:\n  - name: a\n    name: b\n").expect_err("a key given twice");
    assert_eq!(problems[0].line, 3, "{problems:?}");
    assert_eq!(parse("rules:\n").expect("empty"), Vec::new());
    assert_eq!(parse("rules: []\n").expect("empty"), Vec::new());
}

#[test]
fn an_export_reads_back_as_the_same_rules() {
    let mut tricky = stored(3, Some("quotes \" and # and: colons"), "a\\b\n'c'", true);
    tricky.values.description = Some("ünïcode — and a tab\t".into());
    tricky.values.syslog_severity = Some(2);
    let nameless = stored(4, None, "NAMELESS", true);
    let inactive = stored(5, Some("old"), "OLD", false);
    let rules = vec![tricky.clone(), nameless.clone(), inactive];
    let text = render(&rules, "2026-12-07T10:00:00Z");
    let entries = parse(&text).expect(&text);
    assert_eq!(entries.len(), 2, "only the active rules");
    assert_eq!(entries[0].values, tricky.values);
    assert_eq!(entries[1].values, nameless.values);
    let plan = plan(entries, &rules).expect("a plan");
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.unchanged, 2);
}

#[test]
fn the_plan_creates_updates_and_deactivates() {
    let rules = vec![
        stored(1, Some("core link down"), "LINK-DOWN", true),
        stored(7, Some("fans"), "FAN", true),
        stored(8, Some("gone"), "GONE", true),
        stored(9, Some("already off"), "OFF", false),
    ];
    let plan = plan(parse(FILE).expect("good"), &rules).expect("a plan");
    assert!(plan.create.is_empty());
    let updated: Vec<i32> = plan.update.iter().map(|(old, _)| old.id).collect();
    assert_eq!(updated, vec![1, 7], "priority of 1; everything of 7");
    let deactivated: Vec<i32> = plan.deactivate.iter().map(|r| r.id).collect();
    assert_eq!(deactivated, vec![8], "an inactive rule is left as it is");
    let report = report(&plan, &[], false);
    let priority = &report.updated[0].changes;
    assert_eq!(priority.len(), 1, "{priority:?}");
    assert_eq!(
        (
            priority[0].field.as_str(),
            &priority[0].from,
            &priority[0].to
        ),
        ("priority", &json!(100), &json!(10))
    );

    // By name, a new rule is created.
    let plan = plan_of(
        "rules:\n  - name: brand new\n    match_string: N\n    prod_handling: P\n    dev_handling: D\n    team_assignment: T\n",
        &rules,
    );
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.deactivate.len(), 3);
}

fn plan_of(text: &str, rules: &[StoredRule]) -> Plan {
    plan(parse(text).expect(text), rules).expect("a plan")
}

#[test]
fn ambiguous_or_unknown_rules_are_problems() {
    let rules = vec![
        stored(1, Some("twin"), "A", true),
        stored(2, Some("twin"), "B", true),
    ];
    let entry =
        "    match_string: X\n    prod_handling: P\n    dev_handling: D\n    team_assignment: T\n";
    let problems = plan(
        parse(&format!("rules:\n  - name: twin\n{entry}")).expect("parses"),
        &rules,
    )
    .expect_err("two rules have that name");
    assert!(problems[0].message.contains("rules 1, 2"), "{problems:?}");
    let problems = plan(
        parse(&format!("rules:\n  - id: 99\n{entry}")).expect("parses"),
        &rules,
    )
    .expect_err("no rule 99");
    assert_eq!(problems[0].line, 2);
    let twice = format!("rules:\n  - id: 1\n{entry}  - id: 1\n    name: again\n{entry}");
    let problems = parse(&twice).expect_err("one id twice");
    assert!(
        problems[0].message.contains("has this id too"),
        "{problems:?}"
    );
    let solo = vec![stored(1, Some("solo"), "A", true)];
    let both = format!("rules:\n  - id: 1\n    name: renamed\n{entry}  - name: solo\n{entry}");
    let problems = plan(parse(&both).expect("parses"), &solo).expect_err("rule 1 twice");
    assert!(
        problems[0].message.contains("stored rule 1 too"),
        "{problems:?}"
    );
}
