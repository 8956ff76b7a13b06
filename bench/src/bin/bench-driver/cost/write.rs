//! The text and targets of section 8, from its figures.

use std::fmt::Write as _;

use audit_bench::prices::{self, TableClass, UnitCosts, Workload, CLASSES};
use audit_bench::report::{Report, SectionId};
use audit_bench::{percentile, ratio, ITEM_OVERHEAD_BYTES};
use audit_shared::table::{Projection, TableDefinition};

use super::{
    Corpus, Figures, ReadFigures, Variant, WriteFigures, FILTER_ATTRIBUTES, PAGE_SIZE,
    PUTS_IN_FLIGHT, REQUESTS, SHARDS, WARMUP,
};
use crate::Result;

/// The workload the costs are stated for.
const WORKLOAD: Workload = Workload {
    events_per_day: 1e6,
    pages_per_day: 1e4,
};
/// Retentions priced, in years.
const RETENTIONS: [u32; 2] = [1, 7];
/// The targets, chosen against today.
const MAX_STORED_X_ITEM: f64 = 3.0;
const MAX_P50_X_TODAY: f64 = 1.5;
const MAX_RCU_X_TODAY: f64 = 5.0;

impl WriteFigures {
    fn n(&self) -> f64 {
        self.events as f64
    }

    /// Computed bytes per event in the indexes, without and with the per-item overhead.
    fn index_bytes_per_event(&self) -> (f64, f64) {
        let bytes: u64 = self.index_bytes.iter().map(|(_, _, b)| b).sum();
        let entries: u64 = self.index_bytes.iter().map(|(_, e, _)| e).sum();
        (
            bytes as f64 / self.n(),
            (bytes + entries * ITEM_OVERHEAD_BYTES) as f64 / self.n(),
        )
    }

    /// Computed bytes per event of the item, without and with the per-item overhead.
    fn item_bytes_per_event(&self) -> (f64, f64) {
        let item = self.item_bytes as f64 / self.n();
        (item, item + ITEM_OVERHEAD_BYTES as f64)
    }

    /// Stored bytes per event, table and indexes, without and with the overheads.
    fn stored_bytes_per_event(&self) -> (f64, f64) {
        let (item, item_o) = self.item_bytes_per_event();
        let (index, index_o) = self.index_bytes_per_event();
        (item + index, item_o + index_o)
    }

    /// Stored bytes over the base item, without and with the overheads.
    fn stored_x_item(&self) -> (f64, f64) {
        let (item, item_o) = self.item_bytes_per_event();
        let (stored, stored_o) = self.stored_bytes_per_event();
        (ratio(stored, item), ratio(stored_o, item_o))
    }
}

fn find_write(f: &Figures, corpus: Corpus, variant: Variant) -> Option<&WriteFigures> {
    f.writes
        .iter()
        .find(|w| w.corpus == corpus && w.variant == variant)
}

fn find_read(f: &Figures, request: usize, variant: Variant) -> Option<&ReadFigures> {
    f.reads
        .iter()
        .find(|r| r.request == request && r.variant == variant)
}

fn p50(r: &ReadFigures) -> f64 {
    percentile(&r.ms, 50.0)
}

/// Read units per first page, averaged over the requests.
fn mean_rcu(f: &Figures, variant: Variant) -> f64 {
    let rcu: Vec<f64> = f
        .reads
        .iter()
        .filter(|r| r.variant == variant)
        .map(|r| r.reply.rcu)
        .collect();
    rcu.iter().sum::<f64>() / rcu.len().max(1) as f64
}

fn unit_costs(f: &Figures, variant: Variant) -> Option<UnitCosts> {
    let w = find_write(f, Corpus::Sample, variant)?;
    Some(UnitCosts {
        write_units_per_event: w.units / w.n(),
        table_bytes_per_event: w.item_bytes_per_event().1,
        stored_bytes_per_event: w.stored_bytes_per_event().1,
        read_units_per_page: mean_rcu(f, variant),
    })
}

