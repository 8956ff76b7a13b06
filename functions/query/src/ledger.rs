//! The ledger routes: an event's inclusion proof, the tenant's checkpoints, runs of its
//! ledger leaves, and the verifier keys (docs/api.md, "The ledger"; docs/ledger.md).
//!
//! They read the ledger table through [`LedgerReader`] only, each read bounded by what it
//! names (`audit_ledger::read`), and report their reads in `Server-Timing` like the
//! other routes (items and time; the port does not report read capacity).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use audit_ledger::key::ed25519_key_of_spki;
pub use audit_ledger::key::{KeySetting, ENV_ORIGIN, ENV_SIGNING_KEY_ARN, ENV_SIGNING_KEY_FILE};
use audit_ledger::read::{self, Counted, ReadError, MAX_RUN};
use audit_ledger::{Ed25519Signer, Signer, VerifierKey, DEFAULT_ORIGIN_PREFIX, LEAF_FORMAT};
use audit_shared::api::ledger::{
    parse_checkpoint_query, parse_entry_query, CheckpointEntry, CheckpointList, InclusionProof,
    LedgerEntries, LedgerKeys, LedgerLeaf,
};
use audit_shared::api::params::parse_event_id;
use audit_shared::api::ParameterError;
use audit_shared::domain::Timestamp;
use audit_shared::keys::{self, ledger as lk};
use audit_shared::query::{Caller, PageToken, TokenError};
use audit_shared::store::{LedgerReader, ReadStats, Visibility};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::{json, now_seconds, ApiError, QueryContext, Reply, JSON, NO_STORE};

/// The setting naming the ledger table.
pub const ENV_LEDGER_TABLE: &str = "AUDIT_LEDGER_TABLE";

/// Seconds a caller asking for the proof of an event not sealed yet should wait: a bucket
/// is sealed within about a minute and a half of its end in AWS.
pub const NOT_SEALED_RETRY_SECONDS: &str = "60";

/// Where the verifier key comes from.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The verifier keys, current first; an error text for the logs when unreadable.
    async fn verifier_keys(&self) -> Result<Vec<VerifierKey>, String>;
}

/// A fixed key (tests, and any deployment that configures the key itself).
pub struct FixedKey(pub VerifierKey);

#[async_trait]
impl KeySource for FixedKey {
    async fn verifier_keys(&self) -> Result<Vec<VerifierKey>, String> {
        Ok(vec![self.0.clone()])
    }
}

/// The local key file the sealer signs with (`AUDIT_SIGNING_KEY_FILE`): read on the first
/// request that needs it and kept; absent until the sealer's first run creates it.
pub struct KeyFile {
    path: PathBuf,
    key: OnceCell<VerifierKey>,
}

impl KeyFile {
    /// The key file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            key: OnceCell::new(),
        }
    }
}

#[async_trait]
impl KeySource for KeyFile {
    async fn verifier_keys(&self) -> Result<Vec<VerifierKey>, String> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let text = std::fs::read_to_string(&self.path)
                    .map_err(|e| format!("key file {}: {e}", self.path.display()))?;
                Ed25519Signer::from_key_file(&self.path, &text)
                    .map_err(|e| e.to_string())?
                    .verifier_key()
                    .map_err(|e| e.to_string())
            })
            .await?;
        Ok(vec![key.clone()])
    }
}

/// The KMS signing key (`AUDIT_SIGNING_KEY_ARN`): its public key read with
/// `kms:GetPublicKey` on the first request that needs it, then kept for the container's
/// life.
pub struct KmsKey {
    client: aws_sdk_kms::Client,
    key_id: String,
    name: String,
    key: OnceCell<VerifierKey>,
}

impl KmsKey {
    /// The key `key_id`, named `name` (the origin prefix, as the sealer names it).
    pub fn new(client: aws_sdk_kms::Client, key_id: &str, name: &str) -> Self {
        Self {
            client,
            key_id: key_id.to_owned(),
            name: name.to_owned(),
            key: OnceCell::new(),
        }
    }
}

#[async_trait]
impl KeySource for KmsKey {
    async fn verifier_keys(&self) -> Result<Vec<VerifierKey>, String> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&self.key_id)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "GetPublicKey {}: {}",
                            self.key_id,
                            aws_sdk_kms::error::DisplayErrorContext(&e)
                        )
                    })?;
                let raw: [u8; 32] = out
                    .public_key()
                    .and_then(|der| ed25519_key_of_spki(der.as_ref()))
                    .ok_or_else(|| format!("{} is not an Ed25519 key", self.key_id))?;
                VerifierKey::new(&self.name, raw).map_err(|e| e.to_string())
            })
            .await?;
        Ok(vec![key.clone()])
    }
}

