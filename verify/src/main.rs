//! `audit-verify`: the command line over [`audit_verify::verify`].
//!
//! ```text
//! audit-verify --url <base URL> [--token <JWT> | AUDIT_TOKEN]
//!              (--key <verifier key text or file> | --trust-served-key)
//!              [--from <RFC 3339>] [--to <RFC 3339>] [--proofs] [--json]
//! ```
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
[--from <RFC 3339>] [--to <RFC 3339>] [--proofs] [--json]";

struct Args {
    url: String,
    token: Option<String>,
    options: Options,
    json: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
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
                options.from =
                    Some(Timestamp::parse_rfc3339("--from", &v).map_err(|_| {
                        format!("--from must be an RFC 3339 date-time (got '{v}')")
                    })?);
            }
            "--to" => {
                let v = value("--to")?;
                options.to = Some(
                    Timestamp::parse_rfc3339("--to", &v)
                        .map_err(|_| format!("--to must be an RFC 3339 date-time (got '{v}')"))?,
                );
            }
            "--proofs" => options.proofs = true,
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
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
