//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//!
//! Leaf hash `SHA-256(0x00 || data)`, node hash `SHA-256(0x01 || left || right)`, the tree
//! hash of `n` leaves split at the largest power of two below `n` (RFC 9162 §2.1.1). Proofs
//! are built over a [`NodeSource`], which only ever has to answer for *perfect* subtrees
//! (`2^level` leaves starting at `index * 2^level`): that is what the tiles store, and what
//! lets [`crate::ledger::tiles`] list the reads a proof needs before doing them.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 hash: leaf, node or root.
pub type Hash = [u8; 32];

/// Size of a [`Hash`] in bytes.
pub const HASH_SIZE: usize = 32;

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Why a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one, or from or to size 0 where
    /// the proof is not defined.
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The older (first) size.
        old: u64,
        /// The newer (second) size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("the proof has the wrong length")]
    WrongLength,
    /// The proof is well formed but the hashes it leads to are not the expected ones.
    #[error("the proof does not lead to the expected root")]
    Mismatch,
    /// The node source could not give a hash the proof needs.
    #[error("missing node at level {level}, index {index}")]
    MissingNode {
        /// Level of the node (0: leaves).
        level: u8,
        /// Index of the node within its level.
        index: u64,
    },
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Hashes of perfect subtrees: the node at `level` and `index` is the root of the
/// `2^level` leaves starting at leaf `index * 2^level`.
pub trait NodeSource {
    /// The hash of that perfect subtree; [`ProofError::MissingNode`] when not available.
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

/// A [`NodeSource`] over every leaf hash of a tree, held in memory: the reference the
/// tile-based source is tested against, and enough for small trees.
#[derive(Debug, Clone, Copy)]
pub struct Leaves<'a>(pub &'a [Hash]);

impl NodeSource for Leaves<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let missing = ProofError::MissingNode { level, index };
        let width = 1u64.checked_shl(u32::from(level)).ok_or(missing.clone())?;
        let start = index.checked_mul(width).ok_or(missing.clone())?;
        let end = start.checked_add(width).ok_or(missing.clone())?;
        if end > self.0.len() as u64 {
            return Err(missing);
        }
        Ok(perfect_root(&self.0[start as usize..end as usize]))
    }
}

/// Root of a perfect run of leaf hashes (a power of two of them).
pub(crate) fn perfect_root(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level.first().copied().unwrap_or(EMPTY_ROOT)
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Tree hash of leaves `[start, start + len)`, `start` aligned as RFC 6962's recursion
/// makes it: a perfect subtree is read in one call, anything else splits.
fn subtree(src: &dyn NodeSource, start: u64, len: u64) -> Result<Hash, ProofError> {
    if len.is_power_of_two() {
        let level = len.trailing_zeros() as u8;
        return src.node(level, start >> level);
    }
    let k = split(len);
    let left = subtree(src, start, k)?;
    let right = subtree(src, start + k, len - k)?;
    Ok(node_hash(&left, &right))
}

/// The root hash of the tree of the first `size` leaves.
pub fn root(src: &dyn NodeSource, size: u64) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    subtree(src, 0, size)
}

/// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in the tree of
/// `size` leaves, leaf side first.
pub fn inclusion_proof(
    src: &dyn NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::new();
    path_into(src, index, 0, size, &mut path)?;
    Ok(path)
}

/// PATH(m, D[start:start+len]), appended in RFC order (deepest first).
fn path_into(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    len: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    if len <= 1 {
        return Ok(());
    }
    let k = split(len);
    if m < k {
        path_into(src, m, start, k, out)?;
        out.push(subtree(src, start + k, len - k)?);
    } else {
        path_into(src, m - k, start + k, len - k, out)?;
        out.push(subtree(src, start, k)?);
    }
    Ok(())
}

/// The consistency proof (RFC 9162 §2.1.4.1) from the tree of `old` leaves to the tree of
/// `new` leaves. Empty when `old == new` or `old == 0`, where nothing needs proving.
pub fn consistency_proof(
    src: &dyn NodeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    let mut proof = Vec::new();
    if old == 0 || old == new {
        return Ok(proof);
    }
    subproof_into(src, old, 0, new, true, &mut proof)?;
    Ok(proof)
}

