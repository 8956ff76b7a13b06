//! The local run: serves the query, swagger and ingest functions through the local gateway
//! on DynamoDB Local, after creating the tables and seeding sample events through the real
//! ingest handler, and runs the sealer every few seconds. Stops on Ctrl-C or SIGTERM.
//! `make dev` starts the engine and then this binary.
//!
//! With `--prepare-only` it creates the tables and seeds them, then exits without serving:
//! that readies a local engine for other runners of the functions (`sam local`).
//!
//! Environment (besides the functions' own: AUDIT_TABLE_NAME, AUDIT_DYNAMODB_ENDPOINT,
//! AWS_REGION, AUDIT_SHARDS, AUDIT_RETENTION_DAYS, AUDIT_TOKEN_KEY...):
//! - `LOCAL_HTTP_PORT` (3000): the HTTP API, like `sam local start-api`;
//! - `LOCAL_INVOKE_PORT` (3001): the Lambda Invoke API, like `sam local start-lambda`;
//! - `LOCAL_DEFAULT_TENANT` (`local`): the tenant of requests without a bearer token;
//! - `SEED` (5000): sample events to ingest for the default tenant at start, 0 for none;
//! - `LOCAL_RUNTIME` (`emulator`): `emulator` runs each function's own binary under AWS's
//!   Lambda Runtime Interface Emulator, `inprocess` calls the handlers in this process;
//! - `LOCAL_RIE`: the emulator program (`infra/scripts/rie.sh` prints the pinned SAM CLI's),
//!   required in `emulator` mode;
//! - `LOCAL_BOOTSTRAP_DIR` (this program's directory): where the `ingest`, `query` and
//!   `swagger` binaries are;
//! - `LOCAL_EMULATORS` (4): emulators (execution environments) per function;
//! - `LOCAL_INGEST_TIMEOUT` (the template's 60): the ingest function's timeout in seconds;
//! - `LOCAL_CORS_ALLOWED_ORIGINS` (empty: off): the template's `CorsAllowedOrigins`;
//! - `LOCAL_SEAL_INTERVAL` (3): seconds between runs of the sealer, 0 for none;
//! - `LOCAL_STATE_DIR` (`target/engine/ledger`): where the sealer's signing key file
//!   (created on first use) and anchor directory are, unless `AUDIT_SIGNING_KEY_FILE` and
//!   `AUDIT_ANCHOR_DIR` say otherwise; the sealer settles 3 s and rechecks after 15 s
//!   unless `AUDIT_SEAL_SETTLE_MS` and `AUDIT_SEAL_RECHECK_MS` say otherwise;
//! - `LOCAL_ASYNC_RETRIES` (2, the template's `MaximumRetryAttempts`) and
//!   `LOCAL_ASYNC_RETRY_DELAY` (60 s, Lambda's; doubled before each next retry): how an
//!   asynchronous invoke (`Event`) that failed is retried; one that fails every attempt is
//!   written to `<LOCAL_STATE_DIR>/dead-letters/` (the template's dead-letter queue).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_local::gateway::emulator::{EmulatorConfig, FunctionPool};
use audit_local::gateway::functions::{self, FunctionSpec};
use audit_local::gateway::runtime::{
    emulated_http, emulated_invoke, in_process_http, in_process_invoke,
};
use audit_local::gateway::sealing::{self, SealRun};
use audit_local::gateway::{serve, AsyncInvoke, Cors, Gateway, RuntimeMode};
use audit_local::seed;
use audit_shared::config::Config;
use audit_shared::metrics;
use audit_shared::store::{create_table, dynamo_client, DynamoStore};
use audit_shared::table::TableDefinition;
use ingest::{IngestAnswer, IngestContext};
use query::ledger::KeyFile;
use query::{LedgerContext, QueryConfig, QueryContext};
use serde_json::{json, Value};

