//! RFC 8785 JSON Canonicalization Scheme (JCS) over `serde_json` values.
//!
//! Written here rather than taken from a crate because the one published implementation
//! sorted member names by UTF-8 bytes at the time of writing, where RFC 8785 §3.2.3 sorts
//! by UTF-16 code units (the two differ for names holding characters above U+FFFF).
//!
//! - Literals `null`, `true`, `false` as such.
//! - Strings (§3.2.2.2): `"` and `\` escaped, `\b \t \n \f \r` in their short forms, other
//!   characters below U+0020 as `\u00xx` (lower-case hex), everything else as UTF-8.
//! - Numbers (§3.2.2.3): the ECMAScript `Number.prototype.toString` form of the IEEE 754
//!   double. An integer outside ±(2^53 − 1) is refused: it has no exact double, so two
//!   different values would canonicalize alike (I-JSON, RFC 7493 §2.2).
//! - Objects: members sorted by their names' UTF-16 code units; no whitespace anywhere.
//!
//! [`check_numbers`] is the service's one rule for the numbers an event may hold (ADR 0010):
//! stricter than canonicalization, it also refuses what DynamoDB cannot store and what
//! another implementation could not hash as served.

use serde_json::{Map, Number, Value};
use thiserror::Error;

/// The largest integer magnitude with an exact IEEE 754 double (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JcsError {
    /// An integer outside ±(2^53 − 1), at the given JSON pointer.
    #[error("{path}: the integer {value} is outside ±(2^53 - 1), so it has no canonical form (send it as a string)")]
    IntegerOutOfRange {
        /// JSON pointer (RFC 6901) to the number.
        path: String,
        /// The number as received.
        value: String,
    },
    /// A number that is not finite (cannot come from JSON text).
    #[error("{path}: the number is not finite")]
    NotFinite {
        /// JSON pointer (RFC 6901) to the number.
        path: String,
    },
    /// A number whose canonical form is an integer literal beyond ±(2^53 − 1) (`1e16`,
    /// `9007199254740992.0`): served back in that form, a reader that takes integer literals
    /// as integers (Python's `json` and `rfc8785`) could not hash or resend it.
    #[error("{path}: the number {value} is written {canonical} in canonical form, an integer beyond ±(2^53 - 1) (send it as a string)")]
    IntegerForm {
        /// JSON pointer (RFC 6901) to the number.
        path: String,
        /// The number as received.
        value: String,
        /// Its RFC 8785 form.
        canonical: String,
    },
    /// A number DynamoDB cannot store: not zero, and of a magnitude below
    /// [`MIN_STORABLE_MAGNITUDE`] or from [`MAX_STORABLE_MAGNITUDE`] up.
    #[error("{path}: the number {value} is outside the range that can be stored (zero, or a magnitude from 1e-130 to below 1e126)")]
    NotStorable {
        /// JSON pointer (RFC 6901) to the number.
        path: String,
        /// The number as received.
        value: String,
    },
}

/// The smallest magnitude of a non-zero number DynamoDB stores (1E-130).
pub const MIN_STORABLE_MAGNITUDE: f64 = 1e-130;
/// The magnitude from which DynamoDB stores no number (its largest is 9.99…9E+125).
pub const MAX_STORABLE_MAGNITUDE: f64 = 1e126;

/// The rule for every number of an event (ADR 0010, docs/events.md), checked at ingestion
/// over any JSON value: each number must have a canonical form ([`canonicalize`]), that form
/// must not be an integer literal beyond ±(2^53 − 1), and it must be zero or of a magnitude
/// from [`MIN_STORABLE_MAGNITUDE`] to below [`MAX_STORABLE_MAGNITUDE`]. A number that
/// passes is stored, served and hashed alike by every implementation: served, it reads back
/// to the same double and passes again. The first number that breaks it is named by its
/// JSON pointer.
pub fn check_numbers(value: &Value) -> Result<(), JcsError> {
    check_at(value, &mut String::new())
}

fn check_at(value: &Value, path: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Number(n) => check_number(n, path),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push('/');
            path.push_str(&i.to_string());
            let result = check_at(item, path);
            path.truncate(len);
            result
        }),
        Value::Object(map) => map.iter().try_for_each(|(name, item)| {
            let len = path.len();
            path.push('/');
            path.push_str(&name.replace('~', "~0").replace('/', "~1"));
            let result = check_at(item, path);
            path.truncate(len);
            result
        }),
        _ => Ok(()),
    }
}

