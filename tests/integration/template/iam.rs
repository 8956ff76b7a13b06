//! Each function role holds exactly its least-privilege permissions; the signing key, the
//! sealer's schedule and the anchor bucket; a widened role is detected.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::support::{resource, str_of, template, TABLE};

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
fn the_cognito_trigger_has_no_data_access_and_only_its_user_pool_may_invoke_it() {
    let t = template();
    assert_eq!(
        role_permissions(&t, "TokenFunction"),
        permissions("TokenLogGroup", &[])
    );
    // Optional: every resource of the trigger exists only with a user pool named.
    for name in [
        "TokenLogGroup",
        "TokenRole",
        "TokenFunction",
        "TokenFunctionCognitoPermission",
        "TokenErrorsAlarm",
    ] {
        assert_eq!(
            resource(&t, name)["Condition"],
            "HasCognitoTrigger",
            "{name}"
        );
    }
    assert_eq!(
        t["Conditions"]["HasCognitoTrigger"],
        json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "CognitoUserPoolArn" }, ""] }] })
    );
    assert_eq!(t["Parameters"]["CognitoUserPoolArn"]["Default"], "");
    let p = &resource(&t, "TokenFunctionCognitoPermission")["Properties"];
    assert_eq!(p["Principal"], "cognito-idp.amazonaws.com");
    assert_eq!(p["Action"], "lambda:InvokeFunction");
    assert_eq!(p["SourceArn"], json!({ "Ref": "CognitoUserPoolArn" }));
    assert_eq!(p["SourceAccount"], json!({ "Ref": "AWS::AccountId" }));
    let env = &resource(&t, "TokenFunction")["Properties"]["Environment"]["Variables"];
    assert_eq!(env["TENANT_CLAIM"], json!({ "Ref": "TenantClaim" }));
    assert_eq!(
        env["ORGANIZATIONS_CLAIM"],
        json!({ "Ref": "OrganizationsClaim" })
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
