//! RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proofs.
//!
//! Leaves hash as `SHA-256(0x00 || entry)` and nodes as
//! `SHA-256(0x01 || left || right)`. A tree of `n` leaves splits at the
//! largest power of two below `n` (§2.1.1). Proofs follow §2.1.3 (inclusion)
//! and §2.1.4 (consistency). Subtree hashes come from a [`Nodes`] source, so
//! the same code serves an in-memory tree and the stored one.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (n > 1).
fn split(n: u64) -> u64 {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// Hashes of complete, aligned subtrees: `node(level, index)` covers leaves
/// `[index << level, (index + 1) << level)`.
pub trait Nodes {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String>;
}

/// MTH(D[start:end]) for any range the RFC's algorithms ask for: complete
/// aligned subtrees come from `nodes`, the ragged right edge is combined.
pub fn subtree<N: Nodes + ?Sized>(nodes: &N, start: u64, end: u64) -> Result<Hash, String> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return nodes.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split(n);
    Ok(node_hash(
        &subtree(nodes, start, start + k)?,
        &subtree(nodes, start + k, end)?,
    ))
}

pub fn root<N: Nodes + ?Sized>(nodes: &N, size: u64) -> Result<Hash, String> {
    subtree(nodes, 0, size)
}

/// PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, for leaf `m` of the range.
fn path<N: Nodes + ?Sized>(
    nodes: &N,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), String> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(nodes, m, start, start + k, out)?;
        out.push(subtree(nodes, start + k, end)?);
    } else {
        path(nodes, m - k, start + k, end, out)?;
        out.push(subtree(nodes, start, start + k)?);
    }
    Ok(())
}

/// The audit path proving leaf `index` is in the tree of `size` leaves.
pub fn inclusion_proof<N: Nodes + ?Sized>(
    nodes: &N,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, String> {
    if index >= size {
        return Err(format!("leaf {index} is not in a tree of {size}"));
    }
    let mut out = Vec::new();
    path(nodes, index, 0, size, &mut out)?;
    Ok(out)
}

/// SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1.
fn subproof<N: Nodes + ?Sized>(
    nodes: &N,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), String> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(subtree(nodes, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, start, start + k, whole, out)?;
        out.push(subtree(nodes, start + k, end)?);
    } else {
        subproof(nodes, m - k, start + k, end, false, out)?;
        out.push(subtree(nodes, start, start + k)?);
    }
    Ok(())
}

/// The proof that the tree of `to` leaves extends the tree of `from`.
pub fn consistency_proof<N: Nodes + ?Sized>(
    nodes: &N,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, String> {
    if from > to {
        return Err(format!("from ({from}) is larger than to ({to})"));
    }
    let mut out = Vec::new();
    if from == 0 || from == to {
        return Ok(out);
    }
    subproof(nodes, from, 0, to, true, &mut out)?;
    Ok(out)
}

/// RFC 9162 §2.1.3.2: verifying an inclusion proof.
pub fn verify_inclusion(index: u64, size: u64, leaf: Hash, proof: &[Hash], root: Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode % 2 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode % 2 == 0 {
                while fnode % 2 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == root
}

/// RFC 9162 §2.1.4.2: verifying a consistency proof.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: Hash,
    second_root: Hash,
    proof: &[Hash],
) -> bool {
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        proof.insert(0, first_root);
    }
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode % 2 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let Some((head, rest)) = proof.split_first() else {
        return false;
    };
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode % 2 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode % 2 == 0 {
                while fnode % 2 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && fr == first_root && sr == second_root
}

/// A whole tree in memory, level by level: the reference the tests check
/// the stored tree and the compact range against.
#[cfg(test)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

#[cfg(test)]
impl MemoryTree {
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn root(&self) -> Hash {
        root(self, self.size()).unwrap_or_else(|_| empty_root())
    }
}

#[cfg(test)]
impl Nodes for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| format!("no node at level {level}, index {index}"))
    }
}

/// The right edge of a growing tree: one hash per complete subtree, as in
/// a binary counter. Appending is O(log n) and so is memory, so a log of
/// any size can be re-hashed in one pass.
#[derive(Default)]
pub struct CompactRange {
    size: u64,
    /// (height, hash), largest subtree first.
    peaks: Vec<(u32, Hash)>,
}

