//! The signing key's settings, read the same way by the sealer (which signs) and the query
//! function (which serves the verifier key), and the one parser of the public key KMS
//! gives (an Ed25519 SubjectPublicKeyInfo, RFC 8410).

use std::path::PathBuf;

/// Origin prefix of the checkpoints (`<prefix>/<tenantId>`), also the key's name.
pub const ENV_ORIGIN: &str = "AUDIT_LEDGER_ORIGIN";
/// The signing key in AWS KMS (key spec `ECC_NIST_EDWARDS25519`): an id or ARN.
pub const ENV_SIGNING_KEY_ARN: &str = "AUDIT_SIGNING_KEY_ARN";
/// The local key file that signs (created by the sealer on first use).
pub const ENV_SIGNING_KEY_FILE: &str = "AUDIT_SIGNING_KEY_FILE";

/// Where the signing key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetting {
    /// An AWS KMS key id or ARN.
    Kms(String),
    /// A local key file ([`crate::signer`]'s format).
    File(PathBuf),
}

impl KeySetting {
    /// The key the settings name, looked up through `get` (a non-empty value or `None`):
    /// the KMS key when its setting is given, else the key file, else none. The sealer
    /// also refuses both being set; a reader of the public key takes the KMS key.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        match (get(ENV_SIGNING_KEY_ARN), get(ENV_SIGNING_KEY_FILE)) {
            (Some(arn), _) => Some(Self::Kms(arn)),
            (None, Some(file)) => Some(Self::File(PathBuf::from(file))),
            (None, None) => None,
        }
    }
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, the algorithm
/// identifier 1.3.101.112, and a BIT STRING of 33 bytes (no unused bits) holding the key.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The raw 32-byte key of an Ed25519 SubjectPublicKeyInfo, as KMS `GetPublicKey` gives it.
pub fn ed25519_key_of_spki(der: &[u8]) -> Option<[u8; 32]> {
    der.strip_prefix(&ED25519_SPKI_PREFIX)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_raw_key_is_the_last_32_bytes_of_an_ed25519_spki() {
        // RFC 8410 section 10.1's example public key.
        let der = [
            &ED25519_SPKI_PREFIX[..],
            &[
                0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba, 0xc1, 0x67, 0xdc,
                0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6, 0xb6, 0xcb, 0x0c, 0x5c, 0x38, 0xad,
                0x70, 0x31, 0x66, 0xe1,
            ],
        ]
        .concat();
        assert_eq!(der.len(), 44);
        assert_eq!(ed25519_key_of_spki(&der).unwrap()[..2], [0x19, 0xbf]);
        // A P-256 key, or a truncated one, is refused.
        assert!(ed25519_key_of_spki(&der[..43]).is_none());
        let mut other = der.clone();
        other[8] = 0x71;
        assert!(ed25519_key_of_spki(&other).is_none());
    }

    #[test]
    fn the_kms_key_is_preferred_and_no_setting_is_no_key() {
        let lookup = |vars: &[(&str, &str)]| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            KeySetting::from_lookup(|k| map.get(k).cloned())
        };
        assert_eq!(lookup(&[]), None);
        assert_eq!(
            lookup(&[(ENV_SIGNING_KEY_FILE, "/k")]),
            Some(KeySetting::File(PathBuf::from("/k")))
        );
        assert_eq!(
            lookup(&[(ENV_SIGNING_KEY_FILE, "/k"), (ENV_SIGNING_KEY_ARN, "arn")]),
            Some(KeySetting::Kms("arn".to_owned()))
        );
    }
}
