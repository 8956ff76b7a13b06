//! The ledger routes' contract: their query parameters as [`Param`] descriptors (parsed
//! by the one loop and documented from the same table, as [`super::params`] does for the
//! listing) and their response bodies (docs/api.md, "The ledger").
//!
//! - `GET /api/Audit/{eventId}/proof`: [`InclusionProof`];
//! - `GET /api/Audit/checkpoints`: [`CHECKPOINT_PARAMS`] into [`CheckpointQuery`], answered
//!   by a [`CheckpointList`];
//! - `GET /api/Audit/ledger/entries`: [`ENTRY_PARAMS`] into [`EntryQuery`], answered by
//!   [`LedgerEntries`];
//! - `GET /api/Audit/ledger/keys`: [`LedgerKeys`].

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::IntoParams;

use super::params::values::{
    parse_whole, push, range_bound, range_order, string, Bound, RangeBound, TOKEN_PATTERN,
};
use super::params::{documented, parse_query, Given, Param, ParamDoc, Style};
use super::problem::{InvalidParameters, ParameterError};
use crate::domain::Timestamp;
use audit_ledger::read::MAX_RUN;
pub use audit_ledger::wire::{
    CheckpointEntry, CheckpointList, InclusionProof, LedgerEntries, LedgerKeys, LedgerLeaf,
};

/// `nextToken`: where the next page starts.
pub use super::params::NEXT_TOKEN;
/// `pageSize`: checkpoints per page.
pub use super::params::PAGE_SIZE;
/// `rangeEnd` of the checkpoint listing: its buckets start at or before it.
pub use super::params::RANGE_END;
/// `rangeStart` of the checkpoint listing: its buckets end after it.
pub use super::params::RANGE_START;
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

/// The parameters of `GET /api/Audit/checkpoints`, in the order the OpenAPI document lists
/// them.
pub const CHECKPOINT_PARAMS: &[Param<CheckpointDraft>] = &[
    Param {
        name: RANGE_START,
        multi: false,
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
        parse: |values, draft, errors| {
            draft.range_start = range_bound(RANGE_START, values, Bound::Start, errors);
        },
    },
    Param {
        name: RANGE_END,
        multi: false,
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
        parse: |values, draft, errors| {
            draft.range_end = range_bound(RANGE_END, values, Bound::End, errors);
        },
    },
    Param {
        name: PAGE_SIZE,
        multi: false,
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
        parse: |values, draft, errors| {
            draft.page_size = values
                .first()
                .and_then(|v| push(parse_whole(PAGE_SIZE, v, 1, CHECKPOINT_PAGE_MAX), errors));
        },
    },
    Param {
        name: NEXT_TOKEN,
        multi: false,
        required: false,
        doc: || ParamDoc {
            description:
                "The `nextToken` of the previous page, with the same `rangeStart`, `rangeEnd` and \
                 `withProofs`; opaque (URL-safe base64), encrypted for the caller's tenant and \
                 those parameters."
                    .to_owned(),
            schema: string().max_length(Some(1024)).pattern(Some(TOKEN_PATTERN)),
            example: None,
        },
        // Checked when decoded, against the tenant and the bound parameters.
        parse: |values, draft, _| draft.next_token = values.first().map(|t| t.trim().to_owned()),
    },
    Param {
        name: WITH_PROOFS,
        multi: false,
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
        parse: |values, draft, errors| match values.first().map(|v| v.trim()) {
            None | Some("false") => draft.with_proofs = false,
            Some("true") => draft.with_proofs = true,
            Some(other) => errors.push(ParameterError::new(
                WITH_PROOFS,
                format!("must be true or false (got '{other}')"),
            )),
        },
    },
];

