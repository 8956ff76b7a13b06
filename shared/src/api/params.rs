//! The query parameters of `GET /api/Audit` as data: one [`Param`] descriptor each (name,
//! whether it may repeat, its OpenAPI description, schema and example, and how it parses
//! into the query it sets), read both by [`parse_list_query`] and by the OpenAPI document
//! ([`ListEventsParams`]).
//!
//! Parsing reports every bad parameter at once, each naming the parameter and the rule.
//! Unknown parameters are refused: a typo such as `rangestart` must not silently return
//! everything. Rules that span parameters (a range's order, a target's two halves, the
//! category and event-type intersection, how deep a page number may go) run once every
//! parameter is parsed.
//!
//! Adding a filter: one entry in [`LIST_PARAMS`] (its parse function sets a field of
//! [`Filters`]), the field in [`Filters`], and, for an indexed filter, the planner's rule.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::problem::{InvalidParameters, ParameterError};
use crate::api::routes::EVENT_ID;
use crate::catalog::{CatalogEntry, Category, EventType, CATEGORIES};
use crate::domain::{EventId, Identifier, Outcome, TargetRef, Timestamp, MAX_IDENTIFIER_LEN};
use crate::format::Format;
use crate::limits::{
    MAX_PAGE_OFFSET, MAX_SHORT_TEXT_CHARS, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_SIZE_MIN,
    READ_BUDGET_DEFAULT,
};
use crate::query::{Filters, PageStart, Paging};
use crate::store::Order;

/// `category`: category codes or names, comma-separated.
pub const CATEGORY: &str = "category";
/// `eventType`: event type codes or names, comma-separated.
pub const EVENT_TYPE: &str = "eventType";
/// `rangeStart`: inclusive lower bound on `occurredAt`.
pub const RANGE_START: &str = "rangeStart";
/// `rangeEnd`: inclusive upper bound on `occurredAt`.
pub const RANGE_END: &str = "rangeEnd";
/// `pageSize`: items per page.
pub const PAGE_SIZE: &str = "pageSize";
/// `pageNumber`: 1-based page number.
pub const PAGE_NUMBER: &str = "pageNumber";
/// `nextToken`: continuation token of the previous page.
pub const NEXT_TOKEN: &str = "nextToken";
/// `order`: `desc` or `asc`.
pub const ORDER: &str = "order";
/// `actorId`: the actor's id.
pub const ACTOR_ID: &str = "actorId";
/// `targetType`: the target's type (with `targetId`).
pub const TARGET_TYPE: &str = "targetType";
/// `targetId`: the target's id (with `targetType`).
pub const TARGET_ID: &str = "targetId";
/// `organizationId`: one organization of the tenant.
pub const ORGANIZATION_ID: &str = "organizationId";
/// `outcome`: `success` or `failure`.
pub const OUTCOME: &str = "outcome";
/// `format`: the response's format (`json`, `ndjson`, `csv`, `ocsf`); wins over `Accept`.
pub const FORMAT: &str = "format";

/// One query parameter: its name, whether it may repeat, how the OpenAPI document describes
/// it and how it parses.
pub struct Param {
    /// The name, case-sensitive.
    pub name: &'static str,
    /// Whether it may be given more than once (the values add up as if comma-separated).
    pub multi: bool,
    /// Its description, schema and example for the OpenAPI document.
    pub doc: fn() -> ParamDoc,
    /// Parses its non-empty values (in request order) into the query being built; each
    /// broken rule is pushed, naming the parameter.
    parse: fn(&[&str], &mut Draft, &mut Vec<ParameterError>),
}

/// How the OpenAPI document describes a parameter.
pub struct ParamDoc {
    /// What it does and its rules, in Markdown.
    pub description: String,
    /// Its JSON schema.
    pub schema: ObjectBuilder,
    /// An example that Swagger UI pre-fills (only the contract's first example request has
    /// any, so that "Try it out" sends one valid request).
    pub example: Option<serde_json::Value>,
}

