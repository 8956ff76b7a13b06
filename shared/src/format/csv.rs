//! Events as CSV (RFC 4180): the columns as data ([`COLUMNS`]), declared once, and the
//! writer.
//!
//! - One column per scalar field of the event, nested `actor` and `target` fields flattened
//!   with dotted names (`actor.id`); `changes` and `metadata` are one cell each, holding
//!   their JSON (empty when the event has none). An absent field is an empty cell.
//! - Lines end with CRLF; a cell holding a comma, a double quote, a CR or an LF is quoted,
//!   its double quotes doubled (RFC 4180 section 2).
//! - Formula injection is made inert: a cell whose text starts with `=`, `+`, `-`, `@`, a tab
//!   or a carriage return is written with a single quote `'` before it, so that a
//!   spreadsheet shows it as text instead of evaluating it (a negative number in a free-text
//!   field therefore reads `'-5`). No column of the service's own (codes, times, ids of the
//!   catalog) starts with one of those characters; only free text sent by the apps can.
//!
//! The header never changes for existing columns: a new column is added at the end.

use std::borrow::Cow;

use crate::domain::{AuditEvent, Outcome};

/// One column: its header and its cell for an event (`None`: empty).
pub struct Column {
    /// The header, the JSON field's name (`actor.id` for a nested one).
    pub name: &'static str,
    /// The cell's text, before quoting and neutralisation.
    pub cell: fn(&AuditEvent) -> Option<Cow<'_, str>>,
}

fn text(value: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(value))
}

fn owned(value: impl ToString) -> Option<Cow<'static, str>> {
    Some(Cow::Owned(value.to_string()))
}

fn outcome(value: Outcome) -> Option<Cow<'static, str>> {
    Some(Cow::Borrowed(value.as_str()))
}

/// Every column, in order. Appending is the only change that keeps old readers working.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "eventId",
        cell: |e| text(e.event_id.as_str()),
    },
    Column {
        name: "tenantId",
        cell: |e| text(e.tenant_id.as_str()),
    },
    Column {
        name: "eventType",
        cell: |e| owned(e.event_type),
    },
    Column {
        name: "eventTypeName",
        cell: |e| text(&e.event_type_name),
    },
    Column {
        name: "category",
        cell: |e| owned(e.category),
    },
    Column {
        name: "categoryName",
        cell: |e| text(&e.category_name),
    },
    Column {
        name: "occurredAt",
        cell: |e| owned(e.occurred_at),
    },
    Column {
        name: "recordedAt",
        cell: |e| owned(e.recorded_at),
    },
    Column {
        name: "actor.id",
        cell: |e| e.actor.id.as_deref().and_then(text),
    },
    Column {
        name: "actor.name",
        cell: |e| e.actor.name.as_deref().and_then(text),
    },
    Column {
        name: "actor.email",
        cell: |e| e.actor.email.as_deref().and_then(text),
    },
    Column {
        name: "actor.type",
        cell: |e| {
            serde_json::to_value(e.actor.actor_type)
                .ok()
                .and_then(|v| v.as_str().map(|s| Cow::Owned(s.to_owned())))
        },
    },
    Column {
        name: "actor.ipAddress",
        cell: |e| e.actor.ip_address.and_then(owned),
    },
    Column {
        name: "actor.userAgent",
        cell: |e| e.actor.user_agent.as_deref().and_then(text),
    },
    Column {
        name: "target.type",
        cell: |e| e.target.as_ref().and_then(|t| text(t.target_type.as_str())),
    },
    Column {
        name: "target.id",
        cell: |e| e.target.as_ref().and_then(|t| text(&t.id)),
    },
    Column {
        name: "target.name",
        cell: |e| {
            e.target
                .as_ref()
                .and_then(|t| t.name.as_deref())
                .and_then(text)
        },
    },
    Column {
        name: "organizationId",
        cell: |e| e.organization_id.as_ref().and_then(|o| text(o.as_str())),
    },
    Column {
        name: "outcome",
        cell: |e| outcome(e.outcome),
    },
    Column {
        name: "description",
        cell: |e| e.description.as_deref().and_then(text),
    },
    Column {
        name: "source",
        cell: |e| e.source.as_deref().and_then(text),
    },
    Column {
        name: "correlationId",
        cell: |e| e.correlation_id.as_deref().and_then(text),
    },
    Column {
        name: "expiresAt",
        cell: |e| e.expires_at.and_then(owned),
    },
    Column {
        name: "changes",
        cell: |e| {
            if e.changes.is_empty() {
                None
            } else {
                serde_json::to_string(&e.changes).ok().map(Cow::Owned)
            }
        },
    },
    Column {
        name: "metadata",
        cell: |e| {
            if e.metadata.is_empty() {
                None
            } else {
                serde_json::to_string(&e.metadata).ok().map(Cow::Owned)
            }
        },
    },
];

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Appends the header line.
pub fn write_header(out: &mut Vec<u8>) {
    let cells: Vec<Cow<'_, str>> = COLUMNS.iter().map(|c| Cow::Borrowed(c.name)).collect();
    write_row(&cells, out);
}

/// Appends one row per event.
pub fn write_rows(events: &[AuditEvent], out: &mut Vec<u8>) {
    for event in events {
        let cells: Vec<Cow<'_, str>> = COLUMNS
            .iter()
            .map(|c| (c.cell)(event).unwrap_or(Cow::Borrowed("")))
            .collect();
        write_row(&cells, out);
    }
}

fn write_row(cells: &[Cow<'_, str>], out: &mut Vec<u8>) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_cell(cell, out);
    }
    out.extend_from_slice(b"\r\n");
}

/// One cell: neutralised when it could be read as a formula, quoted when RFC 4180 says so.
pub fn write_cell(value: &str, out: &mut Vec<u8>) {
    let inert = value.starts_with(FORMULA_STARTS);
    let quoted = value.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push(b'"');
    }
    if inert {
        out.push(b'\'');
    }
    for byte in value.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if quoted {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str) -> String {
        let mut out = Vec::new();
        write_cell(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(cell("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_are_made_inert() {
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        // Only the first character counts.
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn the_header_is_stable() {
        // Pinned: spreadsheets and scripts address columns by these names and positions.
        let mut out = Vec::new();
        write_header(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "eventId,tenantId,eventType,eventTypeName,category,categoryName,occurredAt,\
             recordedAt,actor.id,actor.name,actor.email,actor.type,actor.ipAddress,\
             actor.userAgent,target.type,target.id,target.name,organizationId,outcome,\
             description,source,correlationId,expiresAt,changes,metadata\r\n"
        );
    }
}
