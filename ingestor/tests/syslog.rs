//! Syslog over UDP and TCP against a real Redis, fed by util-linux `logger` and by hand.

mod support;

use serde_json::Value;
use shared::testing::{TestRedis, eventually};
use std::net::SocketAddr;
use std::time::Duration;
use support::{config, queued, start};
use tokio::io::AsyncWriteExt;

async fn wait_for(redis: &TestRedis, n: usize) -> Vec<Value> {
    eventually(
        Duration::from_secs(10),
        &format!("{n} events on the queue"),
        || async {
            let items = queued(redis).await;
            (items.len() >= n).then_some(items)
        },
    )
    .await
}

fn logger(args: &[&str]) {
    let status = std::process::Command::new("logger")
        .args(args)
        .status()
        .expect("util-linux logger is installed");
    assert!(status.success(), "logger {args:?}");
}

#[tokio::test]
async fn logger_over_udp_and_tcp_in_both_rfc_formats_and_both_framings() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let udp = app.udp.expect("udp").port().to_string();
    let tcp = app.tcp.expect("tcp").port().to_string();
    let base = ["-n", "127.0.0.1", "-t", "mutt-test", "-p", "local3.err"];
    logger(
        &[
            &base[..],
            &["-d", "-P", &udp, "--rfc3164", "udp 3164 LINK-DOWN"],
        ]
        .concat(),
    );
    logger(
        &[
            &base[..],
            &["-d", "-P", &udp, "--rfc5424", "udp 5424 LINK-DOWN"],
        ]
        .concat(),
    );
    logger(
        &[
            &base[..],
            &["-T", "-P", &tcp, "--rfc5424", "tcp newline LINK-DOWN"],
        ]
        .concat(),
    );
    logger(
        &[
            &base[..],
            &[
                "-T",
                "-P",
                &tcp,
                "--octet-count",
                "--rfc5424",
                "tcp octet LINK-DOWN",
            ],
        ]
        .concat(),
    );
    let items = wait_for(&redis, 4).await;
    let mut messages: Vec<&str> = items
        .iter()
        .map(|e| e["message"].as_str().expect("message"))
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "tcp newline LINK-DOWN",
            "tcp octet LINK-DOWN",
            "udp 3164 LINK-DOWN",
            "udp 5424 LINK-DOWN"
        ]
    );
    for e in &items {
        assert_eq!(e["syslog_severity"], 3, "{e}");
        assert_eq!(e["facility"], "local3");
        assert_eq!(e["app_name"], "mutt-test");
        assert_eq!(e["source"], "syslog");
        assert_eq!(e["source_ip"], "127.0.0.1");
        assert!(
            e["_event_id"].is_string() && e["hostname"].is_string() && e["timestamp"].is_string()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn tcp_lines_split_across_reads_overlong_lines_and_garbage_are_all_kept() {
    let redis = TestRedis::new().await;
    let mut cfg = config(&redis, &[]);
    cfg.syslog_max_line_bytes = 600;
    let app = start(cfg).await;
    let mut stream = tokio::net::TcpStream::connect(app.tcp.expect("tcp"))
        .await
        .expect("connect");
    // v2.5's sample events, as a Cisco device would send them over syslog.
    let sample = "<186>Nov 11 16:34:50 wireless-controller-12.campus.example.com %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/0/0, changed state to down\n";
    let (head, tail) = sample.split_at(40);
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(50)).await; // make the split a real second read
    stream.write_all(tail.as_bytes()).await.expect("write");
    stream
        .write_all(format!("<13>{}\n", "y".repeat(2000)).as_bytes())
        .await
        .expect("write");
    stream
        .write_all(b"\x00\xff\xfe binary junk \x01\n")
        .await
        .expect("write");
    stream.shutdown().await.expect("close");

    let items = wait_for(&redis, 3).await;
    assert_eq!(
        items[0]["hostname"],
        "wireless-controller-12.campus.example.com"
    );
    assert_eq!(
        items[0]["message"],
        "%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/0/0, changed state to down"
    );
    assert_eq!(items[0]["syslog_severity"], 2);
    assert!(
        items[1]["message"].as_str().expect("message").len() < 600,
        "cut to the limit"
    );
    assert!(
        items[2]["message"]
            .as_str()
            .expect("message")
            .contains("binary junk"),
        "{}",
        items[2]
    );
    assert_eq!(
        items[2]["hostname"], "127.0.0.1",
        "the peer stands in for a missing hostname"
    );
    let metrics = shared::process::metrics::render(&app.registry);
    assert!(
        metrics.contains("mutt_ingest_syslog_truncated_total 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn over_the_cap_tcp_waits_and_udp_drops_and_counts() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let cap_key = redis.keys.config("max_ingest_queue_size");
    let _: () = redis::cmd("SET")
        .arg(&cap_key)
        .arg(0)
        .query_async(&mut conn)
        .await
        .expect("SET");
    let app = start(config(&redis, &[("DYNAMIC_CONFIG_ENABLED", "true")])).await;

    let udp = tokio::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    udp.send_to(b"<13>dropped at the cap", app.udp.expect("udp"))
        .await
        .expect("send");
    let mut stream = tokio::net::TcpStream::connect(app.tcp.expect("tcp"))
        .await
        .expect("connect");
    stream
        .write_all(b"<13>held back at the cap\n")
        .await
        .expect("write");
    stream.flush().await.expect("flush");

    let metrics_url = app.url("/metrics");
    eventually(Duration::from_secs(5), "the UDP drop to be counted", || {
        let url = metrics_url.clone();
        async move {
            let text = reqwest::get(url).await.ok()?.text().await.ok()?;
            text.contains(r#"mutt_ingest_syslog_dropped_total{reason="queue_full"} 1"#)
                .then_some(())
        }
    })
    .await;
    assert!(
        queued(&redis).await.is_empty(),
        "nothing queued while over the cap"
    );

    let _: () = redis::cmd("DEL")
        .arg(&cap_key)
        .query_async(&mut conn)
        .await
        .expect("DEL");
    let items = wait_for(&redis, 1).await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["message"], "held back at the cap",
        "TCP resumed and lost nothing"
    );
    drop(stream);
    app.stop().await;
}
