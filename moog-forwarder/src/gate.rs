//! The gate every delivery passes: the shared circuit breaker, then the shared rate limit
//! on calls to Moog. One Redis round trip for each, once per batch of alerts.

use crate::REDIS_RETRY;
use crate::breaker::{BreakerState, CircuitBreaker};
use crate::metrics::ForwarderMetrics;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::process::retry::pause;
use shared::rate_limit::{MoogLimiter, Tokens};
use shared::redis::RedisConn;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// While the breaker is open, how often a waiting batch asks again.
const BREAKER_POLL: Duration = Duration::from_millis(250);

pub struct Gate {
    pub redis: RedisConn,
    pub breaker: Option<CircuitBreaker>,
    pub limiter: MoogLimiter,
    /// `MOOG_RATE_LIMIT` per `MOOG_RATE_PERIOD`, unless dynamic settings say otherwise.
    pub dynamic: DynamicConfig,
    pub rate_limit: u64,
    pub rate_period: Duration,
    pub metrics: ForwarderMetrics,
}

impl Gate {
    /// Waits until the breaker lets requests through and tokens are free, then says how
    /// many of the `wanted` alerts may go now (at least one; exactly one while the breaker
    /// is half-open: that is its trial). `None` if shutdown came first.
    pub async fn clearance(&self, wanted: usize, shutdown: &CancellationToken) -> Option<usize> {
        let mut redis = self.redis.clone();
        loop {
            let mut wanted = wanted.max(1);
            if let Some(breaker) = &self.breaker {
                match breaker.allow(&mut redis).await {
                    Ok(permission) => {
                        self.metrics.breaker_changed(permission.transition);
                        if !permission.allowed {
                            self.metrics.circuit_waits.inc();
                            if !pause(BREAKER_POLL, shutdown).await {
                                return None;
                            }
                            continue;
                        }
                        if permission.state == BreakerState::HalfOpen {
                            wanted = 1;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot read the circuit breaker, retrying");
                        if !pause(REDIS_RETRY, shutdown).await {
                            return None;
                        }
                        continue;
                    }
                }
            }
            let limit = self
                .dynamic
                .get(DynamicSetting::MoogRateLimit, self.rate_limit);
            let period = Duration::from_secs_f64(
                self.dynamic
                    .get(
                        DynamicSetting::MoogRatePeriod,
                        self.rate_period.as_secs_f64(),
                    )
                    .max(0.001),
            );
            match self
                .limiter
                .acquire_up_to(&mut redis, limit, period, wanted as u64)
                .await
            {
                Ok(Tokens::Granted(granted)) => return Some((granted as usize).min(wanted)),
                Ok(Tokens::Wait(wait)) => {
                    self.metrics.rate_limit_hits.inc();
                    if !pause(wait, shutdown).await {
                        return None;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot reach the rate limiter, retrying");
                    if !pause(REDIS_RETRY, shutdown).await {
                        return None;
                    }
                }
            }
        }
    }
}
