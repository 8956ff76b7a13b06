//! Unit tests of the client over a small fake transport: batching by count and by bytes,
//! flushing on interval and shutdown, retries of failed events and lost answers, problems
//! handed back, and exact counters. The same behaviours are shown against the local stack
//! in `clients/rust/tests/stack.rs`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use audit_shared::domain::FieldError;
use serde_json::Value;

use super::*;

/// Answers by a rule per event id and attempt, records every request's size and ids.
struct Fake {
    limits: Limits,
    requests: Mutex<Vec<(usize, Vec<String>)>>,
    attempts: Mutex<HashMap<String, u32>>,
    /// How the n-th send (from 1) of an event is answered, by id prefix.
    rule: fn(&str, u32) -> Result<Outcome, ()>,
}

impl Fake {
    fn new(limits: Limits, rule: fn(&str, u32) -> Result<Outcome, ()>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            limits,
            requests: Mutex::default(),
            attempts: Mutex::default(),
            rule,
        })
    }
}

/// The client owns its transport; tests keep a handle to the fake through this.
struct Shared(std::sync::Arc<Fake>);

#[async_trait]
impl Transport for Shared {
    fn limits(&self) -> Limits {
        self.0.limits
    }

    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
        assert!(
            batch.body.len() <= self.0.limits.max_bytes,
            "{} bytes",
            batch.body.len()
        );
        assert!(batch.len() <= self.0.limits.max_events);
        let parsed: Value = serde_json::from_slice(&batch.body).unwrap();
        assert_eq!(parsed["events"].as_array().unwrap().len(), batch.len());
        self.0
            .requests
            .lock()
            .unwrap()
            .push((batch.body.len(), batch.event_ids.clone()));
        let mut lost = false;
        let outcomes = batch
            .event_ids
            .iter()
            .map(|id| {
                let mut attempts = self.0.attempts.lock().unwrap();
                let n = attempts.entry(id.clone()).or_default();
                *n += 1;
                (self.0.rule)(id, *n).unwrap_or_else(|()| {
                    lost = true;
                    Outcome::Stored
                })
            })
            .collect();
        if lost {
            return Err(TransportError::Retryable("answer lost".into()));
        }
        Ok(outcomes)
    }
}

fn event(id: Option<&str>, padding: usize) -> EventInput {
    let mut builder = EventBuilder::new("acme", "LoginSuccess")
        .unwrap()
        .actor_id("u-1")
        .description("x".repeat(padding.max(1)));
    if let Some(id) = id {
        builder = builder.event_id(id);
    }
    builder.build()
}

fn quick() -> ClientConfig {
    ClientConfig {
        flush_interval: Duration::from_secs(3600),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(4),
        ..ClientConfig::default()
    }
}

fn stored(_: &str, _: u32) -> Result<Outcome, ()> {
    Ok(Outcome::Stored)
}

#[tokio::test]
async fn batches_are_as_full_as_the_count_and_byte_limits_allow() {
    let limits = Limits {
        max_events: 10,
        max_bytes: 4_000,
    };
    let fake = Fake::new(limits, stored);
    let client = AuditClient::new(Shared(fake.clone()), quick());
    let sizes: Vec<usize> = (0..200)
        .map(|i| [10, 900, 50, 2_500, 300][i % 5] + i % 7)
        .collect();
    let mut jsons = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let e = event(Some(&format!("e{i}")), *size);
        jsons.push(serde_json::to_vec(&e).unwrap().len());
        client.send(e).await.unwrap();
    }
    let report = client.shutdown().await;
    // The expected batches: greedy, in order, each taking the next event while it fits.
    let mut expected = Vec::new();
    let (mut n, mut bytes) = (0, 0);
    for len in &jsons {
        if n > 0
            && (n == limits.max_events || Limits::body_bytes(n + 1, bytes + len) > limits.max_bytes)
        {
            expected.push(n);
            (n, bytes) = (0, 0);
        }
        n += 1;
        bytes += len;
    }
    expected.push(n);
    let requests = fake.requests.lock().unwrap().clone();
    let got: Vec<usize> = requests.iter().map(|(_, ids)| ids.len()).collect();
    assert_eq!(got, expected);
    for (i, (size, ids)) in requests.iter().enumerate().take(requests.len() - 1) {
        // Full: by count, or the next event would not have fitted.
        let next = jsons[ids.len() + requests[..i].iter().map(|r| r.1.len()).sum::<usize>()];
        assert!(ids.len() == limits.max_events || size + 1 + next > limits.max_bytes);
    }
    assert_eq!(report.counters.sent, 200);
    assert_eq!(report.counters.requests, expected.len() as u64);
}

#[tokio::test]
async fn sqs_messages_are_packed_to_256_kb() {
    let limits = Limits {
        max_events: audit_shared::limits::MAX_BATCH_EVENTS,
        max_bytes: SQS_MAX_BYTES,
    };
    let fake = Fake::new(limits, stored);
    let client = AuditClient::new(Shared(fake.clone()), quick());
    for i in 0..100 {
        client
            .send(event(Some(&format!("s{i}")), 20_000 + i * 37))
            .await
            .unwrap();
    }
    client.shutdown().await;
    let requests = fake.requests.lock().unwrap().clone();
    // About 20 KB each: 12 to a message, the 13th would pass 262,144 bytes.
    assert!(requests.iter().all(|(bytes, _)| *bytes <= SQS_MAX_BYTES));
    assert!(requests[..requests.len() - 1]
        .iter()
        .all(|(bytes, _)| bytes + 20_000 > SQS_MAX_BYTES));
    assert_eq!(
        requests.iter().map(|(_, ids)| ids.len()).sum::<usize>(),
        100
    );
}

