//! The service's metrics, declared once as data: the namespace ([`NAMESPACE`]), the few
//! dimensions ([`SOURCE`], [`ROUTE`]), and each function's metric set ([`INGEST`],
//! [`QUERY`], [`SEALER`]) with every metric's name, unit and meaning.
//!
//! Each function writes its figures as one CloudWatch Embedded Metric Format line
//! ([`emf`]) per invocation, request or run, to a [`MetricsSink`] its context holds:
//! standard output in Lambda ([`StdoutSink`]), which CloudWatch Logs turns into metrics
//! without an API call; memory in tests ([`MemorySink`]). The typed constructors below
//! ([`ingest_document`], [`query_document`], [`sealer_document`]) are the only writers, so
//! a line always carries its set's dimensions and metrics; `template.yaml`'s alarms and
//! dashboard name metrics from here, which the template test checks, and
//! `docs/operations.md` documents them.
//!
//! Cost: CloudWatch bills each distinct metric (name and dimension values). The sets are
//! 6 ingest metrics x 2 sources, 4 query metrics x 9 routes and 3 sealer metrics without
//! dimensions: 51 metrics, whatever the traffic. No dimension ever holds a tenant, an event
//! or a request id.

pub mod emf;
pub mod sink;

use std::time::Duration;

pub use emf::{EmfDocument, EmfError, MetricDefinition, MetricDirective};
pub use sink::{discard, stdout, DiscardSink, MemorySink, MetricsSink, SharedSink, StdoutSink};

use crate::api::routes::{Function, ROUTES};
use crate::domain::Timestamp;
use crate::ingest::IngestTotals;

/// The CloudWatch namespace of every metric of the service.
pub const NAMESPACE: &str = "AuditLog";

/// The units the service's metrics use (CloudWatch's names, [`emf::UNITS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things (events, items, buckets, read units, requests).
    Count,
    /// A duration in seconds.
    Seconds,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric: its name in CloudWatch, its unit and what it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The metric's name, unique in [`NAMESPACE`].
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// What one value means, for the documentation.
    pub meaning: &'static str,
}

/// The values a dimension takes: a fixed list, or the operation ids of the routes a
/// function serves ([`ROUTES`]), so that a new route is a new value without an edit here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionValues {
    /// These values.
    Fixed(&'static [&'static str]),
    /// The OpenAPI operation ids of this function's routes.
    OperationsOf(Function),
}

/// One dimension: a name and the few values it may take (each value makes every metric of
/// its set once more, so the lists stay short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    /// The dimension's name.
    pub name: &'static str,
    /// Its values.
    pub values: DimensionValues,
    /// What it tells apart, for the documentation.
    pub meaning: &'static str,
}

impl Dimension {
    /// Every value the dimension may take.
    pub fn values(&self) -> Vec<&'static str> {
        match self.values {
            DimensionValues::Fixed(values) => values.to_vec(),
            DimensionValues::OperationsOf(function) => ROUTES
                .iter()
                .filter(|r| r.function == function)
                .filter_map(|r| r.operation_id)
                .collect(),
        }
    }
}

/// The metrics one function writes, and the dimensions every line of it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSet {
    /// The function's logical id in `template.yaml`.
    pub function: &'static str,
    /// How often a line is written: `invocation`, `request` or `run`.
    pub per: &'static str,
    /// The dimensions of every line (none: the metrics have no dimension).
    pub dimensions: &'static [Dimension],
    /// The metrics of every line.
    pub metrics: &'static [Metric],
}

impl MetricSet {
    /// The document of one line of this set: `dimension_values` in the order of
    /// [`MetricSet::dimensions`], one value per metric in the order of
    /// [`MetricSet::metrics`].
    fn document(&self, at: Timestamp, dimension_values: &[&str], values: &[f64]) -> EmfDocument {
        EmfDocument {
            timestamp_ms: at.millis(),
            directives: vec![MetricDirective {
                namespace: NAMESPACE.to_owned(),
                dimensions: vec![self.dimensions.iter().map(|d| d.name.to_owned()).collect()],
                metrics: self
                    .metrics
                    .iter()
                    .map(|m| MetricDefinition {
                        name: m.name.to_owned(),
                        unit: Some(m.unit.as_str().to_owned()),
                    })
                    .collect(),
            }],
            dimension_values: self
                .dimensions
                .iter()
                .zip(dimension_values)
                .map(|(d, v)| (d.name.to_owned(), (*v).to_owned()))
                .collect(),
            values: self
                .metrics
                .iter()
                .zip(values)
                .map(|(m, v)| (m.name.to_owned(), *v))
                .collect(),
        }
    }

