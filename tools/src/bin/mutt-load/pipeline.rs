//! `mutt-load pipeline`: the whole pipeline under load (issue #7). Sends N events tagged
//! with this run's id and a sequence number over HTTP in batches, then asks PostgreSQL
//! which were audited and the local webhook receiver which were delivered, and reports
//! what was lost (acknowledged but neither audited nor delivered), duplicated, and how
//! long ingest → webhook took. Run the alerter with `AUDIT_UNHANDLED=true` so that every
//! event leaves an audit row. Exits non-zero when anything acknowledged was lost.
//!
//! Latencies are timed from each batch's *scheduled* send time when `--rate` is set (from
//! the actual send when it is not), so that a stall that delays later sends shows up in
//! their latency instead of hiding it (coordinated omission): ingest = the answer's
//! arrival, end to end = the webhook's arrival, over every forwarded event.

use anyhow::Context;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Pipeline {
    #[arg(long, default_value = "http://127.0.0.1:8080/ingest")]
    url: String,
    #[arg(long, env = "INGEST_API_KEY")]
    key: String,
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    #[arg(long, default_value_t = 8)]
    connections: u64,
    /// Target events per second (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// PostgreSQL to count audit rows in (a libpq connection string).
    #[arg(long, default_value = "host=127.0.0.1 user=mutt dbname=mutt")]
    db: String,
    /// The webhook receiver (mock-moog).
    #[arg(long, default_value = "http://127.0.0.1:18083")]
    receiver: String,
    /// How long to wait for stragglers after the last send.
    #[arg(long, default_value_t = 60.0)]
    wait: f64,
    /// Seconds to wait after the last send before the first look at PostgreSQL (its
    /// queries over a long run's rows would compete with the pipeline being measured).
    #[arg(long, default_value_t = 0.0)]
    check_delay: f64,
    /// Duplicates are counted once the receiver has received nothing for this long
    /// (retries and a circuit breaker's trial deliver late).
    #[arg(long, default_value_t = 5.0)]
    settle: f64,
    /// Before the first look at PostgreSQL, wait until this file exists (a benchmark
    /// harness creates it once it has read its counters, so that the checks' queries are
    /// not counted as the pipeline's work).
    #[arg(long)]
    ready_file: Option<std::path::PathBuf>,
}

/// What happened to the events of one run.
struct Outcome {
    /// seq → (audit rows, forwarded to Moog).
    audited: HashMap<u64, (u64, bool)>,
    delivered: HashMap<u64, (u64, i64)>,
}

