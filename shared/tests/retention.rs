//! The data lifecycle against real PostgreSQL and Redis, with "now" injected: partitions
//! ahead, audit months retired by partition (archived or dropped), archive and
//! config-audit cut-offs, DEFAULT rows, crash leftovers, dry runs, concurrent runs, and
//! DLQ items aged by `failed_at`.

use chrono::{DateTime, TimeZone, Utc};
use shared::config::RetentionConfig;
use shared::lifecycle::{self, LifecycleReport};
use shared::store;
use shared::testing::{TestDatabase, TestRedis};
use std::time::Duration;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid time")
        .with_timezone(&Utc)
}

fn policy() -> RetentionConfig {
    RetentionConfig {
        precreate_months: 3,
        event_retention_days: 90,
        archive_retention_years: 7,
        config_audit_retention_days: 365,
        dlq_retention_days: 30,
        enforcement_enabled: true,
        dry_run: false,
        batch_size: 2, // small, so that every loop runs several batches
        archive_enabled: true,
        interval: Duration::from_secs(3600),
    }
}

async fn audit_row(db: &TestDatabase, when: &str) {
    let conn = db.pool.get().await.expect("connection");
    conn.execute(
        "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, event_id) \
         VALUES ($1, 'r1', (SELECT min(id) FROM alert_rules), 'Ignore', false, '{}', gen_random_uuid())",
        &[&at(when)],
    )
    .await
    .expect("audit insert");
}

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    let conn = db.pool.get().await.expect("connection");
    conn.query_one(sql, &[]).await.expect(sql).get(0)
}

