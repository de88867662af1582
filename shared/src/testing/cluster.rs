//! `PrivateCluster`: a real Redis Cluster of a test's own on loopback, as production runs
//! one: three primaries and three replicas made by `redis-cli --cluster create`, with AOF
//! `everysec` (the documented setting), killed and deleted when dropped.
//!
//! Each test that needs a cluster starts its own: failovers and `kill -9` change a
//! cluster, and one test's must not disturb another's.

use super::{ChildProcess, TestRedis, eventually, free_tcp_port};
use crate::redis::keys::RedisKeys;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One node of a [`PrivateCluster`].
pub struct ClusterNode {
    pub port: u16,
    process: Option<ChildProcess>,
    args: Vec<String>,
}

pub struct PrivateCluster {
    pub nodes: Vec<ClusterNode>,
    dir: PathBuf,
}

/// How long a node may be silent before the others fail it over (`cluster-node-timeout`).
pub const NODE_TIMEOUT: Duration = Duration::from_secs(2);

impl PrivateCluster {
    /// Starts six nodes, joins them into a cluster of three primaries with one replica
    /// each, and waits until every node reports `cluster_state:ok`.
    pub async fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("mutt-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster");
        let mut nodes: Vec<ClusterNode> = Vec::new();
        for _ in 0..6 {
            let taken: Vec<u16> = nodes.iter().map(|n| n.port).collect();
            nodes.push(ClusterNode::start_fresh(&dir, &taken).await);
        }
        let cluster = Self { nodes, dir };
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli (scripts/infra installs it)");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_until_ok().await;
        cluster
    }

    /// Waits until every running node says the cluster is ok and knows three primaries
    /// that each have a replica in sync.
    pub async fn wait_until_ok(&self) {
        eventually(Duration::from_secs(60), "the cluster to be ok", || async {
            for node in self.nodes.iter().filter(|n| n.process.is_some()) {
                let info = node.ask(&["CLUSTER", "INFO"]).await?;
                if !info.contains("cluster_state:ok") {
                    return None;
                }
            }
            let primaries = self.primaries().await;
            (primaries.len() == 3).then_some(())?;
            for port in primaries {
                let info = self.node(port).ask(&["INFO", "replication"]).await?;
                let synced = info.contains("connected_slaves:1") && info.contains("state=online");
                synced.then_some(())?;
            }
            Some(())
        })
        .await;
    }

    /// `127.0.0.1:port` of every node, for `REDIS_CLUSTER_NODES`.
    pub fn node_list(&self) -> Vec<(String, u16)> {
        self.nodes
            .iter()
            .map(|n| ("127.0.0.1".to_owned(), n.port))
            .collect()
    }

    pub fn node(&self, port: u16) -> &ClusterNode {
        self.nodes
            .iter()
            .find(|n| n.port == port)
            .expect("a node of this cluster")
    }

    pub fn node_mut(&mut self, port: u16) -> &mut ClusterNode {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of this cluster")
    }

    /// The ports of the running primaries that own slots.
    pub async fn primaries(&self) -> Vec<u16> {
        let mut primaries = Vec::new();
        for node in self.nodes.iter().filter(|n| n.process.is_some()) {
            let Some(info) = node.ask(&["INFO", "replication"]).await else {
                continue;
            };
            if info.contains("role:master") {
                primaries.push(node.port);
            }
        }
        primaries
    }

    /// The port of the primary that serves `key`, as the first node that answers sees it;
    /// `None` while none does (during a failover).
    pub async fn primary_of(&self, key: &str) -> Option<u16> {
        let slot = crate::redis::slots::slot(key.as_bytes());
        for node in self.nodes.iter().filter(|n| n.process.is_some()) {
            let Some(shards) = node.ask(&["CLUSTER", "NODES"]).await else {
                continue;
            };
            for line in shards.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                    continue;
                }
                let owns = fields[8..].iter().any(|range| {
                    let (from, to) = range.split_once('-').unwrap_or((range, range));
                    match (from.parse::<u16>(), to.parse::<u16>()) {
                        (Ok(from), Ok(to)) => (from..=to).contains(&slot),
                        _ => false,
                    }
                });
                if owns {
                    return fields[1]
                        .split(['@', ':'])
                        .nth(1)
                        .and_then(|p| p.parse().ok());
                }
            }
        }
        None
    }

    /// The replica of the primary on `primary`.
    pub async fn replica_of(&self, primary: u16) -> u16 {
        for node in self.nodes.iter().filter(|n| n.process.is_some()) {
            if let Some(info) = node.ask(&["INFO", "replication"]).await
                && info.contains("role:slave")
                && info.contains(&format!("master_port:{primary}"))
            {
                return node.port;
            }
        }
        panic!("no replica of {primary}")
    }

    /// A [`TestRedis`] on this cluster with a fresh prefix and `shards` queue shards.
    pub async fn test_redis(&self, shards: usize) -> TestRedis {
        let keys =
            RedisKeys::new(&format!("t{}", uuid::Uuid::new_v4().simple())).laid_out(shards, true);
        TestRedis::on_cluster(self.node_list(), keys).await
    }

    /// Calls per command on every running primary, summed (`INFO commandstats`; `INFO`
    /// and `CONFIG` left out).
    pub async fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        let mut total = std::collections::BTreeMap::new();
        for port in self.primaries().await {
            for (name, calls) in self.node(port).command_calls().await {
                *total.entry(name).or_insert(0) += calls;
            }
        }
        total
    }
}

