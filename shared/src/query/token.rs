//! Continuation tokens: opaque, URL-safe, versioned, bound to the tenant and the filters,
//! and encrypted and authenticated so that a token names nothing of what it was read from
//! and an altered or foreign token is recognized (ADR 0003, ADR 0009).
//!
//! A token holds what resuming a merge needs: the last sort key read (every stream
//! resumes strictly after it, because sort keys are totally ordered), the number of the
//! next page and how many matches are still to skip. The sort key is the time and id of
//! the last item *read*, which for a scoped caller may be an event outside its scope, so
//! since version 3 the token is encrypted (XChaCha20-Poly1305, a random 24-byte nonce, the
//! key derived from the token key with HMAC-SHA-256 over a label of its own). Layout of
//! version 3 before base64url (no padding):
//!
//! ```text
//! version (1 byte, = 3) | nonce (24 bytes) | ciphertext of
//!   [page number (u32) | skip (u32) | filters digest (16 bytes) | last sort key (UTF-8)]
//!   | Poly1305 tag (16 bytes)
//! ```
//!
//! The associated data is a context label (page token or feed cursor), the tenant and the
//! version byte, so a token replayed by another tenant, edited by hand or made up fails.
//! The tenant is not written into the token: nothing in a token tells who it belongs to.
//!
//! Tokens issued before encryption still read, until they are used up:
//!
//! ```text
//! version 1: version | page number (u32, big endian) | filters digest (16 bytes)
//!   | last sort key (UTF-8) | HMAC-SHA-256 (first 16 bytes)
//! version 2: as version 1 with the skip (u32) after the page number
//! ```
//!
//! Feed cursors are sealed alike ([`FeedCursor`]): version 2 encrypted, version 1 signed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::TenantId;
use crate::keys::{self, SortKey};
use crate::limits::MAX_PAGE_OFFSET;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
/// The version that carries a skip.
const VERSION_SKIP: u8 = 2;
/// The encrypted version, the one written since.
const VERSION_SEALED: u8 = 3;
/// XChaCha20-Poly1305's nonce.
const NONCE_LEN: usize = 24;
/// Poly1305's tag.
const AEAD_TAG_LEN: usize = 16;
/// Derives the encryption key from a token key, apart from every MAC made with it.
const ENCRYPTION_LABEL: &[u8] = b"audit-log/token-encryption/v1";
const DIGEST_LEN: usize = 16;
const MAC_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + DIGEST_LEN;
/// Separates token MACs from any other use of the same key.
const CONTEXT: &[u8] = b"audit-log/next-token/v1";
/// Shortest key accepted from configuration, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// The key used when none is configured: fine on a developer's machine, never in AWS,
/// because anyone who reads this source can sign tokens with it (which would still only
/// let them page through their own tenant's events, as the tenant comes from the caller's
/// claims and is part of every MAC).
pub const LOCAL_DEFAULT_KEY: &str = "audit-log-local-development-token-key";

/// The keys that sign and verify tokens: the first signs, every one verifies, so a key can
/// be rotated without breaking the tokens clients hold.
#[derive(Clone)]
pub struct TokenKey {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "TokenKey({} key(s))", self.keys.len())
    }
}