async fn partitions(db: &TestDatabase) -> Vec<String> {
    let conn = db.pool.get().await.expect("connection");
    conn.query(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname ~ '^event_audit_log_[0-9]{4}_[0-9]{2}$' \
         ORDER BY 1",
        &[],
    )
    .await
    .expect("partitions")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Months January to July 2031 with rows in January (3), February (2), March (1) and
/// June (1); one row from June 2030 in DEFAULT; archive rows from 2023 and 2025; config
/// audits from 2030 and 2031.
async fn history(db: &TestDatabase) {
    store::seed_v25_samples(&db.pool).await.expect("seed");
    store::ensure_partitions(&db.pool, at("2031-01-10T00:00:00Z"), 6)
        .await
        .expect("partitions");
    for when in [
        "2031-01-05T10:00:00Z",
        "2031-01-20T10:00:00Z",
        "2031-01-31T23:59:59Z",
        "2031-02-10T10:00:00Z",
        "2031-02-28T10:00:00Z",
        "2031-03-20T10:00:00Z",
        "2031-06-01T10:00:00Z",
        "2030-06-01T10:00:00Z",
    ] {
        audit_row(db, when).await;
    }
    let conn = db.pool.get().await.expect("connection");
    conn.batch_execute(
        "INSERT INTO event_audit_log_archive (event_timestamp, hostname, matched_rule_id, handling_decision) \
           VALUES ('2023-01-01T00:00:00Z', 'old', 1, 'Ignore'), ('2025-01-01T00:00:00Z', 'kept', 1, 'Ignore');
         DELETE FROM config_audit_log;
         INSERT INTO config_audit_log (changed_at, changed_by, operation, table_name, record_id) \
           VALUES ('2030-01-01T00:00:00Z', 'old', 'CREATE', 'alert_rules', 1), \
                  ('2031-01-01T00:00:00Z', 'kept', 'CREATE', 'alert_rules', 1);",
    )
    .await
    .expect("history");
}

async fn run(
    db: &TestDatabase,
    redis: &TestRedis,
    config: &RetentionConfig,
    now: &str,
) -> LifecycleReport {
    lifecycle::run_once(
        &db.pool,
        &mut redis.conn().await,
        &redis.keys,
        config,
        at(now),
    )
    .await
    .expect("retention run")
}

const NOW: &str = "2031-06-15T12:00:00Z"; // 90 days back: 2031-03-17

#[tokio::test]
async fn a_dry_run_reports_what_would_happen_and_changes_nothing() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    history(&db).await;
    let before = partitions(&db).await;
    let config = RetentionConfig {
        dry_run: true,
        ..policy()
    };

    let report = run(&db, &redis, &config, NOW).await;

    let audit = report.audit.expect("enforcement enabled");
    let retired: Vec<_> = audit
        .partitions
        .iter()
        .map(|p| (p.name.as_str(), p.rows, p.action.as_str()))
        .collect();
    assert_eq!(
        retired,
        [
            ("event_audit_log_2031_01", 3, "would archive"),
            ("event_audit_log_2031_02", 2, "would archive")
        ]
    );
    assert_eq!(audit.default_rows, 1);
    assert_eq!((audit.archived, audit.deleted), (0, 0));
    assert_eq!(
        audit.archive_rows_deleted, 1,
        "would delete the 2023 archive row"
    );
    assert_eq!(
        audit.config_audits_deleted, 1,
        "would delete the 2030 audit"
    );
    assert_eq!(
        report.partitions_created,
        ["event_audit_log_2031_08", "event_audit_log_2031_09"],
        "June + 3 months: July exists, August and September would be created"
    );

    assert_eq!(partitions(&db).await, before);
    assert_eq!(count(&db, "SELECT count(*) FROM event_audit_log").await, 8);
    assert_eq!(
        count(&db, "SELECT count(*) FROM event_audit_log_archive").await,
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM config_audit_log").await, 2);
}

#[tokio::test]
async fn old_months_are_archived_whole_recent_ones_untouched_and_cutoffs_respected() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    history(&db).await;

    let report = run(&db, &redis, &policy(), NOW).await;

    let audit = report.audit.expect("enforcement enabled");
    assert_eq!(audit.partitions.len(), 2);
    assert!(audit.partitions.iter().all(|p| p.action == "archived"));
    assert_eq!(
        audit.archived, 6,
        "January 3 + February 2 + the DEFAULT row"
    );
    assert_eq!(audit.deleted, 0);
    assert_eq!(
        (audit.archive_rows_deleted, audit.config_audits_deleted),
        (1, 1)
    );
    assert_eq!(
        partitions(&db).await,
        [
            "event_audit_log_2031_03",
            "event_audit_log_2031_04",
            "event_audit_log_2031_05",
            "event_audit_log_2031_06",
            "event_audit_log_2031_07",
            "event_audit_log_2031_08",
            "event_audit_log_2031_09"
        ]
    );
    // March straddles the cut-off (2031-03-17): its row stays, though it is older.
    assert_eq!(
        count(&db, "SELECT count(*) FROM event_audit_log").await,
        2,
        "the March and June rows"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_audit_log_archive \
             WHERE archived_from_partition = 'event_audit_log_2031_01' AND original_id IS NOT NULL AND event_id IS NOT NULL"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_audit_log_archive WHERE archived_from_partition = 'event_audit_log_default'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_audit_log_archive WHERE hostname = 'old'"
        )
        .await,
        0,
        "archive rows past 7 years are deleted"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_audit_log_archive WHERE hostname = 'kept'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM config_audit_log WHERE changed_by = 'kept'"
        )
        .await,
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM config_audit_log").await, 1);

    // A second run finds nothing more to do.
    let again = run(&db, &redis, &policy(), NOW).await;
    assert!(!again.skipped_locked, "the first run released its lock");
    let audit = again.audit.expect("enforcement enabled");
    assert!(again.partitions_created.is_empty());
    assert!(audit.partitions.is_empty());
    assert_eq!(
        (audit.archived, audit.deleted, audit.default_rows),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn without_archiving_old_months_are_dropped_and_counted() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    history(&db).await;
    let config = RetentionConfig {
        archive_enabled: false,
        ..policy()
    };

    let audit = run(&db, &redis, &config, NOW)
        .await
        .audit
        .expect("enforcement enabled");

    assert!(audit.partitions.iter().all(|p| p.action == "dropped"));
    assert_eq!((audit.archived, audit.deleted), (0, 6));
    assert_eq!(
        count(&db, "SELECT count(*) FROM event_audit_log_archive").await,
        1,
        "only the 2025 archive row; nothing archived"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM event_audit_log").await, 2);
}

#[tokio::test]
async fn a_month_left_detached_by_a_crash_is_finished_on_the_next_run() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    history(&db).await;
    // As if a run died after detaching January and archiving its first batch (one row).
    let conn = db.pool.get().await.expect("connection");
    conn.batch_execute(
        "ALTER TABLE event_audit_log DETACH PARTITION event_audit_log_2031_01;
         INSERT INTO event_audit_log_archive (event_timestamp, hostname, matched_rule_id, handling_decision,
                                              archived_from_partition, original_id)
         SELECT event_timestamp, hostname, matched_rule_id, handling_decision, 'event_audit_log_2031_01', id
         FROM event_audit_log_2031_01 ORDER BY id LIMIT 1;",
    )
    .await
    .expect("half-done retirement");

    let audit = run(&db, &redis, &policy(), NOW)
        .await
        .audit
        .expect("enforcement enabled");

    assert_eq!(audit.partitions[0].name, "event_audit_log_2031_01");
    assert_eq!(audit.partitions[0].rows, 3);
    assert_eq!(
        audit.archived,
        2 + 2 + 1,
        "the two January rows not yet archived, February, DEFAULT"
    );
    assert!(
        !partitions(&db)
            .await
            .contains(&"event_audit_log_2031_01".to_owned())
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_audit_log_archive WHERE archived_from_partition = 'event_audit_log_2031_01'"
        )
        .await,
        3,
        "every January row archived exactly once"
    );
}

