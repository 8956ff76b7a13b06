//! The audit log's tamper-evident ledger, without storage (docs/ledger.md,
//! docs/adr/0010-tamper-evident-ledger.md, docs/adr/0012-crate-boundaries.md): what an
//! event's leaf is, the RFC 6962 tree over a tenant's events stored as C2SP tlog-tiles,
//! the signed, chained C2SP checkpoints over that tree, and the sealing and proof-reading
//! orchestration over small ports ([`store`], [`Anchor`], [`Signer`]).
//!
//! This crate names no storage engine, cloud SDK or HTTP stack: the service's DynamoDB
//! adapter, KMS signer and S3 anchor implement its ports, and the verifier checks the
//! public routes' answers ([`wire`]) with it and an HTTP client only. It is the lowest
//! layer of the workspace: nothing here imports the service's other crates.

pub mod anchor;
pub mod checkpoint;
pub mod field;
pub mod jcs;
pub mod key;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod read;
pub mod seal;
pub mod signer;
pub mod store;
pub mod tiles;
pub mod time;
pub mod wire;

pub use anchor::{Anchor, AnchorError, DirectoryAnchor};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, DEFAULT_ORIGIN_PREFIX};
pub use field::FieldError;
pub use leaf::{leaf_data, leaf_hash_of_json, LeafError, LEAF_FORMAT};
pub use merkle::{verify_consistency, verify_inclusion, Hash, ProofError};
pub use note::{NoteError, SignError, SignedNote, Signer, VerifierKey};
pub use seal::{seal_due, SealError, SealReport, SealSettings};
pub use signer::Ed25519Signer;
pub use store::{ReadStats, StoreError};
pub use tiles::{Appended, Tile, TileError, TileId, TileSet};
pub use time::Timestamp;