impl TokenKey {
    /// One key that signs and verifies.
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self {
            keys: vec![key.into()],
        }
    }

    /// The documented local default ([`LOCAL_DEFAULT_KEY`]).
    pub fn local_default() -> Self {
        Self::new(LOCAL_DEFAULT_KEY)
    }

    /// Parses a configured value: comma-separated keys, the current one first, each at
    /// least [`MIN_KEY_BYTES`] bytes.
    pub fn parse(value: &str) -> Result<Self, String> {
        let keys: Vec<Vec<u8>> = value
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        if keys.is_empty() {
            return Err("must hold at least one key".to_owned());
        }
        if keys.iter().any(|k| k.len() < MIN_KEY_BYTES) {
            return Err(format!(
                "every key must be at least {MIN_KEY_BYTES} bytes long"
            ));
        }
        Ok(Self { keys })
    }

    /// HMAC-SHA-256 over a context label (which keeps page tokens and feed cursors apart),
    /// the tenant and `payload`.
    fn mac(key: &[u8], context: &[u8], tenant: &TenantId, payload: &[u8]) -> HmacSha256 {
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(context);
        // Length-prefixed, so the tenant cannot run into the payload.
        mac.update(&(tenant.as_str().len() as u32).to_be_bytes());
        mac.update(tenant.as_str().as_bytes());
        mac.update(payload);
        mac
    }

    /// `payload` followed by its MAC (first [`MAC_LEN`] bytes) under the signing key, as
    /// base64url text: the layout of tokens issued before encryption.
    #[cfg(test)]
    fn seal(&self, context: &[u8], tenant: &TenantId, mut payload: Vec<u8>) -> String {
        let signing_key = self.keys.first().map_or(&[][..], Vec::as_slice);
        let tag = Self::mac(signing_key, context, tenant, &payload)
            .finalize()
            .into_bytes();
        payload.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The payload of sealed `bytes` (the decoded text, at least [`MAC_LEN`] long) when one
    /// of the keys verifies its MAC.
    fn verify<'b>(&self, context: &[u8], tenant: &TenantId, bytes: &'b [u8]) -> Option<&'b [u8]> {
        let (payload, tag) = bytes.split_at(bytes.len().checked_sub(MAC_LEN)?);
        self.keys
            .iter()
            .any(|k| {
                Self::mac(k, context, tenant, payload)
                    .verify_truncated_left(tag)
                    .is_ok()
            })
            .then_some(payload)
    }

    /// The cipher of one key: XChaCha20-Poly1305 under HMAC-SHA-256(key, label).
    fn cipher(key: &[u8]) -> XChaCha20Poly1305 {
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(ENCRYPTION_LABEL);
        let derived = mac.finalize().into_bytes();
        let Ok(cipher) = <XChaCha20Poly1305 as chacha20poly1305::KeyInit>::new_from_slice(&derived)
        else {
            unreachable!("HMAC-SHA-256 gives the 32 bytes the cipher takes")
        };
        cipher
    }

    /// The associated data: the context label, the tenant (length-prefixed) and the
    /// version byte.
    fn associated(context: &[u8], tenant: &TenantId, version: u8) -> Vec<u8> {
        let mut aad = Vec::with_capacity(context.len() + 5 + tenant.as_str().len());
        aad.extend_from_slice(context);
        aad.extend_from_slice(&(tenant.as_str().len() as u32).to_be_bytes());
        aad.extend_from_slice(tenant.as_str().as_bytes());
        aad.push(version);
        aad
    }

    /// `version | nonce | ciphertext and tag of payload` under the signing key, as
    /// base64url text.
    fn encrypt(&self, context: &[u8], tenant: &TenantId, version: u8, payload: &[u8]) -> String {
        self.encrypt_with(context, tenant, version, payload, rand::random())
    }

    /// [`TokenKey::encrypt`] with a given nonce.
    fn encrypt_with(
        &self,
        context: &[u8],
        tenant: &TenantId,
        version: u8,
        payload: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> String {
        let signing_key = self.keys.first().map_or(&[][..], Vec::as_slice);
        let aad = Self::associated(context, tenant, version);
        let sealed = Self::cipher(signing_key).encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: payload,
                aad: &aad,
            },
        );
        let Ok(sealed) = sealed else {
            unreachable!("a token's few bytes are far below the cipher's message limit")
        };
        let mut bytes = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        bytes.push(version);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The payload of encrypted `bytes` (version byte first) when one of the keys opens it.
    fn decrypt(&self, context: &[u8], tenant: &TenantId, bytes: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = bytes.split_first()?;
        if rest.len() < NONCE_LEN + AEAD_TAG_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let aad = Self::associated(context, tenant, version);
        self.keys.iter().find_map(|k| {
            Self::cipher(k)
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .ok()
        })
    }
}

/// Why a token was refused; every message is meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not base64url, too short, or an unknown version.
    #[error("is not a continuation token issued by this service ({0})")]
    Malformed(&'static str),
    /// The signature does not match: altered, made up, or issued to another tenant.
    #[error(
        "is not valid: it was altered or issued to another caller; drop nextToken to start over"
    )]
    Forged,
    /// A genuine token, but issued for other filters.
    #[error("was issued for different filters; repeat every parameter of the request that returned it except pageSize, pageNumber and nextToken, or drop nextToken to start over")]
    OtherFilters,
}

