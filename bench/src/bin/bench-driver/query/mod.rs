//! Section 1, query cost and latency against table size: the reference requests timed on
//! tables of every size side by side (first page and a deep page reached by `nextToken`),
//! beside the Scan baseline ([`scan`]); [`write`] turns the figures into the section.

mod scan;
mod write;

use audit_bench::report::Report;
use audit_bench::{list_request, with_next_token, Latency, EXAMPLES, TENANT};
use audit_shared::domain::Timestamp;
use audit_shared::store::{dynamo_client, DynamoStore};
use aws_sdk_dynamodb::Client;
use query::QueryContext;

use self::scan::{filters_of, scan_with_filter, ScanRow};
use crate::settings::Settings;
use crate::tables::{drop_table, new_table, quiet_context, seed};
use crate::{log, Result};

/// Untimed calls of each request before the timed ones.
const WARMUP: usize = 5;

/// One answer of the query handler, reduced to what the tables show.
pub(super) struct Reply {
    pub(super) ms: f64,
    pub(super) returned: usize,
    pub(super) items_read: u64,
    pub(super) rcu: f64,
    pub(super) next_token: Option<String>,
}

async fn call(ctx: &QueryContext, raw_query: &str) -> Result<Reply> {
    let answer = crate::answer::call(ctx, &list_request(TENANT, raw_query)).await?;
    let figures = answer.read(&format!("GET /api/Audit?{raw_query}"))?;
    Ok(Reply {
        ms: answer.ms,
        returned: answer.returned(),
        items_read: figures.items,
        rcu: figures.rcu,
        next_token: answer.next_token(),
    })
}

/// The figures of one request on one table.
pub(super) struct QueryRow {
    pub(super) size: u64,
    pub(super) shards: u16,
    pub(super) example: usize,
    pub(super) first: Reply,
    pub(super) first_latency: Latency,
    pub(super) deep: Option<(u32, Reply, Latency)>,
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

/// Measures the section and adds it, with its targets, to `report`.
pub async fn section(settings: &Settings, report: &mut Report) -> Result<()> {
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
            let ctx = quiet_context(store);
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
        drop_table(&table.client, &table.name).await;
    }
    write::section(settings, report, &rows, &scans, &full_scans, &seeding);
    Ok(())
}
