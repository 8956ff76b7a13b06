//! `audit-verify`: the command line over [`audit_verify::verify`].
//!
//! ```text
//! audit-verify --url <base URL> [--token <JWT> | AUDIT_TOKEN]
//!              (--key <verifier key text or file> | --trust-served-key)
//!              [--from <date>] [--to <date>] [--proofs] [--json]
//! ```
//!
//! Dates are as the API takes them: RFC 3339 date-times, or `YYYY-MM-DD` (`--from`: the
//! start of that day, `--to`: the whole day, UTC). `--opt=value` and `--opt value` both
//! work; `--help` prints the help on standard output and exits 0.
//!
//! Prints the count of each finding (and the ids or sequences found), progress on stderr
//! when it is a terminal; exits 0 when everything verified, 1 on any finding, 2 when it
//! could not verify (usage, network, API errors).

use std::io::IsTerminal;
use std::process::ExitCode;

use audit_ledger::time::Timestamp;
use audit_ledger::VerifierKey;
use audit_verify::http::HttpTransport;
use audit_verify::{verify, Options};

const USAGE: &str = "usage: audit-verify --url <base URL, e.g. http://127.0.0.1:3000> \
[--token <JWT>] (--key <verifier key or file> | --trust-served-key) \
[--from <date>] [--to <date>] [--proofs] [--json]";

const HELP: &str = "\
audit-verify: checks the audit trail of a range against the service's signed checkpoints

  --url URL            the API's root, e.g. http://127.0.0.1:3000 or the stack's ApiUrl
  --token JWT          bearer token (default: $AUDIT_TOKEN)
  --key KEY|FILE       the verifier key (text or a file holding it)
  --trust-served-key   use the key the service serves (checks consistency, not origin)
  --from DATE          start: RFC 3339 date-time or YYYY-MM-DD (start of that day, UTC)
  --to DATE            end: RFC 3339 date-time or YYYY-MM-DD (the whole day, UTC)
  --proofs             also check each event's inclusion proof
  --json               the report as JSON
  -h, --help           this help

Exit codes: 0 everything verified, 1 a finding, 2 could not verify (usage, network, API).
";

/// An instant as the API takes it: RFC 3339, or a date `YYYY-MM-DD` (its first or last
/// millisecond, UTC).
fn instant(name: &str, value: &str, end_of_day: bool) -> Result<Timestamp, String> {
    let value = value.trim();
    let is_date = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let text = match (is_date, end_of_day) {
        (true, false) => format!("{value}T00:00:00Z"),
        (true, true) => format!("{value}T23:59:59.999Z"),
        (false, _) => value.to_owned(),
    };
    Timestamp::parse_rfc3339(name, &text).map_err(|_| {
        format!("audit-verify: {name} must be an RFC 3339 date-time or a date YYYY-MM-DD (got '{value}')")
    })
}

struct Args {
    url: String,
    token: Option<String>,
    options: Options,
    json: bool,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    // `--opt=value` is `--opt value`.
    let mut args = args
        .flat_map(|arg| match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                vec![name.to_owned(), value.to_owned()]
            }
            _ => vec![arg],
        })
        .collect::<Vec<_>>()
        .into_iter();
    let mut url = None;
    let mut token = std::env::var("AUDIT_TOKEN").ok().filter(|t| !t.is_empty());
    let mut options = Options::default();
    let mut json = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => url = Some(value("--url")?),
            "--token" => token = Some(value("--token")?),
            "--key" => {
                let given = value("--key")?;
                // A file holding the key, or the key itself.
                let text = match std::fs::read_to_string(&given) {
                    Ok(text) => text,
                    Err(_) => given,
                };
                options.key = Some(
                    VerifierKey::parse(text.trim())
                        .map_err(|e| format!("--key is not a verifier key: {e}"))?,
                );
            }
            "--trust-served-key" => options.trust_served_key = true,
            "--from" => {
                let v = value("--from")?;
                options.from = Some(instant("--from", &v, false)?);
            }
            "--to" => {
                let v = value("--to")?;
                options.to = Some(instant("--to", &v, true)?);
            }
            "--proofs" => options.proofs = true,
            "--json" => json = true,
            "-h" | "--help" => return Err(HELP.to_owned()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    let url = url.ok_or(format!("--url is required\n{USAGE}"))?;
    if options.key.is_none() && !options.trust_served_key {
        return Err(format!(
            "--key is required (or --trust-served-key)\n{USAGE}"
        ));
    }
    Ok(Args {
        url,
        token,
        options,
        json,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message == HELP => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let transport = match HttpTransport::new(&args.url, args.token.clone()) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |line: &str| {
        if terminal {
            eprint!("\r\x1b[2K{line}");
        }
    };
    let outcome = verify(&transport, &args.options, &mut progress).await;
    if terminal {
        eprint!("\r\x1b[2K");
    }
    match outcome {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                println!("{}", report.summary());
                for id in &report.modified {
                    println!("modified: {id}");
                }
                for id in &report.missing {
                    println!("missing: {id}");
                }
                for id in &report.unexpected {
                    println!("unexpected: {id}");
                }
                for (seq, reason) in &report.chain_broken {
                    println!("chain broken at checkpoint {seq}: {reason}");
                }
            }
            if report.has_findings() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("audit-verify: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dates_are_taken_as_the_api_takes_them() {
        let day = |v, end| instant("--from", v, end).unwrap();
        assert_eq!(day("2026-12-08", false), day("2026-12-08T00:00:00Z", false));
        assert_eq!(
            day("2026-12-08", true),
            day("2026-12-08T23:59:59.999Z", true)
        );
        assert!(instant("--from", "08/12/2026", false).is_err());
    }

    #[test]
    fn both_argument_forms_parse_and_help_is_the_help() {
        let parse = |line: &str| parse_args(line.split(' ').map(str::to_owned));
        let args =
            parse("--url=http://h --trust-served-key --from=2026-12-08 --to 2026-12-09").unwrap();
        assert_eq!(args.url, "http://h");
        assert!(args.options.from.is_some() && args.options.to.is_some());
        assert_eq!(parse("--help").err().unwrap(), HELP);
    }
}
