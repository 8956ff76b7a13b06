//! Checkpoints: C2SP tlog-checkpoint bodies with our extension lines, signed as C2SP
//! signed notes, each chained to the one before.
//!
//! ```text
//! <origin prefix>/<tenantId>
//! <tree size, decimal>
//! <base64 root hash>
//! bucket <start> <end>
//! seq <sequence number, decimal, from 0>
//! prev <base64 SHA-256 of the previous checkpoint's signed note bytes>
//! ```
//!
//! `bucket` holds the sealed bucket's bounds on the server clock (`recordedAt`), start
//! inclusive and end exclusive, in the fixed-width form `YYYY-MM-DDTHH:MM:SS.mmmZ`. The
//! `prev` line is absent exactly on sequence 0. Removing or reordering checkpoints breaks
//! the `prev` chain or the sequence; each checkpoint's tree also extends the previous one's
//! (checked with a consistency proof).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::merkle::Hash;
use super::note::Signer;
use super::note::{NoteError, SignedNote, VerifierKey};
use crate::time::Timestamp;

/// The origin prefix when none is configured: origins read `audit.local/<tenantId>`.
pub const DEFAULT_ORIGIN_PREFIX: &str = "audit.local";

/// Why a checkpoint could not be parsed, signed, verified or chained.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The body breaks a rule of the format; the text says which line.
    #[error("malformed checkpoint: {0}")]
    Format(&'static str),
    /// The note could not be parsed, signed or verified.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A checkpoint does not follow the previous one; the text says how.
    #[error("checkpoint {seq} does not follow checkpoint {prev_seq}: {reason}")]
    Chain {
        /// Sequence number of the earlier checkpoint.
        prev_seq: u64,
        /// Sequence number of the later one.
        seq: u64,
        /// What does not follow.
        reason: &'static str,
    },
}

/// A checkpoint's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin, `<prefix>/<tenantId>`.
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// Root hash of the tree.
    pub root: Hash,
    /// Start of the sealed bucket (inclusive), server time.
    pub bucket_start: Timestamp,
    /// End of the sealed bucket (exclusive), server time.
    pub bucket_end: Timestamp,
    /// Sequence number, 0 for the tenant's first checkpoint.
    pub seq: u64,
    /// SHA-256 of the previous checkpoint's signed note bytes; `None` exactly on seq 0.
    pub prev: Option<Hash>,
}

/// The origin of a tenant's log.
pub fn origin(prefix: &str, tenant_id: &str) -> String {
    format!("{prefix}/{tenant_id}")
}

fn decimal(s: &str) -> Option<u64> {
    let canonical = s == "0" || (!s.starts_with('0') && !s.is_empty());
    if !canonical || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn hash64(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

fn timestamp(s: &str) -> Option<Timestamp> {
    let t = Timestamp::parse_rfc3339("bucket", s).ok()?;
    (t.to_key_string() == s).then_some(t)
}

impl Checkpoint {
    /// The body text (every line ends in `\n`).
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\nbucket {} {}\nseq {}\n",
            self.origin,
            self.size,
            B64.encode(self.root),
            self.bucket_start,
            self.bucket_end,
            self.seq
        );
        if let Some(prev) = &self.prev {
            text.push_str(&format!("prev {}\n", B64.encode(prev)));
        }
        text
    }

    /// Parses a body made by [`Checkpoint::to_text`]; anything else is refused, so a
    /// parsed checkpoint prints back to the same bytes.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let f = CheckpointError::Format;
        let body = text
            .strip_suffix('\n')
            .ok_or(f("must end with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() != 5 && lines.len() != 6 {
            return Err(f("expected 5 or 6 lines"));
        }
        let origin = lines[0];
        if origin.is_empty() || origin.chars().any(char::is_whitespace) {
            return Err(f("line 1: the origin must be non-empty without spaces"));
        }
        let size = decimal(lines[1]).ok_or(f("line 2: the size must be a decimal number"))?;
        let root = hash64(lines[2]).ok_or(f("line 3: the root must be a base64 SHA-256"))?;
        let bucket = lines[3]
            .strip_prefix("bucket ")
            .and_then(|b| b.split_once(' '))
            .and_then(|(s, e)| Some((timestamp(s)?, timestamp(e)?)))
            .ok_or(f(
                "line 4: expected 'bucket <start> <end>', fixed-width UTC",
            ))?;
        if bucket.0 >= bucket.1 {
            return Err(f("line 4: the bucket must end after it starts"));
        }
        let seq = lines[4]
            .strip_prefix("seq ")
            .and_then(decimal)
            .ok_or(f("line 5: expected 'seq <decimal>'"))?;
        let prev = match lines.get(5) {
            Some(line) => Some(
                line.strip_prefix("prev ")
                    .and_then(hash64)
                    .ok_or(f("line 6: expected 'prev <base64 SHA-256>'"))?,
            ),
            None => None,
        };
        if (seq == 0) != prev.is_none() {
            return Err(f("the prev line is absent exactly on seq 0"));
        }
        let checkpoint = Self {
            origin: origin.to_owned(),
            size,
            root,
            bucket_start: bucket.0,
            bucket_end: bucket.1,
            seq,
            prev,
        };
        if checkpoint.to_text() != text {
            return Err(f("not in canonical form"));
        }
        Ok(checkpoint)
    }
}

