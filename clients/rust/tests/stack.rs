//! The client against the local stack (`tests/e2e/run.sh` starts it and runs these with
//! `--ignored`): the gateway's Lambda Invoke API in front of the ingest function's binary
//! under the runtime emulator, on DynamoDB Local. Real parts only; the one wrapper, which
//! loses an answer after the request really reached the stack, stands for a network.
//!
//! Environment (set by run.sh): `E2E_INVOKE_URL`, `E2E_HTTP_URL`, `E2E_ENGINE_PID` (the
//! engine's java process, stalled with SIGSTOP) and `E2E_INGEST_TIMEOUT` (seconds).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audit_client::{
    async_trait, AuditClient, Batch, ClientConfig, EventBuilder, InvokeTransport, Limits, Outcome,
    Transport, TransportError, INVOKE_MAX_BYTES, INVOKE_MAX_EVENTS,
};
use audit_shared::config::Config;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run this through tests/e2e/run.sh"))
}

async fn lambda() -> aws_sdk_lambda::Client {
    let url = env("E2E_INVOKE_URL");
    let config = Config::from_lookup(|name| match name {
        "AUDIT_TABLE_NAME" => Some("unused".to_owned()),
        // The SDK configuration's endpoint: the local Invoke API.
        "AUDIT_DYNAMODB_ENDPOINT" => Some(url.clone()),
        "AWS_REGION" => Some("us-east-1".to_owned()),
        _ => None,
    })
    .unwrap();
    let sdk = audit_shared::store::sdk_config(&config).await.unwrap();
    let timeout = Duration::from_secs(env("E2E_INGEST_TIMEOUT").parse::<u64>().unwrap() + 30);
    let lambda = aws_sdk_lambda::config::Builder::from(&sdk)
        .timeout_config(
            aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(timeout)
                .build(),
        )
        .build();
    aws_sdk_lambda::Client::from_conf(lambda)
}

fn transport_of(client: aws_sdk_lambda::Client) -> InvokeTransport {
    InvokeTransport::new(client, "IngestFunction")
}

/// Counts what really went through the transport: requests, events and body sizes.
struct Counting<T> {
    inner: T,
    requests: AtomicU64,
    events: AtomicU64,
    /// Per request: body bytes, events, and the position of its first event in `size-<n>`
    /// ids (`usize::MAX` for other ids).
    sizes: Mutex<Vec<(usize, usize, usize)>>,
}

impl<T> Counting<T> {
    fn new(inner: T) -> Arc<Self> {
        Arc::new(Self {
            inner,
            requests: AtomicU64::new(0),
            events: AtomicU64::new(0),
            sizes: Mutex::default(),
        })
    }
}

struct Handle<T>(Arc<Counting<T>>);

#[async_trait]
impl<T: Transport> Transport for Handle<T> {
    fn limits(&self) -> Limits {
        self.0.inner.limits()
    }
    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        self.0
            .events
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        let first = batch.event_ids[0]
            .strip_prefix("size-")
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        self.0
            .sizes
            .lock()
            .unwrap()
            .push((batch.body.len(), batch.len(), first));
        self.0.inner.send(batch).await
    }
}

/// Every event id of `tenant` through the query API, page after page, repetitions kept;
/// `page_size` keeps a page of large events under the function's 6 MB answer.
async fn read_ids(tenant: &str, page_size: usize) -> Vec<String> {
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.x",
        enc(json!({"alg": "none"})),
        enc(json!({"tenantId": tenant}))
    );
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let base = env("E2E_HTTP_URL");
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..200 {
        let mut uri = format!("{base}/api/Audit?pageSize={page_size}&rangeStart=2020-01-01");
        if let Some(token) = &next {
            uri.push_str(&format!("&nextToken={token}"));
        }
        let request = http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        let page: Value = serde_json::from_slice(&body).unwrap();
        for item in page["items"].as_array().unwrap() {
            ids.push(item["eventId"].as_str().unwrap().to_owned());
        }
        if page["hasMore"] != json!(true) {
            return ids;
        }
        next = page["nextToken"].as_str().map(str::to_owned);
    }
    panic!("more than 200 pages");
}