/// How long seeding one batch may take.
const SEED_TIMEOUT: Duration = Duration::from_secs(60);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) if v.trim().is_empty() => Ok(default),
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("environment variable {name} is malformed: '{v}'")),
    }
}

struct Settings {
    /// Create the table and seed it, then exit.
    prepare_only: bool,
    http_port: u16,
    invoke_port: u16,
    default_tenant: String,
    seed: usize,
    runtime: RuntimeMode,
    emulators: usize,
    ingest_timeout: Duration,
    cors: Cors,
    seal_interval: Duration,
    state_dir: PathBuf,
    async_invoke: AsyncInvoke,
}

fn settings() -> Result<Settings, String> {
    let mut prepare_only = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--prepare-only" => prepare_only = true,
            other => return Err(format!("unknown argument '{other}' (only --prepare-only)")),
        }
    }
    let state_dir = PathBuf::from(env_or(
        "LOCAL_STATE_DIR",
        "target/engine/ledger".to_owned(),
    )?);
    Ok(Settings {
        prepare_only,
        http_port: env_or("LOCAL_HTTP_PORT", 3000)?,
        invoke_port: env_or("LOCAL_INVOKE_PORT", 3001)?,
        default_tenant: env_or("LOCAL_DEFAULT_TENANT", seed::LOCAL_TENANT.to_owned())?,
        seed: env_or("SEED", 5000)?,
        runtime: env_or("LOCAL_RUNTIME", "emulator".to_owned())?
            .parse()
            .map_err(|e| format!("environment variable LOCAL_RUNTIME: {e}"))?,
        emulators: env_or("LOCAL_EMULATORS", 4usize)?.max(1),
        ingest_timeout: Duration::from_secs(
            env_or("LOCAL_INGEST_TIMEOUT", functions::INGEST.timeout.as_secs())?.max(1),
        ),
        seal_interval: Duration::from_secs(env_or("LOCAL_SEAL_INTERVAL", 3u64)?),
        async_invoke: AsyncInvoke {
            retries: env_or("LOCAL_ASYNC_RETRIES", 2u32)?,
            first_delay: Duration::from_secs_f64(
                env_or("LOCAL_ASYNC_RETRY_DELAY", 60f64)?.max(0.0),
            ),
            dead_letters: Some(state_dir.join("dead-letters")),
        },
        state_dir,
        cors: Cors::parse(&std::env::var("LOCAL_CORS_ALLOWED_ORIGINS").unwrap_or_default())
            .map_err(|e| format!("environment variable LOCAL_CORS_ALLOWED_ORIGINS: {e}"))?,
    })
}

/// Where the emulator and the functions' binaries are (emulator mode).
fn emulator_config(per_function: usize) -> Result<EmulatorConfig, String> {
    let rie = std::env::var("LOCAL_RIE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
        .ok_or("LOCAL_RUNTIME=emulator needs LOCAL_RIE, the Lambda Runtime Interface Emulator of the pinned SAM CLI (infra/scripts/rie.sh prints its path), or use LOCAL_RUNTIME=inprocess")?;
    if !rie.is_file() {
        return Err(format!("LOCAL_RIE: {} is not a file", rie.display()));
    }
    let bootstrap_dir = match std::env::var("LOCAL_BOOTSTRAP_DIR") {
        Ok(dir) if !dir.trim().is_empty() => PathBuf::from(dir),
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .ok_or("cannot tell this program's directory; set LOCAL_BOOTSTRAP_DIR")?,
    };
    for spec in functions::FUNCTIONS {
        let binary = bootstrap_dir.join(spec.binary);
        if !binary.is_file() {
            return Err(format!(
                "the {} binary {} is missing: cargo build -p {} (or set LOCAL_BOOTSTRAP_DIR)",
                spec.name,
                binary.display(),
                spec.binary
            ));
        }
    }
    Ok(EmulatorConfig {
        rie,
        bootstrap_dir,
        per_function,
    })
}

/// What the feed tells a caught-up reader to wait locally: the local sealer settles 3 s
/// after a bucket ends and runs every few seconds.
const LOCAL_FEED_RETRY_SECONDS: &str = "5";

/// A variable of the functions' local environment: the gateway's own, or the sealer's
/// local default under `state_dir`, or the feed's local wait.
fn local_variable(name: &str, state_dir: &std::path::Path) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| sealing::local_default(name, state_dir))
        .or_else(|| {
            (name == query::config::ENV_FEED_RETRY_SECONDS)
                .then(|| LOCAL_FEED_RETRY_SECONDS.to_owned())
        })
}