fn check_number(n: &Number, path: &str) -> Result<(), JcsError> {
    let canonical = number(n, path)?;
    let digits = canonical.strip_prefix('-').unwrap_or(&canonical);
    let integer_literal = digits.bytes().all(|b| b.is_ascii_digit());
    // More than 16 digits, or 16 above 2^53 - 1 (9007199254740991, 16 digits).
    let beyond =
        digits.len() > 16 || (digits.len() == 16 && digits > MAX_SAFE_INTEGER.to_string().as_str());
    if integer_literal && beyond {
        return Err(JcsError::IntegerForm {
            path: path.to_owned(),
            value: n.to_string(),
            canonical,
        });
    }
    let magnitude = n.as_f64().map(f64::abs).unwrap_or(0.0);
    if magnitude != 0.0 && !(MIN_STORABLE_MAGNITUDE..MAX_STORABLE_MAGNITUDE).contains(&magnitude) {
        return Err(JcsError::NotStorable {
            path: path.to_owned(),
            value: n.to_string(),
        });
    }
    Ok(())
}

/// The canonical UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::new();
    write_value(&mut out, value, &mut String::new())?;
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value, path: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(number(n, path)?.as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("/{i}"));
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map, path)?,
    }
    Ok(())
}

fn write_object(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    path: &mut String,
) -> Result<(), JcsError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push(b'{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        let len = path.len();
        path.push('/');
        path.push_str(&name.replace('~', "~0").replace('/', "~1"));
        write_value(out, value, path)?;
        path.truncate(len);
    }
    out.push(b'}');
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn number(n: &Number, path: &str) -> Result<String, JcsError> {
    let out_of_range = || JcsError::IntegerOutOfRange {
        path: path.to_owned(),
        value: n.to_string(),
    };
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(out_of_range());
        }
        return Ok(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(out_of_range());
        }
        return Ok(u.to_string());
    }
    match n.as_f64() {
        Some(f) if f.is_finite() => Ok(ecmascript_number(f)),
        _ => Err(JcsError::NotFinite {
            path: path.to_owned(),
        }),
    }
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20) for a finite double.
///
/// ECMAScript takes the fewest significant digits `k` that read back as `x` and, among the
/// `k`-digit values, the one closest to `x`, the even one on a tie. Rust's `{:e}` gives
/// that `k`, but breaks ties the other way (0x43143ff3c1cb0959 is exactly
/// 1424953923781206.25: ECMAScript prints `.2`, Rust `.3`), so the digits are rounded
/// again here from the exact decimal expansion of `x`.
pub fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    if x < 0.0 {
        return format!("-{}", ecmascript_number(-x));
    }
    let (shortest, exponent) = scientific(&format!("{x:e}"));
    let (digits, exponent) =
        nearest_even(x, shortest.len()).unwrap_or((shortest.to_owned(), exponent));
    layout(&digits, exponent)
}

/// Splits Rust's `{:e}` text into its significant digits (no trailing zeros) and the
/// decimal exponent of the first digit.
fn scientific(sci: &str) -> (String, i32) {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_owned(), exponent.parse().unwrap_or(0))
}

/// `x` rounded to `k` significant digits, half to even, from its exact expansion (a
/// double has at most 767 significant decimal digits); `None` if that value does not read
/// back as `x` (possible only at a power of two, where the rounding interval is lopsided).
fn nearest_even(x: f64, k: usize) -> Option<(String, i32)> {
    let exact = format!("{x:.800e}");
    let (mantissa, exponent) = exact.split_once('e')?;
    let mut exponent: i32 = exponent.parse().ok()?;
    let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let (head, rest) = all.split_at(k.min(all.len()));
    let mut digits = head.to_vec();
    let first_rest = rest.first().copied().unwrap_or(b'0');
    let beyond_half = rest.iter().skip(1).any(|d| *d != b'0');
    let last_odd = digits.last().is_some_and(|d| (d - b'0') % 2 == 1);
    let round_up = first_rest > b'5' || (first_rest == b'5' && (beyond_half || last_odd));
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                digits.pop();
                exponent += 1;
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let text = String::from_utf8(digits).ok()?;
    let text = text.trim_end_matches('0');
    let text = if text.is_empty() { "0" } else { text };
    let back: f64 = format!("{text}e{}", exponent - (text.len() as i32 - 1))
        .parse()
        .ok()?;
    (back == x).then(|| (text.to_owned(), exponent))
}

