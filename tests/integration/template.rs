//! `template.yaml` against the shared definitions: the table it deploys must be exactly
//! `TableDefinition::audit()` (keys, attribute types, indexes, projections, TTL), each
//! function role must hold exactly its least-privilege permissions, and the routes, queue
//! and configuration must match what the functions expect. Also pinned: the stack's KMS key
//! and who may use it, CORS off unless origins are given, the reserved concurrency
//! parameters, and a reason beside every check the scanner (checkov) is told to skip.
//!
//! The template is read as YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
//! `!Sub`...) turned into their long form, so the checks see what CloudFormation sees.
//! Each check is also run on deliberately broken copies, to show that it can fail.

use std::collections::{BTreeMap, BTreeSet};

use audit_shared::api::routes::{Function, ROUTES};
use audit_shared::config::{
    Retention, ENV_DYNAMODB_ENDPOINT, ENV_RETENTION_DAYS, ENV_SHARDS, ENV_TABLE_NAME,
};
use audit_shared::limits::MAX_SHARDS;
use audit_shared::metrics;
use audit_shared::table::TableDefinition;
use serde_json::{json, Value};

const TABLE: &str = "AuditTable";
const KEY: &str = "AuditKey";

fn template_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    std::fs::read_to_string(path).unwrap()
}

fn parse(text: &str) -> Value {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
    long_form(&yaml)
}

fn template() -> Value {
    parse(&template_text())
}

/// Converts YAML to JSON, turning short-form intrinsic functions into their long form:
/// `!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`,
/// `!Sub s` -> `{"Fn::Sub": s}` and so on.
fn long_form(yaml: &serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().unwrap())
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(long_form).collect()),
        Y::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other).unwrap().trim().to_owned(),
                    };
                    (key, long_form(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = long_form(&tagged.value);
            match (name, &inner) {
                ("Ref", _) => json!({ "Ref": inner }),
                ("Condition", _) => json!({ "Condition": inner }),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').unwrap();
                    json!({ "Fn::GetAtt": [resource, attribute] })
                }
                _ => json!({ format!("Fn::{name}"): inner }),
            }
        }
    }
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let r = &template["Resources"][name];
    assert!(r.is_object(), "template has no resource {name}");
    r
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, found {v}"))
        .to_owned()
}

// ------------------------------------------------------------------------------- table

/// (attribute, HASH or RANGE) pairs of a key schema.
type KeySchema = Vec<(String, String)>;

/// An index as a comparable value: key schema, projection type, non-key attributes.
type IndexShape = (KeySchema, String, Vec<String>);

/// A table as a comparable value: what the template declares, or what the shared
/// definition requires.
#[derive(Debug, PartialEq, Eq)]
struct TableShape {
    key_schema: KeySchema,
    /// attribute -> type, for every key attribute
    attributes: BTreeMap<String, String>,
    /// index name -> (key schema, projection type, non-key attributes)
    indexes: BTreeMap<String, IndexShape>,
    /// (attribute, enabled)
    ttl: Option<(String, bool)>,
}

fn key_schema(v: &Value) -> KeySchema {
    v.as_array()
        .unwrap_or_else(|| panic!("KeySchema must be a list, found {v}"))
        .iter()
        .map(|k| (str_of(&k["AttributeName"]), str_of(&k["KeyType"])))
        .collect()
}

fn declared_table(template: &Value) -> TableShape {
    declared_table_named(template, TABLE)
}

