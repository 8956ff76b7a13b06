//! Lambda's asynchronous invocation (`X-Amz-Invocation-Type: Event`), emulated faithfully
//! enough for the ingest function's no-loss promise to be shown locally
//! (docs/adr/0014-no-loss-on-the-asynchronous-path.md).
//!
//! As Lambda does, the Invoke API answers 202 at once and runs the invocation in the
//! background; an invocation that fails (a function error, a timeout, a runtime failure) is
//! tried again up to [`AsyncInvoke::retries`] times (the template's `MaximumRetryAttempts`,
//! 2), the first retry after [`AsyncInvoke::first_delay`] and each next one after twice the
//! previous wait (Lambda waits 1 then 2 minutes; the local default is the same, the
//! end-to-end suite shortens it). After the last failed attempt the payload goes, intact, to
//! the dead-letter queue, as the template's `DeadLetterQueue` receives it: locally one JSON
//! file per invocation under [`AsyncInvoke::dead_letters`], logged at error. Not emulated:
//! the maximum event age (hours in the template, far beyond any local run) and Lambda's
//! internal queue's own delays.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::runtime::{Invocation, InvokeFunction};

/// How asynchronous invocations are retried and where the ones that failed every attempt go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncInvoke {
    /// Attempts after the first (`LOCAL_ASYNC_RETRIES`; the template's 2).
    pub retries: u32,
    /// Wait before the first retry, doubled before each next one (`LOCAL_ASYNC_RETRY_DELAY`
    /// seconds; Lambda's 60).
    pub first_delay: Duration,
    /// The local dead-letter queue: a directory of one `<n>.json` file per payload that
    /// failed every attempt; `None` keeps them in the log only.
    pub dead_letters: Option<PathBuf>,
}

impl Default for AsyncInvoke {
    fn default() -> Self {
        Self {
            retries: 2,
            first_delay: Duration::from_secs(60),
            dead_letters: None,
        }
    }
}

/// What became of one asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsyncOutcome {
    /// The function answered (did not fail) on this attempt, from 1.
    Succeeded {
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// Every attempt failed; the payload went to the dead-letter queue (the file, when
    /// one could be written).
    DeadLettered {
        /// Where the payload was written.
        file: Option<PathBuf>,
    },
}

/// Numbers dead-letter files uniquely within the gateway's run.
static DEAD_LETTERS: AtomicU64 = AtomicU64::new(0);

/// Runs one asynchronous invocation of `function` with its retries, to the end.
pub async fn run(function: InvokeFunction, config: AsyncInvoke, payload: Vec<u8>) -> AsyncOutcome {
    let mut delay = config.first_delay;
    for attempt in 1..=config.retries.saturating_add(1) {
        if attempt > 1 {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        match function(payload.clone()).await {
            Ok(Invocation::Answer(_)) => return AsyncOutcome::Succeeded { attempt },
            Ok(Invocation::FunctionError(error)) => {
                let error = String::from_utf8_lossy(&error);
                // The error of `EventsNotStored` is the whole answer: its start is enough.
                let head: String = error.chars().take(300).collect();
                tracing::warn!(attempt, error = %head, "asynchronous invocation failed");
            }
            Err(e) => tracing::warn!(attempt, error = %e, "asynchronous invocation failed"),
        }
    }
    let file = config.dead_letters.as_ref().and_then(|dir| {
        let n = DEAD_LETTERS.fetch_add(1, Ordering::Relaxed);
        let file = dir.join(format!("{}-{n}.json", std::process::id()));
        let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&file, &payload));
        match written {
            Ok(()) => Some(file),
            Err(e) => {
                tracing::error!(error = %e, "cannot write the dead letter");
                None
            }
        }
    });
    tracing::error!(
        attempts = config.retries.saturating_add(1),
        file = ?file,
        bytes = payload.len(),
        "asynchronous invocation failed every attempt: its payload is in the dead-letter queue"
    );
    AsyncOutcome::DeadLettered { file }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::super::runtime::in_process_invoke;
    use super::*;

    /// A function that fails its first `failures` invocations, counting them all.
    fn flaky(failures: u32, calls: Arc<AtomicU32>) -> InvokeFunction {
        in_process_invoke(move |_: Value| {
            let calls = Arc::clone(&calls);
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    Err(("EventsNotStored".to_owned(), "{}".to_owned()))
                } else {
                    Ok(json!({ "ok": true }))
                }
            }
        })
    }

    fn config(dir: Option<PathBuf>) -> AsyncInvoke {
        AsyncInvoke {
            retries: 2,
            first_delay: Duration::from_secs(60),
            dead_letters: dir,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_invocation_is_retried_after_one_then_two_minutes() {
        let calls = Arc::new(AtomicU32::new(0));
        let started = tokio::time::Instant::now();
        let outcome = run(flaky(2, Arc::clone(&calls)), config(None), b"{}".to_vec()).await;
        assert_eq!(outcome, AsyncOutcome::Succeeded { attempt: 3 });
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(started.elapsed(), Duration::from_secs(180));
    }

    #[tokio::test(start_paused = true)]
    async fn after_three_failed_attempts_the_payload_is_dead_lettered_intact() {
        let dir = std::env::temp_dir().join(format!("dead-letters-{}", std::process::id()));
        let calls = Arc::new(AtomicU32::new(0));
        let payload = br#"{"events":[{"eventId":"x"}]}"#.to_vec();
        let outcome = run(
            flaky(9, Arc::clone(&calls)),
            config(Some(dir.clone())),
            payload.clone(),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let AsyncOutcome::DeadLettered { file: Some(file) } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(std::fs::read(&file).unwrap(), payload);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
