//! A witness for other logs (c2sp.org/tlog-witness), run by
//! `registry witness serve`: it keeps the latest checkpoint it cosigned
//! for each log it follows, and cosigns a new one only with a proof that
//! it extends that one. A registry that shows one auditor one log and
//! another a different one (a split view) cannot get both cosigned by the
//! same witness: that refusal is how the split is caught.

pub mod serve;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::audit::cosign::CosignKey;
use crate::audit::merkle::{self, Hash};
use crate::audit::signing::{parse_checkpoint, NoteVerifier};

/// Why a checkpoint was not cosigned, with the status the spec gives it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the request is not in the protocol's form.
    Malformed(String),
    /// 404: no log with this origin is followed here.
    UnknownLog,
    /// 403: no valid signature by the log's key.
    Unsigned(String),
    /// 409: the old size is not the size last cosigned, which it carries.
    StaleOld(u64),
    /// 422: the checkpoint is not consistent with the one last cosigned.
    Inconsistent(String),
    /// 500: the witness cannot read or keep its own state.
    Failed(String),
}

/// What the witness keeps per log: the latest checkpoint it cosigned.
#[derive(Serialize, Deserialize)]
struct Seen {
    size: u64,
    root: String,
    /// The checkpoint with the log's signature and this witness's.
    checkpoint: String,
}

pub struct Witness {
    key: CosignKey,
    /// Origin -> the log's verifier key.
    logs: HashMap<String, NoteVerifier>,
    dir: PathBuf,
    /// Checking the old size and storing the new one are one step.
    lock: Mutex<()>,
}

/// The SHA-256 of an origin, lower-case hex: how the monitoring path and
/// the state files name a log.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

impl Witness {
    /// Opens the witness kept in `dir` (its key is made on first start),
    /// following `logs`: each `<verifier key>` (the origin is its name) or
    /// `<origin> <verifier key>`.
    pub fn open(dir: &Path, name: &str, logs: &[String]) -> Result<Self, String> {
        crate::config::private_dir(&dir.join("logs"))?;
        let key = CosignKey::load_or_create(&dir.join("witness_key"), name)?;
        let mut followed = HashMap::new();
        for log in logs {
            let (origin, vkey) = match log.trim().split_once(' ') {
                Some((origin, vkey)) => (origin.to_string(), vkey.trim()),
                None => (String::new(), log.trim()),
            };
            let verifier = NoteVerifier::parse(vkey).map_err(|e| format!("--log {log}: {e}"))?;
            let origin = if origin.is_empty() {
                verifier.name.clone()
            } else {
                origin
            };
            followed.insert(origin, verifier);
        }
        if followed.is_empty() {
            return Err("a witness follows at least one log (--log)".into());
        }
        Ok(Self {
            key,
            logs: followed,
            dir: dir.to_path_buf(),
            lock: Mutex::new(()),
        })
    }

    pub fn verifier_key(&self) -> String {
        self.key.verifier()
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.dir.join("logs").join(origin_hash(origin))
    }

    fn seen(&self, origin: &str) -> Result<Option<Seen>, String> {
        match std::fs::read_to_string(self.state_path(origin)) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("the witness state of {origin} is damaged: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Writes the new state durably before the cosignature is returned:
    /// a temporary file, synced, renamed over the old one.
    fn store(&self, origin: &str, seen: &Seen) -> Result<(), String> {
        let path = self.state_path(origin);
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(seen).map_err(|e| e.to_string())?;
        let mut file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot keep the witness state: {e}"))?;
        if let Ok(dir) = std::fs::File::open(self.dir.join("logs")) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to
    /// `hash`, with the log's signature and this witness's.
    pub fn latest(&self, hash: &str) -> Result<Option<String>, String> {
        let Some(origin) = self.logs.keys().find(|o| origin_hash(o) == hash) else {
            return Ok(None);
        };
        Ok(self.seen(origin)?.map(|s| s.checkpoint))
    }

    /// The `add-checkpoint` call: answers this witness's cosignature line.
    pub fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, Refusal> {
        let (old, proof, note) = parse_request(body)?;
        let origin = note.lines().next().unwrap_or_default();
        let log = self.logs.get(origin).ok_or(Refusal::UnknownLog)?;
        let text = log.open(note).map_err(Refusal::Unsigned)?;
        let (_, size, root) =
            parse_checkpoint(text).map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
        if old > size {
            return Err(Refusal::Malformed(format!(
                "old size {old} is above the checkpoint's {size}"
            )));
        }
        if size == 0 && root != merkle::empty_root() {
            return Err(Refusal::Inconsistent(
                "a tree of size 0 has the empty tree's hash".into(),
            ));
        }
        let _held = self
            .lock
            .lock()
            .map_err(|_| Refusal::Failed("the witness state lock is poisoned".into()))?;
        let seen = self.seen(origin).map_err(Refusal::Failed)?;
        let seen_size = seen.as_ref().map_or(0, |s| s.size);
        if old != seen_size {
            return Err(Refusal::StaleOld(seen_size));
        }
        match &seen {
            // The empty tree is consistent with any tree: no proof.
            _ if old == 0 => {
                if !proof.is_empty() {
                    return Err(Refusal::Inconsistent(
                        "from size 0 the proof must be empty".into(),
                    ));
                }
            }
            None => return Err(Refusal::StaleOld(0)),
            Some(s) => {
                let old_root = decode_hash(&s.root).map_err(Refusal::Failed)?;
                if !merkle::verify_consistency(old, size, old_root, root, &proof) {
                    return Err(Refusal::Inconsistent(format!(
                        "the checkpoint of size {size} is not consistent with the one of size {old} cosigned before"
                    )));
                }
            }
        }
        let line = self.key.cosign(text, now);
        let mut checkpoint = note.to_string();
        if !checkpoint.ends_with('\n') {
            checkpoint.push('\n');
        }
        checkpoint.push_str(&line);
        self.store(
            origin,
            &Seen {
                size,
                root: B64.encode(root),
                checkpoint,
            },
        )
        .map_err(Refusal::Failed)?;
        Ok(line)
    }
}

fn decode_hash(b64: &str) -> Result<Hash, String> {
    B64.decode(b64)
        .ok()
        .and_then(|b| Hash::try_from(b).ok())
        .ok_or_else(|| "not a base64 SHA-256 hash".to_string())
}

/// `old <size>\n`, up to 63 base64 proof lines, a blank line, the note.
fn parse_request(body: &str) -> Result<(u64, Vec<Hash>, &str), Refusal> {
    let bad = |m: &str| Refusal::Malformed(m.to_string());
    let (head, note) = body
        .split_once("\n\n")
        .ok_or_else(|| bad("the body has no blank line before the checkpoint"))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| *n == "0" || !n.starts_with('0'))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line is not `old <size>`"))?;
    let proof = lines
        .map(|l| decode_hash(l).map_err(|e| bad(&format!("proof line `{l}`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > 63 {
        return Err(bad("more than 63 proof lines"));
    }
    Ok((old, proof, note))
}
