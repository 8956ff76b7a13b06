//! The tests of the document as a whole: it is the committed one, every route is in it
//! under its table's id, tags and references resolve, and the listing's parameters and the
//! bearer scheme are as documented; then each part's, under its file's name (they need the
//! assembled document, so they live here rather than beside the part).

use serde_json::{json, Value};

use super::*;
use crate::api::routes::{self, LIST_EVENTS_PATH, ROUTES};
use crate::catalog::{CATEGORIES, EVENT_TYPES};
use crate::domain::TenantId;
use crate::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};
use crate::query::{PageToken, TokenKey};

/// The committed document, read at run time so that a stale file fails this test rather
/// than the build.
fn committed() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The generated document as JSON.
fn value() -> Value {
    serde_json::from_str(&document_json().unwrap()).unwrap()
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let generated = document_json().unwrap();
    let committed = committed();
    if generated != committed {
        let line = generated
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one is a prefix of the other".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "docs/openapi.json differs from the document the code generates ({line}); \
             run `make openapi` and commit the result"
        );
    }
}

#[test]
fn the_paths_methods_and_operation_ids_are_exactly_the_documented_routes_of_the_table() {
    let doc = value();
    let mut documented: Vec<(String, String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            documented.push((method.to_uppercase(), path.clone(), id));
        }
    }
    let mut expected: Vec<(String, String, String)> = ROUTES
        .iter()
        .filter_map(|r| {
            r.operation_id.map(|id| {
                (
                    r.method.as_str().to_owned(),
                    r.path.to_owned(),
                    id.to_owned(),
                )
            })
        })
        .collect();
    // The document lists paths in sorted order, the table in reading order.
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
}

#[test]
fn the_routes_describe_every_parameter_and_response() {
    let doc = value();
    let list = &doc["paths"]["/api/Audit"]["get"];
    assert_eq!(list["operationId"], "listEvents");
    // 13 filters and paging parameters, and `format`.
    assert_eq!(list["parameters"].as_array().unwrap().len(), 14);
    for status in ["200", "400", "401", "406", "500", "503"] {
        assert!(list["responses"][status].is_object(), "{status}");
    }
    // Every format's media type, and the pagination headers they rely on.
    for format in crate::format::Format::ALL {
        assert!(
            list["responses"]["200"]["content"][format.media_type()].is_object(),
            "{}",
            format.media_type()
        );
    }
    for header in ["Link", "X-Has-More", "X-Next-Token"] {
        assert!(
            list["responses"]["200"]["headers"][header].is_object(),
            "{header}"
        );
    }
    assert_eq!(
        list["responses"]["406"]["content"]["application/problem+json"]["example"]["errors"][0]
            ["parameter"],
        "Accept"
    );
    assert!(list["responses"]["400"]["content"]["application/problem+json"].is_object());
    assert!(list["description"].as_str().unwrap().contains(
        "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z"
    ));
    assert_eq!(list["security"][0]["bearerAuth"], serde_json::json!([]));
    let get = &doc["paths"]["/api/Audit/{eventId}"]["get"];
    assert!(get["responses"]["404"].is_object());
    assert!(doc["paths"]["/api/Audit/eventTypes"]["get"].is_object());
    assert!(doc["paths"]["/api/Audit/categories"]["get"].is_object());
}

#[test]
fn the_event_path_parameter_and_its_400_follow_the_rule_of_ingestion() {
    let doc = value();
    let get = &doc["paths"]["/api/Audit/{eventId}"]["get"];
    let parameter = &get["parameters"][0];
    assert_eq!(parameter["name"], "eventId");
    assert_eq!(parameter["in"], "path");
    assert_eq!(parameter["required"], true);
    let schema = &parameter["schema"];
    assert_eq!(schema["pattern"], crate::api::params::EVENT_ID_PATTERN);
    assert_eq!(schema["minLength"], 1);
    assert_eq!(schema["maxLength"], crate::domain::MAX_IDENTIFIER_LEN);
    let bad = &get["responses"]["400"]["content"]["application/problem+json"]["example"];
    assert_eq!(bad["detail"], "1 path parameter is invalid.");
    assert_eq!(bad["errors"][0]["parameter"], "eventId");
    for status in ["200", "400", "401", "404", "500", "503"] {
        assert!(get["responses"][status].is_object(), "{status}");
    }
}

