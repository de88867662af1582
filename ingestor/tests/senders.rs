//! The sender recipes of `deploy/senders/`, run with the real daemons from Debian's
//! packages (`scripts/sender-deps` installs them) against an ingestor on free ports:
//!
//! - rsyslog forwarding with omfwd over TCP, octet-counted (`rsyslog-omfwd.conf`);
//! - the omhttp recipe's event template, rendered by rsyslog itself and posted as the
//!   NDJSON batch omhttp sends (`rsyslog-omhttp.conf`). Debian's rsyslog (8.2302, bookworm)
//!   is built without the omhttp module, so the HTTP leg is this test's POST rather than
//!   rsyslog's; the ingestor's NDJSON handling of omhttp's framing is covered in http.rs;
//! - snmptrapd with the `mutt-snmptrap` traphandle, fed by net-snmp's `snmptrap`.

mod support;

use serde_json::Value;
use shared::testing::{ChildProcess, TestRedis, eventually, free_udp_port};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{KEY, config, queued, start};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn recipe(name: &str) -> String {
    std::fs::read_to_string(repo().join("deploy/senders").join(name))
        .unwrap_or_else(|e| panic!("deploy/senders/{name}: {e}"))
}

/// Installs the daemons once per test binary; fails, saying why, when it cannot.
fn sender_deps() {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        Command::new(repo().join("scripts/sender-deps"))
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(
        ok,
        "scripts/sender-deps could not install rsyslog, snmptrapd and snmp (see above)"
    );
}

fn spawn(program: &str, args: &[&str], envs: &[(&str, &str)], log: &Path) -> ChildProcess {
    let log = std::fs::File::create(log).expect("log file");
    ChildProcess(
        Command::new(program)
            .args(args)
            .envs(envs.iter().copied())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}")),
    )
}

fn logger(port: u16, priority: &str, message: &str) {
    let status = Command::new("logger")
        .args(["-d", "-n", "127.0.0.1", "-P", &port.to_string()])
        .args(["--rfc3164", "-t", "senders-test", "-p", priority, message])
        .status()
        .expect("logger");
    assert!(status.success());
}

/// The rsyslog config of a test: a UDP input, a work directory, and `actions`.
fn rsyslog_conf(dir: &Path, udp_port: u16, actions: &str) -> PathBuf {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\n\
             module(load=\"imudp\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp_port}\")\n\
             {actions}\n",
            work = dir.display()
        ),
    )
    .expect("rsyslog.conf");
    conf
}

