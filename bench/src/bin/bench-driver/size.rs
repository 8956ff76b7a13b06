//! Section 4, package size: each function's Lambda bootstrap, zipped as SAM zips it,
//! against the 4 MB limit.
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use audit_bench::elf_machine;
use audit_bench::report::{Report, SectionId};

use crate::settings::Settings;
use crate::{Result, FUNCTIONS};

/// A zipped bootstrap must stay within this many bytes (4 MB).
const ZIP_LIMIT: u64 = 4_000_000;

fn zipped_size(path: &Path) -> Result<u64> {
    // The same deflate as `sam build`/`sam deploy` (Python's zipfile, default level).
    let script = "import io, sys, zipfile\n\
                  b = io.BytesIO()\n\
                  with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n    z.write(sys.argv[1], 'bootstrap')\n\
                  print(len(b.getvalue()))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "zipping {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// Measures the section and adds it, with its targets, to `report`.
pub fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.lambda_dir else {
        return Err("BENCH_LAMBDA_DIR is not set (make build output)".into());
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::PackageSize.heading());
    let _ = writeln!(
        s,
        "`make build` (cargo-lambda, release profile: LTO, one codegen unit, strip, \
         panic=abort, opt-level 3, and opt-level `z` for the `aws-sdk-s3` and `aws-sdk-kms` \
         crates) bootstraps, zipped with deflate as SAM does.\n"
    );
    let _ = writeln!(
        s,
        "| function | architecture | bootstrap (bytes) | zipped (bytes) | zipped MB |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|");
    for name in FUNCTIONS {
        let path = dir.join(name).join("bootstrap");
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let arch = elf_machine(&bytes);
        let zipped = zipped_size(&path)?;
        let _ = writeln!(
            s,
            "| {name} | {arch} | {} | {zipped} | {:.2} |",
            bytes.len(),
            zipped as f64 / 1e6
        );
        report.target(
            SectionId::PackageSize,
            format!("zipped bootstrap of {name} <= 4 MB"),
            format!("{:.2} MB ({arch})", zipped as f64 / 1e6),
            zipped <= ZIP_LIMIT,
        );
    }
    report.section(SectionId::PackageSize, s);
    Ok(())
}
