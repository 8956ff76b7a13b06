//! The four Lambda functions as `template.yaml` declares them, for the local runtime: the
//! binary each runs, its timeout and memory, and the names of its environment variables.
//! A test below reads the template and fails when they drift apart.
//!
//! Locally each variable takes the gateway's own value of it (the scripts set the engine
//! endpoint, region and table name), or stays empty as the template's defaults leave it;
//! Lambda's own variables (function name, timeout, memory, log format and level, region,
//! credentials) are added as Lambda and `sam local` set them, with dummy credentials.

use std::collections::BTreeMap;
use std::time::Duration;

/// One function of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Logical name in `template.yaml`, e.g. `IngestFunction`.
    pub name: &'static str,
    /// The package's binary, `Metadata.BuildProperties.Binary` (the Lambda's `bootstrap`).
    pub binary: &'static str,
    /// `Timeout`.
    pub timeout: Duration,
    /// `MemorySize` in MB (the function's, or the template's Globals).
    pub memory_mb: u32,
    /// The names of `Environment.Variables`.
    pub variables: &'static [&'static str],
}

/// The ingest function.
pub const INGEST: FunctionSpec = FunctionSpec {
    name: "IngestFunction",
    binary: "ingest",
    timeout: Duration::from_secs(60),
    memory_mb: 256,
    variables: &[
        "AUDIT_TABLE_NAME",
        "AUDIT_LEDGER_TABLE",
        "AUDIT_SHARDS",
        "AUDIT_RETENTION_DAYS",
        "AUDIT_DYNAMODB_ENDPOINT",
    ],
};

/// The query function.
pub const QUERY: FunctionSpec = FunctionSpec {
    name: "QueryFunction",
    binary: "query",
    timeout: Duration::from_secs(15),
    memory_mb: 512,
    variables: &[
        "AUDIT_TABLE_NAME",
        "AUDIT_SHARDS",
        "AUDIT_RETENTION_DAYS",
        "AUDIT_DYNAMODB_ENDPOINT",
        "AUDIT_TENANT_CLAIM",
        "AUDIT_ORGANIZATIONS_CLAIM",
        "AUDIT_TOKEN_KEY",
        "AUDIT_LEDGER_TABLE",
        "AUDIT_LEDGER_ORIGIN",
        "AUDIT_SIGNING_KEY_ARN",
        "AUDIT_FEED_RETRY_SECONDS",
    ],
};

/// The swagger function.
pub const SWAGGER: FunctionSpec = FunctionSpec {
    name: "SwaggerFunction",
    binary: "swagger",
    timeout: Duration::from_secs(5),
    memory_mb: 128,
    variables: &[],
};

/// The sealer function (on a schedule in AWS; the gateway runs it every few seconds).
pub const SEALER: FunctionSpec = FunctionSpec {
    name: "SealerFunction",
    binary: "sealer",
    timeout: Duration::from_secs(60),
    memory_mb: 256,
    variables: &[
        "AUDIT_TABLE_NAME",
        "AUDIT_LEDGER_TABLE",
        "AUDIT_SHARDS",
        "AUDIT_DYNAMODB_ENDPOINT",
        "AUDIT_SEAL_SETTLE_MS",
        "AUDIT_SEAL_RECHECK_MS",
        "AUDIT_LEDGER_ORIGIN",
        "AUDIT_SIGNING_KEY_ARN",
        "AUDIT_ANCHOR_BUCKET",
    ],
};

/// Variables the local run gives the sealer beyond the template's, which stand in for
/// the KMS key and the S3 bucket.
pub const SEALER_LOCAL_VARIABLES: [&str; 2] = ["AUDIT_SIGNING_KEY_FILE", "AUDIT_ANCHOR_DIR"];

/// Variables the local run gives the query function beyond the template's: the key file
/// it reads the verifier key from, standing in for the KMS key.
pub const QUERY_LOCAL_VARIABLES: [&str; 1] = ["AUDIT_SIGNING_KEY_FILE"];

/// Every function.
pub const FUNCTIONS: [FunctionSpec; 4] = [INGEST, QUERY, SWAGGER, SEALER];

/// `LoggingConfig.LogFormat` of every function.
pub const LOG_FORMAT: &str = "JSON";

/// The default of the template's `LogLevel` parameter, every function's
/// `LoggingConfig.ApplicationLogLevel`.
pub const LOG_LEVEL: &str = "INFO";