/// The ECMAScript layout of significant digits `digits` whose first digit has decimal
/// exponent `exponent` (`n = exponent + 1` in the specification's terms).
fn layout(digits: &str, exponent: i32) -> String {
    let k = digits.len() as i32;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{sign}{e}")
        } else {
            format!("{first}.{rest}e{sign}{e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(canonicalize(v).unwrap()).unwrap()
    }

    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    #[test]
    fn numbers_match_rfc_8785_appendix_b() {
        let cases: [(u64, &str); 20] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
        ];
        for (bits, want) in cases {
            assert_eq!(ecmascript_number(f64::from_bits(bits)), want, "{bits:016x}");
        }
        for (bits, want) in [
            (0x41b3de4355555556u64, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ] {
            assert_eq!(ecmascript_number(f64::from_bits(bits)), want, "{bits:016x}");
        }
    }

    /// RFC 8785 §3.2.2 and Appendix: the sample object of §3.2.2 and its canonical form.
    #[test]
    fn the_rfc_8785_sample_object_canonicalizes_as_published() {
        let input: Value = serde_json::from_str(
            r#"{
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }"#,
        )
        .unwrap();
        assert_eq!(
            canon(&input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units.
    #[test]
    fn member_names_sort_by_utf16_code_units() {
        let input: Value = serde_json::from_str(
            r#"{
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }"#,
        )
        .unwrap();
        assert_eq!(
            canon(&input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\
             \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn control_characters_escape_in_lower_case_hex_and_nothing_else_escapes() {
        assert_eq!(
            canon(&json!("\u{1}\u{1f}\u{7f}\u{2028}é/")),
            "\"\\u0001\\u001f\u{7f}\u{2028}é/\""
        );
    }

    #[test]
    fn integers_beyond_two_to_the_53_are_refused_with_their_place() {
        assert_eq!(
            canon(&json!({"a": [9007199254740991i64]})),
            "{\"a\":[9007199254740991]}"
        );
        assert_eq!(
            canonicalize(&json!({"a/b": [1, 9007199254740993u64]})),
            Err(JcsError::IntegerOutOfRange {
                path: "/a~1b/1".into(),
                value: "9007199254740993".into()
            })
        );
        assert!(canonicalize(&json!(-9007199254740992i64)).is_err());
        // As a double the same magnitude is fine: it is exactly that double.
        assert_eq!(canon(&json!(9007199254740992.0)), "9007199254740992");
    }

    #[test]
    fn the_number_rule_refuses_integer_forms_beyond_2_53_and_what_cannot_be_stored() {
        let check = |text: &str| check_numbers(&serde_json::from_str(text).unwrap());
        for ok in [
            "0",
            "-0.0",
            "9007199254740991",
            "-9007199254740991",
            "9007199254740991.0",
            "4.5",
            "0.1",
            "1e21",
            "1e-7",
            "1e-130",
            "-1e-130",
            "9.99999999999999e125",
            "1.5e21",
            "123456789.125",
            r#"{"a":[1,{"b":2.5}]}"#,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for (refused, kind) in [
            ("9007199254740992", "integer"),
            ("9007199254740992.0", "form"),
            ("1e16", "form"),
            ("1.2345678901234568e+17", "form"),
            ("-1e20", "form"),
            ("1.5e20", "form"),
            ("5e-324", "stored"),
            ("1e-131", "stored"),
            ("2.2250738585072011e-308", "stored"),
            ("1e126", "stored"),
            ("1.5e300", "stored"),
            ("1.7976931348623157e+308", "stored"),
        ] {
            let error = check(refused).unwrap_err();
            let matches = match kind {
                "integer" => matches!(error, JcsError::IntegerOutOfRange { .. }),
                "form" => matches!(error, JcsError::IntegerForm { .. }),
                _ => matches!(error, JcsError::NotStorable { .. }),
            };
            assert!(matches, "{refused}: {error}");
        }
        let error = check(r#"{"a/b":[0, 1e16]}"#).unwrap_err();
        assert!(error.to_string().starts_with("/a~1b/1: "), "{error}");
        assert!(error.to_string().contains("10000000000000000"), "{error}");
    }
}
