//! The driver's settings, read once from the environment (listed in `main.rs`).

use std::path::PathBuf;
use std::time::Duration;

use audit_bench::report::SectionId;
use audit_shared::config::{Config, Retention};

use crate::Result;

/// What to measure, how often, and where things are.
pub struct Settings {
    pub endpoint: Option<String>,
    pub sizes: Vec<u64>,
    pub shards: Vec<u16>,
    pub reps: usize,
    pub scan_reps: usize,
    pub scan_budget: Option<Duration>,
    pub full_scan_max: u64,
    pub deep_page: u32,
    pub ingest_events: u64,
    pub cold_runs: usize,
    pub adversarial_sizes: Vec<u64>,
    pub adversarial_reps: usize,
    pub ledger_reps: usize,
    pub cost_events: usize,
    pub cost_reps: usize,
    pub bin_dir: Option<PathBuf>,
    pub lambda_dir: Option<PathBuf>,
    pub criterion_dir: Option<PathBuf>,
    pub skip: Vec<String>,
    pub out: PathBuf,
    pub note: Option<String>,
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
    /// The settings of the environment; a malformed value names its variable.
    pub fn from_env() -> Result<Self> {
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
            adversarial_sizes: env_list("BENCH_ADVERSARIAL_SIZES", "100000,1000000")?,
            adversarial_reps: env_one("BENCH_ADVERSARIAL_REPS", 5)?,
            ledger_reps: env_one("BENCH_LEDGER_REPS", 3)?,
            cost_events: env_one("BENCH_COST_EVENTS", 20_000)?,
            cost_reps: env_one("BENCH_COST_REPS", 20)?,
            bin_dir: path("BENCH_BIN_DIR"),
            lambda_dir: path("BENCH_LAMBDA_DIR"),
            criterion_dir: path("BENCH_CRITERION_DIR"),
            skip: env_list("BENCH_SKIP", "")?,
            out: path("BENCH_OUT").unwrap_or_else(|| PathBuf::from("docs/PERFORMANCE.md")),
            note: std::env::var("BENCH_NOTE").ok().filter(|s| !s.is_empty()),
        })
    }

    /// Whether this run measures `section` (`BENCH_SKIP` does not name it).
    pub fn runs(&self, section: SectionId) -> bool {
        !self.skip.iter().any(|s| s == section.key())
    }

    /// The configuration of a client of the local engine for `table`.
    pub fn client_config(&self, table: &str, shards: u16) -> Result<Config> {
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
