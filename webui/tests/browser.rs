//! The HTML UI in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`webui/tests/browser/ui-flow.mjs`), against a web UI on port 0 with a fresh schema
//! and Redis prefix. `scripts/browser-deps` installs Chromium and playwright-core when
//! they are missing; the test fails, saying why, when it cannot.
//!
//! The script signs in, creates a rule (after a refused bad regex), tests an event
//! against it, edits and deletes it, replays a DLQ item, makes a silence and screenshots
//! the dashboard with its SVG charts (`target/browser-artifacts/dashboard.png`); then this
//! test checks what the clicks left behind in PostgreSQL and Redis.

mod support;

use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use support::{ADMIN_KEY, Ui};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_manages_rules_and_replays_a_dead_letter_in_chromium() {
    let root = repo_root();
    let deps = Command::new(root.join("scripts/browser-deps"))
        .status()
        .expect("running scripts/browser-deps");
    assert!(
        deps.success(),
        "scripts/browser-deps could not install Chromium or playwright-core (see above)"
    );
    let chromium = which("chromium").expect("chromium on PATH after scripts/browser-deps");

    let ui = Ui::start().await;
    let mut redis = ui.redis.conn().await;
    let item = json!({"hostname": "r1", "message": "dead letter for the browser",
                      "failed_at": "2026-11-22T12:00:00.000Z", "failure_reason": "HTTP 400", "attempts": 1});
    let _: () = redis::cmd("LPUSH")
        .arg(&ui.redis.keys.moog_dlq)
        .arg(item.to_string())
        .query_async(&mut redis)
        .await
        .expect("lpush");
    let artifacts = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    let _ = std::fs::remove_file(artifacts.join("dashboard.png"));
    let rule_name = format!("browser rule {}", ui.redis.keys.prefix);

    let base = ui.base.clone();
    let read_key = ui.read_key.clone();
    let (rule, artifacts_dir) = (rule_name.clone(), artifacts.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("ui-flow.mjs")
            .current_dir(root.join("webui/tests/browser"))
            .env("BASE_URL", base)
            .env("ADMIN_KEY", ADMIN_KEY)
            .env("READ_KEY", read_key)
            .env("RULE_NAME", rule)
            .env("ARTIFACTS", artifacts_dir)
            .env("CHROMIUM", chromium)
            .output()
            .expect("running node")
    })
    .await
    .expect("the browser run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("browser flow: ok"),
        "the browser flow failed (screenshot in target/browser-artifacts/failure.png):\n{stdout}\n{stderr}"
    );

    // What the clicks did, as the database and Redis see it.
    let name = rule_name.replace('\'', "''");
    assert_eq!(
        ui.count(&format!(
            "SELECT count(*) FROM alert_rules WHERE name = '{name}'"
        ))
        .await,
        0,
        "the rule was deleted"
    );
    let audited = ui
        .count(&format!(
            "SELECT count(*) FROM config_audit_log WHERE table_name = 'alert_rules' \
             AND changed_by = 'webui-api-key' \
             AND coalesce(new_values, old_values)->>'name' = '{name}'"
        ))
        .await;
    assert_eq!(
        audited, 3,
        "create, update and delete audited as the admin key"
    );
    let refused = ui
        .count("SELECT count(*) FROM alert_rules WHERE match_string LIKE 'BROWSER-TEST-(unclosed%'")
        .await;
    assert_eq!(refused, 0, "the bad regex was never stored");
    let (dlq, queued): (u64, Vec<String>) = redis::pipe()
        .llen(&ui.redis.keys.moog_dlq)
        .lrange(&ui.redis.keys.alert_queue, 0, -1)
        .query_async(&mut redis)
        .await
        .expect("queues");
    assert_eq!(dlq, 0, "the DLQ item was replayed");
    assert_eq!(queued.len(), 1, "…onto the alert queue");
    assert!(queued[0].contains("dead letter for the browser"));
    assert_eq!(
        ui.count(
            "SELECT count(*) FROM silences WHERE hostname = 'browser-maint-*' \
             AND reason = 'browser test window' AND created_by = 'webui-api-key'"
        )
        .await,
        1,
        "the silence made in the browser"
    );
    let png = std::fs::read(artifacts.join("dashboard.png")).expect("the dashboard screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    ui.stop().await;
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}
