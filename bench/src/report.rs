//! The document `make bench` writes (`docs/PERFORMANCE.md`), as pure functions on strings.
//!
//! A run measures some sections (`BENCH_SKIP` leaves others out, and a long run rewrites
//! the document after each section). Every section it did not measure is read back from
//! the previous document by its heading and kept, with its rows of the targets table, so a
//! partial run never loses figures. The hand-written reading (`bench/analysis.md`) follows
//! the numbered sections whole, starting at its own `## ` heading.

use std::fmt::Write as _;

/// The numbered sections of the document, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SectionId {
    /// 1. Query cost and latency against table size.
    Query,
    /// 2. Ingest throughput.
    Ingest,
    /// 3. Cold start.
    ColdStart,
    /// 4. Package size.
    PackageSize,
    /// 5. Handler CPU (criterion).
    HandlerCpu,
    /// 6. Adversarial requests and the organization indexes.
    Adversarial,
    /// 7. The ledger: write and storage cost, the sealer per bucket, proof latency.
    Ledger,
    /// 8. What an event costs to write, keep and read with each choice of index projection.
    Cost,
}

impl SectionId {
    /// Every section, in the document's order.
    pub const ALL: [SectionId; 8] = [
        SectionId::Query,
        SectionId::Ingest,
        SectionId::ColdStart,
        SectionId::PackageSize,
        SectionId::HandlerCpu,
        SectionId::Adversarial,
        SectionId::Ledger,
        SectionId::Cost,
    ];

    /// The section's number in the document.
    pub fn number(self) -> u8 {
        match self {
            SectionId::Query => 1,
            SectionId::Ingest => 2,
            SectionId::ColdStart => 3,
            SectionId::PackageSize => 4,
            SectionId::HandlerCpu => 5,
            SectionId::Adversarial => 6,
            SectionId::Ledger => 7,
            SectionId::Cost => 8,
        }
    }

    /// The name `BENCH_SKIP` uses for the section.
    pub fn key(self) -> &'static str {
        match self {
            SectionId::Query => "query",
            SectionId::Ingest => "ingest",
            SectionId::ColdStart => "cold",
            SectionId::PackageSize => "size",
            SectionId::HandlerCpu => "cpu",
            SectionId::Adversarial => "adversarial",
            SectionId::Ledger => "ledger",
            SectionId::Cost => "cost",
        }
    }

    /// The section's title.
    pub fn title(self) -> &'static str {
        match self {
            SectionId::Query => "Query cost and latency against table size",
            SectionId::Ingest => "Ingest throughput",
            SectionId::ColdStart => "Cold start",
            SectionId::PackageSize => "Package size",
            SectionId::HandlerCpu => "Handler CPU per request, without I/O (criterion)",
            SectionId::Adversarial => "Adversarial requests and the organization indexes",
            SectionId::Ledger => "Ledger",
            SectionId::Cost => "Cost per event: index projections",
        }
    }

    /// The section's heading line, e.g. `## 3. Cold start`.
    pub fn heading(self) -> String {
        format!("## {}. {}", self.number(), self.title())
    }

    /// The section numbered `number`.
    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.number() == number)
    }
}

/// One target of the issue, checked on figures of this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The section whose figures check it.
    pub section: SectionId,
    /// What is required.
    pub what: String,
    /// What was measured.
    pub measured: String,
    /// Whether it is met.
    pub met: bool,
}

impl Target {
    /// The target's row of the targets table.
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} |",
            self.section.number(),
            self.what,
            self.measured,
            if self.met { "yes" } else { "**no**" }
        )
    }
}

/// What this run measured so far: sections (each starting with its heading) and targets.
#[derive(Debug, Clone, Default)]
pub struct Report {
    sections: Vec<(SectionId, String)>,
    targets: Vec<Target>,
}

impl Report {
    /// Adds the text of a measured section; it starts with [`SectionId::heading`].
    pub fn section(&mut self, id: SectionId, text: String) {
        self.sections.push((id, text));
    }

    /// Adds a target checked on this run's figures of `section`.
    pub fn target(
        &mut self,
        section: SectionId,
        what: impl Into<String>,
        measured: impl Into<String>,
        met: bool,
    ) {
        self.targets.push(Target {
            section,
            what: what.into(),
            measured: measured.into(),
            met,
        });
    }

    /// Whether this run measured `id`.
    pub fn measured(&self, id: SectionId) -> bool {
        self.sections.iter().any(|(s, _)| *s == id)
    }
}

/// What a previous document holds, read back by section heading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Previous {
    /// Each numbered section found, with its text from its heading to the next `## `.
    pub sections: Vec<(SectionId, String)>,
    /// The rows of the targets table, each with its section.
    pub target_rows: Vec<(SectionId, String)>,
    /// Its header's `- ` lines (date, machine, sizes...), as written.
    pub header_lines: Vec<String>,
}

impl Previous {
    /// The header line that starts with `prefix` (e.g. `- Date:`), if any.
    pub fn header_line(&self, prefix: &str) -> Option<&str> {
        self.header_lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .map(String::as_str)
    }