/// The region when the gateway's environment names none.
pub const DEFAULT_REGION: &str = "us-east-1";

impl FunctionSpec {
    /// The environment of one local execution environment of this function: its template
    /// variables, each with `lookup`'s value (the gateway's environment) or empty, and the
    /// variables Lambda sets, the timeout being `timeout` (the template's unless the local
    /// run shortens it).
    pub fn environment(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
        timeout: Duration,
    ) -> BTreeMap<String, String> {
        let local_only: &[&str] = if self.name == SEALER.name {
            &SEALER_LOCAL_VARIABLES
        } else if self.name == QUERY.name {
            &QUERY_LOCAL_VARIABLES
        } else {
            &[]
        };
        let mut env: BTreeMap<String, String> = self
            .variables
            .iter()
            .chain(local_only)
            .map(|name| ((*name).to_owned(), lookup(name).unwrap_or_default()))
            .collect();
        let region = lookup("AWS_REGION")
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let lambda = [
            ("AWS_LAMBDA_FUNCTION_NAME", self.name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                timeout.as_secs().max(1).to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_HANDLER", "bootstrap".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", LOG_FORMAT.to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", LOG_LEVEL.to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region),
            // Dummy credentials, as `sam local` passes: the local engine accepts any.
            ("AWS_ACCESS_KEY_ID", "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ];
        env.extend(lambda.into_iter().map(|(k, v)| (k.to_owned(), v)));
        env
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_yaml_ng::Value as Y;

    use super::*;

    fn template() -> Y {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn number(value: &Y) -> u64 {
        value.as_u64().expect("a number")
    }

    #[test]
    fn each_function_is_the_one_template_yaml_declares() {
        let template = template();
        let globals = &template["Globals"]["Function"];
        assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
        for spec in FUNCTIONS {
            let resource = &template["Resources"][spec.name];
            assert_eq!(
                resource["Type"].as_str(),
                Some("AWS::Serverless::Function"),
                "{}",
                spec.name
            );
            assert_eq!(
                resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
                Some(spec.binary)
            );
            let properties = &resource["Properties"];
            assert_eq!(
                spec.timeout,
                Duration::from_secs(number(&properties["Timeout"])),
                "{}",
                spec.name
            );
            let memory = match &properties["MemorySize"] {
                Y::Null => number(&globals["MemorySize"]),
                m => number(m),
            };
            assert_eq!(u64::from(spec.memory_mb), memory, "{}", spec.name);
            let mut declared: Vec<String> = match &properties["Environment"]["Variables"] {
                Y::Mapping(m) => m.keys().map(|k| k.as_str().unwrap().to_owned()).collect(),
                _ => Vec::new(),
            };
            declared.sort();
            let mut ours: Vec<String> = spec.variables.iter().map(|v| (*v).to_owned()).collect();
            ours.sort();
            assert_eq!(ours, declared, "{}'s environment variables", spec.name);
            let logging = &properties["LoggingConfig"];
            assert_eq!(logging["LogFormat"].as_str(), Some(LOG_FORMAT));
        }
        assert_eq!(
            template["Parameters"]["LogLevel"]["Default"].as_str(),
            Some(LOG_LEVEL)
        );
    }

    #[test]
    fn a_function_sees_its_template_variables_and_lambdas_own() {
        let lookup = |name: &str| match name {
            "AUDIT_TABLE_NAME" => Some("audit-local".to_owned()),
            "AUDIT_DYNAMODB_ENDPOINT" => Some("http://127.0.0.1:8000".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AUDIT_TOKEN_KEY" => Some("not for the ingest function".to_owned()),
            _ => None,
        };
        let env = INGEST.environment(lookup, Duration::from_secs(10));
        assert_eq!(env["AUDIT_TABLE_NAME"], "audit-local");
        assert_eq!(env["AUDIT_DYNAMODB_ENDPOINT"], "http://127.0.0.1:8000");
        assert_eq!(env["AUDIT_SHARDS"], "");
        assert!(!env.contains_key("AUDIT_TOKEN_KEY"));
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "IngestFunction");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_TIMEOUT"], "10");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        let swagger = SWAGGER.environment(|_| None, SWAGGER.timeout);
        assert_eq!(swagger["AWS_REGION"], DEFAULT_REGION);
        assert_eq!(swagger["AWS_LAMBDA_FUNCTION_TIMEOUT"], "5");
        assert!(!swagger.keys().any(|k| k.starts_with("AUDIT_")));
    }
}
