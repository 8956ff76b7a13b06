//! How the functions run: the ingest queue (partial failures, dead letters), the
//! configuration the shared config reads, arm64 with tracing and a log group each, and
//! the reserved concurrency parameters.

use std::collections::BTreeSet;

use audit_shared::config::{
    Retention, ENV_DYNAMODB_ENDPOINT, ENV_RETENTION_DAYS, ENV_SHARDS, ENV_TABLE_NAME,
};
use audit_shared::limits::MAX_SHARDS;
use serde_json::{json, Value};

use super::support::{resource, str_of, template, KEY, TABLE};

// ------------------------------------------------------------------------------- ingest

#[test]
fn the_ingest_queue_reports_partial_failures_and_dead_letters_after_retries() {
    let t = template();
    let function = &resource(&t, "IngestFunction")["Properties"];
    let sqs: Vec<&Value> = function["Events"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["Type"] == "SQS")
        .collect();
    assert_eq!(sqs.len(), 1);
    let source = &sqs[0]["Properties"];
    assert_eq!(
        source["Queue"],
        json!({ "Fn::GetAtt": ["IngestQueue", "Arn"] })
    );
    assert_eq!(
        source["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );

    let queue = &resource(&t, "IngestQueue")["Properties"];
    let timeout = function["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
    assert_eq!(queue["KmsMasterKeyId"], json!({ "Ref": KEY }));
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        json!({ "Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"] })
    );
    assert!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() >= 3);

    let dlq = &resource(&t, "IngestDeadLetterQueue")["Properties"];
    assert_eq!(dlq["MessageRetentionPeriod"], 14 * 86_400);
    assert_eq!(dlq["KmsMasterKeyId"], json!({ "Ref": KEY }));
    // A dead letter keeps its original enqueue time, so the DLQ must outlive the queue.
    assert!(
        dlq["MessageRetentionPeriod"].as_u64().unwrap()
            > queue["MessageRetentionPeriod"].as_u64().unwrap()
    );

    // An asynchronous invocation that fails every attempt lands in the same dead-letter
    // queue: its body is an ingest payload, so a redrive to the ingest queue stores it.
    assert_eq!(
        function["DeadLetterQueue"],
        json!({ "Type": "SQS", "TargetArn": { "Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"] } })
    );
    // The function fails an invocation holding events it could not store (ADR 0014):
    // Lambda retries it twice, and keeps it up to its maximum age before dead-lettering.
    assert_eq!(
        function["EventInvokeConfig"],
        json!({ "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21_600 })
    );
    let alarm = &resource(&t, "IngestDeadLetterErrorsAlarm")["Properties"];
    assert_eq!(alarm["MetricName"], "DeadLetterErrors");
    assert_eq!(
        alarm["Dimensions"],
        json!([{ "Name": "FunctionName", "Value": { "Ref": "IngestFunction" } }])
    );
}

// ------------------------------------------------------------------------------- configuration

#[test]
fn the_functions_get_the_configuration_the_shared_config_reads() {
    let t = template();
    for function in ["IngestFunction", "QueryFunction"] {
        let env = &resource(&t, function)["Properties"]["Environment"]["Variables"];
        assert_eq!(env[ENV_TABLE_NAME], json!({ "Ref": TABLE }), "{function}");
        assert_eq!(env[ENV_SHARDS], json!({ "Ref": "Shards" }), "{function}");
        assert_eq!(
            env[ENV_RETENTION_DAYS],
            json!({ "Ref": "RetentionDays" }),
            "{function}"
        );
        // Only for a local engine (sam local sets it through env.json); empty in AWS, where
        // the SDK resolves the regional endpoint.
        assert_eq!(env[ENV_DYNAMODB_ENDPOINT], "", "{function}");
    }
    let shards = &t["Parameters"]["Shards"];
    assert_eq!(shards["MinValue"], 1);
    assert_eq!(shards["MaxValue"], u64::from(MAX_SHARDS));
    let retention = str_of(&t["Parameters"]["RetentionDays"]["Default"]);
    Retention::parse(&retention).unwrap();
}

#[test]
fn every_function_runs_arm64_traced_with_its_own_log_group() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active");
    let mut log_groups = BTreeSet::new();
    for (function, package) in [
        ("IngestFunction", "ingest"),
        ("QueryFunction", "query"),
        ("SwaggerFunction", "swagger"),
        ("SealerFunction", "sealer"),
        ("TokenFunction", "token"),
    ] {
        let f = resource(&t, function);
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], package);
        assert_eq!(f["Properties"]["CodeUri"], format!("functions/{package}"));
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
        let manifest = std::fs::read_to_string(format!("{manifest}/{package}/Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{package}\"")),
            "{package}"
        );
        for key in ["Runtime", "Architectures", "Tracing"] {
            assert!(
                f["Properties"].get(key).is_none(),
                "{function} overrides {key}"
            );
        }
        let group = str_of(&f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]);
        let retention = &resource(&t, &group)["Properties"]["RetentionInDays"];
        assert_eq!(retention, &json!({ "Ref": "LogRetentionDays" }), "{group}");
        assert!(log_groups.insert(group), "{function} shares a log group");
    }
}

// ------------------------------------------------------------------------------- concurrency

#[test]
fn each_function_reserves_the_concurrency_its_parameter_gives_and_zero_reserves_none() {
    let t = template();
    for (function, parameter, condition) in [
        (
            "IngestFunction",
            "IngestReservedConcurrency",
            "HasIngestReservation",
        ),
        (
            "QueryFunction",
            "QueryReservedConcurrency",
            "HasQueryReservation",
        ),
        (
            "SwaggerFunction",
            "SwaggerReservedConcurrency",
            "HasSwaggerReservation",
        ),
        (
            "TokenFunction",
            "TokenReservedConcurrency",
            "HasTokenReservation",
        ),
    ] {
        assert_eq!(
            resource(&t, function)["Properties"]["ReservedConcurrentExecutions"],
            json!({ "Fn::If": [condition, { "Ref": parameter }, { "Ref": "AWS::NoValue" }] }),
            "{function}"
        );
        assert_eq!(
            t["Conditions"][condition],
            json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": parameter }, 0] }] }),
            "{condition}"
        );
        let p = &t["Parameters"][parameter];
        assert_eq!(p["Type"], "Number", "{parameter}");
        assert_eq!(p["MinValue"], 0, "{parameter}");
        assert!(p["Default"].as_u64().unwrap() > 0, "{parameter}");
    }
    // Throttled SQS batches count as receives and end in the dead-letter queue: the
    // default leaves room above the queue's concurrency for direct invokes.
    let queue_concurrency = resource(&t, "IngestFunction")["Properties"]["Events"]["Queue"]
        ["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        .as_u64()
        .unwrap();
    let ingest = t["Parameters"]["IngestReservedConcurrency"]["Default"]
        .as_u64()
        .unwrap();
    assert!(
        ingest >= 2 * queue_concurrency,
        "{ingest} vs {queue_concurrency}"
    );
}
