//! One rule for numbers (issue 29, Build 2 and 3; ADR 0010): over generated numbers
//! (integers, decimals, exponents, doubles of every bit pattern, the range edges),
//! ingestion accepts a number exactly when DynamoDB can store the form it is written in and
//! the form the event is then served in reads back, in any JSON reader, to the same value
//! with the same RFC 8785 form, which ingestion accepts again. A refused number is
//! `rejected` naming its field and the rule, never `failed`.
//!
//! The storage side is checked against DynamoDB's documented number rule (at most 38
//! significant digits, zero or a magnitude from 1E-130 to 9.99…E+125), applied to the very
//! attribute text the store writes (`serde_dynamo`), independently of the rule's code; the
//! integration test `ingest::numbers_outside_the_rule_are_rejected_and_the_others_round_trip`
//! runs the edges through DynamoDB Local.

// A test binary: a panic is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_ledger::jcs;
use audit_shared::domain::{AuditEvent, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Whether DynamoDB stores the number attribute `text` (its documented rule), computed on
/// the decimal text alone.
fn dynamodb_stores(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    assert!(
        digits.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
        "the store writes plain decimals: {text}"
    );
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int}{frac}");
    let Some(first) = all.find(|c: char| c != '0') else {
        return true; // zero
    };
    let last = all.rfind(|c: char| c != '0').unwrap();
    let significant = last - first + 1;
    // The exponent of the first significant digit.
    let exponent = int.len() as i64 - 1 - first as i64;
    significant <= 38 && (-130..=125).contains(&exponent)
}

/// Whether a reader that takes integer literals as integers (Python's `json`, then
/// `rfc8785`) can hash `text`: not an integer literal beyond ±(2^53 − 1).
fn portable(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    digits.trim_start_matches('0').len() < 16
        || (digits.len() == 16 && digits <= "9007199254740991")
}

fn event_with(value: &Value) -> Value {
    json!({
        "eventId": "n-1", "tenantId": "acme", "eventType": 104,
        "occurredAt": "2024-03-01T05:00:00.000Z",
        "actor": { "id": "u-1" },
        "target": { "type": "Flow", "id": "flow-1" },
        "changes": [{ "field": "f", "oldValue": value }]
    })
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("now", "2024-03-01T06:00:00.000Z").unwrap()
}

/// The number attribute text the store writes for `value`.
fn stored_text(value: &Value) -> String {
    match serde_dynamo::to_attribute_value::<_, AttributeValue>(value).unwrap() {
        AttributeValue::N(text) => text,
        other => panic!("not a number attribute: {other:?}"),
    }
}

/// Checks one number, given as JSON text: ingestion's verdict against storage and
/// portability, and for an accepted number the whole round trip.
fn check(text: &str) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return; // not a JSON number any reader takes (1e400): the body is refused whole
    };
    let parsed = AuditEvent::parse(&event_with(&value), now());
    let stored = stored_text(&value);
    let canonical = jcs::canonicalize(&value)
        .ok()
        .map(|c| String::from_utf8(c).unwrap());
    let acceptable = dynamodb_stores(&stored)
        && canonical.as_deref().is_some_and(portable)
        && portable(&serde_dynamo_round_trip(&stored));
    match parsed {
        Ok(event) => {
            assert!(acceptable, "{text} accepted, stored as {stored}");
            // Stored, read back, served: the same canonical form, accepted again.
            let item =
                serde_dynamo::to_item::<_, std::collections::HashMap<String, AttributeValue>>(
                    &event,
                )
                .unwrap();
            let back: AuditEvent = serde_dynamo::from_item(item).unwrap();
            let served = serde_json::to_value(&back).unwrap();
            let served_value = &served["changes"][0]["oldValue"];
            let served_text = served_value.to_string();
            assert!(portable(&served_text), "{text} served as {served_text}");
            assert_eq!(
                jcs::canonicalize(served_value)
                    .ok()
                    .map(|c| String::from_utf8(c).unwrap()),
                canonical,
                "{text} served as {served_text}"
            );
            assert_eq!(
                audit_ledger::leaf_hash_of_json(&served).unwrap(),
                audit_ledger::leaf_hash_of_json(&serde_json::to_value(&event).unwrap()).unwrap(),
                "{text}: the leaf of the served event is the leaf of the accepted one"
            );
            // Sent back: the served value, in an event as a sender writes it.
            let again = AuditEvent::parse(&event_with(served_value), now());
            assert!(
                again.is_ok(),
                "{text} served as {served_text} is refused: {again:?}"
            );
        }
        Err(errors) => {
            assert!(
                !acceptable,
                "{text} refused though storable and portable: {errors:?}"
            );
            let message = format!("{errors:?}");
            assert!(
                message.contains("changes[0].oldValue") && message.contains("1e-130"),
                "{text}: {message}"
            );
        }
    }
}

/// The number text `stored` reads back as, served.
fn serde_dynamo_round_trip(stored: &str) -> String {
    let back: Value =
        serde_dynamo::from_attribute_value(AttributeValue::N(stored.to_owned())).unwrap();
    back.to_string()
}

#[test]
fn the_edges_of_the_rule() {
    for text in [
        "0",
        "-0.0",
        "9007199254740991",
        "-9007199254740991",
        "9007199254740992",
        "-9007199254740992",
        "9007199254740991.0",
        "9007199254740992.0",
        "1e16",
        "1e+16",
        "1.2345678901234568e+17",
        "1e20",
        "1e21",
        "1e22",
        "1.5e20",
        "4.5",
        "0.1",
        "1e-7",
        "1e-130",
        "-1e-130",
        "9.99e-131",
        "1e-131",
        "9.999999999999999e125",
        "1e126",
        "1e+126",
        "-1e126",
        "5e-324",
        "2.2250738585072011e-308",
        "1.5e300",
        "1.7976931348623157e+308",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "123456789.125",
    ] {
        check(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_integer(n in any::<i64>()) {
        check(&n.to_string());
    }

    #[test]
    fn any_unsigned_integer(n in any::<u64>()) {
        check(&n.to_string());
    }

    #[test]
    fn any_double(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        check(&format!("{x:e}"));
        check(&format!("{x}"));
    }

    #[test]
    fn any_decimal_with_an_exponent(
        negative in any::<bool>(),
        mantissa in "[0-9]{1,20}",
        point in 0usize..20,
        exponent in -340i32..340,
    ) {
        let point = point.min(mantissa.len());
        let (a, b) = mantissa.split_at(point);
        let a = if a.is_empty() { "0" } else { a };
        let b = if b.is_empty() { "0" } else { b };
        let sign = if negative { "-" } else { "" };
        check(&format!("{sign}{a}.{b}e{exponent}"));
        check(&format!("{sign}{a}.{b}"));
    }
}
