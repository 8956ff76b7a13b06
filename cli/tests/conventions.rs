//! The command line's conventions, on the built `audit` binary: `--help` on standard output
//! with exit 0 for the command and every subcommand, `--version`, `--opt=value` and
//! `--opt value`, one-line errors naming the program, and each documented exit code
//! produced, against a small HTTP server in the test that answers like the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .env_remove("AUDIT_TOKEN")
        .output()
        .unwrap()
}

/// An API that answers every listing with a page of no events, `pages` pages in all
/// (`nextToken` is the page's number); `401` to a bearer token `expired`.
fn api(pages: u32) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut expired = false;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
                expired |= header.eq_ignore_ascii_case("authorization: bearer expired\r\n");
            }
            let page: u32 = line
                .split("nextToken=")
                .nth(1)
                .and_then(|t| t.split([' ', '&']).next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(1);
            let (status, body) = if expired {
                (
                    "401 Unauthorized",
                    r#"{"message":"Unauthorized"}"#.to_owned(),
                )
            } else if !line.starts_with("GET /api/Audit?") {
                ("404 Not Found", r#"{"message":"Not Found"}"#.to_owned())
            } else {
                let more = page < pages;
                let next = if more {
                    format!(r#","nextToken":"{}""#, page + 1)
                } else {
                    String::new()
                };
                (
                    "200 OK",
                    format!(
                        r#"{{"items":[],"pageNumber":{page},"pageSize":7,"hasMore":{more}{next}}}"#
                    ),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_is_on_standard_output_with_exit_0_for_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["-h"],
        vec!["help"],
        vec!["export", "--help"],
        vec!["follow", "--help"],
        vec!["backfill", "--help"],
        vec!["help", "follow"],
    ] {
        let out = audit(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(text.contains("Usage: audit"), "{args:?}: {text}");
        assert!(
            text.contains("Exit codes:"),
            "{args:?}: the codes are listed"
        );
        assert!(out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    for flag in ["--version", "-V"] {
        let out = audit(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("audit {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn both_argument_forms_work_and_exit_0_when_done() {
    let url = api(3);
    for args in [
        vec![
            "export",
            "--url",
            &url,
            "--page-size",
            "7",
            "--from",
            "2026-12-08",
        ],
        vec![
            "export",
            &format!("--url={url}"),
            "--page-size=7",
            "--from=2026-12-08",
        ],
        // A URL ending in the route is understood as the API's root.
        vec!["export", &format!("--url={url}/api/Audit")],
    ] {
        let out = audit(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("audit: 0 events written"),
            "{args:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2_on_one_line_naming_the_program_with_a_hint() {
    for (args, says) in [
        (vec!["export", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["export"], "--url <URL>"),
        (
            vec!["export", "--url", "127.0.0.1:3000"],
            "must start with http",
        ),
        (
            vec!["export", "--url=http://h", "--page-size=0"],
            "--page-size",
        ),
        (
            vec!["follow", "--url=http://h", "--give-up-after=5y"],
            "unit must be",
        ),
        (vec![], "a subcommand is needed"),
    ] {
        let out = audit(&args);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(text.starts_with("audit: "), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
        assert!(text.contains("--help"), "{args:?}: a hint: {text}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn failures_exit_1_and_say_what_failed() {
    // Nothing listens on a port just released: the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = audit(&[
        "export",
        &format!("--url=http://127.0.0.1:{port}"),
        "--give-up-after=0",
    ]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(text.contains("gave up"), "{text}");
    let url = api(1);
    let out = audit(&["export", &format!("--url={url}"), "--token=expired"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
}

#[test]
fn a_run_stopped_before_the_end_exits_3_and_resumes() {
    let url = api(5);
    let dir = std::env::temp_dir().join(format!("audit-cli-conventions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (output, state) = (dir.join("out.ndjson"), dir.join("out.state"));
    let args = |extra: &[&str]| {
        let mut args = vec![
            "export".to_owned(),
            format!("--url={url}"),
            format!("--output={}", output.display()),
            format!("--state={}", state.display()),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let stopped = args(&["--stop-after-pages=2"]);
    let out = audit(&stopped.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("again to resume"));
    let resumed = args(&[]);
    let out = audit(&resumed.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["pages"], 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn backfill_refuses_a_state_file_of_another_run_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("audit-backfill-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    std::fs::write(
        &state,
        r#"{"table":"other","segments":4,"positions":[{"at":"start"},{"at":"start"},{"at":"start"},{"at":"start"}]}"#,
    )
    .unwrap();
    // Refused before any request: the endpoint is never called.
    let out = audit(&[
        "backfill",
        "--table=audit",
        "--ledger-table=audit-ledger",
        "--shards=4",
        "--endpoint=http://127.0.0.1:9",
        "--region=us-east-1",
        &format!("--state={}", state.display()),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("audit: "), "{err}");
    assert!(err.contains("(try 'audit backfill --help')"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
