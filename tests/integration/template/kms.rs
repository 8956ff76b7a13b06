//! The stack's KMS key: rotated, kept, used by logs only for their log groups, and the key
//! of the logs, queues, token secret and function configuration.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::support::{resource, str_of, template, KEY};

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
    assert_eq!(
        log_groups, 6,
        "five functions (the Cognito trigger when deployed) and the API access log"
    );
}
