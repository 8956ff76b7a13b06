//! `audit-verify`: checks a tenant's audit events against its signed ledger checkpoints
//! through the public API, trusting nothing but the verifier key it is given
//! (docs/ledger.md, "Verifying").
//!
//! [`verify`] runs the checks over any [`Transport`] (the HTTP client of [`http`], or the
//! query handler called in process by the tests) and returns a [`Report`]:
//!
//! 1. **Checkpoints** (`GET /api/Audit/checkpoints?withProofs=true`): each signature by the
//!    key; the chain (origin, sequence + 1, `prev` = hash of the previous note, tree never
//!    shrinking, buckets in order) and the consistency proof from the previous tree. A
//!    break is reported as `chain broken` with the sequence.
//! 2. **Leaves** (`GET /api/Audit/ledger/entries`, 1,024 a request): every leaf from the
//!    first checkpoint's `firstIndex` to the latest tree size, with its entry
//!    (`<recordedAt>#<eventId>`) and hash; the verifier recomputes the root of every
//!    checkpoint's tree from them (starting from the frontier the API gives, which the
//!    first root check authenticates), so every leaf is proven included in a signed
//!    checkpoint without one request per event.
//! 3. **Events** (`GET /api/Audit?order=asc`, every page): each event recorded in the range
//!    has its leaf hash recomputed from its JSON ([`audit_ledger::leaf_hash_of_json`])
//!    and compared with its leaf: `verified` or `modified`; an event no leaf names is
//!    `unexpected` (unless it was recorded after the latest checkpoint's bucket: then it is
//!    counted as not sealed yet, not a finding); a leaf of the range whose event the API
//!    does not return is `missing`.
//! 4. With [`Options::proofs`], each verified event's own inclusion proof
//!    (`GET /api/Audit/{eventId}/proof`) is also checked against a verified checkpoint.
//!
//! The caller should be tenant-wide (no organization scope): events outside a scope are
//! not listed and would be reported missing.

pub mod http;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use audit_ledger::merkle::node_hash;
use audit_ledger::read::frontier_levels;
use audit_ledger::store::event_id_of_entry;
use audit_ledger::time::Timestamp;
use audit_ledger::wire::{CheckpointList, InclusionProof, LedgerEntries, LedgerKeys};
use audit_ledger::{
    leaf_hash_of_json, verify_consistency, verify_inclusion, Hash, SignedCheckpoint, VerifierKey,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Checkpoints asked for per page.
const CHECKPOINT_PAGE: u32 = 500;
/// Events asked for per page.
const EVENT_PAGE: u32 = 1000;
/// Proof requests in flight with [`Options::proofs`].
const PROOFS_IN_FLIGHT: usize = 8;
/// How far `occurredAt` may be after `recordedAt` (the ingest rule), to bound the listing.
const FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why verification could not run (as opposed to what it found).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The API could not be reached or answered an error.
    #[error("{path}: {message}")]
    Api {
        /// The request.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// No key to verify with.
    #[error("no verifier key: give --key (or --trust-served-key to use the one the API serves)")]
    NoKey,
    /// A bad key or argument.
    #[error("{0}")]
    Usage(String),
}

/// How the verifier reaches the API: one GET, answered with its status and body.
#[async_trait]
pub trait Transport: Send + Sync {
    /// GETs `path_and_query` (e.g. `/api/Audit?order=asc`).
    async fn get(&self, path_and_query: &str) -> Result<(u16, Vec<u8>), String>;
}

/// What to verify and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The verifier key; `None` only with [`Options::trust_served_key`].
    pub key: Option<VerifierKey>,
    /// Use the key `GET /api/Audit/ledger/keys` serves (only proves the API agrees with
    /// itself: a verifier should hold its own copy).
    pub trust_served_key: bool,
    /// Events recorded at or after this instant (default: from the first).
    pub from: Option<Timestamp>,
    /// Events recorded before this instant (default: up to the latest checkpoint).
    pub to: Option<Timestamp>,
    /// Also check each event's inclusion proof from the proof route.
    pub proofs: bool,
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Events whose leaf hash matches a leaf of a verified checkpoint.
    pub verified: u64,
    /// Events whose leaf hash differs from their leaf (ids).
    pub modified: Vec<String>,
    /// Sealed leaves of the range whose event the API does not return (event ids).
    pub missing: Vec<String>,
    /// Events of the range that no leaf names (ids).
    pub unexpected: Vec<String>,
    /// Checkpoints (sequence numbers) whose signature, chain link, consistency proof or
    /// root does not hold, with the reason.
    pub chain_broken: Vec<(u64, String)>,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// Leaves read.
    pub leaves: u64,
    /// Events recorded after the latest checkpoint's bucket (not sealed yet; no finding).
    pub not_sealed_yet: u64,
    /// Inclusion proofs checked with [`Options::proofs`].
    pub proofs_checked: u64,
}

