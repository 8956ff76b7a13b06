//! The tree stored as C2SP tlog-tiles: bounded reads for appends, roots and proofs.
//!
//! A tile of height 8 at level `L` and index `N` holds up to 256 consecutive hashes of
//! tree level `8L`, starting at node `256 N` of that level: level 0 holds leaf hashes,
//! level 1 the roots of full level-0 tiles, and so on. A tile holding fewer than 256
//! hashes is *partial* and carries its width `W`. Its bytes are the hashes concatenated
//! (`32 W` bytes) and its path is `tile/<L>/<N>[.p/<W>]`, `N` written in groups of three
//! digits of which all but the last start with `x` (`1234067` -> `x001/x234/067`).
//!
//! Every helper comes in two phases so that storage reads stay bounded and are known
//! before they are done: first the coordinates to read ([`tiles_for_append`],
//! [`tiles_for_root`], [`tiles_for_inclusion`], [`tiles_for_consistency`]), then the
//! computation from a [`TileSet`] holding them ([`append`], [`root_from_tiles`],
//! [`inclusion_proof_from_tiles`], [`consistency_proof_from_tiles`]). A stored tile wider
//! than the one asked for (the full tile, or a later partial one) serves as well: appends
//! only ever extend a tile, so its first `W` hashes never change.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use thiserror::Error;

use super::merkle::{self, perfect_root, Hash, NodeSource, ProofError, HASH_SIZE};

/// Tile height: each tile spans 8 tree levels.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile (`2^TILE_HEIGHT`).
pub const TILE_WIDTH: u16 = 256;

/// Why tiles could not be read, parsed or combined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TileError {
    /// A tile that the computation needs was not supplied, or was narrower than needed.
    #[error("tile {0} is missing")]
    Missing(TileId),
    /// A tile's bytes are not `32 * width` long.
    #[error("tile {id} has {len} bytes, expected {}", usize::from(id.width) * HASH_SIZE)]
    BadLength {
        /// The tile.
        id: TileId,
        /// The byte length found.
        len: usize,
    },
    /// A tile path does not follow `tile/<L>/<N>[.p/<W>]`.
    #[error("'{0}' is not a tile path")]
    BadPath(String),
    /// The tree would grow past 2^64 leaves.
    #[error("the tree size overflows")]
    Overflow,
    /// A proof could not be computed.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// A tile's coordinates: level, index and width (1 to 256; 256 is a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    /// Tile level `L`: its hashes are tree level `8 L`.
    pub level: u8,
    /// Tile index `N` within its level.
    pub index: u64,
    /// Number of hashes, 1 to 256.
    pub width: u16,
}

impl TileId {
    /// Whether the tile holds all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile's C2SP path, `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut path = format!("tile/{}", self.level);
        for (i, g) in groups.iter().enumerate().rev() {
            if i == 0 {
                path.push_str(&format!("/{g:03}"));
            } else {
                path.push_str(&format!("/x{g:03}"));
            }
        }
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a path made by [`TileId::path`].
    pub fn parse_path(path: &str) -> Result<Self, TileError> {
        let bad = || TileError::BadPath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (rest, width) = match rest.split_once(".p/") {
            Some((head, w)) => (head, parse_decimal(w).ok_or_else(bad)?),
            None => (rest, u64::from(TILE_WIDTH)),
        };
        if width == 0 || width >= u64::from(TILE_WIDTH) && path.contains(".p/") {
            return Err(bad());
        }
        let mut parts = rest.split('/');
        let level = parts.next().and_then(parse_decimal).ok_or_else(bad)?;
        let groups: Vec<&str> = parts.collect();
        let (last, front) = groups.split_last().ok_or_else(bad)?;
        let mut index: u64 = 0;
        for g in front {
            let digits = g.strip_prefix('x').ok_or_else(bad)?;
            index = push_group(index, digits).ok_or_else(bad)?;
        }
        index = push_group(index, last).ok_or_else(bad)?;
        let id = TileId {
            level: u8::try_from(level).map_err(|_| bad())?,
            index,
            width: u16::try_from(width).map_err(|_| bad())?,
        };
        if id.path() != path {
            return Err(bad());
        }
        Ok(id)
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn push_group(index: u64, digits: &str) -> Option<u64> {
    if digits.len() != 3 {
        return None;
    }
    index.checked_mul(1000)?.checked_add(parse_decimal(digits)?)
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A tile: its coordinates and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// Where the tile sits.
    pub id: TileId,
    /// Its `width` hashes, left to right.
    pub hashes: Vec<Hash>,
}

impl Tile {
    /// The stored form: the hashes concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    /// Reads the stored form of the tile `id`.
    pub fn from_bytes(id: TileId, bytes: &[u8]) -> Result<Self, TileError> {
        if bytes.len() != usize::from(id.width) * HASH_SIZE {
            return Err(TileError::BadLength {
                id,
                len: bytes.len(),
            });
        }
        let hashes = bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; HASH_SIZE];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { id, hashes })
    }
}

