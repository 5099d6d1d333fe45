//! The stored Merkle tree, kept sparse: of its complete nodes only every
//! eighth level is stored, as the tlog-tiles layout does. Level 0 is the
//! entries' own leaf hashes (`audit_entries.leaf_hash` by seq); levels 8,
//! 16, 24, ... are rows of `audit_nodes`. A node between them is hashed
//! from the at most 128 stored nodes below it, read a 256-node block at a
//! time. Storing every level cost 1.5 KB a firearm (ten nodes for its five
//! entries) and was a seventh of what a bulk import writes; a proof now
//! reads one block per stored level instead of one row per node.

use std::cell::RefCell;
use std::collections::HashMap;

use super::merkle::{node_hash, Hash, Nodes};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};

/// Levels between two stored ones; a block is `1 << STRIDE` stored nodes,
/// the width of a tile, so a hash tile is one block.
pub const STRIDE: u32 = 8;
const BLOCK: u64 = 1 << STRIDE;

/// Whether the sequencer stores a complete node at `level`: level 0 is
/// stored already, as the entries' leaf hashes.
pub fn is_stored(level: u32) -> bool {
    level > 0 && level.is_multiple_of(STRIDE)
}

pub fn parse_hash(hex_text: &str) -> AppResult<Hash> {
    hex::decode(hex_text)
        .ok()
        .and_then(|b| Hash::try_from(b).ok())
        .ok_or_else(|| AppError::internal("a stored hash is not 32 bytes of hex"))
}

/// The stored hashes of `count` consecutive complete nodes at a stored
/// `level` (0 or a multiple of [`STRIDE`]), from `first`, in order.
pub fn stored(conn: &mut DbConn, level: u32, first: u64, count: u64) -> AppResult<Vec<Hash>> {
    let texts = if level == 0 {
        db::audit::leaf_hashes(conn, first as i64, count as i64)?
    } else {
        db::audit::nodes_at(conn, level as i32, first as i64, count as i64)?
    };
    texts.iter().map(|t| parse_hash(t)).collect()
}

/// Where the stored levels are read from: the database, or a tree in
/// memory in the tests.
pub trait Stored {
    fn read(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, String>;
}

pub struct Database<'a>(RefCell<&'a mut DbConn>);

impl Stored for Database<'_> {
    fn read(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, String> {
        stored(&mut self.0.borrow_mut(), level, first, count).map_err(|e| e.to_string())
    }
}

/// Every node of the tree from its stored levels, preferring ones just
/// computed (the sequencer's, not yet stored) and keeping the blocks it
/// has read.
pub struct Sparse<S> {
    source: S,
    fresh: HashMap<(u32, u64), Hash>,
    blocks: RefCell<HashMap<(u32, u64), Vec<Hash>>>,
}

/// The stored tree, read from the database.
pub type StoredNodes<'a> = Sparse<Database<'a>>;

impl<'a> StoredNodes<'a> {
    pub fn new(conn: &'a mut DbConn) -> Self {
        Sparse::over(Database(RefCell::new(conn)))
    }
}

impl<S: Stored> Sparse<S> {
    pub fn over(source: S) -> Self {
        Self {
            source,
            fresh: HashMap::new(),
            blocks: RefCell::new(HashMap::new()),
        }
    }

    pub fn add_fresh(&mut self, level: u32, index: u64, hash: Hash) {
        self.fresh.insert((level, index), hash);
    }

    /// The stored nodes of block `block` at stored level `base`: fewer
    /// than a block where the tree ends inside it.
    fn with_block<T>(
        &self,
        base: u32,
        block: u64,
        f: impl FnOnce(&[Hash]) -> T,
    ) -> Result<T, String> {
        if let Some(hashes) = self.blocks.borrow().get(&(base, block)) {
            return Ok(f(hashes));
        }
        let hashes = self.source.read(base, block * BLOCK, BLOCK)?;
        let out = f(&hashes);
        self.blocks.borrow_mut().insert((base, block), hashes);
        Ok(out)
    }
}

