//! The sealer's settings, read once at start from the environment; every error names its
//! variable. (The tables, endpoint and region come from `audit_shared::config::Config`.)

use std::path::PathBuf;

pub use audit_ledger::key::{KeySetting, ENV_ORIGIN, ENV_SIGNING_KEY_ARN, ENV_SIGNING_KEY_FILE};
use audit_ledger::seal::{DEFAULT_RECHECK_MS, DEFAULT_SETTLE_MS};
use audit_ledger::{SealSettings, DEFAULT_ORIGIN_PREFIX};

/// Settle delay in ms: a bucket is sealed once its end plus this has passed. Must exceed
/// the ingest function's timeout.
pub const ENV_SETTLE_MS: &str = "AUDIT_SEAL_SETTLE_MS";
/// Delay in ms after which a sealed bucket is read again for late leaves.
pub const ENV_RECHECK_MS: &str = "AUDIT_SEAL_RECHECK_MS";
/// The S3 bucket checkpoints are published to (AWS).
pub const ENV_ANCHOR_BUCKET: &str = "AUDIT_ANCHOR_BUCKET";
/// The directory checkpoints are published to (locally).
pub const ENV_ANCHOR_DIR: &str = "AUDIT_ANCHOR_DIR";

/// Most settle or recheck delay accepted: a day.
const MAX_DELAY_MS: i64 = 86_400_000;

/// Where checkpoints are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorTarget {
    /// An S3 bucket with Object Lock.
    Bucket(String),
    /// A local directory.
    Directory(PathBuf),
}

/// A setting that is missing, malformed or ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealerConfigError {
    /// Neither of two alternatives is set.
    #[error("set {0} or {1}")]
    MissingEither(&'static str, &'static str),
    /// Both of two alternatives are set.
    #[error("set {0} or {1}, not both")]
    Both(&'static str, &'static str),
    /// A variable is malformed.
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The sealer's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealerConfig {
    /// Settle, recheck and origin.
    pub seal: SealSettings,
    /// Who signs.
    pub signer: KeySetting,
    /// Where checkpoints go.
    pub anchor: AnchorTarget,
}

impl SealerConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SealerConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SealerConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let millis = |name: &'static str, default: i64| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|ms| (0..=MAX_DELAY_MS).contains(ms))
                .ok_or_else(|| SealerConfigError::Malformed {
                    name,
                    reason: format!("'{v}' must be a whole number of ms from 0 to {MAX_DELAY_MS}"),
                }),
        };
        let either = |a: &'static str, b: &'static str| match (get(a), get(b)) {
            (Some(_), Some(_)) => Err(SealerConfigError::Both(a, b)),
            (None, None) => Err(SealerConfigError::MissingEither(a, b)),
            (x, y) => Ok((x, y)),
        };
        let origin_prefix = get(ENV_ORIGIN).unwrap_or_else(|| DEFAULT_ORIGIN_PREFIX.to_owned());
        if origin_prefix.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(SealerConfigError::Malformed {
                name: ENV_ORIGIN,
                reason: "must have no spaces and no '+'".to_owned(),
            });
        }
        // Exactly one key: the sealer must not sign with one and leave the other unused.
        either(ENV_SIGNING_KEY_ARN, ENV_SIGNING_KEY_FILE)?;
        let signer = KeySetting::from_lookup(get).ok_or(SealerConfigError::MissingEither(
            ENV_SIGNING_KEY_ARN,
            ENV_SIGNING_KEY_FILE,
        ))?;
        let anchor = match either(ENV_ANCHOR_BUCKET, ENV_ANCHOR_DIR)? {
            (Some(bucket), _) => AnchorTarget::Bucket(bucket),
            (_, Some(dir)) => AnchorTarget::Directory(PathBuf::from(dir)),
            _ => {
                return Err(SealerConfigError::MissingEither(
                    ENV_ANCHOR_BUCKET,
                    ENV_ANCHOR_DIR,
                ))
            }
        };
        Ok(Self {
            seal: SealSettings {
                settle_ms: millis(ENV_SETTLE_MS, DEFAULT_SETTLE_MS)?,
                recheck_ms: millis(ENV_RECHECK_MS, DEFAULT_RECHECK_MS)?,
                origin_prefix,
            },
            signer,
            anchor,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<SealerConfig, SealerConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SealerConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn in_aws_kms_and_s3_with_the_default_delays() {
        let c = config(&[
            ("AUDIT_SIGNING_KEY_ARN", "arn:aws:kms:eu-west-1:1:key/k"),
            ("AUDIT_ANCHOR_BUCKET", "anchors"),
        ])
        .unwrap();
        assert_eq!(
            c.signer,
            KeySetting::Kms("arn:aws:kms:eu-west-1:1:key/k".into())
        );
        assert_eq!(c.anchor, AnchorTarget::Bucket("anchors".into()));
        assert_eq!((c.seal.settle_ms, c.seal.recheck_ms), (120_000, 3_600_000));
        assert_eq!(c.seal.origin_prefix, "audit.local");
    }

    #[test]
    fn locally_a_key_file_a_directory_and_short_delays() {
        let c = config(&[
            ("AUDIT_SIGNING_KEY_FILE", "/tmp/k"),
            ("AUDIT_ANCHOR_DIR", "/tmp/a"),
            ("AUDIT_SEAL_SETTLE_MS", "3000"),
            ("AUDIT_SEAL_RECHECK_MS", "15000"),
            ("AUDIT_LEDGER_ORIGIN", "audit.example.com"),
        ])
        .unwrap();
        assert_eq!(c.signer, KeySetting::File("/tmp/k".into()));
        assert_eq!((c.seal.settle_ms, c.seal.recheck_ms), (3_000, 15_000));
        assert_eq!(c.seal.origin_prefix, "audit.example.com");
    }

    #[test]
    fn errors_name_the_variables() {
        let err = config(&[("AUDIT_ANCHOR_DIR", "/a")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AUDIT_SIGNING_KEY_ARN") && err.contains("AUDIT_SIGNING_KEY_FILE"),
            "{err}"
        );
        let err = config(&[
            ("AUDIT_SIGNING_KEY_FILE", "/k"),
            ("AUDIT_ANCHOR_DIR", "/a"),
            ("AUDIT_ANCHOR_BUCKET", "b"),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            SealerConfigError::Both("AUDIT_ANCHOR_BUCKET", "AUDIT_ANCHOR_DIR")
        );
        for (var, value) in [
            ("AUDIT_SEAL_SETTLE_MS", "-1"),
            ("AUDIT_SEAL_RECHECK_MS", "soon"),
            ("AUDIT_LEDGER_ORIGIN", "a b"),
        ] {
            let err = config(&[
                ("AUDIT_SIGNING_KEY_FILE", "/k"),
                ("AUDIT_ANCHOR_DIR", "/a"),
                (var, value),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
    }
}
