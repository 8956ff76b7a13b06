//! Section 5, handler CPU: criterion's medians of `benches/handler.rs`, read from its
//! output.
use std::fmt::Write as _;

use audit_bench::report::{Report, SectionId};
use serde_json::Value;

use crate::settings::Settings;
use crate::Result;

/// The benchmarks of `benches/handler.rs`, with what each measures.
const CPU_BENCHES: [(&str, &str); 5] = [
    (
        "parse_query",
        "parse and validate the query string of the 4th example",
    ),
    ("plan", "plan it: pick the index, build 4 shard requests"),
    ("decode_50_items", "decode 50 DynamoDB items into events"),
    ("serialize_page_50", "serialize a 50-item page to JSON"),
    (
        "handle_page_50",
        "whole handler without I/O: API Gateway event to response, 50 items (in-memory reader)",
    ),
];

/// Measures the section and adds it, with its targets, to `report`.
pub fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.criterion_dir else {
        return Err("BENCH_CRITERION_DIR is not set".into());
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::HandlerCpu.heading());
    let _ = writeln!(
        s,
        "`cargo bench -p audit-bench --bench handler`; median of criterion's samples.\n"
    );
    let _ = writeln!(s, "| benchmark | what | median µs |");
    let _ = writeln!(s, "|---|---|---:|");
    for (id, what) in CPU_BENCHES {
        let path = dir
            .join("handler")
            .join(id)
            .join("new")
            .join("estimates.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let estimates: Value = serde_json::from_str(&text)?;
        let ns = estimates["median"]["point_estimate"]
            .as_f64()
            .ok_or("no median")?;
        let _ = writeln!(s, "| `handler/{id}` | {what} | {:.1} |", ns / 1000.0);
    }
    report.section(SectionId::HandlerCpu, s);
    Ok(())
}
