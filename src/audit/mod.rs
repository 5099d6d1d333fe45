//! The tamper-evident audit log. Every change queues its entry in the same
//! transaction ([`queue`]); the sequencer integrates queued entries into an
//! RFC 9162 Merkle tree in batches and signs each new head. See
//! docs/audit.md.

pub mod content;
pub mod cosign;
pub mod evidence;
pub mod merkle;
pub mod reads;
pub mod sequencer;
pub mod signing;
pub mod tiles;
pub mod tree;
pub mod verify;
pub mod witnessing;

use serde_json::{json, Value};

use crate::db::audit::EntryRow;
use crate::db::firearms::{EventRow, FirearmRow};
use crate::db::{self, DbConn};
use crate::domain::Firearm;
use crate::error::AppResult;

/// Who did it, and under which request.
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub agency_id: Option<String>,
    pub request_id: String,
    /// The request's `Registry-Purpose`, if it gave one.
    pub purpose: Option<String>,
}

/// One thing to record.
pub struct Entry {
    /// What happened, e.g. `firearm.registered`, `auth.login_failed`.
    pub action: String,
    /// What it happened to, e.g. `firearm:<id>`.
    pub target: String,
    /// The digest of the content the entry vouches for. Taken at once, so
    /// a bulk import holds digests, not whole documents, until it commits.
    pub content_digest: String,
    /// The history event recorded, if any.
    pub event_id: Option<String>,
    /// A row whose state after the change the entry vouches for.
    /// The row's key and the digest of its state after the change.
    pub subject: Option<(String, String)>,
    /// What an auditor must be able to read in the entry itself, not only
    /// as a digest: a read's filters, a trace query's parameters.
    pub detail: Option<Value>,
}

impl Entry {
    pub fn new(action: impl Into<String>, target: impl Into<String>, content: Value) -> Self {
        Self {
            action: action.into(),
            target: target.into(),
            content_digest: content::digest(&content),
            event_id: None,
            subject: None,
            detail: None,
        }
    }

    /// Shows `detail` in the entry's canonical text.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn event(mut self, event_id: &str) -> Self {
        self.event_id = Some(event_id.to_string());
        self
    }

    pub fn subject(mut self, key: String, state: Value) -> Self {
        self.subject = Some((key, content::digest(&state)));
        self
    }
}

/// What an entry's canonical text holds besides its row's columns.
#[derive(Debug, Default)]
pub struct Vouched<'a> {
    pub content_digest: &'a str,
    pub state_digest: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub detail: Option<&'a Value>,
}

/// The canonical text of an entry: what is hashed into its leaf, shown to
/// auditors as `canonical`, and checked offline. `purpose` and `detail`
/// appear only when present, so entries written before they existed keep
/// their text.
fn canonical(row: &EntryRow, v: &Vouched<'_>) -> String {
    let mut text = json!({
        "id": row.id,
        "at": content::time(&row.at),
        "actor": {
            "user_id": row.actor_user_id,
            "username": row.actor_username,
            "agency_id": row.actor_agency_id,
        },
        "action": row.action,
        "target": row.target,
        "request_id": row.request_id,
        "event_id": row.event_id,
        "subject": row.subject,
        "content_digest": v.content_digest,
        "state_digest": v.state_digest,
    });
    if let Some(purpose) = v.purpose {
        text["purpose"] = json!(purpose);
    }
    if let Some(detail) = v.detail {
        text["detail"] = detail.clone();
    }
    content::canonical_json(&text)
}

/// The canonical text an entry's columns give. An entry is stored without
/// its text: the leaf hash, in the signed tree, proves the columns still
/// give the text it was made from.
pub fn derived(row: &EntryRow) -> String {
    // A detail that is not JSON was written around the registry; it is
    // hashed as a string, so that the leaf no longer matches.
    let detail = row
        .detail
        .as_deref()
        .map(|d| serde_json::from_str::<Value>(d).unwrap_or_else(|_| Value::String(d.to_string())));
    canonical(
        row,
        &Vouched {
            content_digest: &row.content_digest,
            state_digest: row.state_digest.as_deref(),
            purpose: row.purpose.as_deref(),
            detail: detail.as_ref(),
        },
    )
}

/// An entry's canonical text: the stored one of an entry written before
/// texts were derived, otherwise what its columns give.
pub fn text(row: &EntryRow) -> String {
    if row.canonical.is_empty() {
        derived(row)
    } else {
        row.canonical.clone()
    }
}

/// Builds the stored row of an entry: its columns and leaf hash.
pub fn entry_row(actor: &AuditActor, e: Entry, at: chrono::NaiveDateTime) -> EntryRow {
    let (subject, state_digest) = e.subject.unzip();
    let mut row = EntryRow {
        id: db::new_id(),
        seq: None,
        at,
        actor_user_id: actor.user_id.clone(),
        actor_username: actor.username.clone(),
        actor_agency_id: actor.agency_id.clone(),
        action: e.action,
        target: e.target,
        request_id: actor.request_id.clone(),
        event_id: e.event_id,
        subject,
        canonical: String::new(),
        leaf_hash: String::new(),
        content_digest: e.content_digest,
        state_digest,
        purpose: actor.purpose.clone(),
        detail: e.detail.as_ref().map(content::canonical_json),
    };
    row.leaf_hash = hex::encode(merkle::leaf_hash(derived(&row).as_bytes()));
    row
}

/// The entry of a change to a firearm: the history event it records, and
/// the firearm's state after it.
pub fn firearm_change(firearm: &Firearm, event: &EventRow) -> Entry {
    Entry::new(
        format!("firearm.{}", event.event_type),
        format!("firearm:{}", firearm.id),
        content::event(event),
    )
    .event(&event.id)
    .subject(
        format!("firearm:{}", firearm.id),
        content::firearm(&FirearmRow::from(firearm)),
    )
}

/// Queues entries in the caller's transaction: they commit with the change
/// or not at all.
pub fn queue(conn: &mut DbConn, actor: &AuditActor, entries: Vec<Entry>) -> AppResult<()> {
    Ok(db::audit::queue(conn, &rows(actor, entries))?)
}

fn rows(actor: &AuditActor, entries: Vec<Entry>) -> Vec<EntryRow> {
    let at = db::now();
    entries
        .into_iter()
        .map(|e| entry_row(actor, e, at))
        .collect()
}

/// Where a bulk write puts its entries.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    /// Queued for the sequencer, like every other write's.
    Queue,
    /// Straight into the tree in the writer's own transaction, which holds
    /// the log's lock from [`Sink::open`] to its commit. An entry queued
    /// is written and then updated with its seq: two row versions and two
    /// of every index entry, which at a million firearms doubled what the
    /// log stored and cost the sequencer a pass over every row. A bulk
    /// import writes each entry once.
    Tree(&'a sequencer::AuditLog),
}

impl Sink<'_> {
    /// Takes the log's lock now when writing into the tree, before the
    /// transaction writes anything another writer could wait on: two bulk
    /// writes then run one after the other instead of deadlocking.
    pub fn open(self, conn: &mut DbConn) -> AppResult<()> {
        if let Sink::Tree(_) = self {
            db::audit::lock_state(conn)?;
        }
        Ok(())
    }

    pub fn write(
        self,
        conn: &mut DbConn,
        actor: &AuditActor,
        entries: Vec<Entry>,
    ) -> AppResult<()> {
        match self {
            Sink::Queue => queue(conn, actor, entries),
            Sink::Tree(log) => sequencer::append_within(conn, log, &mut rows(actor, entries)),
        }
    }
}
