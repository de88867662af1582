//! `TestRedis`: a unique key prefix on the shared test Redis, deleted when dropped.

use crate::config::RedisConfig;
use crate::redis::RedisConn;
use crate::redis::connection::RedisConnector;
use crate::redis::keys::RedisKeys;

pub struct TestRedis {
    pub keys: RedisKeys,
    pub config: RedisConfig,
    connector: RedisConnector,
}

impl TestRedis {
    /// Connects and hands out a fresh prefix. Panics, with the fix, when Redis is down.
    pub async fn new() -> Self {
        let host = super::env_or("MUTT_TEST_REDIS_HOST", "127.0.0.1");
        let port = super::env_or("MUTT_TEST_REDIS_PORT", "6379")
            .parse()
            .expect("MUTT_TEST_REDIS_PORT is a port");
        Self::on(&host, port).await
    }

    /// A fresh prefix on the Redis at `host:port` (e.g. a [`PrivateRedis`]).
    pub async fn on(host: &str, port: u16) -> Self {
        Self::on_with(host, port, None).await
    }

    /// The same, authenticating with `password`.
    pub async fn on_with(host: &str, port: u16, password: Option<&str>) -> Self {
        // reqwest is built without a default TLS provider (the workspace picks ring), so
        // every process that makes an HTTP client must install one first; tests do it here.
        crate::tls::install_crypto_provider();
        let keys = RedisKeys::new(&format!("t{}", uuid::Uuid::new_v4().simple()));
        let mut config = RedisConfig::local(keys.clone());
        config.host = host.to_owned();
        config.port = port;
        config.password = password.map(|p| secrecy::SecretString::from(p.to_owned()));
        let connector = RedisConnector::connect(&config).await.unwrap_or_else(|e| {
            panic!("{e}\nthe tests need Redis on {}:{}: run `scripts/test` (it starts Redis) or `scripts/infra up`", config.host, config.port)
        });
        Self {
            keys,
            config,
            connector,
        }
    }

    /// A fresh prefix (`keys`, laid out for a cluster) on the Redis Cluster whose nodes
    /// are `nodes` (e.g. a [`super::PrivateCluster`]'s).
    pub async fn on_cluster(nodes: Vec<(String, u16)>, keys: RedisKeys) -> Self {
        crate::tls::install_crypto_provider();
        let mut config = RedisConfig::local(keys.clone());
        config.cluster_nodes = nodes;
        let connector = RedisConnector::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("{e}: the test's Redis Cluster does not answer"));
        Self {
            keys,
            config,
            connector,
        }
    }

    pub fn connector(&self) -> &RedisConnector {
        &self.connector
    }

    /// A shared auto-reconnecting connection.
    pub async fn conn(&self) -> RedisConn {
        self.connector
            .shared()
            .await
            .expect("redis answered a moment ago")
    }

    /// A dedicated connection for blocking commands.
    pub async fn blocking_conn(&self, block: std::time::Duration) -> RedisConn {
        self.connector
            .blocking(block)
            .await
            .expect("redis answered a moment ago")
    }

    /// Every key under this test's prefix (on one Redis; a cluster's nodes are not asked).
    pub async fn keys_present(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        let mut found = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.all_pattern())
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("SCAN");
            found.extend(batch);
            if next == 0 {
                return found;
            }
            cursor = next;
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if !self.config.cluster_nodes.is_empty() {
            // A test's cluster is its own, and goes with it.
            return;
        }
        // Drop cannot await: clean up over a short-lived blocking connection instead.
        let password = self
            .config
            .password
            .as_ref()
            .map(|p| format!(":{}@", secrecy::ExposeSecret::expose_secret(p)))
            .unwrap_or_default();
        let Ok(client) = redis::Client::open(format!(
            "redis://{password}{}:{}/",
            self.config.host, self.config.port
        )) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let pattern = self.keys.all_pattern();
        let keys: Vec<String> = match redis::cmd("KEYS").arg(&pattern).query(&mut conn) {
            Ok(keys) => keys,
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
        }
    }
}