#[tokio::test]
async fn an_event_without_id_gets_a_ulid_kept_across_retries_after_a_lost_answer() {
    // Every event's first answer is lost.
    fn lose_first(_: &str, n: u32) -> Result<Outcome, ()> {
        if n == 1 {
            Err(())
        } else {
            Ok(Outcome::Duplicate)
        }
    }
    let fake = Fake::new(
        Limits {
            max_events: 1000,
            max_bytes: 1 << 20,
        },
        lose_first,
    );
    let client = AuditClient::new(Shared(fake.clone()), quick());
    let id = client.send(event(None, 10)).await.unwrap();
    assert!(ulid::Ulid::from_string(&id).is_ok(), "{id}");
    let report = client.shutdown().await;
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].1, vec![id.clone()]);
    assert_eq!(requests[1].1, vec![id]);
    let c = report.counters;
    assert_eq!((c.sent, c.duplicate, c.retried, c.failed), (1, 1, 1, 0));
}

#[tokio::test]
async fn failed_events_are_retried_alone_and_problems_are_handed_back_with_exact_counters() {
    fn rule(id: &str, n: u32) -> Result<Outcome, ()> {
        Ok(match id.split('-').next().unwrap() {
            "ok" => Outcome::Stored,
            "flaky" if n < 3 => Outcome::Failed {
                reason: "slow".into(),
            },
            "flaky" => Outcome::Stored,
            "bad" => Outcome::Rejected {
                reason: "invalid".into(),
                errors: vec![FieldError::new("actor.id", "is required")],
            },
            "taken" => Outcome::Conflict {
                reason: "taken".into(),
            },
            _ => Outcome::Failed {
                reason: "down".into(),
            },
        })
    }
    let fake = Fake::new(
        Limits {
            max_events: 1000,
            max_bytes: 1 << 20,
        },
        rule,
    );
    let config = ClientConfig {
        max_attempts: 4,
        ..quick()
    };
    let client = AuditClient::new(Shared(fake.clone()), config);
    for id in [
        "ok-1", "flaky-1", "bad-1", "taken-1", "never-1", "ok-2", "flaky-2",
    ] {
        client.send(event(Some(id), 10)).await.unwrap();
    }
    client.flush().await;
    let c = client.counters();
    // flaky: 2 retries each; never: 3 retries then handed back.
    assert_eq!(
        (
            c.sent,
            c.stored,
            c.retried,
            c.rejected,
            c.conflicting,
            c.failed
        ),
        (4, 4, 2 + 2 + 3, 1, 1, 1)
    );
    assert_eq!(c.requests, 4);
    let sends: usize = fake
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.len())
        .sum();
    assert_eq!(
        sends as u64,
        7 + c.retried,
        "every send is the first or a counted retry"
    );
    let mut problems: Vec<(String, &str)> = client
        .take_problems()
        .into_iter()
        .map(|p| {
            let kind = match p.kind {
                ProblemKind::Rejected { errors, .. } => {
                    assert_eq!(errors[0].field, "actor.id");
                    "rejected"
                }
                ProblemKind::Conflict { .. } => "conflict",
                ProblemKind::Failed { .. } => "failed",
            };
            (p.event.event_id.unwrap(), kind)
        })
        .collect();
    problems.sort();
    assert_eq!(
        problems,
        vec![
            ("bad-1".to_owned(), "rejected"),
            ("never-1".to_owned(), "failed"),
            ("taken-1".to_owned(), "conflict")
        ]
    );
    assert!(client.shutdown().await.problems.is_empty(), "taken already");
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_is_flushed_once_its_oldest_event_waited_the_interval() {
    let fake = Fake::new(
        Limits {
            max_events: 1000,
            max_bytes: 1 << 20,
        },
        stored,
    );
    let config = ClientConfig {
        flush_interval: Duration::from_secs(2),
        ..ClientConfig::default()
    };
    let client = AuditClient::new(Shared(fake.clone()), config);
    client.send(event(Some("a"), 10)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fake.requests.lock().unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(fake.requests.lock().unwrap().len(), 1);
    assert_eq!(client.counters().sent, 1);
}

#[tokio::test]
async fn an_event_larger_than_one_request_is_refused_at_once() {
    let fake = Fake::new(
        Limits {
            max_events: 1000,
            max_bytes: 1_000,
        },
        stored,
    );
    let client = AuditClient::new(Shared(fake), quick());
    let error = client.send(event(Some("big"), 2_000)).await.unwrap_err();
    assert!(
        matches!(error, SendError::TooLarge { max: 1_000, .. }),
        "{error}"
    );
}

#[test]
fn the_backoff_grows_to_its_bound_and_always_waits_half_of_it() {
    let config = ClientConfig::default();
    for retry in 1..12 {
        let step = (config.backoff_base * 2u32.pow(retry - 1)).min(config.backoff_max);
        let wait = config.backoff(retry);
        assert!(wait >= step / 2 && wait <= step, "{retry}: {wait:?}");
    }
}