/// Hashes `hashes` (a power of two of them) up to their one root.
fn fold(hashes: &[Hash]) -> Hash {
    let mut row = hashes.to_vec();
    while row.len() > 1 {
        row = row
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    row[0]
}

impl<S: Stored> Nodes for Sparse<S> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        if let Some(h) = self.fresh.get(&(level, index)) {
            return Ok(*h);
        }
        let above = level % STRIDE;
        let base = level - above;
        let (first, width) = (index << above, 1u64 << above);
        let block = first / BLOCK;
        let offset = (first % BLOCK) as usize;
        self.with_block(base, block, |hashes| {
            hashes.get(offset..offset + width as usize).map(fold)
        })?
        .ok_or_else(|| format!("tree node ({level}, {index}) is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::{self, MemoryTree};

    /// The stored levels of a whole tree in memory, counting reads.
    struct Levels(MemoryTree, RefCell<usize>);

    impl Stored for Levels {
        fn read(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, String> {
            assert!(level == 0 || is_stored(level), "read level {level}");
            *self.1.borrow_mut() += 1;
            Ok((first..first + count)
                .map_while(|i| self.0.node(level, i).ok())
                .collect())
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect()
    }

    /// Past 65,536 leaves the tree has stored nodes at levels 8 and 16;
    /// every root and proof read through them is the whole tree's.
    #[test]
    fn the_sparse_tree_answers_what_the_whole_tree_does() {
        let whole = MemoryTree::new(leaves(70_001));
        let sparse = Sparse::over(Levels(MemoryTree::new(leaves(70_001)), RefCell::new(0)));
        for size in [1, 2, 255, 256, 257, 65_535, 65_536, 65_537, 70_001] {
            assert_eq!(
                merkle::root(&sparse, size),
                merkle::root(&whole, size),
                "{size}"
            );
        }
        for (seq, size) in [
            (0, 1),
            (255, 256),
            (256, 70_001),
            (65_536, 70_000),
            (69_999, 70_001),
        ] {
            assert_eq!(
                merkle::inclusion_proof(&sparse, seq, size),
                merkle::inclusion_proof(&whole, seq, size),
                "{seq} in {size}"
            );
        }
        for (old, size) in [(1, 300), (256, 65_537), (70_000, 70_001)] {
            assert_eq!(
                merkle::consistency_proof(&sparse, old, size),
                merkle::consistency_proof(&whole, old, size),
                "{old} to {size}"
            );
        }
        // Blocks are read once and kept.
        let reads = *sparse.source.1.borrow();
        merkle::root(&sparse, 70_001).expect("root");
        assert_eq!(*sparse.source.1.borrow(), reads);
    }

    #[test]
    fn a_node_beyond_the_stored_tree_is_missing_not_guessed() {
        let sparse = Sparse::over(Levels(MemoryTree::new(leaves(300)), RefCell::new(0)));
        assert!(sparse.node(3, 37).is_err());
        assert!(sparse.node(8, 1).is_err());
        assert!(sparse.node(2, 74).is_ok());
    }

    #[test]
    fn only_every_eighth_level_above_the_leaves_is_stored() {
        let stored: Vec<u32> = (0..40).filter(|l| is_stored(*l)).collect();
        assert_eq!(stored, vec![8, 16, 24, 32]);
    }

    #[test]
    fn fold_hashes_pairs_level_by_level() {
        let leaves: Vec<Hash> = (0..4u8).map(|i| [i; 32]).collect();
        let expected = node_hash(
            &node_hash(&leaves[0], &leaves[1]),
            &node_hash(&leaves[2], &leaves[3]),
        );
        assert_eq!(fold(&leaves), expected);
        assert_eq!(fold(&leaves[..1]), leaves[0]);
    }
}
