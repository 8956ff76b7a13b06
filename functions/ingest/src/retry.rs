//! Writing one event with retries: throttling and transient faults are retried with
//! exponential backoff and full jitter, within the invocation's remaining time.
//!
//! A write that is cut off by the deadline may or may not have reached DynamoDB; it is
//! reported as failed all the same, which is safe because the event's id makes the sender's
//! retry answer `duplicate` if it did.

use std::time::Duration;

use audit_shared::domain::AuditEvent;
use audit_shared::store::{EventWriter, PutOutcome, StoreError};
use tokio::time::Instant;

/// How failed writes are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts per event, the first included (at least 1).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles for each further one.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Eight attempts, backoff ceilings 25 ms, 50 ms ... capped at 1 s: about 3 s of
    /// waiting at worst, well inside a Lambda timeout, and the deadline bounds it anyway.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(25),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        self.base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// The delay before retry number `retry`, "full jitter": `ceiling * fraction`, where
    /// `fraction` is uniform in `[0, 1]`. Jitter spreads retries of events throttled together
    /// so that they do not collide again.
    pub fn delay(&self, retry: u32, fraction: f64) -> Duration {
        self.ceiling(retry).mul_f64(fraction.clamp(0.0, 1.0))
    }
}

/// Why an event could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailure {
    /// DynamoDB refused the write for a reason retrying will not fix.
    #[error("storage refused the write: {0}")]
    Permanent(#[source] StoreError),
    /// Every attempt failed transiently.
    #[error("storage failed transiently on all {attempts} attempts; last: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: StoreError,
    },
    /// The deadline came before the event was stored.
    #[error("the deadline passed after {attempts} attempts")]
    OutOfTime {
        /// Attempts made (an attempt cut off by the deadline counts).
        attempts: u32,
        /// The last error, if an attempt had failed.
        last: Option<StoreError>,
    },
}

impl WriteFailure {
    /// What the sender is told: no internals, and what to do.
    pub fn public_reason(&self) -> String {
        match self {
            WriteFailure::Permanent(_) => {
                "storage refused the write; the event is not stored".to_owned()
            }
            WriteFailure::Exhausted { attempts, .. } => format!(
                "storage was throttled or unavailable on {attempts} attempts; \
                 the event is not stored, send it again"
            ),
            WriteFailure::OutOfTime { .. } => "the invocation ran out of time before the event \
                 was stored; the event is not stored, send it again"
                .to_owned(),
        }
    }
}

/// Source of the jitter fraction, so tests can make backoff deterministic.
pub type Jitter = fn() -> f64;

/// Uniform jitter in `[0, 1)`.
pub fn random_jitter() -> f64 {
    rand::random::<f64>()
}

/// Stores `event` through `writer`, retrying retryable errors as `policy` says, and never
/// past `deadline`: no attempt starts, and no backoff is slept, that would end after it.
pub async fn write_with_retry(
    writer: &dyn EventWriter,
    event: &AuditEvent,
    policy: &RetryPolicy,
    deadline: Instant,
    jitter: Jitter,
) -> Result<PutOutcome, WriteFailure> {
    with_retry(|| writer.put_event(event), policy, deadline, jitter).await
}

