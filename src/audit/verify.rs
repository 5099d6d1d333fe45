//! Verification of the whole log. Online, every leaf is recomputed from
//! the rows it describes (history events, and the latest state of each
//! firearm, user and agency), the tree is rebuilt, and every signed head is
//! checked against it. Offline, an export is checked against a checkpoint
//! and the registry's public key, with no database.

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;

use super::merkle::{self, CompactRange, Hash};
use super::sequencer::AuditLog;
use super::signing::{parse_checkpoint, NoteVerifier};
use super::tree::parse_hash;
use super::{content, derived, text};
use crate::db::audit::{EntryRow, HeadRow};
use crate::db::{self, DbConn};
use crate::error::AppResult;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub valid: bool,
    /// The number of integrated entries checked.
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_invalid_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Tracks the earliest problem found.
#[derive(Default)]
struct Findings {
    first: Option<(i64, String)>,
}

impl Findings {
    fn add(&mut self, seq: i64, reason: impl Into<String>) {
        if self.first.as_ref().is_none_or(|(s, _)| seq < *s) {
            self.first = Some((seq, reason.into()));
        }
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// The leaf of an entry that failed its check, as stored: the tree (and
/// the heads over it) stays as committed, so the finding names the entry
/// rather than a later head.
fn stored_leaf(row: &EntryRow) -> Hash {
    parse_hash(&row.leaf_hash).unwrap_or_else(|_| merkle::leaf_hash(text(row).as_bytes()))
}

/// Checks one entry against itself: its leaf hash must be the hash of the
/// canonical text its columns give, and an entry that kept its text from
/// before texts were derived must still give that text.
fn check_entry(row: &EntryRow) -> Result<(Hash, Value), String> {
    let text = derived(row);
    if !row.canonical.is_empty() && text != row.canonical {
        return Err("the entry's columns differ from its canonical text".into());
    }
    let leaf = merkle::leaf_hash(text.as_bytes());
    if hex::encode(leaf) != row.leaf_hash {
        return Err("the leaf hash is not the hash of the canonical text".into());
    }
    let parsed = serde_json::from_str(&text).map_err(|_| "canonical text is not JSON")?;
    Ok((leaf, parsed))
}

/// The digest of a subject's current row, or None if the row is gone.
fn current_state(conn: &mut DbConn, subject: &str) -> AppResult<Option<String>> {
    let Some((kind, id)) = subject.split_once(':') else {
        return Ok(None);
    };
    Ok(match kind {
        "firearm" => {
            db::firearms::find_row(conn, id)?.map(|r| content::digest(&content::firearm(&r)))
        }
        "user" => db::users::find(conn, id)?.map(|r| content::digest(&content::user(&r))),
        "agency" => db::agencies::find(conn, id)?.map(|r| content::digest(&content::agency(&r))),
        "role_grant" => {
            db::role_grants::find(conn, id)?.map(|r| content::digest(&content::role_grant(&r)))
        }
        "armoury" => db::armouries::find(conn, id)?.map(|r| content::digest(&content::armoury(&r))),
        "webhook" => db::webhooks::find(conn, id)?.map(|r| content::digest(&content::webhook(&r))),
        "trace_request" => db::trace_requests::find(conn, id)?
            .map(|r| content::digest(&content::trace_request(&r))),
        "holder" => match db::holders::find(conn, id)? {
            Some(r) => {
                let ids = db::holders::identifiers(conn, id)?;
                Some(content::digest(&content::holder(&r, &ids)))
            }
            None => None,
        },
        "licence" => {
            db::holders::find_licence(conn, id)?.map(|r| content::digest(&content::licence(&r)))
        }
        // An event recorded before seals existed and since erased: its
        // erasure entry vouches for it.
        "event" => {
            db::firearms::find_event(conn, id)?.map(|e| content::digest(&content::event(&e)))
        }
        "stock_check" => match db::armouries::find_check(conn, id)? {
            Some(r) => {
                let rows = db::armouries::stored_counts(conn, id)?;
                Some(content::digest(&content::stock_check(&r, rows)))
            }
            None => None,
        },
        _ => None,
    })
}

enum EventCheck {
    Matches,
    Differs,
    /// Erased without a seal: its `event:` subject must vouch for it.
    Unsealed,
}

/// Checks a history event against the digest its entry recorded. An event
/// erased without a seal (recorded before seals existed) cannot match its
/// first entry any more; a later entry with its `event:` subject vouches
/// for it instead.
fn check_event(conn: &mut DbConn, event_id: &str, parsed: &Value) -> AppResult<EventCheck> {
    let event = db::firearms::find_event(conn, event_id)?;
    if event.as_ref().and_then(|e| e.personal_seal.as_deref())
        == Some(crate::domain::personal::UNSEALED)
    {
        return Ok(EventCheck::Unsealed);
    }
    let now = event.map(|e| content::digest(&content::event(&e)));
    Ok(if now.as_deref() == field(parsed, "content_digest") {
        EventCheck::Matches
    } else {
        EventCheck::Differs
    })
}

/// Checks signed heads as the rebuilt tree reaches their sizes.
struct Heads {
    pending: std::iter::Peekable<std::vec::IntoIter<HeadRow>>,
    previous: i64,
}

impl Heads {
    fn check(
        &mut self,
        tree: &CompactRange,
        log: &AuditLog,
        findings: &mut Findings,
    ) -> AppResult<()> {
        while let Some(head) = self.pending.next_if(|h| h.size as u64 == tree.size()) {
            let stored = parse_hash(&head.root_hash)?;
            let signed = log.sign_head(head.size as u64, &stored) == head.signature;
            if !signed || tree.root() != stored {
                let first = self.previous.min(head.size - 1).max(0);
                findings.add(
                    first,
                    format!(
                        "the signed head of size {} does not match the entries",
                        head.size
                    ),
                );
            }
            self.previous = head.size;
        }
        Ok(())
    }
}

pub fn verify(conn: &mut DbConn, log: &AuditLog) -> AppResult<Report> {
    let mut findings = Findings::default();
    // Heads are checked as the tree is rebuilt, so only the right edge of
    // the tree is ever held, whatever the size of the log.
    let mut heads = Heads {
        pending: db::audit::heads(conn)?.into_iter().peekable(),
        previous: 0,
    };
    let mut tree = CompactRange::default();
    heads.check(&tree, log, &mut findings)?;
    let mut latest: HashMap<String, (i64, Option<String>)> = HashMap::new();
    let mut unsealed_events = Vec::new();
    let mut after = None;
    loop {
        let page = db::audit::integrated(conn, after, 5000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            let seq = row.seq.unwrap_or(-1);
            if seq != tree.size() as i64 {
                findings.add(tree.size() as i64, "the sequence has a gap");
            }
            let (leaf, parsed) = match check_entry(&row) {
                Ok(ok) => ok,
                Err(reason) => {
                    findings.add(seq, reason);
                    (stored_leaf(&row), Value::Null)
                }
            };
            tree.push(leaf);
            heads.check(&tree, log, &mut findings)?;
            if let Some(event_id) = &row.event_id {
                match check_event(conn, event_id, &parsed)? {
                    EventCheck::Matches => {}
                    EventCheck::Differs => {
                        findings.add(seq, "the history event differs from what was recorded")
                    }
                    EventCheck::Unsealed => unsealed_events.push((seq, event_id.clone())),
                }
            }
            if let Some(subject) = &row.subject {
                let state = field(&parsed, "state_digest").map(String::from);
                latest.insert(subject.clone(), (seq, state));
            }
        }
    }
    if let Some(head) = heads.pending.next() {
        findings.add(
            heads.previous,
            format!(
                "the signed head of size {} covers entries that are missing",
                head.size
            ),
        );
    }
    for (seq, event_id) in unsealed_events {
        if !latest.contains_key(&format!("event:{event_id}")) {
            findings.add(
                seq,
                "the history event was erased with no entry recording it",
            );
        }
    }
    for (subject, (seq, state)) in &latest {
        if current_state(conn, subject)? != *state {
            findings.add(
                *seq,
                format!("{subject} differs from its last recorded state"),
            );
        }
    }
    let size = tree.size() as i64;
    let unaccounted = match findings.first {
        None => unaccounted_row(conn)?,
        Some(_) => None,
    };
    Ok(Report::of(size, findings, unaccounted))
}

impl Report {
    /// The earliest finding on an entry, else a row no entry accounts for.
    fn of(size: i64, findings: Findings, unaccounted: Option<String>) -> Self {
        let (first_invalid_seq, reason) = match (findings.first, unaccounted) {
            (Some((seq, reason)), _) => (Some(seq), Some(reason)),
            (None, reason) => (None, reason),
        };
        Self {
            valid: reason.is_none(),
            size,
            first_invalid_seq,
            reason,
        }
    }
}

/// The first row that no audit entry accounts for: one written straight
/// into the database, around the registry.
fn unaccounted_row(conn: &mut DbConn) -> AppResult<Option<String>> {
    for (table, kind) in db::audit::ACCOUNTED {
        if let Some(id) = db::audit::unaccounted(conn, table, kind)? {
            return Ok(Some(format!(
                "{table} row {id} has no audit entry: it was written around the registry"
            )));
        }
    }
    Ok(None)
}

/// Checks an NDJSON export offline: every entry's leaf, the gap-free order,
/// and the final checkpoint's signature and root. Answers (size, root hex).
pub fn verify_export<R: BufRead>(
    input: R,
    verifier: &NoteVerifier,
    witnesses: &[String],
) -> Result<(String, u64, String, usize), String> {
    let mut leaves = CompactRange::default();
    let mut checkpoint = None;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        if let Some(note) = v.get("checkpoint").and_then(Value::as_str) {
            checkpoint = Some(note.to_string());
            continue;
        }
        let seq = v
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or(format!("line {}: no seq", n + 1))?;
        if seq != leaves.size() {
            return Err(format!(
                "seq {seq}: expected {} (entries must be gap-free from 0)",
                leaves.size()
            ));
        }
        let canonical = v
            .get("canonical")
            .and_then(Value::as_str)
            .ok_or(format!("seq {seq}: no canonical text"))?;
        let leaf = merkle::leaf_hash(canonical.as_bytes());
        if v.get("leaf_hash").and_then(Value::as_str) != Some(hex::encode(leaf).as_str()) {
            return Err(format!(
                "seq {seq}: the leaf hash is not the hash of the canonical text"
            ));
        }
        let parsed: Value = serde_json::from_str(canonical)
            .map_err(|_| format!("seq {seq}: canonical text is not JSON"))?;
        for name in ["action", "target", "request_id"] {
            if parsed.get(name) != v.get(name) {
                return Err(format!(
                    "seq {seq}: `{name}` differs from the canonical text"
                ));
            }
        }
        leaves.push(leaf);
    }
    let note = checkpoint.ok_or("the export ends without a checkpoint")?;
    let text = verifier.open(&note)?;
    let witnessed = super::cosign::require_all(&note, text, witnesses)?;
    let (origin, size, root) = parse_checkpoint(text)?;
    if size != leaves.size() {
        return Err(format!(
            "the checkpoint covers {size} entries but the export holds {}",
            leaves.size()
        ));
    }
    if leaves.root() != root {
        return Err(format!(
            "the entries do not hash to the checkpoint's root at size {size}"
        ));
    }
    Ok((origin, size, hex::encode(root), witnessed))
}
