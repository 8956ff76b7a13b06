//! CloudWatch Embedded Metric Format (EMF): one JSON object per log line that CloudWatch
//! Logs turns into metrics, with no API call from the function.
//!
//! The rules of the specification (CloudWatch User Guide, "Specification: Embedded metric
//! format"), as this module reads them:
//! - the line is one JSON object, with nothing before or after it;
//! - the root holds `_aws`, an object of exactly `Timestamp` (milliseconds since the Unix
//!   epoch, a whole number) and `CloudWatchMetrics` (an array of metric directives);
//! - a directive holds exactly `Namespace` (1 to 1,024 characters), `Dimensions` (at least
//!   one dimension set) and `Metrics` (at most 100 metric definitions);
//! - a dimension set is an array of at most 30 keys (1 to 250 characters each), possibly
//!   empty (the metrics are then published without dimensions); every key is a member of
//!   the root whose value is a string of at most 1,024 characters (CloudWatch refuses an
//!   empty one);
//! - a metric definition holds `Name` (1 to 1,024 characters), and may hold `Unit` (one of
//!   CloudWatch's units, [`UNITS`]) and `StorageResolution` (1 or 60), nothing else; its name
//!   is a member of the root whose value is a number or an array of 1 to 100 numbers;
//! - each dimension set publishes every metric of its directive once more, so the sets and
//!   the values of their keys make the metric count, and the bill.
//!
//! [`EmfDocument::to_line`] writes a document; [`EmfDocument::parse`] reads one and checks
//! every rule above, independently of the writer, so that tests can hold any line to the
//! specification.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// The CloudWatch units the specification's schema accepts.
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The member of the root node that holds the metadata.
pub const METADATA: &str = "_aws";
/// Most metric definitions in one directive.
pub const MAX_METRICS: usize = 100;
/// Most dimension keys in one DimensionSet.
pub const MAX_DIMENSION_KEYS: usize = 30;
/// Longest dimension value, in characters.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
/// Longest dimension key, in characters.
pub const MAX_DIMENSION_KEY_CHARS: usize = 250;
/// Longest namespace or metric name, in characters.
pub const MAX_NAME_CHARS: usize = 1024;
/// Most values in an array metric target.
pub const MAX_VALUES: usize = 100;

/// One metric of a directive: its name (also the root member holding its value) and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDefinition {
    /// The metric's name.
    pub name: String,
    /// Its CloudWatch unit, when the document gives one.
    pub unit: Option<String>,
}

/// One MetricDirective: the metrics of a namespace and the dimension sets they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDirective {
    /// The CloudWatch namespace.
    pub namespace: String,
    /// The DimensionSets: each set of keys publishes every metric once more.
    pub dimensions: Vec<Vec<String>>,
    /// The metrics.
    pub metrics: Vec<MetricDefinition>,
}

/// One EMF document: the metadata, the dimension values and the metric values of one line.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfDocument {
    /// `_aws.Timestamp`: milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// `_aws.CloudWatchMetrics`.
    pub directives: Vec<MetricDirective>,
    /// The root members that are dimension values, by key.
    pub dimension_values: BTreeMap<String, String>,
    /// The root members that are metric values, by name (one value each).
    pub values: BTreeMap<String, f64>,
}

/// Why a line is not an EMF document; the text names the member and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an embedded metric format document: {0}")]
pub struct EmfError(pub String);

fn fail<T>(text: impl Into<String>) -> Result<T, EmfError> {
    Err(EmfError(text.into()))
}

/// A number as JSON: integers without a fraction (`3`, not `3.0`), which keeps the counts
/// readable in the log; `None` for a value JSON cannot hold (NaN, infinity).
fn number(value: f64) -> Option<Number> {
    // Below 2^53 an f64 holds every integer exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT {
        // The guard makes the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Number::from(value as i64));
    }
    Number::from_f64(value)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

