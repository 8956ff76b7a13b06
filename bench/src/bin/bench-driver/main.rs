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
//! - `BENCH_ADVERSARIAL_SIZES` (`100000,1000000`: the skewed tables of section 6, each at
//!   every `BENCH_SHARDS`), `BENCH_ADVERSARIAL_REPS` (5 timed first pages after 1 warm-up);
//! - `BENCH_LEDGER_REPS` (3: section 7's sealer reps, each a fresh table sealing a bucket of
//!   100 then one of 10,000);
//! - `BENCH_COST_EVENTS` (20000: sample events in each of section 8's read tables),
//!   `BENCH_COST_REPS` (20 timed first pages per request and variant after 1 warm-up);
//! - `BENCH_BIN_DIR`: host release binaries `ingest`, `query`, `swagger`, `bench-hello`;
//! - `BENCH_LAMBDA_DIR`: `make build` output, `<function>/bootstrap`;
//! - `BENCH_CRITERION_DIR`: criterion's output of `cargo bench -p audit-bench`;
//! - `BENCH_SKIP`: sections to leave out (`query,ingest,cold,size,cpu,adversarial,ledger,cost`);
//! - `BENCH_OUT` (`docs/PERFORMANCE.md`), `BENCH_NOTE` (a line about how the run was made).
//!
//! One module per section ([`query`], [`ingest`], [`cold_start`], [`size`], [`cpu`],
//! [`adversarial`], [`ledger`], [`cost`]), each adding its text and its targets to the report; [`document`]
//! writes the document, keeping what this run did not measure (`audit_bench::report`).

mod adversarial;
mod answer;
mod cold_start;
mod cost;
mod cpu;
mod document;
mod ingest;
mod ledger;
mod query;
mod settings;
mod size;
mod tables;

use audit_bench::report::{Report, SectionId};

use crate::settings::Settings;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

/// The functions whose Lambda packages are measured.
const FUNCTIONS: [&str; 4] = ["ingest", "query", "swagger", "sealer"];
/// The functions whose cold start is measured: not the sealer, which in AWS calls KMS
/// (GetPublicKey) while it builds its context, before its first request for an invocation,
/// and the local Runtime API harness answers no such call.
const COLD_FUNCTIONS: [&str; 3] = ["ingest", "query", "swagger"];

fn log(message: impl AsRef<str>) {
    eprintln!("bench: {}", message.as_ref());
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = Settings::from_env()?;
    // Read before anything is written: what this run does not measure is kept from it.
    let writer = document::Writer::new(&settings);
    let mut report = Report::default();
    // The query section runs last: its 1M tables and Scans are the longest part and the one
    // that strains the engine, and the document is rewritten after every section, so that a
    // failure late in a long run keeps what was measured before it.
    if settings.runs(SectionId::Ingest) {
        ingest::section(&settings, &mut report).await?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::ColdStart) {
        cold_start::section(&settings, &mut report)?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::PackageSize) {
        size::section(&settings, &mut report)?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::HandlerCpu) {
        cpu::section(&settings, &mut report)?;
        writer.write(&settings, &report)?;
    }
    // Before the query section, which strains the engine most; its 1M tables are long to
    // write too, so it is written as soon as it is measured.
    if settings.runs(SectionId::Adversarial) {
        adversarial::section(&settings, &mut report).await?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::Ledger) {
        ledger::section(&settings, &mut report).await?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::Cost) {
        cost::section(&settings, &mut report).await?;
        writer.write(&settings, &report)?;
    }
    if settings.runs(SectionId::Query) {
        query::section(&settings, &mut report).await?;
    }
    let document = writer.write(&settings, &report)?;
    println!("{document}");
    log(format!("wrote {}", settings.out.display()));
    Ok(())
}
