//! Handled, unhandled, dev, prod and ignore paths produce exactly the right audit rows and
//! alerts; unhandled repeats give one meta-alert; rule changes take effect within a second.

mod support;

use serde_json::json;
use shared::testing::eventually;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn every_path_gives_exactly_the_right_audit_rows_and_alerts() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[])).await;
    let prod_link = event("router1.prod.example.com", "%LINK-DOWN Gi0/1");
    let dev_error = event("dev-router1", "interface ERROR");
    let prod_error = event("switch9", "an ERROR happened");
    let dev_link = event("test-switch1", "LINK-DOWN on dev");
    let nothing = event("switch9", "all is quiet");
    push(
        &redis,
        &[
            prod_link.clone(),
            dev_error.clone(),
            prod_error.clone(),
            dev_link.clone(),
            nothing.clone(),
        ],
    )
    .await;
    drained(&redis, Duration::from_secs(10)).await;

    let (link, error) = (rule_id(&db, "LINK-DOWN").await, rule_id(&db, "ERROR").await);
    let id = |e: &serde_json::Value| e["_event_id"].as_str().expect("id").to_owned();
    let mut rows = audit_rows(&db).await;
    rows.sort();
    let mut expected = vec![
        (
            id(&prod_link),
            Some(link),
            "Page_and_ticket".to_owned(),
            true,
        ),
        (id(&dev_error), Some(error), "Ignore".to_owned(), false),
        (id(&prod_error), Some(error), "Ticket_only".to_owned(), true),
        (id(&dev_link), Some(link), "Ticket_only".to_owned(), true),
    ];
    expected.sort();
    assert_eq!(
        rows, expected,
        "one row per handled event; the unhandled one is not audited"
    );

    let alerts = list(&redis, &redis.keys.alert_queue).await;
    let mut alerted: Vec<String> = alerts
        .iter()
        .map(|a| a["event_id"].as_str().expect("event_id").to_owned())
        .collect();
    alerted.sort();
    let mut forwarded = vec![id(&prod_link), id(&prod_error), id(&dev_link)];
    forwarded.sort();
    assert_eq!(alerted, forwarded, "Ignore is audited, not forwarded");
    let link_alert = alerts
        .iter()
        .find(|a| a["event_id"] == prod_link["_event_id"])
        .expect("alert");
    assert_eq!(link_alert["severity"], "Critical");
    assert_eq!(link_alert["team_assignment"], "NetOps");
    assert_eq!(link_alert["rule_id"], link);
    assert_eq!(link_alert["_correlation_id"], prod_link["_correlation_id"]);
    assert_eq!(
        link_alert["raw_json"]["hostname"],
        "router1.prod.example.com"
    );
    assert!(link_alert.get("api_key").is_none());
    alerter.stop().await;
}

#[tokio::test]
async fn a_hundred_identical_unhandled_events_give_one_meta_alert() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[])).await;
    let events: Vec<_> = (0..150)
        .map(|_| event("firewall1.prod.example.com", "mystery noise 42"))
        .collect();
    push(&redis, &events).await;
    push(
        &redis,
        &[event("firewall1.prod.example.com", "other noise")],
    )
    .await;
    drained(&redis, Duration::from_secs(10)).await;
    let alerts = list(&redis, &redis.keys.alert_queue).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let meta = &alerts[0];
    assert_eq!(meta["hostname"], "MUTT_Alerter");
    assert_eq!(meta["source_hostname"], "firewall1.prod.example.com");
    assert_eq!(
        meta["team_assignment"], "Security",
        "team from device_teams"
    );
    assert_eq!(meta["severity"], "Warning");
    assert!(
        meta["message_body"]
            .as_str()
            .expect("text")
            .starts_with("[MUTT] Detected 100 unhandled messages in 86400s")
    );
    assert!(
        audit_rows(&db).await.is_empty(),
        "unhandled events are not audited by default"
    );
    alerter.stop().await;
}

#[tokio::test]
async fn unhandled_events_are_audited_when_asked() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[("AUDIT_UNHANDLED", "true")])).await;
    let quiet = event("switch9", "all is quiet");
    push(&redis, std::slice::from_ref(&quiet)).await;
    drained(&redis, Duration::from_secs(10)).await;
    let rows = audit_rows(&db).await;
    assert_eq!(
        rows,
        [(
            quiet["_event_id"].as_str().expect("id").to_owned(),
            None,
            "unhandled".to_owned(),
            false
        )]
    );
    alerter.stop().await;
}

