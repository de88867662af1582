//! Rules as code against real PostgreSQL and Redis: the export reads back as no change; an
//! import creates, changes and deactivates in one transaction with one audit row and the
//! operator's reason, announced to the alerters; a dry run and a bad file change nothing
//! (a bad file is a 400 naming every bad line); the same through `webui rules`.

mod support;

use reqwest::Method;
use serde_json::Value;
use support::{Ui, answer};

const RULES: &str = "SELECT count(*) FROM alert_rules";
const ACTIVE: &str = "SELECT count(*) FROM alert_rules WHERE is_active";
const AUDITS: &str = "SELECT count(*) FROM config_audit_log WHERE changed_by <> 'seed'";

async fn export(ui: &Ui) -> String {
    let response = ui
        .request(Method::GET, "/api/v2/rules/export", Some(&ui.read_key))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("text"),
        "application/yaml"
    );
    response.text().await.expect("text")
}

async fn import(ui: &Ui, query: &str, text: &str) -> (u16, Value) {
    answer(
        ui.admin(Method::POST, &format!("/api/v2/rules/import{query}"))
            .header("content-type", "application/yaml")
            .body(text.to_owned())
            .send()
            .await
            .expect("import"),
    )
    .await
}

#[tokio::test]
async fn an_import_applies_a_rules_file_as_one_audited_change() {
    let ui = Ui::start().await;
    let file = export(&ui).await;
    let active = ui.count(ACTIVE).await;
    assert!(active >= 3, "the v2.5 samples: {file}");

    // Read back as it is: nothing to do, nothing written.
    let (status, report) = import(&ui, "", &file).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["applied"], false);
    assert_eq!(report["unchanged"], active);
    assert_eq!(ui.count(AUDITS).await, 0);

    // Change one priority, drop the last rule, add one.
    let (head, last) = file.rsplit_once("\n  - id: ").expect("several rules");
    let dropped: i32 = last
        .lines()
        .next()
        .expect("an id")
        .trim()
        .parse()
        .expect("a number");
    let edited = head.replacen("priority: 10\n", "priority: 11\n", 1)
        + "\n  - name: bgp flap\n    match_string: BGP-5-ADJCHANGE\n    prod_handling: Page_only\n    dev_handling: Ignore\n    team_assignment: Routing\n";
    let (status, preview) = import(&ui, "?dry_run=true", &edited).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["applied"], false);
    assert_eq!(preview["created"].as_array().expect("list").len(), 1);
    assert_eq!(preview["updated"][0]["changes"][0]["field"], "priority");
    assert_eq!(preview["deactivated"][0]["id"], dropped);
    assert_eq!(ui.count(AUDITS).await, 0, "a dry run changes nothing");

    let mut changes = ui.change_notices().await;
    let (status, done) = import(&ui, "?reason=CHG-9%20from%20git", &edited).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["applied"], true);
    let new_id = done["created"][0]["id"]
        .as_i64()
        .expect("the new rule's id");
    assert_eq!(ui.count(ACTIVE).await, active, "one in, one out");
    let conn = ui.db.pool.get().await.expect("connection");
    let row = conn
        .query_one(
            "SELECT operation, table_name, changed_by, reason, new_values FROM config_audit_log \
             WHERE changed_by <> 'seed'",
            &[],
        )
        .await
        .expect("exactly one audit row");
    assert_eq!(row.get::<_, String>(0), "UPDATE");
    assert_eq!(row.get::<_, String>(1), "alert_rules");
    assert_eq!(row.get::<_, String>(2), "webui-api-key");
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("CHG-9 from git")
    );
    let values: Value = row.get(4);
    assert_eq!(values["import"]["created"][0]["id"], new_id);
    let active_again: bool = conn
        .query_one(
            "SELECT is_active FROM alert_rules WHERE id = $1",
            &[&dropped],
        )
        .await
        .expect("kept")
        .get(0);
    assert!(!active_again, "deactivated, not deleted");
    futures_util::StreamExt::next(&mut changes.on_message())
        .await
        .expect("the alerters are told");

    // The same file again changes nothing.
    let (_, again) = import(&ui, "", &edited).await;
    assert_eq!(again["applied"], false, "{again}");
    assert_eq!(ui.count(AUDITS).await, 1);
    ui.stop().await;
}

