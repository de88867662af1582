//! Retrying until it works or the service stops: the one loop every worker uses when
//! Redis or PostgreSQL is briefly away (pushing, acknowledging, dead-lettering, auditing,
//! resubscribing). A failed step is logged and tried again after a [`Backoff`]; shutdown
//! interrupts the wait, and what was not done stays where recovery finds it (a processing
//! list, a socket not read).

use std::fmt::Display;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Waits `how_long`; `false` when `stop` came first.
pub async fn pause(how_long: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(how_long) => true,
    }
}

/// Delays between attempts: doubling from `first` up to `max` (equal for a constant
/// delay); when limited, at most so many waits (so one attempt more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    next: Duration,
    max: Duration,
    attempts: Option<u32>,
}

impl Backoff {
    pub const fn doubling(first: Duration, max: Duration) -> Self {
        Self {
            first,
            next: first,
            max,
            attempts: None,
        }
    }

    pub const fn constant(delay: Duration) -> Self {
        Self::doubling(delay, delay)
    }

    /// Waits at most `retries` times: gives up at the failure after.
    pub const fn at_most(self, retries: u32) -> Self {
        Self {
            attempts: Some(retries),
            ..self
        }
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// The next delay, `None` when the attempts are used up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if let Some(left) = &mut self.attempts {
            *left = left.checked_sub(1)?;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(delay)
    }

    /// Waits the next delay; `false` when `stop` came first or the attempts are used up.
    pub async fn wait(&mut self, stop: &CancellationToken) -> bool {
        match self.next_delay() {
            Some(delay) => pause(delay, stop).await,
            None => false,
        }
    }
}

/// Runs `step` until it succeeds, logging each failure as "`what` failed" and waiting
/// `backoff` between attempts; `None` when `stop` came first (or the attempts ran out).
///
/// `step` makes each attempt's future. It is a closure returning a future rather than an
/// async closure: a spawned task whose future holds an async closure's borrows cannot be
/// proven `Send` by today's compiler ("implementation of `Send` is not general enough").
/// A step that needs a Redis connection clones one (a cheap handle) into its future.
pub async fn until_ok<T, E: Display, F: Future<Output = Result<T, E>>>(
    what: &str,
    mut backoff: Backoff,
    stop: &CancellationToken,
    mut step: impl FnMut() -> F,
) -> Option<T> {
    loop {
        match step().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(error = %error, "{what} failed, retrying");
                if !backoff.wait(stop).await {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut b = Backoff::doubling(Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..4)
            .map(|_| b.next_delay().expect("unlimited").as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn a_limited_backoff_runs_out() {
        let mut b = Backoff::constant(Duration::from_millis(5)).at_most(2);
        assert!(b.next_delay().is_some());
        assert!(b.next_delay().is_some());
        assert_eq!(b.next_delay(), None);
    }

    #[tokio::test]
    async fn until_ok_retries_until_the_step_succeeds() {
        let stop = CancellationToken::new();
        let mut calls = 0;
        let got = until_ok(
            "a flaky step",
            Backoff::constant(Duration::from_millis(1)),
            &stop,
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err("not yet") } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(got, Some(3));
    }

    #[tokio::test]
    async fn until_ok_gives_up_when_stopped_or_out_of_attempts() {
        let stop = CancellationToken::new();
        stop.cancel();
        let failing = || async { Err::<(), _>("down") };
        let backoff = Backoff::constant(Duration::from_secs(60));
        assert_eq!(until_ok("a step", backoff, &stop, failing).await, None);
        let running = CancellationToken::new();
        let limited = Backoff::constant(Duration::from_millis(1)).at_most(2);
        let mut calls = 0;
        let got = until_ok("a step", limited, &running, || {
            calls += 1;
            async { Err::<(), _>("down") }
        })
        .await;
        assert_eq!((got, calls), (None, 3));
    }
}
