//! The baseline of section 1: a Scan with a FilterExpression equivalent to a request,
//! the naive way to answer it without an index.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use audit_bench::{Latency, TENANT};
use audit_shared::api::parse_list_query;
use audit_shared::keys;
use audit_shared::query::Filters;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;

use crate::{log, Result};

/// The Scan baseline of one request on one table.
pub(super) struct ScanRow {
    pub(super) size: u64,
    pub(super) example: usize,
    pub(super) items_read: u64,
    pub(super) rcu: f64,
    pub(super) matches: usize,
    pub(super) complete: bool,
    pub(super) error: Option<String>,
    pub(super) latency: Latency,
}

/// What one Scan read and found.
pub(super) struct ScanOutcome {
    pub(super) items_read: u64,
    pub(super) rcu: f64,
    pub(super) matches: usize,
    pub(super) ms: f64,
    /// False when the time budget or an error stopped the Scan before it had a page of matches.
    pub(super) complete: bool,
    /// The engine's error code, when a request failed.
    pub(super) error: Option<String>,
}

/// The naive way: a Scan of the table with a FilterExpression equivalent to the filters,
/// page after page until `wanted` items match (or the table ends).
pub(super) async fn scan_with_filter(
    client: &Client,
    table: &str,
    filters: &Filters,
    now_seconds: i64,
    wanted: Option<usize>,
    budget: Option<Duration>,
) -> Result<ScanOutcome> {
    let (lower, upper) = filters.sort_key_range();
    let mut names = HashMap::from([
        ("#tenant".to_owned(), keys::field::TENANT_ID.to_owned()),
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
            keys::field::EVENT_TYPE,
            filters.event_types.iter().map(|c| c.0).collect(),
        )
    } else {
        (
            keys::field::CATEGORY,
            filters.categories.iter().map(|c| c.0).collect(),
        )
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

/// The filters and page size of a request's query string.
pub(super) fn filters_of(raw_query: &str) -> Result<(Filters, usize)> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let query = parse_list_query(&pairs).map_err(|e| format!("{raw_query}: {:?}", e.0))?;
    Ok((query.filters, query.paging.page_size as usize))
}
