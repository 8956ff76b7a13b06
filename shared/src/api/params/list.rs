//! `GET /api/Audit`'s query parameters: one [`Param`] descriptor each in [`LIST_PARAMS`],
//! parsed by the one loop ([`super::descriptor::parse_query`]) into an [`AuditQuery`] and documented
//! from the same table ([`ListEventsParams`]).
//!
//! The listing's rules that span parameters (a range's order, a target's two halves, the
//! category and event-type intersection, how deep a page number may go) run once every
//! parameter is parsed, in `finish`.
//!
//! Adding a filter: one entry in [`LIST_PARAMS`] (its parse function sets a field of
//! [`Filters`]), the field in [`Filters`], and, for an indexed filter, the planner's rule.

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::IntoParams;

use super::shared::{
    categories, doc_category, doc_event_type, doc_page_size, event_types, intersect, page_size,
};
use super::values::{
    self, free_text, identifier, parse_whole, push, range_bound, range_order, string, Bound,
    RangeBound,
};
use super::{
    documented, parse_query, Given, Param, ParamDoc, Style, ACTOR_ID, CATEGORY, EVENT_TYPE, FORMAT,
    NEXT_TOKEN, ORDER, ORGANIZATION_ID, OUTCOME, PAGE_NUMBER, PAGE_SIZE, RANGE_END, RANGE_START,
    TARGET_ID, TARGET_TYPE,
};
use crate::api::problem::{InvalidParameters, ParameterError};
use crate::domain::{Identifier, Outcome, TargetRef};
use crate::format::Format;
use crate::limits::{MAX_PAGE_OFFSET, MAX_SHORT_TEXT_CHARS, PAGE_SIZE_DEFAULT};
use crate::query::{Filters, PageStart, Paging};
use crate::store::Order;

/// Every parameter `GET /api/Audit` accepts, in the order the OpenAPI document lists them.
pub const LIST_PARAMS: &[Param<Draft>] = &[
    Param {
        name: CATEGORY,
        multi: true,
        required: false,
        doc: doc_category,
        parse: |values, draft, errors| draft.filters.categories = categories(values, errors),
    },
    Param {
        name: EVENT_TYPE,
        multi: true,
        required: false,
        doc: doc_event_type,
        parse: |values, draft, errors| draft.filters.event_types = event_types(values, errors),
    },
    Param {
        name: RANGE_START,
        multi: false,
        required: false,
        doc: doc_range_start,
        parse: |values, draft, errors| {
            draft.range_start = range_bound(RANGE_START, values, Bound::Start, errors);
        },
    },
    Param {
        name: RANGE_END,
        multi: false,
        required: false,
        doc: doc_range_end,
        parse: |values, draft, errors| {
            draft.range_end = range_bound(RANGE_END, values, Bound::End, errors);
        },
    },
    Param {
        name: PAGE_SIZE,
        multi: false,
        required: false,
        doc: doc_page_size,
        parse: |values, draft, errors| draft.page_size = page_size(values, errors),
    },
    Param {
        name: PAGE_NUMBER,
        multi: false,
        required: false,
        doc: doc_page_number,
        parse: parse_page_number,
    },
    Param {
        name: NEXT_TOKEN,
        multi: false,
        required: false,
        doc: doc_next_token,
        parse: parse_next_token,
    },
    Param {
        name: ORDER,
        multi: false,
        required: false,
        doc: doc_order,
        parse: parse_order,
    },
    Param {
        name: ACTOR_ID,
        multi: false,
        required: false,
        doc: doc_actor_id,
        parse: parse_actor_id,
    },
    Param {
        name: TARGET_TYPE,
        multi: false,
        required: false,
        doc: doc_target_type,
        parse: parse_target_type,
    },
    Param {
        name: TARGET_ID,
        multi: false,
        required: false,
        doc: doc_target_id,
        parse: parse_target_id,
    },
    Param {
        name: ORGANIZATION_ID,
        multi: false,
        required: false,
        doc: doc_organization_id,
        parse: parse_organization_id,
    },
    Param {
        name: OUTCOME,
        multi: false,
        required: false,
        doc: doc_outcome,
        parse: parse_outcome,
    },
    Param {
        name: FORMAT,
        multi: false,
        required: false,
        doc: doc_format,
        parse: |values, draft, errors| draft.format = values::format(FORMAT, values, errors),
    },
];

/// Longest `nextToken` accepted; genuine tokens are far shorter.
const MAX_TOKEN_CHARS: usize = 1024;

