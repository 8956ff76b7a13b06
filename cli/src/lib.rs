//! The `audit` command: what operators and consumers of the audit log service do from a
//! shell. `audit export` writes a filtered range of the trail (or the feed) to a file,
//! resumable; `audit follow` follows the feed for weeks, retrying through outages and
//! renewing its token; `audit backfill` writes the keys later versions added into items
//! written before them. It is a crate of its own: it builds without the local gateway and
//! the functions.
//!
//! Exit codes ([`EXIT_OK`], [`EXIT_FAILED`], [`EXIT_USAGE`], [`EXIT_STOPPED`]) are listed in
//! every `--help` ([`args::EXIT_CODES`]).

pub mod args;
pub mod backfill;
pub mod export;
pub mod http;
pub mod net;
pub mod token;

use std::time::Duration;

use args::{BackfillArgs, Cli, Command, Connection, GiveUp};
use export::source::{FeedSource, ListSource};
use export::{ExportError, Options, Outcome};
use http::{Api, RetryPolicy};
use token::{TokenError, TokenSource};

/// Done.
pub const EXIT_OK: u8 = 0;
/// Failed: the API, the network after the give-up time, the table or a file.
pub const EXIT_FAILED: u8 = 1;
/// A usage error: a bad argument, or a state file of another run.
pub const EXIT_USAGE: u8 = 2;
/// Stopped before the end on purpose; running the same command again resumes.
pub const EXIT_STOPPED: u8 = 3;

/// How long `export` retries failures by default (`follow` retries forever).
const EXPORT_GIVE_UP: Duration = Duration::from_secs(300);

/// Runs a parsed command line; the exit code.
pub async fn run(cli: Box<Cli>) -> u8 {
    match cli.command {
        Command::Export(args) => {
            let default = GiveUp::After(EXPORT_GIVE_UP);
            exporting(Options::from_export(&args), &args.connection, default).await
        }
        Command::Follow(args) => {
            exporting(Options::from_follow(&args), &args.connection, GiveUp::Never).await
        }
        Command::Backfill(args) => backfilling(&args).await,
    }
}

async fn backfilling(args: &BackfillArgs) -> u8 {
    use std::io::IsTerminal;
    let lookup = |name: &str| match name {
        audit_shared::config::ENV_TABLE_NAME => Some(args.table.clone()),
        audit_shared::config::ENV_DYNAMODB_ENDPOINT => {
            args.endpoint.clone().or_else(|| std::env::var(name).ok())
        }
        audit_shared::config::ENV_REGION => {
            args.region.clone().or_else(|| std::env::var(name).ok())
        }
        audit_shared::config::ENV_SHARDS => Some(args.shards.to_string()),
        audit_shared::config::ENV_TLS_TRUST => std::env::var(name).ok(),
        _ => None,
    };
    let config = match audit_shared::config::Config::from_lookup(lookup) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("audit: {e} (try 'audit backfill --help')");
            return EXIT_USAGE;
        }
    };
    let client = match audit_shared::store::dynamo_client(&config).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("audit: cannot build the DynamoDB client: {e}");
            return EXIT_FAILED;
        }
    };
    let options = backfill::Options {
        table: args.table.clone(),
        ledger_table: args.ledger_table.clone(),
        shards: args.shards,
        segments: args.segments,
        page_size: args.page_size,
        concurrency: args.concurrency,
        max_wcu: args.max_wcu,
        state: args.state.clone(),
        dry_run: args.dry_run,
        stop_after_items: args.stop_after_items,
    };
    let tty = std::io::stderr().is_terminal();
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    let progress = move |p: &backfill::Progress| {
        let line = format!(
            "audit: backfill: {} items scanned, {} {verb}, {}/{} segments done, {:.0} WCU/s",
            p.scanned, p.changed, p.segments_done, p.segments, p.wcu
        );
        if tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    };
    let result = backfill::run(client, &options, &progress).await;
    if tty {
        eprintln!();
    }
    match result {
        Ok(report) => {
            eprintln!(
                "audit: backfill: {} items scanned: {} {verb} ({} never sealed, in {} buckets marked pending), \
                 {} already complete, {} not events, {} changed meanwhile by another writer",
                report.scanned,
                report.changed,
                report.unsealed,
                report.buckets,
                report.complete,
                report.not_events,
                report.raced
            );
            if report.stopped && !args.dry_run {
                eprintln!(
                    "audit: backfill stopped before the end; run the same command again to resume"
                );
                EXIT_STOPPED
            } else {
                EXIT_OK
            }
        }
        Err(error @ backfill::BackfillError::Usage(_)) => {
            eprintln!("audit: {error} (try 'audit backfill --help')");
            EXIT_USAGE
        }
        Err(error) => {
            eprintln!("audit: backfill failed: {error}; run the same command again to resume");
            EXIT_FAILED
        }
    }
}

async fn exporting(
    options: Result<Options, ExportError>,
    connection: &Connection,
    default_give_up: GiveUp,
) -> u8 {
    let result = async {
        let options = options?;
        let token = TokenSource::from_options(connection, std::env::var("AUDIT_TOKEN").ok())
            .map_err(|e| match e {
                TokenError::Usage(e) | TokenError::Failed(e) => ExportError::Usage(e),
            })?;
        let policy = RetryPolicy::new(
            connection.give_up_after.unwrap_or(default_give_up),
            Duration::from_secs(connection.timeout.max(1)),
        );
        let api = Api::new(token, policy)?;
        let (url, query, size) = (&options.url, &options.query, options.page_size);
        if options.feed {
            let mut source = FeedSource::new(api, url, query, size)?;
            export::run(&options, &mut source).await
        } else {
            let mut source = ListSource::new(api, url, query, size)?;
            export::run(&options, &mut source).await
        }
    }
    .await;
    match result {
        Ok(Outcome::Complete { events }) => {
            eprintln!("audit: {events} events written");
            EXIT_OK
        }
        Ok(Outcome::Stopped { events }) => {
            eprintln!("audit: stopped after {events} events; run the same command again to resume");
            EXIT_STOPPED
        }
        Err(error @ ExportError::Usage(_)) => {
            eprintln!("audit: {error} (try 'audit --help')");
            EXIT_USAGE
        }
        Err(error) => {
            eprintln!("audit: {error}");
            EXIT_FAILED
        }
    }
}
