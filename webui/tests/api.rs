//! The JSON API against real PostgreSQL and Redis, the server on port 0: every route of
//! this slice, status codes and bodies, scopes, v1/v2 parity, audit rows written in the
//! same transaction as the change, and bad input answered with 400s that change nothing.

mod support;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN_KEY, Ui, answer};

const AUDITS: &str = "SELECT count(*) FROM config_audit_log";
const RULES: &str = "SELECT count(*) FROM alert_rules";

fn new_rule() -> Value {
    json!({
        "name": "core link down",
        "match_string": "LINK-DOWN core",
        "priority": 7,
        "prod_handling": "Page_and_ticket",
        "dev_handling": "Ignore",
        "team_assignment": "NetOps",
        "syslog_severity": "error",
        "reason": "ticket 42"
    })
}

#[tokio::test]
async fn rules_are_created_read_updated_and_deleted_with_an_audit_row_each() {
    let ui = Ui::start().await;
    let (status, created) = answer(
        ui.admin(Method::POST, "/api/v2/rules")
            .header("X-Correlation-ID", "corr-123")
            .json(&new_rule())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["message"], "Rule created successfully");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["rule"]["syslog_severity"], 3, "names become levels");
    assert_eq!(created["rule"]["match_type"], "contains", "v2.5's default");

    let (status, rule) = answer(
        ui.admin(Method::GET, &format!("/api/v2/rules/{id}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        (status, rule["name"].clone()),
        (200, json!("core link down"))
    );
    assert_eq!(
        (rule["hit_count"].clone(), rule["last_matched_at"].clone()),
        (json!(0), Value::Null)
    );
    // What the alerter keeps in Redis shows on the rule.
    let mut redis = ui.redis.conn().await;
    let _: () = redis::pipe()
        .hset(&ui.redis.keys.rule_hits, id, 7)
        .hset(
            &ui.redis.keys.rule_last_match,
            id,
            "2026-11-22T10:00:00.000Z",
        )
        .query_async(&mut redis)
        .await
        .expect("hits");
    let (_, listed) = answer(
        ui.admin(Method::GET, "/api/v2/rules")
            .send()
            .await
            .expect("list"),
    )
    .await;
    let listed = listed["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .expect("listed");
    assert_eq!(
        (
            listed["hit_count"].clone(),
            listed["last_matched_at"].clone()
        ),
        (json!(7), json!("2026-11-22T10:00:00.000Z"))
    );

    let (status, updated) = answer(
        ui.admin(Method::PUT, &format!("/api/v2/rules/{id}"))
            .json(&json!({"priority": 3, "match_type": "regex", "match_string": "link-down (core|edge)"}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["message"], "Rule updated successfully");
    assert_eq!(updated["rule"]["priority"], 3);
    assert_eq!(
        updated["rule"]["team_assignment"], "NetOps",
        "untouched fields stay"
    );

    let (status, deleted) = answer(
        ui.admin(Method::DELETE, &format!("/api/v2/rules/{id}"))
            .json(&json!({"reason": "retired"}))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(
        (status, deleted["deactivated"].clone()),
        (200, json!(false))
    );
    let (status, _) = answer(
        ui.admin(Method::GET, &format!("/api/v2/rules/{id}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);

    let conn = ui.db.pool.get().await.expect("connection");
    let audits = conn
        .query(
            "SELECT operation, changed_by, reason, correlation_id, old_values, new_values \
             FROM config_audit_log WHERE table_name = 'alert_rules' AND record_id = $1 ORDER BY id",
            &[&(id as i32)],
        )
        .await
        .expect("audits");
    let ops: Vec<String> = audits.iter().map(|r| r.get(0)).collect();
    assert_eq!(ops, ["CREATE", "UPDATE", "DELETE"]);
    assert!(
        audits
            .iter()
            .all(|r| r.get::<_, String>(1) == "webui-api-key")
    );
    assert_eq!(
        audits[0].get::<_, Option<String>>(2).as_deref(),
        Some("ticket 42")
    );
    assert_eq!(
        audits[0].get::<_, Option<String>>(3).as_deref(),
        Some("corr-123")
    );
    assert_eq!(
        audits[2].get::<_, Option<String>>(2).as_deref(),
        Some("retired")
    );
    let (old, new): (Value, Value) = (audits[1].get(4), audits[1].get(5));
    assert_eq!(
        (old["priority"].clone(), new["priority"].clone()),
        (json!(7), json!(3))
    );
    assert!(
        audits[2].get::<_, Option<Value>>(5).is_none(),
        "DELETE has no new values"
    );
    ui.stop().await;
}

#[tokio::test]
async fn a_rule_change_is_announced_to_the_alerters() {
    let ui = Ui::start().await;
    let mut pubsub = ui.change_notices().await;
    let (status, _) = answer(
        ui.admin(Method::POST, "/api/v1/rules")
            .json(&new_rule())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 201);
    let message = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        pubsub.on_message().next(),
    )
    .await
    .expect("a notice within 2 s")
    .expect("a message");
    assert_eq!(
        message.get_channel_name(),
        ui.redis.keys.rules_changed_channel()
    );
    ui.stop().await;
}

#[tokio::test]
async fn bad_rule_input_is_a_400_that_names_the_problem_and_changes_nothing() {
    let ui = Ui::start().await;
    let (rules, audits) = (ui.count(RULES).await, ui.count(AUDITS).await);
    let with = |patch: Value| {
        let mut rule = new_rule();
        for (k, v) in patch.as_object().expect("object") {
            if v.is_null() {
                rule.as_object_mut().expect("object").remove(k);
            } else {
                rule[k] = v.clone();
            }
        }
        rule
    };
    let cases = [
        (
            with(json!({"match_type": "regex", "match_string": "(["})),
            "invalid regex",
        ),
        (
            with(json!({"match_type": "glob"})),
            "match_type must be one of",
        ),
        (
            with(json!({"priority": "high"})),
            "priority must be a number",
        ),
        (
            with(json!({"syslog_severity": 9})),
            "syslog_severity must be",
        ),
        (
            with(json!({"is_active": "yes"})),
            "is_active must be true or false",
        ),
        (
            with(json!({"team_assignment": null})),
            "Missing required fields",
        ),
        (
            with(json!({"prod_handling": ""})),
            "prod_handling is required",
        ),
        (
            with(json!({"match_string": null})),
            "Either match_string or trap_oid",
        ),
        (
            with(json!({"match_type": "oid_prefix"})),
            "oid_prefix needs a trap_oid",
        ),
        (with(json!({"colour": "red"})), "unknown field \"colour\""),
        (
            with(json!({"name": "x".repeat(300)})),
            "name is longer than 255",
        ),
        (json!([1, 2]), "invalid JSON body"),
    ];
    for (body, expected) in cases {
        let (status, reply) = answer(
            ui.admin(Method::POST, "/api/v2/rules")
                .json(&body)
                .send()
                .await
                .expect("post"),
        )
        .await;
        assert_eq!(status, 400, "{body} → {reply}");
        let message = reply["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{body}: {message:?} lacks {expected:?}"
        );
    }
    // Not JSON at all, and JSON without the content type.
    for request in [
        ui.admin(Method::POST, "/api/v2/rules")
            .header("content-type", "application/json")
            .body("{not json"),
        ui.admin(Method::POST, "/api/v2/rules")
            .body(new_rule().to_string()),
    ] {
        let (status, reply) = answer(request.send().await.expect("post")).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply["error"].as_str().is_some());
    }
    let (status, reply) = answer(
        ui.admin(Method::PUT, "/api/v2/rules/1")
            .json(&json!({"reason": "nothing else"}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(
        (status, reply["error"].clone()),
        (400, json!("No fields to update"))
    );
    for path in ["/api/v2/rules/999999", "/api/v2/rules/abc"] {
        let (status, reply) = answer(ui.admin(Method::GET, path).send().await.expect("get")).await;
        assert_eq!(status, 404, "{path}: {reply}");
    }
    assert_eq!(ui.count(RULES).await, rules, "no rule created or changed");
    assert_eq!(ui.count(AUDITS).await, audits, "no audit row written");
    ui.stop().await;
}

#[tokio::test]
async fn keys_are_checked_and_scopes_enforced() {
    let ui = Ui::start().await;
    let status = |r: reqwest::Response| r.status().as_u16();
    let get = |key: Option<&str>| ui.request(Method::GET, "/api/v2/rules", key).send();
    assert_eq!(status(get(None).await.expect("get")), 401);
    assert_eq!(status(get(Some("wrong")).await.expect("get")), 401);
    assert_eq!(status(get(Some(&ui.read_key)).await.expect("get")), 200);
    assert_eq!(status(get(Some(ADMIN_KEY)).await.expect("get")), 200);
    let (code, body) = answer(get(Some(&ui.ingest_key)).await.expect("get")).await;
    assert_eq!(
        (code, body["error"].clone()),
        (403, json!("this key lacks the read scope"))
    );
    let (code, _) = answer(
        ui.request(Method::POST, "/api/v2/rules", Some(&ui.read_key))
            .json(&new_rule())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(code, 403, "a read key cannot write");
    let (code, body) = answer(get(None).await.expect("get")).await;
    assert_eq!((code, body["error"].clone()), (401, json!("Unauthorized")));

    // v2.5 accepted ?api_key= on its (v1) routes; v2 wants the header.
    let v1 = ui
        .client
        .get(format!("{}/api/v1/rules?api_key={}", ui.base, ui.read_key))
        .send()
        .await
        .expect("get");
    assert_eq!(v1.status(), 200);
    let v2 = ui
        .client
        .get(format!("{}/api/v2/rules?api_key={}", ui.base, ui.read_key))
        .send()
        .await
        .expect("get");
    assert_eq!(v2.status(), 401);

    // A named admin key writes under its own name.
    let (ops, _) = shared::store::api_keys::create_key(
        &ui.db.pool.get().await.expect("a connection"),
        "ops-team",
        &[shared::store::api_keys::Scope::Admin],
        "test",
    )
    .await
    .expect("key");
    let (code, _) = answer(
        ui.request(Method::POST, "/api/v2/dev-hosts", Some(&ops))
            .json(&json!({"hostname": "lab-1"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        ui.count("SELECT count(*) FROM config_audit_log WHERE changed_by = 'ops-team'")
            .await,
        1
    );
    // No key material in the audit trail.
    assert_eq!(
        ui.count(&format!(
            "SELECT count(*) FROM config_audit_log WHERE changed_by LIKE '%{}%'",
            &ops[5..15]
        ))
        .await,
        0
    );
    ui.stop().await;
}

#[tokio::test]
async fn v1_and_v2_answer_alike_with_the_version_headers() {
    let ui = Ui::start().await;
    let mut bodies = Vec::new();
    for (prefix, deprecated) in [("/api/v1", "true"), ("/api/v2", "false")] {
        for path in ["/rules", "/dev-hosts", "/teams", "/dlq"] {
            let response = ui
                .admin(Method::GET, &format!("{prefix}{path}"))
                .send()
                .await
                .expect("get");
            assert_eq!(response.status(), 200, "{prefix}{path}");
            let headers = response.headers().clone();
            assert_eq!(headers["x-api-version"], "2.5");
            assert_eq!(headers["x-api-supported-versions"], "2.5, 2.0, 1.0");
            assert_eq!(headers["x-api-deprecated"], deprecated);
            bodies.push((path, response.json::<Value>().await.expect("json")));
        }
    }
    let (v1, v2) = bodies.split_at(4);
    assert_eq!(v1, v2, "same payloads under v1 and v2");
    let (status, version) = answer(
        ui.request(Method::GET, "/api/v1/version", None)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        (status, version["current_version"].clone()),
        (200, json!("2.5"))
    );
    for v in ["2.5", "2.0", "1.0"] {
        let entry = &version["version_history"][v];
        assert!(entry["released"].is_string(), "{v}: {entry}");
        assert!(
            entry["changes"]
                .as_array()
                .is_some_and(|c| !c.is_empty() && c.iter().all(Value::is_string)),
            "{v} lists its changes: {entry}"
        );
    }
    let (status, body) = answer(
        ui.admin(Method::GET, "/api/v2/no-such-route")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((status, body["error"].clone()), (404, json!("Not found")));
    ui.stop().await;
}

#[tokio::test]
async fn a_write_whose_audit_row_fails_is_rolled_back() {
    let ui = Ui::start().await;
    let rules = ui.count(RULES).await;
    // Break the audit table: the change must not land without its audit row.
    ui.db
        .pool
        .get()
        .await
        .expect("connection")
        .batch_execute("ALTER TABLE config_audit_log RENAME TO config_audit_log_away")
        .await
        .expect("rename");
    let (status, body) = answer(
        ui.admin(Method::POST, "/api/v2/rules")
            .json(&new_rule())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": "Internal server error"}),
        "no internals leak"
    );
    let (status, _) = answer(
        ui.admin(Method::POST, "/api/v2/dev-hosts")
            .json(&json!({"hostname": "never-added"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(ui.count(RULES).await, rules);
    assert_eq!(
        ui.count("SELECT count(*) FROM development_hosts WHERE hostname = 'never-added'")
            .await,
        0
    );
    ui.stop().await;
}

#[tokio::test]
async fn deleting_a_rule_that_audit_rows_name_deactivates_it() {
    let ui = Ui::start().await;
    let conn = ui.db.pool.get().await.expect("connection");
    let id: i32 = conn
        .query_one("SELECT min(id) FROM alert_rules", &[])
        .await
        .expect("rule")
        .get(0);
    conn.execute(
        "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, event_id) \
         VALUES (now(), 'r1', $1, 'Ignore', gen_random_uuid())",
        &[&id],
    )
    .await
    .expect("audit row");
    let (status, body) = answer(
        ui.admin(Method::DELETE, &format!("/api/v2/rules/{id}"))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(
        (status, body["deactivated"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (_, rule) = answer(
        ui.admin(Method::GET, &format!("/api/v2/rules/{id}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(rule["is_active"], false);
    ui.stop().await;
}

#[tokio::test]
async fn dev_hosts_and_teams_behave_as_in_v25_and_are_audited() {
    let ui = Ui::start().await;
    let audits = ui.count(AUDITS).await;
    let send = |method: Method, path: &str, body: Option<Value>| {
        let request = ui.admin(method, path);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move { answer(request.send().await.expect("request")).await }
    };
    assert_eq!(
        send(
            Method::POST,
            "/api/v1/dev-hosts",
            Some(json!({"hostname": "lab-9"}))
        )
        .await,
        (201, json!({"message": "Dev host added successfully"}))
    );
    assert_eq!(
        send(
            Method::POST,
            "/api/v1/dev-hosts",
            Some(json!({"hostname": "lab-9"}))
        )
        .await,
        (409, json!({"error": "Hostname already exists"}))
    );
    assert_eq!(
        send(Method::POST, "/api/v1/dev-hosts", Some(json!({}))).await,
        (400, json!({"error": "hostname is required"}))
    );
    let (_, hosts) = send(Method::GET, "/api/v1/dev-hosts", None).await;
    assert!(
        hosts["hosts"]
            .as_array()
            .expect("hosts")
            .contains(&json!({"hostname": "lab-9"}))
    );
    assert_eq!(
        send(Method::DELETE, "/api/v1/dev-hosts/lab-9", None).await,
        (200, json!({"message": "Dev host deleted successfully"}))
    );
    assert_eq!(
        send(Method::DELETE, "/api/v1/dev-hosts/lab-9", None).await,
        (404, json!({"error": "Hostname not found"}))
    );

    let team = json!({"hostname": "edge-7", "team_assignment": "Transport"});
    assert_eq!(
        send(Method::POST, "/api/v1/teams", Some(team.clone())).await,
        (201, json!({"message": "Team mapping added successfully"}))
    );
    assert_eq!(
        send(Method::POST, "/api/v1/teams", Some(team)).await,
        (
            409,
            json!({"error": "Hostname already has a team assignment"})
        )
    );
    assert_eq!(
        send(
            Method::POST,
            "/api/v1/teams",
            Some(json!({"hostname": "x"}))
        )
        .await,
        (
            400,
            json!({"error": "hostname and team_assignment are required"})
        )
    );
    assert_eq!(
        send(
            Method::PUT,
            "/api/v1/teams/edge-7",
            Some(json!({"team_assignment": "Core"}))
        )
        .await,
        (200, json!({"message": "Team mapping updated successfully"}))
    );
    assert_eq!(
        send(
            Method::PUT,
            "/api/v1/teams/nope",
            Some(json!({"team_assignment": "Core"}))
        )
        .await,
        (404, json!({"error": "Hostname not found"}))
    );
    let (_, teams) = send(Method::GET, "/api/v1/teams", None).await;
    assert!(
        teams["teams"]
            .as_array()
            .expect("teams")
            .contains(&json!({"hostname": "edge-7", "team_assignment": "Core"}))
    );
    assert_eq!(
        send(Method::DELETE, "/api/v1/teams/edge-7", None).await,
        (200, json!({"message": "Team mapping deleted successfully"}))
    );
    assert_eq!(
        ui.count(AUDITS).await,
        audits + 5,
        "host add and delete, team add, update and delete"
    );
    ui.stop().await;
}

#[tokio::test]
async fn dlqs_are_listed_replayed_and_purged_with_the_right_scopes() {
    let ui = Ui::start().await;
    let mut redis = ui.redis.conn().await;
    let item = json!({"hostname": "r1", "message": "m", "failed_at": "2026-11-22T12:00:00.000Z",
                      "failure_reason": "postgres refused", "attempts": 4});
    let _: () = redis::cmd("LPUSH")
        .arg(&ui.redis.keys.alerter_dlq)
        .arg(item.to_string())
        .arg(item.to_string())
        .query_async(&mut redis)
        .await
        .expect("lpush");

    let (status, depths) = answer(
        ui.request(Method::GET, "/api/v2/dlq", Some(&ui.read_key))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(depths["dlqs"][0], json!({"name": "alerter", "depth": 2}));
    let (status, listed) = answer(
        ui.request(
            Method::GET,
            "/api/v2/dlq/alerter?limit=1",
            Some(&ui.read_key),
        )
        .send()
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    assert_eq!(listed["items"][0]["failure_reason"], "postgres refused");
    for (path, expected) in [
        ("/api/v2/dlq/alerter?limit=500", 400),
        ("/api/v2/dlq/alerter?limit=x", 400),
        ("/api/v2/dlq/nope", 404),
    ] {
        let response = ui.admin(Method::GET, path).send().await.expect("get");
        assert_eq!(response.status(), expected, "{path}");
    }

    let replay = |key: &str, body: Value| {
        ui.request(Method::POST, "/api/v2/dlq/alerter/replay", Some(key))
            .json(&body)
            .send()
    };
    assert_eq!(
        replay(&ui.read_key, json!({"all": true}))
            .await
            .expect("post")
            .status(),
        403
    );
    let (status, body) = answer(replay(ADMIN_KEY, json!({"count": 0})).await.expect("post")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = answer(replay(ADMIN_KEY, json!({"count": 1})).await.expect("post")).await;
    assert_eq!((status, body), (200, json!({"replayed": 1, "dead": 0})));
    let queued: Vec<String> = redis::cmd("LRANGE")
        .arg(&ui.redis.keys.ingest_queue)
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .expect("lrange");
    assert_eq!(queued.len(), 1, "back on the ingest queue");
    assert!(
        !queued[0].contains("failure_reason"),
        "metadata removed on replay"
    );

    let (status, body) = answer(
        ui.admin(Method::POST, "/api/v2/dlq/dead/replay")
            .json(&json!({"all": true}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = answer(
        ui.admin(Method::DELETE, "/api/v2/dlq/alerter")
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"purged": 1})));
    ui.stop().await;
}

#[tokio::test]
async fn partitions_are_listed_with_range_size_and_estimate() {
    let ui = Ui::start().await;
    shared::store::ensure_partitions(&ui.db.pool, chrono::Utc::now(), 1)
        .await
        .expect("partitions");
    let (status, body) = answer(
        ui.request(Method::GET, "/api/v2/partitions", Some(&ui.read_key))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    let partitions = body["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 3, "DEFAULT, this month and next: {body}");
    assert!(partitions.iter().all(|p| p["range"].as_str().is_some()
        && p["size"].as_str().is_some()
        && p["row_estimate"].as_i64().is_some()));
    ui.stop().await;
}

#[tokio::test]
async fn dynamic_config_accepts_known_keys_with_valid_values_only_and_audits_them() {
    let ui = Ui::start().await;
    let put = |key: &str, body: Value| {
        ui.admin(Method::PUT, &format!("/api/v2/config/{key}"))
            .json(&body)
            .send()
    };
    let (status, body) = answer(
        put(
            "moog_rate_limit",
            json!({"value": 120, "reason": "Moog upgrade"}),
        )
        .await
        .expect("put"),
    )
    .await;
    assert_eq!(
        (status, body.clone()),
        (
            200,
            json!({"key": "moog_rate_limit", "old_value": null, "new_value": "120"})
        ),
        "{body}"
    );
    let (status, body) = answer(
        put("moog_rate_limit", json!({"value": "80"}))
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(
        (status, body["old_value"].clone(), body["new_value"].clone()),
        (200, json!("120"), json!("80"))
    );
    let stored: Option<String> = redis::cmd("GET")
        .arg(ui.redis.keys.config("moog_rate_limit"))
        .query_async(&mut ui.redis.conn().await)
        .await
        .expect("get");
    assert_eq!(stored.as_deref(), Some("80"));

    let audits = ui.count(AUDITS).await;
    for (key, body, expected) in [
        (
            "log_level",
            json!({"value": "debug"}),
            "unknown configuration key",
        ),
        (
            "moog_rate_limit",
            json!({"value": "fast"}),
            "moog_rate_limit must be a whole number",
        ),
        ("moog_rate_limit", json!({"value": 0}), "at least 1"),
        (
            "moog_rate_period",
            json!({"value": true}),
            "moog_rate_period must be a number of seconds",
        ),
        (
            "alerter_queue_shed_threshold",
            json!({"value": 2.5}),
            "whole number",
        ),
        (
            "moog_rate_limit",
            json!({"reason": "no value"}),
            "Missing 'value'",
        ),
        (
            "moog_rate_limit",
            json!({"value": 5, "extra": 1}),
            "unknown field",
        ),
    ] {
        let (status, answer) = answer(put(key, body.clone()).await.expect("put")).await;
        assert_eq!(status, 400, "{key} {body}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap_or_default()
                .contains(expected),
            "{key} {body}: {answer}"
        );
    }
    assert_eq!(
        ui.count(AUDITS).await,
        audits,
        "refused changes are not audited"
    );
    let forbidden = ui
        .request(
            Method::PUT,
            "/api/v2/config/moog_rate_limit",
            Some(&ui.read_key),
        )
        .json(&json!({"value": 1}))
        .send()
        .await
        .expect("put");
    assert_eq!(forbidden.status(), 403);

    let (status, listed) = answer(
        ui.admin(Method::GET, "/api/v1/config")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["config"], json!({"moog_rate_limit": "80"}));
    assert!(
        listed["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .any(|s| s["key"] == "max_ingest_queue_size")
    );
    let (status, history) = answer(
        ui.admin(Method::GET, "/api/v1/config/history?limit=1")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(history["pagination"]["total"], 2);
    assert_eq!(history["pagination"]["pages"], 2);
    assert_eq!(
        history["history"][0]["new_values"],
        json!({"key": "moog_rate_limit", "value": "80"})
    );
    assert_eq!(history["history"][0]["operation"], "UPDATE");
    ui.stop().await;
}

#[tokio::test]
async fn audit_log_page_size_is_the_page_size_when_none_is_asked() {
    let ui = Ui::start_with(&[("AUDIT_LOG_PAGE_SIZE", "2")]).await;
    // The seed's sample rules each left a config-audit row.
    let (status, changes) = answer(
        ui.admin(Method::GET, "/api/v2/config-audit")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200, "{changes}");
    assert_eq!(changes["pagination"]["limit"], 2, "{changes}");
    let rows = changes["changes"].as_array().expect("a list of changes");
    assert_eq!(rows.len(), 2, "{changes}");
    assert!(
        changes["pagination"]["total"].as_i64() > Some(2),
        "more than one page: {changes}"
    );
    let (_, asked) = answer(
        ui.admin(Method::GET, "/api/v2/config-audit?limit=3")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(asked["pagination"]["limit"], 3, "an explicit limit wins");
    ui.stop().await;
}

#[tokio::test]
async fn the_event_audit_is_filtered_and_paginated_newest_first() {
    let ui = Ui::start().await;
    shared::store::ensure_partitions(&ui.db.pool, chrono::Utc::now(), 1)
        .await
        .expect("partitions");
    let conn = ui.db.pool.get().await.expect("connection");
    let rule: i32 = conn
        .query_one("SELECT min(id) FROM alert_rules", &[])
        .await
        .expect("rule")
        .get(0);
    for (host, day) in [
        ("r1", "2026-11-01"),
        ("r1", "2026-11-02"),
        ("r2", "2026-11-03"),
        ("r1", "2026-11-04"),
    ] {
        conn.execute(
            "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, event_id) \
             VALUES ($1::text::timestamptz, $2, $3, 'Page_and_ticket', true, '{\"m\":1}', gen_random_uuid())",
            &[&format!("{day}T10:00:00Z"), &host, &rule],
        )
        .await
        .expect("audit row");
    }
    let get = |query: &str| {
        ui.admin(Method::GET, &format!("/api/v2/audit-logs{query}"))
            .send()
    };
    let (status, all) = answer(get("").await.expect("get")).await;
    assert_eq!(status, 200);
    let days: Vec<&str> = all["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| &l["event_timestamp"].as_str().unwrap_or_default()[..10])
        .collect();
    assert_eq!(
        days,
        ["2026-11-04", "2026-11-03", "2026-11-02", "2026-11-01"],
        "newest first"
    );
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "limit": 50, "total": 4, "pages": 1, "total_capped": false})
    );

    let (_, r1) = answer(get("?hostname=r1&limit=2&page=2").await.expect("get")).await;
    assert_eq!(r1["logs"].as_array().expect("logs").len(), 1);
    assert_eq!(r1["logs"][0]["event_timestamp"], "2026-11-01T10:00:00.000Z");
    assert_eq!(r1["pagination"]["total"], 3);
    let (_, ranged) = answer(
        get(&format!(
            "?rule_id={rule}&start_date=2026-11-02&end_date=2026-11-03T23:00:00Z"
        ))
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(ranged["logs"].as_array().expect("logs").len(), 2);
    assert_eq!(ranged["logs"][0]["raw_message"], "{\"m\":1}");
    for bad in [
        "?rule_id=abc",
        "?start_date=yesterday",
        "?limit=201",
        "?page=0",
    ] {
        let (status, body) = answer(get(bad).await.expect("get")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].as_str().is_some());
    }
    ui.stop().await;
}

#[tokio::test]
async fn config_audit_is_searchable_under_both_v25_routes() {
    let ui = Ui::start().await;
    for host in ["lab-1", "lab-2"] {
        let response = ui
            .admin(Method::POST, "/api/v2/dev-hosts")
            .json(&json!({"hostname": host, "reason": "lab build-out"}))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 201);
    }
    let response = ui
        .admin(Method::DELETE, "/api/v2/dev-hosts/lab-2")
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 200);

    let (status, changes) = answer(
        ui.admin(
            Method::GET,
            "/api/v2/config-audit?operation=delete&table_name=development_hosts",
        )
        .send()
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    let rows = changes["changes"].as_array().expect("changes");
    assert_eq!(rows.len(), 1, "{changes}");
    assert_eq!(rows[0]["old_values"], json!({"hostname": "lab-2"}));
    assert_eq!(rows[0]["changed_by"], "webui-api-key");

    let (status, logs) = answer(
        ui.admin(
            Method::GET,
            "/api/v1/audit?changed_by=WEBUI&operation=CREATE&limit=1",
        )
        .send()
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(logs["logs"].as_array().expect("logs").len(), 1);
    assert_eq!(logs["logs"][0]["reason"], "lab build-out");
    assert_eq!(logs["pagination"]["total"], 2);
    let (status, body) = answer(
        ui.admin(Method::GET, "/api/v1/audit?operation=MERGE")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("operation must be CREATE, UPDATE or DELETE"))
    );
    ui.stop().await;
}

#[tokio::test]
async fn rules_test_says_which_rule_matches_an_event_and_why() {
    let ui = Ui::start().await;
    let test = |body: Value| {
        ui.request(Method::POST, "/api/v2/rules/test", Some(&ui.read_key))
            .json(&body)
            .send()
    };
    let link_down: i32 = ui
        .db
        .pool
        .get()
        .await
        .expect("connection")
        .query_one(
            "SELECT id FROM alert_rules WHERE match_string = 'LINK-DOWN'",
            &[],
        )
        .await
        .expect("sample rule")
        .get(0);

    let (status, verdict) = answer(
        test(json!({"hostname": "core-r1", "message": "%LINK-3: LINK-DOWN on Gi0/1"}))
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["matched"], true);
    assert_eq!(verdict["rule"]["id"], link_down);
    assert_eq!(
        (
            verdict["environment"].clone(),
            verdict["handling"].clone(),
            verdict["forward"].clone()
        ),
        (json!("prod"), json!("Page_and_ticket"), json!(true))
    );
    assert!(
        verdict["why"]
            .as_str()
            .expect("why")
            .contains("the message contains \"LINK-DOWN\""),
        "{verdict}"
    );

    let (_, dev) = answer(
        test(
            json!({"hostname": "dev-router1", "message": "ERROR parity", "syslog_severity": "err"}),
        )
        .await
        .expect("post"),
    )
    .await;
    assert_eq!(
        (
            dev["environment"].clone(),
            dev["handling"].clone(),
            dev["forward"].clone()
        ),
        (json!("dev"), json!("Ignore"), json!(false)),
        "{dev}"
    );
    let (_, none) = answer(
        test(json!({"hostname": "r1", "message": "all quiet"}))
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(
        (none["matched"].clone(), none["rule"].clone()),
        (json!(false), Value::Null)
    );

    for (body, expected) in [
        (json!("LINK-DOWN"), "JSON object"),
        (json!({"hostname": "r1"}), "not an event"),
    ] {
        let (status, reply) = answer(test(body.clone()).await.expect("post")).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(
            reply["error"]
                .as_str()
                .unwrap_or_default()
                .contains(expected),
            "{body}: {reply}"
        );
    }
    let forbidden = ui
        .request(Method::POST, "/api/v2/rules/test", Some(&ui.ingest_key))
        .json(&json!({"hostname": "r1", "message": "m"}))
        .send()
        .await
        .expect("post");
    assert_eq!(forbidden.status(), 403);
    ui.stop().await;
}

#[tokio::test]
async fn the_dashboard_data_has_wall_clock_rates_queue_depths_and_the_breaker_state() {
    let ui = Ui::start().await;
    let mut redis = ui.redis.conn().await;
    let now = chrono::Utc::now();
    // 42 events in every minute around now (so a minute boundary during the test changes
    // nothing), 1,200 in every hour.
    let mut pipe = redis::pipe();
    for i in -2..=62 {
        let at = now - chrono::Duration::minutes(i);
        pipe.set(&ui.redis.keys.ingest_counters(at)[0].0, 42)
            .ignore();
    }
    for i in -1..=25 {
        let at = now - chrono::Duration::hours(i);
        pipe.set(&ui.redis.keys.ingest_counters(at)[1].0, 1200)
            .ignore();
    }
    pipe.rpush(&ui.redis.keys.ingest_queue, &["a", "b", "c"])
        .ignore();
    pipe.rpush(&ui.redis.keys.moog_dlq, &["x"]).ignore();
    pipe.set(ui.redis.keys.circuit_breaker("moogsoft", "state"), "OPEN")
        .ignore();
    let _: () = pipe.query_async(&mut redis).await.expect("fixtures");

    let get = || {
        ui.request(Method::GET, "/api/v2/metrics", Some(&ui.read_key))
            .send()
    };
    let (status, body) = answer(get().await.expect("get")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["summary"],
        json!({"current_rate_1m": 42.0, "avg_rate_15m": 42.0, "avg_rate_1h": 42.0})
    );
    assert_eq!(
        body["chart_24h"]["labels"]
            .as_array()
            .expect("labels")
            .len(),
        24
    );
    assert!(
        body["chart_24h"]["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|v| v == &json!(20.0))
    );
    assert_eq!(body["queues"]["ingest_queue"], 3);
    assert_eq!(body["queues"]["dlq_moog"], 1);
    assert_eq!(body["circuit_breaker"], "OPEN");

    // Within METRICS_CACHE_TTL (5 s) the same body is served.
    let _: () = redis::cmd("RPUSH")
        .arg(&ui.redis.keys.ingest_queue)
        .arg("d")
        .query_async(&mut redis)
        .await
        .expect("rpush");
    let (_, again) = answer(get().await.expect("get")).await;
    assert_eq!(again["queues"]["ingest_queue"], 3, "cached");
    // v2.5's web UI metrics: one fresh and one cached read of the dashboard, a rule list,
    // a refused audit search, a request without a key.
    let (status, _) = answer(
        ui.request(Method::GET, "/api/v1/rules", Some(&ui.read_key))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = answer(
        ui.request(Method::GET, "/api/v2/audit-logs?page=0", Some(&ui.read_key))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = answer(
        ui.request(Method::GET, "/api/v2/rules", None)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 401);
    // The Prometheus endpoint stays at the root.
    let scrape = ui
        .client
        .get(format!("{}/metrics", ui.base))
        .send()
        .await
        .expect("get");
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.expect("text");
    for line in [
        r#"mutt_webui_api_requests_total{endpoint="metrics",status="success"} 1"#,
        r#"mutt_webui_api_requests_total{endpoint="metrics",status="success_cached"} 1"#,
        r#"mutt_webui_api_requests_total{endpoint="rules",status="success"} 1"#,
        r#"mutt_webui_api_requests_total{endpoint="audit",status="error_invalid"} 1"#,
        r#"mutt_webui_api_requests_total{endpoint="rules",status="error"} 1"#,
        r#"mutt_webui_api_latency_seconds_count{endpoint="metrics"} 2"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    ui.stop().await;
}

#[tokio::test]
async fn keys_are_listed_without_their_text_audited_rotated_with_grace_and_revoked() {
    use shared::redis::api_key_mirror::lookup;
    let ui = Ui::start().await;
    let mut redis = ui.redis.conn().await;

    // Created through the API: the text once, in this answer only.
    let (code, made) = answer(
        ui.admin(Method::POST, "/api/v2/keys")
            .json(&json!({"name": "relay", "scopes": ["ingest"], "reason": "new relay"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(code, 201, "{made}");
    let first = made["key"].as_str().expect("the key").to_owned();
    // Mirrored at once: the ingestors' directory knows it.
    assert!(
        lookup(&mut redis, &ui.redis.keys, &first)
            .await
            .expect("lookup")
            .is_some()
    );

    let listed = ui
        .admin(Method::GET, "/api/v2/keys")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let hash = shared::store::api_keys::key_hash(&first);
    assert!(listed.contains("\"relay\""), "{listed}");
    assert!(
        !listed.contains(&first) && !listed.contains(&hash),
        "no key material: {listed}"
    );
    let list: Value = serde_json::from_str(&listed).expect("JSON");
    let relay = list["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"] == "relay")
        .expect("relay listed");
    assert_eq!(relay["scopes"], json!(["ingest"]));
    assert_eq!(relay["created_by"], "webui-api-key");
    assert_eq!(relay["active"], true);

    // Rotated with a 2 s grace: the new key works at once, the old one until the grace ends.
    let (code, rotated) = answer(
        ui.admin(Method::POST, "/api/v2/keys/relay/rotate")
            .json(&json!({"grace_seconds": 2}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(code, 201, "{rotated}");
    let second = rotated["key"].as_str().expect("the new key").to_owned();
    assert!(rotated["old_key_until"].is_string(), "{rotated}");
    assert!(
        lookup(&mut redis, &ui.redis.keys, &second)
            .await
            .expect("lookup")
            .is_some()
    );
    assert!(
        lookup(&mut redis, &ui.redis.keys, &first)
            .await
            .expect("lookup")
            .is_some()
    );
    shared::testing::eventually(
        std::time::Duration::from_secs(10),
        "the old key to stop at the end of its grace",
        || {
            let (mut redis, keys, first) = (redis.clone(), ui.redis.keys.clone(), first.clone());
            async move {
                lookup(&mut redis, &keys, &first)
                    .await
                    .ok()?
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;

    // Revoked: the directory drops it at once.
    let (code, revoked) = answer(
        ui.admin(Method::DELETE, "/api/v2/keys/relay")
            .json(&json!({"reason": "relay retired"}))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(code, 200, "{revoked}");
    assert!(
        lookup(&mut redis, &ui.redis.keys, &second)
            .await
            .expect("lookup")
            .is_none()
    );

    // Each change audited, under the caller's name, without key material.
    let audits = ui
        .count(
            "SELECT count(*) FROM config_audit_log WHERE table_name = 'api_keys' \
             AND changed_by = 'webui-api-key'",
        )
        .await;
    assert_eq!(audits, 3, "create, rotate, revoke");
    let leaked = ui
        .count(&format!(
            "SELECT count(*) FROM config_audit_log WHERE table_name = 'api_keys' AND \
             (coalesce(old_values::text, '') || coalesce(new_values::text, '')) ~ '{}|{}|{}'",
            first, second, hash
        ))
        .await;
    assert_eq!(leaked, 0);

    // Clear errors, and only for admins.
    let (code, body) = answer(
        ui.admin(Method::POST, "/api/v2/keys")
            .json(&json!({"name": "x", "scopes": ["root"]}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"].as_str().expect("error").contains("scopes"),
        "{body}"
    );
    let (code, _) = answer(
        ui.admin(Method::DELETE, "/api/v2/keys/nobody")
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(code, 404);
    let (code, _) = answer(
        ui.request(Method::GET, "/api/v2/keys", Some(&ui.read_key))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(code, 403);
    ui.stop().await;
}

#[tokio::test]
async fn the_slo_report_without_prometheus_is_a_clear_503() {
    // Nothing listens on port 1.
    let ui = Ui::start_with(&[("PROMETHEUS_URL", "http://127.0.0.1:1")]).await;
    for version in ["v1", "v2"] {
        let (code, body) = answer(
            ui.request(
                Method::GET,
                &format!("/api/{version}/slo"),
                Some(&ui.read_key),
            )
            .send()
            .await
            .expect("get"),
        )
        .await;
        assert_eq!(code, 503, "{body}");
        let error = body["error"].as_str().expect("a JSON error");
        assert!(
            error.contains("Prometheus") && error.contains("PROMETHEUS_URL"),
            "{error}"
        );
    }
    ui.stop().await;
}
