//! The client: a queue of events, a background task that packs them into batches as full
//! as the transport allows and sends them, and the bookkeeping of what became of each.
//!
//! [`AuditClient::send`] only queues (it waits, without blocking a thread, when
//! [`ClientConfig::queue_capacity`] events are already waiting: back-pressure instead of
//! unbounded memory). The task flushes a batch when the next event would not fit (by count
//! or by bytes), when its oldest event has waited [`ClientConfig::flush_interval`], on
//! [`AuditClient::flush`] and on [`AuditClient::shutdown`]. Each batch is sent by its own
//! task, at most [`ClientConfig::max_in_flight`] at once; its `failed` events (and all of
//! its events when the answer is lost) are sent again after a jittered exponential backoff,
//! up to [`ClientConfig::max_attempts`] sends in all; `rejected` and `conflict` events, and
//! events still failing after the last attempt, are handed back as [`Problem`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_shared::domain::FieldError;
use audit_shared::ingest::EventInput;
use rand::Rng;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::transport::{Batch, Limits, Outcome, Transport, TransportError};

/// How the client batches, flushes and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// A batch is sent once its oldest event has waited this long (default 1 s).
    pub flush_interval: Duration,
    /// Sends of one event at most, the first included (default 8).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for each next one (default 100 ms).
    pub backoff_base: Duration,
    /// Largest backoff (default 5 s).
    pub backoff_max: Duration,
    /// Batches being sent (or waiting to be retried) at once (default 4).
    pub max_in_flight: usize,
    /// Events queued before [`AuditClient::send`] waits (default 10,000).
    pub queue_capacity: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_secs(1),
            max_attempts: 8,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            max_in_flight: 4,
            queue_capacity: 10_000,
        }
    }
}

impl ClientConfig {
    /// The wait before retry number `retry` (from 1): "equal jitter", half of the
    /// exponential step plus a uniform share of the other half. Jitter spreads the retries
    /// of batches that failed together; the fixed half guarantees that a retry does wait,
    /// so that the attempts span a storage fault instead of being spent at once.
    pub fn backoff(&self, retry: u32) -> Duration {
        let step = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.backoff_max);
        let half = step / 2;
        let jitter = rand::rng().random_range(0..=half.as_micros().min(u64::MAX as u128) as u64);
        half + Duration::from_micros(jitter)
    }
}

/// The client's counters, exact: every event queued ends in exactly one of `sent`,
/// `rejected`, `conflicting` or `failed` once flushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events the service acknowledged: `stored + duplicate + queued`.
    pub sent: u64,
    /// Of `sent`: stored by this client's request.
    pub stored: u64,
    /// Of `sent`: already stored (a retry after a lost answer).
    pub duplicate: u64,
    /// Of `sent`: accepted by the queue (SQS transport).
    pub queued: u64,
    /// Sends of an event after its first (each retry of each event counts once).
    pub retried: u64,
    /// Events handed back as invalid.
    pub rejected: u64,
    /// Events handed back because another event holds their id.
    pub conflicting: u64,
    /// Events handed back unsent after the last attempt or a refused request.
    pub failed: u64,
    /// Requests made to the transport.
    pub requests: u64,
}

/// Why an event is handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Invalid: fix and send again.
    Rejected {
        /// The service's reason.
        reason: String,
        /// Each broken rule, naming its field.
        errors: Vec<FieldError>,
    },
    /// Another event with this id and different content is stored: send it under a new id.
    Conflict {
        /// The service's reason.
        reason: String,
    },
    /// Not stored after every attempt, or refused as a request: the caller decides.
    Failed {
        /// The last reason.
        reason: String,
    },
}

/// An event the client hands back, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The event, as sent (its `eventId` filled in).
    pub event: EventInput,
    /// What went wrong.
    pub kind: ProblemKind,
}

/// Why [`AuditClient::send`] did not queue an event.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The client was shut down.
    #[error("the client is shut down")]
    Closed,
    /// The event alone is larger than one request of the transport may be.
    #[error("the event is {bytes} bytes as a batch, over the transport's {max} bytes")]
    TooLarge {
        /// The event's batch size.
        bytes: usize,
        /// The transport's limit.
        max: usize,
    },
    /// The event could not be written as JSON (a map with non-string keys in a value).
    #[error("the event cannot be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// What [`AuditClient::shutdown`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownReport {
    /// The final counters.
    pub counters: Counters,
    /// Every problem not yet taken with [`AuditClient::take_problems`].
    pub problems: Vec<Problem>,
}

/// One queued event, serialized once.
#[derive(Debug)]
struct Pending {
    id: String,
    json: Vec<u8>,
    event: EventInput,
}

enum Command {
    /// Boxed: an event is far larger than the other commands.
    Event(Box<Pending>),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Default)]