/// SUBPROOF(m, D[start:start+len], b), appended in RFC order.
fn subproof_into(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    len: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    if m == len {
        if !complete {
            out.push(subtree(src, start, len)?);
        }
        return Ok(());
    }
    let k = split(len);
    if m <= k {
        subproof_into(src, m, start, k, complete, out)?;
        out.push(subtree(src, start + k, len - k)?);
    } else {
        subproof_into(src, m - k, start + k, len - k, false, out)?;
        out.push(subtree(src, start, k)?);
    }
    Ok(())
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2): that `leaf` is leaf `index` of the
/// tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old` leaves with
/// root `old_root` is a prefix of the tree of `new` leaves with root `new_root`. Equal
/// sizes need an empty proof and equal roots; size 0 needs an empty proof.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if old == new && old_root != new_root {
            return Err(ProofError::Mismatch);
        }
        return Ok(());
    }
    // Step 1: an empty path proves nothing between different sizes.
    let Some(first) = proof.first() else {
        return Err(ProofError::WrongLength);
    };
    // Step 2: when `old` is a power of two its root is the path's implicit first element.
    let (seed, rest) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, &proof[1..])
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// RFC 6962's MTH straight from its definition, with no node source.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn the_empty_root_is_the_hash_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(root(&Leaves(&[]), 0), Ok(EMPTY_ROOT));
    }

    #[test]
    fn roots_from_perfect_subtrees_match_the_recursive_definition() {
        for n in 1..70u64 {
            let leaves = tree(n);
            assert_eq!(root(&Leaves(&leaves), n), Ok(mth(&leaves)), "size {n}");
        }
    }

    #[test]
    fn every_inclusion_proof_of_small_trees_verifies_and_a_wrong_one_does_not() {
        for n in 1..40u64 {
            let leaves = tree(n);
            let r = mth(&leaves);
            for i in 0..n {
                let proof = inclusion_proof(&Leaves(&leaves), i, n).unwrap();
                let leaf = leaves[i as usize];
                assert_eq!(verify_inclusion(&leaf, i, n, &proof, &r), Ok(()), "{i}/{n}");
                let other = leaf_hash(b"other");
                assert!(verify_inclusion(&other, i, n, &proof, &r).is_err());
                if i + 1 < n {
                    assert!(verify_inclusion(&leaf, i + 1, n, &proof, &r).is_err());
                }
                let mut longer = proof.clone();
                longer.push(r);
                assert!(verify_inclusion(&leaf, i, n, &longer, &r).is_err());
                if !proof.is_empty() {
                    let mut flipped = proof.clone();
                    flipped[0][0] ^= 1;
                    assert!(verify_inclusion(&leaf, i, n, &flipped, &r).is_err());
                    assert!(verify_inclusion(&leaf, i, n, &proof[1..], &r).is_err());
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_of_small_trees_verifies_and_a_wrong_one_does_not() {
        for n in 1..40u64 {
            let leaves = tree(n);
            let new_root = mth(&leaves);
            for m in 0..=n {
                let old_root = mth(&leaves[..m as usize]);
                let proof = consistency_proof(&Leaves(&leaves), m, n).unwrap();
                assert_eq!(
                    verify_consistency(m, n, &proof, &old_root, &new_root),
                    Ok(()),
                    "{m}->{n}"
                );
                if m > 0 && m < n {
                    assert!(verify_consistency(m, n, &proof, &new_root, &new_root).is_err());
                    assert!(verify_consistency(m, n, &[], &old_root, &new_root).is_err());
                    let mut flipped = proof.clone();
                    flipped[proof.len() - 1][0] ^= 1;
                    assert!(verify_consistency(m, n, &flipped, &old_root, &new_root).is_err());
                    if m + 1 < n {
                        let next = mth(&leaves[..(m + 1) as usize]);
                        assert!(verify_consistency(m + 1, n, &proof, &next, &new_root).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn a_consistency_proof_backwards_is_refused() {
        let leaves = tree(4);
        assert_eq!(
            consistency_proof(&Leaves(&leaves), 3, 2),
            Err(ProofError::BadSizes { old: 3, new: 2 })
        );
        assert!(verify_consistency(3, 2, &[], &EMPTY_ROOT, &EMPTY_ROOT).is_err());
    }

    #[test]
    fn a_proof_for_a_leaf_outside_the_tree_is_refused() {
        let leaves = tree(4);
        assert_eq!(
            inclusion_proof(&Leaves(&leaves), 4, 4),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert!(verify_inclusion(&leaves[0], 4, 4, &[], &EMPTY_ROOT).is_err());
    }
}
