//! The command line: clap's derive, with the conventions users expect: `--help` on
//! standard output and exit 0, `--version`, `--opt=value` and `--opt value`, and every
//! error one line naming the program, with a hint (`audit: ... (try 'audit export --help')`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The exit codes, as the help lists them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (export: every page written; backfill: every item visited)
  1  failed: the API, the network (after the give-up time), the table or a file
  2  usage: a bad argument, or a state file of another run
  3  stopped before the end (--stop-after-pages, --stop-after-items): run again to resume";

/// `audit`: export the trail, follow the feed, backfill the keys of older items.
#[derive(Debug, Parser)]
#[command(name = "audit", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export a filtered range of the trail (or the feed) to a file, resumable.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// Follow the feed for weeks: every sealed event once, to stdout or a file.
    #[command(after_help = EXIT_CODES)]
    Follow(FollowArgs),
    /// Write the keys later versions added (organization indexes, the ledger's byRecorded
    /// keys, leaf hashes) into items written before them, straight in DynamoDB (AWS
    /// credentials as the AWS CLI finds them).
    #[command(after_help = EXIT_CODES)]
    Backfill(BackfillArgs),
}

/// `audit backfill`.
#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    /// The event table (the stack's TableName output).
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// The ledger table (the stack's LedgerTableName output): buckets of events never
    /// sealed are marked pending there, for the sealer.
    #[arg(long, value_name = "NAME")]
    pub ledger_table: String,
    /// The stack's Shards parameter (AUDIT_SHARDS of its functions): the new keys' shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub shards: u16,
    /// Parallel Scan segments.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub segments: u32,
    /// Write capacity units per second, at most (counted from the ConsumedCapacity the
    /// writes return; default: no ceiling).
    #[arg(long, value_name = "WCU")]
    pub max_wcu: Option<f64>,
    /// The state file: the same command run again resumes where it stopped.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Count what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Items per Scan page.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub page_size: i32,
    /// Concurrent writes per segment.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// A DynamoDB endpoint (default: $AUDIT_DYNAMODB_ENDPOINT; none: AWS in $AWS_REGION).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The AWS region (default: $AWS_REGION).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Stop once N items were visited, at the end of a page (exit 3; for tests).
    #[arg(long, value_name = "N")]
    pub stop_after_items: Option<u64>,
}

/// How to reach the API and authenticate.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The API's root, e.g. http://127.0.0.1:3000 or the stack's ApiUrl (a URL ending in
    /// /api/Audit is understood as its root).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// A bearer token (default: $AUDIT_TOKEN; none: the local gateway's default tenant).
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["token_command", "client_id"])]
    pub token: Option<String>,
    /// A shell command that prints a bearer token; run again on 401 and before the token
    /// expires (its `exp` claim).
    #[arg(long, value_name = "COMMAND", conflicts_with = "client_id")]
    pub token_command: Option<String>,
    /// OAuth 2.0 client credentials: the client id (with --token-url, --client-secret-env).
    #[arg(long, value_name = "ID", requires_all = ["token_url", "client_secret_env"])]
    pub client_id: Option<String>,
    /// The name of the environment variable that holds the client secret.
    #[arg(long, value_name = "VAR", requires = "client_id")]
    pub client_secret_env: Option<String>,
    /// The token endpoint, e.g. https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token.
    #[arg(long, value_name = "URL", requires = "client_id")]
    pub token_url: Option<String>,
    /// Scopes to ask for with client credentials (space-separated).
    #[arg(long, value_name = "SCOPES", requires = "client_id")]
    pub scope: Option<String>,
    /// Retry connection errors, timeouts, 5xx and 429 (with jittered backoff, honouring
    /// Retry-After) for this long before failing: seconds or 30s, 10m, 2h, 7d; `never`
    /// retries forever (default: 5m for export, never for follow).
    #[arg(long, value_name = "DURATION", value_parser = parse_give_up)]
    pub give_up_after: Option<GiveUp>,
    /// Seconds to wait for one answer before counting it as a failure.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
}

/// The retry budget: a duration, or never give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Fail once failures have lasted this long.
    After(Duration),
    /// Retry forever.
    Never,
}

/// Parses `never`, `N` (seconds) or `N` with a unit `s`, `m`, `h` or `d`.
pub fn parse_give_up(text: &str) -> Result<GiveUp, String> {
    if text == "never" {
        return Ok(GiveUp::Never);
    }
    let (number, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("'{text}': the unit must be s, m, h or d")),
    };
    number
        .parse::<u64>()
        .map(|n| GiveUp::After(Duration::from_secs(n.saturating_mul(scale))))
        .map_err(|_| format!("'{text}' is not a duration such as 90, 30s, 10m, 2h, 7d or never"))
}

