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
pub mod export;
pub mod http;
pub mod net;
pub mod token;

use std::time::Duration;

use args::{Cli, Command, Connection, GiveUp};
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
