//! The feed's contract (`GET /api/Audit/feed`): its query parameters as descriptors, parsed
//! and documented from the same table as the ledger routes' ([`super::ledger::LedgerParam`]),
//! and its response body [`FeedPage`] (docs/api.md, "The feed").
//!
//! `category`, `eventType`, `pageSize` and `format` follow exactly the listing's rules: they
//! are parsed by [`super::parse_list_query`], so that a value the listing refuses the feed
//! refuses alike, with the same message.

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use super::ledger::{into_params, LedgerParam};
use super::params::{string, ParamDoc, CATEGORY, EVENT_TYPE, FORMAT, LIST_PARAMS, PAGE_SIZE};
use super::problem::{InvalidParameters, ParameterError};
use crate::catalog::{CategoryCode, EventTypeCode};
use crate::domain::AuditEvent;
use crate::format::Format;

/// `cursor`: where the feed resumes.
pub const CURSOR: &str = "cursor";

/// Longest `cursor` accepted; genuine cursors are far shorter.
const MAX_CURSOR_CHARS: usize = 1024;

fn list_doc(name: &str) -> ParamDoc {
    LIST_PARAMS.iter().find(|p| p.name == name).map_or_else(
        || ParamDoc {
            description: String::new(),
            schema: string(),
            example: None,
        },
        |p| (p.doc)(),
    )
}

/// The parameters of `GET /api/Audit/feed`.
pub const FEED_PARAMS: &[LedgerParam] = &[
    LedgerParam {
        name: CURSOR,
        required: false,
        doc: || {
            ParamDoc {
            description: "The `nextCursor` of the previous response, with the same `category` and `eventType`. \
                 Omitted: from the tenant's first sealed event. Opaque and signed for the caller's tenant, \
                 organization scope and filters: an altered or foreign cursor, or one reused with other \
                 filters, is a 400 naming `cursor`. A cursor stays valid for as long as events are retained."
                .to_owned(),
            schema: string().max_length(Some(MAX_CURSOR_CHARS)),
            example: None,
        }
        },
    },
    LedgerParam {
        name: PAGE_SIZE,
        required: false,
        doc: || {
            let mut doc = list_doc(PAGE_SIZE);
            doc.description = format!(
                "{} The feed stops at the read budget likewise: follow `nextCursor`.",
                doc.description.replace("`nextToken`", "`nextCursor`")
            );
            doc
        },
    },
    LedgerParam {
        name: CATEGORY,
        required: false,
        doc: || {
            let mut doc = list_doc(CATEGORY);
            doc.example = None;
            doc
        },
    },
    LedgerParam {
        name: EVENT_TYPE,
        required: false,
        doc: || list_doc(EVENT_TYPE),
    },
    LedgerParam {
        name: FORMAT,
        required: false,
        doc: || {
            ParamDoc {
            description: format!(
                "The response's format, as on the listing: `json` (the page object), `ndjson`, `csv` or `ocsf`; \
                 wins over `Accept`. In every format the `X-Next-Cursor`, `X-Has-More` and (when caught up) \
                 `Retry-After` headers carry what the JSON body says; the format takes no part in the cursor. \
                 Allowed: {}.",
                Format::names()
            ),
            schema: string().enum_values(Some(Format::ALL.map(Format::name))),
            example: None,
        }
        },
    },
];

/// A validated `GET /api/Audit/feed` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// The cursor of the previous response, if any.
    pub cursor: Option<String>,
    /// Events per page.
    pub page_size: u32,
    /// Categories to keep (empty: any).
    pub categories: Vec<CategoryCode>,
    /// Event types to keep (empty: any); restricted to `categories` when both were given.
    pub event_types: Vec<EventTypeCode>,
    /// The format the `format` parameter asked for (`None`: as `Accept` says).
    pub format: Option<Format>,
}

impl FeedQuery {
    /// Whether `event` passes the filters.
    pub fn keeps(&self, event: &AuditEvent) -> bool {
        (self.categories.is_empty() || self.categories.contains(&event.category))
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
    }

