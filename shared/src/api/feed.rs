//! The feed's contract (`GET /api/Audit/feed`): its query parameters as [`Param`]
//! descriptors in [`FEED_PARAMS`], parsed by the one loop ([`parse_query`]) and documented
//! from the same table, and its response body [`FeedPage`] (docs/api.md, "The feed").
//!
//! `category`, `eventType`, `pageSize` and `format` follow exactly the listing's rules: their
//! descriptors parse with the listing's functions (`params::shared`, `params::values`), so
//! that a value the listing refuses the feed refuses alike, with the same message.
//!
//! Adding a parameter: one entry in [`FEED_PARAMS`] (its parse function sets a field of
//! [`FeedDraft`], read in `finish`).

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use super::params::shared::{
    categories, doc_category, doc_event_type, doc_page_size, event_types, intersect, page_size,
};
use super::params::values::{self, string, TOKEN_PATTERN};
use super::params::{
    documented, parse_query, Given, Param, ParamDoc, Style, CATEGORY, EVENT_TYPE, FORMAT, PAGE_SIZE,
};
use super::problem::{InvalidParameters, ParameterError};
use crate::catalog::{CategoryCode, EventTypeCode};
use crate::domain::AuditEvent;
use crate::format::Format;
use crate::limits::PAGE_SIZE_DEFAULT;

/// `cursor`: where the feed resumes.
pub const CURSOR: &str = "cursor";

/// Longest `cursor` accepted; genuine cursors are far shorter.
const MAX_CURSOR_CHARS: usize = 1024;

/// The parameters of `GET /api/Audit/feed`, in the order the OpenAPI document lists them.
pub const FEED_PARAMS: &[Param<FeedDraft>] = &[
    Param {
        name: CURSOR,
        multi: false,
        required: false,
        doc: || {
            ParamDoc {
            description: "The `nextCursor` of the previous response, with the same `category` and `eventType`. \
                 Omitted: from the tenant's first sealed event. Opaque (URL-safe base64), encrypted for the caller's tenant, \
                 organization scope and filters: an altered or foreign cursor, or one reused with other \
                 filters, is a 400 naming `cursor`. A cursor stays valid for as long as events are retained."
                .to_owned(),
            schema: string()
                .max_length(Some(MAX_CURSOR_CHARS))
                .pattern(Some(TOKEN_PATTERN)),
            example: None,
        }
        },
        parse: |values, draft, errors| {
            let Some(value) = values.first() else {
                return;
            };
            if value.chars().count() > MAX_CURSOR_CHARS {
                errors.push(ParameterError::new(
                    CURSOR,
                    format!("must be at most {MAX_CURSOR_CHARS} characters long"),
                ));
            } else {
                draft.cursor = Some(value.trim().to_owned());
            }
        },
    },
    Param {
        name: PAGE_SIZE,
        multi: false,
        required: false,
        doc: || {
            let mut doc = doc_page_size();
            doc.description = format!(
                "{} The feed stops at the read budget likewise: follow `nextCursor`.",
                doc.description.replace("`nextToken`", "`nextCursor`")
            );
            doc
        },
        parse: |values, draft, errors| draft.page_size = page_size(values, errors),
    },
    Param {
        name: CATEGORY,
        multi: true,
        required: false,
        doc: || {
            let mut doc = doc_category();
            // Only the listing's first example request pre-fills a value.
            doc.example = None;
            doc
        },
        parse: |values, draft, errors| draft.categories = categories(values, errors),
    },
    Param {
        name: EVENT_TYPE,
        multi: true,
        required: false,
        doc: doc_event_type,
        parse: |values, draft, errors| draft.event_types = event_types(values, errors),
    },
    Param {
        name: FORMAT,
        multi: false,
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
        parse: |values, draft, errors| draft.format = values::format(FORMAT, values, errors),
    },
];

/// The feed's request as its parameters build it ([`FEED_PARAMS`] fill it in).
#[derive(Default)]
pub struct FeedDraft {
    cursor: Option<String>,
    page_size: Option<u32>,
    categories: Vec<CategoryCode>,
    event_types: Vec<EventTypeCode>,
    format: Option<Format>,
}

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
    parse_query(FEED_PARAMS, pairs, finish)
}

/// The rule that spans parameters (the listing's category and event-type intersection),
/// then the query.
fn finish(mut draft: FeedDraft, _: &Given, errors: &mut Vec<ParameterError>) -> FeedQuery {
    intersect(&draft.categories, &mut draft.event_types, errors);
    FeedQuery {
        cursor: draft.cursor,
        page_size: draft.page_size.unwrap_or(PAGE_SIZE_DEFAULT),
        categories: draft.categories,
        event_types: draft.event_types,
        format: draft.format,
    }
}

/// Documents the parameters of `GET /api/Audit/feed`.
pub struct FeedParams;

impl IntoParams for FeedParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        documented(FEED_PARAMS, Style::Default)
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

    #[test]
    fn a_value_the_listing_refuses_the_feed_refuses_with_the_same_message() {
        for query in [
            "category=0",
            "eventType=999",
            "pageSize=1001",
            "format=xml",
            "category=100&eventType=202",
            "pageSize=",
            "pageSize=1&pageSize=2",
        ] {
            let feed = parse_feed_query(&pairs(query)).unwrap_err().0;
            let list = crate::api::parse_list_query(&pairs(query)).unwrap_err().0;
            assert_eq!(feed, list, "{query}");
        }
        // The unknown-parameter rule names the feed's own parameters.
        let err = parse_feed_query(&pairs("Cursor=x")).unwrap_err().0;
        let known: Vec<&str> = FEED_PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(
            err[0].message,
            format!(
                "is not a known parameter (known: {}). Did you mean cursor? Names are case-sensitive.",
                known.join(", ")
            )
        );
        assert!(known.starts_with(&["cursor", "pageSize", "category", "eventType", "format"]));
        let long = "c".repeat(1025);
        let err = parse_feed_query(&pairs(&format!("cursor={long}")))
            .unwrap_err()
            .0;
        assert_eq!(err[0].message, "must be at most 1024 characters long");
    }
}