fn declared_table_named(template: &Value, name: &str) -> TableShape {
    let table = resource(template, name);
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let p = &table["Properties"];
    let attributes = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (str_of(&a["AttributeName"]), str_of(&a["AttributeType"])))
        .collect::<Vec<_>>();
    let unique: BTreeMap<String, String> = attributes.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        attributes.len(),
        "an attribute is defined twice"
    );
    let indexes = p["GlobalSecondaryIndexes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    let projection = &i["Projection"];
                    let non_key = projection["NonKeyAttributes"]
                        .as_array()
                        .map(|a| a.iter().map(str_of).collect())
                        .unwrap_or_default();
                    (
                        str_of(&i["IndexName"]),
                        (
                            key_schema(&i["KeySchema"]),
                            str_of(&projection["ProjectionType"]),
                            non_key,
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ttl = p["TimeToLiveSpecification"].as_object().map(|t| {
        (
            str_of(&t["AttributeName"]),
            t["Enabled"].as_bool().unwrap_or(false),
        )
    });
    TableShape {
        key_schema: key_schema(&p["KeySchema"]),
        attributes: unique,
        indexes,
        ttl,
    }
}

fn expected_table(def: &TableDefinition) -> TableShape {
    let hash = |a: &str| (a.to_owned(), "HASH".to_owned());
    let range = |a: &str| (a.to_owned(), "RANGE".to_owned());
    let mut key_schema = vec![hash(def.partition_key)];
    key_schema.extend(def.sort_key.map(range));
    TableShape {
        key_schema,
        attributes: def
            .key_attributes()
            .into_iter()
            .map(|a| (a.to_owned(), "S".to_owned()))
            .collect(),
        indexes: def
            .indexes
            .iter()
            .map(|i| {
                (
                    i.name.to_owned(),
                    (
                        vec![hash(i.partition_key), range(i.sort_key)],
                        i.projection.as_str().to_owned(),
                        i.projection
                            .non_key_attributes()
                            .iter()
                            .map(|a| (*a).to_owned())
                            .collect(),
                    ),
                )
            })
            .collect(),
        ttl: def.ttl_attribute.map(|a| (a.to_owned(), true)),
    }
}

#[test]
fn the_template_table_equals_the_shared_table_definition() {
    assert_eq!(
        declared_table(&template()),
        expected_table(&TableDefinition::audit())
    );
    assert_eq!(
        declared_table_named(&template(), "LedgerTable"),
        expected_table(&TableDefinition::ledger())
    );
}

#[test]
fn a_template_table_that_drifts_from_the_definition_is_detected() {
    let expected = expected_table(&TableDefinition::audit());
    let text = template_text();
    // Edits of the file itself, as a careless change would make them.
    for (from, to) in [
        ("IndexName: byActor", "IndexName: byActors"),
        ("AttributeName: expiresAt", "AttributeName: expiresOn"),
        (
            "{ AttributeName: eventTypePk, AttributeType: S }",
            "{ AttributeName: eventTypePk, AttributeType: N }",
        ),
    ] {
        assert!(text.contains(from), "mutation '{from}' matches nothing");
        let drifted = parse(&text.replacen(from, to, 1));
        assert_ne!(declared_table(&drifted), expected, "{from} -> {to}");
    }
    // Structural edits.
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("projection ALL", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][1]["Projection"] =
                json!({ "ProjectionType": "ALL" });
        }),
        ("INCLUDE attribute dropped", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][6]["Projection"] =
                json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": [] });
        }),
        ("index dropped", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        ("index sort key swapped to HASH", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][0]["KeySchema"][1]
                ["KeyType"] = json!("HASH");
        }),
        ("base sort key added", |t| {
            t["Resources"][TABLE]["Properties"]["KeySchema"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "AttributeName": "sk", "KeyType": "RANGE" }));
        }),
        ("TTL disabled", |t| {
            t["Resources"][TABLE]["Properties"]["TimeToLiveSpecification"]["Enabled"] =
                json!(false);
        }),
        ("TTL removed", |t| {
            t["Resources"][TABLE]["Properties"]
                .as_object_mut()
                .unwrap()
                .remove("TimeToLiveSpecification");
        }),
    ];
    for (what, mutate) in mutations {
        let mut drifted = template();
        mutate(&mut drifted);
        assert_ne!(declared_table(&drifted), expected, "{what}");
    }
}

#[test]
fn the_table_is_on_demand_encrypted_recoverable_and_kept() {
    let t = template();
    let table = resource(&t, TABLE);
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(p["DeletionProtectionEnabled"], true);
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(p["SSESpecification"]["SSEType"], "KMS");
    // A fixed name would make a retained table collide with a redeployed stack.
    assert!(p.get("TableName").is_none());
}