/// What a token says: where the next page starts and its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// Number of the page the token leads to (2 for the token of page 1).
    pub page_number: u32,
    /// The last sort key of the previous page; the next page starts strictly after it.
    pub after: SortKey,
    /// Matches after `after` to skip before the page starts (0 but for a page number whose
    /// skip the read budget cut short).
    pub skip: u32,
}

impl PageToken {
    /// The token's text, encrypted for `tenant` and the filters of `digest` (version 3).
    pub fn encode(&self, key: &TokenKey, tenant: &TenantId, digest: &[u8; DIGEST_LEN]) -> String {
        key.encrypt(CONTEXT, tenant, VERSION_SEALED, &self.plaintext(digest))
    }

    /// The same token with a fixed nonce: the same text on every call, for a documented
    /// example only (a real token takes a fresh random nonce, so that no two tokens can be
    /// compared).
    pub fn encode_example(
        &self,
        key: &TokenKey,
        tenant: &TenantId,
        digest: &[u8; DIGEST_LEN],
    ) -> String {
        key.encrypt_with(
            CONTEXT,
            tenant,
            VERSION_SEALED,
            &self.plaintext(digest),
            [0x5a; NONCE_LEN],
        )
    }

    /// What version 3 encrypts.
    fn plaintext(&self, digest: &[u8; DIGEST_LEN]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + DIGEST_LEN + self.after.as_str().len());
        bytes.extend_from_slice(&self.page_number.to_be_bytes());
        bytes.extend_from_slice(&self.skip.to_be_bytes());
        bytes.extend_from_slice(digest);
        bytes.extend_from_slice(self.after.as_str().as_bytes());
        bytes
    }

    /// The signed layout of versions 1 and 2, as tokens issued before encryption were
    /// written (kept to check that they still read).
    #[cfg(test)]
    fn encode_signed(
        &self,
        key: &TokenKey,
        tenant: &TenantId,
        digest: &[u8; DIGEST_LEN],
    ) -> String {
        let mut bytes = Vec::with_capacity(HEADER_LEN + self.after.as_str().len() + MAC_LEN);
        bytes.push(if self.skip == 0 {
            VERSION
        } else {
            VERSION_SKIP
        });
        bytes.extend_from_slice(&self.page_number.to_be_bytes());
        if self.skip != 0 {
            bytes.extend_from_slice(&self.skip.to_be_bytes());
        }
        bytes.extend_from_slice(digest);
        bytes.extend_from_slice(self.after.as_str().as_bytes());
        key.seal(CONTEXT, tenant, bytes)
    }

    /// Reads and verifies `text` for `tenant` and the filters of `digest`: an encrypted
    /// token, or a signed one issued before encryption.
    pub fn decode(
        text: &str,
        key: &TokenKey,
        tenant: &TenantId,
        digest: &[u8; DIGEST_LEN],
    ) -> Result<Self, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| TokenError::Malformed("not base64url"))?;
        // (page number, skip, whether a skip was written, digest, position)
        let (page_number, skip, skip_written, token_digest, after) = match bytes.first() {
            Some(&VERSION_SEALED) => {
                if bytes.len() < 1 + NONCE_LEN + 8 + DIGEST_LEN + 1 + AEAD_TAG_LEN {
                    return Err(TokenError::Malformed("too short"));
                }
                let plain = key
                    .decrypt(CONTEXT, tenant, &bytes)
                    .ok_or(TokenError::Forged)?;
                let page_number = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]);
                let skip = u32::from_be_bytes([plain[4], plain[5], plain[6], plain[7]]);
                let mut token_digest = [0u8; DIGEST_LEN];
                token_digest.copy_from_slice(&plain[8..8 + DIGEST_LEN]);
                let after = plain[8 + DIGEST_LEN..].to_vec();
                (page_number, skip, skip != 0, token_digest, after)
            }
            Some(&VERSION) | Some(&VERSION_SKIP) => {
                let skip_len = if bytes[0] == VERSION { 0 } else { 4 };
                if bytes.len() < HEADER_LEN + skip_len + MAC_LEN + 1 {
                    return Err(TokenError::Malformed("too short"));
                }
                let payload = key
                    .verify(CONTEXT, tenant, &bytes)
                    .ok_or(TokenError::Forged)?;
                let header_end = HEADER_LEN + skip_len;
                let page_number =
                    u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
                let skip = match skip_len {
                    0 => 0,
                    _ => u32::from_be_bytes([payload[5], payload[6], payload[7], payload[8]]),
                };
                if skip_len != 0 && skip == 0 {
                    // A skip is only written when not zero.
                    return Err(TokenError::Malformed("bad position"));
                }
                let mut token_digest = [0u8; DIGEST_LEN];
                token_digest.copy_from_slice(&payload[5 + skip_len..header_end]);
                let after = payload[header_end..].to_vec();
                (page_number, skip, skip_len != 0, token_digest, after)
            }
            _ => return Err(TokenError::Malformed("unknown version")),
        };
        if token_digest != *digest {
            return Err(TokenError::OtherFilters);
        }
        let after = String::from_utf8(after)
            .map_err(|_| TokenError::Malformed("bad position"))
            .map(SortKey::from_stored)?;
        // A genuine token always holds a sort key; check anyway, a key may have leaked.
        // Skips stay within the cap.
        let skip_ok = !skip_written || u64::from(skip) <= MAX_PAGE_OFFSET;
        if page_number < 1
            || (skip == 0 && page_number < 2)
            || !skip_ok
            || keys::event_pk_of_sort_key(tenant, &after).is_none()
        {
            return Err(TokenError::Malformed("bad position"));
        }
        Ok(Self {
            page_number,
            after,
            skip,
        })
    }
}

