//! `audit-export`: exports a filtered range of the audit trail through the HTTP API as
//! NDJSON, CSV or OCSF (or follows the feed, `--feed`), resumable from a state file (`audit-export --help`;
//! `audit_local::export` has the details).

use std::process::ExitCode;

use audit_local::export::source::{FeedSource, ListSource};
use audit_local::export::{run, ExportError, Options, Outcome};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Options::parse(&args, std::env::var("AUDIT_TOKEN").ok()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let (url, query, size, token) = (
        &options.url,
        &options.query,
        options.page_size,
        options.token.clone(),
    );
    let result = if options.feed {
        match FeedSource::new(url, query, size, token) {
            Ok(mut source) => run(&options, &mut source).await,
            Err(error) => Err(error),
        }
    } else {
        match ListSource::new(url, query, size, token) {
            Ok(mut source) => run(&options, &mut source).await,
            Err(error) => Err(error),
        }
    };
    match result {
        Ok(Outcome::Complete { events }) => {
            eprintln!("audit-export: {events} events written");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Stopped { events }) => {
            eprintln!("audit-export: stopped after {events} events; run again to resume");
            ExitCode::from(3)
        }
        Err(error @ ExportError::Usage(_)) => {
            eprintln!("audit-export: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("audit-export: {error}");
            ExitCode::FAILURE
        }
    }
}
