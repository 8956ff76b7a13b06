//! Configuration of the query function, beyond the shared [`audit_shared::config::Config`]:
//! which authorizer claims carry the tenant and the organizations, the key that signs
//! continuation tokens, how long a request may take and how much a list request may read.

use std::time::Duration;

use audit_shared::limits::{READ_BUDGET_DEFAULT, READ_BUDGET_MAX, READ_BUDGET_MIN};
use audit_shared::query::TokenKey;

/// Claim holding the caller's tenant (default `tenantId`).
pub const ENV_TENANT_CLAIM: &str = "AUDIT_TENANT_CLAIM";
/// Claim holding the organizations the caller may see (default `organizationIds`).
pub const ENV_ORGANIZATIONS_CLAIM: &str = "AUDIT_ORGANIZATIONS_CLAIM";
/// Keys that sign continuation tokens, comma-separated, the current one first, each at
/// least 16 bytes. Unset: the documented local default, which is only fit for local use.
pub const ENV_TOKEN_KEY: &str = "AUDIT_TOKEN_KEY";

/// Most items one list request reads from DynamoDB, counted before filtering (default
/// [`READ_BUDGET_DEFAULT`], from [`READ_BUDGET_MIN`] to [`READ_BUDGET_MAX`]): past it the
/// answer is the matches found so far with a `nextToken` that resumes where reading stopped.
pub const ENV_QUERY_READ_BUDGET: &str = "AUDIT_QUERY_READ_BUDGET";

/// Seconds a feed reader that is caught up is told to wait (`retryAfterSeconds` and
/// `Retry-After` of `GET /api/Audit/feed`), 1 to 3600, default
/// [`DEFAULT_FEED_RETRY_SECONDS`]. It should be about the sealer's delay: a bucket (a
/// minute of `recordedAt`) is sealed `AUDIT_SEAL_SETTLE_MS` after it ends, and the sealer
/// runs every minute in AWS; locally (`make dev`) a few seconds.
pub const ENV_FEED_RETRY_SECONDS: &str = "AUDIT_FEED_RETRY_SECONDS";
/// [`ENV_FEED_RETRY_SECONDS`] when unset: a minute, the sealer's schedule in AWS.
pub const DEFAULT_FEED_RETRY_SECONDS: u64 = 60;

/// Longest a request may take, in milliseconds, before it answers 503 (default
/// [`DEFAULT_QUERY_DEADLINE`]); the Lambda invocation's own deadline, less
/// [`crate::QUERY_DEADLINE_MARGIN`], caps it.
pub const ENV_QUERY_DEADLINE_MS: &str = "AUDIT_QUERY_DEADLINE_MS";

/// A request's deadline when [`ENV_QUERY_DEADLINE_MS`] is unset: well inside the function's
/// 15 s timeout (`template.yaml`), so that a stalled read ends as the service's own 503
/// rather than as API Gateway's generic error.
pub const DEFAULT_QUERY_DEADLINE: Duration = Duration::from_secs(10);
/// Largest [`ENV_QUERY_DEADLINE_MS`]: API Gateway's integration timeout, 30 s.
pub const MAX_QUERY_DEADLINE_MS: u64 = 30_000;

/// Default claim names.
pub const DEFAULT_TENANT_CLAIM: &str = "tenantId";
/// Default organizations claim.
pub const DEFAULT_ORGANIZATIONS_CLAIM: &str = "organizationIds";

/// The names of the authorizer claims the handler reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// Claim with the tenant id; a request without it is refused with 401.
    pub tenant: String,
    /// Claim with the organizations the caller may see; absent means "all of the tenant".
    pub organizations: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            tenant: DEFAULT_TENANT_CLAIM.to_owned(),
            organizations: DEFAULT_ORGANIZATIONS_CLAIM.to_owned(),
        }
    }
}

/// The query function's own settings.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Claim names.
    pub claims: ClaimNames,
    /// Signs and verifies continuation tokens.
    pub token_key: TokenKey,
    /// Whether `token_key` is the local default (worth a warning outside a laptop).
    pub token_key_is_default: bool,
    /// Longest a request may take: list requests stop reading before it and answer a
    /// partial page; a read still running at it makes the answer a 503.
    pub deadline: Duration,
    /// Most items one list request reads ([`ENV_QUERY_READ_BUDGET`]).
    pub read_budget: u64,
    /// What the feed tells a caught-up reader to wait ([`ENV_FEED_RETRY_SECONDS`]).
    pub feed_retry_seconds: u64,
}

