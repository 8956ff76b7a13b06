//! The query parameters of `GET /api/Audit`: names, parsing into validated [`AuditQuery`]
//! values, and their OpenAPI description (built from the same catalog and limits).
//!
//! Parsing reports every bad parameter at once, each naming the parameter and the rule.
//! Unknown parameters are refused: a typo such as `rangestart` must not silently return
//! everything.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::problem::{InvalidParameters, ParameterError};
use crate::catalog::{Category, EventType, CATEGORIES};
use crate::domain::{Identifier, Outcome, TargetRef, Timestamp};
use crate::limits::{
    MAX_PAGE_OFFSET, MAX_SHORT_TEXT_CHARS, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_SIZE_MIN,
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

/// Every parameter `GET /api/Audit` accepts.
pub const LIST_PARAMETERS: &[&str] = &[
    CATEGORY,
    EVENT_TYPE,
    RANGE_START,
    RANGE_END,
    PAGE_SIZE,
    PAGE_NUMBER,
    NEXT_TOKEN,
    ORDER,
    ACTOR_ID,
    TARGET_TYPE,
    TARGET_ID,
    ORGANIZATION_ID,
    OUTCOME,
];

/// The parameters that filter (every one but the paging ones): a token is bound to them.
pub const FILTER_PARAMETERS: &[&str] = &[
    CATEGORY,
    EVENT_TYPE,
    RANGE_START,
    RANGE_END,
    ORDER,
    ACTOR_ID,
    TARGET_TYPE,
    TARGET_ID,
    ORGANIZATION_ID,
    OUTCOME,
];

/// Parameters that may be repeated; their values add up as if comma-separated.
const MULTI_VALUED: &[&str] = &[CATEGORY, EVENT_TYPE];
/// Longest `nextToken` accepted; genuine tokens are far shorter.
const MAX_TOKEN_CHARS: usize = 1024;

/// A validated `GET /api/Audit` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// What to keep.
    pub filters: Filters,
    /// Which page.
    pub paging: Paging,
}