/// The tiles at hand, by level and index; the widest kept when one is given twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileSet {
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl TileSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tile (kept only if wider than the one already held at its coordinates).
    pub fn insert(&mut self, tile: Tile) {
        let key = (tile.id.level, tile.id.index);
        match self.tiles.get(&key) {
            Some(held) if held.len() >= tile.hashes.len() => {}
            _ => {
                self.tiles.insert(key, tile.hashes);
            }
        }
    }

    /// Adds a tile from its stored bytes.
    pub fn insert_bytes(&mut self, id: TileId, bytes: &[u8]) -> Result<(), TileError> {
        self.insert(Tile::from_bytes(id, bytes)?);
        Ok(())
    }

    /// Whether the set holds `id` (or a wider tile at its coordinates).
    pub fn covers(&self, id: &TileId) -> bool {
        self.tiles
            .get(&(id.level, id.index))
            .is_some_and(|h| h.len() >= usize::from(id.width))
    }

    fn first(&self, id: &TileId) -> Result<&[Hash], TileError> {
        match self.tiles.get(&(id.level, id.index)) {
            Some(h) if h.len() >= usize::from(id.width) => Ok(&h[..usize::from(id.width)]),
            _ => Err(TileError::Missing(*id)),
        }
    }
}

impl NodeSource for TileSet {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let missing = ProofError::MissingNode { level, index };
        let (tile_level, sub) = (
            u32::from(level) / TILE_HEIGHT,
            u32::from(level) % TILE_HEIGHT,
        );
        let first = index.checked_shl(sub).ok_or(missing.clone())?;
        let offset = (first % u64::from(TILE_WIDTH)) as usize;
        let count = 1usize << sub;
        let hashes = self
            .tiles
            .get(&(tile_level as u8, first / u64::from(TILE_WIDTH)))
            .ok_or(missing.clone())?;
        let run = hashes.get(offset..offset + count).ok_or(missing)?;
        Ok(perfect_root(run))
    }
}

/// Nodes of tree level `8 L` in a tree of `size` leaves.
fn count_at(size: u64, tile_level: u32) -> u64 {
    size.checked_shr(tile_level * TILE_HEIGHT).unwrap_or(0)
}

/// The tile holding node `index` of tile level `tile_level`, as wide as the tree of
/// `size` leaves makes it.
fn tile_for(size: u64, tile_level: u32, index: u64) -> TileId {
    let n = index / u64::from(TILE_WIDTH);
    let width = count_at(size, tile_level)
        .saturating_sub(n * u64::from(TILE_WIDTH))
        .min(u64::from(TILE_WIDTH)) as u16;
    TileId {
        level: tile_level as u8,
        index: n,
        width,
    }
}

/// The partial tiles on the right edge of the tree of `size` leaves, one per level that
/// has one. These are all that [`append`] reads.
pub fn tiles_for_append(size: u64) -> Vec<TileId> {
    let mut ids = Vec::new();
    let mut tile_level = 0;
    loop {
        let count = count_at(size, tile_level);
        if count == 0 {
            break;
        }
        if !count.is_multiple_of(u64::from(TILE_WIDTH)) {
            ids.push(tile_for(size, tile_level, count - 1));
        }
        tile_level += 1;
    }
    ids
}

/// What an append produces: the new tree's size and root, and every tile to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The tree size before.
    pub old_size: u64,
    /// The tree size after.
    pub new_size: u64,
    /// The root of the new tree.
    pub root: Hash,
    /// Every tile that changed, full or partial, lowest level first. A partial tile has a
    /// new path for each width, so nothing already stored is overwritten.
    pub tiles: Vec<Tile>,
}