/// Every parameter `GET /api/Audit` accepts, in the order the OpenAPI document lists them.
pub const LIST_PARAMS: &[Param] = &[
    Param {
        name: CATEGORY,
        multi: true,
        doc: doc_category,
        parse: parse_category,
    },
    Param {
        name: EVENT_TYPE,
        multi: true,
        doc: doc_event_type,
        parse: parse_event_type,
    },
    Param {
        name: RANGE_START,
        multi: false,
        doc: doc_range_start,
        parse: parse_range_start,
    },
    Param {
        name: RANGE_END,
        multi: false,
        doc: doc_range_end,
        parse: parse_range_end,
    },
    Param {
        name: PAGE_SIZE,
        multi: false,
        doc: doc_page_size,
        parse: parse_page_size,
    },
    Param {
        name: PAGE_NUMBER,
        multi: false,
        doc: doc_page_number,
        parse: parse_page_number,
    },
    Param {
        name: NEXT_TOKEN,
        multi: false,
        doc: doc_next_token,
        parse: parse_next_token,
    },
    Param {
        name: ORDER,
        multi: false,
        doc: doc_order,
        parse: parse_order,
    },
    Param {
        name: ACTOR_ID,
        multi: false,
        doc: doc_actor_id,
        parse: parse_actor_id,
    },
    Param {
        name: TARGET_TYPE,
        multi: false,
        doc: doc_target_type,
        parse: parse_target_type,
    },
    Param {
        name: TARGET_ID,
        multi: false,
        doc: doc_target_id,
        parse: parse_target_id,
    },
    Param {
        name: ORGANIZATION_ID,
        multi: false,
        doc: doc_organization_id,
        parse: parse_organization_id,
    },
    Param {
        name: OUTCOME,
        multi: false,
        doc: doc_outcome,
        parse: parse_outcome,
    },
    Param {
        name: FORMAT,
        multi: false,
        doc: doc_format,
        parse: parse_format,
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

/// The query as the parameters build it, before the rules that span parameters.
#[derive(Default)]
struct Draft {
    filters: Filters,
    /// `rangeStart`: the key bound, the exact instant and the text as given.
    range_start: Option<(Timestamp, DateTime<Utc>, String)>,
    /// `rangeEnd`: likewise.
    range_end: Option<(Timestamp, DateTime<Utc>, String)>,
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
    let mut errors = Vec::new();
    let mut seen: Vec<(&Param, Vec<&str>)> = Vec::new();
    for (name, value) in pairs {
        let Some(param) = LIST_PARAMS.iter().find(|p| p.name == name.as_str()) else {
            errors.push(unknown_parameter(name));
            continue;
        };
        match seen.iter_mut().find(|(p, _)| p.name == param.name) {
            Some((_, values)) if param.multi => values.push(value),
            Some(_) => {
                if !errors
                    .iter()
                    .any(|e: &ParameterError| e.parameter == param.name)
                {
                    errors.push(ParameterError::new(
                        param.name,
                        "must be given at most once",
                    ));
                }
            }
            None => seen.push((param, vec![value.as_str()])),
        }
    }
    let mut draft = Draft::default();
    for (param, values) in &seen {
        // An empty value is refused rather than read as "no filter", as a typo would be.
        if values.iter().any(|v| v.trim().is_empty()) {
            errors.push(ParameterError::new(
                param.name,
                "must not be empty (leave the parameter out instead)",
            ));
        }
    }
    // Parameters parse in the table's order, so that errors come out in a stable order.
    for param in LIST_PARAMS {
        let Some((_, values)) = seen.iter().find(|(p, _)| p.name == param.name) else {
            continue;
        };
        let given: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if !given.is_empty() {
            (param.parse)(&given, &mut draft, &mut errors);
        }
    }
    let given = |name: &str| seen.iter().any(|(p, _)| p.name == name);
    let query = finish(draft, &given, &mut errors);
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(InvalidParameters(errors))
    }
}

/// The rules that span parameters, then the query.
fn finish(
    mut draft: Draft,
    given: &dyn Fn(&str) -> bool,
    errors: &mut Vec<ParameterError>,
) -> AuditQuery {
    let filters = &mut draft.filters;
    if !filters.categories.is_empty() && !filters.event_types.is_empty() {
        let wanted = filters.event_types.clone();
        let categories = filters.categories.clone();
        filters
            .event_types
            .retain(|t| categories.contains(&t.category()));
        if filters.event_types.is_empty() {
            let why = format!(
                "no event type in eventType ({}) belongs to a category in category ({}), so no event can match; drop one of the two or make them agree",
                join(&wanted),
                join(&categories)
            );
            errors.push(ParameterError::new(EVENT_TYPE, why.clone()));
            errors.push(ParameterError::new(CATEGORY, why));
        }
    }
    if let (Some((_, start, start_text)), Some((_, end, end_text))) =
        (&draft.range_start, &draft.range_end)
    {
        if end < start {
            let both = format!("rangeStart={start_text} is later than rangeEnd={end_text}");
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
    filters.range_start = draft.range_start.map(|(key, _, _)| key);
    filters.range_end = draft.range_end.map(|(key, _, _)| key);
    match (draft.target_type, draft.target_id) {
        (Some(target_type), Some(id)) => filters.target = Some(TargetRef { target_type, id }),
        _ => {
            if given(TARGET_TYPE) && !given(TARGET_ID) {
                errors.push(ParameterError::new(
                    TARGET_ID,
                    "is required with targetType (a target is a type and an id)",
                ));
            }
            if given(TARGET_ID) && !given(TARGET_TYPE) {
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

fn codes_pattern() -> ObjectBuilder {
    string().pattern(Some(r"^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$"))
}

fn identifier_pattern() -> ObjectBuilder {
    string().pattern(Some("^[A-Za-z0-9._:-]{1,128}$"))
}

pub(crate) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn doc_category() -> ParamDoc {
    let values: Vec<String> = CATEGORIES
        .iter()
        .map(|c| format!("{} ({})", c.code, c.name))
        .collect();
    ParamDoc {
        description: format!(
            "Category codes or names (case-insensitive), comma-separated; several values OR together. \
             Omitted: every category. Allowed: {}. `0` or an unknown value is a 400.",
            values.join(", ")
        ),
        schema: codes_pattern(),
        example: Some(json!("100")),
    }
}

fn parse_category(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.filters.categories = parse_codes(values, CATEGORY, errors, |v| {
        Category::parse(v).map(|c| c.code).map_err(|_| {
            format!(
                "'{v}' is not a category: use a code or name from {} (GET /api/Audit/categories)",
                category_list()
            )
        })
    });
}

fn doc_event_type() -> ParamDoc {
    ParamDoc {
        description: "Event type codes (e.g. `202`) or names (`LoginFailed`, case-insensitive), comma-separated; several values OR together. \
             With `category` too, the result is the intersection; an empty intersection is a 400. \
             The full list: `GET /api/Audit/eventTypes`."
            .to_owned(),
        schema: codes_pattern(),
        example: None,
    }
}

fn parse_event_type(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.filters.event_types = parse_codes(values, EVENT_TYPE, errors, |v| {
        EventType::parse(v).map(|t| t.code).map_err(|_| {
            format!("'{v}' is not an event type: use a code such as 202 or a name such as LoginFailed (GET /api/Audit/eventTypes)")
        })
    });
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

fn parse_range_start(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.range_start = parse_range_bound(RANGE_START, values, Bound::Start, errors);
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

fn parse_range_end(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.range_end = parse_range_bound(RANGE_END, values, Bound::End, errors);
}

fn parse_range_bound(
    parameter: &str,
    values: &[&str],
    bound: Bound,
    errors: &mut Vec<ParameterError>,
) -> Option<(Timestamp, DateTime<Utc>, String)> {
    let value = values.first()?;
    push(parse_bound(parameter, value, bound), errors)
        .map(|(key, exact)| (key, exact, value.trim().to_owned()))
}

fn doc_page_size() -> ParamDoc {
    ParamDoc {
        description: format!(
            "Events per page, {PAGE_SIZE_MIN} to {PAGE_SIZE_MAX}. A page holds fewer while `hasMore` is true \
             when the request's read budget ({READ_BUDGET_DEFAULT} stored items by default, counted before \
             filtering) or time ran out first: follow `nextToken`."
        ),
        schema: ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(PAGE_SIZE_MIN))
            .maximum(Some(PAGE_SIZE_MAX))
            .default(Some(json!(PAGE_SIZE_DEFAULT))),
        example: None,
    }
}

fn parse_page_size(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    draft.page_size = values.first().and_then(|v| {
        push(
            parse_whole(PAGE_SIZE, v, PAGE_SIZE_MIN, PAGE_SIZE_MAX),
            errors,
        )
    });
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
        schema: string().pattern(Some("^[A-Za-z0-9_-]+$")),
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

fn parse_format(values: &[&str], draft: &mut Draft, errors: &mut Vec<ParameterError>) {
    let Some(value) = values.first() else {
        return;
    };
    match Format::parse(value) {
        Some(format) => draft.format = Some(format),
        None => errors.push(ParameterError::new(
            FORMAT,
            format!("must be one of {} (got '{value}')", Format::names()),
        )),
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

// ------------------------------------------------------------------- shared rules

fn identifier(parameter: &str, value: &str) -> Result<Identifier, ParameterError> {
    Identifier::parse(parameter, value.trim())
        .map_err(|e| ParameterError::new(parameter, e.message))
}

fn push<T>(result: Result<T, ParameterError>, errors: &mut Vec<ParameterError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn join<C: std::fmt::Display>(codes: &[C]) -> String {
    codes.iter().map(C::to_string).collect::<Vec<_>>().join(",")
}

fn category_list() -> String {
    CATEGORIES
        .iter()
        .map(|c| format!("{} {}", c.code, c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_parameter(name: &str) -> ParameterError {
    let hint = LIST_PARAMS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .map(|p| format!(" Did you mean {}? Names are case-sensitive.", p.name))
        .unwrap_or_default();
    let known: Vec<&str> = LIST_PARAMS.iter().map(|p| p.name).collect();
    ParameterError::new(
        name,
        format!(
            "is not a known parameter (known: {}).{hint}",
            known.join(", ")
        ),
    )
}

/// Comma-separated codes or names, deduplicated and sorted; each bad one is reported.
fn parse_codes<C: Ord>(
    values: &[&str],
    parameter: &str,
    errors: &mut Vec<ParameterError>,
    parse: impl Fn(&str) -> Result<C, String>,
) -> Vec<C> {
    let mut codes = Vec::new();
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        for item in value.split(',').map(str::trim) {
            if item.is_empty() {
                errors.push(ParameterError::new(
                    parameter,
                    format!("has an empty item in '{value}': separate values by single commas"),
                ));
                continue;
            }
            match parse(item) {
                Ok(code) => codes.push(code),
                Err(message) => errors.push(ParameterError::new(parameter, message)),
            }
        }
    }
    codes.sort_unstable();
    codes.dedup();
    codes
}

pub(crate) fn parse_whole(
    parameter: &str,
    value: &str,
    min: u32,
    max: u32,
) -> Result<u32, ParameterError> {
    let rule = if max == u32::MAX {
        format!("must be a whole number of at least {min}")
    } else {
        format!("must be a whole number from {min} to {max}")
    };
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ParameterError::new(parameter, format!("{rule} (got '{value}')")))
}

fn free_text(parameter: &str, value: &str) -> Result<String, ParameterError> {
    let chars = value.chars().count();
    if chars > MAX_SHORT_TEXT_CHARS {
        return Err(ParameterError::new(
            parameter,
            format!("must be at most {MAX_SHORT_TEXT_CHARS} characters long (was {chars})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ParameterError::new(
            parameter,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Which end of a range a bound is (a plain date means its first or last millisecond).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The lower bound.
    Start,
    /// The upper bound.
    End,
}

/// A range bound: the millisecond key bound, and the exact instant for comparing bounds.
pub(crate) fn parse_bound(
    parameter: &str,
    value: &str,
    bound: Bound,
) -> Result<(Timestamp, DateTime<Utc>), ParameterError> {
    let text = value.trim();
    let rule = || {
        ParameterError::new(
            parameter,
            format!(
                "must be an RFC 3339 date-time such as 2024-03-01T05:00:00.000Z or a date such as 2024-03-01 (got '{value}')"
            ),
        )
    };
    let exact = if text.len() == 10 {
        let date = Timestamp::parse_date(parameter, text).map_err(|_| rule())?;
        let time = match bound {
            Bound::Start => NaiveTime::MIN,
            // The whole day, to its last millisecond.
            Bound::End => NaiveTime::from_hms_milli_opt(23, 59, 59, 999).unwrap_or(NaiveTime::MIN),
        };
        date.and_time(time).and_utc()
    } else {
        // A `+` in a query string decodes to a space: `05:00:00+01:00` arrives as
        // `05:00:00 01:00`, which is put back rather than refused.
        let repaired = match text.rfind(' ') {
            Some(i) if i > 10 => format!("{}+{}", &text[..i], &text[i + 1..]),
            _ => text.to_owned(),
        };
        DateTime::parse_from_rfc3339(&repaired)
            .map_err(|_| rule())?
            .with_timezone(&Utc)
    };
    let checked = Timestamp::checked(parameter, exact)
        .map_err(|e| ParameterError::new(parameter, e.message))?;
    let key_bound = match bound {
        // An inclusive lower bound inside a millisecond starts at the next one.
        Bound::Start => Timestamp::from_datetime_ceil(exact),
        Bound::End => checked,
    };
    Ok((key_bound, exact))
}

/// The `{eventId}` path parameter's pattern: an event id ([`EventId::parse`]) other than the
/// dot segments `.` and `..`, written without look-ahead so that every JSON Schema engine
/// (and every test generator) reads it. The catalog routes' names also match it: those
/// paths are the catalog's, as documented.
pub const EVENT_ID_PATTERN: &str = r"^(?:[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,127}|\.[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,126}|\.\.[A-Za-z0-9._:-]{1,126})$";

/// Parses the raw (percent-decoded) `{eventId}` path parameter with the rule of ingestion,
/// so that every stored event can be asked for and nothing else reaches the store.
pub fn parse_event_id(value: &str) -> Result<EventId, ParameterError> {
    EventId::parse(value).map_err(|e| ParameterError::new(EVENT_ID, e.message))
}

/// Documents the path parameter of `GET /api/Audit/{eventId}`.
pub struct GetEventParams;

impl IntoParams for GetEventParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = string()
            .min_length(Some(1))
            .max_length(Some(MAX_IDENTIFIER_LEN))
            .pattern(Some(EVENT_ID_PATTERN));
        vec![ParameterBuilder::new()
            .name(EVENT_ID)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(format!(
                "The event's id: 1 to {MAX_IDENTIFIER_LEN} characters of `[A-Za-z0-9._:-]`, \
                 not `.` or `..` (the rule of ingestion, which also refuses `eventTypes`, \
                 `categories` and `checkpoints`: those paths are other routes). Another value is a 400 naming \
                 `eventId`."
            )))
            .schema(Some(schema))
            .example(Some(json!("01HQZX3J8Y6K2M4N5P7R9S0T1V")))
            .build()]
    }
}

/// Documents the parameters of `GET /api/Audit` in the OpenAPI document, from the same
/// descriptors the parser uses.
pub struct ListEventsParams;

impl IntoParams for ListEventsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        LIST_PARAMS
            .iter()
            .map(|param| {
                let doc = (param.doc)();
                let mut parameter = ParameterBuilder::new()
                    .name(param.name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(doc.description))
                    .schema(Some(doc.schema))
                    .example(doc.example)
                    .build();
                // Comma-separated lists are one value, not exploded arrays.
                parameter.style = Some(ParameterStyle::Form);
                parameter
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
