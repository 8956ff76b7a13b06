//! The value rules the routes' parameters share, each naming the parameter it refuses:
//! whole numbers, free text, identifiers, range bounds and the one rule on a range's order,
//! the response format and its one negotiation with `Accept`, and the schema builders the
//! descriptors use.

use chrono::{DateTime, NaiveTime, Utc};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::names::{RANGE_END, RANGE_START};
use crate::api::problem::ParameterError;
use crate::domain::{check_reference_id, Identifier, Timestamp};
use crate::format::{AcceptError, Format};
use crate::limits::MAX_SHORT_TEXT_CHARS;

/// A string schema, which the descriptors refine: at least one character, since an empty
/// value of any parameter is a 400 (leave the parameter out instead).
pub(crate) fn string() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
}

/// The pattern of an opaque token or cursor: URL-safe base64 without padding.
pub(crate) const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// Keeps a value, or pushes the broken rule.
pub(crate) fn push<T>(
    result: Result<T, ParameterError>,
    errors: &mut Vec<ParameterError>,
) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A whole number from `min` to `max` (`u32::MAX`: no upper bound).
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

/// Text matched as given (an actor's or a target's id): the rule of ingestion's
/// `actor.id` and `target.id` ([`check_reference_id`]), so every stored id can be asked for.
pub(crate) fn free_text(parameter: &str, value: &str) -> Result<String, ParameterError> {
    check_reference_id(value, MAX_SHORT_TEXT_CHARS)
        .map(|()| value.to_owned())
        .map_err(|message| ParameterError::new(parameter, message))
}

/// An identifier, with the rule of ingestion.
pub(crate) fn identifier(parameter: &str, value: &str) -> Result<Identifier, ParameterError> {
    Identifier::parse(parameter, value.trim())
        .map_err(|e| ParameterError::new(parameter, e.message))
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

/// A parsed `rangeStart` or `rangeEnd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeBound {
    /// The millisecond bound on the key.
    pub key: Timestamp,
    /// The instant as given, which the order rule compares (two bounds inside one
    /// millisecond may be in order while their keys are not).
    pub exact: DateTime<Utc>,
    /// The text as given, which the order rule quotes.
    pub text: String,
}

/// The first value of `rangeStart` or `rangeEnd` as a bound, or the broken rule pushed.
pub(crate) fn range_bound(
    parameter: &str,
    values: &[&str],
    bound: Bound,
    errors: &mut Vec<ParameterError>,
) -> Option<RangeBound> {
    let value = values.first()?;
    push(parse_bound(parameter, value, bound), errors).map(|(key, exact)| RangeBound {
        key,
        exact,
        text: value.trim().to_owned(),
    })
}

/// The one rule on a range's order: `rangeEnd` earlier than `rangeStart` is refused, naming
/// both parameters and quoting both values.
pub(crate) fn range_order(
    start: Option<&RangeBound>,
    end: Option<&RangeBound>,
    errors: &mut Vec<ParameterError>,
) {
    let (Some(start), Some(end)) = (start, end) else {
        return;
    };
    if end.exact < start.exact {
        let both = format!(
            "rangeStart={} is later than rangeEnd={}",
            start.text, end.text
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
}

/// The first value of `format` as a format, or the broken rule pushed.
pub(crate) fn format(
    parameter: &str,
    values: &[&str],
    errors: &mut Vec<ParameterError>,
) -> Option<Format> {
    let value = values.first()?;
    let format = Format::parse(value);
    if format.is_none() {
        errors.push(ParameterError::new(
            parameter,
            format!("must be one of {} (got '{value}')", Format::names()),
        ));
    }
    format
}

/// Why the format negotiation refused a request; both errors name `Accept`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatRefusal {
    /// The header accepts no format (406).
    NotAcceptable(ParameterError),
    /// The header is not valid: a `q` outside RFC 9110's grammar (400).
    Invalid(ParameterError),
}

/// The one format negotiation of the routes served in several formats: the `format`
/// parameter's choice wins; only without it does the `Accept` header choose, and may refuse
/// (the error names `Accept`: a 406, or a 400 for a header with an invalid `q`).
pub fn negotiate_format(
    chosen: Option<Format>,
    accept: Option<&str>,
) -> Result<Format, FormatRefusal> {
    match chosen {
        Some(format) => Ok(format),
        None => Format::negotiate(accept).map_err(|e| match e {
            AcceptError::NotAcceptable(m) => {
                FormatRefusal::NotAcceptable(ParameterError::new("Accept", m))
            }
            AcceptError::Invalid(m) => FormatRefusal::Invalid(ParameterError::new("Accept", m)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(parameter: &str, text: &str, which: Bound) -> RangeBound {
        let mut errors = Vec::new();
        let parsed = range_bound(parameter, &[text], which, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        parsed.unwrap()
    }

    #[test]
    fn the_range_order_compares_instants_and_quotes_both_values() {
        let start = bound(RANGE_START, "2024-03-01T05:00:00.0005Z", Bound::Start);
        let end = bound(RANGE_END, "2024-03-01T05:00:00.0009Z", Bound::End);
        // In order as given, although the start's key (the next millisecond) is later.
        assert!(end.key < start.key);
        let mut errors = Vec::new();
        range_order(Some(&start), Some(&end), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        range_order(Some(&end), Some(&start), &mut errors);
        let named: Vec<&str> = errors.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(named, [RANGE_START, RANGE_END]);
        assert_eq!(
            errors[0].message,
            "must not be later than rangeEnd (rangeStart=2024-03-01T05:00:00.0009Z is later than rangeEnd=2024-03-01T05:00:00.0005Z)"
        );
        // One bound alone has no order.
        let mut errors = Vec::new();
        range_order(Some(&start), None, &mut errors);
        range_order(None, Some(&end), &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn the_format_parameter_wins_over_accept_which_may_refuse() {
        assert_eq!(
            negotiate_format(Some(Format::Csv), Some("application/json")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            negotiate_format(None, Some("text/csv")).unwrap(),
            Format::Csv
        );
        assert_eq!(negotiate_format(None, None).unwrap(), Format::Json);
        let FormatRefusal::NotAcceptable(refused) =
            negotiate_format(None, Some("image/png")).unwrap_err()
        else {
            panic!("a 406")
        };
        assert_eq!(refused.parameter, "Accept");
        let FormatRefusal::Invalid(refused) =
            negotiate_format(None, Some("text/csv;q=1.5")).unwrap_err()
        else {
            panic!("a 400")
        };
        assert_eq!(refused.parameter, "Accept");
        let mut errors = Vec::new();
        assert_eq!(format("format", &["xml"], &mut errors), None);
        assert_eq!(
            errors[0].message,
            "must be one of json, ndjson, csv, ocsf (got 'xml')"
        );
    }

    #[test]
    fn the_listings_ids_follow_the_rule_of_ingestion() {
        for bad in ["u\t1", "u\r1", "u\n1", ""] {
            let listing = free_text("actorId", bad).unwrap_err();
            let ingestion = check_reference_id(bad, MAX_SHORT_TEXT_CHARS).unwrap_err();
            assert_eq!(listing.message, ingestion, "{bad:?}");
        }
        assert_eq!(free_text("targetId", "flow 1").unwrap(), "flow 1");
    }
}