#[tokio::test]
async fn partitions_ahead_are_created_once_even_by_concurrent_runs() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    store::seed_v25_samples(&db.pool).await.expect("seed");
    let config = RetentionConfig {
        enforcement_enabled: false,
        ..policy()
    };
    let now = Utc
        .with_ymd_and_hms(2033, 11, 20, 0, 0, 0)
        .single()
        .expect("valid");
    let (mut c1, mut c2) = (redis.conn().await, redis.conn().await);
    let (a, b) = tokio::join!(
        lifecycle::run_once(&db.pool, &mut c1, &redis.keys, &config, now),
        lifecycle::run_once(&db.pool, &mut c2, &redis.keys, &config, now),
    );
    let (a, b) = (a.expect("first run"), b.expect("concurrent run"));
    let mut created = [a.partitions_created.clone(), b.partitions_created.clone()].concat();
    created.sort();
    assert_eq!(
        created,
        [
            "event_audit_log_2033_11",
            "event_audit_log_2033_12",
            "event_audit_log_2034_01",
            "event_audit_log_2034_02"
        ],
        "created once between them (one may have skipped: {a:?} {b:?})"
    );
    assert!(
        a.audit.is_none() && b.audit.is_none(),
        "enforcement disabled"
    );
    let third = lifecycle::run_once(&db.pool, &mut c1, &redis.keys, &config, now)
        .await
        .expect("third run");
    assert!(!third.skipped_locked, "the lock was released");
    assert!(third.partitions_created.is_empty());
}

#[tokio::test]
async fn dlq_items_expire_by_failed_at_and_undated_ones_are_kept_and_counted() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    store::seed_v25_samples(&db.pool).await.expect("seed");
    let mut conn = redis.conn().await;
    let now = at(NOW);
    let item = |days_ago: i64, id: &str| {
        serde_json::json!({
            "hostname": id,
            "failed_at": (now - chrono::Duration::days(days_ago)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .to_string()
    };
    let alerter: Vec<String> = (0..1200)
        .map(|i| item(if i % 3 == 0 { 40 } else { 10 }, &format!("a{i}")))
        .chain([
            "{\"hostname\":\"undated\"}".to_owned(),
            "not json".to_owned(),
        ])
        .collect();
    let _: () = redis::cmd("LPUSH")
        .arg(&redis.keys.alerter_dlq)
        .arg(&alerter)
        .query_async(&mut conn)
        .await
        .expect("lpush");
    let _: () = redis::cmd("LPUSH")
        .arg(&redis.keys.moog_dlq)
        .arg(item(31, "m-old"))
        .arg(item(29, "m-new"))
        .query_async(&mut conn)
        .await
        .expect("lpush");

    let dry = run(
        &db,
        &redis,
        &RetentionConfig {
            dry_run: true,
            ..policy()
        },
        NOW,
    )
    .await;
    assert_eq!(dry.dlq["alerter"].expired, 400);
    assert_eq!(dry.dlq["alerter"].kept_without_failed_at, 2);
    let len = |key: String| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("LLEN")
                .arg(key)
                .query_async::<u64>(&mut conn)
                .await
                .expect("llen")
        }
    };
    assert_eq!(
        len(redis.keys.alerter_dlq.clone()).await,
        1202,
        "dry run removes nothing"
    );

    let report = run(&db, &redis, &policy(), NOW).await;
    assert_eq!(report.dlq["alerter"].expired, 400);
    assert_eq!(report.dlq["alerter"].kept_without_failed_at, 2);
    assert_eq!(report.dlq["moog"].expired, 1);
    assert_eq!(report.dlq["dead"].expired, 0);
    assert_eq!(len(redis.keys.alerter_dlq.clone()).await, 802);
    let left: Vec<String> = redis::cmd("LRANGE")
        .arg(&redis.keys.moog_dlq)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("lrange");
    assert_eq!(left.len(), 1);
    assert!(left[0].contains("m-new"));
}