    fn section(&self, id: SectionId) -> Option<&str> {
        self.sections
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, text)| text.as_str())
    }
}

/// Reads a document back: its numbered sections by heading, its targets' rows by their
/// section column, and its header lines. Anything else (the reading) is left out.
pub fn read_previous(document: &str) -> Previous {
    let mut previous = Previous::default();
    // (heading of the current `## ` block, its lines)
    let mut blocks: Vec<(Option<&str>, Vec<&str>)> = vec![(None, Vec::new())];
    for line in document.lines() {
        if line.starts_with("## ") {
            blocks.push((Some(line), Vec::new()));
        }
        if let Some((_, lines)) = blocks.last_mut() {
            lines.push(line);
        }
    }
    for (heading, lines) in blocks {
        match heading {
            None => {
                previous.header_lines = lines
                    .iter()
                    .filter(|l| l.starts_with("- "))
                    .map(|l| (*l).to_owned())
                    .collect();
            }
            Some("## Targets") => {
                previous.target_rows = lines
                    .iter()
                    .filter_map(|line| Some((row_section(line)?, (*line).to_owned())))
                    .collect();
            }
            Some(heading) => {
                if let Some(id) = SectionId::ALL.into_iter().find(|s| s.heading() == heading) {
                    let text = lines.join("\n").trim_end().to_owned() + "\n";
                    previous.sections.push((id, text));
                }
            }
        }
    }
    previous
}

/// The section of a targets-table row, from its first column.
fn row_section(line: &str) -> Option<SectionId> {
    let first = line.strip_prefix('|')?.split('|').next()?.trim();
    SectionId::from_number(first.parse().ok()?)
}

/// The sections and target rows of the new document: this run's where it measured them,
/// the previous document's for the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Section texts in the document's order.
    pub sections: Vec<String>,
    /// Rows of the targets table, in the sections' order.
    pub target_rows: Vec<String>,
    /// Sections kept from the previous document.
    pub kept: Vec<SectionId>,
    /// Sections this run measured.
    pub measured: Vec<SectionId>,
}

/// Merges this run's `report` with the `previous` document.
pub fn merge(report: &Report, previous: &Previous) -> Merged {
    let mut merged = Merged::default();
    for id in SectionId::ALL {
        if report.measured(id) {
            merged.measured.push(id);
            for (_, text) in report.sections.iter().filter(|(s, _)| *s == id) {
                merged.sections.push(text.clone());
            }
            merged.target_rows.extend(
                report
                    .targets
                    .iter()
                    .filter(|t| t.section == id)
                    .map(Target::row),
            );
        } else if let Some(text) = previous.section(id) {
            merged.sections.push(text.to_owned());
            merged.target_rows.extend(
                previous
                    .target_rows
                    .iter()
                    .filter(|(s, _)| *s == id)
                    .map(|(_, row)| row.clone()),
            );
            merged.kept.push(id);
        }
    }
    merged
}

/// Why the document cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The reading must be a section of its own, so that it never lands inside another.
    #[error("the reading must start with a `## ` heading, not {0:?}")]
    ReadingWithoutHeading(String),
}