#[test]
fn both_tables_take_their_class_from_one_parameter_standard_ia_by_default() {
    let t = template();
    let class = &t["Parameters"]["TableClass"];
    assert_eq!(class["Default"], "STANDARD_INFREQUENT_ACCESS");
    assert_eq!(
        class["AllowedValues"],
        json!(["STANDARD", "STANDARD_INFREQUENT_ACCESS"])
    );
    for table in [TABLE, "LedgerTable"] {
        assert_eq!(
            resource(&t, table)["Properties"]["TableClass"],
            json!({ "Ref": "TableClass" }),
            "{table}"
        );
    }
}

// ------------------------------------------------------------------------------- IAM

/// Every (action, resource) an execution role allows, resources written as
/// `${Resource.Attribute}` or the literal ARN pattern.
fn role_permissions(template: &Value, function: &str) -> BTreeSet<(String, String)> {
    let f = &resource(template, function)["Properties"];
    // SAM would otherwise generate a role and attach broad managed policies to it.
    assert!(
        f.get("Policies").is_none(),
        "{function} must not use SAM Policies"
    );
    let role_name = str_of(&f["Role"]["Fn::GetAtt"][0]);
    assert_eq!(f["Role"]["Fn::GetAtt"][1], "Arn", "{function} Role");
    let role = resource(template, &role_name);
    assert_eq!(role["Type"], "AWS::IAM::Role");
    let p = &role["Properties"];
    assert!(p.get("ManagedPolicyArns").is_none(), "{role_name}");
    assert!(p.get("PermissionsBoundary").is_none(), "{role_name}");
    assert_eq!(
        p["AssumeRolePolicyDocument"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]),
        "{role_name} trust policy"
    );
    let resource_name = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("Fn::GetAtt") => {
            format!(
                "${{{}.{}}}",
                str_of(&v["Fn::GetAtt"][0]),
                str_of(&v["Fn::GetAtt"][1])
            )
        }
        Value::Object(o) if o.contains_key("Fn::Sub") => str_of(&v["Fn::Sub"]),
        other => panic!("unexpected resource {other}"),
    };
    let mut allowed = BTreeSet::new();
    for policy in p["Policies"].as_array().unwrap() {
        allowed.extend(statement_permissions(
            &policy["PolicyDocument"],
            &role_name,
            resource_name,
        ));
    }
    allowed
}

/// The (action, resource) pairs of a policy document's Allow statements. A statement with a
/// condition must be a KMS statement usable only through SQS (or S3, written
/// `<resource> via s3`), or a DynamoDB statement restricted to leading keys (written
/// `<resource> if LeadingKeys=<keys>`), so the pairs say all the rest.
fn statement_permissions(
    document: &Value,
    owner: &str,
    resource_name: impl Fn(&Value) -> String,
) -> BTreeSet<(String, String)> {
    let one_or_many = |v: &Value| match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut allowed = BTreeSet::new();
    for statement in document["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{owner}: {statement}");
        assert!(statement.get("NotAction").is_none(), "{owner}");
        assert!(statement.get("NotResource").is_none(), "{owner}");
        let actions = one_or_many(&statement["Action"]);
        let kms = actions.iter().any(|a| str_of(a).starts_with("kms:"));
        let leading_keys =
            &statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"];
        let mut suffix = String::new();
        if kms {
            assert!(
                actions.iter().all(|a| str_of(a).starts_with("kms:")),
                "{owner}: KMS actions in a statement of their own: {statement}"
            );
            if statement["Condition"]
                == json!({ "StringEquals": { "kms:ViaService": { "Fn::Sub": S3_SERVICE } } })
            {
                suffix = " via s3".to_owned();
            } else {
                assert_eq!(
                    statement["Condition"],
                    json!({ "StringEquals": { "kms:ViaService": { "Fn::Sub": SQS_SERVICE } } }),
                    "{owner}: the stack key only through SQS (or S3)"
                );
            }
        } else if statement.get("Condition").is_some() {
            assert!(
                actions.iter().all(|a| str_of(a).starts_with("dynamodb:")),
                "{owner}: only DynamoDB statements are restricted by leading keys: {statement}"
            );
            assert_eq!(
                statement["Condition"].as_object().unwrap().len(),
                1,
                "{owner}: {statement}"
            );
            let keys: Vec<String> = one_or_many(leading_keys).iter().map(str_of).collect();
            assert!(
                !keys.is_empty(),
                "{owner}: an unknown condition: {statement}"
            );
            suffix = format!(" if LeadingKeys={}", keys.join(","));
        }
        for action in actions {
            for r in one_or_many(&statement["Resource"]) {
                allowed.insert((str_of(&action), format!("{}{suffix}", resource_name(&r))));
            }
        }
    }
    allowed
}