    /// Reads `line` as a line of this set: an EMF document by the specification
    /// ([`EmfDocument::parse`]) with one directive in [`NAMESPACE`], one dimension set of
    /// exactly this set's dimensions, each with a declared value, and exactly this set's
    /// metrics with their units. For tests and tools that read the logs.
    pub fn read(&self, line: &str) -> Result<EmfDocument, EmfError> {
        let document = EmfDocument::parse(line)?;
        let wrong = |what: String| Err(EmfError(format!("not a {} line: {what}", self.function)));
        let [directive] = document.directives.as_slice() else {
            return wrong(format!("{} directives", document.directives.len()));
        };
        if directive.namespace != NAMESPACE {
            return wrong(format!("namespace {}", directive.namespace));
        }
        let keys: Vec<&str> = self.dimensions.iter().map(|d| d.name).collect();
        if directive.dimensions != [keys.clone()] {
            return wrong(format!("dimension sets {:?}", directive.dimensions));
        }
        for dimension in self.dimensions {
            let value = document
                .dimension_values
                .get(dimension.name)
                .map(String::as_str);
            if !value.is_some_and(|v| dimension.values().contains(&v)) {
                return wrong(format!("{} = {value:?}", dimension.name));
            }
        }
        let declared: Vec<MetricDefinition> = self
            .metrics
            .iter()
            .map(|m| MetricDefinition {
                name: m.name.to_owned(),
                unit: Some(m.unit.as_str().to_owned()),
            })
            .collect();
        if directive.metrics != declared {
            return wrong(format!("metrics {:?}", directive.metrics));
        }
        Ok(document)
    }
}

// ------------------------------------------------------------------------- dimensions

/// How events reached the ingest function.
pub const SOURCE: Dimension = Dimension {
    name: "Source",
    values: DimensionValues::Fixed(&[Source::Direct.as_str(), Source::Sqs.as_str()]),
    meaning: "how the events came: `direct` (an invoke) or `sqs` (the ingest queue)",
};

/// Which route a query request took.
pub const ROUTE: Dimension = Dimension {
    name: "Route",
    values: DimensionValues::OperationsOf(Function::Query),
    meaning: "the route's OpenAPI operation id (`listEvents`, `getEvent`, `listEventTypes`, `listCategories`)",
};

// ------------------------------------------------------------------------- ingest

/// Events in the invocation.
pub const EVENTS_RECEIVED: Metric = Metric {
    name: "EventsReceived",
    unit: Unit::Count,
    meaning:
        "events in the invocation (an SQS message whose body is no event nor batch counts as one)",
};
/// Events stored now.
pub const EVENTS_STORED: Metric = Metric {
    name: "EventsStored",
    unit: Unit::Count,
    meaning: "events stored by this invocation",
};
/// Events stored before, unchanged.
pub const EVENTS_DUPLICATE: Metric = Metric {
    name: "EventsDuplicate",
    unit: Unit::Count,
    meaning:
        "events already stored with the same content (a retry): acknowledged, not stored again",
};
/// Events whose id holds other content.
pub const EVENTS_CONFLICT: Metric = Metric {
    name: "EventsConflict",
    unit: Unit::Count,
    meaning: "events whose id is already stored with different content: not stored",
};
/// Invalid events.
pub const EVENTS_REJECTED: Metric = Metric {
    name: "EventsRejected",
    unit: Unit::Count,
    meaning: "events that broke a rule of the contract (and SQS message bodies of no known shape): not stored",
};
/// Events not stored in time.
pub const EVENTS_FAILED: Metric = Metric {
    name: "EventsFailed",
    unit: Unit::Count,
    meaning:
        "valid events that could not be stored before the deadline (the sender or SQS retries them)",
};

/// The ingest function's metrics, one line per invocation.
pub const INGEST: MetricSet = MetricSet {
    function: "IngestFunction",
    per: "invocation",
    dimensions: &[SOURCE],
    metrics: &[
        EVENTS_RECEIVED,
        EVENTS_STORED,
        EVENTS_DUPLICATE,
        EVENTS_CONFLICT,
        EVENTS_REJECTED,
        EVENTS_FAILED,
    ],
};

/// How events reached the ingest function, the value of [`SOURCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A direct invoke.
    Direct,
    /// An SQS event from the ingest queue.
    Sqs,
}

impl Source {
    /// The dimension value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Direct => "direct",
            Source::Sqs => "sqs",
        }
    }
}

/// The line of one ingest invocation. `refused` counts SQS message bodies of no known shape,
/// each one received and rejected event.
pub fn ingest_document(
    source: Source,
    totals: &IngestTotals,
    refused: usize,
    at: Timestamp,
) -> EmfDocument {
    let count = |n: usize| n as f64;
    INGEST.document(
        at,
        &[source.as_str()],
        &[
            count(totals.received + refused),
            count(totals.stored),
            count(totals.duplicate),
            count(totals.conflict),
            count(totals.rejected + refused),
            count(totals.failed),
        ],
    )
}

