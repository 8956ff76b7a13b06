//! The local run: serves the query, swagger and ingest handlers through the local gateway
//! on DynamoDB Local, after creating the table and seeding sample events through the real
//! ingest handler. Stops on Ctrl-C. `make dev` starts the engine and then this binary.
//!
//! With `--prepare-only` it creates the table and seeds it, then exits without serving:
//! that readies a local engine for other runners of the functions (`sam local`).
//!
//! Environment (besides the functions' own: AUDIT_TABLE_NAME, AUDIT_DYNAMODB_ENDPOINT,
//! AWS_REGION, AUDIT_SHARDS, AUDIT_RETENTION_DAYS, AUDIT_TOKEN_KEY...):
//! - `LOCAL_HTTP_PORT` (3000): the HTTP API, like `sam local start-api`;
//! - `LOCAL_INVOKE_PORT` (3001): the Lambda Invoke API, like `sam local start-lambda`;
//! - `LOCAL_DEFAULT_TENANT` (`local`): the tenant of requests without a bearer token;
//! - `SEED` (5000): sample events to ingest for the default tenant at start, 0 for none.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_local::gateway::{serve, Gateway, InvokeError};
use audit_local::seed;
use audit_shared::config::Config;
use audit_shared::store::{create_table, dynamo_client, DynamoStore};
use audit_shared::table::TableDefinition;
use ingest::{IngestAnswer, IngestContext};
use query::{QueryConfig, QueryContext};
use serde_json::{json, Value};

/// How long one local invoke may take, standing in for the Lambda timeout.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

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
}

fn settings() -> Result<Settings, String> {
    let mut prepare_only = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--prepare-only" => prepare_only = true,
            other => return Err(format!("unknown argument '{other}' (only --prepare-only)")),
        }
    }
    Ok(Settings {
        prepare_only,
        http_port: env_or("LOCAL_HTTP_PORT", 3000)?,
        invoke_port: env_or("LOCAL_INVOKE_PORT", 3001)?,
        default_tenant: env_or("LOCAL_DEFAULT_TENANT", seed::LOCAL_TENANT.to_owned())?,
        seed: env_or("SEED", 5000)?,
    })
}

async fn ensure_table(config: &Config, client: &aws_sdk_dynamodb::Client) -> Result<(), String> {
    if client
        .describe_table()
        .table_name(&config.table_name)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    create_table(client, &config.table_name, &TableDefinition::audit())
        .await
        .map_err(|e| format!("cannot create table {}: {e}", config.table_name))
}

/// Ingests the sample events in batches through the ingest handler, with a progress bar.
async fn seed_events(ctx: &IngestContext, tenant: &str, count: usize) -> Result<(), String> {
    let events = seed::generate(tenant, count, chrono::Utc::now());
    let started = Instant::now();
    let (mut stored, mut duplicates) = (0usize, 0usize);
    for (i, chunk) in events.chunks(250).enumerate() {
        let payload = json!({ "events": chunk });
        let answer = ingest::handle(ctx, payload, Instant::now() + INVOKE_TIMEOUT)
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
    let query_config = QueryConfig::from_env().map_err(|e| e.to_string())?;
    let settings = settings()?;
    if config.endpoint_url.is_none() {
        return Err("AUDIT_DYNAMODB_ENDPOINT is not set: the local gateway only runs against a local engine".into());
    }
    let client = dynamo_client(&config).await.map_err(|e| e.to_string())?;
    ensure_table(&config, &client).await?;
    let store = DynamoStore::new(client, config.table_name.clone(), config.shards);
    let ingest_ctx = Arc::new(IngestContext::new(
        Arc::new(store.clone()),
        config.retention.clone(),
    ));
    if settings.prepare_only {
        if settings.seed > 0 {
            seed_events(&ingest_ctx, &settings.default_tenant, settings.seed).await?;
        }
        println!("table {} is ready", config.table_name);
        return Ok(());
    }
    let query_ctx = Arc::new(QueryContext::new(store, &query_config));
    let site = Arc::new(swagger::Site::new().map_err(|e| e.to_string())?);

    let gateway = Gateway {
        query: Arc::new(move |request| {
            let ctx = Arc::clone(&query_ctx);
            Box::pin(async move { query::handle(&ctx, request).await })
        }),
        swagger: Arc::new(move |request| {
            let site = Arc::clone(&site);
            Box::pin(async move { swagger::handle(&site, request).await })
        }),
        ingest: {
            let ctx = Arc::clone(&ingest_ctx);
            Arc::new(move |payload| {
                let ctx = Arc::clone(&ctx);
                Box::pin(async move {
                    match ingest::handle(&ctx, payload, Instant::now() + INVOKE_TIMEOUT).await {
                        Ok(answer) => Ok(serde_json::to_value(answer).unwrap_or(Value::Null)),
                        Err(e) => Err(InvokeError {
                            error_type: e.error_type().to_owned(),
                            error_message: e.to_string(),
                        }),
                    }
                })
            })
        },
        default_tenant: settings.default_tenant.clone(),
    };

    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.http_port));
    let invoke = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.invoke_port));
    let server = tokio::spawn(serve(gateway, http, invoke, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    // Let a bind failure surface before seeding.
    tokio::time::sleep(Duration::from_millis(100)).await;
    if server.is_finished() {
        return match server.await {
            Ok(Err(e)) => Err(format!("cannot listen on {http} and {invoke}: {e}")),
            _ => Err("the gateway stopped at start".into()),
        };
    }
    if settings.seed > 0 {
        seed_events(&ingest_ctx, &settings.default_tenant, settings.seed).await?;
    }
    println!();
    println!("  Audit log service, running locally (Ctrl-C stops everything)");
    println!("  Swagger UI     http://{http}/api/audit/swagger/");
    println!("  OpenAPI        http://{http}/api/audit/swagger/v1/swagger.json");
    println!(
        "  Query API      http://{http}/api/Audit?category=100&rangeStart=2024-03-01T05:00:00.000Z"
    );
    println!("  Lambda Invoke  http://{invoke}/2015-03-31/functions/IngestFunction/invocations");
    println!(
        "  DynamoDB Local {} (table {})",
        config.endpoint_url.as_deref().unwrap_or(""),
        config.table_name
    );
    println!("  Ready.");
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("gateway failed: {e}")),
        Err(e) => Err(format!("gateway task failed: {e}")),
    }
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