/// Separates feed cursors from page tokens sealed with the same key.
const FEED_CONTEXT: &[u8] = b"audit-log/feed-cursor/v1";
/// The signed feed cursor's version byte (issued before encryption, still read).
const FEED_VERSION: u8 = 1;
/// The encrypted feed cursor's version byte, the one written since.
const FEED_VERSION_SEALED: u8 = 2;
/// Signed: version | next leaf index (u64) | binding digest | MAC.
const FEED_LEN: usize = 1 + 8 + DIGEST_LEN + MAC_LEN;
/// Encrypted: version | nonce | ciphertext of [next leaf index | binding digest] | tag.
const FEED_SEALED_LEN: usize = 1 + NONCE_LEN + 8 + DIGEST_LEN + AEAD_TAG_LEN;

/// Why a feed cursor was refused; every message is meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not base64url, the wrong length or an unknown version.
    #[error("is not a feed cursor issued by this service ({0}); drop cursor to start from the first event")]
    Malformed(&'static str),
    /// The signature does not match: altered, made up, or issued to another tenant.
    #[error("is not valid: it was altered or issued to another caller; drop cursor to start from the first event")]
    Forged,
    /// A genuine cursor, issued for another organization scope or other filters.
    #[error("was issued for different filters or another organization scope; repeat the category and eventType of the request that returned it, or drop cursor to start over")]
    OtherFilters,
}

/// A position in a tenant's feed: the index of the next leaf to read. Opaque to clients:
/// `base64url(version (2) | nonce (24 bytes) | XChaCha20-Poly1305 of [leaf index (u64, big
/// endian) | binding digest (16 bytes)] | tag)`, the associated data a context label of its
/// own, the tenant and the version, so a page token cannot pass for a cursor nor the
/// reverse. Version 1 cursors (the same fields in clear, HMAC-SHA-256 signed) still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    /// The next leaf index to read.
    pub next_leaf: u64,
}

impl FeedCursor {
    /// The cursor's text, encrypted for `tenant` and the scope and filters of `digest`.
    pub fn encode(&self, key: &TokenKey, tenant: &TenantId, digest: &[u8; DIGEST_LEN]) -> String {
        let mut bytes = Vec::with_capacity(8 + DIGEST_LEN);
        bytes.extend_from_slice(&self.next_leaf.to_be_bytes());
        bytes.extend_from_slice(digest);
        key.encrypt(FEED_CONTEXT, tenant, FEED_VERSION_SEALED, &bytes)
    }

    /// The signed layout of version 1 (kept to check that such cursors still read).
    #[cfg(test)]
    fn encode_signed(
        &self,
        key: &TokenKey,
        tenant: &TenantId,
        digest: &[u8; DIGEST_LEN],
    ) -> String {
        let mut bytes = Vec::with_capacity(FEED_LEN);
        bytes.push(FEED_VERSION);
        bytes.extend_from_slice(&self.next_leaf.to_be_bytes());
        bytes.extend_from_slice(digest);
        key.seal(FEED_CONTEXT, tenant, bytes)
    }

