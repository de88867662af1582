//! The `webui` subcommands against a real PostgreSQL schema and Redis prefix, configured
//! through the same environment variables an operator sets.

mod support;

use shared::testing::{TestDatabase, TestRedis};
use support::env;
use webui::commands::{Command, run};

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

#[tokio::test]
async fn create_key_prints_the_key_alone_on_stdout_and_stores_only_its_hash() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
        .args(["create-key", "--name", "noc", "--scopes", "read,admin"])
        .env_clear()
        .envs(env(&db, &redis, &[]))
        .output()
        .expect("run webui");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let key = stdout.strip_suffix('\n').expect("one line");
    assert!(
        !key.contains('\n') && key.starts_with("mutt_") && key.len() == 69,
        "{stdout:?}"
    );

    let holder = shared::store::api_keys::find_key(&db.pool, key)
        .await
        .expect("lookup")
        .expect("the key works");
    assert_eq!(holder.name, "noc");
    assert!(holder.may(shared::store::api_keys::Scope::Admin));
    let stored: i64 = db
        .pool
        .get()
        .await
        .expect("connection")
        .query_one(
            "SELECT count(*) FROM api_keys WHERE key_sha256 = $1 OR key_sha256 = $2",
            &[&key, &shared::store::api_keys::key_hash(key)],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 1, "the hash is stored, never the key");
    let mirrored = shared::redis::api_key_mirror::lookup(&mut redis.conn().await, &redis.keys, key)
        .await
        .expect("redis");
    assert_eq!(mirrored, Some(holder), "mirrored for the ingestor at once");

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
        .args(["create-key", "--name", "x", "--scopes", "write"])
        .env_clear()
        .envs(env(&db, &redis, &[]))
        .output()
        .expect("run webui");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope \"write\""));
    assert!(bad.stdout.is_empty());
}

#[tokio::test]
async fn v25_check_names_each_step_left_and_passes_once_they_are_done() {
    use webui::v25_check;
    let (db, redis) = (TestDatabase::v25().await, TestRedis::new().await);
    let keys = &redis.keys;
    let mut conn = redis.conn().await;
    // What v2.5 workers leave in Redis: its forwarders' sliding log, and the processing
    // list of an alerter that died (no heartbeat).
    let _: () = redis::pipe()
        .zadd(
            &keys.moog_rate_limit,
            "1764500000000:0.42",
            1764500000000u64,
        )
        .lpush(
            keys.processing_list(shared::redis::keys::WorkerRole::Alerter, "alerter-3f9c2a"),
            r#"{"hostname":"r1","message":"CRITICAL"}"#,
        )
        .query_async(&mut conn)
        .await
        .expect("v2.5's keys");

    let actions = |findings: &[v25_check::Finding]| -> Vec<String> {
        findings
            .iter()
            .filter(|f| !f.fine)
            .map(|f| f.what.clone())
            .collect()
    };
    let database = v25_check::database(&db.pool).await.expect("database");
    assert_eq!(actions(&database).len(), 1, "{database:?}");
    assert!(actions(&database)[0].contains("v2.5 database, not migrated"));
    let found = v25_check::redis(&mut conn, keys, false)
        .await
        .expect("redis");
    let left = actions(&found);
    assert_eq!(left.len(), 2, "{found:?}");
    assert!(left.iter().any(|a| a.contains("REDIS_PASS")), "{left:?}");
    assert!(
        left.iter()
            .any(|a| a.contains("MOOG_RATE_LIMITER=v25_sliding_log")),
        "{left:?}"
    );
    assert!(
        found.iter().any(|f| f.fine
            && f.what.contains("alerter-3f9c2a")
            && f.what.contains("without a heartbeat")),
        "the dead v2.5 alerter's list is reported: {found:?}"
    );
    // The command line operators (and scripts/migrate-from-v25 --check) run.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
        .arg("v25-check")
        .env_clear()
        .envs(env(&db, &redis, &[]))
        .output()
        .expect("webui v25-check");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "fails while actions are left:\n{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ACTION")).count(),
        3,
        "{report}"
    );

    // The steps done: migrated, the last v2.5 forwarder gone (its limiter replaced), a
    // password configured.
    shared::store::migrate(&db.pool).await.expect("migrate");
    let _: () = redis::cmd("DEL")
        .arg(&keys.moog_rate_limit)
        .query_async(&mut conn)
        .await
        .expect("DEL");
    let database = v25_check::database(&db.pool).await.expect("database");
    assert!(actions(&database).is_empty(), "{database:?}");
    let found = v25_check::redis(&mut conn, keys, true)
        .await
        .expect("redis");
    assert!(actions(&found).is_empty(), "{found:?}");
}

#[tokio::test]
async fn reshard_moves_what_the_old_shard_count_left_into_the_new_layout() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let mut conn = redis.conn().await;
    // Left by services that ran with QUEUE_SHARDS=1 (v2.5's names).
    shared::queue::push_batch(&mut conn, &redis.keys.ingest_queue, &["e1", "e2", "e3"])
        .await
        .expect("push");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
        .args(["reshard", "--from", "1"])
        .env_clear()
        .envs(env(&db, &redis, &[("QUEUE_SHARDS", "2")]))
        .output()
        .expect("webui reshard");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert!(out.status.success(), "{report}");
    assert_eq!(report["queued"], 3, "{report}");
    let new = redis.keys.with_shards(2);
    let moved: Vec<String> = redis::cmd("LRANGE")
        .arg(&new.ingest_queue)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("LRANGE");
    assert_eq!(moved, ["e3", "e2", "e1"], "in the order they were queued");
    let left: u64 = redis::cmd("LLEN")
        .arg(&redis.keys.ingest_queue)
        .query_async(&mut conn)
        .await
        .expect("LLEN");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn keys_are_listed_rotated_and_revoked_from_the_command_line_and_audited() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let webui = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_webui"))
            .args(args)
            .env_clear()
            .envs(env(&db, &redis, &[]))
            .output()
            .expect("webui")
    };
    let made = webui(&["create-key", "--name", "relay", "--scopes", "ingest"]);
    assert!(made.status.success());
    let first = String::from_utf8(made.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();

    let rotated = webui(&["keys", "rotate", "relay", "--grace-seconds", "600"]);
    assert!(rotated.status.success(), "{rotated:?}");
    let second = String::from_utf8(rotated.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(
        second.starts_with("mutt_") && second != first,
        "the new key alone on stdout"
    );

    let listed = webui(&["keys", "list"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(listed.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|k| k["name"] == "relay" && k["active"] == true)
    );
    let text = format!("{lines:?}");
    assert!(
        !text.contains(&first) && !text.contains(&second),
        "no key material"
    );

    let revoked = webui(&["keys", "revoke", "relay", "--reason", "relay retired"]);
    assert!(revoked.status.success(), "{revoked:?}");
    let conn = db.pool.get().await.expect("connection");
    let active: i64 = conn
        .query_one(
            "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL OR revoked_at > now()",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(active, 0);
    let audited: Vec<String> = conn
        .query(
            "SELECT operation FROM config_audit_log WHERE table_name = 'api_keys' \
             AND changed_by = 'webui-cli' ORDER BY id",
            &[],
        )
        .await
        .expect("audit")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audited, ["CREATE", "UPDATE", "DELETE"]);
    let unknown = webui(&["keys", "revoke", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
}
