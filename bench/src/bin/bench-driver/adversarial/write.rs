//! The text and targets of section 6, from its figures.

use std::fmt::Write as _;
use std::time::Duration;

use audit_bench::report::{Report, SectionId};
use audit_bench::size_label;
use audit_shared::limits::READ_BUDGET_DEFAULT;

use super::layouts::{LayoutFigures, WriteCost, LAYOUT_EVENTS};
use super::{Asker, Row, ADVERSARIES, FIRST_PAGE_SIZE, WALK_CAP, WALK_PAGE_SIZE, WARMUP};
use crate::settings::Settings;
use crate::tables::BATCH_CONCURRENCY;

/// The scoped caller's requests whose first page is a target (unfiltered, `category=100`).
const SCOPED_TARGETS: [&str; 2] = ["", "category=100"];

fn request_label(query: &str) -> String {
    if query.is_empty() {
        "no filter".to_owned()
    } else {
        format!("`{query}`")
    }
}

/// Writes section 6 from its figures, and checks its targets.
pub(super) fn section(
    settings: &Settings,
    report: &mut Report,
    rows: &[Row],
    seeding: &[(u64, u16, Duration)],
    layouts: &LayoutFigures,
) {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::Adversarial.heading());
    let _ = writeln!(
        s,
        "The requests of issue 12 that read without bound before the read budget and the \
         organization indexes, on tables of one skewed tenant (`skewed_event_json` in \
         `bench/src/lib.rs`): a busy system actor `svc-busy` behind 40% of events and never \
         in category 100, organization `org-rare` on 1% of events and `org-tiny` on 0.05%, \
         the rest over three organizations and none, failures on 0.5%, event type 601 on 15%, \
         over one year. Requests go through `query::handle` with the default settings (read \
         budget {READ_BUDGET_DEFAULT} items, deadline 10 s), by a tenant-wide caller or one \
         whose token carries `organizationIds` `[org-rare]`.\n"
    );
    let _ = writeln!(
        s,
        "First page: `pageSize={FIRST_PAGE_SIZE}`; items read from `Server-Timing`; p50 of {} \
         timed requests after {WARMUP} warm-up. Walk: from the first page to the end by \
         `nextToken` at `pageSize={WALK_PAGE_SIZE}` (without `pageNumber`: the walk covers the \
         whole result), stopped after {WALK_CAP} answers (`> {WALK_CAP}`); \"short\" counts \
         answers that held fewer than a page while `hasMore` was true (the budget or the \
         deadline stopped them). Plan and streams are the planner's (`Plan::describe`, \
         partitions x shards).\n",
        settings.adversarial_reps
    );
    let _ = writeln!(
        s,
        "| events | shards | caller | request | plan | streams | status | first page: items read | returned | p50 ms | walk: answers | short | worst items read | returned | s |"
    );
    let _ = writeln!(
        s,
        "|---:|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let adversary = &ADVERSARIES[r.adversary];
        let (plan, streams) = match &r.plan {
            Some((plan, streams)) => (format!("`{plan}`"), streams.to_string()),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let status = match &r.first.problem {
            Some(named) => format!("{} naming `{named}`", r.first.status),
            None => r.first.status.to_string(),
        };
        let walk = match &r.walk {
            Some(w) => format!(
                "{}{} | {} | {} | {} | {:.1}",
                if w.complete { "" } else { "> " },
                if w.complete { w.answers } else { WALK_CAP },
                w.short,
                w.worst_read,
                w.returned,
                w.seconds
            ),
            None => "- | - | - | - | -".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {plan} | {streams} | {status} | {} | {} | {:.1} | {walk} |",
            size_label(r.size),
            r.shards,
            adversary.asker.label(),
            request_label(adversary.query),
            r.first.items_read,
            r.first.returned,
            r.first_latency.p50,
        );
    }
    let _ = writeln!(
        s,
        "\nWriting the skewed tables (BatchWriteItem, {BATCH_CONCURRENCY} in flight, eight \
         indexes):\n"
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

    write_layouts(&mut s, layouts);
    report.section(SectionId::Adversarial, s);
    targets(settings, report, rows);
}

/// An index's stored bytes: the engine's figure, or when the engine reports the table's
/// size for it, its items times the table's bytes per item.
fn index_bytes(w: &WriteCost, engine_bytes: i64, items: i64, estimated: bool) -> f64 {
    if estimated {
        items as f64 * w.table_bytes as f64 / w.table_items.max(1) as f64
    } else {
        engine_bytes as f64
    }
}

/// The options of the organization scope (docs/adr/0009-organization-scope.md).
fn write_layouts(s: &mut String, layouts: &LayoutFigures) {
    // DynamoDB Local answers IndexSizeBytes with the table's size, whatever the index holds.
    let estimated = layouts
        .writes
        .iter()
        .all(|w| w.index_bytes.iter().all(|(_, b, _)| *b == w.table_bytes));
    let bytes_rule = if estimated {
        "DynamoDB Local reports every index's `IndexSizeBytes` equal to the table's \
         `TableSizeBytes` whatever the index holds (engine column of the second table; its \
         `ItemCount` per index is right), so an index's bytes are estimated as the items it \
         holds times the table's bytes per item"
    } else {
        "an index's bytes are its `IndexSizeBytes`"
    };
    let _ = writeln!(
        s,
        "\n### Options for the organization scope, per table layout\n\n\
         Three layouts: (1) before issue 12, the five indexes `byTime`, `byCategory`, \
         `byEventType`, `byActor`, `byTarget`, the scope a condition on tenant-wide reads; \
         (2) the chosen one, those five plus `byOrganization`, `byOrganizationCategory` and \
         `byFailure`; (3) one organization index, the five plus `byOrganizationCategory` and \
         `byFailure` (a scoped unfiltered page merges every category's partition of the \
         organization).\n\n\
         **Write and storage cost per event.** The same {LAYOUT_EVENTS} skewed events written \
         into a table of each layout, one PutItem each with `ReturnConsumedCapacity=INDEXES` \
         (items carry only the key attributes of the layout's indexes; a sparse index holds \
         and costs only the events with its key); bytes from DescribeTable, divided by the \
         events written: {bytes_rule}. AWS also bills a fixed overhead per stored item of \
         table and index alike, not counted here.\n"
    );
    let _ = writeln!(
        s,
        "| layout | write units / event | of which table | of which indexes | table bytes / event | index bytes / event | total bytes / event |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for w in &layouts.writes {
        let n = w.events as f64;
        let index_units: f64 = w.indexes.iter().map(|(_, u)| u).sum();
        let all_index_bytes: f64 = w
            .index_bytes
            .iter()
            .map(|(_, b, items)| index_bytes(w, *b, *items, estimated))
            .sum();
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} |",
            w.layout.label(),
            w.total / n,
            w.table / n,
            index_units / n,
            w.table_bytes as f64 / n,
            all_index_bytes / n,
            (w.table_bytes as f64 + all_index_bytes) / n,
        );
    }
    let _ = writeln!(s, "\nPer index:\n");
    let _ = writeln!(
        s,
        "| layout | index | items | write units / event | bytes / event | engine's IndexSizeBytes / event |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for w in &layouts.writes {
        let n = w.events as f64;
        for (name, units) in &w.indexes {
            let (bytes, items) = w
                .index_bytes
                .iter()
                .find(|(i, ..)| i == name)
                .map_or((0, 0), |(_, b, c)| (*b, *c));
            let _ = writeln!(
                s,
                "| {} | `{name}` | {items} | {:.2} | {:.0} | {:.0} |",
                w.layout.label(),
                units / n,
                index_bytes(w, bytes, items, estimated) / n,
                bytes as f64 / n
            );
        }
    }
    let Some(first) = layouts.reads.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "\n**First-page reads per layout**, on the {} skewed tables above: each layout's plan \
         (1: the tenant-wide plan, the scope a condition; 2: `Plan::new`; 3: for a scoped \
         caller, `byOrganizationCategory` for every category of the catalog) run by \
         `read_merged_within` on the DynamoDB store, `pageSize={FIRST_PAGE_SIZE}`, **without \
         the read budget**, so that each figure is what a full first page costs (the query \
         function would stop at {READ_BUDGET_DEFAULT} items read and answer a partial page). \
         A tenant-wide caller has the same plan in every layout.\n",
        size_label(first.size)
    );
    let _ = writeln!(
        s,
        "| layout | shards | caller | request | plan | streams | items read | returned | requests | RCU |"
    );
    let _ = writeln!(s, "|---|---:|---|---|---|---:|---:|---:|---:|---:|");
    for r in &layouts.reads {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | `{}` | {} | {} | {} | {} | {:.1} |",
            r.layout.label(),
            r.shards,
            r.asker.label(),
            request_label(r.query),
            r.plan,
            r.streams,
            r.items_read,
            r.returned,
            r.requests,
            r.rcu
        );
    }
}

