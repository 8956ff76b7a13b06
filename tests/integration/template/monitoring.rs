//! Alarms and the dashboard name only metrics the code writes (`audit_shared::metrics`),
//! the service alarms notify the alarm topic, and the dashboard shows every service metric.

use std::collections::{BTreeMap, BTreeSet};

use audit_shared::metrics;
use serde_json::{json, Value};

use super::support::{parse, resource, str_of, template, template_text};

// ---------------------------------------------------------------- metrics and alarms

/// One metric an alarm or a widget names: namespace, name and `(dimension, value)` pairs.
type NamedMetric = (String, String, BTreeMap<String, String>);

/// The metrics an alarm names: its own `MetricName`, or those of its metric math.
fn alarm_metrics(alarm: &Value) -> Vec<NamedMetric> {
    let dimensions = |dims: &Value| -> BTreeMap<String, String> {
        dims.as_array()
            .map(|ds| {
                ds.iter()
                    // A value may be an intrinsic (`!Ref IngestFunction`): kept as JSON text.
                    .map(|d| {
                        let value = &d["Value"];
                        let value = value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned);
                        (str_of(&d["Name"]), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let p = &alarm["Properties"];
    if let Some(name) = p["MetricName"].as_str() {
        return vec![(
            str_of(&p["Namespace"]),
            name.to_owned(),
            dimensions(&p["Dimensions"]),
        )];
    }
    p["Metrics"]
        .as_array()
        .map(|queries| {
            queries
                .iter()
                .filter(|q| q["MetricStat"].is_object())
                .map(|q| {
                    let m = &q["MetricStat"]["Metric"];
                    (
                        str_of(&m["Namespace"]),
                        str_of(&m["MetricName"]),
                        dimensions(&m["Dimensions"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with a metric of the AuditLog namespace: it must be declared in
/// `audit_shared::metrics`, with exactly its set's dimensions, each with a declared value.
fn undeclared(name: &str, dims: &BTreeMap<String, String>) -> Option<String> {
    let Some((set, _)) = metrics::find(name) else {
        return Some(format!("{name} is not a metric the code writes"));
    };
    let declared: BTreeSet<&str> = set.dimensions.iter().map(|d| d.name).collect();
    let named: BTreeSet<&str> = dims.keys().map(String::as_str).collect();
    if declared != named {
        return Some(format!(
            "{name} has dimensions {named:?}, the code writes {declared:?}"
        ));
    }
    for d in set.dimensions {
        let value = dims[d.name].as_str();
        if !d.values().contains(&value) {
            return Some(format!(
                "{name}: {} = {value} is not a value the code writes",
                d.name
            ));
        }
    }
    None
}

/// Every problem with the alarms on the AuditLog namespace, by alarm.
fn alarm_problems(t: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        for (namespace, name, dims) in alarm_metrics(r) {
            if namespace == metrics::NAMESPACE {
                problems.extend(undeclared(&name, &dims).map(|p| format!("{id}: {p}")));
            }
        }
    }
    problems
}

fn audit_log_alarms(t: &Value) -> BTreeMap<String, BTreeSet<String>> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| {
            let names: BTreeSet<String> = alarm_metrics(r)
                .into_iter()
                .filter(|(ns, _, _)| ns == metrics::NAMESPACE)
                .map(|(_, name, _)| name)
                .collect();
            (id.clone(), names)
        })
        .filter(|(_, names)| !names.is_empty())
        .collect()
}

#[test]
fn every_alarm_on_the_audit_log_namespace_names_a_metric_the_code_writes() {
    let t = template();
    assert_eq!(alarm_problems(&t), Vec::<String>::new());
    let alarms = audit_log_alarms(&t);
    let expected: BTreeMap<String, BTreeSet<String>> = [
        (
            "RejectedEventsAlarm",
            &[metrics::EVENTS_REJECTED, metrics::EVENTS_RECEIVED][..],
        ),
        ("ConflictingEventsAlarm", &[metrics::EVENTS_CONFLICT][..]),
        ("SealingLagAlarm", &[metrics::OLDEST_UNSEALED_AGE][..]),
        ("PartialPagesAlarm", &[metrics::PARTIAL_PAGE][..]),
    ]
    .into_iter()
    .map(|(id, ms)| {
        (
            id.to_owned(),
            ms.iter().map(|m| m.name.to_owned()).collect(),
        )
    })
    .collect();
    assert_eq!(alarms, expected);
}

#[test]
fn an_alarm_on_a_metric_or_dimension_value_the_code_does_not_write_is_detected() {
    let text = template_text();
    for (from, to, problem) in [
        (
            "MetricName: PartialPage\n",
            "MetricName: PartialPages\n",
            "PartialPages is not a metric",
        ),
        (
            "{ Name: Route, Value: listEvents }",
            "{ Name: Route, Value: /api/Audit }",
            "Route = /api/Audit",
        ),
        (
            "{ Name: Source, Value: sqs }",
            "{ Name: Queue, Value: sqs }",
            "has dimensions",
        ),
        (
            "MetricName: EventsConflict\n",
            "MetricName: EventsConflicts\n",
            "EventsConflicts",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let problems = alarm_problems(&parse(&text.replacen(from, to, 1)));
        assert!(
            problems.iter().any(|p| p.contains(problem)),
            "{to}: {problems:?}"
        );
    }
}

#[test]
fn the_service_alarms_notify_the_alarm_topic_and_sealing_lag_is_a_parameter() {
    let t = template();
    let wiring = |id: &str| {
        let p = &resource(&t, id)["Properties"];
        (p["AlarmActions"].clone(), p["OKActions"].clone())
    };
    for id in audit_log_alarms(&t).keys() {
        assert_eq!(wiring(id), wiring("IngestErrorsAlarm"), "{id}");
        assert!(wiring(id).0.to_string().contains("AlarmTopicArn"), "{id}");
    }
    let lag = &resource(&t, "SealingLagAlarm")["Properties"];
    assert_eq!(lag["Threshold"], json!({ "Ref": "SealingLagThreshold" }));
    assert_eq!(lag["Statistic"], "Maximum");
    assert_eq!(
        lag["TreatMissingData"], "breaching",
        "a stopped sealer is lag"
    );
    assert_eq!(t["Parameters"]["SealingLagThreshold"]["Default"], 300);
    let partial = &resource(&t, "PartialPagesAlarm")["Properties"];
    assert_eq!(
        partial["Statistic"], "Average",
        "the share of partial pages"
    );
}

/// The dashboard's body with its `${...}` substitutions filled, as JSON.
fn dashboard(t: &Value) -> Value {
    let r = resource(t, "OperationsDashboard");
    assert_eq!(r["Type"], "AWS::CloudWatch::Dashboard");
    let mut body = str_of(&r["Properties"]["DashboardBody"]["Fn::Sub"]);
    while let Some(start) = body.find("${") {
        let end = start + body[start..].find('}').unwrap();
        let name = &body[start + 2..end];
        let value = if name == "SealingLagThreshold" {
            "300"
        } else {
            "x"
        };
        body.replace_range(start..=end, value);
    }
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}"))
}

/// The metrics of a widget, with the dashboard's shorthand expanded: `.` repeats the
/// element above, a leading `...` the elements above up to those given.
fn widget_metrics(widget: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for row in widget["properties"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let given: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if given.is_empty() {
            continue; // an expression
        }
        let mut names: Vec<String> = if given[0] == "..." {
            let keep = previous.len() - (given.len() - 1);
            previous[..keep]
                .iter()
                .cloned()
                .chain(given[1..].iter().cloned())
                .collect()
        } else {
            given
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if v == "." {
                        previous[i].clone()
                    } else {
                        v.clone()
                    }
                })
                .collect()
        };
        previous.clone_from(&names);
        let rest = names.split_off(2);
        out.push((names[0].clone(), names[1].clone(), rest));
    }
    out
}

#[test]
fn the_dashboard_shows_every_service_metric_beside_lambda_api_gateway_sqs_and_dynamodb() {
    let t = template();
    let body = dashboard(&t);
    let mut shown = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        for (namespace, name, dims) in widget_metrics(widget) {
            namespaces.insert(namespace.clone());
            if namespace == metrics::NAMESPACE {
                let pairs: BTreeMap<String, String> = dims
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect();
                assert_eq!(undeclared(&name, &pairs), None, "{widget}");
                shown.insert(name);
            }
        }
    }
    let declared: BTreeSet<String> = metrics::METRIC_SETS
        .iter()
        .flat_map(|s| s.metrics.iter().map(|m| m.name.to_owned()))
        .collect();
    assert_eq!(
        shown, declared,
        "every metric the code writes is on the dashboard"
    );
    for namespace in ["AWS/Lambda", "AWS/ApiGateway", "AWS/SQS", "AWS/DynamoDB"] {
        assert!(namespaces.contains(namespace), "{namespace}");
    }
}