impl CompactRange {
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.peaks.last() {
            if height != node.0 {
                break;
            }
            self.peaks.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.peaks.push(node);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree so far (RFC 9162 MTH).
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(&(_, last)) = iter.next() else {
            return empty_root();
        };
        iter.fold(last, |acc, (_, left)| node_hash(left, &acc))
    }
}

/// The complete nodes a new leaf at `index` finishes, bottom up, given a
/// way to read the left siblings: what the sequencer stores per leaf.
pub fn nodes_completed_by<F>(
    index: u64,
    leaf: Hash,
    mut left_sibling: F,
) -> Result<Vec<(u32, u64, Hash)>, String>
where
    F: FnMut(u32, u64) -> Result<Hash, String>,
{
    let mut out = vec![(0, index, leaf)];
    let (mut level, mut i, mut hash) = (0u32, index, leaf);
    while i % 2 == 1 {
        let left = left_sibling(level, i - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        i /= 2;
        out.push((level, i, hash));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference data from transparency-dev/merkle (testonly/constants.go).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn tree(n: usize) -> MemoryTree {
        MemoryTree::new(
            (0..n)
                .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn roots_match_the_published_test_vectors() {
        for (n, expected) in ROOTS.iter().enumerate() {
            let leaves = LEAVES[..n]
                .iter()
                .map(|l| leaf_hash(&hex::decode(l).unwrap()))
                .collect();
            assert_eq!(
                hex::encode(MemoryTree::new(leaves).root()),
                *expected,
                "n = {n}"
            );
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_300_leaves_verifies() {
        let big = tree(300);
        for size in 1..=300u64 {
            let root = root(&big, size).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(&big, index, size).unwrap();
                let leaf = big.node(0, index).unwrap();
                assert!(
                    verify_inclusion(index, size, leaf, &proof, root),
                    "{index} in {size}"
                );
                assert!(!verify_inclusion(
                    index,
                    size,
                    leaf_hash(b"forged"),
                    &proof,
                    root
                ));
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_300_leaves_verifies() {
        let big = tree(300);
        let roots: Vec<Hash> = (0..=300).map(|n| root(&big, n).unwrap()).collect();
        for second in 1..=300u64 {
            for first in 1..=second {
                let proof = consistency_proof(&big, first, second).unwrap();
                assert!(
                    verify_consistency(
                        first,
                        second,
                        roots[first as usize],
                        roots[second as usize],
                        &proof
                    ),
                    "{first} -> {second}"
                );
                if first < second {
                    assert!(!verify_consistency(
                        first,
                        second,
                        leaf_hash(b"x"),
                        roots[second as usize],
                        &proof
                    ));
                }
            }
        }
    }

    #[test]
    fn prefix_trees_agree_with_their_own_roots() {
        let big = tree(37);
        for n in 0..=37 {
            assert_eq!(root(&big, n as u64).unwrap(), tree(n).root());
        }
    }

    #[test]
    fn completed_nodes_build_the_same_tree() {
        let leaves: Vec<Hash> = (0..77).map(|i| leaf_hash(&[i as u8])).collect();
        let mut stored = std::collections::HashMap::new();
        for (i, l) in leaves.iter().enumerate() {
            let done = nodes_completed_by(i as u64, *l, |lv, ix| {
                stored
                    .get(&(lv, ix))
                    .copied()
                    .ok_or_else(|| "missing".to_string())
            })
            .unwrap();
            for (lv, ix, h) in done {
                stored.insert((lv, ix), h);
            }
        }
        let reference = MemoryTree::new(leaves);
        for ((lv, ix), h) in &stored {
            assert_eq!(reference.node(*lv, *ix).unwrap(), *h);
        }
    }

    #[test]
    fn a_compact_range_gives_every_prefix_root() {
        let big = tree(300);
        let mut range = CompactRange::default();
        assert_eq!(range.root(), empty_root());
        for n in 0..300u64 {
            range.push(big.node(0, n).unwrap());
            assert_eq!(range.root(), root(&big, n + 1).unwrap(), "size {}", n + 1);
        }
        assert_eq!(range.size(), 300);
    }

    #[test]
    fn bad_proof_requests_are_refused() {
        let t = tree(5);
        assert!(inclusion_proof(&t, 5, 5).is_err());
        assert!(consistency_proof(&t, 6, 5).is_err());
        assert!(consistency_proof(&t, 0, 5).unwrap().is_empty());
    }
}