/// Parses the query parameters of `GET /api/Audit`, given as decoded (name, value) pairs
/// in request order. Every broken rule is reported, each naming its parameter.
pub fn parse_list_query(pairs: &[(String, String)]) -> Result<AuditQuery, InvalidParameters> {
    let mut errors = Vec::new();
    let mut seen: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, value) in pairs {
        let Some(known) = LIST_PARAMETERS.iter().find(|p| **p == name.as_str()) else {
            errors.push(unknown_parameter(name));
            continue;
        };
        match seen.iter_mut().find(|(n, _)| n == known) {
            Some((_, values)) if MULTI_VALUED.contains(known) => values.push(value),
            Some(_) => {
                if !errors
                    .iter()
                    .any(|e: &ParameterError| e.parameter == *known)
                {
                    errors.push(ParameterError::new(*known, "must be given at most once"));
                }
            }
            None => seen.push((known, vec![value.as_str()])),
        }
    }
    let get = |name: &str| -> Option<&str> {
        seen.iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.first().copied())
    };
    let all = |name: &str| -> Vec<&str> {
        seen.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // An empty value is refused rather than read as "no filter", as a typo would be.
    for (name, values) in &seen {
        if values.iter().any(|v| v.trim().is_empty()) {
            errors.push(ParameterError::new(
                *name,
                "must not be empty (leave the parameter out instead)",
            ));
        }
    }

    let categories = parse_codes(&all(CATEGORY), CATEGORY, &mut errors, |v| {
        Category::parse(v).map(|c| c.code).map_err(|_| {
            format!(
                "'{v}' is not a category: use a code or name from {} (GET /api/Audit/categories)",
                category_list()
            )
        })
    });
    let mut event_types = parse_codes(&all(EVENT_TYPE), EVENT_TYPE, &mut errors, |v| {
        EventType::parse(v).map(|t| t.code).map_err(|_| {
            format!("'{v}' is not an event type: use a code such as 202 or a name such as LoginFailed (GET /api/Audit/eventTypes)")
        })
    });
    if !categories.is_empty() && !event_types.is_empty() {
        let given = event_types.clone();
        event_types.retain(|t| categories.contains(&t.category()));
        if event_types.is_empty() {
            let why = format!(
                "no event type in eventType ({}) belongs to a category in category ({}), so no event can match; drop one of the two or make them agree",
                join(&given),
                join(&categories)
            );
            errors.push(ParameterError::new(EVENT_TYPE, why.clone()));
            errors.push(ParameterError::new(CATEGORY, why));
        }
    }

    let start_text = non_empty(get(RANGE_START));
    let end_text = non_empty(get(RANGE_END));
    let range_start =
        start_text.and_then(|v| push(parse_bound(RANGE_START, v, Bound::Start), &mut errors));
    let range_end = end_text.and_then(|v| push(parse_bound(RANGE_END, v, Bound::End), &mut errors));
    let range = match (range_start, range_end) {
        (Some((start, start_exact)), Some((end, end_exact))) => {
            if end_exact < start_exact {
                let both = format!(
                    "rangeStart={} is later than rangeEnd={}",
                    start_text.unwrap_or_default().trim(),
                    end_text.unwrap_or_default().trim()
                );
                errors.push(ParameterError::new(
                    RANGE_START,
                    format!("must not be later than rangeEnd ({both})"),
                ));
                errors.push(ParameterError::new(
                    RANGE_END,
                    format!("must not be earlier than rangeStart ({both})"),
                ));
            }
            (Some(start), Some(end))
        }
        (start, end) => (start.map(|s| s.0), end.map(|e| e.0)),
    };

    let page_size = match non_empty(get(PAGE_SIZE)) {
        None => PAGE_SIZE_DEFAULT,
        Some(v) => push(
            parse_whole(PAGE_SIZE, v, PAGE_SIZE_MIN, PAGE_SIZE_MAX),
            &mut errors,
        )
        .unwrap_or(PAGE_SIZE_DEFAULT),
    };
    let page_number = match non_empty(get(PAGE_NUMBER)) {
        None => 1,
        Some(v) => push(parse_whole(PAGE_NUMBER, v, 1, u32::MAX), &mut errors).unwrap_or(1),
    };
    let next_token = non_empty(get(NEXT_TOKEN)).and_then(|v| {
        let v = v.trim();
        let plausible = v.len() <= MAX_TOKEN_CHARS
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if plausible {
            Some(v.to_owned())
        } else {
            errors.push(ParameterError::new(
                NEXT_TOKEN,
                "is not a continuation token issued by this service (copy nextToken from the previous page unchanged)",
            ));
            None
        }
    });
    if next_token.is_none() {
        let skipped = u64::from(page_number.saturating_sub(1)) * u64::from(page_size);
        if skipped > MAX_PAGE_OFFSET {
            errors.push(ParameterError::new(
                PAGE_NUMBER,
                format!(
                    "would skip {skipped} events, more than the {MAX_PAGE_OFFSET} a page number may skip; follow nextToken from page to page instead"
                ),
            ));
        }
    }
    let order = match non_empty(get(ORDER)).map(str::trim) {
        None => Order::Desc,
        Some(v) if v.eq_ignore_ascii_case("desc") => Order::Desc,
        Some(v) if v.eq_ignore_ascii_case("asc") => Order::Asc,
        Some(v) => {
            errors.push(ParameterError::new(
                ORDER,
                format!("must be desc (newest first) or asc (oldest first) (got '{v}')"),
            ));
            Order::Desc
        }
    };
    let actor_id = non_empty(get(ACTOR_ID)).and_then(|v| push(free_text(ACTOR_ID, v), &mut errors));
    let target_type = non_empty(get(TARGET_TYPE)).and_then(|v| {
        push(
            Identifier::parse(TARGET_TYPE, v.trim())
                .map_err(|e| ParameterError::new(TARGET_TYPE, e.message)),
            &mut errors,
        )
    });
    let target_id =
        non_empty(get(TARGET_ID)).and_then(|v| push(free_text(TARGET_ID, v), &mut errors));
    let target = match (target_type, target_id) {
        (Some(target_type), Some(id)) => Some(TargetRef { target_type, id }),
        _ => {
            if get(TARGET_TYPE).is_some() && get(TARGET_ID).is_none() {
                errors.push(ParameterError::new(
                    TARGET_ID,
                    "is required with targetType (a target is a type and an id)",
                ));
            }
            if get(TARGET_ID).is_some() && get(TARGET_TYPE).is_none() {
                errors.push(ParameterError::new(
                    TARGET_TYPE,
                    "is required with targetId (a target is a type and an id)",
                ));
            }
            None
        }
    };
    let organization_id = non_empty(get(ORGANIZATION_ID)).and_then(|v| {
        push(
            Identifier::parse(ORGANIZATION_ID, v.trim())
                .map_err(|e| ParameterError::new(ORGANIZATION_ID, e.message)),
            &mut errors,
        )
    });
    let outcome = match non_empty(get(OUTCOME)).map(str::trim) {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("success") => Some(Outcome::Success),
        Some(v) if v.eq_ignore_ascii_case("failure") => Some(Outcome::Failure),
        Some(v) => {
            errors.push(ParameterError::new(
                OUTCOME,
                format!("must be success or failure (got '{v}')"),
            ));
            None
        }
    };

    if !errors.is_empty() {
        return Err(InvalidParameters(errors));
    }
    Ok(AuditQuery {
        filters: Filters {
            categories,
            event_types,
            range_start: range.0,
            range_end: range.1,
            order,
            actor_id,
            target,
            organization_id,
            outcome,
        },
        paging: Paging {
            page_size,
            start: match next_token {
                Some(token) => PageStart::Token(token),
                None => PageStart::PageNumber(page_number),
            },
        },
    })
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
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
    let hint = LIST_PARAMETERS
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name.trim()))
        .map(|p| format!(" Did you mean {p}? Names are case-sensitive."))
        .unwrap_or_default();
    ParameterError::new(
        name,
        format!(
            "is not a known parameter (known: {}).{hint}",
            LIST_PARAMETERS.join(", ")
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

fn parse_whole(parameter: &str, value: &str, min: u32, max: u32) -> Result<u32, ParameterError> {
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Start,
    End,
}

/// A range bound: the millisecond key bound, and the exact instant for comparing bounds.
fn parse_bound(
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

/// Documents the parameters of `GET /api/Audit` in the OpenAPI document, from the same
/// names, catalog and limits the parser uses.
pub struct ListEventsParams;

fn query_param(
    name: &str,
    description: String,
    schema: ObjectBuilder,
    example: Option<serde_json::Value>,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .example(example)
        .build()
}

impl IntoParams for ListEventsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let category_values: Vec<String> = CATEGORIES
            .iter()
            .map(|c| format!("{} ({})", c.code, c.name))
            .collect();
        // Only the contract's first example pre-fills parameters: Swagger UI's "Try it out"
        // sends every parameter example at once, so together they must be one valid request.
        // Other values are shown in the descriptions.
        vec![
            query_param(
                CATEGORY,
                format!(
                    "Category codes or names (case-insensitive), comma-separated; several values OR together. \
                     Omitted: every category. Allowed: {}. `0` or an unknown value is a 400.",
                    category_values.join(", ")
                ),
                string().pattern(Some(r"^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")),
                Some(json!("100")),
            ),
            query_param(
                EVENT_TYPE,
                "Event type codes (e.g. `202`) or names (`LoginFailed`, case-insensitive), comma-separated; several values OR together. \
                 With `category` too, the result is the intersection; an empty intersection is a 400. \
                 The full list: `GET /api/Audit/eventTypes`."
                    .to_owned(),
                string().pattern(Some(r"^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")),
                None,
            ),
            query_param(
                RANGE_START,
                "Inclusive lower bound on `occurredAt`: an RFC 3339 date-time with any offset (converted to UTC) \
                 or a plain date (`2024-03-01` = start of that day, UTC). Omitted: no lower bound."
                    .to_owned(),
                string(),
                Some(json!("2024-03-01T05:00:00.000Z")),
            ),
            query_param(
                RANGE_END,
                "Inclusive upper bound on `occurredAt`, same formats (a plain date = the whole day). \
                 Omitted: no upper bound. Earlier than `rangeStart`: 400 naming both values. \
                 Example: `2023-10-22T04:59:00.000Z`."
                    .to_owned(),
                string(),
                None,
            ),
            query_param(
                PAGE_SIZE,
                format!("Events per page, {PAGE_SIZE_MIN} to {PAGE_SIZE_MAX}."),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(PAGE_SIZE_MIN))
                    .maximum(Some(PAGE_SIZE_MAX))
                    .default(Some(json!(PAGE_SIZE_DEFAULT))),
                None,
            ),
            query_param(
                PAGE_NUMBER,
                format!(
                    "1-based page number. Page `n` reads and skips the `(n - 1) * pageSize` events before it \
                     (at most {MAX_PAGE_OFFSET}), so deep pages cost more: follow `nextToken` instead, which costs \
                     the same for every page. Ignored when `nextToken` is given."
                ),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .default(Some(json!(1))),
                None,
            ),
            query_param(
                NEXT_TOKEN,
                "Opaque continuation token from the previous page's `nextToken` (or its `Link: rel=\"next\"` header). \
                 Replaces `pageNumber`. Valid only with the same filters and for the same caller; otherwise 400."
                    .to_owned(),
                string().pattern(Some("^[A-Za-z0-9_-]+$")),
                None,
            ),
            query_param(
                ORDER,
                "`desc` (newest first) or `asc` (oldest first). Ties on `occurredAt` break on `eventId`, so the order is total and stable."
                    .to_owned(),
                string()
                    .enum_values(Some(["desc", "asc"]))
                    .default(Some(json!("desc"))),
                None,
            ),
            query_param(
                ACTOR_ID,
                "Only events of this actor id, e.g. `user-42` (indexed).".to_owned(),
                string().max_length(Some(MAX_SHORT_TEXT_CHARS)),
                None,
            ),
            query_param(
                TARGET_TYPE,
                "Only events on targets of this type, e.g. `Flow`; requires `targetId` (indexed together).".to_owned(),
                string().pattern(Some("^[A-Za-z0-9._:-]{1,128}$")),
                None,
            ),
            query_param(
                TARGET_ID,
                "Only events on the target with this id, e.g. `flow-7`; requires `targetType`.".to_owned(),
                string().max_length(Some(MAX_SHORT_TEXT_CHARS)),
                None,
            ),
            query_param(
                ORGANIZATION_ID,
                "Only events of this organization. Not indexed: it filters the events read, so a rare organization costs more reads per page."
                    .to_owned(),
                string().pattern(Some("^[A-Za-z0-9._:-]{1,128}$")),
                None,
            ),
            query_param(
                OUTCOME,
                "Only events with this outcome. Not indexed: it filters the events read.".to_owned(),
                string().enum_values(Some(["success", "failure"])),
                None,
            ),
        ]
        .into_iter()
        .map(|mut p| {
            // Comma-separated lists are one value, not exploded arrays.
            p.style = Some(ParameterStyle::Form);
            p
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
    fn the_documented_parameters_are_exactly_the_parsed_ones() {
        let params = ListEventsParams::into_params(|| None);
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, LIST_PARAMETERS);
        let json = serde_json::to_value(&params).unwrap();
        let page_size = &json[4]["schema"];
        assert_eq!(page_size["maximum"], PAGE_SIZE_MAX);
        assert_eq!(page_size["default"], PAGE_SIZE_DEFAULT);
    }
}