/// A validated `GET /api/Audit` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// What to keep.
    pub filters: Filters,
    /// Which page.
    pub paging: Paging,
    /// The format the `format` parameter asked for (`None`: as `Accept` says). Not a
    /// filter: the same listing may be read in any format, and its continuation tokens do
    /// not depend on it.
    pub format: Option<Format>,
}

/// The listing's request as its parameters build it, before the rules that span
/// parameters ([`LIST_PARAMS`] fill it in).
#[derive(Default)]
pub struct Draft {
    filters: Filters,
    range_start: Option<RangeBound>,
    range_end: Option<RangeBound>,
    page_size: Option<u32>,
    page_number: Option<u32>,
    next_token: Option<String>,
    target_type: Option<Identifier>,
    target_id: Option<String>,
    format: Option<Format>,
}

/// Parses the query parameters of `GET /api/Audit`, given as decoded (name, value) pairs
/// in request order. Every broken rule is reported, each naming its parameter.
pub fn parse_list_query(pairs: &[(String, String)]) -> Result<AuditQuery, InvalidParameters> {
    parse_query(LIST_PARAMS, pairs, finish)
}

/// The rules that span parameters, then the query.
fn finish(mut draft: Draft, given: &Given, errors: &mut Vec<ParameterError>) -> AuditQuery {
    let filters = &mut draft.filters;
    intersect(&filters.categories, &mut filters.event_types, errors);
    range_order(draft.range_start.as_ref(), draft.range_end.as_ref(), errors);
    filters.range_start = draft.range_start.map(|bound| bound.key);
    filters.range_end = draft.range_end.map(|bound| bound.key);
    match (draft.target_type, draft.target_id) {
        (Some(target_type), Some(id)) => filters.target = Some(TargetRef { target_type, id }),
        _ => {
            if given.has(TARGET_TYPE) && !given.has(TARGET_ID) {
                errors.push(ParameterError::new(
                    TARGET_ID,
                    "is required with targetType (a target is a type and an id)",
                ));
            }
            if given.has(TARGET_ID) && !given.has(TARGET_TYPE) {
                errors.push(ParameterError::new(
                    TARGET_TYPE,
                    "is required with targetId (a target is a type and an id)",
                ));
            }
        }
    }
    let page_size = draft.page_size.unwrap_or(PAGE_SIZE_DEFAULT);
    let page_number = draft.page_number.unwrap_or(1);
    if draft.next_token.is_none() {
        let skipped = u64::from(page_number.saturating_sub(1)) * u64::from(page_size);
        if skipped > MAX_PAGE_OFFSET {
            errors.push(ParameterError::new(
                PAGE_NUMBER,
                format!(
                    "would skip {skipped} events, more than the {MAX_PAGE_OFFSET} a page number may skip (skipping reads every skipped event); follow nextToken from page to page instead"
                ),
            ));
        }
    }
    AuditQuery {
        format: draft.format,
        filters: draft.filters,
        paging: Paging {
            page_size,
            start: match draft.next_token {
                Some(token) => PageStart::Token(token),
                None => PageStart::PageNumber(page_number),
            },
        },
    }
}

// ------------------------------------------------------------------- each parameter

fn identifier_pattern() -> ObjectBuilder {
    string().pattern(Some("^[A-Za-z0-9._:-]{1,128}$"))
}

fn doc_range_start() -> ParamDoc {
    ParamDoc {
        description: "Inclusive lower bound on `occurredAt`: an RFC 3339 date-time with any offset (converted to UTC) \
             or a plain date (`2024-03-01` = start of that day, UTC). Omitted: no lower bound."
            .to_owned(),
        schema: string(),
        example: Some(json!("2024-03-01T05:00:00.000Z")),
    }
}

fn doc_range_end() -> ParamDoc {
    ParamDoc {
        description:
            "Inclusive upper bound on `occurredAt`, same formats (a plain date = the whole day). \
             Omitted: no upper bound. Earlier than `rangeStart`: 400 naming both values. \
             Example: `2023-10-22T04:59:00.000Z`."
                .to_owned(),
        schema: string(),
        example: None,
    }
}

fn doc_page_number() -> ParamDoc {
    ParamDoc {
        description: format!(
            "1-based page number. Page `n` reads and skips the `(n - 1) * pageSize` events before it, \
             at most {MAX_PAGE_OFFSET} (a deeper page is a 400: follow `nextToken` instead, which costs \
             the same for every page). Skipped events count against the read budget: when it runs out \
             before the page starts, the answer holds no items and a `nextToken` that goes on toward the \
             page. Ignored when `nextToken` is given."
        ),
        schema: ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .default(Some(json!(1))),
        example: None,
    }
}