fn tenant(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// SIGSTOP/SIGCONT the engine; resumes it when dropped, whatever the test's outcome.
struct Stall(String);

impl Stall {
    fn start() -> Self {
        let pid = env("E2E_ENGINE_PID");
        assert!(std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success());
        Self(pid)
    }
}

impl Drop for Stall {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0])
            .status();
    }
}

const EVENTS: usize = 20_000;
const BURST: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: tests/e2e/run.sh runs it"]
async fn twenty_thousand_events_in_bursts_through_an_engine_stall_are_each_stored_once() {
    let tenant = tenant("client-rs");
    let timeout = env("E2E_INGEST_TIMEOUT").parse::<u64>().unwrap();
    let counting = Counting::new(transport_of(lambda().await));
    let config = ClientConfig {
        flush_interval: Duration::from_millis(200),
        max_attempts: 12,
        backoff_base: Duration::from_millis(250),
        backoff_max: Duration::from_secs(4),
        ..ClientConfig::default()
    };
    let client = Arc::new(AuditClient::new(Handle(Arc::clone(&counting)), config));
    let started = Instant::now();

    // Stall the engine once, longer than the ingest timeout, after some events are in.
    let stalled = Arc::new(AtomicBool::new(false));
    let staller = {
        let (client, stalled) = (Arc::clone(&client), Arc::clone(&stalled));
        tokio::spawn(async move {
            while client.counters().sent < 3_000 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let stall = Stall::start();
            stalled.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(timeout + 2)).await;
            drop(stall);
        })
    };

    let mut sent_ids = BTreeSet::new();
    for burst in 0..EVENTS / BURST {
        for n in 0..BURST {
            // No eventId: the client gives each a ULID that its retries keep.
            let event = EventBuilder::new(
                &tenant,
                ["LoginSuccess", "101", "FlowManualRun", "AlertClear"][n % 4],
            )
            .unwrap()
            .actor_id(format!("user-{}", n % 17))
            .description(format!("burst {burst} event {n}"))
            .build();
            sent_ids.insert(client.send(event).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    staller.await.unwrap();
    let client = Arc::try_unwrap(client).expect("the staller is done");
    let report = client.shutdown().await;
    let elapsed = started.elapsed();
    assert!(stalled.load(Ordering::SeqCst));

    let c = report.counters;
    let through = counting.events.load(Ordering::SeqCst);
    eprintln!(
        "rust client: {c:?}; {through} event sends in {} requests; {elapsed:?}",
        counting.requests.load(Ordering::SeqCst)
    );
    assert!(
        report.problems.is_empty(),
        "{:?}",
        &report.problems[..report.problems.len().min(3)]
    );
    assert_eq!(sent_ids.len(), EVENTS);
    assert_eq!(
        (c.sent, c.rejected, c.conflicting, c.failed),
        (EVENTS as u64, 0, 0, 0)
    );
    assert_eq!(c.stored + c.duplicate, EVENTS as u64);
    assert!(
        c.retried > 0,
        "the stall outlasted the ingest timeout: some events were retried"
    );
    assert_eq!(
        through,
        EVENTS as u64 + c.retried,
        "every send is a first send or a counted retry"
    );
    assert_eq!(c.requests, counting.requests.load(Ordering::SeqCst));

    let ids = read_ids(&tenant, 1000).await;
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), EVENTS, "each event readable exactly once");
    assert_eq!(distinct, sent_ids);
}

/// Sends for real, then loses the first answer of every batch, as a dropped connection
/// would after the function stored the events.
struct LoseFirstAnswer {
    inner: InvokeTransport,
    lost: Mutex<HashMap<String, bool>>,
}

#[async_trait]
impl Transport for LoseFirstAnswer {
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
        let answer = self.inner.send(batch).await;
        let first = self
            .lost
            .lock()
            .unwrap()
            .insert(batch.event_ids[0].clone(), true)
            .is_none();
        if first {
            assert!(answer.is_ok(), "{answer:?}");
            return Err(TransportError::Retryable(
                "answer lost on the way back".into(),
            ));
        }
        answer
    }
}