impl ClusterNode {
    /// A node on free ports of its own (client and bus), answering. Tests start many servers
    /// at once, so a port found free may be taken before the server binds it: then the node
    /// is started again on other ports.
    async fn start_fresh(dir: &std::path::Path, taken: &[u16]) -> Self {
        for _ in 0..10 {
            let port = free_tcp_port();
            let bus = free_tcp_port();
            if port == bus || taken.contains(&port) || taken.contains(&bus) {
                continue;
            }
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).expect("a directory for a node");
            let args = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus.to_string(),
                "--cluster-node-timeout",
                &NODE_TIMEOUT.as_millis().to_string(),
                "--dir",
                &node_dir.display().to_string(),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ]
            .map(str::to_owned)
            .to_vec();
            let mut node = ClusterNode {
                port,
                process: None,
                args,
            };
            node.spawn();
            for _ in 0..100 {
                if node.ask(&["PING"]).await.is_some() {
                    return node;
                }
                let exited = node
                    .process
                    .as_mut()
                    .is_none_or(|p| p.0.try_wait().ok().flatten().is_some());
                if exited {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            node.kill();
        }
        panic!("no cluster node would start on free ports")
    }

    fn spawn(&mut self) {
        let process = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/infra installs it)");
        self.process = Some(ChildProcess(process));
    }

    /// `kill -9`: the node stops at once, with at most its last second of AOF unwritten.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.0.kill();
            let _ = process.0.wait();
        }
    }

    /// Starts the node again from its data directory; it rejoins as it was configured.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Calls per command on this node (`INFO commandstats`; `INFO` and `CONFIG` left out).
    pub async fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        let info = self
            .ask(&["INFO", "commandstats"])
            .await
            .unwrap_or_default();
        super::redis::parse_command_calls(&info)
    }

    /// `SIGSTOP`: the node stops answering (and replicating) until [`ClusterNode::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(process) = &self.process {
            let status = Command::new("kill")
                .arg(signal)
                .arg(process.0.id().to_string())
                .status()
                .expect("kill");
            assert!(status.success(), "kill {signal}");
        }
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Runs one command on this node alone and returns its answer as text, `None` when
    /// the node cannot be reached or answers an error.
    pub async fn ask(&self, args: &[&str]) -> Option<String> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).ok()?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .ok()?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        match cmd.query_async::<redis::Value>(&mut conn).await.ok()? {
            redis::Value::Okay => Some("OK".into()),
            value => redis::from_redis_value::<String>(value).ok(),
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
