//! Writes the OpenAPI document generated from the code to the path given as first argument
//! (`make openapi` writes `docs/openapi.json`), or to standard output without one.

use std::process::ExitCode;

fn main() -> ExitCode {
    let json = match audit_shared::openapi::document_json() {
        Ok(json) => json,
        Err(error) => {
            eprintln!("cannot serialize the OpenAPI document: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Written only once complete, so a failed run never leaves a truncated document behind.
    match std::env::args_os().nth(1) {
        Some(path) => match std::fs::write(&path, json) {
            Ok(()) => {
                eprintln!("wrote {}", path.to_string_lossy());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("cannot write {}: {error}", path.to_string_lossy());
                ExitCode::FAILURE
            }
        },
        None => {
            print!("{json}");
            ExitCode::SUCCESS
        }
    }
}