/// Appends `leaves` (leaf hashes, in order) to the tree of `old_size` leaves. `edge` must
/// hold the tiles [`tiles_for_append`]`(old_size)` lists; nothing else is read.
pub fn append(old_size: u64, edge: &TileSet, leaves: &[Hash]) -> Result<Appended, TileError> {
    let new_size = old_size
        .checked_add(leaves.len() as u64)
        .ok_or(TileError::Overflow)?;
    let mut known = TileSet::new();
    for id in tiles_for_append(old_size) {
        known.insert(Tile {
            id,
            hashes: edge.first(&id)?.to_vec(),
        });
    }
    let mut written = Vec::new();
    // The nodes this append adds to tree level 8 L, left to right.
    let mut added: Vec<Hash> = leaves.to_vec();
    let mut tile_level = 0u32;
    while !added.is_empty() {
        let old_count = count_at(old_size, tile_level);
        let first_tile = old_count / u64::from(TILE_WIDTH);
        let kept = (old_count % u64::from(TILE_WIDTH)) as u16;
        let mut row: Vec<Hash> = if kept > 0 {
            let id = TileId {
                level: tile_level as u8,
                index: first_tile,
                width: kept,
            };
            known.first(&id)?.to_vec()
        } else {
            Vec::new()
        };
        row.extend_from_slice(&added);
        let mut next = Vec::new();
        for (i, chunk) in row.chunks(usize::from(TILE_WIDTH)).enumerate() {
            let tile = Tile {
                id: TileId {
                    level: tile_level as u8,
                    index: first_tile + i as u64,
                    width: chunk.len() as u16,
                },
                hashes: chunk.to_vec(),
            };
            if tile.id.is_full() {
                next.push(perfect_root(chunk));
            }
            known.insert(tile.clone());
            written.push(tile);
        }
        added = next;
        tile_level += 1;
    }
    let root = merkle::root(&known, new_size)?;
    Ok(Appended {
        old_size,
        new_size,
        root,
        tiles: written,
    })
}

/// A [`NodeSource`] that answers with a placeholder and records the tile each node
/// lives in: running a proof over it lists the reads the real one needs, because which
/// nodes a proof visits depends on the sizes and indices only, never on the hashes.
struct Recorder {
    size: u64,
    needed: RefCell<BTreeSet<TileId>>,
}

impl NodeSource for Recorder {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let (tile_level, sub) = (
            u32::from(level) / TILE_HEIGHT,
            u32::from(level) % TILE_HEIGHT,
        );
        let last = index
            .checked_add(1)
            .and_then(|i| i.checked_shl(sub))
            .map(|i| i - 1)
            .ok_or(ProofError::MissingNode { level, index })?;
        self.needed
            .borrow_mut()
            .insert(tile_for(self.size, tile_level, last));
        Ok([0u8; 32])
    }
}

fn record(
    size: u64,
    run: impl FnOnce(&Recorder) -> Result<(), ProofError>,
) -> Result<Vec<TileId>, TileError> {
    let recorder = Recorder {
        size,
        needed: RefCell::new(BTreeSet::new()),
    };
    run(&recorder)?;
    Ok(recorder.needed.into_inner().into_iter().collect())
}

/// The tiles [`root_from_tiles`] needs for the tree of `size` leaves.
pub fn tiles_for_root(size: u64) -> Vec<TileId> {
    record(size, |r| merkle::root(r, size).map(|_| ())).unwrap_or_default()
}

/// The root of the tree of `size` leaves from the tiles [`tiles_for_root`] lists.
pub fn root_from_tiles(tiles: &TileSet, size: u64) -> Result<Hash, TileError> {
    Ok(merkle::root(tiles, size)?)
}

