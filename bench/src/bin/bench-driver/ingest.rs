//! Section 2, ingest throughput: the ingest handler against one PutItem at a time and
//! against raw BatchWriteItem (the engine's ceiling), on the same events.
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_bench::report::{Report, SectionId};
use audit_bench::{events_json, TENANT};
use audit_shared::config::Retention;
use audit_shared::domain::Timestamp;
use audit_shared::store::{create_table, dynamo_client, DynamoStore, EventWriter, PutOutcome};
use audit_shared::table::TableDefinition;

use crate::settings::Settings;
use crate::tables::{
    count_items, new_table, parse_events, send_batches, write_batches, BATCH_CONCURRENCY,
};
use crate::{log, BoxError, Result};

/// The data set of the ingest section (the query tables use another).
const INGEST_SEED: u64 = 2;
/// Events per ingest invocation: the largest batch a direct invoke takes.
const INGEST_BATCH: usize = audit_shared::limits::MAX_BATCH_EVENTS;

/// Measures the section and adds it, with its targets, to `report`.
pub async fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let n = settings.ingest_events;
    let shards = 4;
    let now = Timestamp::now();
    let values = events_json(TENANT, INGEST_SEED, 0..n);
    let mut results: Vec<(&str, f64, String)> = Vec::new();

    // 1. The ingest handler, in batches of the largest size a direct invoke takes.
    let table = "bench-ingest-handler";
    let client = dynamo_client(&settings.client_config(table, shards)?).await?;
    new_table(&client, table).await?;
    // The handler marks each (tenant, minute) pending in the ledger table before writing
    // the events, as in AWS: that write is part of what is measured.
    let ledger = format!("{table}-ledger");
    let _ = client.delete_table().table_name(&ledger).send().await;
    create_table(&client, &ledger, &TableDefinition::ledger()).await?;
    let store = DynamoStore::new(client.clone(), table, shards).with_ledger_table(ledger);
    // Each invocation's metric line is built (its cost is in the figures) and dropped.
    let ctx = ingest::IngestContext {
        metrics: audit_shared::metrics::discard(),
        ..ingest::IngestContext::new(Arc::new(store), Retention::default())
    };
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
    let _ = writeln!(s, "{}\n", SectionId::Ingest.heading());
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
    report.section(SectionId::Ingest, s);
    report.target(
        SectionId::Ingest,
        "ingest handler >= 5 x one PutItem at a time",
        format!("{vs_one:.1}x"),
        vs_one >= 5.0,
    );
    report.target(
        SectionId::Ingest,
        "ingest handler as close as possible to the BatchWriteItem ceiling (reported)",
        format!("{:.0}% of the ceiling", vs_batch * 100.0),
        true,
    );
    Ok(())
}