/// `kms:ViaService` of SQS in the stack's region.
const SQS_SERVICE: &str = "sqs.${AWS::Region}.amazonaws.com";
/// `kms:ViaService` of S3 in the stack's region.
const S3_SERVICE: &str = "s3.${AWS::Region}.amazonaws.com";

fn permissions(log_group: &str, extra: &[(&str, &[&str])]) -> BTreeSet<(String, String)> {
    let own_logs = format!("${{{log_group}.Arn}}");
    let mut expected: Vec<(&str, Vec<&str>)> = vec![
        (
            own_logs.as_str(),
            vec!["logs:CreateLogStream", "logs:PutLogEvents"],
        ),
        (
            "*",
            vec!["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        ),
    ];
    expected.extend(extra.iter().map(|(r, a)| (*r, a.to_vec())));
    expected
        .into_iter()
        .flat_map(|(r, actions)| {
            actions
                .into_iter()
                .map(move |a| (a.to_owned(), r.to_owned()))
        })
        .collect()
}

fn ingest_permissions() -> BTreeSet<(String, String)> {
    permissions(
        "IngestLogGroup",
        &[
            ("${AuditTable.Arn}", &["dynamodb:PutItem"]),
            // Pending-bucket markers only.
            (
                "${LedgerTable.Arn} if LeadingKeys=PENDING",
                &["dynamodb:PutItem"],
            ),
            (
                "${IngestQueue.Arn}",
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ],
            ),
            // Failed asynchronous invocations (the function's DeadLetterQueue).
            ("${IngestDeadLetterQueue.Arn}", &["sqs:SendMessage"]),
            // The queues' key, through SQS only (checked by `statement_permissions`).
            ("${AuditKey.Arn}", &["kms:Decrypt", "kms:GenerateDataKey"]),
        ],
    )
}

#[test]
fn the_ingest_function_may_only_append_events_consume_its_queue_and_dead_letter() {
    assert_eq!(
        role_permissions(&template(), "IngestFunction"),
        ingest_permissions()
    );
}

#[test]
fn the_query_function_may_only_read_the_tables() {
    assert_eq!(
        role_permissions(&template(), "QueryFunction"),
        permissions(
            "QueryLogGroup",
            &[
                ("${AuditTable.Arn}", &["dynamodb:GetItem", "dynamodb:Query"]),
                (
                    "${AuditTable.Arn}/index/*",
                    &["dynamodb:GetItem", "dynamodb:Query"]
                ),
                (
                    "${LedgerTable.Arn}",
                    &[
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:BatchGetItem"
                    ]
                ),
            ],
        )
    );
}

#[test]
fn the_sealer_may_only_read_bucket_leaves_write_the_ledger_and_publish_checkpoints() {
    assert_eq!(
        role_permissions(&template(), "SealerFunction"),
        permissions(
            "SealerLogGroup",
            &[
                ("${AuditTable.Arn}/index/byRecorded", &["dynamodb:Query"]),
                (
                    "${LedgerTable.Arn}",
                    &[
                        "dynamodb:Query",
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:BatchGetItem",
                        "dynamodb:BatchWriteItem",
                    ],
                ),
                ("${AnchorBucket.Arn}/*", &["s3:PutObject"]),
                // The anchor bucket's encryption, through S3 only.
                (
                    "${AuditKey.Arn} via s3",
                    &["kms:GenerateDataKey", "kms:Decrypt"],
                ),
            ],
        )
    );
}

#[test]
fn a_ledger_write_beyond_pending_markers_is_detected_in_the_ingest_role() {
    let mut t = template();
    let statements = t["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array_mut()
        .unwrap();
    let marker = statements
        .iter_mut()
        .find(|s| s["Sid"] == "MarkPendingBuckets")
        .unwrap();
    marker.as_object_mut().unwrap().remove("Condition");
    assert_ne!(role_permissions(&t, "IngestFunction"), ingest_permissions());
}

#[test]
fn the_signing_key_is_ed25519_and_only_the_sealer_signs_with_it() {
    let t = template();
    let key = resource(&t, "SigningKey");
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["DeletionPolicy"], "Retain");
    let p = &key["Properties"];
    assert_eq!(p["KeySpec"], "ECC_NIST_EDWARDS25519");
    assert_eq!(p["KeyUsage"], "SIGN_VERIFY");
    let statements: BTreeMap<String, Value> = p["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (str_of(&s["Sid"]), s.clone()))
        .collect();
    let role = |name: &str| json!({ "AWS": { "Fn::GetAtt": [name, "Arn"] } });
    let expected: BTreeMap<String, Value> = [
        json!({
            "Sid": "AccountAdministersTheKey", "Effect": "Allow",
            "Principal": { "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" } },
            "Action": "kms:*", "Resource": "*"
        }),
        json!({
            "Sid": "SealerSignsPureEd25519", "Effect": "Allow", "Principal": role("SealerRole"),
            "Action": "kms:Sign", "Resource": "*",
            "Condition": { "StringEquals": { "kms:SigningAlgorithm": "ED25519_SHA_512" } }
        }),
        json!({
            "Sid": "SealerReadsThePublicKey", "Effect": "Allow", "Principal": role("SealerRole"),
            "Action": "kms:GetPublicKey", "Resource": "*"
        }),
        json!({
            "Sid": "QueryPublishesThePublicKey", "Effect": "Allow", "Principal": role("QueryRole"),
            "Action": "kms:GetPublicKey", "Resource": "*"
        }),
    ]
    .into_iter()
    .map(|s| (str_of(&s["Sid"]), s))
    .collect();
    assert_eq!(statements, expected);
    let env = &resource(&t, "SealerFunction")["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["AUDIT_SIGNING_KEY_ARN"],
        json!({ "Fn::GetAtt": ["SigningKey", "Arn"] })
    );
    assert_eq!(env["AUDIT_ANCHOR_BUCKET"], json!({ "Ref": "AnchorBucket" }));
    assert_eq!(env["AUDIT_LEDGER_TABLE"], json!({ "Ref": "LedgerTable" }));
    assert_eq!(env["AUDIT_TABLE_NAME"], json!({ "Ref": TABLE }));
    // The settle delay outlasts the ingest function's timeout.
    let settle: u64 = str_of(&env["AUDIT_SEAL_SETTLE_MS"]).parse().unwrap();
    let ingest_timeout = resource(&t, "IngestFunction")["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    assert!(settle > ingest_timeout * 1000, "{settle}");
    let ingest_env = &resource(&t, "IngestFunction")["Properties"]["Environment"]["Variables"];
    assert_eq!(
        ingest_env["AUDIT_LEDGER_TABLE"],
        json!({ "Ref": "LedgerTable" })
    );
}

#[test]
fn the_sealer_runs_every_minute_alone() {
    let t = template();
    let p = &resource(&t, "SealerFunction")["Properties"];
    assert_eq!(p["ReservedConcurrentExecutions"], 1);
    assert_eq!(
        p["Events"]["EveryMinute"],
        json!({ "Type": "Schedule", "Properties": {
            "Schedule": "rate(1 minute)", "Description": "Seal the buckets that have settled."
        } })
    );
}

#[test]
fn the_anchor_bucket_locks_each_checkpoint_in_compliance_mode_and_is_private() {
    let t = template();
    let bucket = resource(&t, "AnchorBucket");
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    let p = &bucket["Properties"];
    assert_eq!(p["ObjectLockEnabled"], true);
    assert_eq!(
        p["ObjectLockConfiguration"],
        json!({ "ObjectLockEnabled": "Enabled", "Rule": { "DefaultRetention": {
            "Mode": "COMPLIANCE", "Days": { "Ref": "AnchorRetentionDays" }
        } } })
    );
    assert_eq!(t["Parameters"]["AnchorRetentionDays"]["Default"], 2555);
    assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        p["PublicAccessBlockConfiguration"],
        json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true,
                "IgnorePublicAcls": true, "RestrictPublicBuckets": true })
    );
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    let policy = &resource(&t, "AnchorBucketPolicy")["Properties"];
    assert_eq!(policy["Bucket"], json!({ "Ref": "AnchorBucket" }));
    assert_eq!(
        policy["PolicyDocument"]["Statement"][0]["Condition"],
        json!({ "Bool": { "aws:SecureTransport": "false" } })
    );
    assert_eq!(policy["PolicyDocument"]["Statement"][0]["Effect"], "Deny");
}