/// What the ledger routes read.
#[derive(Clone)]
pub struct LedgerContext {
    /// The ledger table.
    pub reader: Arc<dyn LedgerReader>,
    /// The verifier keys.
    pub keys: Arc<dyn KeySource>,
    /// The checkpoints' origin prefix.
    pub origin_prefix: String,
}

/// The ledger settings of the environment: the origin prefix (default `audit.local`) and
/// where the key is, when one of the two key settings is set.
pub fn settings_from_env() -> (String, Option<KeySetting>) {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let origin = get(ENV_ORIGIN).unwrap_or_else(|| DEFAULT_ORIGIN_PREFIX.to_owned());
    (origin, KeySetting::from_lookup(get))
}

pub(crate) fn ledger_of(ctx: &QueryContext) -> Result<&LedgerContext, ApiError> {
    ctx.ledger
        .as_ref()
        .ok_or_else(|| ApiError::Internal(format!("no ledger is configured ({ENV_LEDGER_TABLE})")))
}

fn b64(hash: &[u8]) -> String {
    B64.encode(hash)
}

fn reply<T: serde::Serialize>(
    body: &T,
    stats: ReadStats,
    items: usize,
    plan: &str,
) -> Result<Reply, ApiError> {
    Ok(Reply {
        body: json(body)?,
        content_type: JSON,
        cache: NO_STORE,
        link: None,
        headers: Vec::new(),
        stats,
        items,
        plan: Some(plan.to_owned()),
        partial: false,
        hide_reads: false,
    })
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Store(e) => ApiError::Store(e),
            ReadError::Inconsistent(m) => ApiError::Internal(format!("ledger: {m}")),
        }
    }
}

/// `GET /api/Audit/{eventId}/proof`.
pub(crate) async fn proof(
    ctx: &QueryContext,
    caller: &Caller,
    id: &str,
) -> Result<Reply, ApiError> {
    let id = parse_event_id(id).map_err(ApiError::BadPathParameter)?;
    let ledger = ledger_of(ctx)?;
    if caller.scope.sees_nothing() {
        return Err(ApiError::NotFound(format!("No audit event with id {id}.")));
    }
    let visibility = Visibility::new(caller.scope.clone(), now_seconds(ctx));
    let (found, mut stats) = ctx
        .store
        .get_visible_event(&caller.tenant, &id, &visibility)
        .await?;
    // Absent, expired and out-of-scope look the same, as on GET /api/Audit/{eventId}.
    let event = found.ok_or_else(|| ApiError::NotFound(format!("No audit event with id {id}.")))?;
    let not_sealed = || {
        ApiError::NotSealed(format!(
            "Event {id} is stored but not sealed yet; sealing takes about a minute after its minute ends. Retry later."
        ))
    };
    let mut reader = Counted::new(ledger.reader.as_ref());
    let recorded_sk = lk::recorded_sk(event.recorded_at, &event.event_id);
    let place = read::locate_leaf(
        &mut reader,
        &caller.tenant,
        lk::bucket_of(event.recorded_at),
        &recorded_sk,
    )
    .await?
    .ok_or_else(not_sealed)?;
    // Read after the leaf was found, so it is at least as large as the checkpoint found.
    let latest = reader
        .latest_checkpoint(&caller.tenant)
        .await?
        .filter(|c| c.tree_size > place.index)
        .ok_or_else(not_sealed)?;
    let (leaf, path) =
        read::inclusion(&mut reader, &caller.tenant, place.index, latest.tree_size).await?;
    stats.add(&reader.stats);
    let body = InclusionProof {
        event_id: id.to_string(),
        leaf_format: LEAF_FORMAT.to_owned(),
        leaf_index: place.index,
        tree_size: latest.tree_size,
        leaf_hash: b64(&leaf),
        audit_path: path.iter().map(|h| b64(h)).collect(),
        checkpoint: latest.note,
        sealed_by: place.checkpoint.sequence,
    };
    reply(&body, stats, 1, "proof")
}

/// The filters digest that binds a checkpoint page's token.
fn digest_of(binding: &str) -> [u8; 16] {
    let full = Sha256::digest(binding.as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&full[..16]);
    digest
}

fn token_error(e: TokenError) -> ApiError {
    ApiError::BadRequest(vec![ParameterError::new(
        audit_shared::api::ledger::NEXT_TOKEN,
        e.to_string(),
    )])
}

/// The id part of a checkpoint page's position (tokens hold event sort keys).
const CURSOR_ID: &str = "checkpoint";