/// The tiles [`inclusion_proof_from_tiles`] needs.
pub fn tiles_for_inclusion(index: u64, size: u64) -> Result<Vec<TileId>, TileError> {
    record(size, |r| {
        merkle::inclusion_proof(r, index, size).map(|_| ())
    })
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1),
/// from the tiles [`tiles_for_inclusion`] lists.
pub fn inclusion_proof_from_tiles(
    tiles: &TileSet,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, TileError> {
    Ok(merkle::inclusion_proof(tiles, index, size)?)
}

/// The tiles [`consistency_proof_from_tiles`] needs.
pub fn tiles_for_consistency(old: u64, new: u64) -> Result<Vec<TileId>, TileError> {
    record(new, |r| merkle::consistency_proof(r, old, new).map(|_| ()))
}

/// The consistency proof from size `old` to size `new` (RFC 9162 §2.1.4.1), from the
/// tiles [`tiles_for_consistency`] lists.
pub fn consistency_proof_from_tiles(
    tiles: &TileSet,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, TileError> {
    Ok(merkle::consistency_proof(tiles, old, new)?)
}

#[cfg(test)]
mod tests {
    use super::super::merkle::{leaf_hash, Leaves};
    use super::*;
    use std::collections::HashMap;

    fn id(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        assert_eq!(id(0, 0, 256).path(), "tile/0/000");
        assert_eq!(id(0, 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(id(2, 1000, 8).path(), "tile/2/x001/000.p/8");
        assert_eq!(id(1, 5, 255).path(), "tile/1/005.p/255");
        for t in [
            id(0, 0, 256),
            id(0, 1234067, 17),
            id(3, 999, 1),
            id(1, 1000, 256),
        ] {
            assert_eq!(TileId::parse_path(&t.path()), Ok(t));
        }
        for bad in [
            "tile/0/1",
            "tile/0/x000",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/000/001",
            "tile/0/x000/001",
            "tiles/0/000",
            "tile/0/000.p/07",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_tile_with_the_wrong_byte_length_is_refused() {
        assert_eq!(
            Tile::from_bytes(id(0, 0, 2), &[0u8; 63]),
            Err(TileError::BadLength {
                id: id(0, 0, 2),
                len: 63
            })
        );
        assert!(Tile::from_bytes(id(0, 0, 2), &[0u8; 64]).is_ok());
    }

    #[test]
    fn the_right_edge_lists_one_partial_tile_per_level_that_has_one() {
        assert_eq!(tiles_for_append(0), vec![]);
        assert_eq!(tiles_for_append(256), vec![id(1, 0, 1)]);
        assert_eq!(tiles_for_append(257), vec![id(0, 1, 1), id(1, 0, 1)]);
        assert_eq!(tiles_for_append(65536), vec![id(2, 0, 1)]);
        assert_eq!(
            tiles_for_append(65536 + 256 * 3 + 7),
            vec![id(0, 259, 7), id(1, 1, 3), id(2, 0, 1)]
        );
    }

    /// Storage keyed by path, as the sealer's will be: it only ever sees what `append`
    /// lists and writes, and answers reads of the exact path asked for.
    #[derive(Default)]
    struct Store(HashMap<String, Vec<u8>>);

    impl Store {
        fn read(&self, ids: &[TileId]) -> TileSet {
            let mut set = TileSet::new();
            for id in ids {
                let bytes = self.0.get(&id.path()).unwrap_or_else(|| panic!("{id}"));
                set.insert_bytes(*id, bytes).unwrap();
            }
            set
        }
    }

    #[test]
    fn appends_in_uneven_batches_give_the_reference_roots_and_proofs() {
        let total = 65536 + 256 * 3 + 40;
        let leaves: Vec<Hash> = (0..total as u64)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let reference = Leaves(&leaves);
        let mut store = Store::default();
        let mut size = 0u64;
        let mut checked = Vec::new();
        for batch in [1usize, 254, 1, 1, 300, 65000, 1000, 255, 1] {
            let edge = store.read(&tiles_for_append(size));
            let batch = batch.min(total - size as usize);
            if batch == 0 {
                break;
            }
            let out = append(size, &edge, &leaves[size as usize..size as usize + batch]).unwrap();
            for t in &out.tiles {
                store.0.insert(t.id.path(), t.to_bytes());
            }
            assert_eq!(out.new_size, size + batch as u64);
            assert_eq!(
                out.root,
                merkle::root(&reference, out.new_size).unwrap(),
                "root at {}",
                out.new_size
            );
            let new = out.new_size;
            assert_eq!(
                root_from_tiles(&store.read(&tiles_for_root(new)), new),
                Ok(out.root)
            );
            for i in [0, size.min(new - 1), new / 2, new - 1] {
                let needed = tiles_for_inclusion(i, new).unwrap();
                assert!(needed.len() <= 2 * 3, "{needed:?}");
                let got = inclusion_proof_from_tiles(&store.read(&needed), i, new).unwrap();
                assert_eq!(got, merkle::inclusion_proof(&reference, i, new).unwrap());
            }
            for old in [1, size, new / 3] {
                if old == 0 || old > new {
                    continue;
                }
                let needed = tiles_for_consistency(old, new).unwrap();
                let got = consistency_proof_from_tiles(&store.read(&needed), old, new).unwrap();
                assert_eq!(
                    got,
                    merkle::consistency_proof(&reference, old, new).unwrap()
                );
            }
            checked.push(new);
            size = new;
        }
        assert_eq!(size as usize, total);
        // Old tree sizes stay provable from the tiles written for them.
        for &n in &checked {
            let got =
                inclusion_proof_from_tiles(&store.read(&tiles_for_inclusion(0, n).unwrap()), 0, n);
            assert_eq!(
                got.unwrap(),
                merkle::inclusion_proof(&reference, 0, n).unwrap()
            );
        }
    }

    #[test]
    fn an_append_without_its_edge_tiles_is_refused() {
        let leaves: Vec<Hash> = (0..3u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let first = append(0, &TileSet::new(), &leaves).unwrap();
        assert_eq!(first.tiles.len(), 1);
        assert_eq!(
            append(3, &TileSet::new(), &leaves),
            Err(TileError::Missing(id(0, 0, 3)))
        );
        let mut narrow = TileSet::new();
        narrow.insert(Tile {
            id: id(0, 0, 2),
            hashes: leaves[..2].to_vec(),
        });
        assert!(append(3, &narrow, &leaves).is_err());
    }

    #[test]
    fn an_empty_append_writes_nothing_and_keeps_the_root() {
        let leaves: Vec<Hash> = (0..5u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let first = append(0, &TileSet::new(), &leaves).unwrap();
        let mut edge = TileSet::new();
        for t in first.tiles {
            edge.insert(t);
        }
        let again = append(5, &edge, &[]).unwrap();
        assert!(again.tiles.is_empty());
        assert_eq!(again.root, first.root);
    }
}