#[test]
fn the_swagger_function_has_no_data_access() {
    assert_eq!(
        role_permissions(&template(), "SwaggerFunction"),
        permissions("SwaggerLogGroup", &[])
    );
}

#[test]
fn producers_may_only_invoke_the_ingest_function_and_send_to_its_queue() {
    let t = template();
    let policy = resource(&t, "IngestProducerPolicy");
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let name = |v: &Value| match v.get("Fn::GetAtt") {
        Some(att) => format!("${{{}.{}}}", str_of(&att[0]), str_of(&att[1])),
        None => panic!("unexpected resource {v}"),
    };
    let allowed = statement_permissions(
        &policy["Properties"]["PolicyDocument"],
        "IngestProducerPolicy",
        name,
    );
    let expected: BTreeSet<(String, String)> = [
        ("lambda:InvokeFunction", "${IngestFunction.Arn}"),
        ("sqs:SendMessage", "${IngestQueue.Arn}"),
        // Sending to a queue encrypted with a KMS key needs both.
        ("kms:GenerateDataKey", "${AuditKey.Arn}"),
        ("kms:Decrypt", "${AuditKey.Arn}"),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.to_owned()))
    .collect();
    assert_eq!(allowed, expected);
}

#[test]
fn a_widened_role_is_detected() {
    let mut t = template();
    let statements = &mut t["Resources"]["IngestRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"];
    statements[0]["Action"] = json!(["dynamodb:PutItem", "dynamodb:DeleteItem"]);
    assert_ne!(role_permissions(&t, "IngestFunction"), ingest_permissions());

    let mut t = template();
    t["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        ["Resource"] = json!("*");
    assert_ne!(role_permissions(&t, "IngestFunction"), ingest_permissions());

    // The key usable directly, not only through SQS.
    let mut t = template();
    let statements = t["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array_mut()
        .unwrap();
    let kms = statements
        .iter_mut()
        .find(|s| s["Sid"] == "UseTheQueuesKeyThroughSqs")
        .unwrap();
    kms.as_object_mut().unwrap().remove("Condition");
    let unconditioned = std::panic::catch_unwind(|| role_permissions(&t, "IngestFunction"));
    assert!(unconditioned.is_err());
}

// ------------------------------------------------------------------------------- API

#[test]
fn the_api_routes_are_the_contract_and_only_swagger_and_the_verifier_key_are_public() {
    let t = template();
    let api = &resource(&t, "HttpApi")["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"], "JwtAuthorizer");
    let jwt = &api["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"];
    assert_eq!(jwt["issuer"], json!({ "Ref": "JwtIssuer" }));
    assert_eq!(jwt["audience"], json!({ "Ref": "JwtAudience" }));
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].is_object());
    assert!(api["DefaultRouteSettings"]["ThrottlingBurstLimit"].is_object());

    // The route table is the one declaration of the HTTP surface.
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.logical_id().to_owned(),
                r.method.as_str().to_owned(),
                r.path.to_owned(),
                r.public,
            )
        })
        .collect();
    assert_eq!(routes(&t), expected);
    // Only the swagger function's routes and the verifier key are public.
    for route in ROUTES {
        assert_eq!(
            route.public,
            route.function == Function::Swagger
                || route.path == audit_shared::api::routes::LEDGER_KEYS_PATH,
            "{}",
            route.path
        );
    }
}

