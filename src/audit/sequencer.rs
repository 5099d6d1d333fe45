//! Integrates queued entries into the tree, in batches, as Trillian's
//! sequencer does: writers only insert their entry, so writes to different
//! firearms never wait on the log. Each batch assigns gap-free seqs, stores
//! the nodes it completes (`tree`) and a signed head, in one transaction: a crash
//! at any moment leaves every committed entry to be integrated exactly once.

use base64::Engine;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::merkle::{self, Hash, Nodes};
use super::signing::{checkpoint_text, NoteKey};
use super::tree::{self, parse_hash, StoredNodes};
use crate::db::audit::{EntryRow, HeadRow, NodeRow};
use crate::db::{self, DbConn, Pool};
use crate::error::{AppError, AppResult};

/// The log's identity: its origin line and signing key.
pub struct AuditLog {
    pub origin: String,
    pub key: NoteKey,
}

impl AuditLog {
    /// The Ed25519 signature (base64) over a head's checkpoint text.
    pub fn sign_head(&self, size: u64, root: &Hash) -> String {
        let text = checkpoint_text(&self.origin, size, root);
        base64::engine::general_purpose::STANDARD.encode(self.key.sign(text.as_bytes()))
    }

    pub fn checkpoint(&self, size: u64, root: &Hash) -> String {
        self.key
            .sign_note(&checkpoint_text(&self.origin, size, root))
    }
}

fn store_head(c: &mut DbConn, log: &AuditLog, size: u64, root: &Hash) -> AppResult<()> {
    db::audit::insert_head(
        c,
        &HeadRow {
            size: size as i64,
            root_hash: hex::encode(root),
            at: db::now(),
            signature: log.sign_head(size, root),
        },
    )?;
    Ok(())
}

/// Signs the empty tree once, so a fresh registry has a head to show.
pub fn ensure_genesis(conn: &mut DbConn, log: &AuditLog) -> AppResult<()> {
    db::write_tx(conn, |c| {
        db::audit::lock_state(c)?;
        if db::audit::latest_head(c)?.is_none() {
            store_head(c, log, 0, &merkle::empty_root())?;
        }
        Ok(())
    })
}

/// Integrates up to `max_batch` queued entries. Answers how many.
pub fn integrate(conn: &mut DbConn, log: &AuditLog, max_batch: i64) -> AppResult<usize> {
    if !db::audit::any_pending(conn)? {
        return Ok(0);
    }
    db::write_tx(conn, |c| {
        let size = db::audit::lock_state(c)? as u64;
        let pending = db::audit::pending(c, max_batch)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = pending.iter().map(|(id, _)| id.clone()).collect();
        db::audit::set_seqs(c, size as i64, &ids)?;
        let leaves = pending
            .iter()
            .map(|(_, leaf)| parse_hash(leaf))
            .collect::<AppResult<Vec<_>>>()?;
        extend(c, log, size, &leaves)?;
        Ok(pending.len())
    })
}

/// Appends entries that were never queued, with their seqs, in one
/// transaction: what the read log writes, so a read's entry is one row
/// written once rather than a row written and then updated.
pub fn append(conn: &mut DbConn, log: &AuditLog, rows: &mut [EntryRow]) -> AppResult<()> {
    db::write_tx(conn, |c| append_within(c, log, rows))
}

/// [`append`] inside the caller's transaction, which from here to its
/// commit holds the log's lock: nothing else is integrated meanwhile.
pub fn append_within(c: &mut DbConn, log: &AuditLog, rows: &mut [EntryRow]) -> AppResult<()> {
    let size = db::audit::lock_state(c)? as u64;
    if rows.is_empty() {
        // The same tree needs no second head.
        return Ok(());
    }
    for (i, row) in rows.iter_mut().enumerate() {
        row.seq = Some((size + i as u64) as i64);
    }
    db::audit::queue(c, rows)?;
    let leaves = rows
        .iter()
        .map(|r| parse_hash(&r.leaf_hash))
        .collect::<AppResult<Vec<_>>>()?;
    extend(c, log, size, &leaves)
}

/// Grows the tree of `size` leaves by `leaves`: stores the nodes they
/// complete, the new signed head and the new size. Inside the caller's
/// transaction, which holds the state lock.
fn extend(c: &mut DbConn, log: &AuditLog, size: u64, leaves: &[Hash]) -> AppResult<()> {
    let mut rows = Vec::new();
    let new_size = size + leaves.len() as u64;
    let signed = db::audit::head_at(c, size as i64)?;
    let root = {
        let mut nodes = StoredNodes::new(&mut *c);
        // The tree's leaves are the entries' own leaf hashes: one changed
        // behind the registry's back must stop the log, not be signed into
        // the next head. The blocks read here are the ones extending needs.
        // (Every batch signs a head of its size; only a log written around
        // the registry, as bench/evidence.py's, lacks one.)
        if let Some(head) = signed {
            let old = merkle::root(&nodes, size).map_err(AppError::internal)?;
            if head.root_hash != hex::encode(old) {
                return Err(AppError::internal(format!(
                    "the stored tree of {size} entries does not hash to its signed head: \
                     integration stopped (`registry audit verify` names the entry)"
                )));
            }
        }
        for (i, leaf) in leaves.iter().enumerate() {
            let done =
                merkle::nodes_completed_by(size + i as u64, *leaf, |lv, ix| nodes.node(lv, ix))
                    .map_err(AppError::internal)?;
            for (level, idx, hash) in done {
                nodes.add_fresh(level, idx, hash);
                if tree::is_stored(level) {
                    rows.push(NodeRow {
                        level: level as i32,
                        idx: idx as i64,
                        hash: hex::encode(hash),
                    });
                }
            }
        }
        merkle::root(&nodes, new_size).map_err(AppError::internal)?
    };
    db::audit::insert_nodes(c, &rows)?;
    store_head(c, log, new_size, &root)?;
    Ok(db::audit::set_size(c, new_size as i64)?)
}

const MAX_BATCH: i64 = 2000;
const PAUSE: Duration = Duration::from_millis(50);

/// Runs the sequencer on its own thread until `stop` is set.
pub fn spawn(
    pool: Pool,
    log: Arc<AuditLog>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name("audit-sequencer".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let done = db::on_pooled(&pool, |c| integrate(c, &log, MAX_BATCH));
                match done {
                    // A full batch means more are waiting. Otherwise pause:
                    // entries gather meanwhile, and a batch costs about the
                    // same for ten entries as for one (a commit, the head).
                    Ok(n) if n as i64 == MAX_BATCH => {}
                    Ok(_) => std::thread::sleep(PAUSE),
                    Err(e) => {
                        tracing::error!(error = %e, "audit sequencer failed; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        })
        .map_err(|e| format!("cannot start the audit sequencer thread: {e}"))
}
