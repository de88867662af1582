//! Migrations, partitions and seeding against a real PostgreSQL.

use chrono::{TimeZone, Utc};
use shared::store::{self, SchemaError};
use shared::testing::TestDatabase;

/// A sample rule as (match_string, trap_oid, match_type, priority, prod, dev, team).
type RuleRow = (
    Option<String>,
    Option<String>,
    String,
    i32,
    String,
    String,
    String,
);

async fn insert_audit(db: &TestDatabase, at: &str, event_id: uuid::Uuid) -> u64 {
    let conn = db.pool.get().await.expect("connection");
    conn.execute(
        "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, event_id) \
         VALUES ($1::text::timestamptz, 'r1', (SELECT min(id) FROM alert_rules), 'Ignore', false, '{}', $2) \
         ON CONFLICT (event_id, event_timestamp) DO NOTHING",
        &[&at, &event_id],
    )
    .await
    .expect("audit insert")
}

async fn partition_of(db: &TestDatabase, event_id: uuid::Uuid) -> String {
    let conn = db.pool.get().await.expect("connection");
    conn.query_one(
        "SELECT tableoid::regclass::text FROM event_audit_log WHERE event_id = $1",
        &[&event_id],
    )
    .await
    .expect("row exists")
    .get(0)
}

#[tokio::test]
async fn migrations_apply_to_an_empty_schema_and_reapplying_is_a_no_op() {
    let db = TestDatabase::empty().await;
    match store::check_schema(&db.pool).await {
        Err(e @ SchemaError::Behind { found: None, .. }) => {
            assert!(e.to_string().contains("webui migrate"), "{e}")
        }
        other => panic!("an empty schema must be refused, got {other:?}"),
    }
    let first = store::migrate(&db.pool).await.expect("migrate");
    assert!(!first.applied.is_empty());
    assert_eq!(first.version, store::latest_version());
    store::check_schema(&db.pool)
        .await
        .expect("current schema accepted");
    let second = store::migrate(&db.pool).await.expect("re-migrate");
    assert!(
        second.applied.is_empty(),
        "nothing to apply the second time: {:?}",
        second.applied
    );

    let conn = db.pool.get().await.expect("connection");
    let tables: Vec<String> = conn
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name IN ('alert_rules','development_hosts','device_teams','event_audit_log', \
             'event_audit_log_default','event_audit_log_archive','config_audit_log') ORDER BY 1",
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables.len(), 7, "{tables:?}");
}

#[tokio::test]
async fn an_event_outside_every_monthly_partition_lands_in_default_and_is_written_once() {
    let db = TestDatabase::new().await;
    store::seed_v25_samples(&db.pool).await.expect("seed");
    let id = uuid::Uuid::now_v7();
    assert_eq!(insert_audit(&db, "1999-01-15T00:00:00Z", id).await, 1);
    assert_eq!(partition_of(&db, id).await, "event_audit_log_default");
    assert_eq!(
        insert_audit(&db, "1999-01-15T00:00:00Z", id).await,
        0,
        "same event_id is not written twice"
    );
}

#[tokio::test]
async fn partitions_ahead_are_created_once_and_absorb_rows_from_default() {
    let db = TestDatabase::new().await;
    store::seed_v25_samples(&db.pool).await.expect("seed");
    let now = Utc
        .with_ymd_and_hms(2031, 12, 10, 8, 0, 0)
        .single()
        .expect("valid");

    // A row for February 2032 arrives before its partition exists.
    let early = uuid::Uuid::now_v7();
    insert_audit(&db, "2032-02-29T23:59:59Z", early).await;
    assert_eq!(partition_of(&db, early).await, "event_audit_log_default");

    let (a, b) = tokio::join!(
        store::ensure_partitions(&db.pool, now, 3),
        store::ensure_partitions(&db.pool, now, 3)
    );
    let mut created = [a.expect("first run"), b.expect("concurrent run")].concat();
    created.sort();
    assert_eq!(
        created,
        [
            "event_audit_log_2031_12",
            "event_audit_log_2032_01",
            "event_audit_log_2032_02",
            "event_audit_log_2032_03"
        ],
        "each partition created exactly once across both runs"
    );
    assert!(
        store::ensure_partitions(&db.pool, now, 3)
            .await
            .expect("third run")
            .is_empty()
    );

    assert_eq!(
        partition_of(&db, early).await,
        "event_audit_log_2032_02",
        "moved out of DEFAULT"
    );
    let fresh = uuid::Uuid::now_v7();
    insert_audit(&db, "2032-03-01T00:00:00Z", fresh).await;
    assert_eq!(
        partition_of(&db, fresh).await,
        "event_audit_log_2032_03",
        "UTC month boundary"
    );

    let conn = db.pool.get().await.expect("connection");
    let rows: i64 = conn
        .query_one("SELECT row_count_estimate FROM partition_health_summary WHERE partition_name = 'event_audit_log_2032_02'", &[])
        .await
        .expect("view row")
        .get(0);
    assert!(rows >= 0);
}