#[tokio::test]
async fn a_bad_file_names_every_bad_line_and_changes_nothing() {
    let ui = Ui::start().await;
    let rules = ui.count(RULES).await;
    let file = "rules:\n  - name: a\n    match_string: X\n    prod_handling: P\n    dev_handling: D\n    team_assignment: T\n  - name: b\n    match_type: regex\n    match_string: \"(\"\n    prod_handling: P\n    dev_handling: D\n    team_assignment: T\n  - name: c\n    priority: high\n";
    let (status, error) = import(&ui, "", file).await;
    assert_eq!(status, 400, "{error}");
    let lines: Vec<i64> = error["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(lines, vec![9, 13, 14], "{error}");
    assert!(
        error["error"]
            .as_str()
            .expect("text")
            .contains("nothing was changed")
    );
    assert_eq!(ui.count(RULES).await, rules);
    assert_eq!(ui.count(AUDITS).await, 0);

    // A read key may preview, not apply.
    let response = ui
        .request(Method::POST, "/api/v2/rules/import", Some(&ui.read_key))
        .body("rules: []\n")
        .send()
        .await
        .expect("import");
    assert_eq!(response.status(), 403);
    let response = ui
        .request(
            Method::POST,
            "/api/v2/rules/import?dry_run=true",
            Some(&ui.read_key),
        )
        .body("rules: []\n")
        .send()
        .await
        .expect("preview");
    assert_eq!(response.status(), 200);
    let (status, _) = import(&ui, "", "\u{0}\u{1}").await;
    assert_eq!(status, 400);
    assert_eq!(ui.count(RULES).await, rules);
    ui.stop().await;
}

#[tokio::test]
async fn the_cli_exports_and_imports_with_line_numbers() {
    let ui = Ui::start().await;
    let dir = std::env::temp_dir().join(format!("mutt-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
            .args(args)
            .env_clear()
            .envs(support::env(&ui.db, &ui.redis, &[]))
            .output()
            .expect("webui runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, exported, err) = run(&["rules", "export"]);
    assert!(ok, "{err}");
    assert_eq!(
        exported.lines().skip(4).collect::<Vec<_>>(),
        export(&ui).await.lines().skip(4).collect::<Vec<_>>()
    );
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        exported.replacen("priority: 10\n", "priority: 12\n", 1),
    )
    .expect("write");
    let file = path.to_str().expect("a path");
    let (ok, out, err) = run(&["rules", "import", file, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"applied\": false"), "{out}");
    assert_eq!(ui.count(AUDITS).await, 0);
    let (ok, out, err) = run(&["rules", "import", file, "--reason", "from git"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"applied\": true"), "{out}");
    assert_eq!(ui.count(AUDITS).await, 1);

    std::fs::write(&path, "rules:\n  - name: x\n    priority: [1]\n").expect("write");
    let (ok, _, err) = run(&["rules", "import", file]);
    assert!(!ok);
    assert!(
        err.contains(&format!("{file}:3: priority must be a single value")),
        "{err}"
    );
    assert_eq!(ui.count(AUDITS).await, 1);
    std::fs::remove_dir_all(&dir).ok();
    ui.stop().await;
}

/// Puts `events` in the backtest sample, as the alerters write it (newest first).
async fn sample(ui: &Ui, events: &[Value]) {
    let mut redis = ui.redis.conn().await;
    let items: Vec<String> = events.iter().map(Value::to_string).collect();
    let _: () = redis::cmd("LPUSH")
        .arg(&ui.redis.keys.backtest_sample)
        .arg(items)
        .query_async(&mut redis)
        .await
        .expect("LPUSH");
}

fn event(host: &str, message: &str) -> Value {
    serde_json::json!({"hostname": host, "message": message,
        "timestamp": "2026-12-07T10:00:00Z", "syslog_severity": 3,
        "_event_id": uuid::Uuid::now_v7().to_string()})
}

#[tokio::test]
async fn a_backtest_reports_what_a_draft_would_change_with_examples() {
    let ui = Ui::start().await;
    let mut events: Vec<Value> = (0..30)
        .map(|i| event("core1", &format!("LINK-DOWN Gi0/{i}")))
        .collect();
    events.extend((0..20).map(|i| event("core1", &format!("BGP-5-ADJCHANGE peer {i}"))));
    events.extend((0..10).map(|_| event("core1", "all quiet")));
    sample(&ui, &events).await;
    let file = export(&ui).await;
    // The draft: LINK-DOWN stops paging (ticket only), BGP changes page a new rule.
    let draft = file.clone()
        + "\n  - name: bgp flap\n    match_string: BGP-5-ADJCHANGE\n    priority: 1\n    prod_handling: Page_only\n    dev_handling: Ignore\n    team_assignment: Routing\n";
    let link_rule = ui
        .count("SELECT id::bigint FROM alert_rules WHERE match_string = 'LINK-DOWN'")
        .await;
    let draft = draft.replacen(
        "match_string: \"LINK-DOWN\"\n    priority: 5\n    prod_handling: \"Page_and_ticket\"",
        "match_string: \"LINK-DOWN\"\n    priority: 5\n    prod_handling: \"Ticket_only\"",
        1,
    );
    assert_ne!(draft, file, "the LINK-DOWN sample rule is edited: {file}");
    let (status, report) = answer(
        ui.request(Method::POST, "/api/v2/rules/backtest", Some(&ui.read_key))
            .body(draft)
            .send()
            .await
            .expect("backtest"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["events"], 60);
    assert_eq!(
        report["unchanged"], 10,
        "the quiet events stay unhandled: {report}"
    );
    let rules = report["rules"].as_array().expect("rules");
    let by_name = |name: &str| {
        rules
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    assert_eq!(by_name("bgp flap")["events"], 20);
    assert_eq!(by_name("bgp flap")["id"], -1, "new rules get negative ids");
    let changes = report["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{report}");
    assert_eq!(changes[0]["events"], 30);
    assert_eq!(changes[0]["from"]["rule_id"], link_rule);
    assert_eq!(changes[0]["from"]["handling"], "Page_and_ticket");
    assert_eq!(changes[0]["to"]["handling"], "Ticket_only");
    assert_eq!(
        changes[0]["examples"].as_array().expect("examples").len(),
        3
    );
    assert_eq!(changes[1]["events"], 20);
    assert_eq!(changes[1]["from"]["handling"], "unhandled");
    assert_eq!(changes[1]["to"]["rule_name"], "bgp flap");
    assert_eq!(changes[1]["to"]["forwarded"], true);
    assert!(
        changes[1]["examples"][0]["message"]
            .as_str()
            .expect("a message")
            .starts_with("BGP-5-ADJCHANGE")
    );
    // A draft with problems is refused like an import.
    let (status, error) = answer(
        ui.request(Method::POST, "/api/v2/rules/backtest", Some(&ui.read_key))
            .body("rules:\n  - name: x\n")
            .send()
            .await
            .expect("backtest"),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["problems"][0]["line"], 2);
    ui.stop().await;
}
