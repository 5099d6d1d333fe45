//! An independent verifier, written from RFC 9162 §2.1 and the C2SP texts
//! (signed-note, tlog-checkpoint, tlog-tiles, tlog-cosignature), sharing
//! no code with `src/audit/`: what an outside auditor would write. The
//! tests check the registry's answers with it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// MTH of RFC 9162 §2.1.1, straight from its definition.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

pub fn unhex(s: &str) -> Hash {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}

/// RFC 9162 §2.1.3.2.
pub fn verify_inclusion(index: u64, size: u64, leaf: Hash, path: &[Hash], root: Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = node(p, &r);
            while f % 2 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == root
}

/// RFC 9162 §2.1.4.2.
pub fn verify_consistency(first: u64, second: u64, r1: Hash, r2: Hash, path: &[Hash]) -> bool {
    if first == second {
        return path.is_empty() && r1 == r2;
    }
    let mut path = path.to_vec();
    if first.is_power_of_two() {
        path.insert(0, r1);
    }
    let (mut f, mut s) = (first - 1, second - 1);
    while f % 2 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            while f % 2 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && fr == r1 && sr == r2
}

/// The key id of a signed-note key: SHA-256(name || "\n" || type || key)[:4].
pub fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(public);
    h.finalize()[..4].try_into().expect("4 bytes")
}

/// Splits a signed note into its text (with its final newline) and its
/// signature lines as (name, decoded signature).
pub fn split_note(note: &str) -> (String, Vec<(String, Vec<u8>)>) {
    let at = note
        .rfind("\n\n")
        .expect("a blank line before the signatures");
    let text = note[..=at].to_string();
    let sigs = note[at + 2..]
        .lines()
        .filter_map(|l| {
            let (name, sig) = l.strip_prefix("\u{2014} ")?.split_once(' ')?;
            Some((name.to_string(), B64.decode(sig).ok()?))
        })
        .collect();
    (text, sigs)
}

/// The text of `note` if it carries a valid Ed25519 note signature
/// (type 0x01) by `name` with `public`.
pub fn open_note(note: &str, name: &str, public: &[u8; 32]) -> Option<String> {
    let (text, sigs) = split_note(note);
    let key = ed25519_dalek::VerifyingKey::from_bytes(public).ok()?;
    let id = key_id(name, 1, public);
    sigs.iter().find_map(|(n, sig)| {
        if n != name || sig.len() != 68 || sig[..4] != id {
            return None;
        }
        let s = ed25519_dalek::Signature::from_slice(&sig[4..]).ok()?;
        key.verify_strict(text.as_bytes(), &s).ok()?;
        Some(text.clone())
    })
}

/// Checks an Ed25519 cosignature (type 0x04, `cosignature/v1`) by `name`
/// on the checkpoint text; answers its timestamp.
pub fn cosigned_at(note: &str, name: &str, public: &[u8; 32]) -> Option<u64> {
    let (text, sigs) = split_note(note);
    let key = ed25519_dalek::VerifyingKey::from_bytes(public).ok()?;
    let id = key_id(name, 4, public);
    sigs.iter().find_map(|(n, sig)| {
        if n != name || sig.len() != 76 || sig[..4] != id {
            return None;
        }
        let time = u64::from_be_bytes(sig[4..12].try_into().ok()?);
        let message = format!("cosignature/v1\ntime {time}\n{text}");
        let s = ed25519_dalek::Signature::from_slice(&sig[12..]).ok()?;
        key.verify_strict(message.as_bytes(), &s).ok()?;
        Some(time)
    })
}

/// A checkpoint's origin, size and root hash.
pub fn parse_checkpoint(text: &str) -> (String, u64, Hash) {
    let lines: Vec<&str> = text.lines().collect();
    let root = B64.decode(lines[2]).expect("base64 root");
    (
        lines[0].to_string(),
        lines[1].parse().expect("size"),
        root.try_into().expect("32-byte root"),
    )
}

/// The `<N>` of a tile path: 3-digit elements, all but the last after `x`.
pub fn tile_index(n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        parts.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// A client of tlog-tiles: it knows a tree size from a verified
/// checkpoint and reads every hash it needs from tiles of that tree.
pub struct TileClient<F: Fn(&str) -> Vec<u8>> {
    pub size: u64,
    pub fetch: F,
}

impl<F: Fn(&str) -> Vec<u8>> TileClient<F> {
    /// The path of the tile at `level` holding position `n`, as it exists
    /// in a tree of `size`: full, or the partial one at the right edge.
    fn tile_path(&self, level: u32, n: u64) -> String {
        let tile = n / 256;
        let full = self.size >> (8 * (level + 1));
        if tile < full {
            format!("tile/{level}/{}", tile_index(tile))
        } else {
            let w = (self.size >> (8 * level)) % 256;
            format!("tile/{level}/{}.p/{w}", tile_index(tile))
        }
    }

    /// The hash of the complete subtree of height `h` at `index`.
    pub fn subtree(&self, h: u32, index: u64) -> Hash {
        let (level, within) = (h / 8, h % 8);
        let first = index << within;
        let data = (self.fetch)(&self.tile_path(level, first));
        let at = (first % 256) as usize;
        let hashes: Vec<Hash> = (at..at + (1usize << within))
            .map(|i| data[i * 32..i * 32 + 32].try_into().expect("32 bytes"))
            .collect();
        mth(&hashes)
    }

    /// MTH(D[start:end]) by RFC 9162's split, from tiles.
    pub fn range(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n == 0 {
            return Sha256::digest([]).into();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            return self.subtree(n.trailing_zeros(), start / n);
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        node(&self.range(start, start + k), &self.range(start + k, end))
    }

    /// PATH(m, D[0:size]) of RFC 9162 §2.1.3.1, from tiles.
    pub fn inclusion(&self, m: u64) -> Vec<Hash> {
        fn path<F: Fn(&str) -> Vec<u8>>(
            t: &TileClient<F>,
            m: u64,
            s: u64,
            e: u64,
            out: &mut Vec<Hash>,
        ) {
            let n = e - s;
            if n <= 1 {
                return;
            }
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            if m < k {
                path(t, m, s, s + k, out);
                out.push(t.range(s + k, e));
            } else {
                path(t, m - k, s + k, e, out);
                out.push(t.range(s, s + k));
            }
        }
        let mut out = Vec::new();
        path(self, m, 0, self.size, &mut out);
        out
    }
}

/// JSON with keys sorted at every level and no whitespace.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical_json(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
