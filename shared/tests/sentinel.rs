//! Redis Sentinel, for real: a master, a replica and a sentinel (Debian's `redis-server`,
//! on free loopback ports, nothing on disk). A service finds the master through the
//! sentinel; when the sentinel fails over to the replica, `run_following_master` stops the
//! service with an error that names the new master, and connecting again reaches it with
//! the data written before.

use shared::config::{RedisConfig, SentinelConfig};
use shared::redis::connection::{RedisConnector, run_following_master};
use shared::redis::keys::RedisKeys;
use shared::testing::{ChildProcess, eventually, free_tcp_port};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn redis_server(dir: &Path, args: &[&str]) -> ChildProcess {
    ChildProcess(
        Command::new("redis-server")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/infra installs it)"),
    )
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    eventually(Duration::from_secs(30), what, || async {
        check().then_some(())
    })
    .await;
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mutt-sentinel-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failover_stops_the_service_and_a_restart_finds_the_new_master_with_the_data() {
    let dir = scratch();
    let (master, replica, sentinel) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    let common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    let _master = redis_server(
        &dir,
        &[&["--port", &master.to_string()], &common[..]].concat(),
    );
    let master_arg = master.to_string();
    let _replica = redis_server(
        &dir,
        &[
            &["--port", &replica.to_string()],
            &common[..],
            &["--replicaof", "127.0.0.1", &master_arg],
        ]
        .concat(),
    );
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel}\nbind 127.0.0.1\n\
             sentinel monitor mutt 127.0.0.1 {master} 1\n\
             sentinel down-after-milliseconds mutt 1000\n\
             sentinel failover-timeout mutt 5000\n"
        ),
    )
    .expect("sentinel.conf");
    let _sentinel = redis_server(&dir, &[conf.to_str().expect("utf-8"), "--sentinel"]);
    until("the replica to sync", || {
        cli(replica, &["info", "replication"]).contains("master_link_status:up")
    })
    .await;
    until("the sentinel to see the replica", || {
        cli(sentinel, &["sentinel", "replicas", "mutt"]).contains(&replica.to_string())
    })
    .await;

    let mut config = RedisConfig::local(RedisKeys::new("sentinel-test"));
    config.host = "unused.invalid".into(); // with Sentinel, REDIS_HOST is not asked
    config.sentinel = Some(SentinelConfig {
        hosts: vec![("127.0.0.1".into(), sentinel)],
        master_name: "mutt".into(),
        password: None,
    });
    let connector = RedisConnector::connect(&config)
        .await
        .expect("connect through the sentinel");
    assert_eq!(connector.addr(), format!("127.0.0.1:{master}"));
    let mut redis = connector.shared().await.expect("connection");
    let _: () = redis::cmd("SET")
        .arg("sentinel-test:written-before")
        .arg("kept")
        .query_async(&mut redis)
        .await
        .expect("set on the master");
    until("the write to reach the replica", || {
        cli(replica, &["get", "sentinel-test:written-before"]) == "kept"
    })
    .await;

    // A service that would run until told to stop.
    let service = {
        let connector = connector.clone();
        tokio::spawn(async move {
            run_following_master(&connector, CancellationToken::new(), |stop| async move {
                stop.cancelled().await;
                Ok(())
            })
            .await
        })
    };
    until("the sentinel to start a failover", || {
        cli(sentinel, &["sentinel", "failover", "mutt"]) == "OK"
    })
    .await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), service)
        .await
        .expect("the service stops after the failover")
        .expect("task");
    let error = stopped.expect_err("a failover is an error, so the process restarts");
    assert!(
        error
            .to_string()
            .contains(&format!("to 127.0.0.1:{replica}")),
        "{error}"
    );

    let again = RedisConnector::connect(&config).await.expect("reconnect");
    assert_eq!(again.addr(), format!("127.0.0.1:{replica}"));
    let mut redis = again.shared().await.expect("connection");
    let kept: String = redis::cmd("GET")
        .arg("sentinel-test:written-before")
        .query_async(&mut redis)
        .await
        .expect("get");
    assert_eq!(kept, "kept");
    let _: () = redis::cmd("SET")
        .arg("sentinel-test:written-after")
        .arg("x")
        .query_async(&mut redis)
        .await
        .expect("the new master takes writes");

    // Without a failover, the same wrapper returns what the service returns.
    let quiet = run_following_master(&again, CancellationToken::new(), |_| async { Ok(()) }).await;
    assert!(quiet.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
