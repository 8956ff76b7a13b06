//! The declarations hold together, and each set's lines are EMF documents of that set.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use super::*;

fn at() -> Timestamp {
    Timestamp::parse_rfc3339("at", "2024-03-01T12:00:00.250Z").unwrap()
}

#[test]
fn metric_names_are_unique_and_every_set_is_small() {
    let names: Vec<&str> = METRIC_SETS
        .iter()
        .flat_map(|s| s.metrics.iter().map(|m| m.name))
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // What the module documents as the bill: one metric per name and dimension value.
    let metrics: usize = METRIC_SETS
        .iter()
        .map(|s| {
            s.metrics.len()
                * s.dimensions
                    .iter()
                    .map(|d| d.values().len())
                    .product::<usize>()
        })
        .sum();
    assert_eq!(metrics, 51);
    for set in METRIC_SETS {
        assert!(set.dimensions.len() <= 1, "{}", set.function);
    }
}

#[test]
fn the_route_dimension_takes_the_query_functions_operation_ids() {
    assert_eq!(
        ROUTE.values(),
        [
            "listEvents",
            "getEvent",
            "listEventTypes",
            "listCategories",
            "getEventProof",
            "readFeed",
            "listCheckpoints",
            "listLedgerEntries",
            "getLedgerKeys"
        ]
    );
    assert_eq!(SOURCE.values(), ["direct", "sqs"]);
}

#[test]
fn an_ingest_line_is_an_emf_document_with_the_source_and_every_count() {
    let totals = IngestTotals {
        received: 7,
        stored: 2,
        duplicate: 1,
        conflict: 1,
        rejected: 2,
        failed: 1,
    };
    let line = ingest_document(Source::Sqs, &totals, 1, at()).to_line();
    let document = INGEST.read(&line).unwrap();
    assert_eq!(document.timestamp_ms, at().millis());
    assert_eq!(document.dimension_values["Source"], "sqs");
    let values: Vec<f64> = INGEST
        .metrics
        .iter()
        .map(|m| document.values[m.name])
        .collect();
    // The refused message body is one more received and rejected event.
    assert_eq!(values, [8.0, 2.0, 1.0, 1.0, 3.0, 1.0]);
}

#[test]
fn a_query_line_carries_the_route_and_the_partial_flag() {
    let figures = QueryFigures {
        items_read: 2000,
        items_returned: 3,
        read_units: 12.5,
        partial: true,
    };
    let line = query_document("listEvents", &figures, at()).to_line();
    let document = QUERY.read(&line).unwrap();
    assert_eq!(document.dimension_values["Route"], "listEvents");
    assert_eq!(document.values["ItemsRead"], 2000.0);
    assert_eq!(document.values["ItemsReturned"], 3.0);
    assert_eq!(document.values["ReadCapacityUnits"], 12.5);
    assert_eq!(document.values["PartialPage"], 1.0);
    let whole = query_document("getEvent", &QueryFigures::default(), at()).to_line();
    assert_eq!(QUERY.read(&whole).unwrap().values["PartialPage"], 0.0);
}

#[test]
fn a_sealer_run_writes_one_line_without_dimensions() {
    let sink = MemorySink::default();
    let run = SealerRun {
        buckets_sealed: 3,
        events_sealed: 120,
        oldest_unsealed_age: Some(Duration::from_millis(301_900)),
    };
    emit_sealer_run(&sink, &run, at());
    let lines = sink.take();
    assert_eq!(lines.len(), 1);
    let document = SEALER.read(&lines[0]).unwrap();
    assert_eq!(
        document.directives[0].dimensions,
        vec![Vec::<String>::new()]
    );
    assert!(document.dimension_values.is_empty());
    assert_eq!(document.values["BucketsSealed"], 3.0);
    assert_eq!(document.values["EventsSealed"], 120.0);
    assert_eq!(document.values["OldestUnsealedBucketAge"], 301.0);
    assert_eq!(
        document.directives[0].metrics[2].unit.as_deref(),
        Some("Seconds")
    );

    emit_sealer_run(&sink, &SealerRun::default(), at());
    let idle = SEALER.read(&sink.take()[0]).unwrap();
    assert_eq!(idle.values["OldestUnsealedBucketAge"], 0.0, "none waits");
}

#[test]
fn a_line_of_another_set_or_with_an_undeclared_value_is_refused() {
    let ingest = ingest_document(Source::Direct, &IngestTotals::default(), 0, at()).to_line();
    assert!(QUERY.read(&ingest).is_err());
    assert!(INGEST.read(&ingest).is_ok());
    let unknown_route = query_document("deleteEvents", &QueryFigures::default(), at()).to_line();
    let error = QUERY.read(&unknown_route).unwrap_err();
    assert!(error.0.contains("Route"), "{error}");
    let other_namespace = ingest.replace("\"AuditLog\"", "\"Other\"");
    assert!(INGEST
        .read(&other_namespace)
        .unwrap_err()
        .0
        .contains("namespace"));
}

#[test]
fn every_declared_metric_is_found_by_name() {
    for set in METRIC_SETS {
        for metric in set.metrics {
            let (found_set, found) = find(metric.name).unwrap();
            assert_eq!((found_set.function, found), (set.function, metric));
        }
    }
    assert!(find("Errors").is_none());
}

#[test]
fn docs_operations_md_lists_every_metric_with_its_unit_and_meaning() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for set in METRIC_SETS {
        for m in set.metrics {
            let row = format!("| `{}` | {} | {} |", m.name, m.unit.as_str(), m.meaning);
            assert!(doc.contains(&row), "docs/operations.md lacks the row {row}");
        }
    }
    assert!(doc.contains(&format!("**`{NAMESPACE}`**")));
}
