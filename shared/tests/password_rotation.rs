//! `REDIS_PASS_NEXT` on every new connection, against a real password-checking
//! Redis (`redis-server --requirepass` on a free port): the server's password is rotated
//! while a service's connections live, every client is cut off, and the same connection
//! manager comes back on the next password without a restart.

use secrecy::SecretString;
use shared::config::RedisConfig;
use shared::redis::connection::RedisConnector;
use shared::redis::keys::RedisKeys;
use shared::testing::{ChildProcess, eventually, free_tcp_port};
use std::process::{Command, Stdio};
use std::time::Duration;

fn cli(port: u16, password: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--no-auth-warning", "-a", password])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_rotated_on_the_server_is_followed_by_reconnects_without_a_restart() {
    let port = free_tcp_port();
    let _server = ChildProcess(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                "old-secret",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server"),
    );
    eventually(
        Duration::from_secs(10),
        "the private redis-server to answer",
        || async { (cli(port, "old-secret", &["ping"]) == "PONG").then_some(()) },
    )
    .await;

    let mut config = RedisConfig::local(RedisKeys::new("rotation-test"));
    config.port = port;
    config.password = Some(SecretString::from("old-secret"));
    config.password_next = Some(SecretString::from("new-secret"));
    let connector = RedisConnector::connect(&config).await.expect("connect");
    let mut redis = connector.shared().await.expect("manager");
    let _: () = redis::cmd("SET")
        .arg("rotation-test:k")
        .arg("before")
        .query_async(&mut redis)
        .await
        .expect("set with the current password");

    // The operator rotates: the server now takes only the next password, and every
    // connection is cut (as a restart or failover of Redis would).
    assert_eq!(
        cli(
            port,
            "old-secret",
            &["config", "set", "requirepass", "new-secret"]
        ),
        "OK"
    );
    cli(port, "new-secret", &["client", "kill", "type", "normal"]);

    // The same manager reconnects, and the new connection authenticates with the next
    // password. (The first command may meet the cut connection; a retry is what every
    // caller does.)
    let value: String = eventually(Duration::from_secs(15), "the manager to reconnect", || {
        let mut redis = redis.clone();
        async move {
            redis::cmd("GET")
                .arg("rotation-test:k")
                .query_async(&mut redis)
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(value, "before");
    // A connection made from scratch takes the next password as well.
    let mut fresh = connector.shared().await.expect("a new manager");
    let _: () = redis::cmd("SET")
        .arg("rotation-test:k")
        .arg("after")
        .query_async(&mut fresh)
        .await
        .expect("set on a new connection");
}

/// A private PostgreSQL cluster with password authentication on loopback (this machine's
/// shared one trusts loopback, so it cannot tell passwords apart). Stopped on drop.
struct Cluster {
    dir: std::path::PathBuf,
    port: u16,
}

/// Runs a PostgreSQL tool as the `postgres` user when this is root (initdb refuses root).
fn as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries (scripts/infra installs them)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(tool)))
        .filter(|p| p.exists())
        .max()
        .unwrap_or_else(|| panic!("no {tool} under /usr/lib/postgresql"));
    let root = Command::new("id").arg("-u").output().expect("id").stdout == b"0\n";
    let mut command = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    command.args(args).output().expect(tool)
}

impl Cluster {
    fn start(password: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mutt-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, password).expect("pwfile");
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        let data = dir.join("data");
        let out = as_postgres(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-U",
                "postgres",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--pwfile",
                pwfile.to_str().expect("utf-8"),
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_tcp_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        );
        let log = dir.join("log");
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-o",
                &options,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, port }
    }

    /// SQL over the Unix socket (trusted), as the superuser.
    fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                self.dir.to_str().expect("utf-8"),
                "-p",
                &self.port.to_string(),
            ])
            .args(["-U", "postgres", "-d", "postgres", "-Atq", "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_postgres(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_password_rotated_on_the_server_is_followed_by_new_pool_connections() {
    let cluster = Cluster::start("old-secret");
    let config = shared::config::DbConfig {
        host: "127.0.0.1".into(),
        port: cluster.port,
        name: "postgres".into(),
        user: "postgres".into(),
        password: Some(SecretString::from("old-secret")),
        password_next: Some(SecretString::from("new-secret")),
        tls_enabled: false,
        ca_cert_path: None,
        pool_min: 1,
        pool_max: 2,
        schema: None,
    };
    let pool = shared::store::connect(&config).await.expect("pool");
    let one: i32 = pool
        .get()
        .await
        .expect("connection")
        .query_one("SELECT 1", &[])
        .await
        .expect("select")
        .get(0);
    assert_eq!(one, 1);

    // Rotate on the server, then end every session: the pool must open new ones.
    cluster.psql("ALTER USER postgres PASSWORD 'new-secret'");
    cluster.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    let who: String = eventually(Duration::from_secs(15), "a new pool connection", || async {
        let conn = pool.get().await.ok()?;
        conn.query_one("SELECT current_user::text", &[])
            .await
            .ok()
            .map(|r| r.get::<_, String>(0))
    })
    .await;
    assert_eq!(who, "postgres");
    // And a new pool, built after the rotation, opens with the next password too.
    let again = shared::store::connect(&config)
        .await
        .expect("a pool after the rotation");
    drop(again.get().await.expect("connection"));
}
