//! The parameters the feed shares with the listing: `category` and `eventType` (codes or
//! names, and the rule on their intersection) and `pageSize`. Both routes' descriptors
//! document and parse them with these functions, so that a value the listing refuses the
//! feed refuses alike, with the same message.

use serde_json::json;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::descriptor::ParamDoc;
use super::names::{CATEGORY, EVENT_TYPE, PAGE_SIZE};
use super::values::{parse_whole, push, string};
use crate::api::problem::ParameterError;
use crate::catalog::{CatalogEntry, Category, CategoryCode, EventType, EventTypeCode, CATEGORIES};
use crate::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_SIZE_MIN, READ_BUDGET_DEFAULT};

fn codes_pattern() -> ObjectBuilder {
    string().pattern(Some(r"^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$"))
}

/// `category` in the document.
pub(crate) fn doc_category() -> ParamDoc {
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

/// The values of `category` as codes, sorted and deduplicated; each bad one is pushed.
pub(crate) fn categories(values: &[&str], errors: &mut Vec<ParameterError>) -> Vec<CategoryCode> {
    parse_codes(values, CATEGORY, errors, |v| {
        Category::parse(v).map(|c| c.code).map_err(|_| {
            format!(
                "'{v}' is not a category: use a code or name from {} (GET /api/Audit/categories)",
                category_list()
            )
        })
    })
}

/// `eventType` in the document.
pub(crate) fn doc_event_type() -> ParamDoc {
    ParamDoc {
        description: "Event type codes (e.g. `202`) or names (`LoginFailed`, case-insensitive), comma-separated; several values OR together. \
             With `category` too, the result is the intersection; an empty intersection is a 400. \
             The full list: `GET /api/Audit/eventTypes`."
            .to_owned(),
        schema: codes_pattern(),
        example: None,
    }
}

/// The values of `eventType` as codes, sorted and deduplicated; each bad one is pushed.
pub(crate) fn event_types(values: &[&str], errors: &mut Vec<ParameterError>) -> Vec<EventTypeCode> {
    parse_codes(values, EVENT_TYPE, errors, |v| {
        EventType::parse(v).map(|t| t.code).map_err(|_| {
            format!("'{v}' is not an event type: use a code such as 202 or a name such as LoginFailed (GET /api/Audit/eventTypes)")
        })
    })
}

/// The rule on `category` and `eventType` together: the event types keep those of the
/// given categories; none left is refused (no event could match), naming both.
pub(crate) fn intersect(
    categories: &[CategoryCode],
    event_types: &mut Vec<EventTypeCode>,
    errors: &mut Vec<ParameterError>,
) {
    if categories.is_empty() || event_types.is_empty() {
        return;
    }
    let wanted = event_types.clone();
    event_types.retain(|t| categories.contains(&t.category()));
    if event_types.is_empty() {
        let why = format!(
            "no event type in eventType ({}) belongs to a category in category ({}), so no event can match; drop one of the two or make them agree",
            join(&wanted),
            join(categories)
        );
        errors.push(ParameterError::new(EVENT_TYPE, why.clone()));
        errors.push(ParameterError::new(CATEGORY, why));
    }
}

/// `pageSize` in the document.
pub(crate) fn doc_page_size() -> ParamDoc {
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

/// The first value of `pageSize` (events per page), or the broken rule pushed.
pub(crate) fn page_size(values: &[&str], errors: &mut Vec<ParameterError>) -> Option<u32> {
    values.first().and_then(|v| {
        push(
            parse_whole(PAGE_SIZE, v, PAGE_SIZE_MIN, PAGE_SIZE_MAX),
            errors,
        )
    })
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
