//! Storage of the audit log: queued and integrated entries, the tree's
//! complete nodes, and signed heads.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{StoreError, StoreResult};
use super::schema::{audit_entries, audit_heads, audit_nodes, audit_state};
use super::DbConn;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = audit_entries, treat_none_as_default_value = false)]
pub struct EntryRow {
    pub id: String,
    pub seq: Option<i64>,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<String>,
    pub actor_username: Option<String>,
    pub actor_agency_id: Option<String>,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub event_id: Option<String>,
    pub subject: Option<String>,
    /// The canonical text as written before it was derived from the
    /// columns (migration 000013); '' for every entry since.
    pub canonical: String,
    pub leaf_hash: String,
    pub content_digest: String,
    pub state_digest: Option<String>,
    pub purpose: Option<String>,
    /// The detail's canonical JSON.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = audit_heads)]
pub struct HeadRow {
    pub size: i64,
    pub root_hash: String,
    pub at: NaiveDateTime,
    pub signature: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_nodes, treat_none_as_default_value = false)]
pub struct NodeRow {
    pub level: i32,
    pub idx: i64,
    pub hash: String,
}

pub fn queue(conn: &mut DbConn, rows: &[EntryRow]) -> StoreResult<()> {
    crate::insert_chunks!(conn, audit_entries::table, rows, StoreError::from);
    Ok(())
}

/// Takes the sequencer's lock (the state row, written first) and answers
/// the integrated size.
pub fn lock_state(conn: &mut DbConn) -> StoreResult<i64> {
    diesel::update(audit_state::table.find(1))
        .set(audit_state::size.eq(audit_state::size))
        .execute(conn)?;
    Ok(audit_state::table
        .find(1)
        .select(audit_state::size)
        .first(conn)?)
}

pub fn set_size(conn: &mut DbConn, size: i64) -> StoreResult<()> {
    diesel::update(audit_state::table.find(1))
        .set(audit_state::size.eq(size))
        .execute(conn)?;
    Ok(())
}

const SQLITE_PENDING: &str = "SELECT id, leaf_hash FROM audit_entries \
     INDEXED BY audit_entries_pending WHERE seq IS NULL ORDER BY id LIMIT ?";

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    leaf_hash: String,
}

/// Entries waiting for a seq, oldest first: (id, leaf hash).
pub fn pending(conn: &mut DbConn, limit: i64) -> StoreResult<Vec<(String, String)>> {
    let q = audit_entries::table
        .filter(audit_entries::seq.is_null())
        .order(audit_entries::id.asc())
        .limit(limit)
        .select((audit_entries::id, audit_entries::leaf_hash));
    match conn {
        DbConn::Pg(c) => Ok(q.load(c)?),
        // SQLite's planner prefers the unique index on seq for `seq IS
        // NULL` and then sorts every pending entry to take the first few:
        // after a bulk import of millions, each batch read them all and the
        // log integrated 800 entries a second. The pending index is named.
        DbConn::Sqlite(c) => Ok(diesel::sql_query(SQLITE_PENDING)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .load::<PendingRow>(c)?
            .into_iter()
            .map(|r| (r.id, r.leaf_hash))
            .collect()),
    }
}