#[test]
fn the_document_is_openapi_3_1() {
    assert_eq!(value()["openapi"], "3.1.0");
}

#[test]
fn the_json_is_identical_from_one_build_to_the_next() {
    assert_eq!(document_json().unwrap(), document_json().unwrap());
}

#[test]
fn every_route_of_the_api_is_documented() {
    let doc = value();
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/api/Audit",
            "/api/Audit/categories",
            "/api/Audit/checkpoints",
            "/api/Audit/eventTypes",
            "/api/Audit/feed",
            "/api/Audit/ledger/entries",
            "/api/Audit/ledger/keys",
            "/api/Audit/{eventId}",
            "/api/Audit/{eventId}/proof"
        ]
    );
    for path in paths {
        assert!(
            doc["paths"][path]["get"]["operationId"].is_string(),
            "{path}"
        );
    }
}

#[test]
fn every_operation_tag_is_declared_with_a_description() {
    let doc = value();
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(t["description"].is_string());
            t["name"].as_str().unwrap()
        })
        .collect();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for tag in operation["tags"].as_array().unwrap() {
                assert!(
                    declared.contains(&tag.as_str().unwrap()),
                    "undeclared tag {tag}"
                );
            }
        }
    }
}

#[test]
fn the_listing_parameters_document_their_rules() {
    let doc = value();
    let parameters = doc["paths"][LIST_EVENTS_PATH]["get"]["parameters"]
        .as_array()
        .unwrap();
    let named = |name: &str| {
        parameters
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
    };
    for name in [
        "category",
        "eventType",
        "rangeStart",
        "rangeEnd",
        "pageSize",
        "pageNumber",
        "nextToken",
        "order",
    ] {
        let parameter = named(name);
        assert_eq!(parameter["in"], "query");
        assert!(
            parameter["description"].is_string(),
            "{name} has no description"
        );
    }
    let page_size = named("pageSize")["schema"].to_string();
    assert!(
        page_size.contains(&format!("\"maximum\":{}", crate::limits::PAGE_SIZE_MAX)),
        "{page_size}"
    );
    assert!(
        page_size.contains(&format!("\"default\":{}", crate::limits::PAGE_SIZE_DEFAULT)),
        "{page_size}"
    );
}

#[test]
fn the_bearer_scheme_is_a_jwt_http_bearer() {
    let scheme = &value()["components"]["securitySchemes"][BEARER_AUTH];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
}

#[test]
fn every_operation_but_the_public_key_requires_the_bearer_scheme() {
    let doc = value();
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let security = operation["security"].as_array();
            if path == routes::LEDGER_KEYS_PATH {
                assert!(security.is_none_or(Vec::is_empty), "{method} {path}");
                continue;
            }
            assert!(
                security.is_some_and(|s| s.iter().any(|r| r.get(BEARER_AUTH).is_some())),
                "{method} {path} does not require {BEARER_AUTH}"
            );
        }
    }
}

#[test]
fn the_event_schemas_are_components() {
    let doc = value();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["AuditEvent", "Actor", "Target", "Change", "FieldError"] {
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
}

#[test]
fn every_schema_reference_resolves() {
    fn walk(value: &Value, doc: &Value, seen: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.trim_start_matches('#');
                    assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
                    seen.push(target.clone());
                }
                map.values().for_each(|v| walk(v, doc, seen));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, seen)),
            _ => {}
        }
    }
    let doc = value();
    let mut seen = Vec::new();
    walk(&doc, &doc, &mut seen);
    assert!(!seen.is_empty(), "the document refers to no schema at all");
}

// ---------------------------------------------------------------- the overview (overview)