/// A `redis-server` of a test's own on a free loopback port, killed when dropped: for
/// what a shared server cannot give, such as `INFO commandstats` that counts one test's
/// commands only.
pub struct PrivateRedis {
    pub port: u16,
    /// `requirepass`, when it was started with one.
    pub password: Option<String>,
    _process: super::ChildProcess,
}

impl PrivateRedis {
    /// Starts one that keeps nothing on disk and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// The same, requiring `password` (as a MUTT v2.5 site's Redis does).
    pub async fn start_with(password: Option<&str>) -> Self {
        let port = super::free_tcp_port();
        // A replica writes the snapshot it syncs from its primary into its directory: a
        // directory of its own, not the test's working directory (the repository).
        let dir = std::env::temp_dir().join(format!("mutt-private-redis-{port}"));
        std::fs::create_dir_all(&dir).expect("a directory for the private redis-server");
        let mut command = std::process::Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir);
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let process = command
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/infra installs it)");
        let server = Self {
            port,
            password: password.map(str::to_owned),
            _process: super::ChildProcess(process),
        };
        super::eventually(
            std::time::Duration::from_secs(10),
            "the private redis-server to answer",
            || async {
                let mut conn = server
                    .client()
                    .get_multiplexed_async_connection()
                    .await
                    .ok()?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .ok()
            },
        )
        .await;
        server
    }

    fn client(&self) -> redis::Client {
        let auth = self
            .password
            .as_ref()
            .map(|p| format!(":{p}@"))
            .unwrap_or_default();
        redis::Client::open(format!("redis://{auth}127.0.0.1:{}/", self.port)).expect("redis URL")
    }

    /// Makes this server a replica of `primary` (`REPLICAOF`) and waits until the link is
    /// up and the first sync is done.
    pub async fn replicate(&self, primary: &PrivateRedis) {
        let mut conn = self
            .client()
            .get_multiplexed_async_connection()
            .await
            .expect("private redis answers");
        if let Some(password) = &primary.password {
            let _: () = redis::cmd("CONFIG")
                .arg("SET")
                .arg("masterauth")
                .arg(password)
                .query_async(&mut conn)
                .await
                .expect("CONFIG SET masterauth");
        }
        let _: () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(primary.port)
            .query_async(&mut conn)
            .await
            .expect("REPLICAOF");
        super::eventually(
            std::time::Duration::from_secs(20),
            "the replica's link to its primary",
            || {
                let mut conn = conn.clone();
                async move {
                    let info: String = redis::cmd("INFO")
                        .arg("replication")
                        .query_async(&mut conn)
                        .await
                        .ok()?;
                    let up = info.contains("master_link_status:up")
                        && info.contains("master_sync_in_progress:0");
                    up.then_some(())
                }
            },
        )
        .await;
    }

    /// A [`TestRedis`] (fresh prefix) on this server, with its password.
    pub async fn test_redis(&self) -> TestRedis {
        TestRedis::on_with("127.0.0.1", self.port, self.password.as_deref()).await
    }

    /// Calls per command since start, from `INFO
    /// commandstats`, which counts the commands scripts run too. `INFO` itself is left
    /// out, so that reading twice adds nothing.
    pub async fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        let mut conn = self
            .client()
            .get_multiplexed_async_connection()
            .await
            .expect("private redis answers");
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .expect("INFO commandstats");
        parse_command_calls(&info)
    }

    /// Runs `work` and counts the commands this server ran meanwhile, per command.
    pub async fn commands_during<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> (T, std::collections::BTreeMap<String, u64>) {
        let before = self.command_calls().await;
        let value = work.await;
        let after = self.command_calls().await;
        let delta = after
            .into_iter()
            .map(|(name, n)| {
                let was = before.get(&name).copied().unwrap_or(0);
                (name, n - was)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        (value, delta)
    }
}

/// `cmdstat_<name>:calls=<n>,…` lines to calls per command, `info` and `config` left out.
pub(super) fn parse_command_calls(info: &str) -> std::collections::BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| name != "info" && name != "config")
        .collect()
}