fn rsyslogd(dir: &Path, conf: &Path) -> ChildProcess {
    let check = Command::new("/usr/sbin/rsyslogd")
        .args(["-N1", "-f"])
        .arg(conf)
        .output()
        .expect("rsyslogd -N1");
    assert!(
        check.status.success(),
        "rsyslogd refuses the config:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let pid = dir.join("rsyslogd.pid");
    spawn(
        "/usr/sbin/rsyslogd",
        &[
            "-n",
            "-f",
            conf.to_str().expect("utf-8 path"),
            "-i",
            pid.to_str().expect("utf-8 path"),
        ],
        &[],
        &dir.join("rsyslogd.log"),
    )
}

async fn event_with(redis: &TestRedis, marker: &str) -> Value {
    eventually(
        Duration::from_secs(20),
        &format!("an event containing {marker} on the ingest queue"),
        || async {
            queued(redis)
                .await
                .into_iter()
                .find(|e| e.to_string().contains(marker))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rsyslog_forwards_with_omfwd_over_octet_counted_tcp() {
    sender_deps();
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let tcp = app.tcp.expect("tcp").port();
    let dir = tempdir("omfwd");
    let action = recipe("rsyslog-omfwd.conf")
        .replace("mutt-syslog.example.internal", "127.0.0.1")
        .replace("port=\"514\"", &format!("port=\"{tcp}\""));
    assert!(action.contains("TCP_Framing=\"octet-counted\""));
    let udp = free_udp_port();
    let conf = rsyslog_conf(&dir, udp, &action);
    let _rsyslog = rsyslogd(&dir, &conf);
    let marker = format!("omfwd-{}", redis.keys.prefix);
    // rsyslog needs a moment to open its input; resend until the event arrives.
    let event = eventually(Duration::from_secs(20), "rsyslog to forward", || {
        logger(
            udp,
            "local3.err",
            &format!("%LINK-3-UPDOWN: {marker} multi\nline"),
        );
        let redis = &redis;
        let marker = marker.clone();
        async move {
            queued(redis)
                .await
                .into_iter()
                .find(|e| e.to_string().contains(&marker))
        }
    })
    .await;
    assert!(
        event["message"]
            .as_str()
            .expect("message")
            .contains(&marker),
        "{event}"
    );
    assert_eq!(event["syslog_severity"], 3, "err → 3: {event}");
    assert_eq!(event["source"], "syslog", "{event}");
    assert_eq!(event["app_name"], "senders-test", "{event}");
    app.stop().await;
    drop(_rsyslog);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_omhttp_recipes_template_renders_events_the_ingestor_accepts_as_an_ndjson_batch() {
    sender_deps();
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let dir = tempdir("omhttp");
    let recipe = recipe("rsyslog-omhttp.conf");
    let template = &recipe[recipe.find("template(").expect("a template")..];
    let template = &template[..=template.find("\n}").expect("template end") + 1];
    let out = dir.join("events.ndjson");
    let actions = format!(
        "{template}\naction(type=\"omfile\" file=\"{}\" template=\"mutt_event\")",
        out.display()
    );
    let udp = free_udp_port();
    let conf = rsyslog_conf(&dir, udp, &actions);
    let _rsyslog = rsyslogd(&dir, &conf);
    let marker = format!("omhttp-{}", redis.keys.prefix);
    let lines = eventually(
        Duration::from_secs(20),
        "rsyslog to render 3 events",
        || {
            let out = out.clone();
            let marker = marker.clone();
            async move {
                for n in 0..3 {
                    logger(
                        udp,
                        "local3.warning",
                        &format!("{marker} event {n} \"quoted\""),
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                let text = std::fs::read_to_string(&out).unwrap_or_default();
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| l.contains(&marker))
                    .map(str::to_owned)
                    .collect();
                (lines.len() >= 3).then_some(lines)
            }
        },
    )
    .await;
    // omhttp's batch.format="newline": the rendered events, one per line, in one POST.
    let body = lines[..3].join("\n");
    let response = reqwest::Client::new()
        .post(app.url("/ingest"))
        .header("X-API-KEY", KEY)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let event = event_with(&redis, &marker).await;
    assert_eq!(
        event["syslog_severity"], 4,
        "warning → 4, a number: {event}"
    );
    assert_eq!(event["facility"], "local3", "{event}");
    assert!(
        event["hostname"].as_str().is_some_and(|h| !h.is_empty()),
        "{event}"
    );
    assert!(
        event["message"]
            .as_str()
            .expect("message")
            .contains("\"quoted\""),
        "{event}"
    );
    app.stop().await;
    drop(_rsyslog);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn snmptrapd_with_the_traphandle_sends_the_trap_oid_and_its_source() {
    sender_deps();
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let dir = tempdir("snmptrapd");
    let handler = repo().join("deploy/senders/mutt-snmptrap");
    let conf = dir.join("snmptrapd.conf");
    std::fs::write(
        &conf,
        recipe("snmptrapd.conf").replace(
            "/usr/local/bin/mutt-snmptrap",
            &handler.display().to_string(),
        ),
    )
    .expect("snmptrapd.conf");
    let port = free_udp_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let url = app.url("/ingest");
    let _snmptrapd = spawn(
        "/usr/sbin/snmptrapd",
        &[
            "-f",
            "-Lo",
            "-On",
            "-C",
            "-c",
            conf.to_str().expect("utf-8"),
            &listen,
        ],
        &[
            ("MUTT_INGEST_URL", url.as_str()),
            ("MUTT_INGEST_API_KEY", KEY),
        ],
        &dir.join("snmptrapd.log"),
    );
    let marker = format!("trap-{}", redis.keys.prefix);
    let event = eventually(
        Duration::from_secs(20),
        "snmptrapd to hand the trap over",
        || {
            // linkDown, with ifIndex and a description that carries the marker.
            let status = Command::new("snmptrap")
                .args(["-v", "2c", "-c", "public", &format!("127.0.0.1:{port}"), ""])
                .args(["1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7", "i", "7"])
                .args(["1.3.6.1.2.1.2.2.1.2.7", "s", &marker])
                .status()
                .expect("snmptrap");
            assert!(status.success());
            let redis = &redis;
            let marker = marker.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                queued(redis)
                    .await
                    .into_iter()
                    .find(|e| e.to_string().contains(&marker))
            }
        },
    )
    .await;
    assert_eq!(event["trap_oid"], "1.3.6.1.6.3.1.1.5.3", "{event}");
    assert_eq!(
        event["source_ip"], "127.0.0.1",
        "the sender, not the receiver: {event}"
    );
    assert!(
        ["localhost", "127.0.0.1"].contains(&event["hostname"].as_str().unwrap_or_default()),
        "{event}"
    );
    app.stop().await;
    drop(_snmptrapd);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scratch folder for a daemon's config and logs; removed when its test passes, kept
/// (for the logs) when it fails.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mutt-senders-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn rsyslog_forwards_over_tls_with_its_gnutls_driver_and_a_client_certificate() {
    sender_deps();
    let certs = shared::testing::TestCerts::make();
    let (client_cert, client_key) = certs.client("rsyslog-sender");
    let redis = TestRedis::new().await;
    let path = |p: &Path| p.display().to_string();
    let (cert, key, ca) = (
        path(&certs.server.cert_file),
        path(&certs.server.key_file),
        path(&certs.ca_file),
    );
    // Client certificates required: only senders the CA vouches for.
    let app = start(config(
        &redis,
        &[
            ("SYSLOG_TLS_CERT_FILE", &cert),
            ("SYSLOG_TLS_KEY_FILE", &key),
            ("SYSLOG_TLS_PORT", "0"),
            ("SYSLOG_TLS_CLIENT_CA_FILE", &ca),
        ],
    ))
    .await;
    let port = app.tls.expect("syslog over TLS").port();
    let dir = tempdir("omfwd-tls");
    let action = recipe("rsyslog-omfwd-tls.conf")
        .replace("mutt-syslog.example.internal\" port", "127.0.0.1\" port")
        .replace("port=\"6514\"", &format!("port=\"{port}\""))
        .replace(
            "StreamDriverPermittedPeers=\"mutt-syslog.example.internal\"",
            "StreamDriverPermittedPeers=\"localhost\"",
        )
        .replace("/etc/ssl/mutt/ca.pem", &ca)
        .replace("/etc/ssl/mutt/this-host.pem", &path(&client_cert))
        .replace("/etc/ssl/mutt/this-host.key", &path(&client_key));
    assert!(action.contains("StreamDriver=\"gtls\"") && action.contains("octet-counted"));
    let udp = free_udp_port();
    let conf = rsyslog_conf(&dir, udp, &action);
    let _rsyslog = rsyslogd(&dir, &conf);
    let marker = format!("tls-{}", redis.keys.prefix);
    let event = eventually(
        Duration::from_secs(30),
        "rsyslog to forward over TLS",
        || {
            logger(udp, "local3.warning", &format!("%LINK-3-UPDOWN: {marker}"));
            let redis = &redis;
            let marker = marker.clone();
            async move {
                queued(redis)
                    .await
                    .into_iter()
                    .find(|e| e.to_string().contains(&marker))
            }
        },
    )
    .await;
    assert_eq!(event["syslog_severity"], 4, "warning → 4: {event}");
    assert_eq!(event["source"], "syslog", "{event}");

    // The same octet-counted frame sent with `openssl s_client` arrives with the client
    // certificate, and not without it.
    let send = |marker: &str, identity: &str| {
        let frame = format!("<28>1 2026-12-07T00:00:00Z host app - - - {marker}");
        let script = format!(
            "printf '%s' '{} {frame}' | timeout 5 openssl s_client -connect 127.0.0.1:{port} -CAfile {ca} {identity} -quiet",
            frame.len()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh");
    };
    let known = format!("known-{}", redis.keys.prefix);
    send(
        &known,
        &format!("-cert {} -key {}", path(&client_cert), path(&client_key)),
    );
    event_with(&redis, &known).await;
    let stranger = format!("stranger-{}", redis.keys.prefix);
    send(&stranger, "");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !queued(&redis)
            .await
            .iter()
            .any(|e| e.to_string().contains(&stranger)),
        "a sender without a client certificate got through"
    );
    app.stop().await;
    drop(_rsyslog);
    let _ = std::fs::remove_dir_all(&dir);
}