#[tokio::test]
#[ignore = "needs the local stack: tests/e2e/run.sh runs it"]
async fn an_event_without_id_retried_after_a_lost_answer_is_stored_once() {
    let tenant = tenant("client-rs-lost");
    let transport = LoseFirstAnswer {
        inner: transport_of(lambda().await),
        lost: Mutex::default(),
    };
    let client = AuditClient::new(
        transport,
        ClientConfig {
            backoff_base: Duration::from_millis(10),
            ..Default::default()
        },
    );
    let mut ids = BTreeSet::new();
    for n in 0..50 {
        let event = EventBuilder::new(&tenant, "Logout")
            .unwrap()
            .actor_id(format!("u-{n}"))
            .build();
        assert!(event.event_id.is_none());
        ids.insert(client.send(event).await.unwrap());
    }
    let c = client.shutdown().await.counters;
    assert_eq!(
        (c.sent, c.stored, c.duplicate, c.retried, c.failed),
        (50, 0, 50, 50, 0)
    );
    let read = read_ids(&tenant, 1000).await;
    assert_eq!(read.len(), 50, "stored once each");
    assert_eq!(read.into_iter().collect::<BTreeSet<_>>(), ids);
}

#[tokio::test]
#[ignore = "needs the local stack: tests/e2e/run.sh runs it"]
async fn mixed_sizes_up_to_the_largest_event_fill_each_invoke_to_its_limit_and_never_over() {
    let tenant = tenant("client-rs-sizes");
    let counting = Counting::new(transport_of(lambda().await));
    let client = AuditClient::new(
        Handle(Arc::clone(&counting)),
        ClientConfig {
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    );
    // Metadata values of 2,048 characters (the most a value may hold): up to 30 of them
    // make an event of about 62 KB, near the 64 KiB an event may be once stored.
    let value = "v".repeat(2_048);
    let mut sizes = Vec::new();
    for n in 0..600usize {
        let keys = [0, 1, 30, 4, 15, 30, 0, 8][n % 8];
        let mut builder = EventBuilder::new(&tenant, "ReportDownload")
            .unwrap()
            .actor_id("u-1")
            .event_id(format!("size-{n}"));
        for k in 0..keys {
            builder = builder.metadata(format!("k{k}"), value.clone());
        }
        let event = builder.build();
        sizes.push(serde_json::to_vec(&event).unwrap().len());
        client.send(event).await.unwrap();
    }
    let report = client.shutdown().await;
    assert_eq!(report.counters.sent, 600, "{:?}", report.problems.first());

    // Every request, retries of events the deadline cut off included, within the limit.
    let all = counting.sizes.lock().unwrap().clone();
    assert!(all.iter().all(|(bytes, _, _)| *bytes <= INVOKE_MAX_BYTES));
    // The first sends, in event order, against the greedy packing of the same sizes under
    // 6 MB / 1,000 (a retry resends a subset; its events were packed already).
    // A retry is recorded after the send it repeats, whose events it covers.
    let mut covered = BTreeSet::new();
    let mut made: Vec<(usize, usize, usize)> = Vec::new();
    for (bytes, n, first) in all {
        if !covered.contains(&first) {
            covered.extend(first..first + n);
            made.push((bytes, n, first));
        }
    }
    made.sort_by_key(|(_, _, first)| *first);
    let made: Vec<(usize, usize)> = made.into_iter().map(|(b, n, _)| (b, n)).collect();
    let mut expected = Vec::new();
    let (mut n, mut bytes) = (0usize, 0usize);
    for len in &sizes {
        if n > 0
            && (n == INVOKE_MAX_EVENTS || Limits::body_bytes(n + 1, bytes + len) > INVOKE_MAX_BYTES)
        {
            expected.push(n);
            (n, bytes) = (0, 0);
        }
        n += 1;
        bytes += len;
    }
    expected.push(n);
    eprintln!(
        "largest event {} bytes; requests (bytes, events): {made:?}",
        sizes.iter().max().unwrap()
    );
    assert_eq!(made.iter().map(|(_, n)| *n).collect::<Vec<_>>(), expected);
    let mut first = 0;
    for (bytes, count) in &made[..made.len() - 1] {
        first += count;
        assert!(
            bytes + 1 + sizes[first] > INVOKE_MAX_BYTES,
            "a request had room for the next event"
        );
    }
    assert_eq!(read_ids(&tenant, 50).await.len(), 600);
}
