//! The formats a listing of events is served and exported in (docs/api.md, "Formats"):
//! [`Format`], chosen by a `format` parameter or the `Accept` header ([`Format::negotiate`]),
//! and the writers that take a page of events.
//!
//! - `json` (`application/json`): the [`crate::api::EventPage`] body; the default.
//! - `ndjson` (`application/x-ndjson`): one event per line, each exactly the JSON item the
//!   `json` format serves (the same serialization).
//! - `csv` (`text/csv`, RFC 4180): a fixed header and one row per event ([`csv`]).
//! - `ocsf` (`application/vnd.ocsf+json`): OCSF records ([`crate::ocsf`]); a JSON array per
//!   response, one record per line in an export.
//!
//! A writer takes a page of events and knows nothing of where they came from, so the list,
//! a feed and the exporter share them: [`Format::write_page`] gives a response body,
//! [`Format::write_export`] the bytes an export file grows by for one page.

pub mod csv;

use crate::domain::AuditEvent;

/// A format of a listing of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The JSON page (`application/json`), the default.
    Json,
    /// One JSON event per line (`application/x-ndjson`).
    Ndjson,
    /// RFC 4180 CSV with a header (`text/csv`).
    Csv,
    /// OCSF records (`application/vnd.ocsf+json`).
    Ocsf,
}

/// The `Content-Type` of CSV responses: UTF-8, with a header row (RFC 4180 section 3).
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8; header=present";

/// Why an `Accept` header chose no format; the message is meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The header accepts none of the formats (406).
    #[error("{0}")]
    NotAcceptable(String),
    /// The header breaks RFC 9110's grammar for a `q` value (400).
    #[error("{0}")]
    Invalid(String),
}

impl Format {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [Format; 4] = [Format::Json, Format::Ndjson, Format::Csv, Format::Ocsf];

    /// Its name as the `format` parameter and the exporter's `--format` spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Ocsf => "ocsf",
        }
    }

    /// The media type `Accept` names it by (without parameters).
    pub const fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv",
            Format::Ocsf => "application/vnd.ocsf+json",
        }
    }

    /// The `Content-Type` of a response in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Csv => CSV_CONTENT_TYPE,
            other => other.media_type(),
        }
    }

    /// The format of this name, case-insensitively.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The names, for messages: `json, ndjson, csv, ocsf`.
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }

    /// The format an `Accept` header asks for (RFC 9110 section 12.5.1). Each format's
    /// quality is the `q` of the most specific range that matches it (its own media type,
    /// then `type/*`, then `*/*`), so `application/json;q=0, */*` excludes JSON; a format
    /// no range matches, or whose `q` is 0, is not acceptable. Among the acceptable ones:
    /// the highest `q`, then the most specific match, then the earliest range, then the
    /// order of [`Format::ALL`]. No header, or an empty one, is JSON. A `q` that is not a
    /// qvalue (`0` to `1` with at most three decimals: `q=1.5`, `q=-1`, `q=abc`) is
    /// [`AcceptError::Invalid`]; nothing acceptable is [`AcceptError::NotAcceptable`].
    pub fn negotiate(accept: Option<&str>) -> Result<Format, AcceptError> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            return Ok(Format::Json);
        };
        // (media range, q in thousandths, index)
        let mut ranges: Vec<(String, u16, usize)> = Vec::new();
        for (index, range) in accept.split(',').enumerate() {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            let mut q = 1000;
            for (name, value) in parts.filter_map(|p| p.split_once('=')) {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = quality(value.trim()).ok_or_else(|| {
                        AcceptError::Invalid(format!(
                            "has q={} on {media}: a q value is 0 to 1 with at most three decimals (RFC 9110, section 12.4.2)",
                            value.trim()
                        ))
                    })?;
                }
            }
            ranges.push((media, q, index));
        }
        // (q, specificity, earliest range first): the larger, the better.
        type Rank = (u16, u8, std::cmp::Reverse<usize>);
        let mut best: Option<(Rank, Format)> = None;
        for format in Format::ALL {
            let exact = format.media_type();
            let family = exact.split('/').next().unwrap_or_default();
            // The most specific range that matches, the earliest among equals.
            let matched = ranges
                .iter()
                .filter_map(|(media, q, index)| {
                    let specificity = if media == exact {
                        2
                    } else if media.strip_suffix("/*") == Some(family) {
                        1
                    } else if media == "*/*" {
                        0
                    } else {
                        return None;
                    };
                    Some((specificity, std::cmp::Reverse(*index), *q))
                })
                .max_by_key(|(specificity, index, _)| (*specificity, *index));
            let Some((specificity, index, q)) = matched else {
                continue;
            };
            let key = (q, specificity, index);
            if q > 0 && best.as_ref().is_none_or(|(b, _)| key > *b) {
                best = Some((key, format));
            }
        }
        best.map(|(_, format)| format).ok_or_else(|| {
            AcceptError::NotAcceptable(format!(
                "offers none of the media types this listing is served in: {} (or */*); \
                     or choose with the format parameter ({})",
                Format::ALL.map(Format::media_type).join(", "),
                Format::names()
            ))
        })
    }

    /// The body of a response holding `events` in this format: JSON and OCSF a JSON array,
    /// NDJSON one line per event, CSV the header and one row per event. (The listing's JSON
    /// body is the page object, written by the caller.)
    pub fn write_page(self, events: &[AuditEvent], out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Format::Json => serde_json::to_writer(&mut *out, events),
            Format::Ocsf => {
                let records: Vec<_> = events.iter().map(crate::ocsf::record).collect();
                serde_json::to_writer(&mut *out, &records)
            }
            Format::Ndjson => write_lines(events, out, |e| e),
            Format::Csv => {
                csv::write_header(out);
                csv::write_rows(events, out);
                Ok(())
            }
        }
    }

    /// What an export file in this format grows by for one page of `events`: one line per
    /// event (JSON and NDJSON the event, OCSF its record), or for CSV one row per event,
    /// preceded by the header when `first` (the file's first page). Pages written one after
    /// the other make one valid file.
    pub fn write_export(
        self,
        events: &[AuditEvent],
        first: bool,
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        match self {
            Format::Json | Format::Ndjson => write_lines(events, out, |e| e),
            Format::Ocsf => write_lines(events, out, crate::ocsf::record),
            Format::Csv => {
                if first {
                    csv::write_header(out);
                }
                csv::write_rows(events, out);
                Ok(())
            }
        }
    }
}

