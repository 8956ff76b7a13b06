//! The tamper-evident ledger's pure core (docs/adr/0010-tamper-evident-ledger.md,
//! docs/ledger.md): what an event's leaf is, the RFC 6962 tree over a tenant's events
//! stored as C2SP tlog-tiles, and the signed, chained C2SP checkpoints over that tree.
//!
//! Nothing here reads or writes storage or speaks HTTP: the sealer, the routes and the
//! verifier do, through these functions, and the verifier needs nothing but the public
//! key and the bytes.

pub mod anchor;
pub mod checkpoint;
pub mod jcs;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod read;
pub mod seal;
pub mod signer;
pub mod tiles;

pub use anchor::{Anchor, AnchorError, DirectoryAnchor};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, DEFAULT_ORIGIN_PREFIX};
pub use leaf::{event_leaf_hash, leaf_data, leaf_hash_of_json, LeafError, LEAF_FORMAT};
pub use merkle::{verify_consistency, verify_inclusion, Hash, ProofError};
pub use note::{NoteError, SignedNote, VerifierKey};
pub use seal::{seal_due, SealError, SealReport, SealSettings};
pub use signer::{Ed25519Signer, SignError, Signer};
pub use tiles::{Appended, Tile, TileError, TileId, TileSet};