/// Every HTTP route of the template: (function, method, path, public).
fn routes(t: &Value) -> BTreeSet<(String, String, String, bool)> {
    let mut routes = BTreeSet::new();
    for (name, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let events = r["Properties"]["Events"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let p = &event["Properties"];
            assert_eq!(p["ApiId"], json!({ "Ref": "HttpApi" }), "{name}");
            let public = match p["Auth"]["Authorizer"].as_str() {
                None => false,
                Some("NONE") => true,
                Some(other) => panic!("{name}: unexpected authorizer {other}"),
            };
            routes.insert((
                name.clone(),
                str_of(&p["Method"]),
                str_of(&p["Path"]),
                public,
            ));
        }
    }
    routes
}

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

// ------------------------------------------------------------------------------- KMS

/// The key policy's statements, by Sid.
fn key_policy(t: &Value) -> BTreeMap<String, Value> {
    resource(t, KEY)["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (str_of(&s["Sid"]), s.clone()))
        .collect()
}

fn expected_key_policy() -> BTreeMap<String, Value> {
    [
        (
            "AccountAdministersTheKey",
            json!({
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": { "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" } },
                "Action": "kms:*",
                "Resource": "*"
            }),
        ),
        (
            "CloudWatchLogsEncryptsThisStacksLogGroups",
            json!({
                "Sid": "CloudWatchLogsEncryptsThisStacksLogGroups",
                "Effect": "Allow",
                "Principal": { "Service": { "Fn::Sub": "logs.${AWS::Region}.amazonaws.com" } },
                "Action": [
                    "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                    "kms:GenerateDataKey*", "kms:Describe*"
                ],
                "Resource": "*",
                "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn": {
                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${AWS::StackName}-*"
                } } }
            }),
        ),
    ]
    .into_iter()
    .map(|(sid, statement)| (sid.to_owned(), statement))
    .collect()
}