impl EmfDocument {
    /// The document as one line of JSON, without the newline. A value JSON cannot hold
    /// (NaN, infinity) is written as 0, so that the line stays a valid document.
    pub fn to_line(&self) -> String {
        let directives: Vec<Value> = self
            .directives
            .iter()
            .map(|d| {
                let metrics: Vec<Value> = d
                    .metrics
                    .iter()
                    .map(|m| {
                        let mut definition = Map::new();
                        definition.insert("Name".into(), Value::String(m.name.clone()));
                        if let Some(unit) = &m.unit {
                            definition.insert("Unit".into(), Value::String(unit.clone()));
                        }
                        Value::Object(definition)
                    })
                    .collect();
                let mut directive = Map::new();
                directive.insert("Namespace".into(), Value::String(d.namespace.clone()));
                directive.insert(
                    "Dimensions".into(),
                    Value::Array(
                        d.dimensions
                            .iter()
                            .map(|set| {
                                Value::Array(set.iter().cloned().map(Value::String).collect())
                            })
                            .collect(),
                    ),
                );
                directive.insert("Metrics".into(), Value::Array(metrics));
                Value::Object(directive)
            })
            .collect();
        let mut metadata = Map::new();
        metadata.insert("Timestamp".into(), Value::from(self.timestamp_ms));
        metadata.insert("CloudWatchMetrics".into(), Value::Array(directives));
        let mut root = Map::new();
        root.insert(METADATA.into(), Value::Object(metadata));
        for (key, value) in &self.dimension_values {
            root.insert(key.clone(), Value::String(value.clone()));
        }
        for (name, value) in &self.values {
            let value = number(*value).unwrap_or_else(|| Number::from(0));
            root.insert(name.clone(), Value::Number(value));
        }
        // Serializing a map of strings and numbers cannot fail.
        serde_json::to_string(&Value::Object(root)).unwrap_or_default()
    }