#[tokio::test]
async fn the_v25_sample_data_is_present_after_seeding_and_seeding_is_audited_once() {
    let db = TestDatabase::new().await;
    let first = store::seed_v25_samples(&db.pool).await.expect("seed");
    assert_eq!((first.rules, first.dev_hosts, first.teams), (5, 3, 4));
    let again = store::seed_v25_samples(&db.pool).await.expect("seed again");
    assert_eq!((again.rules, again.dev_hosts, again.teams), (0, 0, 0));

    let conn = db.pool.get().await.expect("connection");
    let rules: Vec<RuleRow> = conn
        .query(
            "SELECT match_string, trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment \
             FROM alert_rules ORDER BY priority, id",
            &[],
        )
        .await
        .expect("rules")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        rules,
        [
            (
                s("LINK-DOWN"),
                None,
                "contains".into(),
                5,
                "Page_and_ticket".into(),
                "Ticket_only".into(),
                "NetOps".into()
            ),
            (
                s("CRITICAL"),
                None,
                "contains".into(),
                10,
                "Page_and_ticket".into(),
                "Ticket_only".into(),
                "NETO".into()
            ),
            (
                None,
                s(".1.3.6.1.4.1.9.9.41.2"),
                "oid_prefix".into(),
                15,
                "Page_and_ticket".into(),
                "Ignore".into(),
                "NetOps".into()
            ),
            (
                s("ERROR"),
                None,
                "contains".into(),
                20,
                "Ticket_only".into(),
                "Ignore".into(),
                "NETO".into()
            ),
            (
                s("DOT1X-FIRMWARE-RUNNING"),
                None,
                "contains".into(),
                50,
                "Ticket_only".into(),
                "Ignore".into(),
                "Security".into()
            ),
        ]
    );
    let dev: i64 = conn
        .query_one("SELECT count(*) FROM development_hosts WHERE hostname IN ('dev-router1','test-switch1','qa-firewall1')", &[])
        .await
        .expect("dev hosts")
        .get(0);
    assert_eq!(dev, 3);
    let team: String = conn
        .query_one("SELECT team_assignment FROM device_teams WHERE hostname = 'firewall1.prod.example.com'", &[])
        .await
        .expect("team")
        .get(0);
    assert_eq!(team, "Security");
    let audited: i64 = conn
        .query_one("SELECT count(*) FROM config_audit_log WHERE changed_by = 'seed' AND operation = 'CREATE'", &[])
        .await
        .expect("audit")
        .get(0);
    assert_eq!(audited, 12, "one audit row per seeded rule, host and team");
}

#[tokio::test]
async fn migrations_upgrade_a_live_v25_database_in_place() {
    let db = TestDatabase::empty().await;
    let conn = db.pool.get().await.expect("connection");
    // v2.5's DDL (box characters removed), with a row that must survive.
    conn.batch_execute(
        "CREATE TABLE alert_rules (id SERIAL PRIMARY KEY, match_string VARCHAR(255), trap_oid VARCHAR(255),
            syslog_severity INT, match_type VARCHAR(20) NOT NULL DEFAULT 'contains'
            CHECK (match_type IN ('contains','regex','oid_prefix')), priority INT NOT NULL DEFAULT 100,
            prod_handling VARCHAR(100) NOT NULL, dev_handling VARCHAR(100) NOT NULL,
            team_assignment VARCHAR(100) NOT NULL, is_active BOOLEAN NOT NULL DEFAULT true);
         CREATE TABLE event_audit_log (id BIGSERIAL NOT NULL, event_timestamp TIMESTAMPTZ NOT NULL,
            hostname VARCHAR(255) NOT NULL, matched_rule_id INT NOT NULL REFERENCES alert_rules(id) ON DELETE RESTRICT,
            handling_decision VARCHAR(100) NOT NULL, forwarded_to_moog BOOLEAN NOT NULL DEFAULT false,
            raw_message TEXT, PRIMARY KEY (id, event_timestamp)) PARTITION BY RANGE (event_timestamp);
         CREATE TABLE event_audit_log_2025_11 PARTITION OF event_audit_log FOR VALUES FROM ('2025-11-01') TO ('2025-12-01');
         INSERT INTO alert_rules (match_string, prod_handling, dev_handling, team_assignment) VALUES ('X', 'Ignore', 'Ignore', 'T');
         INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision)
            VALUES ('2025-11-12T10:00:00Z', 'r1', 1, 'Ignore');",
    )
    .await
    .expect("v2.5 schema");
    drop(conn);
    store::migrate(&db.pool).await.expect("migrate over v2.5");
    store::check_schema(&db.pool).await.expect("current");
    let conn = db.pool.get().await.expect("connection");
    let (n, with_id): (i64, i64) = conn
        .query_one("SELECT count(*), count(event_id) FROM event_audit_log", &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("count");
    assert_eq!(
        (n, with_id),
        (1, 0),
        "the v2.5 row survives, without an event_id"
    );
    let name: Option<String> = conn
        .query_one("SELECT name FROM alert_rules", &[])
        .await
        .expect("rule")
        .get(0);
    assert_eq!(name, None, "new columns added to old rows");
}

#[tokio::test]
async fn a_partition_is_created_while_audit_rows_for_its_month_keep_arriving() {
    let db = TestDatabase::new().await;
    store::seed_v25_samples(&db.pool).await.expect("seed");
    let now = Utc::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (pool, stop) = (db.pool.clone(), stop.clone());
        tokio::spawn(async move {
            let conn = pool.get().await.expect("connection");
            let mut written = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                conn.execute(
                    "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, event_id) \
                     VALUES (now(), 'r1', (SELECT min(id) FROM alert_rules), 'Ignore', gen_random_uuid())",
                    &[],
                )
                .await
                .expect("an insert during partition creation");
                written += 1;
            }
            written
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let created = store::ensure_partitions(&db.pool, now, 1)
        .await
        .expect("created while rows arrive");
    assert_eq!(created.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.expect("writer");
    let conn = db.pool.get().await.expect("connection");
    let (total, in_default): (i64, i64) = {
        let row = conn
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE tableoid = 'event_audit_log_default'::regclass) FROM event_audit_log",
                &[],
            )
            .await
            .expect("count");
        (row.get(0), row.get(1))
    };
    assert_eq!(total as u64, written, "every row kept");
    assert_eq!(
        in_default, 0,
        "all moved into, or written to, the month's partition"
    );
}