/// One JSON line per event, written straight from `line(event)` (through no `Value`, which
/// would sort the members), so that an NDJSON line is byte for byte the JSON item.
fn write_lines<'a, T: serde::Serialize>(
    events: &'a [AuditEvent],
    out: &mut Vec<u8>,
    line: impl Fn(&'a AuditEvent) -> T,
) -> serde_json::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, &line(event))?;
        out.push(b'\n');
    }
    Ok(())
}

/// A `q` value in thousandths (`q=0.5` is 500); a malformed one counts as 1.
fn quality(value: &str) -> Option<u16> {
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str) -> Result<Format, AcceptError> {
        Format::negotiate(Some(accept))
    }

    #[test]
    fn accept_chooses_the_best_acceptable_format() {
        assert_eq!(Format::negotiate(None), Ok(Format::Json));
        assert_eq!(negotiate(""), Ok(Format::Json));
        assert_eq!(negotiate("application/json"), Ok(Format::Json));
        assert_eq!(negotiate("application/x-ndjson"), Ok(Format::Ndjson));
        assert_eq!(negotiate("Text/CSV; charset=utf-8"), Ok(Format::Csv));
        assert_eq!(negotiate("application/vnd.ocsf+json"), Ok(Format::Ocsf));
        assert_eq!(negotiate("*/*"), Ok(Format::Json));
        assert_eq!(negotiate("text/*"), Ok(Format::Csv));
        // A browser's header.
        assert_eq!(
            negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Ok(Format::Json)
        );
        // q wins over order; specific wins over a wildcard of the same q.
        assert_eq!(
            negotiate("application/json;q=0.5, text/csv"),
            Ok(Format::Csv)
        );
        assert_eq!(negotiate("*/*, text/csv"), Ok(Format::Csv));
        assert_eq!(
            negotiate("application/x-ndjson, text/csv"),
            Ok(Format::Ndjson)
        );
        // q=0 refuses.
        assert_eq!(negotiate("text/csv;q=0, */*;q=0.1"), Ok(Format::Json));
        // q=0 excludes the type even when a wider range would accept it (RFC 9110).
        assert_eq!(negotiate("application/json;q=0, */*"), Ok(Format::Ndjson));
        assert!(matches!(
            negotiate("text/*;q=1, text/csv;q=0"),
            Err(AcceptError::NotAcceptable(_))
        ));
        assert_eq!(
            negotiate("*/*;q=0.5, application/json;q=0.001"),
            Ok(Format::Ndjson)
        );
        assert_eq!(negotiate("text/csv;q=1.000, */*;q=0.999"), Ok(Format::Csv));
    }

    #[test]
    fn a_q_value_outside_rfc_9110s_grammar_is_invalid() {
        for accept in [
            "text/csv;q=1.5",
            "text/csv;q=-1",
            "text/csv;q=abc",
            "*/*;q=0.1234",
            "*/*;q=1.001",
            "*/*;q=",
            "*/*;q=2",
        ] {
            let error = negotiate(accept).unwrap_err();
            assert!(
                matches!(&error, AcceptError::Invalid(m) if m.contains("RFC 9110")),
                "{accept}: {error:?}"
            );
        }
        assert!(matches!(
            negotiate("*/*;q=0"),
            Err(AcceptError::NotAcceptable(_))
        ));
        for ok in [
            "*/*;q=0.5",
            "*/*;q=1",
            "*/*;q=1.0",
            "*/*;q=0.125",
            "*/*; Q=0.3",
        ] {
            assert_eq!(negotiate(ok), Ok(Format::Json), "{ok}");
        }
    }

    #[test]
    fn nothing_acceptable_is_an_error_naming_the_formats() {
        for accept in ["text/html", "application/xml", "text/csv;q=0", "image/*"] {
            let error = negotiate(accept).unwrap_err();
            assert!(
                matches!(&error, AcceptError::NotAcceptable(m)
                    if m.contains("text/csv") && m.contains("format parameter")),
                "{accept}: {error}"
            );
        }
    }

    #[test]
    fn names_parse_case_insensitively_and_nothing_else_does() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Some(format));
            assert_eq!(Format::parse(&format.name().to_uppercase()), Some(format));
        }
        assert_eq!(Format::parse("xml"), None);
        assert_eq!(Format::parse("text/csv"), None);
    }
}