#[tokio::test]
async fn a_rule_change_is_effective_within_a_second() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[])).await;
    let conn = db.pool.get().await.expect("connection");
    let new_rule: i32 = conn
        .query_one(
            "INSERT INTO alert_rules (match_string, match_type, priority, prod_handling, dev_handling, team_assignment) \
             VALUES ('BGP-5-ADJCHANGE', 'contains', 1, 'Page_only', 'Ignore', 'Routing') RETURNING id",
            &[],
        )
        .await
        .expect("insert rule")
        .get(0);
    let mut redis_conn = redis.conn().await;
    let changed = Instant::now();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(redis.keys.rules_changed_channel())
        .arg("alert_rules")
        .query_async(&mut redis_conn)
        .await
        .expect("publish");
    eventually(
        Duration::from_secs(1),
        "an event to match the new rule",
        || {
            let (redis, db) = (&redis, &db);
            async move {
                push(redis, &[event("edge1", "%BGP-5-ADJCHANGE: neighbor down")]).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                audit_rows(db)
                    .await
                    .iter()
                    .any(|r| r.1 == Some(new_rule))
                    .then_some(())
            }
        },
    )
    .await;
    assert!(
        changed.elapsed() <= Duration::from_millis(1100),
        "{:?}",
        changed.elapsed()
    );
    let alerts = list(&redis, &redis.keys.alert_queue).await;
    assert!(
        alerts
            .iter()
            .any(|a| a["team_assignment"] == json!("Routing"))
    );
    alerter.stop().await;
}

#[tokio::test]
async fn a_failed_reload_keeps_the_previous_rules_and_is_counted() {
    let (_redis, db) = seeded().await;
    let metrics = alerter::metrics::AlerterMetrics::new(&prometheus::Registry::new());
    let cache = alerter::cache::RoutingCache::new(db.pool.clone(), metrics.clone());
    cache.reload().await.expect("first load");
    assert_eq!(cache.current().rules.len(), 5);
    // Written behind the API's back: the engine refuses it at reload.
    let conn = db.pool.get().await.expect("connection");
    conn.execute(
        "INSERT INTO alert_rules (match_string, match_type, priority, prod_handling, dev_handling, team_assignment) \
         VALUES ('(unclosed', 'regex', 1, 'Page_only', 'Ignore', 'X')",
        &[],
    )
    .await
    .expect("insert");
    let error = cache
        .reload()
        .await
        .expect_err("a rule set with an invalid regex does not load");
    assert!(format!("{error:#}").contains("invalid regex"), "{error:#}");
    assert_eq!(
        cache.current().rules.len(),
        5,
        "the previous rules stay in force"
    );
    assert_eq!(metrics.cache_reload_failures.get(), 1);
    assert_eq!(metrics.cache_rules.get(), 5);
}

#[tokio::test]
async fn the_backtest_sample_keeps_the_last_events_newest_first() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[("BACKTEST_SAMPLE_SIZE", "25")])).await;
    let events: Vec<_> = (0..40)
        .map(|i| event("switch9", &format!("sampled {i:02} ERROR")))
        .collect();
    for chunk in events.chunks(10) {
        push(&redis, chunk).await;
        drained(&redis, Duration::from_secs(10)).await;
    }
    let sampled = eventually(Duration::from_secs(5), "the sample written", || async {
        let sampled = list(&redis, &redis.keys.backtest_sample).await;
        (sampled.last().map(|e| e["message"].clone()) == Some("sampled 39 ERROR".into()))
            .then_some(sampled)
    })
    .await;
    // `list` reads oldest first: the last 25, in order.
    let messages: Vec<String> = sampled
        .iter()
        .map(|e| e["message"].as_str().expect("a message").to_owned())
        .collect();
    let expected: Vec<String> = (15..40).map(|i| format!("sampled {i:02} ERROR")).collect();
    assert_eq!(messages, expected);
    alerter.stop().await;
    // The dashboard's per-minute count of audit rows (this minute, or the one before if
    // the minute turned meanwhile).
    let now = chrono::Utc::now();
    let mut audited = 0u64;
    for at in [now, now - chrono::Duration::minutes(1)] {
        let key = redis.keys.activity("audited", at);
        let n: Option<u64> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut redis.conn().await)
            .await
            .expect("GET");
        audited += n.unwrap_or(0);
    }
    assert_eq!(audited, 40, "every audit row counted once");

    // Off: nothing is kept.
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[("BACKTEST_SAMPLE_SIZE", "0")])).await;
    push(&redis, &events[..5]).await;
    drained(&redis, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(list(&redis, &redis.keys.backtest_sample).await.is_empty());
    alerter.stop().await;
}