    /// Reads one log line as an EMF document, checking every rule of the specification
    /// quoted in the module's documentation. A metric given as an array of values is read
    /// as its first value.
    pub fn parse(line: &str) -> Result<Self, EmfError> {
        if line.contains('\n') {
            return fail("the document spans more than one line");
        }
        if line.trim() != line {
            return fail("data before or after the JSON object");
        }
        let root: Value = serde_json::from_str(line)
            .or_else(|e| fail(format!("the line is not one JSON value: {e}")))?;
        let Value::Object(root) = root else {
            return fail("the root node is not a JSON object");
        };
        let Some(Value::Object(metadata)) = root.get(METADATA) else {
            return fail("the root node has no _aws object");
        };
        if let Some(other) = metadata
            .keys()
            .find(|k| *k != "Timestamp" && *k != "CloudWatchMetrics")
        {
            return fail(format!("_aws has the unknown member {other}"));
        }
        let timestamp_ms = match metadata.get("Timestamp") {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(t) if t >= 0 => t,
                _ => return fail("_aws.Timestamp is not a whole number of milliseconds"),
            },
            _ => return fail("_aws.Timestamp is missing or not a number"),
        };
        let Some(Value::Array(raw_directives)) = metadata.get("CloudWatchMetrics") else {
            return fail("_aws.CloudWatchMetrics is missing or not an array");
        };
        let mut document = EmfDocument {
            timestamp_ms,
            directives: Vec::new(),
            dimension_values: BTreeMap::new(),
            values: BTreeMap::new(),
        };
        for (i, raw) in raw_directives.iter().enumerate() {
            let at = format!("_aws.CloudWatchMetrics[{i}]");
            let directive = Self::directive(&at, raw)?;
            for key in directive.dimensions.iter().flatten() {
                match root.get(key) {
                    Some(Value::String(v)) if v.is_empty() => {
                        return fail(format!("dimension {key} has an empty value"))
                    }
                    Some(Value::String(v)) if chars(v) > MAX_DIMENSION_VALUE_CHARS => {
                        return fail(format!(
                            "dimension {key}'s value is over {MAX_DIMENSION_VALUE_CHARS} characters"
                        ))
                    }
                    Some(Value::String(v)) => {
                        document.dimension_values.insert(key.clone(), v.clone());
                    }
                    Some(_) => return fail(format!("dimension {key}'s value is not a string")),
                    None => return fail(format!("dimension {key} is not a member of the root")),
                }
            }
            for metric in &directive.metrics {
                let name = &metric.name;
                let value = match root.get(name) {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::Array(items)) if items.is_empty() => {
                        return fail(format!("metric {name} is an empty array"))
                    }
                    Some(Value::Array(items)) if items.len() > MAX_VALUES => {
                        return fail(format!("metric {name} has over {MAX_VALUES} values"))
                    }
                    Some(Value::Array(items)) => {
                        let numbers: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
                        match numbers {
                            Some(numbers) => numbers.first().copied(),
                            None => return fail(format!("metric {name} holds a non-number")),
                        }
                    }
                    Some(_) => return fail(format!("metric {name}'s value is not a number")),
                    None => return fail(format!("metric {name} is not a member of the root")),
                };
                let Some(value) = value else {
                    return fail(format!("metric {name}'s value is not a number"));
                };
                document.values.insert(name.clone(), value);
            }
            document.directives.push(directive);
        }
        Ok(document)
    }

    fn directive(at: &str, raw: &Value) -> Result<MetricDirective, EmfError> {
        let Value::Object(raw) = raw else {
            return fail(format!("{at} is not an object"));
        };
        if let Some(other) = raw
            .keys()
            .find(|k| !matches!(k.as_str(), "Namespace" | "Dimensions" | "Metrics"))
        {
            return fail(format!("{at} has the unknown member {other}"));
        }
        let namespace = match raw.get("Namespace") {
            Some(Value::String(n)) if (1..=MAX_NAME_CHARS).contains(&chars(n)) => n.clone(),
            _ => {
                return fail(format!(
                    "{at}.Namespace is not a string of 1 to {MAX_NAME_CHARS} characters"
                ))
            }
        };
        let Some(Value::Array(raw_sets)) = raw.get("Dimensions") else {
            return fail(format!("{at}.Dimensions is missing or not an array"));
        };
        if raw_sets.is_empty() {
            return fail(format!("{at}.Dimensions holds no DimensionSet"));
        }
        let mut dimensions = Vec::with_capacity(raw_sets.len());
        for (j, set) in raw_sets.iter().enumerate() {
            let Value::Array(keys) = set else {
                return fail(format!("{at}.Dimensions[{j}] is not an array"));
            };
            if keys.len() > MAX_DIMENSION_KEYS {
                return fail(format!(
                    "{at}.Dimensions[{j}] has over {MAX_DIMENSION_KEYS} keys"
                ));
            }
            let mut names = Vec::with_capacity(keys.len());
            for key in keys {
                match key {
                    Value::String(k) if (1..=MAX_DIMENSION_KEY_CHARS).contains(&chars(k)) => {
                        names.push(k.clone());
                    }
                    _ => {
                        return fail(format!(
                            "{at}.Dimensions[{j}] holds a key that is not a string of 1 to {MAX_DIMENSION_KEY_CHARS} characters"
                        ))
                    }
                }
            }
            dimensions.push(names);
        }
        let Some(Value::Array(raw_metrics)) = raw.get("Metrics") else {
            return fail(format!("{at}.Metrics is missing or not an array"));
        };
        if raw_metrics.len() > MAX_METRICS {
            return fail(format!("{at}.Metrics has over {MAX_METRICS} definitions"));
        }
        let mut metrics = Vec::with_capacity(raw_metrics.len());
        for (j, definition) in raw_metrics.iter().enumerate() {
            let at = format!("{at}.Metrics[{j}]");
            let Value::Object(definition) = definition else {
                return fail(format!("{at} is not an object"));
            };
            if let Some(other) = definition
                .keys()
                .find(|k| !matches!(k.as_str(), "Name" | "Unit" | "StorageResolution"))
            {
                return fail(format!("{at} has the unknown member {other}"));
            }
            let name = match definition.get("Name") {
                Some(Value::String(n)) if (1..=MAX_NAME_CHARS).contains(&chars(n)) => n.clone(),
                _ => {
                    return fail(format!(
                        "{at}.Name is not a string of 1 to {MAX_NAME_CHARS} characters"
                    ))
                }
            };
            let unit = match definition.get("Unit") {
                None => None,
                Some(Value::String(u)) if UNITS.contains(&u.as_str()) => Some(u.clone()),
                Some(other) => return fail(format!("{at}.Unit {other} is not a CloudWatch unit")),
            };
            match definition.get("StorageResolution") {
                None => {}
                Some(Value::Number(n)) if n.as_u64() == Some(1) || n.as_u64() == Some(60) => {}
                Some(other) => {
                    return fail(format!("{at}.StorageResolution {other} is not 1 or 60"))
                }
            }
            metrics.push(MetricDefinition { name, unit });
        }
        Ok(MetricDirective {
            namespace,
            dimensions,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    /// A valid document in the shape of the specification's example.
    const EXAMPLE: &str = r#"{"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[["Stage"]],"Metrics":[{"Name":"latency","Unit":"Milliseconds","StorageResolution":60}]}]},"Stage":"beta","latency":42,"orderId":"o-17"}"#;

    fn example() -> EmfDocument {
        EmfDocument {
            timestamp_ms: 1_700_000_000_123,
            directives: vec![MetricDirective {
                namespace: "Shop".into(),
                dimensions: vec![vec!["Stage".into()]],
                metrics: vec![MetricDefinition {
                    name: "latency".into(),
                    unit: Some("Milliseconds".into()),
                }],
            }],
            dimension_values: BTreeMap::from([("Stage".into(), "beta".into())]),
            values: BTreeMap::from([("latency".into(), 42.0)]),
        }
    }

    #[test]
    fn a_valid_document_is_read_with_its_namespace_dimensions_and_values() {
        assert_eq!(EmfDocument::parse(EXAMPLE).unwrap(), example());
    }

    #[test]
    fn a_written_document_is_one_line_that_reads_back_the_same() {
        let mut document = example();
        document.values.insert("rcu".into(), 2.5);
        document.directives[0].metrics.push(MetricDefinition {
            name: "rcu".into(),
            unit: None,
        });
        let line = document.to_line();
        assert!(!line.contains('\n'));
        assert!(
            line.contains(r#""latency":42"#),
            "counts stay integers: {line}"
        );
        assert_eq!(EmfDocument::parse(&line).unwrap(), document);
    }

    #[test]
    fn an_empty_dimension_set_publishes_metrics_without_dimensions() {
        let line = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"m","Unit":"Seconds"}]}]},"m":[4,5]}"#;
        let document = EmfDocument::parse(line).unwrap();
        assert_eq!(
            document.directives[0].dimensions,
            vec![Vec::<String>::new()]
        );
        assert_eq!(document.values["m"], 4.0);
    }

    #[test]
    fn every_rule_of_the_specification_is_enforced() {
        let valid: Value = serde_json::from_str(EXAMPLE).unwrap();
        let broken = |change: &dyn Fn(&mut Value)| {
            let mut v = valid.clone();
            change(&mut v);
            v.to_string()
        };
        let directive = "/_aws/CloudWatchMetrics/0";
        let cases: Vec<(String, &str)> = vec![
            (format!(" {EXAMPLE}"), "before or after"),
            (format!("{EXAMPLE}\n{EXAMPLE}"), "more than one line"),
            ("[1]".into(), "not a JSON object"),
            ("x {}".into(), "not one JSON value"),
            (
                broken(&|v| {
                    v.as_object_mut().unwrap().remove("_aws");
                }),
                "no _aws",
            ),
            (
                broken(&|v| v["_aws"]["Extra"] = json!(1)),
                "unknown member Extra",
            ),
            (
                broken(&|v| {
                    v["_aws"].as_object_mut().unwrap().remove("Timestamp");
                }),
                "Timestamp",
            ),
            (
                broken(&|v| v["_aws"]["Timestamp"] = json!("1")),
                "Timestamp",
            ),
            (
                broken(&|v| v["_aws"]["Timestamp"] = json!(1.5)),
                "whole number",
            ),
            (
                broken(&|v| v["_aws"]["CloudWatchMetrics"] = json!({})),
                "CloudWatchMetrics",
            ),
            (
                broken(&|v| v.pointer_mut(directive).unwrap()["Namespace"] = json!("")),
                "Namespace",
            ),
            (
                broken(&|v| {
                    v.pointer_mut(directive)
                        .unwrap()
                        .as_object_mut()
                        .unwrap()
                        .remove("Dimensions");
                }),
                "Dimensions is missing",
            ),
            (
                broken(&|v| v.pointer_mut(directive).unwrap()["Dimensions"] = json!([])),
                "no DimensionSet",
            ),
            (
                broken(&|v| {
                    v.pointer_mut(directive).unwrap()["Dimensions"] =
                        json!([(0..31).map(|i| format!("d{i}")).collect::<Vec<_>>()])
                }),
                "over 30 keys",
            ),
            (
                broken(&|v| v.pointer_mut(directive).unwrap()["Dimensions"] = json!([["absent"]])),
                "not a member of the root",
            ),
            (broken(&|v| v["Stage"] = json!(1)), "not a string"),
            (
                broken(&|v| v["Stage"] = json!("x".repeat(1025))),
                "over 1024 characters",
            ),
            (
                broken(&|v| v.pointer_mut(directive).unwrap()["Extra"] = json!(1)),
                "unknown member Extra",
            ),
            (
                broken(&|v| {
                    v.pointer_mut(directive).unwrap()["Metrics"] = json!((0..101)
                        .map(|i| json!({ "Name": format!("m{i}") }))
                        .collect::<Vec<_>>())
                }),
                "over 100 definitions",
            ),
            (
                broken(&|v| {
                    v.pointer_mut(directive).unwrap()["Metrics"][0]["Unit"] = json!("Furlongs")
                }),
                "not a CloudWatch unit",
            ),
            (
                broken(&|v| {
                    v.pointer_mut(directive).unwrap()["Metrics"][0]["StorageResolution"] = json!(5)
                }),
                "not 1 or 60",
            ),
            (
                broken(&|v| v.pointer_mut(directive).unwrap()["Metrics"][0]["Other"] = json!(5)),
                "unknown member Other",
            ),
            (
                broken(&|v| {
                    v.as_object_mut().unwrap().remove("latency");
                }),
                "metric latency is not a member",
            ),
            (broken(&|v| v["latency"] = json!("100")), "not a number"),
            (broken(&|v| v["latency"] = json!([])), "empty array"),
            (
                broken(&|v| v["latency"] = json!(vec![1; 101])),
                "over 100 values",
            ),
            (
                broken(&|v| v["latency"] = json!({ "nested": 1 })),
                "not a number",
            ),
        ];
        for (line, rule) in cases {
            let error = EmfDocument::parse(&line).unwrap_err();
            assert!(
                error.0.contains(rule),
                "{line}\n  -> {error}\n  expected: {rule}"
            );
        }
    }

    #[test]
    fn a_value_json_cannot_hold_is_written_as_zero() {
        let mut document = example();
        document.values.insert("latency".into(), f64::NAN);
        let parsed = EmfDocument::parse(&document.to_line()).unwrap();
        assert_eq!(parsed.values["latency"], 0.0);
    }
}