/// A checkpoint with its signed note, as stored and published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The content.
    pub checkpoint: Checkpoint,
    /// The signed note.
    pub note: SignedNote,
    bytes: Vec<u8>,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with `signer`.
    pub async fn sign(
        checkpoint: Checkpoint,
        signer: &dyn Signer,
    ) -> Result<Self, CheckpointError> {
        let note = SignedNote::sign(&checkpoint.to_text(), signer).await?;
        let bytes = note.to_bytes();
        Ok(Self {
            checkpoint,
            note,
            bytes,
        })
    }

    /// Parses a signed checkpoint's bytes and checks its signature by `key`.
    pub fn open(bytes: &[u8], key: &VerifierKey) -> Result<Self, CheckpointError> {
        let note = SignedNote::parse(bytes)?;
        key.verify(&note)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        Ok(Self {
            checkpoint,
            note,
            bytes: bytes.to_vec(),
        })
    }

    /// The signed note's bytes, exactly as signed or read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of [`SignedCheckpoint::as_bytes`]: what the next checkpoint's `prev` holds.
    pub fn note_hash(&self) -> Hash {
        Sha256::digest(&self.bytes).into()
    }

    /// The content of the checkpoint that follows this one: sequence + 1, `prev` set to
    /// this one's note hash, the same origin.
    pub fn next(
        &self,
        size: u64,
        root: Hash,
        bucket_start: Timestamp,
        bucket_end: Timestamp,
    ) -> Checkpoint {
        Checkpoint {
            origin: self.checkpoint.origin.clone(),
            size,
            root,
            bucket_start,
            bucket_end,
            seq: self.checkpoint.seq + 1,
            prev: Some(self.note_hash()),
        }
    }

    /// Checks that `next` directly follows this checkpoint: same origin, next sequence
    /// number, `prev` equal to this note's hash, a tree at least as large, and a bucket
    /// that starts at or after this one's end. (That the trees are consistent is a
    /// separate check, with a consistency proof.)
    pub fn check_next(&self, next: &Checkpoint) -> Result<(), CheckpointError> {
        let this = &self.checkpoint;
        let broken = |reason| CheckpointError::Chain {
            prev_seq: this.seq,
            seq: next.seq,
            reason,
        };
        if next.origin != this.origin {
            return Err(broken("another origin"));
        }
        if Some(next.seq) != this.seq.checked_add(1) {
            return Err(broken("the sequence number is not the next one"));
        }
        if next.prev != Some(self.note_hash()) {
            return Err(broken("prev is not the hash of the previous signed note"));
        }
        if next.size < this.size {
            return Err(broken("the tree shrank"));
        }
        if next.bucket_start < this.bucket_end {
            return Err(broken("the bucket starts before the previous one ends"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::signer::Ed25519Signer;
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", s).unwrap()
    }

    fn first() -> Checkpoint {
        Checkpoint {
            origin: origin(DEFAULT_ORIGIN_PREFIX, "acme"),
            size: 3,
            root: [9u8; 32],
            bucket_start: ts("2024-03-01T10:00:00.000Z"),
            bucket_end: ts("2024-03-01T10:01:00.000Z"),
            seq: 0,
            prev: None,
        }
    }

    #[test]
    fn the_body_has_the_documented_lines_and_parses_back() {
        let text = first().to_text();
        assert_eq!(
            text,
            "audit.local/acme\n3\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\
             bucket 2024-03-01T10:00:00.000Z 2024-03-01T10:01:00.000Z\nseq 0\n"
        );
        assert_eq!(Checkpoint::parse(&text), Ok(first()));
    }

    #[test]
    fn non_canonical_bodies_are_refused() {
        let good = first().to_text();
        for bad in [
            good.replace("\n3\n", "\n03\n"),
            good.replace("seq 0", "seq 1"),
            good.replace("10:01:00.000Z", "10:01:00Z"),
            good.replace("10:01:00.000Z", "09:59:00.000Z"),
            good.trim_end().to_owned(),
            format!("{good}prev {}\n", B64.encode([0u8; 32])),
            good.replace("audit.local/acme", "audit local"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_chain_of_signed_checkpoints_links_and_a_gap_or_swap_breaks_it() {
        let signer = Ed25519Signer::from_seed("audit.local", [3u8; 32]).unwrap();
        let key = signer.verifier_key().unwrap();
        let c0 = SignedCheckpoint::sign(first(), &signer).await.unwrap();
        let opened = SignedCheckpoint::open(c0.as_bytes(), &key).unwrap();
        assert_eq!(opened, c0);
        let c1 = SignedCheckpoint::sign(
            c0.next(
                5,
                [1u8; 32],
                ts("2024-03-01T10:01:00.000Z"),
                ts("2024-03-01T10:02:00.000Z"),
            ),
            &signer,
        )
        .await
        .unwrap();
        let c2 = SignedCheckpoint::sign(
            c1.next(
                5,
                [1u8; 32],
                ts("2024-03-01T10:02:00.000Z"),
                ts("2024-03-01T10:03:00.000Z"),
            ),
            &signer,
        )
        .await
        .unwrap();
        assert_eq!(c0.check_next(&c1.checkpoint), Ok(()));
        assert_eq!(c1.check_next(&c2.checkpoint), Ok(()));
        // c1 removed: c2 does not follow c0.
        assert!(c0.check_next(&c2.checkpoint).is_err());
        // Reordered: c1 does not follow c2.
        assert!(c2.check_next(&c1.checkpoint).is_err());
        // A root edited in storage: the signature no longer verifies.
        let tampered = String::from_utf8(c1.as_bytes().to_vec())
            .unwrap()
            .replace(&B64.encode([1u8; 32]), &B64.encode([2u8; 32]));
        assert!(SignedCheckpoint::open(tampered.as_bytes(), &key).is_err());
    }
}