struct Shared {
    sent: AtomicU64,
    stored: AtomicU64,
    duplicate: AtomicU64,
    queued: AtomicU64,
    retried: AtomicU64,
    rejected: AtomicU64,
    conflicting: AtomicU64,
    failed: AtomicU64,
    requests: AtomicU64,
    problems: Mutex<Vec<Problem>>,
}

impl Shared {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn counters(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            sent: get(&self.sent),
            stored: get(&self.stored),
            duplicate: get(&self.duplicate),
            queued: get(&self.queued),
            retried: get(&self.retried),
            rejected: get(&self.rejected),
            conflicting: get(&self.conflicting),
            failed: get(&self.failed),
            requests: get(&self.requests),
        }
    }

    fn hand_back(&self, event: EventInput, kind: ProblemKind) {
        let counter = match kind {
            ProblemKind::Rejected { .. } => &self.rejected,
            ProblemKind::Conflict { .. } => &self.conflicting,
            ProblemKind::Failed { .. } => &self.failed,
        };
        Self::add(counter, 1);
        // A poisoned lock only means another task panicked mid-push: the list is intact.
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems.push(Problem { event, kind });
    }
}

/// Sends audit events in batches through a [`Transport`], in the background.
///
/// ```no_run
/// use audit_client::{AuditClient, ClientConfig, EventBuilder, InvokeTransport};
///
/// # async fn demo(lambda: aws_sdk_lambda::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let client = AuditClient::new(InvokeTransport::new(lambda, "audit-ingest"), ClientConfig::default());
/// client
///     .send(EventBuilder::new("acme", "LoginFailed")?.actor_id("user-42").build())
///     .await?;
/// // ... on the way out: everything queued is sent, retried, or handed back.
/// let report = client.shutdown().await;
/// for problem in report.problems {
///     eprintln!("not stored: {:?} {:?}", problem.event.event_id, problem.kind);
/// }
/// # Ok(()) }
/// ```
pub struct AuditClient {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    limits: Limits,
    worker: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AuditClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditClient")
            .field("limits", &self.limits)
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

impl AuditClient {
    /// A client sending through `transport`; its background task runs on the current
    /// Tokio runtime (so call this inside one).
    pub fn new(transport: impl Transport, config: ClientConfig) -> Self {
        let transport: Arc<dyn Transport> = Arc::new(transport);
        let limits = transport.limits();
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared::default());
        let worker = tokio::spawn(run(transport, config, Arc::clone(&shared), rx));
        Self {
            tx,
            shared,
            limits,
            worker,
        }
    }

    /// Queues `event`, giving it a ULID `eventId` when it has none (so that its retries
    /// are stored once), and answers that id. Waits only while the queue is full.
    pub async fn send(&self, mut event: EventInput) -> Result<String, SendError> {
        let id = event
            .event_id
            .get_or_insert_with(|| ulid::Ulid::new().to_string())
            .clone();
        let json = serde_json::to_vec(&event)?;
        let bytes = Limits::body_bytes(1, json.len());
        if bytes > self.limits.max_bytes {
            return Err(SendError::TooLarge {
                bytes,
                max: self.limits.max_bytes,
            });
        }
        self.tx
            .send(Command::Event(Box::new(Pending {
                id: id.clone(),
                json,
                event,
            })))
            .await
            .map_err(|_| SendError::Closed)?;
        Ok(id)
    }

    /// Sends everything queued and waits until every batch is settled (retries included).
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Command::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        self.shared.counters()
    }

    /// The events handed back since the last call.
    pub fn take_problems(&self) -> Vec<Problem> {
        let mut problems = self
            .shared
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *problems)
    }

    /// Sends everything queued, waits for every batch to settle, stops the background task
    /// and reports.
    pub async fn shutdown(self) -> ShutdownReport {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Command::Shutdown(reply)).await.is_ok() {
            let _ = done.await;
        }
        let problems = self.take_problems();
        let _ = self.worker.await;
        let mut rest = self
            .shared
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut problems = problems;
        problems.append(&mut rest);
        ShutdownReport {
            counters: self.shared.counters(),
            problems,
        }
    }
}

/// The batch being filled.
#[derive(Default)]
struct Filling {
    events: Vec<Pending>,
    bytes: usize,
    since: Option<Instant>,
}

impl Filling {
    fn fits(&self, limits: Limits, next: &Pending) -> bool {
        self.events.len() < limits.max_events
            && Limits::body_bytes(self.events.len() + 1, self.bytes + next.json.len())
                <= limits.max_bytes
    }

    fn push(&mut self, event: Pending) {
        self.bytes += event.json.len();
        self.since.get_or_insert_with(Instant::now);
        self.events.push(event);
    }

    fn take(&mut self) -> Vec<Pending> {
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.events)
    }
}