/// The parameters of `GET /api/Audit/ledger/entries`, in the order the OpenAPI document
/// lists them.
pub const ENTRY_PARAMS: &[Param<EntryDraft>] = &[
    Param {
        name: START,
        multi: false,
        required: true,
        doc: || ParamDoc {
            description: "Index of the first leaf (0 is the tenant's first event sealed)."
                .to_owned(),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
            example: Some(json!(0)),
        },
        parse: |values, draft, errors| {
            draft.start = values
                .first()
                .and_then(|v| push(whole_u64(START, v, 0), errors));
        },
    },
    Param {
        name: END,
        multi: false,
        required: false,
        doc: || ParamDoc {
            description: format!(
                "Index after the last leaf: greater than `start` (else 400 naming `end`), at most \
                 `start + {MAX_RUN}` and the latest checkpoint's tree size (both the default)."
            ),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
            example: None,
        },
        parse: |values, draft, errors| {
            draft.end = values
                .first()
                .and_then(|v| push(whole_u64(END, v, 1), errors));
        },
    },
];

/// The checkpoint listing's request as its parameters build it ([`CHECKPOINT_PARAMS`] fill
/// it in).
#[derive(Default)]
pub struct CheckpointDraft {
    range_start: Option<RangeBound>,
    range_end: Option<RangeBound>,
    page_size: Option<u32>,
    next_token: Option<String>,
    with_proofs: bool,
}

/// A run of entries as its parameters give it ([`ENTRY_PARAMS`] fill it in).
#[derive(Default)]
pub struct EntryDraft {
    start: Option<u64>,
    end: Option<u64>,
}

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

/// A leaf index: a whole number from `min`, below 2^53 so that every JSON reader holds it
/// exactly.
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
    parse_query(CHECKPOINT_PARAMS, pairs, |draft, _: &Given, errors| {
        range_order(draft.range_start.as_ref(), draft.range_end.as_ref(), errors);
        CheckpointQuery {
            range_start: draft.range_start.map(|bound| bound.key),
            range_end: draft.range_end.map(|bound| bound.key),
            page_size: draft.page_size.unwrap_or(CHECKPOINT_PAGE_DEFAULT),
            next_token: draft.next_token,
            with_proofs: draft.with_proofs,
        }
    })
}

/// Parses the query parameters of `GET /api/Audit/ledger/entries`.
pub fn parse_entry_query(pairs: &[(String, String)]) -> Result<EntryQuery, InvalidParameters> {
    parse_query(ENTRY_PARAMS, pairs, |draft, _: &Given, errors| {
        if let (Some(s), Some(e)) = (draft.start, draft.end) {
            if e <= s {
                errors.push(ParameterError::new(
                    END,
                    format!("must be greater than start (start={s}, end={e})"),
                ));
            }
        }
        EntryQuery {
            // `start` is required: without it the loop has refused the request already.
            start: draft.start.unwrap_or_default(),
            end: draft.end,
        }
    })
}

/// Documents the parameters of `GET /api/Audit/checkpoints`.
pub struct CheckpointParams;

impl IntoParams for CheckpointParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        documented(CHECKPOINT_PARAMS, Style::Default)
    }
}

/// Documents the parameters of `GET /api/Audit/ledger/entries`.
pub struct EntryParams;

impl IntoParams for EntryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        documented(ENTRY_PARAMS, Style::Default)
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

    #[test]
    fn the_checkpoint_range_order_is_the_listings_rule() {
        let query = "rangeStart=2026-11-27&rangeEnd=2026-11-26";
        let checkpoints = parse_checkpoint_query(&pairs(query)).unwrap_err().0;
        let list = crate::api::parse_list_query(&pairs(query)).unwrap_err().0;
        assert_eq!(checkpoints, list);
        assert_eq!(
            checkpoints[1].message,
            "must not be earlier than rangeStart (rangeStart=2026-11-27 is later than rangeEnd=2026-11-26)"
        );
    }

    #[test]
    fn a_missing_start_is_required_and_a_repeated_one_is_refused_once() {
        let err = parse_entry_query(&pairs("end=3")).unwrap_err().0;
        assert_eq!(
            (err[0].parameter.as_str(), err[0].message.as_str()),
            ("start", "is required")
        );
        let err = parse_entry_query(&pairs("start=1&start=2&start=3"))
            .unwrap_err()
            .0;
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].message, "must be given at most once");
        let err = parse_checkpoint_query(&pairs("withProofs=")).unwrap_err().0;
        assert_eq!(
            err[0].message,
            "must not be empty (leave the parameter out instead)"
        );
    }
}
