//! Silences through the JSON API, the pages and the `webui silences` subcommands, against
//! real PostgreSQL and Redis: made, listed by state, extended, expired and deleted, each
//! change audited and announced to the alerters; bad input is a 400 that changes nothing.

mod support;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Ui, answer};

const SILENCES: &str = "SELECT count(*) FROM silences";
const AUDITS: &str = "SELECT count(*) FROM config_audit_log WHERE table_name = 'silences'";

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a time").parse().expect("RFC 3339")
}

async fn make(ui: &Ui, body: Value) -> (u16, Value) {
    answer(
        ui.admin(Method::POST, "/api/v2/silences")
            .json(&body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

#[tokio::test]
async fn silences_are_made_listed_extended_expired_and_deleted_with_an_audit_row_each() {
    let ui = Ui::start().await;
    let mut changes = ui.change_notices().await;
    let mut notices = changes.on_message();

    let before = Utc::now();
    let (status, made) = make(
        &ui,
        json!({"hostname": "core-rtr-*", "rule_id": 1, "duration_seconds": 3600,
               "reason": "CHG-1 core upgrade"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_i64().expect("an id");
    assert_eq!(made["state"], "active");
    assert_eq!(made["created_by"], "webui-api-key");
    assert_eq!(made["hostname"], "core-rtr-*");
    let starts = time(&made["starts_at"]);
    assert!(starts >= before - Duration::seconds(1) && starts <= Utc::now());
    assert_eq!(time(&made["ends_at"]) - starts, Duration::hours(1));
    tokio::time::timeout(std::time::Duration::from_secs(2), notices.next())
        .await
        .expect("the alerters are told at once")
        .expect("a notice");

    let later = (Utc::now() + Duration::days(1)).to_rfc3339();
    let until = (Utc::now() + Duration::days(2)).to_rfc3339();
    let (status, upcoming) = make(
        &ui,
        json!({"message_regex": "fan tray \\d+", "team": "NetOps", "starts_at": later,
               "ends_at": until, "reason": "CHG-2"}),
    )
    .await;
    assert_eq!(status, 201, "{upcoming}");
    assert_eq!(upcoming["state"], "upcoming");
    let upcoming_id = upcoming["id"].as_i64().expect("an id");

    let listed = |state: &'static str| {
        let ui = &ui;
        async move {
            let (status, body) = answer(
                ui.request(
                    Method::GET,
                    &format!("/api/v2/silences?state={state}"),
                    Some(&ui.read_key),
                )
                .send()
                .await
                .expect("GET"),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["silences"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|s| s["id"].as_i64().expect("id"))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("active").await, vec![id]);
    assert_eq!(listed("upcoming").await, vec![upcoming_id]);
    assert!(listed("expired").await.is_empty());

    let (status, extended) = answer(
        ui.admin(Method::POST, &format!("/api/v2/silences/{id}/extend"))
            .json(&json!({"by_seconds": 1800, "reason": "running late"}))
            .send()
            .await
            .expect("extend"),
    )
    .await;
    assert_eq!(status, 200, "{extended}");
    assert_eq!(
        time(&extended["ends_at"]) - time(&made["ends_at"]),
        Duration::minutes(30)
    );

    let (status, expired) = answer(
        ui.admin(Method::POST, &format!("/api/v2/silences/{id}/expire"))
            .send()
            .await
            .expect("expire"),
    )
    .await;
    assert_eq!(status, 200, "{expired}");
    assert_eq!(expired["state"], "expired");
    assert_eq!(listed("expired").await, vec![id]);
    assert!(listed("active").await.is_empty());

    // Expired stays expired.
    for (path, body) in [("extend", json!({"by_seconds": 60})), ("expire", json!({}))] {
        let (status, error) = answer(
            ui.admin(Method::POST, &format!("/api/v2/silences/{id}/{path}"))
                .json(&body)
                .send()
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(status, 409, "{path}: {error}");
    }

    // An upcoming one expired never starts.
    let (status, never) = answer(
        ui.admin(
            Method::POST,
            &format!("/api/v2/silences/{upcoming_id}/expire"),
        )
        .json(&json!({"reason": "cancelled"}))
        .send()
        .await
        .expect("expire"),
    )
    .await;
    assert_eq!(status, 200, "{never}");
    assert_eq!(never["state"], "expired");
    assert!(time(&never["starts_at"]) <= time(&never["ends_at"]));

    let (status, deleted) = answer(
        ui.admin(Method::DELETE, &format!("/api/v2/silences/{id}"))
            .json(&json!({"reason": "tidy"}))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"]["id"], id);
    let (status, _) = answer(
        ui.admin(Method::GET, &format!("/api/v2/silences/{id}"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 404);

    // create ×2, extend, expire ×2, delete; the deleted one's history stays.
    assert_eq!(ui.count(AUDITS).await, 6);
    let conn = ui.db.pool.get().await.expect("connection");
    let rows = conn
        .query(
            "SELECT operation, changed_by, reason FROM config_audit_log \
             WHERE table_name = 'silences' AND record_id = $1 ORDER BY id",
            &[&(id as i32)],
        )
        .await
        .expect("audit");
    let history: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let admin = || "webui-api-key".to_owned();
    assert_eq!(
        history,
        vec![
            ("CREATE".into(), admin(), Some("CHG-1 core upgrade".into())),
            ("UPDATE".into(), admin(), Some("running late".into())),
            ("UPDATE".into(), admin(), None),
            ("DELETE".into(), admin(), Some("tidy".into())),
        ]
    );
    ui.stop().await;
}

#[tokio::test]
async fn bad_silences_are_a_400_that_names_the_problem_and_change_nothing() {
    let ui = Ui::start().await;
    let soon = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let cases = [
        (
            json!({"duration_seconds": 60, "reason": "r"}),
            "at least one matcher",
        ),
        (json!({"hostname": "a", "duration_seconds": 60}), "reason"),
        (
            json!({"hostname": "a", "reason": "r"}),
            "ends_at or duration_seconds",
        ),
        (
            json!({"hostname": "a", "ends_at": soon, "duration_seconds": 60, "reason": "r"}),
            "ends_at or duration_seconds",
        ),
        (
            json!({"hostname": "a", "ends_at": past, "reason": "r"}),
            "not in the future",
        ),
        (
            json!({"hostname": "a", "ends_at": "tomorrow", "reason": "r"}),
            "RFC 3339",
        ),
        (
            json!({"hostname": "core-[", "duration_seconds": 60, "reason": "r"}),
            "glob",
        ),
        (
            json!({"message_regex": "(", "duration_seconds": 60, "reason": "r"}),
            "regex",
        ),
        (
            json!({"rule_id": 999, "duration_seconds": 60, "reason": "r"}),
            "does not exist",
        ),
        (
            json!({"hostname": " ", "duration_seconds": 60, "reason": "r"}),
            "hostname",
        ),
        (
            json!({"hostname": "a", "duration_seconds": 0, "reason": "r"}),
            "duration_seconds",
        ),
        (
            json!({"hostname": "a", "duration_seconds": 40_000_000, "reason": "r"}),
            "duration_seconds",
        ),
        (
            json!({"hostname": "a", "duration_seconds": 60, "reason": "r", "x": 1}),
            "unknown field",
        ),
    ];
    for (body, says) in cases {
        let (status, error) = make(&ui, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{body}: {message:?} should say {says:?}"
        );
    }
    assert_eq!(ui.count(SILENCES).await, 0);
    assert_eq!(ui.count(AUDITS).await, 0);

    // A read key may list, not make.
    let (status, _) = answer(
        ui.request(Method::POST, "/api/v2/silences", Some(&ui.read_key))
            .json(&json!({"hostname": "a", "duration_seconds": 60, "reason": "r"}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = answer(
        ui.request(
            Method::GET,
            "/api/v2/silences?state=later",
            Some(&ui.read_key),
        )
        .send()
        .await
        .expect("GET"),
    )
    .await;
    assert_eq!(status, 400);
    for (method, path) in [
        (Method::GET, "/api/v2/silences/77"),
        (Method::POST, "/api/v2/silences/77/expire"),
        (Method::DELETE, "/api/v2/silences/77"),
    ] {
        let (status, _) = answer(ui.admin(method, path).send().await.expect("send")).await;
        assert_eq!(status, 404, "{path}");
    }
    ui.stop().await;
}

#[tokio::test]
async fn the_cli_makes_lists_extends_and_expires_silences() {
    let ui = Ui::start().await;
    let run = |args: &[&str]| {
        let vars = support::env(&ui.db, &ui.redis, &[]);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
            .args(args)
            .env_clear()
            .envs(vars)
            .output()
            .expect("webui runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stdout, stderr)
    };
    let (ok, out, err) = run(&[
        "silences",
        "add",
        "--hostname",
        "sw-9",
        "--duration-seconds",
        "600",
        "--reason",
        "CHG-9",
    ]);
    assert!(ok, "{err}");
    let made: Value = serde_json::from_str(out.trim()).expect("JSON");
    let id = made["id"].as_i64().expect("id").to_string();
    assert_eq!(made["created_by"], "webui-cli");

    let (ok, out, err) = run(&["silences", "extend", &id, "--by-seconds", "60"]);
    assert!(ok, "{err}");
    let extended: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(
        time(&extended["ends_at"]) - time(&made["ends_at"]),
        Duration::minutes(1)
    );
    let (ok, out, err) = run(&["silences", "list", "--state", "active"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, _, err) = run(&["silences", "expire", &id, "--reason", "done early"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["silences", "list", "--state", "expired"]);
    assert!(ok);
    assert!(out.contains(&format!("\"id\":{id}")), "{out}");
    // Refused input fails with the API's message and changes nothing.
    let (ok, _, err) = run(&[
        "silences",
        "add",
        "--duration-seconds",
        "60",
        "--reason",
        "r",
    ]);
    assert!(!ok);
    assert!(err.contains("at least one matcher"), "{err}");
    assert_eq!(ui.count(SILENCES).await, 1);
    assert_eq!(ui.count(AUDITS).await, 3);
    ui.stop().await;
}