    /// Reads and verifies `text` for `tenant` and the scope and filters of `digest`.
    pub fn decode(
        text: &str,
        key: &TokenKey,
        tenant: &TenantId,
        digest: &[u8; DIGEST_LEN],
    ) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| CursorError::Malformed("not base64url"))?;
        let fields: Vec<u8> = match bytes.first() {
            Some(&FEED_VERSION_SEALED) if bytes.len() == FEED_SEALED_LEN => key
                .decrypt(FEED_CONTEXT, tenant, &bytes)
                .ok_or(CursorError::Forged)?,
            Some(&FEED_VERSION) if bytes.len() == FEED_LEN => key
                .verify(FEED_CONTEXT, tenant, &bytes)
                .ok_or(CursorError::Forged)?[1..]
                .to_vec(),
            Some(&FEED_VERSION_SEALED) | Some(&FEED_VERSION) => {
                return Err(CursorError::Malformed("wrong length"))
            }
            _ => return Err(CursorError::Malformed("unknown version")),
        };
        if fields.len() != 8 + DIGEST_LEN {
            return Err(CursorError::Malformed("wrong length"));
        }
        if fields[8..] != digest[..] {
            return Err(CursorError::OtherFilters);
        }
        let mut index = [0u8; 8];
        index.copy_from_slice(&fields[..8]);
        Ok(Self {
            next_leaf: u64::from_be_bytes(index),
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_feed_cursor_round_trips_and_refuses_other_tenants_filters_and_edits() {
        let key = TokenKey::local_default();
        let cursor = FeedCursor { next_leaf: 4242 };
        let text = cursor.encode(&key, &tenant("acme"), &[1; 16]);
        assert_eq!(
            FeedCursor::decode(&text, &key, &tenant("acme"), &[1; 16]),
            Ok(cursor)
        );
        assert_eq!(
            FeedCursor::decode(&text, &key, &tenant("other"), &[1; 16]),
            Err(CursorError::Forged)
        );
        assert_eq!(
            FeedCursor::decode(&text, &key, &tenant("acme"), &[2; 16]),
            Err(CursorError::OtherFilters)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        bytes[8] ^= 1;
        let edited = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            FeedCursor::decode(&edited, &key, &tenant("acme"), &[1; 16]),
            Err(CursorError::Forged)
        );
        // A page token is no cursor.
        let page = token().encode(&key, &tenant("acme"), &[1; 16]);
        assert!(FeedCursor::decode(&page, &key, &tenant("acme"), &[1; 16]).is_err());
    }

    use super::*;

    fn tenant(t: &str) -> TenantId {
        TenantId::parse(t).unwrap()
    }

    fn token() -> PageToken {
        PageToken {
            page_number: 2,
            after: SortKey::from_stored("2024-03-01T05:00:00.000Z#evt-1"),
            skip: 0,
        }
    }

    #[test]
    fn a_token_without_a_skip_keeps_the_first_layout_and_one_with_a_skip_round_trips() {
        let key = TokenKey::local_default();
        // Pinned: a version 1 token issued before skips existed still decodes.
        let issued = "AQAAAAIHBwcHBwcHBwcHBwcHBwcHMjAyNC0wMy0wMVQwNTowMDowMC4wMDBaI2V2dC0x-Ppg_EMaKk1Jwxk0J4P9qA";
        assert_eq!(
            token().encode_signed(&key, &tenant("acme"), &[7; 16]),
            issued
        );
        assert_eq!(
            PageToken::decode(issued, &key, &tenant("acme"), &[7; 16]).unwrap(),
            token()
        );
        let skipping = PageToken {
            page_number: 3,
            skip: 40,
            ..token()
        };
        for text in [
            skipping.encode_signed(&key, &tenant("acme"), &[7; 16]),
            skipping.encode(&key, &tenant("acme"), &[7; 16]),
        ] {
            assert_eq!(
                PageToken::decode(&text, &key, &tenant("acme"), &[7; 16]).unwrap(),
                skipping
            );
            assert_eq!(
                PageToken::decode(&text, &key, &tenant("acme"), &[8; 16]),
                Err(TokenError::OtherFilters)
            );
        }
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(skipping.encode_signed(&key, &tenant("acme"), &[7; 16]))
                .unwrap()[0],
            2
        );
        let too_deep = PageToken {
            skip: MAX_PAGE_OFFSET as u32 + 1,
            ..skipping
        };
        for text in [
            too_deep.encode_signed(&key, &tenant("acme"), &[7; 16]),
            too_deep.encode(&key, &tenant("acme"), &[7; 16]),
        ] {
            assert!(PageToken::decode(&text, &key, &tenant("acme"), &[7; 16]).is_err());
        }
    }

    #[test]
    fn a_token_and_a_cursor_are_encrypted_and_name_nothing_they_were_read_from() {
        let key = TokenKey::local_default();
        let text = token().encode(&key, &tenant("acme"), &[7; 16]);
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        assert_eq!(bytes[0], 3, "the encrypted version");
        let clear = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!clear(b"evt-1") && !clear(b"2024-03-01") && !clear(&[7; 16]));
        assert!(!clear(&2u32.to_be_bytes()[..]) || bytes.len() > 40);
        // Two tokens of the same position differ: nothing can be compared across them.
        assert_ne!(text, token().encode(&key, &tenant("acme"), &[7; 16]));
        let cursor = FeedCursor { next_leaf: 4242 };
        let text = cursor.encode(&key, &tenant("acme"), &[1; 16]);
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        assert_eq!(bytes[0], 2);
        assert!(!bytes.windows(8).any(|w| w == 4242u64.to_be_bytes()));
        // A cursor issued before encryption still reads, and is still bound.
        let signed = cursor.encode_signed(&key, &tenant("acme"), &[1; 16]);
        assert_eq!(
            FeedCursor::decode(&signed, &key, &tenant("acme"), &[1; 16]),
            Ok(cursor)
        );
        assert_eq!(
            FeedCursor::decode(&signed, &key, &tenant("other"), &[1; 16]),
            Err(CursorError::Forged)
        );
    }

    #[test]
    fn a_token_round_trips_and_is_url_safe() {
        let key = TokenKey::local_default();
        let text = token().encode(&key, &tenant("acme"), &[7; 16]);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(!text.contains("evt-1"), "opaque: {text}");
        let back = PageToken::decode(&text, &key, &tenant("acme"), &[7; 16]).unwrap();
        assert_eq!(back, token());
    }

    #[test]
    fn foreign_tampered_and_malformed_tokens_are_refused() {
        let key = TokenKey::local_default();
        let text = token().encode(&key, &tenant("acme"), &[7; 16]);
        assert_eq!(
            PageToken::decode(&text, &key, &tenant("other"), &[7; 16]),
            Err(TokenError::Forged)
        );
        assert_eq!(
            PageToken::decode(&text, &key, &tenant("acme"), &[8; 16]),
            Err(TokenError::OtherFilters)
        );
        let other_key = TokenKey::new("another-key-of-enough-length");
        assert_eq!(
            PageToken::decode(&text, &other_key, &tenant("acme"), &[7; 16]),
            Err(TokenError::Forged)
        );
        // Flip each byte in turn: every change is caught.
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(altered);
            assert!(
                PageToken::decode(&altered, &key, &tenant("acme"), &[7; 16]).is_err(),
                "byte {i}"
            );
        }
        for bad in ["", "!!!", "abc", &text[..text.len() - 4]] {
            assert!(matches!(
                PageToken::decode(bad, &key, &tenant("acme"), &[7; 16]),
                Err(TokenError::Malformed(_) | TokenError::Forged)
            ));
        }
    }

    #[test]
    fn a_rotated_key_still_verifies_old_tokens_and_signs_with_the_new_one() {
        let old = TokenKey::parse("old-key-0123456789").unwrap();
        let rotated = TokenKey::parse("new-key-0123456789, old-key-0123456789").unwrap();
        let issued_before = token().encode(&old, &tenant("acme"), &[1; 16]);
        assert!(PageToken::decode(&issued_before, &rotated, &tenant("acme"), &[1; 16]).is_ok());
        let issued_after = token().encode(&rotated, &tenant("acme"), &[1; 16]);
        assert_eq!(
            PageToken::decode(&issued_after, &old, &tenant("acme"), &[1; 16]),
            Err(TokenError::Forged)
        );
        assert!(TokenKey::parse("short").is_err());
        assert!(TokenKey::parse(" , ").is_err());
        assert_eq!(format!("{rotated:?}"), "TokenKey(2 key(s))");
    }
}