/// `GET /api/Audit/checkpoints`.
pub(crate) async fn checkpoints(
    ctx: &QueryContext,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let query = parse_checkpoint_query(pairs).map_err(|e| ApiError::BadRequest(e.0))?;
    let ledger = ledger_of(ctx)?;
    let digest = digest_of(&query.binding());
    let resume = match &query.next_token {
        Some(text) => {
            let token = PageToken::decode(text, &ctx.token_key, &caller.tenant, &digest)
                .map_err(token_error)?;
            let bucket = token.after.as_str().split('#').next().unwrap_or_default();
            let after = Timestamp::parse_rfc3339("nextToken", bucket)
                .map_err(|_| token_error(TokenError::Malformed("bad position")))?;
            Some((after, token.page_number))
        }
        None => None,
    };
    let from = query
        .range_start
        .map(lk::bucket_of)
        .or_else(|| Timestamp::from_millis(0));
    let to = query
        .range_end
        .or_else(|| Timestamp::from_millis(253_402_300_799_000));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::Internal("range bounds out of range".to_owned()));
    };
    let mut reader = Counted::new(ledger.reader.as_ref());
    let page = reader
        .checkpoints(
            &caller.tenant,
            from,
            to,
            query.page_size,
            resume.as_ref().map(|(after, _)| *after),
        )
        .await?;
    let mut items = Vec::with_capacity(page.checkpoints.len());
    for c in &page.checkpoints {
        let consistency_proof = if query.with_proofs {
            let proof =
                read::consistency(&mut reader, &caller.tenant, c.first_index, c.tree_size).await?;
            Some(proof.iter().map(|h| b64(h)).collect())
        } else {
            None
        };
        let end = Timestamp::from_millis(c.bucket.millis() + lk::BUCKET_MILLIS)
            .ok_or_else(|| ApiError::Internal("bucket end out of range".to_owned()))?;
        items.push(CheckpointEntry {
            sequence: c.sequence,
            bucket_start: c.bucket.to_key_string(),
            bucket_end: end.to_key_string(),
            tree_size: c.tree_size,
            first_index: c.first_index,
            late_count: c.late_count,
            note: c.note.clone(),
            consistency_proof,
        });
    }
    let next_token = page.last_bucket.map(|bucket| {
        PageToken {
            page_number: resume.map_or(2, |(_, n)| n.saturating_add(1)),
            // Written in an event sort key's form (`<time>#<id>`), which tokens carry.
            after: keys::SortKey::from_stored(format!("{}#{CURSOR_ID}", bucket.to_key_string())),
            skip: 0,
        }
        .encode(&ctx.token_key, &caller.tenant, &digest)
    });
    let count = items.len();
    let body = CheckpointList {
        items,
        has_more: next_token.is_some(),
        next_token,
    };
    reply(&body, reader.stats, count, "checkpoints")
}

/// `GET /api/Audit/ledger/entries`.
pub(crate) async fn entries(
    ctx: &QueryContext,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let query = parse_entry_query(pairs).map_err(|e| ApiError::BadRequest(e.0))?;
    let ledger = ledger_of(ctx)?;
    let mut reader = Counted::new(ledger.reader.as_ref());
    let size = reader
        .latest_checkpoint(&caller.tenant)
        .await?
        .map_or(0, |c| c.tree_size);
    let end = query
        .end
        .unwrap_or(u64::MAX)
        .min(query.start.saturating_add(MAX_RUN))
        .min(size);
    let run = read::leaf_run(&mut reader, &caller.tenant, query.start, end, size).await?;
    let count = run.leaves.len();
    // A scoped caller gets the hashes only: the entries name the events (time and id) of
    // every organization of the tenant. Its own events' leaves it finds with their proofs.
    let named = !caller.scope.is_restricted();
    let body = LedgerEntries {
        start: query.start,
        end: query.start + count as u64,
        tree_size: size,
        leaves: run
            .leaves
            .into_iter()
            .map(|(recorded_sk, hash)| LedgerLeaf {
                recorded_sk: if named { recorded_sk } else { String::new() },
                leaf_hash: b64(&hash),
            })
            .collect(),
        frontier: run.frontier.iter().map(|h| b64(h)).collect(),
    };
    reply(&body, reader.stats, count, "entries")
}

/// `GET /api/Audit/ledger/keys` (public).
pub(crate) async fn verifier_keys(ctx: &QueryContext) -> Result<Reply, ApiError> {
    let ledger = ledger_of(ctx)?;
    let keys = ledger
        .keys
        .verifier_keys()
        .await
        .map_err(ApiError::KeyUnavailable)?;
    let body = LedgerKeys {
        keys: keys.iter().map(ToString::to_string).collect(),
        origin_prefix: ledger.origin_prefix.clone(),
        leaf_format: LEAF_FORMAT.to_owned(),
    };
    let mut reply = reply(&body, ReadStats::default(), 0, "keys")?;
    reply.cache = KEYS_CACHE;
    Ok(reply)
}

/// The key changes only with a deployment; anyone may cache it briefly.
const KEYS_CACHE: &str = "public, max-age=300";
