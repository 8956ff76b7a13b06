//! `audit`: the operator's and consumer's command (`audit --help`); `audit_cli` has the
//! details. This file only parses, dispatches and maps outcomes to exit codes.

use std::process::ExitCode;

use audit_cli::args::{parse, Parsed};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match parse(std::env::args_os()) {
        Parsed::Print(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Parsed::Usage(line) => {
            eprintln!("{line}");
            ExitCode::from(audit_cli::EXIT_USAGE)
        }
        Parsed::Run(cli) => ExitCode::from(audit_cli::run(cli).await),
    }
}
