//! The circuit breaker shared by every forwarder, kept in Redis
//! under v2.5's keys `mutt:circuit_breaker:moogsoft:{state,failures,open_time}` so that all
//! forwarders see one state. Every transition is one Lua script, so two forwarders cannot
//! both open it or both take the half-open trial.
//!
//! CLOSED → OPEN after `threshold` consecutive failures; OPEN → HALF_OPEN once `timeout`
//! has passed, when exactly one caller (across all forwarders) gets the trial, through a
//! lease key that expires if that caller dies; HALF_OPEN → CLOSED on its success, → OPEN on
//! its failure. While the breaker is not CLOSED, alerts wait without using their retries.

use redis::aio::ConnectionLike;
use shared::redis::keys::RedisKeys;
use std::sync::LazyLock;
use std::time::Duration;

/// v2.5's breaker name.
pub const NAME: &str = "moogsoft";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    fn parse(text: &str) -> Self {
        match text {
            "OPEN" => Self::Open,
            "HALF_OPEN" => Self::HalfOpen,
            _ => Self::Closed,
        }
    }

    /// v2.5's wire names, also the metric label values.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "CLOSED",
            Self::HalfOpen => "HALF_OPEN",
            Self::Open => "OPEN",
        }
    }

    /// v2.5's `mutt_circuit_breaker_state` gauge value.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// A change of state, for `mutt_circuit_breaker_state_changes_total{from_state,to_state}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

/// KEYS: state, open_time, trial. ARGV: timeout (s), trial lease (ms).
/// Returns {allowed (0/1), state after, state before if it changed or ''}.
static ALLOW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local state = redis.call('GET', KEYS[1]) or 'CLOSED'
        if state == 'CLOSED' then return {1, 'CLOSED', ''} end
        local changed = ''
        if state == 'OPEN' then
            local t = redis.call('TIME')
            local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
            local opened = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
            if now - opened < tonumber(ARGV[1]) then return {0, 'OPEN', ''} end
            redis.call('SET', KEYS[1], 'HALF_OPEN')
            changed = 'OPEN'
        end
        if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return {1, 'HALF_OPEN', changed} end
        return {0, 'HALF_OPEN', changed}
        ",
    )
});

/// KEYS: state, failures, open_time, trial. Returns the state before, if it changed.
/// A success while the breaker is closed with no failures counted (nearly every call)
/// reads two keys and writes nothing.
static SUCCESS: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local now = redis.call('MGET', KEYS[1], KEYS[2])
        local state = now[1] or 'CLOSED'
        if state == 'CLOSED' and (not now[2] or tonumber(now[2]) == 0) then return '' end
        redis.call('SET', KEYS[2], 0)
        redis.call('DEL', KEYS[3], KEYS[4])
        if state ~= 'CLOSED' then
            redis.call('SET', KEYS[1], 'CLOSED')
            return state
        end
        return ''
        ",
    )
});

/// KEYS: state, failures, open_time, trial. ARGV: threshold. Returns the state before, if
/// the breaker opened.
static FAILURE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local state = redis.call('GET', KEYS[1]) or 'CLOSED'
        local failures = redis.call('INCR', KEYS[2])
        if state == 'HALF_OPEN' or (state == 'CLOSED' and failures >= tonumber(ARGV[1])) then
            local t = redis.call('TIME')
            redis.call('SET', KEYS[1], 'OPEN')
            redis.call('SET', KEYS[3], tostring(tonumber(t[1]) + tonumber(t[2]) / 1000000))
            redis.call('DEL', KEYS[4])
            return state
        end
        return ''
        ",
    )
});

/// What `allow` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub allowed: bool,
    pub state: BreakerState,
    pub transition: Option<Transition>,
}

#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    state: String,
    failures: String,
    open_time: String,
    trial: String,
    threshold: u32,
    timeout: Duration,
    trial_lease: Duration,
}

fn changed(from: String, to: BreakerState) -> Option<Transition> {
    (!from.is_empty()).then(|| Transition {
        from: BreakerState::parse(&from),
        to,
    })
}

impl CircuitBreaker {
    /// `trial_lease` bounds how long a half-open trial may take before another forwarder
    /// may try (the webhook timeout plus a margin).
    pub fn new(keys: &RedisKeys, threshold: u32, timeout: Duration, trial_lease: Duration) -> Self {
        Self {
            state: keys.circuit_breaker(NAME, "state"),
            failures: keys.circuit_breaker(NAME, "failures"),
            open_time: keys.circuit_breaker(NAME, "open_time"),
            trial: keys.circuit_breaker(NAME, "trial"),
            threshold: threshold.max(1),
            timeout,
            trial_lease,
        }
    }

    /// May a request go out now?
    pub async fn allow<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<Permission> {
        let lease_ms = u64::try_from(self.trial_lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let (allowed, state, from): (i64, String, String) = ALLOW
            .key(&self.state)
            .key(&self.open_time)
            .key(&self.trial)
            .arg(self.timeout.as_secs_f64())
            .arg(lease_ms)
            .invoke_async(conn)
            .await?;
        let state = BreakerState::parse(&state);
        Ok(Permission {
            allowed: allowed == 1,
            state,
            transition: changed(from, state),
        })
    }

    pub async fn record_success<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<Option<Transition>> {
        let from: String = SUCCESS
            .key(&self.state)
            .key(&self.failures)
            .key(&self.open_time)
            .key(&self.trial)
            .invoke_async(conn)
            .await?;
        Ok(changed(from, BreakerState::Closed))
    }

    pub async fn record_failure<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<Option<Transition>> {
        let from: String = FAILURE
            .key(&self.state)
            .key(&self.failures)
            .key(&self.open_time)
            .key(&self.trial)
            .arg(self.threshold)
            .invoke_async(conn)
            .await?;
        Ok(changed(from, BreakerState::Open))
    }

    /// The shared state and consecutive failures, for gauges.
    pub async fn snapshot<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<(BreakerState, u64)> {
        let (state, failures): (Option<String>, Option<u64>) = redis::pipe()
            .get(&self.state)
            .get(&self.failures)
            .query_async(conn)
            .await?;
        Ok((
            state.map_or(BreakerState::Closed, |s| BreakerState::parse(&s)),
            failures.unwrap_or(0),
        ))
    }
}