/// Starts the emulators of one function, with the environment the template gives it.
async fn start_pool(
    spec: FunctionSpec,
    config: &EmulatorConfig,
    timeout: Duration,
    state_dir: &std::path::Path,
) -> Result<Arc<FunctionPool>, String> {
    let environment = spec.environment(|name| local_variable(name, state_dir), timeout);
    FunctionPool::start(spec, config, environment, timeout)
        .await
        .map_err(|e| e.to_string())
}

/// Resolves on Ctrl-C or SIGTERM (what `kill` and the test scripts send).
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Creates the table `name` from `definition` unless it exists.
async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    definition: &TableDefinition,
) -> Result<(), String> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    create_table(client, name, definition)
        .await
        .map_err(|e| format!("cannot create table {name}: {e}"))
}

/// Ingests the sample events in batches through the ingest handler, with a progress bar.
async fn seed_events(ctx: &IngestContext, tenant: &str, count: usize) -> Result<(), String> {
    let events = seed::generate(tenant, count, chrono::Utc::now());
    let started = Instant::now();
    let (mut stored, mut duplicates) = (0usize, 0usize);
    for (i, chunk) in events.chunks(250).enumerate() {
        let payload = json!({ "events": chunk });
        let answer = ingest::handle(ctx, payload, Instant::now() + SEED_TIMEOUT)
            .await
            .map_err(|e| format!("seeding failed: {e}"))?;
        let IngestAnswer::Direct(response) = answer else {
            return Err("seeding got an SQS answer to a batch".to_owned());
        };
        let totals = &response.totals;
        stored += totals.stored;
        duplicates += totals.duplicate;
        let failed = totals.rejected + totals.failed + totals.conflict;
        if failed > 0 {
            return Err(format!(
                "seeding: {failed} events of batch {i} were not stored: {totals:?}"
            ));
        }
        let done = (i * 250 + chunk.len()).min(count);
        let width = 30;
        let filled = done * width / count.max(1);
        eprint!(
            "\r  seeding [{}{}] {done}/{count} events",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let _ = std::io::stderr().flush();
    }
    eprintln!(
        "\r  seeded {count} events for tenant '{tenant}' ({stored} new, {duplicates} already there) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let settings = settings()?;
    let query_config =
        QueryConfig::from_lookup(|name| local_variable(name, settings.state_dir.as_path()))
            .map_err(|e| e.to_string())?;
    if config.endpoint_url.is_none() {
        return Err("AUDIT_DYNAMODB_ENDPOINT is not set: the local gateway only runs against a local engine".into());
    }
    let client = dynamo_client(&config).await.map_err(|e| e.to_string())?;
    let ledger_table = audit_shared::config::ledger_table_from_env().map_err(|e| e.to_string())?;
    ensure_table(&client, &config.table_name, &TableDefinition::audit()).await?;
    ensure_table(&client, &ledger_table, &TableDefinition::ledger()).await?;
    let store = DynamoStore::new(client, config.table_name.clone(), config.shards)
        .with_ledger_table(ledger_table.clone());
    // The handlers write each invocation's and request's metric line to standard output,
    // as in Lambda, so that the log shows them.
    let ingest_ctx = Arc::new(IngestContext::new(
        Arc::new(store.clone()),
        config.retention.clone(),
    ));
    // Seeding is not a function's invocation: its batches write no metric line.
    let seed_ctx = IngestContext {
        metrics: metrics::discard(),
        ..IngestContext::clone(&ingest_ctx)
    };
    if settings.prepare_only {
        if settings.seed > 0 {
            seed_events(&seed_ctx, &settings.default_tenant, settings.seed).await?;
        }
        println!("table {} is ready", config.table_name);
        return Ok(());
    }
    let state = settings.state_dir.as_path();
    // The key the sealer signs with, created now rather than by the sealer's first run,
    // so that the query function can serve the verifier key from the start.
    let origin = local_variable("AUDIT_LEDGER_ORIGIN", state)
        .filter(|o| !o.trim().is_empty())
        .unwrap_or_else(|| audit_ledger::DEFAULT_ORIGIN_PREFIX.to_owned());
    let key_file = local_variable("AUDIT_SIGNING_KEY_FILE", state)
        .map(std::path::PathBuf::from)
        .ok_or("no signing key file")?;
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    audit_ledger::Ed25519Signer::load_or_generate(&key_file, &origin).map_err(|e| e.to_string())?;
    let ledger = LedgerContext {
        reader: Arc::new(store.clone()),
        keys: Arc::new(KeyFile::new(&key_file)),
        origin_prefix: origin,
    };
    let (gateway, pools, seal_run) = match settings.runtime {
        RuntimeMode::InProcess => {
            let sealer_config =
                sealer::SealerConfig::from_lookup(|name| local_variable(name, state))
                    .map_err(|e| e.to_string())?;
            let sealer_ctx = sealer::SealerContext::build(&config, &ledger_table, &sealer_config)
                .await
                .map_err(|e| e.to_string())?;
            (
                in_process_gateway(&settings, store, &query_config, &ingest_ctx, ledger)?,
                Vec::new(),
                sealing::in_process(Arc::new(sealer_ctx)),
            )
        }
        RuntimeMode::Emulator => {
            let config = emulator_config(settings.emulators)?;
            // One sealer at a time, as its reserved concurrency of 1 makes it in AWS.
            let one = EmulatorConfig {
                per_function: 1,
                ..config.clone()
            };
            let (ingest, query, swagger, sealer) = tokio::try_join!(
                start_pool(functions::INGEST, &config, settings.ingest_timeout, state),
                start_pool(functions::QUERY, &config, functions::QUERY.timeout, state),
                start_pool(
                    functions::SWAGGER,
                    &config,
                    functions::SWAGGER.timeout,
                    state
                ),
                start_pool(functions::SEALER, &one, functions::SEALER.timeout, state),
            )?;
            let gateway = Gateway {
                query: emulated_http(Arc::clone(&query)),
                swagger: emulated_http(Arc::clone(&swagger)),
                ingest: emulated_invoke(Arc::clone(&ingest)),
                default_tenant: settings.default_tenant.clone(),
                cors: settings.cors.clone(),
                async_invoke: settings.async_invoke.clone(),
            };
            let seal_run: SealRun = sealing::emulated(emulated_invoke(Arc::clone(&sealer)));
            (gateway, vec![ingest, query, swagger, sealer], seal_run)
        }
    };
    let sealing_task = (!settings.seal_interval.is_zero())
        .then(|| tokio::spawn(sealing::every(seal_run, settings.seal_interval)));

    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.http_port));
    let invoke = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.invoke_port));
    let server = tokio::spawn(serve(gateway, http, invoke, stop_signal()));
    // Let a bind failure surface before seeding.
    tokio::time::sleep(Duration::from_millis(100)).await;
    if server.is_finished() {
        return match server.await {
            Ok(Err(e)) => Err(format!("cannot listen on {http} and {invoke}: {e}")),
            _ => Err("the gateway stopped at start".into()),
        };
    }
    if settings.seed > 0 {
        seed_events(&seed_ctx, &settings.default_tenant, settings.seed).await?;
    }
    println!();
    println!("  Audit log service, running locally (Ctrl-C stops everything)");
    println!("  Swagger UI     http://{http}/api/audit/swagger/");
    println!("  OpenAPI        http://{http}/api/audit/swagger/v1/swagger.json");
    println!("  Viewer         http://{http}/api/audit/ui/");
    println!(
        "  Query API      http://{http}/api/Audit?category=100&rangeStart=2024-03-01T05:00:00.000Z"
    );
    println!("  Lambda Invoke  http://{invoke}/2015-03-31/functions/IngestFunction/invocations");
    println!(
        "  DynamoDB Local {} (table {})",
        config.endpoint_url.as_deref().unwrap_or(""),
        config.table_name
    );
    match settings.runtime {
        RuntimeMode::Emulator => println!(
            "  Functions      their binaries under the Lambda Runtime Interface Emulator, {} per function",
            settings.emulators
        ),
        RuntimeMode::InProcess => println!("  Functions      their handlers in this process"),
    }
    if settings.cors.enabled() {
        println!(
            "  CORS           origins {}",
            std::env::var("LOCAL_CORS_ALLOWED_ORIGINS").unwrap_or_default()
        );
    }
    println!(
        "  Metrics        one CloudWatch EMF line (namespace {}) per ingest invocation, query request and sealer run, on standard output",
        metrics::NAMESPACE
    );
    match &sealing_task {
        Some(_) => println!(
            "  Sealer         every {} s (settle {} ms, recheck {} ms), key and anchor in {}",
            settings.seal_interval.as_secs(),
            local_variable("AUDIT_SEAL_SETTLE_MS", state).unwrap_or_default(),
            local_variable("AUDIT_SEAL_RECHECK_MS", state).unwrap_or_default(),
            state.display()
        ),
        None => println!("  Sealer         off (LOCAL_SEAL_INTERVAL=0)"),
    }
    println!("  Ready.");
    let served = server.await;
    if let Some(task) = sealing_task {
        task.abort();
    }
    for pool in &pools {
        pool.stop().await;
    }
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("gateway failed: {e}")),
        Err(e) => Err(format!("gateway task failed: {e}")),
    }
}

