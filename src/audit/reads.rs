//! Entries for reads of registry data: who read which firearm, history,
//! trace request or part of the log, with what filters and why.
//!
//! A read must not wait for a commit of its own: that would make every
//! read cost a write's fsync (a trace ran at the rate of a commit). Its
//! entry goes to a bounded queue in memory instead, and one thread writes
//! the queue in batches, a transaction each, within [`WINDOW`] of the read,
//! straight into the tree: each entry is written once, with its seq, and
//! the batch's nodes and signed head come with it. A crash can
//! lose the entries of the reads answered in the last moments before it,
//! which the contract allows (at most one second); a write's entry is
//! never among them, since writes queue theirs in their own transaction.
//! When the queue is full the read writes its entry itself, so an entry
//! is slowed down, never dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::sequencer::{self, AuditLog};
use super::{entry_row, AuditActor, Entry};
use crate::db::audit::EntryRow;
use crate::db::{self, DbConn, Pool, StoreError};
use crate::error::AppResult;

/// How long the writer lets entries gather before writing them.
pub const WINDOW: Duration = Duration::from_millis(50);
/// Entries held in memory at most; past that a read writes its own.
const CAPACITY: usize = 10_000;
const MAX_BATCH: usize = 2_000;

pub struct ReadLog {
    sender: SyncSender<EntryRow>,
    enabled: bool,
    /// Where a read served by a standby writes its entry when the queue is
    /// full: the standby takes no writes.
    primary: Pool,
}

/// The entry of a read: `detail` (filters, query parameters) is shown in
/// the entry's canonical text, where an auditor reads it.
pub fn entry(action: &str, target: impl Into<String>, detail: Value) -> Entry {
    Entry::new(action, target, detail.clone()).detail(detail)
}

impl ReadLog {
    /// Starts the writer thread. With `enabled` false (for measuring what
    /// the log costs, never in service) reads are not recorded.
    pub fn start(
        pool: Pool,
        log: Arc<AuditLog>,
        stop: Arc<AtomicBool>,
        enabled: bool,
    ) -> Result<(Arc<Self>, JoinHandle<()>), String> {
        let (sender, receiver) = mpsc::sync_channel(CAPACITY);
        let primary = pool.clone();
        let writer = std::thread::Builder::new()
            .name("audit-reads".into())
            .spawn(move || run(&pool, &log, &receiver, &stop))
            .map_err(|e| format!("cannot start the read log's thread: {e}"))?;
        Ok((
            Arc::new(Self {
                sender,
                enabled,
                primary,
            }),
            writer,
        ))
    }

    /// Records a read by `actor`. `conn` is used only if the queue is full.
    pub fn record(&self, conn: &mut DbConn, actor: &AuditActor, e: Entry) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        match self.sender.try_send(entry_row(actor, e, db::now())) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(row) | TrySendError::Disconnected(row)) => {
                let rows = std::slice::from_ref(&row);
                match db::write_tx(conn, |c| db::audit::queue(c, rows)) {
                    Err(StoreError::Unavailable(_)) if db::replica::is_standby(conn) => {
                        Ok(db::on_pooled(&self.primary, |c| {
                            db::write_tx(c, |c| db::audit::queue(c, rows))
                        })?)
                    }
                    done => Ok(done?),
                }
            }
        }
    }
}

fn run(pool: &Pool, log: &AuditLog, receiver: &Receiver<EntryRow>, stop: &AtomicBool) {
    loop {
        let first = match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(row) => row,
            Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => continue,
            Err(_) => break,
        };
        let mut batch = vec![first];
        let deadline = Instant::now() + WINDOW;
        while batch.len() < MAX_BATCH {
            match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(row) => batch.push(row),
                Err(_) => break,
            }
        }
        write(pool, log, batch, stop);
    }
    // Stopping: what is still queued is written before the thread ends.
    let rest: Vec<EntryRow> = receiver.try_iter().collect();
    if !rest.is_empty() {
        write(pool, log, rest, stop);
    }
}

/// Writes a batch straight into the tree (seqs, nodes, a signed head),
/// retrying while the database is away; gives up only once the service is
/// stopping and a last try failed.
fn write(pool: &Pool, log: &AuditLog, mut batch: Vec<EntryRow>, stop: &AtomicBool) {
    loop {
        match db::on_pooled(pool, |c| sequencer::append(c, log, &mut batch)) {
            Ok(()) => return,
            Err(e) if stop.load(Ordering::Relaxed) => {
                tracing::error!(error = %e, lost = batch.len(), "read entries could not be written at shutdown");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, pending = batch.len(), "writing read entries failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}