async fn outcome(
    db: &tokio_postgres::Client,
    http: &reqwest::Client,
    receiver: &str,
    run: &str,
) -> anyhow::Result<Outcome> {
    let mut audited: HashMap<u64, (u64, bool)> = HashMap::new();
    for row in db
        .query(
            "SELECT (raw_message::jsonb->>'seq')::bigint, forwarded_to_moog FROM event_audit_log \
             WHERE raw_message::jsonb->>'load_run' = $1",
            &[&run],
        )
        .await
        .context("counting audit rows")?
    {
        let entry = audited
            .entry(row.get::<_, i64>(0) as u64)
            .or_insert((0, false));
        entry.0 += 1;
        entry.1 |= row.get::<_, bool>(1);
    }
    let answer: Value = http
        .get(format!("{receiver}/_mock/arrivals?run={run}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut delivered: HashMap<u64, (u64, i64)> = HashMap::new();
    for arrival in answer["arrivals"].as_array().into_iter().flatten() {
        let (seq, status, at) = (
            arrival[0].as_u64().unwrap_or_default(),
            arrival[1].as_u64().unwrap_or_default(),
            arrival[2].as_i64().unwrap_or_default(),
        );
        if (200..300).contains(&status) {
            let entry = delivered.entry(seq).or_insert((0, at));
            entry.0 += 1;
            entry.1 = entry.1.min(at);
        }
    }
    Ok(Outcome { audited, delivered })
}

/// Waits until the receiver's request count has not changed for `quiet` (at most 10 min).
async fn settle(http: &reqwest::Client, receiver: &str, quiet: Duration) {
    let count = || async {
        let answer: Value = http
            .get(format!("{receiver}/_mock/count"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        answer["received"].as_u64()
    };
    let give_up = Instant::now() + Duration::from_secs(600);
    let (mut last, mut since) = (count().await, Instant::now());
    while since.elapsed() < quiet && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = count().await;
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
}

pub async fn run(events: &[Value], args: Pipeline) -> anyhow::Result<()> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let batch = args.batch.max(1);
    let batches = args.count.div_ceil(batch);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections as usize)
        .build()?;
    let events = Arc::new(events.to_vec());
    let next_batch = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let started_ms = chrono::Utc::now().timestamp_millis();
    let mut workers = Vec::new();
    for _ in 0..args.connections.max(1) {
        let (client, events, next_batch, url, key, run) = (
            client.clone(),
            events.clone(),
            next_batch.clone(),
            args.url.clone(),
            args.key.clone(),
            run.clone(),
        );
        let (count, rate) = (args.count, args.rate);
        workers.push(tokio::spawn(async move {
            // (seq, sent at Unix ms) of every acknowledged event.
            let mut acked: Vec<(u64, i64)> = Vec::new();
            // Per acknowledged request: its answer's arrival minus its (scheduled) send.
            let mut ingest_ms: Vec<i64> = Vec::new();
            loop {
                let b = next_batch.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return (acked, ingest_ms);
                }
                let offset = if rate > 0.0 {
                    let offset = Duration::from_secs_f64((b * batch) as f64 / rate);
                    tokio::time::sleep_until((started + offset).into()).await;
                    Some(offset)
                } else {
                    None
                };
                let seqs: Vec<u64> = (b * batch..((b + 1) * batch).min(count)).collect();
                let body: Vec<Value> = seqs
                    .iter()
                    .map(|&seq| {
                        let mut event = events[seq as usize % events.len()].clone();
                        event["timestamp"] = chrono::Utc::now().to_rfc3339().into();
                        event["load_run"] = run.as_str().into();
                        event["seq"] = seq.into();
                        event
                    })
                    .collect();
                let sent_at = match offset {
                    Some(offset) => started_ms + offset.as_millis() as i64,
                    None => chrono::Utc::now().timestamp_millis(),
                };
                let Ok(response) = client
                    .post(&url)
                    .header("x-api-key", &key)
                    .json(&body)
                    .send()
                    .await
                else {
                    continue;
                };
                if !response.status().is_success() {
                    continue;
                }
                ingest_ms.push(chrono::Utc::now().timestamp_millis() - sent_at);
                let answer: Value = response.json().await.unwrap_or_default();
                let rejected: HashSet<u64> = answer["rejected"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["index"].as_u64())
                    .collect();
                acked.extend(
                    seqs.iter()
                        .enumerate()
                        .filter(|(i, _)| !rejected.contains(&(*i as u64)))
                        .map(|(_, &seq)| (seq, sent_at)),
                );
            }
        }));
    }
    let mut acked: HashMap<u64, i64> = HashMap::new();
    let mut ingest_ms = Vec::new();
    for worker in workers {
        let (a, i) = worker.await?;
        acked.extend(a);
        ingest_ms.extend(i);
    }
    ingest_ms.sort_unstable();
    let send_secs = started.elapsed().as_secs_f64();

    println!("pipeline: sending done after {send_secs:.1}s");
    tokio::time::sleep(Duration::from_secs_f64(args.check_delay)).await;
    if let Some(file) = &args.ready_file {
        let give_up = Instant::now() + Duration::from_secs_f64(args.wait);
        while !file.exists() && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.wait);
    let missing = |o: &Outcome| {
        acked
            .keys()
            .filter(|s| match o.audited.get(s) {
                None => true,
                Some((_, forwarded)) => *forwarded && !o.delivered.contains_key(s),
            })
            .count()
    };
    // PostgreSQL or the receiver may be down for a while (the fault runner does that).
    let mut result = None;
    loop {
        let attempt = async {
            let (db, connection) = tokio_postgres::connect(&args.db, tokio_postgres::NoTls)
                .await
                .with_context(|| format!("connecting to {}", args.db))?;
            tokio::spawn(connection);
            outcome(&db, &client, &args.receiver, &run).await
        };
        match attempt.await {
            Ok(found) if missing(&found) == 0 => {
                // Deliveries trail audits, and retries or a breaker's trial may deliver
                // duplicates long after: count them only once the receiver has had
                // nothing new for `--settle` seconds.
                settle(
                    &client,
                    &args.receiver,
                    Duration::from_secs_f64(args.settle),
                )
                .await;
                result = Some(found);
                break;
            }
            Ok(found) => result = Some(found),
            Err(error) => eprintln!("pipeline: {error:#}; retrying"),
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if let Ok((db, connection)) = tokio_postgres::connect(&args.db, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        if let Ok(last) = outcome(&db, &client, &args.receiver, &run).await {
            result = Some(last);
        }
    }
    let result =
        result.context("no answer from PostgreSQL or the receiver before --wait ran out")?;

    let mut latencies: Vec<i64> = result
        .delivered
        .iter()
        .filter_map(|(seq, (_, at))| acked.get(seq).map(|sent| at - sent))
        .collect();
    latencies.sort_unstable();
    let pct = |sorted: &[i64], p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let lost = missing(&result);
    println!(
        "pipeline: run={run} sent={} acknowledged={} audited={} delivered={} lost={lost} \
         duplicate_audit_rows={} duplicate_deliveries={}",
        args.count,
        acked.len(),
        result.audited.len(),
        result.delivered.len(),
        result.audited.values().map(|(n, _)| n - 1).sum::<u64>(),
        result.delivered.values().map(|(n, _)| n - 1).sum::<u64>(),
    );
    let last_delivery = result
        .delivered
        .values()
        .map(|(_, at)| *at)
        .max()
        .map_or(0.0, |at| (at - started_ms) as f64 / 1000.0);
    let clock = if args.rate > 0.0 {
        "scheduled send"
    } else {
        "send"
    };
    println!(
        "pipeline: {:.0} events/s acknowledged over {send_secs:.1}s; last delivery {last_delivery:.2}s after the start; \
         ingest latency ms (answer − {clock}) p50={} p99={} max={}; \
         ingest→webhook latency ms ({} delivered events, arrival − {clock}) p50={} p99={} max={}",
        acked.len() as f64 / send_secs,
        pct(&ingest_ms, 0.50),
        pct(&ingest_ms, 0.99),
        ingest_ms.last().copied().unwrap_or(0),
        latencies.len(),
        pct(&latencies, 0.50),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0)
    );
    anyhow::ensure!(
        lost == 0,
        "{lost} acknowledged events were neither audited nor delivered"
    );
    Ok(())
}
