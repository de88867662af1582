//! The `webui` subcommands against a real PostgreSQL schema and Redis prefix, configured
//! through the same environment variables an operator sets.

use shared::testing::{TestDatabase, TestRedis};
use std::collections::HashMap;
use webui::commands::{Command, run};

fn env(db: &TestDatabase, redis: &TestRedis, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DB_HOST", db.config.host.clone()),
        ("DB_PORT", db.config.port.to_string()),
        ("DB_NAME", db.config.name.clone()),
        ("DB_USER", db.config.user.clone()),
        ("DB_SCHEMA", db.schema().to_owned()),
        ("DB_TLS_ENABLED", "false".into()),
        ("REDIS_HOST", redis.config.host.clone()),
        ("REDIS_PORT", redis.config.port.to_string()),
        ("REDIS_TLS_ENABLED", "false".into()),
        ("REDIS_KEY_PREFIX", redis.keys.prefix.clone()),
        ("LOG_LEVEL", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

async fn month_partitions(db: &TestDatabase) -> i64 {
    db.pool
        .get()
        .await
        .expect("connection")
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_audit_log'::regclass",
            &[],
        )
        .await
        .expect("count")
        .get(0)
}

#[tokio::test]
async fn retention_dry_run_changes_nothing_and_a_real_run_keeps_partitions_ahead() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let five_ahead = env(&db, &redis, &[("RETENTION_PRECREATE_MONTHS", "5")]);
    let before = month_partitions(&db).await; // DEFAULT only: nothing created yet

    run(Command::Retention { dry_run: true }, &five_ahead)
        .await
        .expect("dry run");
    assert_eq!(
        month_partitions(&db).await,
        before,
        "a dry run creates nothing"
    );

    run(Command::Retention { dry_run: false }, &five_ahead)
        .await
        .expect("retention run");
    assert_eq!(
        month_partitions(&db).await,
        before + 6,
        "this month and five ahead"
    );
    run(Command::Partitions, &five_ahead)
        .await
        .expect("partitions listing");
}