#[test]
fn the_stack_key_rotates_outlives_the_stack_and_lets_logs_use_it_only_for_its_log_groups() {
    let t = template();
    let key = resource(&t, KEY);
    assert_eq!(key["Type"], "AWS::KMS::Key");
    // Retained logs and queue messages stay readable after the stack is deleted.
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["UpdateReplacePolicy"], "Retain");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(key_policy(&t), expected_key_policy());
}

#[test]
fn a_widened_key_policy_is_detected() {
    let mut t = template();
    let statements = t["Resources"][KEY]["Properties"]["KeyPolicy"]["Statement"]
        .as_array_mut()
        .unwrap();
    statements[1].as_object_mut().unwrap().remove("Condition");
    assert_ne!(key_policy(&t), expected_key_policy());

    let mut t = template();
    t["Resources"][KEY]["Properties"]["KeyPolicy"]["Statement"][0]["Principal"] = json!("*");
    assert_ne!(key_policy(&t), expected_key_policy());
}

#[test]
fn logs_queues_the_token_secret_and_function_configuration_use_the_stack_key() {
    let t = template();
    let key_arn = json!({ "Fn::GetAtt": [KEY, "Arn"] });
    let mut log_groups = 0;
    for (name, r) in t["Resources"].as_object().unwrap() {
        let p = &r["Properties"];
        match r["Type"].as_str().unwrap() {
            "AWS::Logs::LogGroup" => {
                log_groups += 1;
                assert_eq!(p["KmsKeyId"], key_arn, "{name}");
                // The key policy names the groups by the generated name's prefix, the stack
                // name: a fixed name would not match it.
                assert!(p.get("LogGroupName").is_none(), "{name}");
            }
            "AWS::SQS::Queue" => {
                assert_eq!(p["KmsMasterKeyId"], json!({ "Ref": KEY }), "{name}");
                assert!(p.get("SqsManagedSseEnabled").is_none(), "{name}");
            }
            "AWS::SecretsManager::Secret" => {
                assert_eq!(p["KmsKeyId"], json!({ "Ref": KEY }), "{name}");
            }
            "AWS::Serverless::Function" if p.get("Environment").is_some() => {
                assert_eq!(p["KmsKeyArn"], key_arn, "{name}");
            }
            _ => {}
        }
    }
    assert_eq!(log_groups, 5, "four functions and the API access log");
}