/// Each query index's projection in `definition`, e.g. `byTime` INCLUDE [expiresAt].
fn describe_projections(definition: &TableDefinition) -> String {
    definition
        .indexes
        .iter()
        .filter(|i| i.name != audit_shared::keys::BY_RECORDED.name)
        .map(|i| match i.projection {
            Projection::Include(names) => {
                format!("`{}` INCLUDE [{}]", i.name, names.join(", "))
            }
            other => format!("`{}` {}", i.name, other.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes section 8 from its figures, and checks its targets.
pub(super) fn section(report: &mut Report, f: &Figures) -> Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::Cost.heading());
    let _ = writeln!(
        s,
        "What an event costs to write, keep and read with each choice of projection for the \
         query indexes (issue 16), four variants of the audit table side by side in one run \
         ({:.0} s), on DynamoDB Local, {SHARDS} shards: **today** every query index ALL (the \
         table before issue 16); **keys-only** every query index KEYS_ONLY; **include** every \
         query index INCLUDE [{}]; **chosen** `TableDefinition::audit()` ({}). \
         `byRecorded` is INCLUDE [leafHash] in all four.\n",
        f.seconds,
        FILTER_ATTRIBUTES.join(", "),
        describe_projections(&TableDefinition::audit())
    );
    write_units(&mut s, f);
    write_bytes(&mut s, f);
    write_reads(&mut s, f);
    write_prices(&mut s, f);
    report.section(SectionId::Cost, s);
    targets(report, f);
    Ok(())
}

fn write_units(s: &mut String, f: &Figures) {
    let _ = writeln!(
        s,
        "### A. Write units and stored bytes per event\n\n\
         Each corpus is written into a fresh table of each variant as the service stores \
         it (`DynamoStore::item_of`: attributes, keys, content and leaf hashes), one PutItem \
         per event with `ReturnConsumedCapacity=INDEXES` ({PUTS_IN_FLIGHT} in flight). \
         Write units are DynamoDB Local's `ConsumedCapacity`. Events \"<= 1 KB\" are those \
         whose item, computed as below, is at most 1,024 bytes.\n"
    );
    let _ = writeln!(
        s,
        "| corpus | variant | events | write units / event | of which table | of which indexes | events <= 1 KB | their write units / event |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
    for w in &f.writes {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            w.corpus.label(),
            w.variant.label(),
            w.events,
            w.units / w.n(),
            w.table_units / w.n(),
            (w.units - w.table_units) / w.n(),
            w.small_events,
            if w.small_events == 0 {
                "-".to_owned()
            } else {
                format!("{:.2}", w.small_units / w.small_events as f64)
            }
        );
    }
    for corpus in [Corpus::Sample, Corpus::LargeChanges] {
        let ws = per_variant(s, f, corpus, "Write units per event, per index", &["index"]);
        let _ = write!(s, "| table");
        for w in &ws {
            let _ = write!(s, " | {:.2}", w.table_units / w.n());
        }
        let _ = writeln!(s, " |");
        let names: Vec<&str> = ws
            .first()
            .map(|w| w.index_units.iter().map(|(n, _)| *n).collect())
            .unwrap_or_default();
        for name in names {
            let _ = write!(s, "| `{name}`");
            for w in &ws {
                let u = w
                    .index_units
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(0.0, |(_, u)| *u);
                let _ = write!(s, " | {:.2}", u / w.n());
            }
            let _ = writeln!(s, " |");
        }
        let _ = write!(s, "| **total**");
        for w in &ws {
            let _ = write!(s, " | **{:.2}**", w.units / w.n());
        }
        let _ = writeln!(s, " |");
    }
}

/// The title of a table of `corpus` with one column per variant after `first` columns,
/// and its header; answers the corpus's figures in the variants' order.
fn per_variant<'f>(
    s: &mut String,
    f: &'f Figures,
    corpus: Corpus,
    title: &str,
    first: &[&str],
) -> Vec<&'f WriteFigures> {
    let ws: Vec<&WriteFigures> = Variant::ALL
        .iter()
        .filter_map(|v| find_write(f, corpus, *v))
        .collect();
    let _ = writeln!(s, "\n{title}, {}:\n", corpus.label());
    let labels: Vec<&str> = ws.iter().map(|w| w.variant.label()).collect();
    let _ = writeln!(s, "| {} | {} |", first.join(" | "), labels.join(" | "));
    let _ = writeln!(
        s,
        "|---{}{}|",
        "|---:".repeat(first.len() - 1),
        "|---:".repeat(ws.len())
    );
    ws
}

