//! A database that MUTT v2.5 created, adopted in place (issue #20): `data/fixtures/v25_database.sql`
//! recreates one as v2.5's own SQL files leave it; `migrate` must succeed on it, keep every
//! row, leave v2.5's own statements working, be a no-op the second time, and, when it fails,
//! leave the database as it was.

use shared::store;
use shared::testing::TestDatabase;

/// Every v2.5 table's rows (v2.5's own columns, in id order) as one text per table.
async fn rows(db: &TestDatabase) -> Vec<(String, i64, String)> {
    let conn = db.pool.get().await.expect("connection");
    let tables = [
        (
            "alert_rules",
            "id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment, is_active",
            "id",
        ),
        ("development_hosts", "hostname", "hostname"),
        ("device_teams", "hostname, team_assignment", "hostname"),
        (
            "event_audit_log",
            "id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message",
            "id",
        ),
        (
            "event_audit_log_archive",
            "id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, archived_at, archived_from_partition, original_id",
            "id",
        ),
        (
            "config_audit_log",
            "id, changed_at, changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id",
            "id",
        ),
    ];
    let mut found = Vec::new();
    for (table, columns, order) in tables {
        let row = conn
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r.{order})), '') \
                     FROM (SELECT {columns} FROM {table}) r"
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        found.push((table.to_owned(), row.get(0), row.get(1)));
    }
    found
}

async fn column_exists(db: &TestDatabase, table: &str, column: &str) -> bool {
    let conn = db.pool.get().await.expect("connection");
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)",
        &[&table, &column],
    )
    .await
    .expect("information_schema")
    .get(0)
}

#[tokio::test]
async fn migrate_adopts_a_v25_database_in_place_keeping_every_row_and_a_second_run_does_nothing() {
    let db = TestDatabase::v25().await;
    let before = rows(&db).await;
    assert!(
        before.iter().all(|(_, n, _)| *n > 0),
        "the fixture has rows in every table: {before:?}"
    );

    let report = store::migrate(&db.pool)
        .await
        .expect("migrate succeeds on a v2.5 database");
    assert_eq!(report.applied.len() as i64, store::latest_version());
    assert_eq!(rows(&db).await, before, "every v2.5 row kept, unchanged");
    store::check_schema(&db.pool)
        .await
        .expect("services now start against it");
    assert!(column_exists(&db, "event_audit_log", "event_id").await);
    assert!(column_exists(&db, "alert_rules", "name").await);

    let again = store::migrate(&db.pool).await.expect("migrate again");
    assert!(
        again.applied.is_empty(),
        "a second migrate is a no-op: {again:?}"
    );
    assert_eq!(rows(&db).await, before);
}

#[tokio::test]
async fn v25s_own_statements_still_work_after_the_migration() {
    let db = TestDatabase::v25().await;
    store::migrate(&db.pool).await.expect("migrate");
    let conn = db.pool.get().await.expect("connection");
    // v2.5's alerter: the audit insert without event_id, the timestamp as sent, into this
    // month's partition and into next month's, which v2.5 never created (DEFAULT now).
    for when in ["now()", "now() + INTERVAL '40 days'"] {
        conn.execute(
            &format!(
                "INSERT INTO event_audit_log \
                 (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message) \
                 VALUES ({when}, 'router1.prod.example.com', 1, 'Page_and_ticket', true, '{{\"message\": \"CRITICAL\"}}')"
            ),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("v2.5's audit insert at {when}: {e}"));
    }
    // Its caches' queries.
    let rules = conn
        .query("SELECT * FROM alert_rules WHERE is_active = true", &[])
        .await
        .expect("rules");
    assert_eq!(rules.len(), 5);
    conn.query("SELECT hostname FROM development_hosts", &[])
        .await
        .expect("dev hosts");
    conn.query("SELECT hostname, team_assignment FROM device_teams", &[])
        .await
        .expect("teams");
    // Its web UI's config audit, with a 36-character correlation id.
    conn.execute(
        "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id) \
         VALUES ('webui_api:abcd1234', 'UPDATE', 'alert_rules', 1, '{\"priority\": 10}', '{\"priority\": 9}', 'v2.5 edit', '0b3d2c1e-7f6a-4b5c-9d8e-1f2a3b4c5d6e')",
        &[],
    )
    .await
    .expect("v2.5's config audit insert");
    // Its partition and retention functions, and its view.
    conn.batch_execute(
        "SELECT create_monthly_partition((date_trunc('month', now()) + INTERVAL '2 months')::date)",
    )
    .await
    .expect("create_monthly_partition");
    conn.batch_execute("SELECT drop_old_partitions(6)")
        .await
        .expect("drop_old_partitions");
    let deleted: i64 = conn
        .query_one("SELECT delete_old_archives(7)", &[])
        .await
        .expect("delete_old_archives")
        .get(0);
    assert_eq!(deleted, 0);
    let stats = conn
        .query("SELECT * FROM get_archive_statistics()", &[])
        .await
        .expect("get_archive_statistics");
    assert_eq!(stats.len(), 6);
    let partitions = conn
        .query(
            "SELECT partition_name, row_count_estimate FROM partition_health_summary",
            &[],
        )
        .await
        .expect("partition_health_summary");
    let names: Vec<String> = partitions.iter().map(|r| r.get(0)).collect();
    assert!(
        names.iter().any(|n| n == "event_audit_log_default"),
        "{names:?}"
    );
    assert!(
        names.len() >= 4,
        "v2.5's two, the default, the new one: {names:?}"
    );
    // archive_old_events could never run in v2.5 (COMMIT inside a function); it still
    // fails the same way, rather than doing something new.
    let archive = conn
        .query_one("SELECT archive_old_events(90, 10)", &[])
        .await;
    assert!(archive.is_err(), "v2.5's broken function is left as it was");
}

#[tokio::test]
async fn a_migration_that_fails_leaves_the_v25_database_as_it_was() {
    let db = TestDatabase::v25().await;
    // Something a site might have made by hand: a table named like one of ours, with
    // other columns, so that a later migration (V4's index on api_keys.name) fails.
    db.pool
        .get()
        .await
        .expect("connection")
        .batch_execute("CREATE TABLE api_keys (id INT)")
        .await
        .expect("the stray table");
    let before = rows(&db).await;

    let failed = store::migrate(&db.pool).await;
    assert!(
        failed.is_err(),
        "V4 cannot index a column that is not there"
    );
    assert_eq!(rows(&db).await, before);
    assert!(
        !column_exists(&db, "event_audit_log", "event_id").await,
        "V1's changes were rolled back with V4"
    );
    assert!(!column_exists(&db, "alert_rules", "name").await);
    let conn = db.pool.get().await.expect("connection");
    let default_partition: bool = conn
        .query_one(
            "SELECT to_regclass('event_audit_log_default') IS NOT NULL",
            &[],
        )
        .await
        .expect("regclass")
        .get(0);
    assert!(!default_partition, "no DEFAULT partition was left behind");
    // v2.5 still works as before.
    conn.execute(
        "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message) \
         VALUES (now(), 'router1.prod.example.com', 1, 'Page_and_ticket', true, '{}')",
        &[],
    )
    .await
    .expect("v2.5's audit insert");

    // With the stray table gone, the next migrate goes through.
    conn.batch_execute("DROP TABLE api_keys")
        .await
        .expect("drop it");
    store::migrate(&db.pool).await.expect("migrate resumes");
}