impl Report {
    /// Whether anything was found.
    pub fn has_findings(&self) -> bool {
        !(self.modified.is_empty()
            && self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.chain_broken.is_empty())
    }

    /// The counts, one finding a line.
    pub fn summary(&self) -> String {
        format!(
            "verified {}\nmodified {}\nmissing {}\nunexpected {}\nchain broken {}\n(checkpoints {}, leaves {}, not sealed yet {}, proofs checked {})",
            self.verified,
            self.modified.len(),
            self.missing.len(),
            self.unexpected.len(),
            self.chain_broken.len(),
            self.checkpoints,
            self.leaves,
            self.not_sealed_yet,
            self.proofs_checked
        )
    }

    fn broken(&mut self, seq: u64, reason: impl Into<String>) {
        if !self.chain_broken.iter().any(|(s, _)| *s == seq) {
            self.chain_broken.push((seq, reason.into()));
        }
    }
}

/// Receives progress lines (the binary prints them on a terminal).
pub type Progress<'a> = &'a mut (dyn FnMut(&str) + Send);

async fn get_json<T: serde::de::DeserializeOwned>(
    transport: &dyn Transport,
    path: &str,
) -> Result<T, VerifyError> {
    let api = |message: String| VerifyError::Api {
        path: path.to_owned(),
        message,
    };
    let (status, body) = transport.get(path).await.map_err(api)?;
    if status != 200 {
        return Err(api(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        )));
    }
    serde_json::from_slice(&body).map_err(|e| api(format!("unreadable answer: {e}")))
}

