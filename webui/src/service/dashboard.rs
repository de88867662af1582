//! The dashboard's figures: v2.5's shape (`summary`, `chart_24h`) computed over
//! wall-clock minutes — a minute without events counts as 0 (v2.5 averaged over the
//! minutes that had events, and SCANned the whole keyspace to find them) — plus queue
//! depths and the breaker state, a few Redis round trips in all. The figures are reused for
//! `METRICS_CACHE_TTL`.
//!
//! For the page's charts, also the last hour minute by minute ([`history`]): events
//! accepted (v2.5's counters), audited, delivered, folded by storm control and refused
//! (`shared::redis::activity`), and queue depths, which each web UI samples into
//! `mutt:dashboard:depths:<minute>` ([`record_depths`]; the first web UI in a minute
//! writes it).

use super::AppState;
use crate::error::ApiError;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use shared::queue::total_length;
use shared::redis::activity::{self, Activity};
use shared::redis::keys::RedisKeys;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub summary: Rates,
    pub chart_24h: Chart,
    pub queues: Queues,
    pub circuit_breaker: String,
    pub generated_at: String,
}

/// Events ingested per minute.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Rates {
    pub current_rate_1m: f64,
    pub avg_rate_15m: f64,
    pub avg_rate_1h: f64,
}

/// The last 24 hours, oldest first: events per minute, averaged over each hour.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Chart {
    pub labels: Vec<String>,
    pub data: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Queues {
    pub ingest_queue: u64,
    pub alert_queue: u64,
    pub moog_retry: u64,
    pub dlq_alerter: u64,
    pub dlq_moog: u64,
    pub dlq_dead: u64,
}

/// The last figures and when they were made.
#[derive(Default)]
pub struct DashboardCache(Mutex<Option<(Instant, Dashboard)>>);

/// Rates in events per minute from the counts of the 60 complete minutes before now,
/// newest first: the last minute, and the means over 15 and 60 minutes (2 decimals).
pub fn rates(minutes: &[u64]) -> (f64, f64, f64) {
    let mean = |n: usize| {
        let sum: u64 = minutes.iter().take(n).sum();
        (sum as f64 / n as f64 * 100.0).round() / 100.0
    };
    (mean(1), mean(15), mean(60))
}

fn count(value: Option<String>) -> u64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The figures, from the cache while they are fresh; `true` when they came from it.
pub async fn figures(state: &AppState) -> Result<(Dashboard, bool), ApiError> {
    let cache = &state.dashboard.0;
    if let Some((at, figures)) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
        && at.elapsed() < state.dashboard_ttl
    {
        return Ok((figures.clone(), true));
    }
    let figures = compute(state, Utc::now()).await?;
    *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), figures.clone()));
    Ok((figures, false))
}

/// The queue depths and DLQ sizes now (a queue's depth is the sum of its shards).
async fn queues(state: &AppState) -> Result<Queues, redis::RedisError> {
    let keys = &state.keys;
    let mut redis = state.redis.clone();
    let mut pipe = redis::pipe();
    for queue in [&keys.alerter_dlq, &keys.moog_dlq, &keys.dead_letter_queue] {
        pipe.llen(queue);
    }
    let (dlq_alerter, dlq_moog, dlq_dead): (u64, u64, u64) = pipe.query_async(&mut redis).await?;
    let shards = keys.shards();
    let of_each = |name: fn(&RedisKeys) -> &String| -> Vec<String> {
        shards.iter().map(|k| name(k).clone()).collect()
    };
    let ingest_queue = total_length(&mut redis, &of_each(|k| &k.ingest_queue)).await?;
    let alert_queue = total_length(&mut redis, &of_each(|k| &k.alert_queue)).await?;
    let mut retries = redis::pipe();
    for set in of_each(|k| &k.moog_retry_queue) {
        retries.zcard(set);
    }
    let moog_retry: u64 = retries
        .query_async::<Vec<u64>>(&mut redis)
        .await?
        .iter()
        .sum();
    Ok(Queues {
        ingest_queue,
        alert_queue,
        moog_retry,
        dlq_alerter,
        dlq_moog,
        dlq_dead,
    })
}