fn parse_page_number(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.page_number = values
        .first()
        .and_then(|v| push(parse_whole(PAGE_NUMBER, v, 1, u32::MAX), errors));
}

fn doc_next_token() -> ParamDoc {
    ParamDoc {
        description: "Opaque continuation token from the previous page's `nextToken` (or its `Link: rel=\"next\"` header). \
             Replaces `pageNumber`. Valid only with the same filters and for the same caller; otherwise 400. \
             It resumes exactly where the previous answer stopped, also when that answer was cut short by \
             the read budget or time (a page with fewer than `pageSize` items and `hasMore: true`)."
            .to_owned(),
        schema: string()
            .pattern(Some(values::TOKEN_PATTERN))
            .max_length(Some(MAX_TOKEN_CHARS)),
        example: None,
    }
}

fn parse_next_token(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    let Some(v) = values.first().map(|v| v.trim()) else {
        return;
    };
    let plausible = v.len() <= MAX_TOKEN_CHARS
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plausible {
        draft.next_token = Some(v.to_owned());
    } else {
        errors.push(ParameterError::new(
            NEXT_TOKEN,
            "is not a continuation token issued by this service (copy nextToken from the previous page unchanged)",
        ));
    }
}

fn doc_format() -> ParamDoc {
    ParamDoc {
        description: format!(
            "The response's format: `json` (`application/json`, the page object), `ndjson` \
             (`application/x-ndjson`, one event per line, exactly the JSON items), `csv` (`text/csv`, \
             RFC 4180, a header row then one row per event) or `ocsf` (`application/vnd.ocsf+json`, an \
             array of OCSF {} records). Wins over the `Accept` header, which chooses the same formats by \
             media type when this is absent. In every format the `X-Has-More` and `X-Next-Token` headers \
             and `Link: rel=\"next\"` carry the pagination; the format takes no part in `nextToken`, so \
             a listing may change format from page to page.",
            crate::ocsf::OCSF_VERSION
        ),
        schema: string().enum_values(Some(Format::ALL.map(Format::name))),
        example: None,
    }
}

fn doc_order() -> ParamDoc {
    ParamDoc {
        description: "`desc` (newest first) or `asc` (oldest first). Ties on `occurredAt` break on `eventId`, so the order is total and stable."
            .to_owned(),
        schema: string()
            .enum_values(Some(["desc", "asc"]))
            .default(Some(json!("desc"))),
        example: None,
    }
}

fn parse_order(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    match values.first().map(|v| v.trim()) {
        None => {}
        Some(v) if v.eq_ignore_ascii_case("desc") => draft.filters.order = Order::Desc,
        Some(v) if v.eq_ignore_ascii_case("asc") => draft.filters.order = Order::Asc,
        Some(v) => errors.push(ParameterError::new(
            ORDER,
            format!("must be desc (newest first) or asc (oldest first) (got '{v}')"),
        )),
    }
}

fn doc_actor_id() -> ParamDoc {
    ParamDoc {
        description: "Only events of this actor id, e.g. `user-42` (indexed).".to_owned(),
        schema: string().max_length(Some(MAX_SHORT_TEXT_CHARS)),
        example: None,
    }
}

fn parse_actor_id(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.filters.actor_id = values
        .first()
        .and_then(|v| push(free_text(ACTOR_ID, v), errors));
}

fn doc_target_type() -> ParamDoc {
    ParamDoc {
        description: "Only events on targets of this type, e.g. `Flow`; requires `targetId` (indexed together).".to_owned(),
        schema: identifier_pattern(),
        example: None,
    }
}

fn parse_target_type(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.target_type = values
        .first()
        .and_then(|v| push(identifier(TARGET_TYPE, v), errors));
}

fn doc_target_id() -> ParamDoc {
    ParamDoc {
        description:
            "Only events on the target with this id, e.g. `flow-7`; requires `targetType`."
                .to_owned(),
        schema: string().max_length(Some(MAX_SHORT_TEXT_CHARS)),
        example: None,
    }
}

fn parse_target_id(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.target_id = values
        .first()
        .and_then(|v| push(free_text(TARGET_ID, v), errors));
}

fn doc_organization_id() -> ParamDoc {
    ParamDoc {
        description: "Only events of this organization (never one outside the caller's scope). Indexed: a page reads about its size however rare the organization."
            .to_owned(),
        schema: identifier_pattern(),
        example: None,
    }
}

fn parse_organization_id(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.filters.organization_id = values
        .first()
        .and_then(|v| push(identifier(ORGANIZATION_ID, v), errors));
}