/// Whether any entry waits for a seq: a plain read, so that an idle
/// sequencer takes no lock and writes nothing.
pub fn any_pending(conn: &mut DbConn) -> StoreResult<bool> {
    Ok(audit_entries::table
        .filter(audit_entries::seq.is_null())
        .select(audit_entries::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Gives `ids` the seqs `first`, `first + 1`, ... in one statement: the
/// ids travel as one JSON array, which both backends can unnest.
pub fn set_seqs(conn: &mut DbConn, first: i64, ids: &[String]) -> StoreResult<()> {
    use diesel::sql_types::{BigInt, Text};
    let list = serde_json::Value::from(ids).to_string();
    let updated = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "UPDATE audit_entries SET seq = $1 + j.ord - 1 \
             FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS j(id, ord) \
             WHERE audit_entries.id = j.id",
        )
        .bind::<BigInt, _>(first)
        .bind::<Text, _>(&list)
        .execute(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(
            "UPDATE audit_entries SET seq = ? + j.key FROM json_each(?) AS j \
             WHERE audit_entries.id = j.value",
        )
        .bind::<BigInt, _>(first)
        .bind::<Text, _>(&list)
        .execute(c)?,
    };
    if updated != ids.len() {
        return Err(StoreError::Inconsistent(format!(
            "assigned {updated} seqs for {} entries",
            ids.len()
        )));
    }
    Ok(())
}

pub fn insert_nodes(conn: &mut DbConn, nodes: &[NodeRow]) -> StoreResult<()> {
    crate::insert_chunks!(conn, audit_nodes::table, nodes, StoreError::from);
    Ok(())
}

/// The stored hashes of `count` consecutive complete nodes at `level`
/// (a multiple of eight, above 0: `audit::tree`), from `first`, in order.
pub fn nodes_at(conn: &mut DbConn, level: i32, first: i64, count: i64) -> StoreResult<Vec<String>> {
    Ok(audit_nodes::table
        .filter(audit_nodes::level.eq(level))
        .filter(audit_nodes::idx.ge(first))
        .filter(audit_nodes::idx.lt(first + count))
        .order(audit_nodes::idx.asc())
        .select(audit_nodes::hash)
        .load(conn)?)
}

/// The leaf hashes of the `count` integrated entries from seq `first`,
/// in order: the tree's level 0.
pub fn leaf_hashes(conn: &mut DbConn, first: i64, count: i64) -> StoreResult<Vec<String>> {
    Ok(audit_entries::table
        .filter(audit_entries::seq.ge(first))
        .filter(audit_entries::seq.lt(first + count))
        .order(audit_entries::seq.asc())
        .select(audit_entries::leaf_hash)
        .load(conn)?)
}

/// The `count` integrated entries from seq `first`, in order: an entry
/// bundle's contents.
pub fn range(conn: &mut DbConn, first: i64, count: i64) -> StoreResult<Vec<EntryRow>> {
    Ok(audit_entries::table
        .filter(audit_entries::seq.ge(first))
        .filter(audit_entries::seq.lt(first + count))
        .order(audit_entries::seq.asc())
        .select(audit_entries::all_columns)
        .load(conn)?)
}

/// The entries recording these history events.
pub fn for_events(conn: &mut DbConn, event_ids: &[String]) -> StoreResult<Vec<EntryRow>> {
    let mut out = Vec::with_capacity(event_ids.len());
    for chunk in event_ids.chunks(500) {
        out.extend(
            audit_entries::table
                .filter(audit_entries::event_id.eq_any(chunk))
                .select(audit_entries::all_columns)
                .load::<EntryRow>(conn)?,
        );
    }
    Ok(out)
}

/// The latest entry vouching for `subject`'s state, queued or integrated:
/// a queued one is the latest of all.
pub fn latest_for_subject(conn: &mut DbConn, subject: &str) -> StoreResult<Option<EntryRow>> {
    let queued = audit_entries::table
        .filter(audit_entries::subject.eq(subject))
        .filter(audit_entries::seq.is_null())
        .select(audit_entries::all_columns)
        .first::<EntryRow>(conn)
        .optional()?;
    if queued.is_some() {
        return Ok(queued);
    }
    Ok(audit_entries::table
        .filter(audit_entries::subject.eq(subject))
        .filter(audit_entries::seq.is_not_null())
        .order(audit_entries::seq.desc())
        .select(audit_entries::all_columns)
        .first(conn)
        .optional()?)
}

pub fn insert_head(conn: &mut DbConn, head: &HeadRow) -> StoreResult<()> {
    diesel::insert_into(audit_heads::table)
        .values(head)
        .execute(conn)?;
    Ok(())
}

pub fn latest_head(conn: &mut DbConn) -> StoreResult<Option<HeadRow>> {
    Ok(audit_heads::table
        .order(audit_heads::size.desc())
        .select(audit_heads::all_columns)
        .first(conn)
        .optional()?)
}

pub fn head_at(conn: &mut DbConn, size: i64) -> StoreResult<Option<HeadRow>> {
    Ok(audit_heads::table
        .find(size)
        .select(audit_heads::all_columns)
        .first(conn)
        .optional()?)
}

pub fn heads(conn: &mut DbConn) -> StoreResult<Vec<HeadRow>> {
    Ok(audit_heads::table
        .order(audit_heads::size.asc())
        .select(audit_heads::all_columns)
        .load(conn)?)
}

/// Integrated entries with seq > `after` (all from 0 when none), in order.
pub fn integrated(conn: &mut DbConn, after: Option<i64>, limit: i64) -> StoreResult<Vec<EntryRow>> {
    let mut q = audit_entries::table
        .filter(audit_entries::seq.is_not_null())
        .order(audit_entries::seq.asc())
        .limit(limit)
        .select(audit_entries::all_columns)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(audit_entries::seq.gt(after));
    }
    Ok(q.load(conn)?)
}

/// The tables whose every row an audit entry must account for, with the
/// entry's link to a row: the history event it records, or the subject
/// kind whose state it vouches for.
pub const ACCOUNTED: [(&str, Link); 11] = [
    ("firearm_events", Link::Event),
    ("firearms", Link::Subject("firearm")),
    ("users", Link::Subject("user")),
    ("agencies", Link::Subject("agency")),
    ("role_grants", Link::Subject("role_grant")),
    ("trace_requests", Link::Subject("trace_request")),
    ("armouries", Link::Subject("armoury")),
    ("stock_checks", Link::Subject("stock_check")),
    ("holders", Link::Subject("holder")),
    ("licences", Link::Subject("licence")),
    ("webhooks", Link::Subject("webhook")),
];

#[derive(Debug, Clone, Copy)]
pub enum Link {
    Event,
    Subject(&'static str),
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The first row of `table` that no entry, queued or integrated, links to.
pub fn unaccounted(conn: &mut DbConn, table: &str, link: Link) -> StoreResult<Option<String>> {
    let condition = match link {
        Link::Event => "a.event_id = t.id".to_string(),
        Link::Subject(kind) => format!("a.subject = '{kind}:' || t.id"),
    };
    let query = format!(
        "SELECT t.id AS id FROM {table} t WHERE NOT EXISTS \
         (SELECT 1 FROM audit_entries a WHERE {condition}) ORDER BY t.id LIMIT 1"
    );
    let rows: Vec<IdRow> = match conn {
        DbConn::Pg(c) => diesel::sql_query(query).load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(query).load(c)?,
    };
    Ok(rows.into_iter().next().map(|r| r.id))
}

#[cfg(test)]
mod tests {
    /// The pending entries are read in id order from the pending index,
    /// without sorting the whole backlog.
    #[test]
    fn sqlite_reads_pending_entries_from_the_pending_index() {
        let plan = crate::db::sqlite_plan(&super::SQLITE_PENDING.replace('?', "2000"));
        assert!(
            plan.iter().any(|d| d.contains("audit_entries_pending")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
    }
}
