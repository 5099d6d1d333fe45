//! The log as C2SP `tlog-tiles` (c2sp.org/tlog-tiles): tile coordinates,
//! their paths, and entry bundles. The hashes come from the stored tree:
//! a tile at level L lists the complete nodes at tree height 8·L, which
//! the sequencer stores once and never changes.

/// Hashes in a full tile; entries in a full bundle.
pub const WIDTH: u64 = 256;
/// The tree height one tile level spans.
const HEIGHT: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Merkle tree hashes at tile level `0..=63`.
    Hashes(u8),
    /// Entry bundles: the entries themselves.
    Entries,
}

/// One tile or entry bundle: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub kind: Kind,
    pub index: u64,
    /// 256 for a full tile, 1..=255 for a partial one.
    pub width: u64,
}

/// `<N>` as zero-padded 3-digit path elements, all but the last after an
/// `x`: 1234067 is `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// A decimal with no leading zeroes (`0` itself allowed).
fn plain_number(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

fn parse_index(parts: &[&str]) -> Option<u64> {
    let (last, rest) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, part) in rest.iter().enumerate() {
        let digits = part.strip_prefix('x')?;
        // The shortest encoding only: no leading `x000`.
        if i == 0 && digits == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl Tile {
    /// Parses the path after `tile/`. Anything not in the spec's one
    /// encoding is refused, so each tile has exactly one address.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts: Vec<&str> = path.split('/').collect();
        let kind = match parts.first()? {
            &"entries" => Kind::Entries,
            level => {
                let l = plain_number(level)?;
                Kind::Hashes(u8::try_from(l).ok().filter(|l| *l <= 63)?)
            }
        };
        parts.remove(0);
        let mut width = WIDTH;
        if parts.len() >= 2 && parts[parts.len() - 2].ends_with(".p") {
            let w = plain_number(parts.pop()?)?;
            if !(1..WIDTH).contains(&w) {
                return None;
            }
            width = w;
            let last = parts.pop()?;
            parts.push(last.strip_suffix(".p")?);
        }
        let index = parse_index(&parts)?;
        Some(Self { kind, index, width })
    }

    pub fn path(&self) -> String {
        let level = match self.kind {
            Kind::Hashes(l) => l.to_string(),
            Kind::Entries => "entries".into(),
        };
        let partial = if self.width < WIDTH {
            format!(".p/{}", self.width)
        } else {
            String::new()
        };
        format!("tile/{level}/{}{partial}", encode_index(self.index))
    }

    /// The tree height of the nodes it lists (0 for entries: leaves).
    pub fn height(&self) -> u32 {
        match self.kind {
            Kind::Hashes(l) => u32::from(l) * HEIGHT,
            Kind::Entries => 0,
        }
    }

    /// The first node (at [`Tile::height`]) or entry it lists.
    pub fn first(&self) -> Option<u64> {
        self.index.checked_mul(WIDTH)
    }

    /// The tree size from which every node it lists is complete: below
    /// it, the tile does not exist yet.
    pub fn needs(&self) -> Option<u64> {
        let end = self.first()?.checked_add(self.width)?;
        let shift = self.height();
        if shift >= 64 {
            return None;
        }
        let needed = end.checked_shl(shift)?;
        (needed >> shift == end).then_some(needed)
    }

    pub fn is_full(&self) -> bool {
        self.width == WIDTH
    }
}

/// Full hash tiles already served. They never change, so once read they
/// are served from memory, as a static file would be; the cache holds at
/// most `CACHED` of them (16 MB) and forgets an arbitrary one when full.
#[derive(Default)]
pub struct Cache {
    tiles: std::sync::Mutex<std::collections::HashMap<(u8, u64), bytes::Bytes>>,
}

const CACHED: usize = 2048;

impl Cache {
    pub fn get(&self, tile: &Tile) -> Option<bytes::Bytes> {
        let Kind::Hashes(level) = tile.kind else {
            return None;
        };
        if !tile.is_full() {
            return None;
        }
        self.tiles.lock().ok()?.get(&(level, tile.index)).cloned()
    }

    pub fn put(&self, tile: &Tile, data: bytes::Bytes) {
        let (Kind::Hashes(level), true) = (tile.kind, tile.is_full()) else {
            return;
        };
        if let Ok(mut tiles) = self.tiles.lock() {
            if tiles.len() >= CACHED {
                if let Some(k) = tiles.keys().next().copied() {
                    tiles.remove(&k);
                }
            }
            tiles.insert((level, tile.index), data);
        }
    }
}

/// An entry bundle: each entry as a big-endian u16 length and its bytes.
/// Answers the position of an entry too long for that, if one is.
pub fn entry_bundle<S: AsRef<[u8]>>(entries: &[S]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for (i, entry) in entries.iter().enumerate() {
        let bytes = entry.as_ref();
        let len = u16::try_from(bytes.len()).map_err(|_| i)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        let t = Tile::parse("0/x001/x234/067").unwrap();
        assert_eq!((t.kind, t.index, t.width), (Kind::Hashes(0), 1234067, 256));
        let p = Tile::parse("2/000.p/1").unwrap();
        assert_eq!((p.kind, p.index, p.width), (Kind::Hashes(2), 0, 1));
        assert_eq!(p.path(), "tile/2/000.p/1");
        let e = Tile::parse("entries/x001/005.p/112").unwrap();
        assert_eq!((e.kind, e.index, e.width), (Kind::Entries, 1005, 112));
    }

    #[test]
    fn other_spellings_are_refused() {
        for bad in [
            "",
            "0",
            "00/000",
            "01/000",
            "64/000",
            "0/1",
            "0/0001",
            "0/001/002",
            "0/x000/001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/01",
            "0/000.p",
            "x/000",
            "entries/000.p/",
            "0/x1000/000",
            "0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert_eq!(Tile::parse(bad), None, "{bad}");
        }
    }

    /// The spec's example: a tree of 70,000 has 273 full level-0 tiles, a
    /// partial one of 112, one full level-1 tile, a partial of 17, and a
    /// partial level-2 tile of 1.
    #[test]
    fn a_tree_of_70000_has_the_tiles_the_spec_lists() {
        let size = 70_000u64;
        let exists = |path: &str| Tile::parse(path).unwrap().needs().unwrap() <= size;
        assert!(exists("0/272") && !exists("0/273"));
        assert!(exists("0/273.p/112") && !exists("0/273.p/113"));
        assert!(exists("1/000") && !exists("1/001"));
        assert!(exists("1/001.p/17") && !exists("1/001.p/18"));
        assert!(exists("2/000.p/1") && !exists("2/000.p/2"));
    }

    #[test]
    fn bundles_prefix_each_entry_with_its_length() {
        assert_eq!(entry_bundle(&["ab", ""]).unwrap(), b"\x00\x02ab\x00\x00");
        assert_eq!(entry_bundle(&["a".repeat(70_000)]), Err(0));
    }

    proptest! {
        #[test]
        fn every_tile_path_parses_back(level in 0u8..64, index: u64, width in 1u64..=256) {
            let t = Tile { kind: Kind::Hashes(level), index, width };
            prop_assert_eq!(Tile::parse(t.path().strip_prefix("tile/").unwrap()), Some(t));
            let e = Tile { kind: Kind::Entries, index, width };
            prop_assert_eq!(Tile::parse(e.path().strip_prefix("tile/").unwrap()), Some(e));
        }
    }
}