// ------------------------------------------------------------------------- query

/// Items DynamoDB read for the request.
pub const ITEMS_READ: Metric = Metric {
    name: "ItemsRead",
    unit: Unit::Count,
    meaning: "items DynamoDB read for the request, before filtering (what the read budget counts)",
};
/// Items in the answer.
pub const ITEMS_RETURNED: Metric = Metric {
    name: "ItemsReturned",
    unit: Unit::Count,
    meaning: "events in the answer",
};
/// Read capacity consumed.
pub const READ_UNITS: Metric = Metric {
    name: "ReadCapacityUnits",
    unit: Unit::Count,
    meaning: "read capacity units DynamoDB reported for the request",
};
/// Whether the page stopped short.
pub const PARTIAL_PAGE: Metric = Metric {
    name: "PartialPage",
    unit: Unit::Count,
    meaning: "1 when a listing stopped short of its page size with a `nextToken` (read budget or deadline), else 0; its average is the share of partial pages",
};

/// The query function's metrics, one line per request to one of its routes.
pub const QUERY: MetricSet = MetricSet {
    function: "QueryFunction",
    per: "request",
    dimensions: &[ROUTE],
    metrics: &[ITEMS_READ, ITEMS_RETURNED, READ_UNITS, PARTIAL_PAGE],
};

/// What one query request read and answered.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueryFigures {
    /// Items DynamoDB read.
    pub items_read: u64,
    /// Events answered.
    pub items_returned: u64,
    /// Read capacity units consumed.
    pub read_units: f64,
    /// Whether the page stopped short of its size with more to come.
    pub partial: bool,
}

/// The line of one query request to the route of `operation_id` (a value of [`ROUTE`]).
pub fn query_document(operation_id: &str, figures: &QueryFigures, at: Timestamp) -> EmfDocument {
    QUERY.document(
        at,
        &[operation_id],
        &[
            figures.items_read as f64,
            figures.items_returned as f64,
            figures.read_units,
            if figures.partial { 1.0 } else { 0.0 },
        ],
    )
}

// ------------------------------------------------------------------------- sealer

/// Buckets sealed by the run.
pub const BUCKETS_SEALED: Metric = Metric {
    name: "BucketsSealed",
    unit: Unit::Count,
    meaning: "buckets the run sealed (appended to their tenant's log with a signed checkpoint)",
};
/// Events in the buckets sealed by the run.
pub const EVENTS_SEALED: Metric = Metric {
    name: "EventsSealed",
    unit: Unit::Count,
    meaning: "events in the buckets the run sealed",
};
/// Age of the oldest bucket still unsealed.
pub const OLDEST_UNSEALED_AGE: Metric = Metric {
    name: "OldestUnsealedBucketAge",
    unit: Unit::Seconds,
    meaning: "seconds since the oldest bucket still unsealed after the run closed (0 when none waits): the sealing lag",
};

/// The sealer's metrics, one line per run, without dimensions.
pub const SEALER: MetricSet = MetricSet {
    function: "SealerFunction",
    per: "run",
    dimensions: &[],
    metrics: &[BUCKETS_SEALED, EVENTS_SEALED, OLDEST_UNSEALED_AGE],
};

/// What one sealer run did, and how far sealing lags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SealerRun {
    /// Buckets sealed by the run.
    pub buckets_sealed: u64,
    /// Events in them.
    pub events_sealed: u64,
    /// Time since the oldest bucket still unsealed closed; `None` when none waits.
    pub oldest_unsealed_age: Option<Duration>,
}

/// The line of one sealer run.
pub fn sealer_document(run: &SealerRun, at: Timestamp) -> EmfDocument {
    SEALER.document(
        at,
        &[],
        &[
            run.buckets_sealed as f64,
            run.events_sealed as f64,
            run.oldest_unsealed_age.map_or(0, |age| age.as_secs()) as f64,
        ],
    )
}

/// Writes the line of one sealer run to `sink`: what the sealer calls at the end of each
/// run, with its context's sink and clock.
pub fn emit_sealer_run(sink: &dyn MetricsSink, run: &SealerRun, at: Timestamp) {
    emit(sink, &sealer_document(run, at));
}

// ------------------------------------------------------------------------- all

/// Every function's metric set.
pub const METRIC_SETS: &[MetricSet] = &[INGEST, QUERY, SEALER];

/// The set and declaration of the metric named `name`, when the service writes one.
pub fn find(name: &str) -> Option<(&'static MetricSet, &'static Metric)> {
    METRIC_SETS.iter().find_map(|set| {
        set.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| (set, m))
    })
}

/// Writes `document` to `sink` as one line.
pub fn emit(sink: &dyn MetricsSink, document: &EmfDocument) {
    sink.write_line(&document.to_line());
}

#[cfg(test)]
mod tests;
