//! The ledger routes' contract: their query parameters as descriptors (parsed and
//! documented from the same table, as [`super::params`] does for the listing) and their
//! response bodies (docs/api.md, "The ledger").
//!
//! - `GET /api/Audit/{eventId}/proof`: [`InclusionProof`];
//! - `GET /api/Audit/checkpoints`: [`CHECKPOINT_PARAMS`] into [`CheckpointQuery`], answered
//!   by a [`CheckpointList`];
//! - `GET /api/Audit/ledger/entries`: [`ENTRY_PARAMS`] into [`EntryQuery`], answered by
//!   [`LedgerEntries`];
//! - `GET /api/Audit/ledger/keys`: [`LedgerKeys`].

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::params::{parse_bound, parse_whole, string, Bound, ParamDoc};
use super::problem::{InvalidParameters, ParameterError};
use crate::domain::Timestamp;
use audit_ledger::read::MAX_RUN;
pub use audit_ledger::wire::{
    CheckpointEntry, CheckpointList, InclusionProof, LedgerEntries, LedgerKeys, LedgerLeaf,
};

/// `rangeStart` of the checkpoint listing: its buckets end after it.
pub const RANGE_START: &str = "rangeStart";
/// `rangeEnd` of the checkpoint listing: its buckets start at or before it.
pub const RANGE_END: &str = "rangeEnd";
/// `pageSize`: checkpoints per page.
pub const PAGE_SIZE: &str = "pageSize";
/// `nextToken`: where the next page starts.
pub const NEXT_TOKEN: &str = "nextToken";
/// `withProofs`: add each checkpoint's consistency proof.
pub const WITH_PROOFS: &str = "withProofs";
/// `start`: the first leaf index of a run of entries.
pub const START: &str = "start";
/// `end`: the leaf index after the last of a run of entries.
pub const END: &str = "end";

/// Checkpoints per page when `pageSize` is not given.
pub const CHECKPOINT_PAGE_DEFAULT: u32 = 100;
/// Most checkpoints per page (each may carry a proof of `O(log n)` tiles).
pub const CHECKPOINT_PAGE_MAX: u32 = 500;

/// One query parameter of a ledger route: its name and documentation (parsing is the
/// route's `parse_*` function, which reads these names).
pub struct LedgerParam {
    /// The name, case-sensitive.
    pub name: &'static str,
    /// Whether the route needs it.
    pub required: bool,
    /// Its description, schema and example for the OpenAPI document.
    pub doc: fn() -> ParamDoc,
}

/// The parameters of `GET /api/Audit/checkpoints`.
pub const CHECKPOINT_PARAMS: &[LedgerParam] = &[
    LedgerParam {
        name: RANGE_START,
        required: false,
        doc: || {
            ParamDoc {
            description: "Checkpoints of the buckets (minutes of `recordedAt`, server time) that end after this instant: \
                 an RFC 3339 date-time or a plain date (its first millisecond). Omitted: from the first checkpoint."
                .to_owned(),
            schema: string(),
            example: None,
        }
        },
    },
    LedgerParam {
        name: RANGE_END,
        required: false,
        doc: || {
            ParamDoc {
            description: "Checkpoints of the buckets that start at or before this instant (a plain date: its last \
                 millisecond). Omitted: up to the latest. Earlier than `rangeStart`: 400 naming both."
                .to_owned(),
            schema: string(),
            example: None,
        }
        },
    },
    LedgerParam {
        name: PAGE_SIZE,
        required: false,
        doc: || {
            ParamDoc {
            description: format!(
                "Checkpoints per page, 1 to {CHECKPOINT_PAGE_MAX} (default {CHECKPOINT_PAGE_DEFAULT})."
            ),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(CHECKPOINT_PAGE_MAX))
                .default(Some(json!(CHECKPOINT_PAGE_DEFAULT))),
            example: None,
        }
        },
    },
    LedgerParam {
        name: NEXT_TOKEN,
        required: false,
        doc: || ParamDoc {
            description:
                "The `nextToken` of the previous page, with the same `rangeStart`, `rangeEnd` and \
                 `withProofs`; signed for the caller's tenant and those parameters."
                    .to_owned(),
            schema: string().max_length(Some(1024)),
            example: None,
        },
    },
    LedgerParam {
        name: WITH_PROOFS,
        required: false,
        doc: || {
            ParamDoc {
            description: "`true`: each checkpoint carries `consistencyProof`, the RFC 9162 consistency proof from \
                 the tree of `firstIndex` leaves (the previous checkpoint's) to its own. Default `false`."
                .to_owned(),
            schema: ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .default(Some(json!(false))),
            example: None,
        }
        },
    },
];

