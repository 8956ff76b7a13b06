//! Typed configuration, read once at start from the environment.
//!
//! Every error names the variable that is missing or malformed. Reading goes through a
//! lookup function so tests pass a map instead of touching the process environment.

use std::collections::BTreeMap;

use crate::catalog::{CatalogEntry, Category, CategoryCode};
use crate::limits::MAX_SHARDS;

/// Name of the DynamoDB table (required).
pub const ENV_TABLE_NAME: &str = "AUDIT_TABLE_NAME";
/// Name of the ledger's DynamoDB table (required by ingest and the sealer).
pub const ENV_LEDGER_TABLE: &str = "AUDIT_LEDGER_TABLE";
/// Endpoint of a local engine such as `http://127.0.0.1:8000` (optional; never set in AWS).
pub const ENV_DYNAMODB_ENDPOINT: &str = "AUDIT_DYNAMODB_ENDPOINT";
/// Shards per index partition, 1 to 64, fixed when the table is created (default 1).
pub const ENV_SHARDS: &str = "AUDIT_SHARDS";
/// AWS region; required with a local endpoint, otherwise the SDK's own resolution applies.
pub const ENV_REGION: &str = "AWS_REGION";
/// Retention per category, e.g. `Configuration=3650,UserAction=365,300=90` (days).
pub const ENV_RETENTION_DAYS: &str = "AUDIT_RETENTION_DAYS";
/// Set by the Lambda runtime in every function's environment.
pub const ENV_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// Which roots TLS to AWS trusts: `amazon` (default) or `system` (docs/adr/0006-tls-client.md).
pub const ENV_TLS_TRUST: &str = "AUDIT_TLS_TRUST";

/// Where the DynamoDB client gets its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// Fixed dummy credentials, which only a local engine accepts (a local endpoint is set).
    LocalEngine,
    /// The execution role's credentials, which Lambda puts in `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`: reading them builds no STS, SSO or
    /// IMDS client at cold start, as the SDK's default chain does.
    LambdaEnvironment,
    /// The SDK's default chain (profiles, SSO, web identity, IMDS...), outside Lambda.
    DefaultChain,
}

/// The root certificates the DynamoDB client trusts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// The Amazon Trust Services roots compiled into the binary: no file is read at start.
    #[default]
    Amazon,
    /// The platform's certificate store, for a TLS-inspecting proxy or a private CA.
    System,
}

/// A configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// How long events of each category are kept; categories not listed are kept forever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    days_by_category: BTreeMap<CategoryCode, u32>,
}

impl Retention {
    /// Parses `Name=days,code=days,...`; an empty string keeps everything forever.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut days_by_category = BTreeMap::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (category, days) = entry
                .split_once('=')
                .ok_or_else(|| format!("entry '{entry}' must look like Category=days"))?;
            let category = Category::parse(category).map_err(|e| e.to_string())?;
            let days: u32 = days
                .trim()
                .parse()
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| format!("days of '{entry}' must be a positive whole number"))?;
            days_by_category.insert(category.code, days);
        }
        Ok(Self { days_by_category })
    }

    /// Days events of `category` are kept, if limited.
    pub fn days(&self, category: CategoryCode) -> Option<u32> {
        self.days_by_category.get(&category).copied()
    }

    /// The TTL (Unix seconds) of an event of `category` that occurred at `occurred_at_ms`.
    pub fn expires_at(&self, category: CategoryCode, occurred_at_ms: i64) -> Option<i64> {
        self.days(category)
            .map(|d| occurred_at_ms.div_euclid(1000) + i64::from(d) * 86_400)
    }
}

/// The service's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// DynamoDB table holding the events.
    pub table_name: String,
    /// Local engine endpoint; `None` in AWS.
    pub endpoint_url: Option<String>,
    /// Shards per index partition.
    pub shards: u16,
    /// AWS region, when set.
    pub region: Option<String>,
    /// Retention per category.
    pub retention: Retention,
    /// Roots trusted for TLS.
    pub tls_trust: TlsTrust,
    /// Where credentials come from.
    pub credentials: CredentialSource,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let table_name = get(ENV_TABLE_NAME).ok_or(ConfigError::Missing(ENV_TABLE_NAME))?;
        let endpoint_url = get(ENV_DYNAMODB_ENDPOINT);
        if let Some(url) = &endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Malformed {
                    name: ENV_DYNAMODB_ENDPOINT,
                    reason: format!("'{url}' must be an http:// or https:// URL"),
                });
            }
        }
        let shards = match get(ENV_SHARDS) {
            None => 1,
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|s| (1..=MAX_SHARDS).contains(s))
                .ok_or_else(|| ConfigError::Malformed {
                    name: ENV_SHARDS,
                    reason: format!("'{v}' must be a whole number from 1 to {MAX_SHARDS}"),
                })?,
        };
        let region = get(ENV_REGION);
        if endpoint_url.is_some() && region.is_none() {
            return Err(ConfigError::Missing(ENV_REGION));
        }
        let retention =
            Retention::parse(&get(ENV_RETENTION_DAYS).unwrap_or_default()).map_err(|reason| {
                ConfigError::Malformed {
                    name: ENV_RETENTION_DAYS,
                    reason,
                }
            })?;
        let tls_trust = match get(ENV_TLS_TRUST)
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("amazon") => TlsTrust::Amazon,
            Some("system") => TlsTrust::System,
            Some(other) => {
                return Err(ConfigError::Malformed {
                    name: ENV_TLS_TRUST,
                    reason: format!("'{other}' must be amazon or system"),
                })
            }
        };
        let credentials = if endpoint_url.is_some() {
            CredentialSource::LocalEngine
        } else if get(ENV_LAMBDA_FUNCTION_NAME).is_some() {
            CredentialSource::LambdaEnvironment
        } else {
            CredentialSource::DefaultChain
        };
        Ok(Self {
            table_name,
            endpoint_url,
            shards,
            region,
            retention,
            tls_trust,
            credentials,
        })
    }
}