fn doc_outcome() -> ParamDoc {
    ParamDoc {
        description: "Only events with this outcome. `failure` is indexed (failures are rare); `success` filters the events read."
            .to_owned(),
        schema: string().enum_values(Some(["success", "failure"])),
        example: None,
    }
}

fn parse_outcome(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    match values.first().map(|v| v.trim()) {
        None => {}
        Some(v) if v.eq_ignore_ascii_case("success") => {
            draft.filters.outcome = Some(Outcome::Success);
        }
        Some(v) if v.eq_ignore_ascii_case("failure") => {
            draft.filters.outcome = Some(Outcome::Failure);
        }
        Some(v) => errors.push(ParameterError::new(
            OUTCOME,
            format!("must be success or failure (got '{v}')"),
        )),
    }
}

/// Documents the parameters of `GET /api/Audit` in the OpenAPI document, from the same
/// descriptors the parser uses.
pub struct ListEventsParams;

impl IntoParams for ListEventsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        documented(LIST_PARAMS, Style::Form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use crate::limits::PAGE_SIZE_MAX;

    fn parse(query: &str) -> Result<AuditQuery, InvalidParameters> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        parse_list_query(&pairs)
    }

    fn errors(query: &str) -> Vec<(String, String)> {
        parse(query)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.parameter, e.message))
            .collect()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", s).unwrap()
    }

    #[test]
    fn the_reference_examples_parse() {
        let q = parse("category=100&rangeStart=2024-03-01T05:00:00.000Z").unwrap();
        assert_eq!(q.filters.categories, vec![100]);
        assert_eq!(q.filters.range_start, Some(ts("2024-03-01T05:00:00Z")));
        assert_eq!(q.filters.range_end, None);
        assert_eq!(q.filters.order, Order::Desc);
        assert_eq!(
            q.paging,
            Paging {
                page_size: PAGE_SIZE_DEFAULT,
                start: PageStart::PageNumber(1)
            }
        );
        let q = parse(
            "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z",
        )
        .unwrap();
        assert_eq!(q.filters.range_end, Some(ts("2023-10-22T04:59:00Z")));
        let q = parse("eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1")
            .unwrap();
        assert_eq!(q.filters.event_types, vec![202]);
        assert_eq!(q.paging.page_size, 50);
    }

    #[test]
    fn the_reversed_reference_example_names_both_values() {
        let e = errors(
            "category=600&rangeStart=2024-03-01T05:00:00.000Z&rangeEnd=2023-10-23T04:59:00.000Z",
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "rangeStart");
        assert_eq!(e[1].0, "rangeEnd");
        for (_, m) in &e {
            assert!(
                m.contains("2024-03-01T05:00:00.000Z") && m.contains("2023-10-23T04:59:00.000Z"),
                "{m}"
            );
        }
    }

    #[test]
    fn codes_and_names_mix_and_normalize() {
        let a = parse("category=configuration,600&eventType=FlowChange,101,101").unwrap();
        assert_eq!(a.filters.categories, vec![100, 600]);
        assert_eq!(a.filters.event_types, vec![101, 104]);
        let b = parse("category=600&category=100&eventType=104,userchange").unwrap();
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.filters.digest(), b.filters.digest());
    }

    #[test]
    fn the_intersection_keeps_types_of_the_given_categories() {
        let q = parse("category=200&eventType=202,101").unwrap();
        assert_eq!(q.filters.event_types, vec![202]);
        let e = errors("category=100&eventType=202");
        assert_eq!(
            e.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["eventType", "category"]
        );
        assert!(e[0].1.contains("no event can match"), "{}", e[0].1);
    }

    #[test]
    fn plain_dates_cover_whole_days_and_offsets_convert_to_utc() {
        let q = parse("rangeStart=2024-03-01&rangeEnd=2024-03-01").unwrap();
        assert_eq!(q.filters.range_start, Some(ts("2024-03-01T00:00:00Z")));
        assert_eq!(q.filters.range_end, Some(ts("2024-03-01T23:59:59.999Z")));
        let q = parse("rangeStart=2024-03-01T00:00:00-05:00").unwrap();
        assert_eq!(q.filters.range_start, Some(ts("2024-03-01T05:00:00Z")));
        // `+01:00` arrives as ` 01:00` once the query string is decoded.
        let q = parse("rangeEnd=2024-03-01T06:00:00 01:00").unwrap();
        assert_eq!(q.filters.range_end, Some(ts("2024-03-01T05:00:00Z")));
        // A lower bound inside a millisecond starts at the next one; an upper one ends at it.
        let q = parse("rangeStart=2024-03-01T05:00:00.0001Z&rangeEnd=2024-03-01T05:00:00.0009Z")
            .unwrap();
        assert_eq!(q.filters.range_start, Some(ts("2024-03-01T05:00:00.001Z")));
        assert_eq!(q.filters.range_end, Some(ts("2024-03-01T05:00:00.000Z")));
    }

    #[test]
    fn every_bad_parameter_is_named_with_its_rule() {
        let cases: &[(&str, &str, &str)] = &[
            ("category=0", "category", "is not a category"),
            ("category=Nope", "category", "is not a category"),
            ("category=100,,200", "category", "empty item"),
            ("category=", "category", "must not be empty"),
            ("eventType=999", "eventType", "is not an event type"),
            ("rangeStart=yesterday", "rangeStart", "RFC 3339"),
            ("rangeEnd=2024-13-01", "rangeEnd", "RFC 3339"),
            ("rangeStart=1969-12-31T00:00:00Z", "rangeStart", "1970"),
            ("pageSize=0", "pageSize", "from 1 to 1000"),
            ("pageSize=1001", "pageSize", "from 1 to 1000"),
            ("pageSize=ten", "pageSize", "whole number"),
            ("pageNumber=0", "pageNumber", "at least 1"),
            ("pageNumber=-1", "pageNumber", "at least 1"),
            ("pageNumber=100000&pageSize=1000", "pageNumber", "nextToken"),
            ("nextToken=not a token!", "nextToken", "continuation token"),
            ("order=newest", "order", "desc"),
            ("outcome=maybe", "outcome", "success or failure"),
            ("targetType=Flow", "targetId", "required with targetType"),
            ("targetId=f-1", "targetType", "required with targetId"),
            (
                "targetType=Fl%23ow&targetId=f",
                "targetType",
                "letters, digits",
            ),
            ("organizationId=a b", "organizationId", "letters, digits"),
            (
                "rangestart=2024-03-01",
                "rangestart",
                "Did you mean rangeStart?",
            ),
            ("tenantId=other", "tenantId", "not a known parameter"),
            ("pageSize=10&pageSize=20", "pageSize", "at most once"),
            ("format=xml", "format", "one of json, ndjson, csv, ocsf"),
            ("format=csv&format=json", "format", "at most once"),
        ];
        for (query, parameter, rule) in cases {
            let e = errors(query);
            assert!(
                e.iter().any(|(p, m)| p == parameter && m.contains(rule)),
                "{query}: {e:?}"
            );
        }
        // Every problem at once.
        assert_eq!(errors("pageSize=0&order=up&bogus=1").len(), 3);
    }

    #[test]
    fn a_token_replaces_the_page_number_and_other_filters_parse() {
        let q = parse("nextToken=abc_-9&pageNumber=7&order=ASC&actorId=user 1&targetType=Flow&targetId=f/1&organizationId=org-1&outcome=Failure").unwrap();
        assert_eq!(q.paging.start, PageStart::Token("abc_-9".into()));
        assert_eq!(q.filters.order, Order::Asc);
        assert_eq!(q.filters.actor_id.as_deref(), Some("user 1"));
        assert_eq!(
            q.filters.target,
            Some(TargetRef::parse("Flow", "f/1").unwrap())
        );
        assert_eq!(
            q.filters.organization_id.as_ref().map(Identifier::as_str),
            Some("org-1")
        );
        assert_eq!(q.filters.outcome, Some(Outcome::Failure));
    }

    #[test]
    fn the_format_is_parsed_apart_from_the_filters() {
        let plain = parse("category=100").unwrap();
        assert_eq!(plain.format, None);
        for (name, format) in [
            ("csv", Format::Csv),
            ("NDJSON", Format::Ndjson),
            ("ocsf", Format::Ocsf),
            ("json", Format::Json),
        ] {
            let q = parse(&format!("category=100&format={name}")).unwrap();
            assert_eq!(q.format, Some(format));
            // The same listing in any format: tokens bind the filters only.
            assert_eq!(q.filters, plain.filters);
            assert_eq!(q.filters.digest(), plain.filters.digest());
        }
    }

    #[test]
    fn the_documented_parameters_are_exactly_the_parsed_ones() {
        let params = ListEventsParams::into_params(|| None);
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let parsed: Vec<&str> = LIST_PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(names, parsed);
        let json = serde_json::to_value(&params).unwrap();
        let page_size = &json[4]["schema"];
        assert_eq!(page_size["maximum"], PAGE_SIZE_MAX);
        assert_eq!(page_size["default"], PAGE_SIZE_DEFAULT);
    }
}