#[test]
fn the_overview_lists_every_category_and_event_type() {
    let doc = value();
    let description = doc["info"]["description"].as_str().unwrap();
    for category in CATEGORIES {
        assert!(description.contains(&format!("| {} | {} |", category.name, category.code)));
    }
    for event_type in EVENT_TYPES {
        assert!(description.contains(&format!("{} {}", event_type.name, event_type.code)));
    }
}

// ---------------------------------------------------------------- the examples (examples)

#[test]
fn the_example_next_token_is_accepted_for_its_tenant_and_no_filters() {
    let doc = value();
    let page = &doc["paths"][LIST_EVENTS_PATH]["get"]["responses"]["200"]["content"]
        ["application/json"]["example"];
    let token = page["nextToken"].as_str().unwrap();
    assert_eq!(token, example_next_token());
    let no_filters = crate::api::parse_list_query(&[]).unwrap().filters;
    let decoded = PageToken::decode(
        token,
        &TokenKey::local_default(),
        &TenantId::parse(EXAMPLE_TENANT).unwrap(),
        &no_filters.digest(),
    )
    .unwrap();
    assert_eq!(decoded.page_number, 2);
    assert_eq!(page["items"][0]["tenantId"], EXAMPLE_TENANT);
    // No other example of a token exists to go stale.
    let schema = &doc["components"]["schemas"]["EventPage"]["properties"]["nextToken"];
    assert!(schema.get("example").is_none(), "{schema}");
}

#[test]
fn the_reference_example_requests_are_on_the_listing() {
    let doc = value();
    let list = &doc["paths"][LIST_EVENTS_PATH]["get"];
    let description = list["description"].as_str().unwrap();
    let samples = list["x-codeSamples"].as_array().unwrap();
    assert_eq!(samples.len(), EXAMPLE_REQUESTS.len());
    for ((_, query), sample) in EXAMPLE_REQUESTS.iter().zip(samples) {
        assert!(
            description.contains(query),
            "{query} not in the description"
        );
        assert_eq!(sample["source"], format!("GET {LIST_EVENTS_PATH}?{query}"));
    }
}

#[test]
fn the_reversed_range_example_is_a_documented_400() {
    let doc = value();
    let examples = &doc["paths"][LIST_EVENTS_PATH]["get"]["responses"]["400"]["content"]
        ["application/problem+json"]["examples"];
    let reversed = examples["reversedRange"]["value"].to_string();
    assert!(
        reversed.contains("2024-03-01T05:00:00.000Z")
            && reversed.contains("2023-10-23T04:59:00.000Z")
    );
}

// ---------------------------------------------------------------- the error responses (errors)

#[test]
fn every_401_is_documented_as_api_gateway_and_the_service_send_it() {
    let doc = value();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            if path == routes::LEDGER_KEYS_PATH {
                // Public: no token, so no 401.
                assert!(operation["responses"]["401"].is_null(), "{path}");
                continue;
            }
            let content = &operation["responses"]["401"]["content"];
            assert_eq!(
                content["application/json"]["example"],
                json!({ "message": "Unauthorized" }),
                "{path}"
            );
            assert_eq!(
                content["application/json"]["schema"]["$ref"],
                "#/components/schemas/GatewayMessage",
                "{path}"
            );
            let problem = &content["application/problem+json"];
            assert_eq!(problem["example"]["status"], 401, "{path}");
            assert!(
                problem["example"]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("tenantId claim"),
                "{path}"
            );
            seen += 1;
        }
    }
    // Every documented operation but the public verifier key.
    assert_eq!(seen, 8);
    let overview = doc["info"]["description"].as_str().unwrap();
    assert!(
        overview.contains("`{ \"message\": \"Not Found\" }`"),
        "{overview}"
    );
}

