//! Evidence bundles: one firearm's custody history with the proof that it
//! is what the log recorded, checkable with no database and no trust in
//! the registry (`registry audit verify-evidence`). See docs/audit.md,
//! "Evidence for one firearm".
//!
//! Every part of a bundle is bound by a hash or a signature: an event's
//! content by its entry's `content_digest`, the entry by its leaf hash,
//! the leaf by its inclusion proof in the signed checkpoint, and the
//! firearm's state by the `state_digest` of its latest entry. The fields
//! that are not (`format`, `firearm_id`, `complete`, `verifier_key`) are
//! checked against what they claim.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

use super::content;
use super::merkle::{self, Hash};
use super::signing::{parse_checkpoint, NoteVerifier};
use super::tree::StoredNodes;
use crate::db::audit::{EntryRow, HeadRow};
use crate::db::firearms::{EventRow, FirearmRow};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};

pub const FORMAT: &str = "registry-evidence/v1";

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// `registry-evidence/v1`.
    pub format: String,
    pub firearm_id: String,
    /// True when the bundle holds every event of the firearm and its
    /// current state; false when the reader may see only the history up
    /// to a handover.
    pub complete: bool,
    /// Each event, oldest first, as the canonical content its entry
    /// vouches for (personal fields sealed), with the entry and its proof.
    pub events: Vec<Proven>,
    /// The firearm's current state and the latest entry vouching for it;
    /// absent when the reader may not see its holders.
    pub state: Option<Proven>,
    /// The signed checkpoint every proof leads to (C2SP tlog-checkpoint).
    pub checkpoint: String,
    /// The registry's verifier key, as `/v1/audit/key` gives it.
    pub verifier_key: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proven {
    #[schema(value_type = Object)]
    pub content: Value,
    pub entry: ProvenEntry,
    /// The RFC 9162 audit path of the entry in the checkpoint's tree, hex.
    pub proof: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    pub seq: u64,
    /// The exact text hashed into the leaf.
    pub canonical: String,
    pub leaf_hash: String,
}

/// Whether an event's content shows personal data: only events recorded
/// before seals existed, whose details stayed whole.
pub fn discloses_personal_data(e: &EventRow) -> bool {
    content::event_seal(e).is_none()
        && crate::domain::personal::has_personal(
            &serde_json::from_str(&e.details).unwrap_or(Value::Null),
        )
}

/// What a bundle needs that the log has not integrated yet.
#[derive(Debug)]
pub struct Pending;

/// Which history to prove, as the reader may see it.
pub struct Request<'a> {
    pub firearm: &'a FirearmRow,
    pub events: &'a [EventRow],
    pub complete: bool,
    /// Whether the reader may see the firearm's holders (its state).
    pub with_state: bool,
}

/// Builds the bundle against `head`, or answers [`Pending`] when an entry
/// it needs is not in that head yet.
pub fn build(
    conn: &mut DbConn,
    req: &Request<'_>,
    head: &HeadRow,
    checkpoint: String,
    verifier_key: String,
) -> AppResult<Result<Bundle, Pending>> {
    let size = head.size as u64;
    let ids: Vec<String> = req.events.iter().map(|e| e.id.clone()).collect();
    // One entry records each event (the history's own read joins on it).
    let mut by_event: HashMap<String, EntryRow> = db::audit::for_events(conn, &ids)?
        .into_iter()
        .filter_map(|row| Some((row.event_id.clone()?, row)))
        .collect();
    let mut parts: Vec<(Value, EntryRow)> = Vec::with_capacity(req.events.len() + 1);
    for e in req.events {
        let entry = by_event.remove(&e.id).ok_or_else(|| {
            AppError::internal(format!("history event {} has no audit entry", e.id))
        })?;
        parts.push((content::event(e), entry));
    }
    if req.with_state {
        let subject = format!("firearm:{}", req.firearm.id);
        let entry = db::audit::latest_for_subject(conn, &subject)?
            .ok_or_else(|| AppError::internal(format!("{subject} has no audit entry")))?;
        parts.push((content::firearm(req.firearm), entry));
    }
    if parts
        .iter()
        .any(|(_, e)| e.seq.is_none_or(|s| s as u64 >= size))
    {
        return Ok(Err(Pending));
    }
    let seqs: Vec<u64> = parts
        .iter()
        .map(|(_, e)| e.seq.unwrap_or(0) as u64)
        .collect();
    let proofs = proofs(conn, &seqs, size)?;
    let mut proven: Vec<Proven> = parts
        .into_iter()
        .zip(proofs)
        .map(|((content, e), proof)| Proven {
            content,
            entry: ProvenEntry {
                seq: e.seq.unwrap_or(0) as u64,
                canonical: super::text(&e),
                leaf_hash: e.leaf_hash,
            },
            proof: proof.iter().map(hex::encode).collect(),
        })
        .collect();
    let state = if req.with_state { proven.pop() } else { None };
    Ok(Ok(Bundle {
        format: FORMAT.into(),
        firearm_id: req.firearm.id.clone(),
        complete: req.complete,
        events: proven,
        state,
        checkpoint,
        verifier_key,
    }))
}

/// The inclusion proofs of `seqs` in the tree of `size`. The stored tree
/// keeps the blocks it reads: a firearm's entries, written close together,
/// mostly share theirs.
fn proofs(conn: &mut DbConn, seqs: &[u64], size: u64) -> AppResult<Vec<Vec<Hash>>> {
    let nodes = StoredNodes::new(conn);
    seqs.iter()
        .map(|&seq| merkle::inclusion_proof(&nodes, seq, size).map_err(AppError::internal))
        .collect()
}

