//! Section 6, adversarial requests and the organization indexes: the requests that read
//! without bound before the read budget and the organization indexes (issue 12), on tables
//! of a skewed tenant (`audit_bench::skewed_event_json`), for a tenant-wide caller and one
//! scoped to an organization: the first page, and a walk by `nextToken` to the end
//! ([`Walk`]). [`layouts`] measures the options of the organization scope's key design (its
//! ADR's figures); [`write`] turns the figures into the section.

mod layouts;
mod write;

use std::time::Instant;

use audit_bench::report::Report;
use audit_bench::{
    list_request, scoped_list_request, skewed_event_json, with_next_token, Latency, RARE_ORG,
    TENANT,
};
use audit_shared::api::parse_list_query;
use audit_shared::domain::Timestamp;
use audit_shared::query::{Filters, Plan};
use audit_shared::store::{dynamo_client, DynamoStore, OrganizationScope};
use aws_sdk_dynamodb::Client;
use query::QueryContext;
use serde_json::Value;

use crate::settings::Settings;
use crate::tables::{drop_table, new_table, quiet_context, seed_with};
use crate::{log, Result};

/// The data set of the skewed tables.
const SKEWED_SEED: u64 = 12;
/// Untimed calls of each first page before the timed ones.
const WARMUP: usize = 1;
/// Page size of the first pages.
const FIRST_PAGE_SIZE: u32 = 50;
/// Page size of the walks: the largest, the fewest answers.
const WALK_PAGE_SIZE: u32 = 1000;
/// A walk stops after this many answers (and reports "more than").
const WALK_CAP: usize = 400;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asker {
    /// A token without organizations: the whole tenant.
    TenantWide,
    /// A token scoped to these organizations (the `organizationIds` claim).
    Scoped(&'static [&'static str]),
}

impl Asker {
    pub(super) fn label(self) -> String {
        match self {
            Asker::TenantWide => "tenant-wide".to_owned(),
            Asker::Scoped(orgs) => format!("scoped to [{}]", orgs.join(" ")),
        }
    }

    /// The organizations the caller may see.
    pub(super) fn scope(self) -> OrganizationScope {
        match self {
            Asker::TenantWide => OrganizationScope::Any,
            Asker::Scoped(orgs) => {
                OrganizationScope::Only(orgs.iter().map(|o| (*o).to_owned()).collect())
            }
        }
    }

    fn request(self, raw_query: &str) -> Value {
        match self {
            Asker::TenantWide => list_request(TENANT, raw_query),
            Asker::Scoped(orgs) => scoped_list_request(TENANT, orgs, raw_query),
        }
    }
}

/// The organizations of the scoped caller.
pub(super) const RARE_SCOPE: &[&str] = &[RARE_ORG];

/// One adversarial request: who asks, and the query string (without `pageSize`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Adversary {
    pub(super) asker: Asker,
    pub(super) query: &'static str,
}

const fn wide(query: &'static str) -> Adversary {
    Adversary {
        asker: Asker::TenantWide,
        query,
    }
}

const fn scoped(query: &'static str) -> Adversary {
    Adversary {
        asker: Asker::Scoped(RARE_SCOPE),
        query,
    }
}

/// The requests, tenant-wide, then those of a caller scoped to the 1% organization.
/// Index 8 and 9 are the scoped caller's unfiltered and `category=100` pages (targets).
pub(super) const ADVERSARIES: [Adversary; 12] = [
    wide("organizationId=org-tiny"),
    wide("outcome=failure"),
    wide("category=600&outcome=failure"),
    wide("actorId=svc-busy&category=100"),
    wide("eventType=601&organizationId=org-rare"),
    wide("pageNumber=2000"),
    wide("pageNumber=20"),
    wide("category=600&pageNumber=20"),
    scoped(""),
    scoped("category=100"),
    scoped("eventType=601"),
    scoped("outcome=failure"),
];

/// The filters of a list query string (an error when the API would refuse it).
pub(super) fn filters_of(query: &str) -> Result<Filters> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    parse_list_query(&pairs)
        .map(|q| q.filters)
        .map_err(|e| format!("{query}: {e:?}").into())
}

/// `query` with `pairs` added (`query` may be empty).
fn with_pairs(query: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        out.append_pair(&k, &v);
    }
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// `query` without `pageNumber` (a walk covers the whole result), with `pageSize` `size`.
fn walk_query(query: &str, size: u32) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "pageNumber" && k != "pageSize" {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair("pageSize", &size.to_string());
    out.finish()
}

/// One answer of the query handler, reduced to what the tables show.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) ms: f64,
    pub(super) returned: usize,
    pub(super) items_read: u64,
    pub(super) next_token: Option<String>,
    /// On an error: the parameters it names (or its detail).
    pub(super) problem: Option<String>,
}