/// The parameters of `GET /api/Audit/ledger/entries`.
pub const ENTRY_PARAMS: &[LedgerParam] = &[
    LedgerParam {
        name: START,
        required: true,
        doc: || ParamDoc {
            description: "Index of the first leaf (0 is the tenant's first event sealed)."
                .to_owned(),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
            example: Some(json!(0)),
        },
    },
    LedgerParam {
        name: END,
        required: false,
        doc: || {
            ParamDoc {
            description: format!(
                "Index after the last leaf, at most `start + {MAX_RUN}` and the latest checkpoint's tree size \
                 (both the default)."
            ),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
            example: None,
        }
        },
    },
];

/// A validated `GET /api/Audit/checkpoints` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointQuery {
    /// Lower bound on the bucket's end (exclusive), if any.
    pub range_start: Option<Timestamp>,
    /// Upper bound on the bucket's start (inclusive), if any.
    pub range_end: Option<Timestamp>,
    /// Checkpoints per page.
    pub page_size: u32,
    /// The token of the previous page.
    pub next_token: Option<String>,
    /// Whether to add consistency proofs.
    pub with_proofs: bool,
}

impl CheckpointQuery {
    /// What a `nextToken` is bound to besides the tenant: the range and `withProofs`.
    pub fn binding(&self) -> String {
        format!(
            "checkpoints|{}|{}|{}",
            self.range_start
                .map(|t| t.to_key_string())
                .unwrap_or_default(),
            self.range_end
                .map(|t| t.to_key_string())
                .unwrap_or_default(),
            self.with_proofs
        )
    }
}

/// A validated `GET /api/Audit/ledger/entries` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryQuery {
    /// First leaf index.
    pub start: u64,
    /// Index after the last leaf, if given.
    pub end: Option<u64>,
}

/// The given parameters by name, refusing unknown, repeated and empty ones.
fn collect<'a>(
    pairs: &'a [(String, String)],
    known: &[LedgerParam],
    errors: &mut Vec<ParameterError>,
) -> Vec<(&'static str, &'a str)> {
    let mut seen: Vec<(&'static str, &'a str)> = Vec::new();
    for (name, value) in pairs {
        let Some(param) = known.iter().find(|p| p.name == name.as_str()) else {
            let names: Vec<&str> = known.iter().map(|p| p.name).collect();
            let hint = known
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
                .map(|p| format!(" Did you mean {}? Names are case-sensitive.", p.name))
                .unwrap_or_default();
            errors.push(ParameterError::new(
                name,
                format!(
                    "is not a known parameter (known: {}).{hint}",
                    names.join(", ")
                ),
            ));
            continue;
        };
        if seen.iter().any(|(n, _)| *n == param.name) {
            if !errors.iter().any(|e| e.parameter == param.name) {
                errors.push(ParameterError::new(
                    param.name,
                    "must be given at most once",
                ));
            }
            continue;
        }
        if value.trim().is_empty() {
            errors.push(ParameterError::new(
                param.name,
                "must not be empty (leave the parameter out instead)",
            ));
            continue;
        }
        seen.push((param.name, value.as_str()));
    }
    for param in known.iter().filter(|p| p.required) {
        if !seen.iter().any(|(n, _)| *n == param.name)
            && !errors.iter().any(|e| e.parameter == param.name)
        {
            errors.push(ParameterError::new(param.name, "is required"));
        }
    }
    seen
}

fn given<'a>(seen: &[(&'static str, &'a str)], name: &str) -> Option<&'a str> {
    seen.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn whole_u64(parameter: &str, value: &str, min: u64) -> Result<u64, ParameterError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min && *n < (1 << 53))
        .ok_or_else(|| {
            ParameterError::new(
                parameter,
                format!("must be a whole number of at least {min} (got '{value}')"),
            )
        })
}

/// Parses the query parameters of `GET /api/Audit/checkpoints`; every broken rule is
/// reported, each naming its parameter.
pub fn parse_checkpoint_query(
    pairs: &[(String, String)],
) -> Result<CheckpointQuery, InvalidParameters> {
    let mut errors = Vec::new();
    let seen = collect(pairs, CHECKPOINT_PARAMS, &mut errors);
    let mut bound = |name: &str, which: Bound| {
        given(&seen, name).and_then(|v| match parse_bound(name, v, which) {
            Ok((key, exact)) => Some((key, exact, v.trim().to_owned())),
            Err(e) => {
                errors.push(e);
                None
            }
        })
    };
    let start = bound(RANGE_START, Bound::Start);
    let end = bound(RANGE_END, Bound::End);
    if let (Some((_, s, st)), Some((_, e, et))) = (&start, &end) {
        if e < s {
            let both = format!("rangeStart={st} is later than rangeEnd={et}");
            errors.push(ParameterError::new(
                RANGE_START,
                format!("must not be later than rangeEnd ({both})"),
            ));
            errors.push(ParameterError::new(
                RANGE_END,
                format!("must not be earlier than rangeStart ({both})"),
            ));
        }
    }
    let page_size = match given(&seen, PAGE_SIZE) {
        Some(v) => parse_whole(PAGE_SIZE, v, 1, CHECKPOINT_PAGE_MAX)
            .map_err(|e| errors.push(e))
            .unwrap_or(CHECKPOINT_PAGE_DEFAULT),
        None => CHECKPOINT_PAGE_DEFAULT,
    };
    let with_proofs = match given(&seen, WITH_PROOFS).map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.push(ParameterError::new(
                WITH_PROOFS,
                format!("must be true or false (got '{other}')"),
            ));
            false
        }
    };
    if errors.is_empty() {
        Ok(CheckpointQuery {
            range_start: start.map(|(k, _, _)| k),
            range_end: end.map(|(k, _, _)| k),
            page_size,
            next_token: given(&seen, NEXT_TOKEN).map(|t| t.trim().to_owned()),
            with_proofs,
        })
    } else {
        Err(InvalidParameters(errors))
    }
}