/// `audit export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// How to reach the API.
    #[command(flatten)]
    pub connection: Connection,
    /// The listing's filters as GET /api/Audit takes them, e.g.
    /// 'category=security&actorId=u-1' (with --feed: category and eventType only).
    #[arg(long, value_name = "FILTERS", default_value = "")]
    pub query: String,
    /// Start of the range (rangeStart), as the API takes it: 2026-01-01 or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// End of the range (rangeEnd), as the API takes it: 2026-03-31 or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// ndjson, csv or ocsf (one OCSF record per line).
    #[arg(long, value_name = "FORMAT", default_value = "ndjson")]
    pub format: String,
    /// The file to write (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The state file: the same command run again resumes where it stopped (needs --output).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Events per request, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub page_size: u32,
    /// Stop after N pages, as an interruption would (exit 3; for tests).
    #[arg(long, value_name = "N")]
    pub stop_after_pages: Option<u64>,
    /// Read GET /api/Audit/feed (every sealed event once, in recorded order) and stop when
    /// caught up; with --state a later run goes on from there.
    #[arg(long)]
    pub feed: bool,
    /// With --feed: when caught up, wait and go on (as `audit follow`).
    #[arg(long, requires = "feed")]
    pub follow: bool,
}

/// `audit follow`.
#[derive(Debug, Clone, Args)]
pub struct FollowArgs {
    /// How to reach the API.
    #[command(flatten)]
    pub connection: Connection,
    /// The feed's filters: category and eventType, e.g. 'category=security'.
    #[arg(long, value_name = "FILTERS", default_value = "")]
    pub query: String,
    /// ndjson, csv or ocsf.
    #[arg(long, value_name = "FORMAT", default_value = "ndjson")]
    pub format: String,
    /// The file to append to (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The state file holding the cursor: a follower restarted goes on from there.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Events per request, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub page_size: u32,
    /// Stop after N pages (exit 3; for tests).
    #[arg(long, value_name = "N")]
    pub stop_after_pages: Option<u64>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Print this on standard output and exit 0 (`--help`, `--version`).
    Print(String),
    /// A usage error: one line for standard error, exit 2.
    Usage(String),
    /// Run this.
    Run(Box<Cli>),
}

/// Parses the command line (with the program's name first).
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let matches = match command.try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => return from_clap(&error, &args),
    };
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(error) => from_clap(&error, &args),
    }
}

fn from_clap(error: &clap::Error, args: &[OsString]) -> Parsed {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Parsed::Print(error.to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Parsed::Usage(
            "audit: a subcommand is needed: export, follow or backfill (try 'audit --help')"
                .to_owned(),
        ),
        _ => {
            let rendered = error.to_string();
            // The message is the paragraph before clap's usage and tips, made one line.
            let first = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = first.trim_start_matches("error: ");
            Parsed::Usage(format!("audit: {first} (try '{} --help')", context(args)))
        }
    }
}

/// `audit` or `audit <subcommand>`, whichever the arguments name.
fn context(args: &[OsString]) -> String {
    let sub = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| ["export", "follow", "backfill"].contains(a));
    match sub {
        Some(sub) => format!("audit {sub}"),
        None => "audit".to_owned(),
    }
}

/// The API's root from `--url`: `http(s)://host[/stage]`; a URL that ends in `/api/Audit`
/// (or `/api/Audit/feed`) is taken as the root before it.
pub fn api_root(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "--url must start with http:// or https:// (got '{url}'), e.g. http://127.0.0.1:3000"
        ));
    }
    if url.contains('?') {
        return Err(format!(
            "--url is the API's root, without a query (got '{url}'): give filters with --query"
        ));
    }
    let lower = url.to_ascii_lowercase();
    for suffix in ["/api/audit/feed", "/api/audit"] {
        if lower.ends_with(suffix) {
            return Ok(url[..url.len() - suffix.len()].to_owned());
        }
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_give_up("never").unwrap(), GiveUp::Never);
        assert_eq!(
            parse_give_up("90").unwrap(),
            GiveUp::After(Duration::from_secs(90))
        );
        assert_eq!(
            parse_give_up("10m").unwrap(),
            GiveUp::After(Duration::from_secs(600))
        );
        assert_eq!(
            parse_give_up("7d").unwrap(),
            GiveUp::After(Duration::from_secs(604_800))
        );
        assert!(parse_give_up("5y").is_err());
        assert!(parse_give_up("soon").is_err());
    }

    #[test]
    fn a_url_ending_in_the_route_is_its_root() {
        assert_eq!(
            api_root("http://127.0.0.1:3000/api/Audit").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            api_root("https://x.example/prod/api/audit/feed/").unwrap(),
            "https://x.example/prod"
        );
        assert_eq!(api_root("http://h:1/").unwrap(), "http://h:1");
        assert!(api_root("127.0.0.1:3000").is_err());
        assert!(api_root("http://h/api/Audit?category=x").is_err());
    }

    #[test]
    fn errors_are_one_line_with_a_hint() {
        let Parsed::Usage(line) = parse(["audit", "export", "--bogus"]) else {
            panic!("a usage error")
        };
        assert!(line.starts_with("audit: "), "{line}");
        assert!(line.ends_with("(try 'audit export --help')"), "{line}");
        assert_eq!(line.lines().count(), 1);
        assert!(matches!(parse(["audit", "--help"]), Parsed::Print(_)));
        assert!(matches!(parse(["audit", "--version"]), Parsed::Print(_)));
    }

    #[test]
    fn both_argument_forms_parse() {
        for args in [
            vec!["audit", "export", "--url=http://h", "--page-size=7"],
            vec!["audit", "export", "--url", "http://h", "--page-size", "7"],
        ] {
            let Parsed::Run(cli) = parse(args) else {
                panic!("parses")
            };
            let Command::Export(e) = cli.command else {
                panic!("export")
            };
            assert_eq!((e.connection.url.as_str(), e.page_size), ("http://h", 7));
        }
    }
}