/// The document: `header` (title, run description, up to the targets), the targets table,
/// the sections, then the hand-written `reading`, whole, as the last section.
pub fn render(header: &str, merged: &Merged, reading: Option<&str>) -> Result<String, ReportError> {
    let mut d = String::new();
    d.push_str(header.trim_end());
    d.push_str("\n\n## Targets\n\n");
    d.push_str("| section | target | measured | met |\n");
    d.push_str("|---:|---|---|---|\n");
    for row in &merged.target_rows {
        let _ = writeln!(d, "{row}");
    }
    for section in &merged.sections {
        let _ = write!(d, "\n{}\n", section.trim_end());
    }
    if let Some(reading) = reading.map(str::trim).filter(|r| !r.is_empty()) {
        if !reading.starts_with("## ") {
            let first = reading.lines().next().unwrap_or_default().to_owned();
            return Err(ReportError::ReadingWithoutHeading(first));
        }
        let _ = write!(d, "\n{reading}\n");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn section(id: SectionId, body: &str) -> String {
        format!("{}\n\n{body}\n", id.heading())
    }

    fn full_run() -> Report {
        let mut report = Report::default();
        for id in SectionId::ALL {
            report.section(id, section(id, &format!("old figures of {}", id.key())));
            report.target(id, format!("target of {}", id.key()), "old", true);
        }
        report
    }

    const HEADER: &str =
        "# Performance\n\nGenerated.\n\n- Date: 2026-01-01 00:00 UTC\n- Machine: two cores\n";
    const READING: &str =
        "## Reading the figures\n\nWritten by hand.\n\n### Query\n\nIt is flat.\n";

    fn previous_document() -> String {
        let merged = merge(&full_run(), &Previous::default());
        render(HEADER, &merged, Some(READING)).unwrap()
    }

    #[test]
    fn a_document_reads_back_its_sections_targets_and_header() {
        let previous = read_previous(&previous_document());
        assert_eq!(previous.sections.len(), 8);
        assert_eq!(
            previous.sections[2],
            (
                SectionId::ColdStart,
                section(SectionId::ColdStart, "old figures of cold")
            )
        );
        assert_eq!(previous.target_rows.len(), 8);
        assert_eq!(
            previous.target_rows[1],
            (
                SectionId::Ingest,
                "| 2 | target of ingest | old | yes |".to_owned()
            )
        );
        assert_eq!(
            previous.header_line("- Date:"),
            Some("- Date: 2026-01-01 00:00 UTC")
        );
        // The reading is not a numbered section: it is never kept from a document.
        assert!(previous
            .sections
            .iter()
            .all(|(_, t)| !t.contains("by hand")));
    }

    #[test]
    fn a_partial_run_keeps_the_sections_and_targets_it_did_not_measure() {
        let previous = read_previous(&previous_document());
        let mut report = Report::default();
        report.section(
            SectionId::ColdStart,
            section(SectionId::ColdStart, "new cold figures"),
        );
        report.target(SectionId::ColdStart, "cold start", "new", false);
        let merged = merge(&report, &previous);
        assert_eq!(
            merged.kept,
            vec![
                SectionId::Query,
                SectionId::Ingest,
                SectionId::PackageSize,
                SectionId::HandlerCpu,
                SectionId::Adversarial,
                SectionId::Ledger,
                SectionId::Cost
            ]
        );
        assert_eq!(merged.sections.len(), 8);
        assert!(merged.sections[0].contains("old figures of query"));
        assert!(merged.sections[2].contains("new cold figures"));
        assert!(merged.sections[4].contains("old figures of cpu"));
        assert_eq!(
            merged.target_rows,
            vec![
                "| 1 | target of query | old | yes |",
                "| 2 | target of ingest | old | yes |",
                "| 3 | cold start | new | **no** |",
                "| 4 | target of size | old | yes |",
                "| 5 | target of cpu | old | yes |",
                "| 6 | target of adversarial | old | yes |",
                "| 7 | target of ledger | old | yes |",
                "| 8 | target of cost | old | yes |",
            ]
        );
        let document = render(HEADER, &merged, Some(READING)).unwrap();
        assert!(!document.contains("old figures of cold"));
        // Rewriting the merged document again changes nothing.
        let again = render(
            HEADER,
            &merge(&report, &read_previous(&document)),
            Some(READING),
        );
        assert_eq!(again.unwrap(), document);
    }

    #[test]
    fn without_a_previous_document_only_measured_sections_are_written_in_order() {
        let mut report = Report::default();
        report.section(SectionId::HandlerCpu, section(SectionId::HandlerCpu, "cpu"));
        report.section(SectionId::Ingest, section(SectionId::Ingest, "ingest"));
        let merged = merge(&report, &read_previous(""));
        assert!(merged.kept.is_empty());
        assert_eq!(merged.sections.len(), 2);
        assert!(merged.sections[0].starts_with("## 2. Ingest throughput"));
        assert!(merged.sections[1].starts_with("## 5. Handler CPU"));
    }

    #[test]
    fn the_reading_is_inserted_whole_after_the_last_section() {
        let document = previous_document();
        let reading_at = document.find("## Reading the figures").unwrap();
        let last_section = document.find(&SectionId::Cost.heading()).unwrap();
        assert!(reading_at > last_section);
        assert!(document[..reading_at].ends_with("old figures of cost\n\n"));
        assert!(document.ends_with(READING));
        assert_eq!(document.matches("Written by hand.").count(), 1);
        assert_eq!(
            render(HEADER, &Merged::default(), Some("they include its own")),
            Err(ReportError::ReadingWithoutHeading(
                "they include its own".to_owned()
            ))
        );
    }

    #[test]
    fn the_reading_in_the_repository_is_a_section_with_no_paragraph_spliced_twice() {
        let reading = include_str!("../analysis.md");
        assert!(reading.starts_with("## "));
        let mut seen = std::collections::HashSet::new();
        for line in reading.lines().map(str::trim).filter(|l| l.len() > 40) {
            assert!(
                seen.insert(line),
                "line repeated in bench/analysis.md: {line}"
            );
        }
    }

    #[test]
    fn the_document_in_the_repository_reads_back_whole() {
        let previous = read_previous(include_str!("../../docs/PERFORMANCE.md"));
        let found: Vec<SectionId> = previous.sections.iter().map(|(s, _)| *s).collect();
        assert_eq!(found, SectionId::ALL);
        assert!(!previous.target_rows.is_empty());
        assert!(previous.header_line("- Date:").is_some());
    }

    #[test]
    fn sections_are_found_by_number_and_skip_name() {
        for id in SectionId::ALL {
            assert_eq!(SectionId::from_number(id.number()), Some(id));
        }
        assert_eq!(SectionId::from_number(0), None);
        assert_eq!(SectionId::ColdStart.heading(), "## 3. Cold start");
        assert_eq!(
            row_section("| 4 | zipped | 2.9 MB | yes |"),
            Some(SectionId::PackageSize)
        );
        assert_eq!(row_section("| target | measured | met |"), None);
        assert_eq!(row_section("|---:|---|---|---|"), None);
    }
}
