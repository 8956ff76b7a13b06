//! The JSON bodies of the ledger's public routes (docs/api.md, "The ledger"): what the
//! service serves and what a verifier reads. Hashes and keys are base64 text, checkpoints
//! the signed note text exactly as stored. With the `openapi` feature each also describes
//! itself for the service's OpenAPI document.

use serde::{Deserialize, Serialize};

/// An event's inclusion proof against the tenant's latest checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The event.
    #[cfg_attr(feature = "openapi", schema(example = "01HQZX3J8Y6K2M4N5P7R9S0T1V"))]
    pub event_id: String,
    /// The leaf format: how the leaf hash is computed from the event (docs/ledger.md).
    #[cfg_attr(feature = "openapi", schema(example = "audit-event/v1"))]
    pub leaf_format: String,
    /// The event's leaf index in the tenant's tree.
    #[cfg_attr(feature = "openapi", schema(example = 41))]
    pub leaf_index: u64,
    /// The tree size of `checkpoint`, which the proof is against.
    #[cfg_attr(feature = "openapi", schema(example = 10000))]
    pub tree_size: u64,
    /// The leaf hash the tree holds at `leafIndex` (base64): recompute it from the event
    /// and compare.
    pub leaf_hash: String,
    /// The audit path (RFC 9162 section 2.1.3), base64 hashes, leaf side first.
    pub audit_path: Vec<String>,
    /// The latest checkpoint, the signed note text exactly as stored.
    pub checkpoint: String,
    /// The sequence number of the checkpoint that sealed the event.
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub sealed_by: u64,
}

/// One checkpoint of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointEntry {
    /// Its sequence number (0 for the tenant's first).
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub sequence: u64,
    /// The sealed bucket's start (inclusive).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-26T10:00:00.000Z"))]
    pub bucket_start: String,
    /// The sealed bucket's end (exclusive).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-26T10:01:00.000Z"))]
    pub bucket_end: String,
    /// The tree size it commits to.
    #[cfg_attr(feature = "openapi", schema(example = 10000))]
    pub tree_size: u64,
    /// The tree size before it: its leaves are `firstIndex..treeSize`.
    #[cfg_attr(feature = "openapi", schema(example = 9900))]
    pub first_index: u64,
    /// How many of its leaves (the first ones) are late leaves of earlier buckets.
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub late_count: u64,
    /// The signed note text, exactly as stored: the authority.
    pub note: String,
    /// With `withProofs=true`: the consistency proof from the tree of `firstIndex` leaves
    /// to this one (base64 hashes; empty when `firstIndex` is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency_proof: Option<Vec<String>>,
}

/// A page of checkpoints, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointList {
    /// The checkpoints.
    pub items: Vec<CheckpointEntry>,
    /// Whether more may follow.
    pub has_more: bool,
    /// Pass as `nextToken` (with the same parameters) for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One leaf of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LedgerLeaf {
    /// The leaf's entry: `<recordedAt>#<eventId>` of the event it commits to. Absent for a
    /// caller scoped to organizations, who gets the hashes only, as the entries name events
    /// of every organization (docs/api.md, "Organization scope"); empty here then.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-11-26T10:00:00.120Z#login-7f3a")
    )]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recorded_sk: String,
    /// Its leaf hash (base64).
    pub leaf_hash: String,
}

/// A run of leaves of the tenant's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntries {
    /// Index of the first leaf.
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub start: u64,
    /// Index after the last leaf.
    #[cfg_attr(feature = "openapi", schema(example = 1024))]
    pub end: u64,
    /// The latest checkpoint's tree size.
    #[cfg_attr(feature = "openapi", schema(example = 10000))]
    pub tree_size: u64,
    /// The leaves, in order.
    pub leaves: Vec<LedgerLeaf>,
    /// The roots of the perfect subtrees left of `start` (base64), largest first: one per
    /// bit set in `start`. With them and the leaves, the root of every tree size from
    /// `start` to `end` can be recomputed and compared with the signed checkpoints.
    pub frontier: Vec<String>,
}

/// What a verifier needs besides the data: the keys and formats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LedgerKeys {
    /// The checkpoint signers' verifier keys, C2SP signed-note form
    /// (`<name>+<key hash>+<base64 of 0x01 and the Ed25519 key>`).
    pub keys: Vec<String>,
    /// Checkpoint origins are `<originPrefix>/<tenantId>`.
    #[cfg_attr(feature = "openapi", schema(example = "audit.local"))]
    pub origin_prefix: String,
    /// The leaf format (docs/ledger.md).
    #[cfg_attr(feature = "openapi", schema(example = "audit-event/v1"))]
    pub leaf_format: String,
}