fn targets(settings: &Settings, report: &mut Report, rows: &[Row]) {
    // Every answer, first pages and walks, within the read budget.
    let worst = rows
        .iter()
        .flat_map(|r| {
            let first = (r.first.items_read, r, "first page");
            let walk = r.walk.as_ref().map(|w| (w.worst_read, r, "walk"));
            std::iter::once(first).chain(walk)
        })
        .max_by_key(|(read, ..)| *read);
    if let Some((read, r, what)) = worst {
        report.target(
            SectionId::Adversarial,
            format!(
                "every answer reads at most the read budget ({READ_BUDGET_DEFAULT}): first \
                 pages and walks, every request, size and shard count"
            ),
            format!(
                "worst {read} ({what} of {} by the {} caller at {}, {} shard(s))",
                request_label(ADVERSARIES[r.adversary].query),
                ADVERSARIES[r.adversary].asker.label(),
                size_label(r.size),
                r.shards
            ),
            read <= READ_BUDGET_DEFAULT,
        );
    }
    // The scoped caller's first page at 4 shards reads about a page.
    if !settings.shards.contains(&4) {
        return;
    }
    for query in SCOPED_TARGETS {
        let mut worst: Option<(f64, String)> = None;
        let mut met = true;
        for r in rows.iter().filter(|r| {
            r.shards == 4
                && matches!(ADVERSARIES[r.adversary].asker, Asker::Scoped(_))
                && ADVERSARIES[r.adversary].query == query
        }) {
            let streams = r.plan.as_ref().map_or(0, |(_, n)| *n);
            let bound = 1.3 * r.first.returned as f64 + 2.0 * streams as f64;
            let read = r.first.items_read as f64;
            met &= read <= bound && r.first.status == 200;
            let x = read / bound.max(1.0);
            if worst.as_ref().is_none_or(|(w, _)| x > *w) {
                worst = Some((
                    x,
                    format!(
                        "worst at {}: {} read for {} returned, {streams} streams (bound {bound:.0})",
                        size_label(r.size),
                        r.first.items_read,
                        r.first.returned
                    ),
                ));
            }
        }
        if let Some((_, measured)) = worst {
            report.target(
                SectionId::Adversarial,
                format!(
                    "caller scoped to the 1% organization, {}, first page at 4 shards: items \
                     read <= 1.3 x returned + 2 per stream, every size",
                    request_label(query)
                ),
                measured,
                met,
            );
        }
    }
}
