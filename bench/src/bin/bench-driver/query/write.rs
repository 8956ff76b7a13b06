//! The text and targets of section 1, from its figures.

use std::fmt::Write as _;
use std::time::Duration;

use audit_bench::report::{Report, SectionId};
use audit_bench::{ratio, size_label, EXAMPLES};

use super::scan::{ScanOutcome, ScanRow};
use super::{QueryRow, WARMUP};
use crate::settings::Settings;
use crate::tables::BATCH_CONCURRENCY;

/// Writes section 1 from its figures, and checks its targets.
pub(super) fn section(
    settings: &Settings,
    report: &mut Report,
    rows: &[QueryRow],
    scans: &[ScanRow],
    full_scans: &[(u64, ScanOutcome)],
    seeding: &[(u64, u16, Duration)],
) {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::Query.heading());
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
    report.section(SectionId::Query, s);

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
                SectionId::Query,
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
                SectionId::Query,
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
