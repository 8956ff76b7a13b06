//! Instants at millisecond precision, in UTC, with the fixed-width text form keys rely on.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::field::FieldError;

/// An instant in UTC at millisecond precision, between years 1970 and 9999, so that its
/// text form `YYYY-MM-DDTHH:MM:SS.mmmZ` has a fixed width and sorts like the instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(DateTime<Utc>);

/// The latest instant whose text form keeps four year digits.
fn max_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .map(|t| t + chrono::Duration::milliseconds(999))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Timestamp {
    /// The current instant, truncated to the millisecond.
    pub fn now() -> Self {
        Self::from_datetime_floor(Utc::now())
    }

    /// Truncates `value` to the millisecond (floor).
    pub fn from_datetime_floor(value: DateTime<Utc>) -> Self {
        let millis = value.timestamp_millis();
        Self(DateTime::from_timestamp_millis(millis).unwrap_or(value))
    }

    /// The instant `millis` milliseconds after the Unix epoch, if representable.
    pub fn from_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Self)
    }

    /// Rounds `value` up to the next whole millisecond (ceiling), for inclusive lower bounds.
    pub fn from_datetime_ceil(value: DateTime<Utc>) -> Self {
        let floor = Self::from_datetime_floor(value);
        if floor.0 == value {
            floor
        } else {
            Self(floor.0 + chrono::Duration::milliseconds(1))
        }
    }

    /// Parses an RFC 3339 date-time with any offset, converted to UTC and truncated to the
    /// millisecond. `field` names the value in the error.
    pub fn parse_rfc3339(field: &str, value: &str) -> Result<Self, FieldError> {
        let parsed = DateTime::parse_from_rfc3339(value.trim()).map_err(|_| {
            FieldError::new(
                field,
                format!(
                    "must be an RFC 3339 date-time such as 2024-03-01T05:00:00.000Z (got '{value}')"
                ),
            )
        })?;
        Self::checked(field, parsed.with_timezone(&Utc))
    }

    /// Parses a plain date (`2024-03-01`) as the start of that day in UTC.
    pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
        NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
            FieldError::new(field, format!("must be a date YYYY-MM-DD (got '{value}')"))
        })
    }

    /// Checks that `value` lies in the representable range.
    pub fn checked(field: &str, value: DateTime<Utc>) -> Result<Self, FieldError> {
        if value < DateTime::<Utc>::UNIX_EPOCH || value > max_instant() {
            return Err(FieldError::new(
                field,
                "must lie between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z",
            ));
        }
        Ok(Self::from_datetime_floor(value))
    }

    /// The instant as a chrono value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The fixed-width form `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_key_string(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl TryFrom<String> for Timestamp {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_rfc3339("timestamp", &value)
    }
}

impl From<Timestamp> for String {
    fn from(value: Timestamp) -> Self {
        value.to_key_string()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_key_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_is_converted_to_fixed_width_utc_milliseconds() {
        let t = Timestamp::parse_rfc3339("occurredAt", "2024-03-01T00:00:00-05:00").unwrap();
        assert_eq!(t.to_key_string(), "2024-03-01T05:00:00.000Z");
        let t = Timestamp::parse_rfc3339("occurredAt", "2024-03-01T05:00:00.123456Z").unwrap();
        assert_eq!(t.to_key_string(), "2024-03-01T05:00:00.123Z");
        let t = Timestamp::parse_rfc3339("x", "1970-01-01T00:00:00Z").unwrap();
        assert_eq!(t.to_key_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn malformed_and_out_of_range_values_name_the_field() {
        let err = Timestamp::parse_rfc3339("occurredAt", "yesterday").unwrap_err();
        assert_eq!(err.field, "occurredAt");
        assert!(err.message.contains("RFC 3339"));
        let err = Timestamp::parse_rfc3339("occurredAt", "1969-12-31T23:59:59Z").unwrap_err();
        assert!(err.message.contains("1970"));
    }

    #[test]
    fn ceiling_rounds_partial_milliseconds_up_and_keeps_whole_ones() {
        let exact = DateTime::parse_from_rfc3339("2024-03-01T05:00:00.001Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            Timestamp::from_datetime_ceil(exact).to_key_string(),
            "2024-03-01T05:00:00.001Z"
        );
        let partial = DateTime::parse_from_rfc3339("2024-03-01T05:00:00.0011Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            Timestamp::from_datetime_ceil(partial).to_key_string(),
            "2024-03-01T05:00:00.002Z"
        );
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::parse_rfc3339("t", "2023-10-18T05:00:00.000Z").unwrap();
        let b = Timestamp::parse_rfc3339("t", "2023-10-18T05:00:00.010Z").unwrap();
        let c = Timestamp::parse_rfc3339("t", "2124-01-01T00:00:00Z").unwrap();
        assert!(a < b && b < c);
        assert!(a.to_key_string() < b.to_key_string() && b.to_key_string() < c.to_key_string());
    }
}