    /// What a cursor is bound to besides the tenant and the scope: the filters.
    pub fn binding(&self) -> String {
        let join = |codes: Vec<String>| codes.join(",");
        format!(
            "feed|c={}|t={}",
            join(self.categories.iter().map(ToString::to_string).collect()),
            join(self.event_types.iter().map(ToString::to_string).collect())
        )
    }
}

/// Parses the query parameters of `GET /api/Audit/feed`; every broken rule is reported,
/// each naming its parameter.
pub fn parse_feed_query(pairs: &[(String, String)]) -> Result<FeedQuery, InvalidParameters> {
    let mut errors = Vec::new();
    let mut cursor = None;
    let mut shared = Vec::new();
    for (name, value) in pairs {
        match FEED_PARAMS.iter().find(|p| p.name == name.as_str()) {
            None => {
                let names: Vec<&str> = FEED_PARAMS.iter().map(|p| p.name).collect();
                let hint = FEED_PARAMS
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
            }
            Some(p) if p.name == CURSOR => {
                if cursor.is_some() {
                    errors.push(ParameterError::new(CURSOR, "must be given at most once"));
                } else if value.trim().is_empty() {
                    errors.push(ParameterError::new(
                        CURSOR,
                        "must not be empty (leave the parameter out instead)",
                    ));
                } else if value.chars().count() > MAX_CURSOR_CHARS {
                    errors.push(ParameterError::new(
                        CURSOR,
                        format!("must be at most {MAX_CURSOR_CHARS} characters long"),
                    ));
                } else {
                    cursor = Some(value.trim().to_owned());
                }
            }
            Some(_) => shared.push((name.clone(), value.clone())),
        }
    }
    let listed = match super::parse_list_query(&shared) {
        Ok(q) => Some(q),
        Err(e) => {
            errors.extend(e.0);
            None
        }
    };
    match (listed, errors.is_empty()) {
        (Some(q), true) => Ok(FeedQuery {
            cursor,
            page_size: q.paging.page_size,
            categories: q.filters.categories,
            event_types: q.filters.event_types,
            format: q.format,
        }),
        _ => Err(InvalidParameters(errors)),
    }
}

/// Documents the parameters of `GET /api/Audit/feed`.
pub struct FeedParams;

impl IntoParams for FeedParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        into_params(FEED_PARAMS)
    }
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    /// The events, in the order the service recorded and sealed them (leaf order).
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` (with the same filters) for what follows; always present, also
    /// when nothing is new.
    pub next_cursor: String,
    /// Whether sealed events past `nextCursor` are already there (ask again at once);
    /// false when the feed is caught up.
    #[schema(example = false)]
    pub has_more: bool,
    /// When caught up: seconds to wait before asking again (about the sealing delay);
    /// absent while `hasMore` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 60)]
    pub retry_after_seconds: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
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
    fn feed_parameters_follow_the_listing_rules_and_name_every_bad_one() {
        let q = parse_feed_query(&pairs("category=200&pageSize=10&cursor=abc&format=csv")).unwrap();
        assert_eq!(q.page_size, 10);
        assert_eq!(q.cursor.as_deref(), Some("abc"));
        assert_eq!(q.format, Some(Format::Csv));
        assert_eq!(q.categories.len(), 1);
        let err = parse_feed_query(&pairs(
            "category=0&pageSize=0&cursor=&rangeStart=2024-01-01&Cursor=x",
        ))
        .unwrap_err();
        let named: Vec<&str> = err.0.iter().map(|e| e.parameter.as_str()).collect();
        for name in ["category", "pageSize", "cursor", "rangeStart", "Cursor"] {
            assert!(named.contains(&name), "{name} in {named:?}");
        }
    }

    #[test]
    fn the_binding_changes_with_the_filters_only() {
        let a = parse_feed_query(&pairs("category=200")).unwrap();
        let b = parse_feed_query(&pairs("category=200&eventType=202")).unwrap();
        let c = parse_feed_query(&pairs("category=200&pageSize=3&format=ndjson")).unwrap();
        assert_ne!(a.binding(), b.binding());
        assert_eq!(a.binding(), c.binding());
    }
}