/// The gateway with the handlers called in this process.
fn in_process_gateway(
    settings: &Settings,
    store: DynamoStore,
    query_config: &QueryConfig,
    ingest_ctx: &Arc<IngestContext>,
    ledger: LedgerContext,
) -> Result<Gateway, String> {
    let query_ctx = Arc::new(QueryContext::new(store, query_config).with_ledger(ledger));
    let site = Arc::new(swagger::Site::new().map_err(|e| e.to_string())?);
    let ingest_ctx = Arc::clone(ingest_ctx);
    // As the Lambda adapter does: the function's timeout less the margin kept to answer.
    let ingest_budget = settings
        .ingest_timeout
        .saturating_sub(ingest::DEADLINE_MARGIN);
    Ok(Gateway {
        query: in_process_http(move |request| {
            let ctx = Arc::clone(&query_ctx);
            async move { query::handle(&ctx, request).await }
        }),
        swagger: in_process_http(move |request| {
            let site = Arc::clone(&site);
            async move { swagger::handle(&site, request).await }
        }),
        ingest: in_process_invoke(move |payload| {
            let ctx = Arc::clone(&ingest_ctx);
            async move {
                // As the Lambda adapter: failed events fail the invocation (ADR 0014).
                let answer = ingest::handle(&ctx, payload, Instant::now() + ingest_budget)
                    .await
                    .and_then(ingest::refuse_unstored);
                match answer {
                    Ok(answer) => Ok(serde_json::to_value(answer).unwrap_or(Value::Null)),
                    Err(e) => Err((e.error_type().to_owned(), e.to_string())),
                }
            }
        }),
        default_tenant: settings.default_tenant.clone(),
        cors: settings.cors.clone(),
        async_invoke: settings.async_invoke.clone(),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