/// Parses the query parameters of `GET /api/Audit/ledger/entries`.
pub fn parse_entry_query(pairs: &[(String, String)]) -> Result<EntryQuery, InvalidParameters> {
    let mut errors = Vec::new();
    let seen = collect(pairs, ENTRY_PARAMS, &mut errors);
    let start =
        given(&seen, START).and_then(|v| whole_u64(START, v, 0).map_err(|e| errors.push(e)).ok());
    let end = given(&seen, END).and_then(|v| whole_u64(END, v, 1).map_err(|e| errors.push(e)).ok());
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(ParameterError::new(
                END,
                format!("must be greater than start (start={s}, end={e})"),
            ));
        }
    }
    match (start, errors.is_empty()) {
        (Some(start), true) => Ok(EntryQuery { start, end }),
        _ => Err(InvalidParameters(errors)),
    }
}

pub(crate) fn into_params(params: &[LedgerParam]) -> Vec<Parameter> {
    params
        .iter()
        .map(|param| {
            let doc = (param.doc)();
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(ParameterIn::Query)
                .required(if param.required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(doc.description))
                .schema(Some(doc.schema))
                .example(doc.example)
                .build()
        })
        .collect()
}

/// Documents the parameters of `GET /api/Audit/checkpoints`.
pub struct CheckpointParams;

impl IntoParams for CheckpointParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        into_params(CHECKPOINT_PARAMS)
    }
}

/// Documents the parameters of `GET /api/Audit/ledger/entries`.
pub struct EntryParams;

impl IntoParams for EntryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        into_params(ENTRY_PARAMS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        form_pairs(query)
    }

    fn form_pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (p.to_owned(), String::new()),
            })
            .collect()
    }

    #[test]
    fn checkpoint_parameters_parse_and_every_bad_one_is_named() {
        let q = parse_checkpoint_query(&pairs("rangeStart=2026-11-26&pageSize=10&withProofs=true"))
            .unwrap();
        assert_eq!(q.page_size, 10);
        assert!(q.with_proofs);
        assert_eq!(
            q.range_start.unwrap().to_key_string(),
            "2026-11-26T00:00:00.000Z"
        );
        let err = parse_checkpoint_query(&pairs(
            "rangeStart=2026-11-27&rangeEnd=2026-11-26&pageSize=0&withProofs=yes&rangestart=x",
        ))
        .unwrap_err();
        let named: Vec<&str> = err.0.iter().map(|e| e.parameter.as_str()).collect();
        for name in [
            "rangestart",
            "rangeStart",
            "rangeEnd",
            "pageSize",
            "withProofs",
        ] {
            assert!(named.contains(&name), "{name} in {named:?}");
        }
    }

    #[test]
    fn entry_parameters_need_a_start_before_the_end() {
        assert_eq!(
            parse_entry_query(&pairs("start=5")).unwrap(),
            EntryQuery {
                start: 5,
                end: None
            }
        );
        let err = parse_entry_query(&pairs("end=3")).unwrap_err();
        assert_eq!(err.0[0].parameter, "start");
        let err = parse_entry_query(&pairs("start=5&end=5")).unwrap_err();
        assert_eq!(err.0[0].parameter, "end");
        let err = parse_entry_query(&pairs("start=-1")).unwrap_err();
        assert_eq!(err.0[0].parameter, "start");
    }

    #[test]
    fn the_token_binding_changes_with_every_bound_parameter() {
        let a = parse_checkpoint_query(&pairs("rangeStart=2026-11-26")).unwrap();
        let b = parse_checkpoint_query(&pairs("rangeStart=2026-11-26&withProofs=true")).unwrap();
        let c = parse_checkpoint_query(&pairs("rangeStart=2026-11-26&pageSize=3")).unwrap();
        assert_ne!(a.binding(), b.binding());
        assert_eq!(a.binding(), c.binding());
    }
}