async fn call(ctx: &QueryContext, asker: Asker, raw_query: &str) -> Result<Answer> {
    let answer = crate::answer::call(ctx, &asker.request(raw_query)).await?;
    let (status, ms) = (answer.status, answer.ms);
    if status != 200 {
        let named: Vec<&str> = answer.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["parameter"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let problem = if named.is_empty() {
            answer.body["detail"]
                .as_str()
                .unwrap_or("no detail")
                .to_owned()
        } else {
            named.join(", ")
        };
        return Ok(Answer {
            status,
            ms,
            returned: 0,
            items_read: 0,
            next_token: None,
            problem: Some(problem),
        });
    }
    let figures = answer.read(&format!("GET /api/Audit?{raw_query}"))?;
    Ok(Answer {
        status,
        ms,
        returned: answer.returned(),
        items_read: figures.items,
        next_token: answer.next_token(),
        problem: None,
    })
}

/// A walk by `nextToken` over the whole result, at [`WALK_PAGE_SIZE`].
#[derive(Debug, Clone)]
pub(super) struct Walk {
    /// Answers received.
    pub(super) answers: usize,
    /// Whether the walk reached the end (otherwise it stopped at [`WALK_CAP`] answers).
    pub(super) complete: bool,
    /// The most items one answer read.
    pub(super) worst_read: u64,
    /// Items returned by all answers.
    pub(super) returned: u64,
    /// Answers that returned fewer than the page size while more followed.
    pub(super) short: usize,
    /// Seconds the walk took.
    pub(super) seconds: f64,
}

async fn walk(ctx: &QueryContext, asker: Asker, query: &str) -> Result<Walk> {
    let base = walk_query(query, WALK_PAGE_SIZE);
    let started = Instant::now();
    let mut walk = Walk {
        answers: 0,
        complete: false,
        worst_read: 0,
        returned: 0,
        short: 0,
        seconds: 0.0,
    };
    let mut token: Option<String> = None;
    while walk.answers < WALK_CAP {
        let q = match &token {
            None => base.clone(),
            Some(t) => with_next_token(&base, t),
        };
        let answer = call(ctx, asker, &q).await?;
        if answer.status != 200 {
            return Err(format!(
                "walk of {query}: GET /api/Audit?{q} answered {}: {}",
                answer.status,
                answer.problem.unwrap_or_default()
            )
            .into());
        }
        walk.answers += 1;
        walk.worst_read = walk.worst_read.max(answer.items_read);
        walk.returned += answer.returned as u64;
        token = answer.next_token;
        if token.is_some() && answer.returned < WALK_PAGE_SIZE as usize {
            walk.short += 1;
        }
        if token.is_none() {
            walk.complete = true;
            break;
        }
    }
    walk.seconds = started.elapsed().as_secs_f64();
    Ok(walk)
}

/// The figures of one request on one table.
pub(super) struct Row {
    pub(super) size: u64,
    pub(super) shards: u16,
    pub(super) adversary: usize,
    /// The planner's choice and its streams (none for a refused request).
    pub(super) plan: Option<(String, usize)>,
    pub(super) first: Answer,
    pub(super) first_latency: Latency,
    /// `None` when the first page was refused (nothing to walk).
    pub(super) walk: Option<Walk>,
}

/// One skewed table, kept until every measurement is done.
pub(super) struct SkewedTable {
    pub(super) size: u64,
    pub(super) shards: u16,
    pub(super) name: String,
    pub(super) store: DynamoStore,
    client: Client,
}

/// Measures the section and adds it, with its targets, to `report`.
pub async fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let now = Timestamp::now();
    let mut tables = Vec::new();
    let mut seeding = Vec::new();
    for &size in &settings.adversarial_sizes {
        for &shards in &settings.shards {
            let name = format!("bench-adversarial-{size}-s{shards}");
            let client = dynamo_client(&settings.client_config(&name, shards)?).await?;
            new_table(&client, &name).await?;
            let store = DynamoStore::new(client.clone(), name.clone(), shards);
            log(format!("writing {size} skewed events into {name}"));
            let took = seed_with(&store, size, now, |range| {
                range
                    .map(|i| skewed_event_json(TENANT, SKEWED_SEED, i))
                    .collect()
            })
            .await?;
            seeding.push((size, shards, took));
            tables.push(SkewedTable {
                size,
                shards,
                name,
                store,
                client,
            });
        }
    }

    let mut rows = Vec::new();
    for table in &tables {
        let ctx = quiet_context(table.store.clone());
        for (a, adversary) in ADVERSARIES.iter().enumerate() {
            let first_query = with_pairs(
                adversary.query,
                &[("pageSize", &FIRST_PAGE_SIZE.to_string())],
            );
            log(format!(
                "{}: {} GET /api/Audit?{first_query}",
                table.name,
                adversary.asker.label()
            ));
            for _ in 0..WARMUP {
                call(&ctx, adversary.asker, &first_query).await?;
            }
            let mut samples = Vec::with_capacity(settings.adversarial_reps);
            let mut last = None;
            for _ in 0..settings.adversarial_reps.max(1) {
                let answer = call(&ctx, adversary.asker, &first_query).await?;
                samples.push(answer.ms);
                last = Some(answer);
            }
            let first = last.ok_or("no answer")?;
            let walk = if first.status == 200 {
                Some(walk(&ctx, adversary.asker, adversary.query).await?)
            } else {
                None
            };
            let plan = filters_of(&first_query).ok().map(|filters| {
                let plan = Plan::new(&filters, &adversary.asker.scope(), table.shards);
                (
                    plan.describe(),
                    plan.sources.len() * usize::from(table.shards),
                )
            });
            rows.push(Row {
                size: table.size,
                shards: table.shards,
                adversary: a,
                plan,
                first,
                first_latency: Latency::of(&samples),
                walk,
            });
        }
    }

    let layouts = layouts::measure(settings, &tables, now).await?;

    for table in &tables {
        drop_table(&table.client, &table.name).await;
    }
    write::section(settings, report, &rows, &seeding, &layouts);
    Ok(())
}