/// Runs the storage call `attempt` until it succeeds, retrying retryable errors as
/// `policy` says and never past `deadline` (the one retry loop of every ingest write: the
/// events and the pending-bucket markers).
pub async fn with_retry<T, F, Fut>(
    mut attempt: F,
    policy: &RetryPolicy,
    deadline: Instant,
    jitter: Jitter,
) -> Result<T, WriteFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempts = 0u32;
    let mut last = None;
    loop {
        if Instant::now() >= deadline {
            return Err(WriteFailure::OutOfTime { attempts, last });
        }
        attempts += 1;
        let error = match tokio::time::timeout_at(deadline, attempt()).await {
            Err(_elapsed) => return Err(WriteFailure::OutOfTime { attempts, last }),
            Ok(Ok(outcome)) => return Ok(outcome),
            Ok(Err(error)) if error.is_retryable() => error,
            Ok(Err(error)) => return Err(WriteFailure::Permanent(error)),
        };
        if attempts >= policy.max_attempts.max(1) {
            return Err(WriteFailure::Exhausted {
                attempts,
                last: error,
            });
        }
        let delay = policy.delay(attempts, jitter());
        if Instant::now() + delay >= deadline {
            return Err(WriteFailure::OutOfTime {
                attempts,
                last: Some(error),
            });
        }
        tracing::debug!(
            attempt = attempts,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "retrying a write"
        );
        last = Some(error);
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use audit_shared::domain::Timestamp;

    use super::*;

    fn event() -> AuditEvent {
        let json = serde_json::json!({ "eventId": "e-1", "tenantId": "acme", "eventType": 201,
            "occurredAt": "2024-03-01T05:00:00Z", "actor": { "id": "u" } });
        AuditEvent::parse(&json, Timestamp::now()).unwrap()
    }

    fn transient() -> StoreError {
        StoreError::Transient {
            operation: "PutItem",
            message: "throttled".into(),
        }
    }

    /// Fails transiently `failures` times, then stores; remembers when each call came.
    struct Flaky {
        failures: u32,
        calls: AtomicU32,
        at: Mutex<Vec<Instant>>,
        permanent: bool,
        hang: bool,
    }

    impl Flaky {
        fn new(failures: u32) -> Self {
            Self {
                failures,
                calls: AtomicU32::new(0),
                at: Mutex::new(Vec::new()),
                permanent: false,
                hang: false,
            }
        }
    }

    #[async_trait]
    impl EventWriter for Flaky {
        async fn put_event(&self, _: &AuditEvent) -> Result<PutOutcome, StoreError> {
            self.at.lock().unwrap().push(Instant::now());
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if self.permanent {
                return Err(StoreError::Permanent {
                    operation: "PutItem",
                    message: "access denied".into(),
                });
            }
            if n < self.failures {
                Err(transient())
            } else {
                Ok(PutOutcome::Stored)
            }
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        }
    }

    fn full() -> f64 {
        1.0
    }

    #[test]
    fn ceilings_double_from_the_base_and_stop_at_the_cap() {
        let p = policy();
        let ms: Vec<u128> = (1..=5).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 350, 350, 350]);
        assert_eq!(p.ceiling(1000), Duration::from_millis(350), "no overflow");
    }

    #[test]
    fn full_jitter_scales_the_ceiling_by_the_fraction() {
        let p = policy();
        assert_eq!(p.delay(2, 0.0), Duration::ZERO);
        assert_eq!(p.delay(2, 0.5), Duration::from_millis(100));
        assert_eq!(p.delay(2, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(2, 7.0), Duration::from_millis(200), "clamped");
        assert!((0..1000).all(|_| (0.0..1.0).contains(&random_jitter())));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_with_growing_backoff_until_stored() {
        let writer = Flaky::new(3);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(30);
        let outcome = write_with_retry(&writer, &event(), &policy(), deadline, full).await;
        assert_eq!(outcome.unwrap(), PutOutcome::Stored);
        let gaps: Vec<u128> = writer
            .at
            .lock()
            .unwrap()
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis())
            .collect();
        assert_eq!(gaps, vec![100, 200, 350]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_max_attempts_and_report_the_last_error() {
        let writer = Flaky::new(u32::MAX);
        let deadline = Instant::now() + Duration::from_secs(30);
        let failure = write_with_retry(&writer, &event(), &policy(), deadline, full)
            .await
            .unwrap_err();
        assert!(matches!(
            failure,
            WriteFailure::Exhausted { attempts: 5, .. }
        ));
        assert_eq!(writer.calls.load(Ordering::SeqCst), 5);
        assert!(failure.public_reason().contains("send it again"));
        assert!(!failure.public_reason().contains("PutItem"), "no internals");
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let writer = Flaky {
            permanent: true,
            ..Flaky::new(0)
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let failure = write_with_retry(&writer, &event(), &policy(), deadline, full)
            .await
            .unwrap_err();
        assert!(matches!(failure, WriteFailure::Permanent(_)));
        assert_eq!(writer.calls.load(Ordering::SeqCst), 1);
        assert!(!failure.public_reason().contains("access denied"));
    }

    #[tokio::test(start_paused = true)]
    async fn no_backoff_is_slept_past_the_deadline() {
        let writer = Flaky::new(u32::MAX);
        let start = Instant::now();
        // Attempts at 0, 100 and 300 ms; the next backoff (350 ms) would end after 500 ms.
        let deadline = start + Duration::from_millis(500);
        let failure = write_with_retry(&writer, &event(), &policy(), deadline, full)
            .await
            .unwrap_err();
        assert!(matches!(
            failure,
            WriteFailure::OutOfTime {
                attempts: 3,
                last: Some(_)
            }
        ));
        assert!(Instant::now() < deadline, "gave up before the deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_hanging_past_the_deadline_is_cut_off_and_reported() {
        let writer = Flaky {
            hang: true,
            ..Flaky::new(0)
        };
        let start = Instant::now();
        let deadline = start + Duration::from_secs(2);
        let failure = write_with_retry(&writer, &event(), &policy(), deadline, full)
            .await
            .unwrap_err();
        assert!(matches!(
            failure,
            WriteFailure::OutOfTime {
                attempts: 1,
                last: None
            }
        ));
        assert_eq!(Instant::now(), deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_attempted_once_the_deadline_has_passed() {
        let writer = Flaky::new(0);
        let failure = write_with_retry(&writer, &event(), &policy(), Instant::now(), full)
            .await
            .unwrap_err();
        assert!(matches!(
            failure,
            WriteFailure::OutOfTime { attempts: 0, .. }
        ));
        assert_eq!(writer.calls.load(Ordering::SeqCst), 0);
    }
}