async fn compute(state: &AppState, now: DateTime<Utc>) -> Result<Dashboard, redis::RedisError> {
    let keys = &state.keys;
    let minute_keys: Vec<String> = (1..=60)
        .map(|i| {
            keys.ingest_counters(now - Duration::minutes(i))[0]
                .0
                .clone()
        })
        .collect();
    let hours: Vec<DateTime<Utc>> = (0..24).rev().map(|i| now - Duration::hours(i)).collect();
    let hour_keys: Vec<String> = hours
        .iter()
        .map(|h| keys.ingest_counters(*h)[1].0.clone())
        .collect();
    let mut pipe = redis::pipe();
    pipe.cmd("MGET").arg(&minute_keys);
    pipe.cmd("MGET").arg(&hour_keys);
    pipe.get(keys.circuit_breaker("moogsoft", "state"));
    type Answer = (Vec<Option<String>>, Vec<Option<String>>, Option<String>);
    let (minutes, hourly, breaker): Answer = pipe.query_async(&mut state.redis.clone()).await?;
    let queues = queues(state).await?;
    let minutes: Vec<u64> = minutes.into_iter().map(count).collect();
    let (current, avg_15m, avg_1h) = rates(&minutes);
    Ok(Dashboard {
        summary: Rates {
            current_rate_1m: current,
            avg_rate_15m: avg_15m,
            avg_rate_1h: avg_1h,
        },
        chart_24h: Chart {
            labels: hours
                .iter()
                .map(|h| h.format("%H:00").to_string())
                .collect(),
            data: hourly
                .into_iter()
                .map(|v| (count(v) as f64 / 60.0 * 100.0).round() / 100.0)
                .collect(),
        },
        queues,
        circuit_breaker: breaker.unwrap_or_else(|| "CLOSED".into()),
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// How often a web UI samples the queue depths (several times a minute, so that every
/// minute has a sample).
pub const DEPTH_SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(20);

fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::minutes(1)).unwrap_or(at)
}

/// Writes this minute's queue depths unless another web UI has (read afresh: the
/// dashboard's cache is the API's, and its 5 s are its own).
pub async fn record_depths(state: &AppState) -> Result<(), ApiError> {
    let key = state.keys.dashboard_depths(minute_of(Utc::now()));
    let json = serde_json::to_string(&queues(state).await?).expect("queues serialise");
    let _: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(json)
        .arg("NX")
        .arg("EX")
        .arg(activity::KEPT_SECONDS)
        .query_async(&mut state.redis.clone())
        .await?;
    Ok(())
}

/// Samples the depths every [`DEPTH_SAMPLE_EVERY`] until `stop`.
pub async fn record_depths_until(state: AppState, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(DEPTH_SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = record_depths(&state).await {
            tracing::debug!(error = %error, "cannot sample the queue depths for the dashboard");
        }
    }
}

/// The 60 complete minutes before now, oldest first.
#[derive(Clone, Debug)]
pub struct History {
    /// `HH:MM` (UTC) of each minute.
    pub minutes: Vec<String>,
    /// Queue depths as a web UI sampled them; none for a minute no web UI ran.
    pub depths: Vec<Option<Queues>>,
    /// Events accepted by the ingestors (v2.5's per-minute counters).
    pub accepted: Vec<u64>,
    pub activity: BTreeMap<Activity, Vec<u64>>,
}

pub async fn history(state: &AppState) -> Result<History, ApiError> {
    let now = Utc::now();
    let minutes: Vec<DateTime<Utc>> = (1..=60)
        .rev()
        .map(|i| minute_of(now) - Duration::minutes(i))
        .collect();
    let keys = &state.keys;
    let mut redis = state.redis.clone();
    let depth_keys: Vec<String> = minutes.iter().map(|m| keys.dashboard_depths(*m)).collect();
    let accepted_keys: Vec<String> = minutes
        .iter()
        .map(|m| keys.ingest_counters(*m)[0].0.clone())
        .collect();
    let (depths, accepted): (Vec<Option<String>>, Vec<Option<String>>) = redis::pipe()
        .cmd("MGET")
        .arg(&depth_keys)
        .cmd("MGET")
        .arg(&accepted_keys)
        .query_async(&mut redis)
        .await?;
    Ok(History {
        minutes: minutes
            .iter()
            .map(|m| m.format("%H:%M").to_string())
            .collect(),
        depths: depths
            .into_iter()
            .map(|d| d.and_then(|json| serde_json::from_str(&json).ok()))
            .collect(),
        accepted: accepted.into_iter().map(count).collect(),
        activity: activity::last_hour(&mut redis, keys, now).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::rates;

    #[test]
    fn rates_count_quiet_minutes_as_zero() {
        let mut minutes = vec![0u64; 60];
        minutes[0] = 30; // the last complete minute
        minutes[1] = 60;
        minutes[20] = 600;
        assert_eq!(rates(&minutes), (30.0, 6.0, 11.5));
    }
}