/// What a verified bundle showed.
#[derive(Debug)]
pub struct Verified {
    pub firearm_id: String,
    pub events: usize,
    pub complete: bool,
    pub origin: String,
    pub size: u64,
    /// How many of the witnesses given cosigned the checkpoint (all).
    pub cosigned: usize,
}

fn hash_hex(text: &str) -> Result<Hash, String> {
    hex::decode(text)
        .ok()
        .and_then(|b| Hash::try_from(b).ok())
        .ok_or_else(|| format!("`{text}` is not a 32-byte hex hash"))
}

/// Checks one proven part: its leaf, its proof in the tree, and what its
/// canonical text says. Answers the parsed canonical text.
fn check_part(p: &Proven, size: u64, root: &Hash) -> Result<Value, String> {
    let leaf = merkle::leaf_hash(p.entry.canonical.as_bytes());
    if hex::encode(leaf) != p.entry.leaf_hash {
        return Err("the leaf hash is not the hash of the canonical text".into());
    }
    let proof = p
        .proof
        .iter()
        .map(|h| hash_hex(h))
        .collect::<Result<Vec<_>, _>>()?;
    if !merkle::verify_inclusion(p.entry.seq, size, leaf, &proof, *root) {
        return Err(format!(
            "entry {} is not in the checkpoint's tree by its proof",
            p.entry.seq
        ));
    }
    serde_json::from_str(&p.entry.canonical).map_err(|_| "the canonical text is not JSON".into())
}

fn said<'a>(canonical: &'a Value, field: &str) -> Option<&'a str> {
    canonical.get(field).and_then(Value::as_str)
}

/// Every event: proven, of this firearm, in gap-free sequence, and what
/// its entry vouches for. Answers the last event's entry seq.
fn check_events(b: &Bundle, size: u64, root: &Hash) -> Result<Option<u64>, String> {
    let target = format!("firearm:{}", b.firearm_id);
    let mut last_seq = None;
    for (i, p) in b.events.iter().enumerate() {
        let sequence = i as i64 + 1;
        let at = |e: String| format!("events[{i}] (sequence {sequence}): {e}");
        let canonical = check_part(p, size, root).map_err(at)?;
        if p.content.get("sequence").and_then(Value::as_i64) != Some(sequence) {
            return Err(at(
                "the sequence is not the next one: an event is missing or out of order".into(),
            ));
        }
        if p.content.get("firearm_id").and_then(Value::as_str) != Some(b.firearm_id.as_str()) {
            return Err(at("the event is of another firearm".into()));
        }
        if said(&canonical, "event_id") != p.content.get("id").and_then(Value::as_str) {
            return Err(at("the entry records another event".into()));
        }
        if said(&canonical, "target") != Some(target.as_str()) {
            return Err(at("the entry is about another firearm".into()));
        }
        if said(&canonical, "content_digest") != Some(content::digest(&p.content).as_str()) {
            return Err(at(
                "the event's content is not what its entry vouches for".into()
            ));
        }
        last_seq = Some(p.entry.seq);
    }
    Ok(last_seq)
}

/// The firearm's state: proven, vouched for by its latest entry, no
/// older than the last event, and, when complete, at the version the
/// number of events gives.
fn check_state(b: &Bundle, last_seq: Option<u64>, size: u64, root: &Hash) -> Result<(), String> {
    let target = format!("firearm:{}", b.firearm_id);
    match (&b.state, b.complete) {
        (Some(s), _) => {
            let at = |e: String| format!("state: {e}");
            let canonical = check_part(s, size, root).map_err(at)?;
            if said(&canonical, "subject") != Some(target.as_str())
                || s.content.get("id").and_then(Value::as_str) != Some(b.firearm_id.as_str())
            {
                return Err(at("the entry vouches for another record".into()));
            }
            if said(&canonical, "state_digest") != Some(content::digest(&s.content).as_str()) {
                return Err(at(
                    "the firearm's state is not what its entry vouches for".into()
                ));
            }
            if last_seq.is_some_and(|l| s.entry.seq < l) {
                return Err(at("the state's entry is older than the last event's".into()));
            }
            let version = s.content.get("version").and_then(Value::as_i64);
            if b.complete && version != Some(b.events.len() as i64) {
                return Err(at(format!(
                    "the firearm is at version {} but the bundle holds {} events",
                    version.unwrap_or(-1),
                    b.events.len()
                )));
            }
        }
        (None, true) => return Err("a complete bundle must hold the firearm's state".into()),
        (None, false) => {}
    }
    Ok(())
}

/// Checks a bundle with the registry's key alone. The first problem is
/// named by where it is (`events[3] (sequence 4): …`).
pub fn verify(text: &str, key: &NoteVerifier, witnesses: &[String]) -> Result<Verified, String> {
    let b: Bundle =
        serde_json::from_str(text).map_err(|e| format!("not an evidence bundle: {e}"))?;
    if b.format != FORMAT {
        return Err(format!("format `{}` is not {FORMAT}", b.format));
    }
    let named = NoteVerifier::parse(&b.verifier_key).map_err(|e| format!("verifier_key: {e}"))?;
    if !named.same_key(key) {
        return Err("verifier_key is not the key given".into());
    }
    let body = key
        .open(&b.checkpoint)
        .map_err(|e| format!("checkpoint: {e}"))?;
    let cosigned = super::cosign::require_all(&b.checkpoint, body, witnesses)
        .map_err(|e| format!("checkpoint: {e}"))?;
    let (origin, size, root) = parse_checkpoint(body).map_err(|e| format!("checkpoint: {e}"))?;
    let last_seq = check_events(&b, size, &root)?;
    check_state(&b, last_seq, size, &root)?;
    Ok(Verified {
        firearm_id: b.firearm_id,
        events: b.events.len(),
        complete: b.complete,
        origin,
        size,
        cosigned,
    })
}