#[test]
fn the_query_functions_server_errors_are_documented_once_for_every_route() {
    let doc = value();
    for route in ROUTES
        .iter()
        .filter(|r| r.function == routes::Function::Query)
    {
        let response = &doc["paths"][route.path]["get"]["responses"]["500"];
        let example = &response["content"]["application/problem+json"]["example"];
        assert_eq!(example["status"], 500, "{}", route.path);
        assert!(example["requestId"].is_string(), "{}", route.path);
        // Only the routes that read the store can be throttled or run out of time.
        let unavailable = &doc["paths"][route.path]["get"]["responses"]["503"];
        let reads = matches!(
            route.operation,
            routes::Operation::ListEvents
                | routes::Operation::GetEvent
                | routes::Operation::GetProof
                | routes::Operation::ListCheckpoints
                | routes::Operation::ListLedgerEntries
                | routes::Operation::GetLedgerKeys
        );
        assert_eq!(unavailable.is_object(), reads, "{}", route.path);
        if reads {
            assert!(unavailable["headers"]["Retry-After"].is_object());
        }
    }
}

#[test]
fn every_error_response_is_problem_json_with_a_schema_and_an_example() {
    let doc = value();
    let mut errors = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    continue;
                }
                errors += 1;
                let problem = &response["content"]["application/problem+json"];
                assert!(problem["schema"].is_object(), "{path} {status}");
                let example = if problem["example"].is_object() {
                    &problem["example"]
                } else {
                    let examples = problem["examples"].as_object();
                    &examples.and_then(|e| e.values().next()).unwrap()["value"]
                };
                assert_eq!(example["status"].to_string(), *status, "{path} {status}");
                assert!(example["title"].is_string() && example["detail"].is_string());
            }
        }
    }
    assert!(errors >= 8, "only {errors} error responses");
}

// ---------------------------------------------------------------- the ingest contract (ingest)

#[test]
fn the_ingest_payload_and_answer_are_components_referenced_by_the_ingest_extension() {
    let doc = value();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "IngestRequest",
        "EventBatch",
        "EventInput",
        "ActorInput",
        "EventTypeRef",
        "IngestResponse",
        "EventResult",
        "EventStatus",
        "IngestTotals",
    ] {
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
    let ingest = &doc[INGEST_EXTENSION];
    let request = "#/components/schemas/IngestRequest";
    assert_eq!(ingest["directInvoke"]["request"]["$ref"], request);
    assert_eq!(ingest["sqs"]["messageBody"]["$ref"], request);
    assert_eq!(
        ingest["directInvoke"]["response"]["$ref"],
        "#/components/schemas/IngestResponse"
    );
    assert_eq!(ingest["limits"]["maxBatchEvents"], MAX_BATCH_EVENTS);
    assert_eq!(ingest["limits"]["maxEventBytes"], MAX_EVENT_BYTES);
}

#[test]
fn there_is_no_http_route_for_ingest() {
    let doc = value();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(methods, ["get"], "{path} has more than GET");
    }
}

// ---------------------------------------------------------- what the routes answer (errors)

#[test]
fn the_document_declares_what_the_routes_really_answer() {
    let doc = value();
    for route in ROUTES
        .iter()
        .filter(|r| r.function == routes::Function::Query)
    {
        let operation = &doc["paths"][route.path]["get"];
        // The gateway answers a request line over its quota, on every route.
        assert!(
            operation["responses"].get("414").is_some(),
            "{}: no 414",
            route.path
        );
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let schema = &parameter["schema"];
            let name = parameter["name"].as_str().unwrap();
            // An empty value is a 400 for every parameter.
            if schema["type"] == "string" {
                assert_eq!(schema["minLength"], 1, "{} {name}", route.path);
            }
            // Tokens and cursors are URL-safe base64.
            if ["nextToken", "cursor"].contains(&name) {
                assert_eq!(
                    schema["pattern"], "^[A-Za-z0-9_-]+$",
                    "{} {name}",
                    route.path
                );
                assert!(schema["maxLength"].is_number(), "{} {name}", route.path);
            }
        }
    }
    let end = doc["paths"]["/api/Audit/ledger/entries"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "end")
        .unwrap();
    assert!(
        end["description"]
            .as_str()
            .unwrap()
            .contains("greater than `start`"),
        "{end}"
    );
}
