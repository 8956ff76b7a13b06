//! What every invocation needs, built once at cold start (or by a test): the store and the
//! ledger's pending-bucket marker, the retention, the clock, the bounds on concurrency and
//! retries, and where metric lines go.

use std::sync::Arc;

use audit_shared::clock::{self, SharedClock};
use audit_shared::config::Retention;
use audit_shared::metrics::{self, SharedSink};
use audit_shared::store::{EventWriter, PendingMarker};

use crate::retry::RetryPolicy;

/// Writes in flight per invocation by default: enough to hide DynamoDB's latency (about
/// 5 ms a put, so some thousands of events a second), few enough to stay far below the
/// partition limits and the SDK's connection pool.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// What the handler needs, built once at cold start (or by a test).
#[derive(Clone)]
pub struct IngestContext {
    /// Where events are stored.
    pub writer: Arc<dyn EventWriter>,
    /// Where the buckets an invocation writes to are marked pending for the sealer, before
    /// their events are written.
    pub marker: Arc<dyn PendingMarker>,
    /// Retention per category, which sets each event's `expiresAt`.
    pub retention: Retention,
    /// The server's clock: it bounds `occurredAt` and becomes `recordedAt`.
    pub clock: SharedClock,
    /// Most writes in flight at once (values below 1 count as 1).
    pub max_in_flight: usize,
    /// How failed writes are retried.
    pub retry: RetryPolicy,
    /// Where each invocation's metric line goes (standard output in Lambda).
    pub metrics: SharedSink,
}

impl std::fmt::Debug for IngestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestContext")
            .field("retention", &self.retention)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl IngestContext {
    /// A context over `store` (which both stores events and marks their buckets pending)
    /// with the system clock, default concurrency and retries, and metric lines to standard
    /// output.
    pub fn new<S>(store: Arc<S>, retention: Retention) -> Self
    where
        S: EventWriter + PendingMarker + 'static,
    {
        Self {
            writer: Arc::clone(&store) as Arc<dyn EventWriter>,
            marker: store,
            retention,
            clock: clock::system(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            retry: RetryPolicy::default(),
            metrics: metrics::stdout(),
        }
    }
}