fn write_bytes(s: &mut String, f: &Figures) {
    let engine_wrong = f.writes.iter().all(|w| w.engine_index_is_table);
    let _ = writeln!(
        s,
        "\n**Stored bytes.** {} So each index entry's size is computed from the item by \
         DynamoDB's rule for a global secondary index: the base table's key (`pk`), the \
         index's key attributes and the attributes it projects, each counted once \
         (`audit_bench::index_entry_bytes`); an item's size is the sum of its attribute \
         names and values (strings and binaries their length, numbers one byte per two \
         digits plus one, lists and maps 3 bytes plus 1 per element plus their contents; \
         `audit_bench::item_bytes`). AWS adds {ITEM_OVERHEAD_BYTES} bytes of overhead per \
         stored item, in the table and in each index: figures are given without it, and with \
         it in parentheses. The ratio is stored bytes (table and every index) over the base \
         item, without and (with) the overheads.\n",
        if engine_wrong {
            "DynamoDB Local reports every index's `IndexSizeBytes` equal to the table's \
             `TableSizeBytes`, whatever the index holds (checked again in this run)."
        } else {
            "DynamoDB Local's `IndexSizeBytes` is not used: it has reported the table's size \
             for every index."
        }
    );
    let _ = writeln!(
        s,
        "| corpus | variant | base item (computed) | engine `TableSizeBytes` / event | indexes | stored in all | stored / base item |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
    for w in &f.writes {
        let (item, item_o) = w.item_bytes_per_event();
        let (index, index_o) = w.index_bytes_per_event();
        let (stored, stored_o) = w.stored_bytes_per_event();
        let (x, x_o) = w.stored_x_item();
        let _ = writeln!(
            s,
            "| {} | {} | {item:.0} ({item_o:.0}) | {:.0} | {index:.0} ({index_o:.0}) | {stored:.0} ({stored_o:.0}) | {x:.2} x ({x_o:.2} x) |",
            w.corpus.label(),
            w.variant.label(),
            w.engine_table_bytes as f64 / w.n(),
        );
    }
    for corpus in [Corpus::Sample, Corpus::LargeChanges] {
        let ws = per_variant(
            s,
            f,
            corpus,
            "Bytes per event, per index (entries: events the index holds)",
            &["index", "entries"],
        );
        let _ = write!(
            s,
            "| table (the item) | {}",
            ws.first().map_or(0, |w| w.events)
        );
        for w in &ws {
            let (item, item_o) = w.item_bytes_per_event();
            let _ = write!(s, " | {item:.0} ({item_o:.0})");
        }
        let _ = writeln!(s, " |");
        let names: Vec<(&str, u64)> = ws
            .first()
            .map(|w| w.index_bytes.iter().map(|(n, e, _)| (*n, *e)).collect())
            .unwrap_or_default();
        for (name, entries) in names {
            let _ = write!(s, "| `{name}` | {entries}");
            for w in &ws {
                let (e, b) = w
                    .index_bytes
                    .iter()
                    .find(|(n, ..)| *n == name)
                    .map_or((0, 0), |(_, e, b)| (*e, *b));
                let _ = write!(
                    s,
                    " | {:.0} ({:.0})",
                    b as f64 / w.n(),
                    (b + e * ITEM_OVERHEAD_BYTES) as f64 / w.n()
                );
            }
            let _ = writeln!(s, " |");
        }
    }
}

fn write_reads(s: &mut String, f: &Figures) {
    let _ = writeln!(
        s,
        "\n### B. First pages\n\n\
         The same {} sample events (`audit_local::seed::generate`, one tenant) written into a \
         table of each variant; each request's first page (`pageSize={PAGE_SIZE}`) through \
         `query::handle` over `DynamoStore::with_definition(variant)`. Index items read, \
         events fetched by key (BatchGetItem) and read units from `Server-Timing`; requests \
         counted on the DynamoDB client; p50 of {} timed pages after {WARMUP} warm-up \
         round, the variants taking turns within each round (each round starting with the \
         next variant). Ratios are to today's figure for the same request. An index that \
         carries every condition of the request (the caller's visibility included) leaves \
         the fetch to the merge: the events of the merged page, and only those, are fetched \
         by key together (BatchGetItem, eventually consistent: half a unit per event, \
         rounded up to 4 KB). An index that does not carry one (keys-only: the expiry check \
         every caller's visibility makes) has each stream page's kept items fetched with \
         the page and the condition applied to the events.\n",
        thousands(f.read_events as f64),
        f.reps
    );
    let _ = writeln!(
        s,
        "| request | plan | variant | returned | index items read | events fetched | DynamoDB requests | read units | x today | p50 ms | x today |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, request) in REQUESTS.iter().enumerate() {
        let plan = request.plan().unwrap_or_else(|e| format!("{e}"));
        let today = find_read(f, i, Variant::Today);
        for variant in Variant::ALL {
            let Some(r) = find_read(f, i, variant) else {
                continue;
            };
            let (rcu_x, p50_x) = today.map_or((f64::NAN, f64::NAN), |t| {
                (ratio(r.reply.rcu, t.reply.rcu), ratio(p50(r), p50(t)))
            });
            let scope = if request.scope.is_empty() {
                String::new()
            } else {
                format!(" by a caller scoped to [{}]", request.scope.join(" "))
            };
            let query = if request.query.is_empty() {
                String::new()
            } else {
                format!(" `{}`", request.query)
            };
            let _ = writeln!(
                s,
                "| {}{query}{scope} | `{plan}` | {} | {} | {} | {} | {} | {:.1} | {rcu_x:.2} | {:.1} | {p50_x:.2} |",
                request.label,
                variant.label(),
                r.reply.returned,
                r.reply.items,
                r.reply.fetched,
                r.reply.requests,
                r.reply.rcu,
                p50(r),
            );
        }
    }
    let _ = writeln!(s, "\nOver the {} requests:\n", REQUESTS.len());
    let _ = writeln!(
        s,
        "| variant | mean read units / page | x today | median p50 ratio to today | worst p50 ratio to today | worst read-unit ratio to today |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let today_rcu = mean_rcu(f, Variant::Today);
    for variant in Variant::ALL {
        let (p50s, rcus) = ratios(f, variant);
        let mean = mean_rcu(f, variant);
        let _ = writeln!(
            s,
            "| {} | {mean:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            variant.label(),
            ratio(mean, today_rcu),
            percentile(&p50s, 50.0),
            p50s.iter().copied().fold(f64::NAN, f64::max),
            rcus.iter().copied().fold(f64::NAN, f64::max),
        );
    }
}

/// Per request, the variant's p50 and read units over today's.
fn ratios(f: &Figures, variant: Variant) -> (Vec<f64>, Vec<f64>) {
    (0..REQUESTS.len())
        .filter_map(|i| Some((find_read(f, i, variant)?, find_read(f, i, Variant::Today)?)))
        .map(|(r, t)| (ratio(p50(r), p50(t)), ratio(r.reply.rcu, t.reply.rcu)))
        .unzip()
}

fn money(x: f64) -> String {
    if x >= 100.0 {
        format!("${x:.0}")
    } else if x >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// `n` with a comma every three digits: `1,000,000`.
fn thousands(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn write_prices(s: &mut String, f: &Figures) {
    let _ = writeln!(
        s,
        "\n### C. Costs at the published on-demand prices\n\n\
         Prices of {} ({}), read on {}: Standard ${} per million write request units, ${} \
         per million read request units and ${} per GB-month; Standard-IA ${}, ${} and ${:.2} \
         for the same; point-in-time recovery ${:.2} per GB-month in both classes (constants in \
         `bench/src/prices.rs`). A GB is 2^30 bytes. Per event: the sample events' write \
         units and stored bytes (with the {ITEM_OVERHEAD_BYTES}-byte overheads) of part A; \
         point-in-time recovery is priced on the table's bytes (indexes are rebuilt on a \
         restore, not backed up). Per first page: part B's read units averaged over the {} \
         requests.\n",
        prices::SOURCE,
        prices::REGION,
        prices::READ_ON,
        prices::STANDARD.write_per_million,
        prices::STANDARD.read_per_million,
        prices::STANDARD.storage_per_gb_month,
        prices::STANDARD_IA.write_per_million,
        prices::STANDARD_IA.read_per_million,
        prices::STANDARD_IA.storage_per_gb_month,
        prices::PITR_PER_GB_MONTH,
        REQUESTS.len(),
    );
    let _ = writeln!(
        s,
        "| variant | class | $ per million events written | $ per million events kept a month (PITR included) | $ per thousand first pages |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|");
    let costs: Vec<(Variant, UnitCosts)> = Variant::ALL
        .iter()
        .filter_map(|v| Some((*v, unit_costs(f, *v)?)))
        .collect();
    for (variant, c) in &costs {
        for class in CLASSES {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                variant.label(),
                class.name,
                money(class.per_million_written(c)),
                money(class.per_million_kept_month(c)),
                money(class.per_thousand_pages(c)),
            );
        }
    }
    let _ = writeln!(
        s,
        "\n**Workload**: {} events written and {} first pages read a day, events kept \
         1 year, or 7 years. The monthly bill is that of the month ending the period (the \
         table then holds the whole retention); the total adds every month of the period \
         (storage growing from empty; each month stores what came before it and half of \
         its own).\n",
        thousands(WORKLOAD.events_per_day),
        thousands(WORKLOAD.pages_per_day)
    );
    let _ = write!(s, "| variant | class");
    for years in RETENTIONS {
        let _ = write!(
            s,
            " | kept {years} y: monthly bill at the end | kept {years} y: total over {years} y"
        );
    }
    let _ = writeln!(s, " |");
    let _ = writeln!(s, "|---|---{}|", "|---:".repeat(2 * RETENTIONS.len()));
    for (variant, c) in &costs {
        for class in CLASSES {
            let _ = write!(s, "| {} | {}", variant.label(), class.name);
            for years in RETENTIONS {
                let _ = write!(
                    s,
                    " | {} | {}",
                    money(class.monthly_bill_at(c, &WORKLOAD, years)),
                    money(class.total_over(c, &WORKLOAD, years))
                );
            }
            let _ = writeln!(s, " |");
        }
    }
    let _ = writeln!(
        s,
        "\n**Standard-IA or Standard.** Standard-IA's writes and reads cost more and its \
         storage less: past a retention its monthly bill is the lower one. Break-even \
         retention for this workload (the extra price of a month's writes and reads over the \
         storage saved per month of events kept):\n"
    );
    let _ = writeln!(
        s,
        "| variant | break-even retention | cheaper at 1 y | cheaper at 7 y |"
    );
    let _ = writeln!(s, "|---|---:|---|---|");
    for (variant, c) in &costs {
        let months = prices::infrequent_access_break_even_months(c, &WORKLOAD);
        let cheaper = |years: u32| -> &'static str {
            let bill = |class: &TableClass| class.monthly_bill_at(c, &WORKLOAD, years);
            if bill(&prices::STANDARD_IA) < bill(&prices::STANDARD) {
                prices::STANDARD_IA.name
            } else {
                prices::STANDARD.name
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            variant.label(),
            months.map_or("none".to_owned(), |m| format!(
                "{m:.1} months ({:.2} y)",
                m / 12.0
            )),
            cheaper(1),
            cheaper(7),
        );
    }
}

fn targets(report: &mut Report, f: &Figures) {
    let (Some(today), Some(chosen)) = (
        find_write(f, Corpus::Sample, Variant::Today),
        find_write(f, Corpus::Sample, Variant::Chosen),
    ) else {
        return;
    };
    let (x, x_o) = chosen.stored_x_item();
    let (today_x, today_x_o) = today.stored_x_item();
    report.target(
        SectionId::Cost,
        format!(
            "chosen projections: stored bytes per event (table and indexes, with AWS's \
             {ITEM_OVERHEAD_BYTES}-byte overhead per item) <= {MAX_STORED_X_ITEM} x the base \
             item, sample events"
        ),
        format!(
            "{x_o:.2} x ({x:.2} x without the overheads); today {today_x_o:.2} x ({today_x:.2} x)"
        ),
        x_o <= MAX_STORED_X_ITEM,
    );
    let per = |w: &WriteFigures| w.small_units / w.small_events.max(1) as f64;
    report.target(
        SectionId::Cost,
        "chosen projections: write units per event for events under 1 KB no higher than today",
        format!(
            "{:.2} (today {:.2}), {} sample events <= 1 KB",
            per(chosen),
            per(today),
            chosen.small_events
        ),
        chosen.small_events > 0 && per(chosen) <= per(today),
    );
    let (p50s, rcus) = ratios(f, Variant::Chosen);
    let worst = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    let worst_request = |v: &[f64]| {
        v.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or("-", |(i, _)| REQUESTS[i].label)
    };
    report.target(
        SectionId::Cost,
        format!("chosen projections: first-page p50 <= {MAX_P50_X_TODAY} x today's, every request"),
        format!(
            "worst {:.2} x ({}), median {:.2} x",
            worst(&p50s),
            worst_request(&p50s),
            percentile(&p50s, 50.0)
        ),
        !p50s.is_empty() && worst(&p50s) <= MAX_P50_X_TODAY,
    );
    report.target(
        SectionId::Cost,
        format!("chosen projections: read units per first page <= {MAX_RCU_X_TODAY} x today's, every request"),
        format!(
            "worst {:.2} x ({}); mean over the requests {:.2} x",
            worst(&rcus),
            worst_request(&rcus),
            ratio(mean_rcu(f, Variant::Chosen), mean_rcu(f, Variant::Today))
        ),
        !rcus.is_empty() && worst(&rcus) <= MAX_RCU_X_TODAY,
    );
}
