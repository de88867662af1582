//! What to do with an alert once the webhook has answered, without IO: acknowledge it,
//! try again later, or give up into the DLQ. [`crate::deliver`] carries the step out.

use crate::webhook::{self, Delivery};
use std::time::Duration;

/// `MOOG_MAX_RETRIES`, `MOOG_RETRY_BASE_DELAY` and `MOOG_RETRY_MAX_DELAY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    pub max: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Moog took it: acknowledge.
    Ack,
    /// Schedule attempt `attempts` after `delay`.
    RetryLater { attempts: u32, delay: Duration },
    /// Give up: into the DLQ with this reason.
    DeadLetter {
        reason: String,
        attempts: u32,
        status: Option<u16>,
    },
}

/// The step for an alert that had been retried `retries` times when the webhook gave
/// `delivery` (with `detail`: the answer's body excerpt or the transport error).
/// `jitter` ∈ [0, 1) spreads retries (see [`webhook::retry_delay`]).
pub fn plan(
    delivery: Delivery,
    detail: Option<String>,
    retries: u32,
    policy: &RetryPolicy,
    jitter: f64,
) -> Step {
    let attempts = retries + 1;
    match delivery {
        Delivery::Accepted => Step::Ack,
        Delivery::Retry { status, .. } if retries >= policy.max_retries => Step::DeadLetter {
            reason: format!(
                "retries exhausted: {}",
                detail.unwrap_or_else(|| "no answer".into())
            ),
            attempts,
            status,
        },
        Delivery::Retry { after, .. } => Step::RetryLater {
            attempts,
            delay: webhook::retry_delay(retries, policy.base, policy.max, jitter, after),
        },
        Delivery::Rejected { status } => Step::DeadLetter {
            reason: format!("webhook answered {status}: {}", detail.unwrap_or_default()),
            attempts,
            status: Some(status),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };

    fn retry(status: Option<u16>, after: Option<Duration>) -> Delivery {
        Delivery::Retry { status, after }
    }

    #[test]
    fn an_accepted_alert_is_acknowledged() {
        assert_eq!(plan(Delivery::Accepted, None, 2, &POLICY, 0.5), Step::Ack);
    }

    #[test]
    fn a_retryable_answer_is_retried_later_with_backoff_until_retries_run_out() {
        assert_eq!(
            plan(retry(Some(503), None), None, 0, &POLICY, 0.0),
            Step::RetryLater {
                attempts: 1,
                delay: Duration::from_millis(500)
            }
        );
        // The third retry waits 4 s scaled by jitter; a Retry-After is a floor.
        assert_eq!(
            plan(
                retry(Some(429), Some(Duration::from_secs(10))),
                None,
                2,
                &POLICY,
                0.0
            ),
            Step::RetryLater {
                attempts: 3,
                delay: Duration::from_secs(10)
            }
        );
        assert_eq!(
            plan(
                retry(None, None),
                Some("connection refused".into()),
                3,
                &POLICY,
                0.0
            ),
            Step::DeadLetter {
                reason: "retries exhausted: connection refused".into(),
                attempts: 4,
                status: None
            }
        );
        assert_eq!(
            plan(retry(Some(500), None), None, 3, &POLICY, 0.0),
            Step::DeadLetter {
                reason: "retries exhausted: no answer".into(),
                attempts: 4,
                status: Some(500)
            }
        );
    }

    #[test]
    fn a_rejected_alert_goes_to_the_dlq_at_once_whatever_its_retries() {
        assert_eq!(
            plan(
                Delivery::Rejected { status: 400 },
                Some("bad signature".into()),
                0,
                &POLICY,
                0.3
            ),
            Step::DeadLetter {
                reason: "webhook answered 400: bad signature".into(),
                attempts: 1,
                status: Some(400)
            }
        );
    }
}