/// The ledger table (`AUDIT_LEDGER_TABLE`), for the functions that write the ledger
/// (ingest marks pending buckets, the sealer seals them): an error naming the variable
/// when it is unset. Read apart from [`Config`], which the functions that never touch the
/// ledger share.
pub fn ledger_table_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    lookup(ENV_LEDGER_TABLE)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(ENV_LEDGER_TABLE))
}

/// [`ledger_table_from_lookup`] over the process environment.
pub fn ledger_table_from_env() -> Result<String, ConfigError> {
    ledger_table_from_lookup(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn a_minimal_configuration_takes_defaults() {
        let c = config(&[("AUDIT_TABLE_NAME", "audit")]).unwrap();
        assert_eq!(c.table_name, "audit");
        assert_eq!((c.shards, c.endpoint_url, c.region), (1, None, None));
        assert_eq!(c.retention.days(CategoryCode(100)), None);
        assert_eq!(c.tls_trust, TlsTrust::Amazon);
        assert_eq!(c.credentials, CredentialSource::DefaultChain);
        assert_eq!(
            ledger_table_from_lookup(|_| None),
            Err(ConfigError::Missing("AUDIT_LEDGER_TABLE"))
        );
        assert_eq!(
            ledger_table_from_lookup(|_| Some(" l ".to_owned())),
            Ok("l".to_owned())
        );
    }

    #[test]
    fn credentials_are_dummy_locally_and_from_the_environment_in_lambda() {
        let lambda = [
            ("AUDIT_TABLE_NAME", "t"),
            ("AWS_LAMBDA_FUNCTION_NAME", "ingest"),
        ];
        assert_eq!(
            config(&lambda).unwrap().credentials,
            CredentialSource::LambdaEnvironment
        );
        let local = [
            ("AUDIT_TABLE_NAME", "t"),
            ("AWS_LAMBDA_FUNCTION_NAME", "ingest"),
            ("AUDIT_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("AWS_REGION", "us-east-1"),
        ];
        assert_eq!(
            config(&local).unwrap().credentials,
            CredentialSource::LocalEngine
        );
    }

    #[test]
    fn tls_trust_is_amazon_or_system_in_any_case() {
        let trust = |v: &str| config(&[("AUDIT_TABLE_NAME", "t"), ("AUDIT_TLS_TRUST", v)]);
        assert_eq!(trust("amazon").unwrap().tls_trust, TlsTrust::Amazon);
        assert_eq!(trust("System").unwrap().tls_trust, TlsTrust::System);
        let err = trust("webpki").unwrap_err().to_string();
        assert!(
            err.contains("AUDIT_TLS_TRUST") && err.contains("amazon or system"),
            "{err}"
        );
    }

    #[test]
    fn a_local_configuration_reads_every_variable() {
        let c = config(&[
            ("AUDIT_TABLE_NAME", "audit"),
            ("AUDIT_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("AUDIT_SHARDS", "4"),
            ("AWS_REGION", "us-east-1"),
            ("AUDIT_RETENTION_DAYS", "Configuration=3650, 200=30"),
        ])
        .unwrap();
        assert_eq!(c.endpoint_url.as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(c.shards, 4);
        assert_eq!(c.retention.days(CategoryCode(100)), Some(3650));
        assert_eq!(c.retention.days(CategoryCode(200)), Some(30));
        assert_eq!(
            c.retention.expires_at(CategoryCode(200), 1_000_500),
            Some(1_000 + 30 * 86_400)
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("AUDIT_TABLE_NAME"));
        assert!(err.to_string().contains("AUDIT_TABLE_NAME"));
        for (var, value) in [
            ("AUDIT_SHARDS", "0"),
            ("AUDIT_SHARDS", "65"),
            ("AUDIT_SHARDS", "two"),
            ("AUDIT_RETENTION_DAYS", "Nope=3"),
            ("AUDIT_RETENTION_DAYS", "100=-1"),
            ("AUDIT_RETENTION_DAYS", "100"),
            ("AUDIT_DYNAMODB_ENDPOINT", "127.0.0.1:8000"),
            ("AUDIT_TLS_TRUST", "none"),
        ] {
            let err = config(&[("AUDIT_TABLE_NAME", "t"), ("AWS_REGION", "x"), (var, value)])
                .unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
        let err = config(&[
            ("AUDIT_TABLE_NAME", "t"),
            ("AUDIT_DYNAMODB_ENDPOINT", "http://h"),
        ])
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing("AWS_REGION"));
    }
}
