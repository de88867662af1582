//! `mutt-load`: drives the ingestor and reports what it achieved.
//!
//! - `http`: N concurrent keep-alive connections POST single events or batches, as fast as
//!   possible or at a target rate, for a duration; reports requests/s, events/s, status
//!   counts and latency percentiles (at a target rate, from when each request was due).
//! - `syslog-udp` / `syslog-tcp`: send syslog lines at a target rate (or flat out) and, given
//!   `--redis`, count how many reached the ingest queue (loss = sent − arrived; run it with
//!   no alerter consuming).
//!
//! - `pipeline`: the whole pipeline under load; see `pipeline.rs`.
//!
//! Events are drawn round-robin from the project's sample corpus
//! (`data/corpus/events.json`, made by `scripts/gen-corpus`; run from the repository root).

mod pipeline;

use clap::{Parser, Subcommand};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[derive(Parser)]
#[command(name = "mutt-load", about = "Load generator for the MUTT ingestor")]
struct Cli {
    /// Sample events (a JSON array of v2.5 events).
    #[arg(long, default_value = "data/corpus/events.json", global = true)]
    events: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Drive the whole pipeline and report what arrived, what was lost, and latency.
    Pipeline(pipeline::Pipeline),
    /// POST events over HTTP.
    Http {
        #[arg(long, default_value = "http://127.0.0.1:8080/ingest")]
        url: String,
        #[arg(long, env = "INGEST_API_KEY")]
        key: String,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Events per request (1 sends single objects, more sends JSON arrays).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Target requests per second across all connections (0: as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
    /// Send syslog datagrams.
    SyslogUdp {
        #[arg(long, default_value = "127.0.0.1:5514")]
        addr: String,
        #[command(flatten)]
        blast: Blast,
    },
    /// Push events straight onto a Redis queue, stamped as the ingestor would (for
    /// benchmarking the alerter without the ingestor in the way).
    Prefill {
        #[arg(long, default_value = "redis://127.0.0.1:6379/")]
        redis: String,
        #[arg(long, default_value = "mutt:ingest_queue")]
        queue: String,
        #[arg(long, default_value_t = 200_000)]
        count: u64,
        /// Push alerts (as the alerter writes them) instead of events: for
        /// benchmarking the forwarder on `mutt:alert_queue`.
        #[arg(long)]
        alerts: bool,
        /// A storm (`scripts/bench-storm`): every event from host `<storm>-<i mod
        /// signatures>`, timed now, tagged `"load_run": <storm>`.
        #[arg(long)]
        storm: Option<String>,
        #[arg(long, default_value_t = 1)]
        signatures: u64,
    },
    /// Send newline-framed syslog over TCP connections.
    SyslogTcp {
        #[arg(long, default_value = "127.0.0.1:5514")]
        addr: String,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[command(flatten)]
        blast: Blast,
    },
}

#[derive(clap::Args)]
struct Blast {
    /// Messages to send.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Target messages per second (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Redis URL and queue to count arrivals on (LLEN before and after).
    #[arg(long)]
    redis: Option<String>,
    #[arg(long, default_value = "mutt:ingest_queue")]
    queue: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    shared::tls::install_crypto_provider();
    let text =
        std::fs::read_to_string(&cli.events).map_err(|e| anyhow::anyhow!("{}: {e}", cli.events))?;
    let events: Vec<Value> = serde_json::from_str(&text)?;
    anyhow::ensure!(!events.is_empty(), "{} holds no events", cli.events);
    match cli.mode {
        Mode::Pipeline(args) => pipeline::run(&events, args).await,
        Mode::Http {
            url,
            key,
            connections,
            batch,
            seconds,
            rate,
        } => {
            http(
                &events,
                url,
                key,
                connections,
                batch.max(1),
                Duration::from_secs_f64(seconds),
                rate,
            )
            .await
        }
        Mode::Prefill {
            redis,
            queue,
            count,
            alerts,
            storm,
            signatures,
        } => {
            let storm = storm.map(|name| (name, signatures.max(1)));
            prefill(&events, &redis, &queue, count, alerts, storm).await
        }
        Mode::SyslogUdp { addr, blast } => syslog(&events, &addr, None, blast).await,
        Mode::SyslogTcp {
            addr,
            connections,
            blast,
        } => syslog(&events, &addr, Some(connections.max(1)), blast).await,
    }
}

async fn http(
    events: &[Value],
    url: String,
    key: String,
    connections: usize,
    batch: usize,
    duration: Duration,
    rate: f64,
) -> anyhow::Result<()> {
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..64)
            .map(|i| {
                if batch == 1 {
                    events[i % events.len()].to_string()
                } else {
                    Value::Array(
                        (0..batch)
                            .map(|j| events[(i * batch + j) % events.len()].clone())
                            .collect(),
                    )
                    .to_string()
                }
            })
            .collect(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let per_connection_interval =
        (rate > 0.0).then(|| Duration::from_secs_f64(connections as f64 / rate));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (client, url, key, bodies, stop) = (
            client.clone(),
            url.clone(),
            key.clone(),
            bodies.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies_us: Vec<u32> = Vec::new();
            let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
            let mut next = Instant::now();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                if let Some(interval) = per_connection_interval {
                    next += interval;
                    tokio::time::sleep_until(next.into()).await;
                }
                let body = bodies[i % bodies.len()].clone();
                i += connections;
                // At a target rate, latency counts from when the request was due, so that
                // a slow answer that delays the next send is counted (no coordinated
                // omission); flat out, from the send.
                let sent = if per_connection_interval.is_some() {
                    next
                } else {
                    Instant::now()
                };
                let status = match client
                    .post(&url)
                    .header("x-api-key", &key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                latencies_us.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                *statuses.entry(status).or_default() += 1;
            }
            (latencies_us, statuses)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
    for task in tasks {
        let (l, s) = task.await?;
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let ok = statuses.get(&200).copied().unwrap_or(0);
    println!(
        "http: connections={connections} batch={batch} seconds={elapsed:.1} requests={} ok={ok} statuses={statuses:?}",
        latencies.len()
    );
    println!(
        "http: {:.0} requests/s, {:.0} events/s acknowledged, latency ms p50={:.2} p99={:.2} max={:.2}",
        latencies.len() as f64 / elapsed,
        (ok * batch as u64) as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    Ok(())
}

async fn prefill(
    events: &[Value],
    url: &str,
    queue: &str,
    count: u64,
    alerts: bool,
    storm: Option<(String, u64)>,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let started = Instant::now();
    let mut pushed = 0u64;
    while pushed < count {
        let chunk: Vec<String> = (pushed..count.min(pushed + 1000))
            .map(|i| {
                let mut event = events[i as usize % events.len()].clone();
                // Stored as the ingestor stores it: severity as its number, ids stamped.
                if let Some(level) = event["syslog_severity"]
                    .as_str()
                    .and_then(|s| shared::event::Severity::parse(s).ok())
                {
                    event["syslog_severity"] = level.level().into();
                }
                event["_correlation_id"] = uuid::Uuid::new_v4().to_string().into();
                event["_event_id"] = shared::event::EventId::new().to_string().into();
                event["seq"] = i.into();
                if let Some((name, signatures)) = &storm {
                    event["hostname"] = format!("{name}-{}", i % signatures).into();
                    event["timestamp"] = now.clone().into();
                    event["load_run"] = name.clone().into();
                }
                if alerts {
                    as_alert(event, i)
                } else {
                    event.to_string()
                }
            })
            .collect();
        pushed += chunk.len() as u64;
        shared::queue::push_batch(&mut conn, queue, &chunk).await?;
    }
    println!(
        "prefill: {pushed} events onto {queue} in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The alert the alerter would queue for `event` had rule 1 matched it.
fn as_alert(event: Value, i: u64) -> String {
    let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
    let alert = shared::event::Alert {
        hostname: text("hostname"),
        team_assignment: "NetOps".into(),
        severity: shared::event::MoogSeverity::Major,
        message_body: text("message"),
        correlation_id: text("_correlation_id"),
        event_id: event["_event_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .map(shared::event::EventId),
        rule_id: Some(1 + (i % 10) as i32),
        moog_retry_count: 0,
        extra: Default::default(),
        raw_json: event,
    };
    serde_json::to_string(&alert).expect("an alert always serialises")
}

fn syslog_line(event: &Value, i: u64) -> String {
    let severity = event["syslog_severity"]
        .as_str()
        .and_then(|s| shared::event::Severity::parse(s).ok())
        .map_or(6, |s| s.level());
    let host = event["hostname"].as_str().unwrap_or("host");
    let message = event["message"].as_str().unwrap_or("message");
    format!(
        "<{}>Nov 22 10:00:00 {host} mutt-load[{i}]: {message}\n",
        16 * 8 + u32::from(severity)
    )
}

async fn queue_len(redis: &Option<String>, queue: &str) -> anyhow::Result<Option<u64>> {
    let Some(url) = redis else { return Ok(None) };
    let mut conn = redis::Client::open(url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    Ok(Some(
        redis::cmd("LLEN").arg(queue).query_async(&mut conn).await?,
    ))
}

async fn syslog(
    events: &[Value],
    addr: &str,
    tcp_connections: Option<usize>,
    blast: Blast,
) -> anyhow::Result<()> {
    let lines: Arc<Vec<String>> = Arc::new(
        (0..events.len() as u64)
            .map(|i| syslog_line(&events[i as usize], i))
            .collect(),
    );
    let before = queue_len(&blast.redis, &blast.queue).await?;
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = tcp_connections.unwrap_or(1);
    let per_worker = blast.count / workers as u64;
    let interval = (blast.rate > 0.0).then(|| Duration::from_secs_f64(workers as f64 / blast.rate));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (lines, sent, addr) = (lines.clone(), sent.clone(), addr.to_owned());
        let tcp = tcp_connections.is_some();
        tasks.push(tokio::spawn(async move {
            let udp = if tcp {
                None
            } else {
                Some(tokio::net::UdpSocket::bind("127.0.0.1:0").await?)
            };
            let mut stream = if tcp {
                Some(tokio::io::BufWriter::new(
                    tokio::net::TcpStream::connect(&addr).await?,
                ))
            } else {
                None
            };
            let mut next = Instant::now();
            for i in 0..per_worker {
                if let Some(interval) = interval {
                    next += interval;
                    // Sleep in slices of a millisecond or more; spin-free pacing.
                    if next > Instant::now() + Duration::from_millis(1) {
                        tokio::time::sleep_until(next.into()).await;
                    }
                }
                let line = &lines[((i as usize) * workers + w) % lines.len()];
                match (&udp, &mut stream) {
                    (Some(socket), _) => {
                        socket.send_to(line.trim_end().as_bytes(), &addr).await?;
                    }
                    (_, Some(stream)) => stream.write_all(line.as_bytes()).await?,
                    _ => unreachable!("one transport is chosen"),
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(mut stream) = stream {
                stream.flush().await?;
                stream.shutdown().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "syslog: sent={sent} seconds={elapsed:.2} rate={:.0}/s",
        sent as f64 / elapsed
    );
    if let Some(before) = before {
        // Give the ingestor a moment to write what it has received.
        let mut arrived = 0;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = queue_len(&blast.redis, &blast.queue)
                .await?
                .unwrap_or(before);
            if now - before == arrived && arrived > 0 {
                break;
            }
            arrived = now - before;
        }
        println!(
            "syslog: arrived={arrived} lost={} ({:.3}%)",
            sent - arrived.min(sent),
            100.0 * (sent - arrived.min(sent)) as f64 / sent as f64
        );
    }
    Ok(())
}
