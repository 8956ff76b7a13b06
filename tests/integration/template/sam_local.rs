//! `sam local`'s files (`infra/sam/`) agree with the template: variables it declares,
//! requests on its routes, ingest payloads that follow the event contract.

use serde_json::Value;

use super::support::{resource, routes, str_of, template};

// ------------------------------------------------------------------------------- sam local

fn sam_file(name: &str) -> Value {
    let path = format!("{}/../infra/sam/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn env_json_sets_only_variables_the_template_declares() {
    // `sam local --env-vars` silently ignores a variable the template does not declare.
    let t = template();
    let env = sam_file("env.json");
    for (function, variables) in env.as_object().unwrap() {
        let declared = &resource(&t, function)["Properties"]["Environment"]["Variables"];
        for name in variables.as_object().unwrap().keys() {
            assert!(declared.get(name).is_some(), "{function}: {name}");
        }
    }
    for function in ["IngestFunction", "QueryFunction"] {
        let config = &env[function];
        audit_shared::config::Config::from_lookup(|name| {
            config[name]
                .as_str()
                .map(str::to_owned)
                .or_else(|| (name == "AWS_REGION").then(|| "us-east-1".to_owned()))
        })
        .unwrap();
    }
}

#[test]
fn the_sample_requests_hit_template_routes() {
    let routes = routes(&template());
    for (file, function, public) in [
        ("query-list.json", "QueryFunction", false),
        ("query-get.json", "QueryFunction", false),
        ("query-event-types.json", "QueryFunction", false),
        ("swagger-ui.json", "SwaggerFunction", true),
        ("swagger-json.json", "SwaggerFunction", true),
    ] {
        let event = sam_file(&format!("events/{file}"));
        assert_eq!(event["version"], "2.0", "{file}");
        let (method, path) = str_of(&event["routeKey"])
            .split_once(' ')
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .unwrap();
        assert!(
            routes.contains(&(function.to_owned(), method, path, public)),
            "{file}"
        );
        let has_claims = event["requestContext"]["authorizer"]["jwt"]["claims"].is_object();
        assert_eq!(has_claims, !public, "{file}");
    }
}

#[test]
fn the_sample_ingest_payloads_follow_the_event_contract() {
    use audit_shared::domain::{AuditEvent, Timestamp};
    let valid = |e: &Value| AuditEvent::parse(e, Timestamp::now()).is_ok();

    assert!(valid(&sam_file("events/ingest-single.json")));

    let batch = sam_file("events/ingest-batch.json");
    let events = batch["events"].as_array().unwrap();
    let outcomes: Vec<bool> = events.iter().map(valid).collect();
    // The last event is invalid on purpose: it shows a rejection beside stored events.
    assert_eq!(outcomes, [true, true, false]);

    let sqs = sam_file("events/ingest-sqs.json");
    let records = sqs["Records"].as_array().unwrap();
    let bodies: Vec<Option<Value>> = records
        .iter()
        .map(|r| serde_json::from_str(&str_of(&r["body"])).ok())
        .collect();
    assert_eq!(bodies.len(), 3);
    assert!(valid(bodies[0].as_ref().unwrap()));
    assert!(bodies[1].as_ref().unwrap()["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(valid));
    // The last record is not JSON on purpose: it ends up in batchItemFailures.
    assert!(bodies[2].is_none());
    assert!(records.iter().all(|r| r["eventSource"] == "aws:sqs"));
}