// ------------------------------------------------------------------------------- CORS

#[test]
fn cors_is_off_by_default_and_when_on_allows_reads_with_a_token() {
    let t = template();
    let parameter = &t["Parameters"]["CorsAllowedOrigins"];
    assert_eq!(parameter["Type"], "String");
    assert_eq!(parameter["Default"], "");
    assert_eq!(
        t["Conditions"]["HasCorsOrigins"],
        json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "CorsAllowedOrigins" }, ""] }] })
    );
    let cors = &resource(&t, "HttpApi")["Properties"]["CorsConfiguration"];
    assert_eq!(
        cors,
        &json!({ "Fn::If": [
            "HasCorsOrigins",
            {
                "AllowOrigins": { "Fn::Split": [",", { "Ref": "CorsAllowedOrigins" }] },
                "AllowMethods": ["GET", "HEAD", "OPTIONS"],
                "AllowHeaders": ["Authorization", "Content-Type"],
                "ExposeHeaders": ["Link", "Server-Timing", "X-Has-More", "X-Next-Token"],
                "AllowCredentials": false,
                "MaxAge": 600
            },
            { "Ref": "AWS::NoValue" }
        ] })
    );
    // Every route's method is allowed.
    let allowed = cors["Fn::If"][1]["AllowMethods"].as_array().unwrap();
    for route in ROUTES {
        assert!(
            allowed.contains(&json!(route.method.as_str())),
            "{}",
            route.path
        );
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

// ------------------------------------------------------------------------------- checkov

#[test]
fn every_check_the_scanner_skips_says_why() {
    let t = template();
    let mut skipped = BTreeSet::new();
    for (name, r) in t["Resources"].as_object().unwrap() {
        let Some(skips) = r["Metadata"]["checkov"]["skip"].as_array() else {
            continue;
        };
        for skip in skips {
            let id = str_of(&skip["id"]);
            assert!(id.starts_with("CKV_"), "{name}: {id}");
            let comment = skip["comment"].as_str().unwrap_or_default();
            assert!(comment.len() >= 40, "{name}: {id} needs its reason");
            skipped.insert((name.clone(), id));
        }
    }
    // The functions outside a VPC, the two invoked only synchronously and the scheduled
    // sealer without an asynchronous dead-letter queue, the signing key that KMS cannot
    // rotate (asymmetric), and the anchor bucket's access logs (a second bucket); anything
    // else must be fixed, not skipped.
    let expected: BTreeSet<(String, String)> = [
        ("IngestFunction", "CKV_AWS_117"),
        ("QueryFunction", "CKV_AWS_116"),
        ("QueryFunction", "CKV_AWS_117"),
        ("SwaggerFunction", "CKV_AWS_116"),
        ("SwaggerFunction", "CKV_AWS_117"),
        ("SealerFunction", "CKV_AWS_116"),
        ("SealerFunction", "CKV_AWS_117"),
        ("SigningKey", "CKV_AWS_7"),
        ("AnchorBucket", "CKV_AWS_18"),
    ]
    .into_iter()
    .map(|(r, id)| (r.to_owned(), id.to_owned()))
    .collect();
    assert_eq!(skipped, expected);
}

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