/// A setting that is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is malformed: {reason}")]
pub struct QueryConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl QueryConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, QueryConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, QueryConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let claims = ClaimNames {
            tenant: get(ENV_TENANT_CLAIM).unwrap_or_else(|| DEFAULT_TENANT_CLAIM.to_owned()),
            organizations: get(ENV_ORGANIZATIONS_CLAIM)
                .unwrap_or_else(|| DEFAULT_ORGANIZATIONS_CLAIM.to_owned()),
        };
        let (token_key, token_key_is_default) = match get(ENV_TOKEN_KEY) {
            None => (TokenKey::local_default(), true),
            Some(value) => (
                TokenKey::parse(&value).map_err(|reason| QueryConfigError {
                    name: ENV_TOKEN_KEY,
                    reason,
                })?,
                false,
            ),
        };
        let deadline = match get(ENV_QUERY_DEADLINE_MS) {
            None => DEFAULT_QUERY_DEADLINE,
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=MAX_QUERY_DEADLINE_MS).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| QueryConfigError {
                    name: ENV_QUERY_DEADLINE_MS,
                    reason: format!(
                        "must be a whole number of milliseconds from 1 to {MAX_QUERY_DEADLINE_MS} (was {value:?})"
                    ),
                })?,
        };
        let read_budget = match get(ENV_QUERY_READ_BUDGET) {
            None => READ_BUDGET_DEFAULT,
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|n| (READ_BUDGET_MIN..=READ_BUDGET_MAX).contains(n))
                .ok_or_else(|| QueryConfigError {
                    name: ENV_QUERY_READ_BUDGET,
                    reason: format!(
                        "must be a whole number of items from {READ_BUDGET_MIN} to {READ_BUDGET_MAX} (was {value:?})"
                    ),
                })?,
        };
        let feed_retry_seconds = match get(ENV_FEED_RETRY_SECONDS) {
            None => DEFAULT_FEED_RETRY_SECONDS,
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| QueryConfigError {
                    name: ENV_FEED_RETRY_SECONDS,
                    reason: format!(
                        "must be a whole number of seconds from 1 to 3600 (was {value:?})"
                    ),
                })?,
        };
        Ok(Self {
            claims,
            feed_retry_seconds,
            token_key,
            token_key_is_default,
            deadline,
            read_budget,
        })
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            claims: ClaimNames::default(),
            token_key: TokenKey::local_default(),
            token_key_is_default: true,
            deadline: DEFAULT_QUERY_DEADLINE,
            read_budget: READ_BUDGET_DEFAULT,
            feed_retry_seconds: DEFAULT_FEED_RETRY_SECONDS,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<QueryConfig, QueryConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        QueryConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.claims, ClaimNames::default());
        assert!(c.token_key_is_default);
        assert_eq!(c.deadline, DEFAULT_QUERY_DEADLINE);
        assert_eq!(c.read_budget, 2_000);
    }

    #[test]
    fn the_read_budget_is_read_in_items_and_bounded() {
        let c = config(&[("AUDIT_QUERY_READ_BUDGET", "50")]).unwrap();
        assert_eq!(c.read_budget, 50);
        for bad in ["9", "100001", "many", "-5", "2.5"] {
            let err = config(&[("AUDIT_QUERY_READ_BUDGET", bad)]).unwrap_err();
            assert_eq!(err.name, "AUDIT_QUERY_READ_BUDGET", "{bad}");
            assert!(err.reason.contains("10 to 100000"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_feed_wait_is_read_in_seconds_and_bounded() {
        assert_eq!(config(&[]).unwrap().feed_retry_seconds, 60);
        let c = config(&[("AUDIT_FEED_RETRY_SECONDS", "5")]).unwrap();
        assert_eq!(c.feed_retry_seconds, 5);
        for bad in ["0", "3601", "soon", "-1"] {
            let err = config(&[("AUDIT_FEED_RETRY_SECONDS", bad)]).unwrap_err();
            assert_eq!(err.name, "AUDIT_FEED_RETRY_SECONDS", "{bad}");
            assert!(err.reason.contains("1 to 3600"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_deadline_is_read_in_milliseconds_and_bounded() {
        let c = config(&[("AUDIT_QUERY_DEADLINE_MS", "2500")]).unwrap();
        assert_eq!(c.deadline, Duration::from_millis(2500));
        assert_eq!(
            config(&[("AUDIT_QUERY_DEADLINE_MS", "30000")])
                .unwrap()
                .deadline,
            Duration::from_secs(30)
        );
        for bad in ["0", "30001", "ten", "-1", "1.5"] {
            let err = config(&[("AUDIT_QUERY_DEADLINE_MS", bad)]).unwrap_err();
            assert_eq!(err.name, "AUDIT_QUERY_DEADLINE_MS", "{bad}");
            assert!(err.reason.contains("1 to 30000"), "{bad}: {err}");
        }
    }

    #[test]
    fn settings_are_read_and_a_short_key_names_the_variable() {
        let c = config(&[
            ("AUDIT_TENANT_CLAIM", "custom:tenant"),
            ("AUDIT_ORGANIZATIONS_CLAIM", "orgs"),
            ("AUDIT_TOKEN_KEY", "a-key-that-is-long-enough"),
        ])
        .unwrap();
        assert_eq!(c.claims.tenant, "custom:tenant");
        assert_eq!(c.claims.organizations, "orgs");
        assert!(!c.token_key_is_default);
        let err = config(&[("AUDIT_TOKEN_KEY", "short")]).unwrap_err();
        assert_eq!(err.name, "AUDIT_TOKEN_KEY");
        assert!(err.to_string().contains("AUDIT_TOKEN_KEY"));
    }
}