fn query(pairs: &[(&str, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

fn hash64(text: &str) -> Option<Hash> {
    B64.decode(text).ok()?.try_into().ok()
}

/// A page of the listing, its events kept as the JSON the API served: they are hashed as
/// they are, as a third party would hash them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage {
    items: Vec<Value>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_token: Option<String>,
}

/// A verified checkpoint.
struct Verified {
    seq: u64,
    size: u64,
    root: Hash,
    note: Vec<u8>,
}

/// Roots of the perfect subtrees of the leaves so far, largest first: appending a leaf
/// merges equal levels, the root folds them right to left (RFC 6962's tree shape).
struct Frontier {
    size: u64,
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    fn new(size: u64, hashes: &[Hash]) -> Option<Self> {
        let levels = frontier_levels(size);
        (levels.len() == hashes.len()).then(|| Self {
            size,
            nodes: levels.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    fn push(&mut self, leaf: Hash) {
        let mut node = (0u8, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != node.0 {
                break;
            }
            self.nodes.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    fn root(&self) -> Option<Hash> {
        let mut iter = self.nodes.iter().rev();
        let mut acc = iter.next()?.1;
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        Some(acc)
    }
}

/// Runs every check (module documentation) and reports what it found.
pub async fn verify(
    transport: &dyn Transport,
    options: &Options,
    progress: Progress<'_>,
) -> Result<Report, VerifyError> {
    let key = match (&options.key, options.trust_served_key) {
        (Some(key), _) => key.clone(),
        (None, true) => {
            let served: LedgerKeys = get_json(transport, "/api/Audit/ledger/keys").await?;
            let text = served.keys.first().ok_or(VerifyError::NoKey)?;
            VerifierKey::parse(text).map_err(|e| VerifyError::Usage(format!("served key: {e}")))?
        }
        (None, false) => return Err(VerifyError::NoKey),
    };
    let mut report = Report::default();

    // 1. Checkpoints.
    let mut verified: Vec<Verified> = Vec::new();
    let mut previous: Option<SignedCheckpoint> = None;
    let mut first_index: Option<u64> = None;
    let mut token: Option<String> = None;
    loop {
        let mut pairs = vec![
            ("withProofs", "true".to_owned()),
            ("pageSize", CHECKPOINT_PAGE.to_string()),
        ];
        if let Some(from) = options.from {
            pairs.push(("rangeStart", from.to_key_string()));
        }
        if let Some(t) = &token {
            pairs.push(("nextToken", t.clone()));
        }
        let page: CheckpointList = get_json(
            transport,
            &format!("/api/Audit/checkpoints?{}", query(&pairs)),
        )
        .await?;
        for item in page.items {
            report.checkpoints += 1;
            first_index.get_or_insert(item.first_index);
            let opened = match SignedCheckpoint::open(item.note.as_bytes(), &key) {
                Ok(opened) => opened,
                Err(e) => {
                    report.broken(item.sequence, format!("signature: {e}"));
                    continue;
                }
            };
            let c = &opened.checkpoint;
            if c.seq != item.sequence || c.size != item.tree_size {
                report.broken(c.seq, "the listing's figures differ from the signed note");
            }
            match &previous {
                Some(prev) => {
                    if let Err(e) = prev.check_next(c) {
                        report.broken(c.seq, e.to_string());
                    }
                    let proof: Option<Vec<Hash>> = item
                        .consistency_proof
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|h| hash64(h))
                        .collect();
                    let consistent = proof.is_some_and(|proof| {
                        let p = &prev.checkpoint;
                        item.first_index == p.size
                            && verify_consistency(p.size, c.size, &proof, &p.root, &c.root).is_ok()
                    });
                    if !consistent {
                        report.broken(
                            c.seq,
                            format!(
                                "no valid consistency proof from checkpoint {}",
                                prev.checkpoint.seq
                            ),
                        );
                    }
                }
                None if options.from.is_none() && (c.seq != 0 || c.prev.is_some()) => {
                    report.broken(c.seq, "the first checkpoint is not sequence 0");
                }
                None => {}
            }
            verified.push(Verified {
                seq: c.seq,
                size: c.size,
                root: c.root,
                note: opened.as_bytes().to_vec(),
            });
            previous = Some(opened);
        }
        progress(&format!("checkpoints {}", report.checkpoints));
        match page.next_token {
            Some(t) if page.has_more => token = Some(t),
            _ => break,
        }
    }
    let Some(latest) = previous.as_ref() else {
        // Nothing sealed: every event of the range is either not sealed yet or unexpected.
        return events_against(
            transport,
            options,
            &mut report,
            &HashMap::new(),
            None,
            progress,
        )
        .await
        .map(|()| report);
    };
    let latest_size = latest.checkpoint.size;
    let sealed_until = latest.checkpoint.bucket_end;

    // 2. Leaves, checked against every verified checkpoint's root.
    let checks: BTreeMap<u64, (u64, Hash)> =
        verified.iter().map(|v| (v.size, (v.seq, v.root))).collect();
    let mut leaves: HashMap<String, (String, Hash)> = HashMap::new();
    let mut index = first_index.unwrap_or(0);
    let mut frontier: Option<Frontier> = None;
    let mut roots_trusted = true;
    let (from_key, to_key) = (
        options.from.map(|t| t.to_key_string()),
        options.to.map(|t| t.to_key_string()),
    );
    while index < latest_size {
        let run: LedgerEntries = get_json(
            transport,
            &format!("/api/Audit/ledger/entries?start={index}&end={latest_size}"),
        )
        .await?;
        if run.leaves.is_empty() {
            return Err(VerifyError::Api {
                path: format!("/api/Audit/ledger/entries?start={index}"),
                message: "no leaves where the checkpoints say there are".to_owned(),
            });
        }
        if frontier.is_none() {
            let hashes: Option<Vec<Hash>> = run.frontier.iter().map(|h| hash64(h)).collect();
            frontier = hashes.and_then(|h| Frontier::new(index, &h));
            if frontier.is_none() {
                return Err(VerifyError::Api {
                    path: format!("/api/Audit/ledger/entries?start={index}"),
                    message: "the frontier does not fit the start index".to_owned(),
                });
            }
        }
        for leaf in run.leaves {
            let hash = hash64(&leaf.leaf_hash).ok_or_else(|| VerifyError::Api {
                path: "/api/Audit/ledger/entries".to_owned(),
                message: format!("leaf {index} has no valid hash"),
            })?;
            if let Some(f) = frontier.as_mut() {
                f.push(hash);
                if let (Some((seq, root)), true) = (checks.get(&f.size), roots_trusted) {
                    if f.root().as_ref() != Some(root) {
                        report.broken(
                            *seq,
                            "its leaves do not hash to its root (entries or tiles altered)",
                        );
                        roots_trusted = false;
                    }
                }
            }
            let recorded_at = leaf.recorded_sk.split('#').next().unwrap_or_default();
            let in_range = from_key.as_deref().is_none_or(|f| recorded_at >= f)
                && to_key.as_deref().is_none_or(|t| recorded_at < t);
            if in_range {
                if let Some(id) = event_id_of_entry(&leaf.recorded_sk) {
                    leaves.insert(id.to_string(), (leaf.recorded_sk, hash));
                }
            }
            index += 1;
            report.leaves += 1;
        }
        progress(&format!("leaves {}/{}", index, latest_size));
    }

    // 3. and 4. Events.
    let proof_against = Some((&verified[..], sealed_until, &key));
    events_against(
        transport,
        options,
        &mut report,
        &leaves,
        proof_against,
        progress,
    )
    .await?;
    Ok(report)
}

type ProofContext<'a> = Option<(&'a [Verified], Timestamp, &'a VerifierKey)>;

/// Compares every listed event of the range with the leaves (step 3), and checks proofs
/// (step 4).
async fn events_against(
    transport: &dyn Transport,
    options: &Options,
    report: &mut Report,
    leaves: &HashMap<String, (String, Hash)>,
    sealed: ProofContext<'_>,
    progress: Progress<'_>,
) -> Result<(), VerifyError> {
    let sealed_until = sealed.map(|(_, until, _)| until);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut to_prove: Vec<(String, Hash)> = Vec::new();
    let mut token: Option<String> = None;
    let mut listed = 0u64;
    loop {
        let mut pairs = vec![
            ("order", "asc".to_owned()),
            ("pageSize", EVENT_PAGE.to_string()),
        ];
        if let Some(to) = options
            .to
            .and_then(|t| Timestamp::from_millis(t.millis() + FUTURE_SKEW_MS))
        {
            pairs.push(("rangeEnd", to.to_key_string()));
        }
        if let Some(t) = &token {
            pairs.push(("nextToken", t.clone()));
        }
        let page: RawPage = get_json(transport, &format!("/api/Audit?{}", query(&pairs))).await?;
        for json in page.items {
            listed += 1;
            let field = |name: &str| json.get(name).and_then(Value::as_str).unwrap_or_default();
            let (id, recorded_text) = (field("eventId").to_owned(), field("recordedAt"));
            let Ok(recorded) = Timestamp::parse_rfc3339("recordedAt", recorded_text) else {
                // Not an event as stored: nothing seals it.
                report.unexpected.push(id);
                continue;
            };
            if options.from.is_some_and(|f| recorded < f)
                || options.to.is_some_and(|t| recorded >= t)
            {
                continue;
            }
            seen.insert(id.clone());
            match leaves.get(&id) {
                Some((_, leaf)) => match leaf_hash_of_json(&json) {
                    Ok(h) if &h == leaf => {
                        report.verified += 1;
                        if options.proofs {
                            to_prove.push((id, h));
                        }
                    }
                    _ => report.modified.push(id),
                },
                None if sealed_until.is_none_or(|until| recorded >= until) => {
                    report.not_sealed_yet += 1;
                }
                None => report.unexpected.push(id),
            }
        }
        progress(&format!("events {listed}"));
        match page.next_token {
            Some(t) if page.has_more => token = Some(t),
            _ => break,
        }
    }
    for id in leaves.keys() {
        if !seen.contains(id) {
            report.missing.push(id.clone());
        }
    }
    report.missing.sort();
    if let Some((verified, _, key)) = sealed {
        check_proofs(transport, report, verified, key, to_prove).await?;
    }
    Ok(())
}

/// Step 4: each event's inclusion proof, against a checkpoint among the verified ones.
async fn check_proofs(
    transport: &dyn Transport,
    report: &mut Report,
    verified: &[Verified],
    key: &VerifierKey,
    events: Vec<(String, Hash)>,
) -> Result<(), VerifyError> {
    let notes: BTreeSet<&[u8]> = verified.iter().map(|v| v.note.as_slice()).collect();
    let notes = &notes;
    let results: Vec<(String, Result<bool, VerifyError>)> = futures::stream::iter(events)
        .map(|(id, leaf)| async move {
            let path = format!("/api/Audit/{id}/proof");
            let result = get_json::<InclusionProof>(transport, &path)
                .await
                .map(|proof| {
                    let Ok(opened) = SignedCheckpoint::open(proof.checkpoint.as_bytes(), key)
                    else {
                        return false;
                    };
                    let path: Option<Vec<Hash>> =
                        proof.audit_path.iter().map(|h| hash64(h)).collect();
                    notes.contains(proof.checkpoint.as_bytes())
                        && opened.checkpoint.size == proof.tree_size
                        && hash64(&proof.leaf_hash) == Some(leaf)
                        && path.is_some_and(|p| {
                            verify_inclusion(
                                &leaf,
                                proof.leaf_index,
                                proof.tree_size,
                                &p,
                                &opened.checkpoint.root,
                            )
                            .is_ok()
                        })
                });
            (id, result)
        })
        .buffer_unordered(PROOFS_IN_FLIGHT)
        .collect()
        .await;
    for (id, result) in results {
        report.proofs_checked += 1;
        if !result? {
            report.verified = report.verified.saturating_sub(1);
            report.modified.push(id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_ledger::merkle::{leaf_hash, root, Leaves};

    #[test]
    fn the_frontier_recomputes_every_root_from_any_start() {
        let hashes: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for start in [0u64, 1, 5, 8, 255, 256, 257] {
            let nodes: Vec<Hash> = {
                let mut offset = 0u64;
                frontier_levels(start)
                    .into_iter()
                    .map(|level| {
                        let from = offset as usize;
                        offset += 1u64 << level;
                        root(&Leaves(&hashes[from..offset as usize]), 1u64 << level).unwrap()
                    })
                    .collect()
            };
            let mut f = Frontier::new(start, &nodes).unwrap();
            for (i, h) in hashes.iter().enumerate().skip(start as usize) {
                f.push(*h);
                assert_eq!(
                    f.root().unwrap(),
                    root(&Leaves(&hashes), i as u64 + 1).unwrap(),
                    "start {start}, size {}",
                    i + 1
                );
            }
        }
    }
}