/// The background task: fills batches and hands each to its own sending task.
async fn run(
    transport: Arc<dyn Transport>,
    config: ClientConfig,
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Command>,
) {
    let limits = transport.limits();
    let slots = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let mut tasks = JoinSet::new();
    let mut filling = Filling::default();
    // Checked a few times per interval, so an event waits at most about 1.25 intervals.
    let tick = (config.flush_interval / 4).max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let dispatch = |events: Vec<Pending>, permit: OwnedSemaphorePermit, tasks: &mut JoinSet<()>| {
        tasks.spawn(deliver(
            Arc::clone(&transport),
            config.clone(),
            Arc::clone(&shared),
            events,
            permit,
        ));
    };
    loop {
        tokio::select! {
            command = rx.recv() => {
                let stop = match command {
                    Some(Command::Event(event)) => {
                        if !filling.events.is_empty() && !filling.fits(limits, &event) {
                            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { break };
                            dispatch(filling.take(), permit, &mut tasks);
                        }
                        filling.push(*event);
                        if filling.events.len() >= limits.max_events {
                            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { break };
                            dispatch(filling.take(), permit, &mut tasks);
                        }
                        None
                    }
                    Some(Command::Flush(reply)) => Some((reply, false)),
                    Some(Command::Shutdown(reply)) => Some((reply, true)),
                    None => break,
                };
                if let Some((reply, shutdown)) = stop {
                    if !filling.events.is_empty() {
                        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { break };
                        dispatch(filling.take(), permit, &mut tasks);
                    }
                    while tasks.join_next().await.is_some() {}
                    let _ = reply.send(());
                    if shutdown {
                        return;
                    }
                }
            }
            _ = ticker.tick() => {
                if filling.since.is_some_and(|since| since.elapsed() >= config.flush_interval) {
                    let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { break };
                    dispatch(filling.take(), permit, &mut tasks);
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // The client was dropped without a shutdown: still send what is queued.
    if !filling.events.is_empty() {
        if let Ok(permit) = Arc::clone(&slots).acquire_owned().await {
            dispatch(filling.take(), permit, &mut tasks);
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Sends one batch until every event is settled or out of attempts.
async fn deliver(
    transport: Arc<dyn Transport>,
    config: ClientConfig,
    shared: Arc<Shared>,
    mut events: Vec<Pending>,
    _slot: OwnedSemaphorePermit,
) {
    let mut attempt = 1;
    loop {
        let batch = Batch::of(events.iter().map(|p| (p.id.as_str(), p.json.as_slice())));
        Shared::add(&shared.requests, 1);
        let mut again: Vec<(Pending, String)> = Vec::new();
        match transport.send(&batch).await {
            Ok(outcomes) => {
                let outcomes = outcomes
                    .into_iter()
                    .map(Some)
                    .chain(std::iter::repeat(None));
                for (event, outcome) in events.into_iter().zip(outcomes) {
                    let counter = match outcome {
                        Some(Outcome::Stored) => &shared.stored,
                        Some(Outcome::Duplicate) => &shared.duplicate,
                        Some(Outcome::Queued) => &shared.queued,
                        Some(Outcome::Conflict { reason }) => {
                            shared.hand_back(event.event, ProblemKind::Conflict { reason });
                            continue;
                        }
                        Some(Outcome::Rejected { reason, errors }) => {
                            shared.hand_back(event.event, ProblemKind::Rejected { reason, errors });
                            continue;
                        }
                        Some(Outcome::Failed { reason }) => {
                            again.push((event, reason));
                            continue;
                        }
                        None => {
                            again.push((event, "the transport gave no outcome".to_owned()));
                            continue;
                        }
                    };
                    Shared::add(counter, 1);
                    Shared::add(&shared.sent, 1);
                }
            }
            Err(TransportError::Retryable(reason)) => {
                tracing::debug!(events = events.len(), %reason, "batch answer lost; retrying");
                again = events.into_iter().map(|e| (e, reason.clone())).collect();
            }
            Err(TransportError::Fatal(reason)) => {
                tracing::warn!(events = events.len(), %reason, "batch refused; handing it back");
                for event in events {
                    shared.hand_back(
                        event.event,
                        ProblemKind::Failed {
                            reason: reason.clone(),
                        },
                    );
                }
                return;
            }
        }
        if again.is_empty() {
            return;
        }
        if attempt >= config.max_attempts {
            tracing::warn!(
                events = again.len(),
                attempts = attempt,
                "events not stored after the last attempt"
            );
            for (event, reason) in again {
                shared.hand_back(event.event, ProblemKind::Failed { reason });
            }
            return;
        }
        Shared::add(&shared.retried, again.len());
        tokio::time::sleep(config.backoff(attempt)).await;
        attempt += 1;
        events = again.into_iter().map(|(e, _)| e).collect();
    }
}
