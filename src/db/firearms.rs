//! Firearm rows, their identifier index, and their history events.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::{unique, StoreError, StoreResult};
use super::schema::{destructions, firearm_events, firearm_identifiers, firearms};
use super::DbConn;
use crate::domain::serial::{normalize, SerialNumber};
use crate::domain::{Category, Component, ComponentKind, CountryCode, Firearm, Holder, Status};

/// A firearm row. Written back whole by an event (`AsChangeset`): the
/// transaction holds the row, so every column is the current value.
/// `None` is inserted as NULL rather than DEFAULT, here and in the other
/// rows written per request: an insert with DEFAULT in it is one diesel
/// will not keep prepared.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = firearms, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct FirearmRow {
    pub id: String,
    pub category: String,
    pub manufacturer: String,
    pub manufacturer_key: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country_of_manufacture: String,
    pub year_of_manufacture: Option<i32>,
    pub serial_number: String,
    pub serial_normalized: String,
    pub markings: String,
    pub components: String,
    pub status: String,
    pub owner: String,
    pub custodian: Option<String>,
    pub responsible_agency_id: String,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The armoury holding the firearm: derived from the holders, kept
    /// for the index that lists a store.
    pub armoury_id: Option<String>,
    pub personal_erased_at: Option<NaiveDateTime>,
}

/// A component as stored: its kind and its serial as marked.
#[derive(serde::Deserialize)]
struct StoredComponent {
    kind: ComponentKind,
    serial_number: Option<String>,
}

fn stored<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("firearms.{column}: {e}"))
}

impl TryFrom<FirearmRow> for Firearm {
    type Error = String;

    /// Parses a stored row. A row that does not parse was written around
    /// the registry; it is refused, never read as empty.
    fn try_from(r: FirearmRow) -> Result<Self, String> {
        let components: Vec<StoredComponent> = stored("components", &r.components)?;
        Ok(Self {
            category: Category::parse(&r.category)?,
            country_of_manufacture: CountryCode::parse(&r.country_of_manufacture)?,
            serial: SerialNumber {
                marked: r.serial_number,
                normalized: r.serial_normalized,
            },
            markings: stored("markings", &r.markings)?,
            components: components
                .into_iter()
                .map(|c| Component {
                    kind: c.kind,
                    serial: c.serial_number.map(|marked| SerialNumber {
                        normalized: normalize(&marked),
                        marked,
                    }),
                })
                .collect(),
            status: Status::parse(&r.status)?,
            owner: stored("owner", &r.owner)?,
            custodian: r
                .custodian
                .as_deref()
                .map(|c| stored::<Holder>("custodian", c))
                .transpose()?,
            id: r.id,
            manufacturer: r.manufacturer,
            manufacturer_key: r.manufacturer_key,
            model: r.model,
            calibre: r.calibre,
            year_of_manufacture: r.year_of_manufacture,
            responsible_agency_id: r.responsible_agency_id,
            notes: r.notes,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            personal_erased_at: r.personal_erased_at,
        })
    }
}

impl From<&Firearm> for FirearmRow {
    fn from(f: &Firearm) -> Self {
        let components: Vec<serde_json::Value> =
            f.components.iter().map(Component::to_json).collect();
        Self {
            id: f.id.clone(),
            category: f.category.to_string(),
            manufacturer: f.manufacturer.clone(),
            manufacturer_key: f.manufacturer_key.clone(),
            model: f.model.clone(),
            calibre: f.calibre.clone(),
            country_of_manufacture: f.country_of_manufacture.to_string(),
            year_of_manufacture: f.year_of_manufacture,
            serial_number: f.serial.marked.clone(),
            serial_normalized: f.serial.normalized.clone(),
            markings: serde_json::json!(f.markings).to_string(),
            components: serde_json::Value::Array(components).to_string(),
            status: f.status.to_string(),
            owner: f.owner.to_json().to_string(),
            custodian: f.custodian.as_ref().map(|c| c.to_json().to_string()),
            responsible_agency_id: f.responsible_agency_id.clone(),
            notes: f.notes.clone(),
            version: f.version,
            created_at: f.created_at,
            updated_at: f.updated_at,
            armoury_id: f.holding().armoury_id.clone(),
            personal_erased_at: f.personal_erased_at,
        }
    }
}

pub(super) fn typed(row: FirearmRow) -> StoreResult<Firearm> {
    Firearm::try_from(row).map_err(|e| StoreError::Inconsistent(format!("firearm {e}")))
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = firearm_identifiers, treat_none_as_default_value = false)]
pub struct IdentifierInsertForm {
    pub firearm_id: String,
    pub position: i32,
    /// `serial`, `component` or `marking`.
    pub source: String,
    pub kind: String,
    pub text: String,
    pub normalized: String,
    /// `normalized` with look-alike characters folded, for tracing.
    pub canonical: String,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = firearm_events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub firearm_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
    pub recorded_by_user_id: String,
    pub recorded_by_username: String,
    pub recorded_by_agency_id: Option<String>,
    pub details: String,
    pub location: Option<String>,
    pub reference: Option<String>,
    pub notes: Option<String>,
    /// Random, when `details` holds personal data: the entry commits to
    /// that data only through a seal made with it (`audit::content`).
    pub personal_salt: Option<String>,
    /// The seal, kept when the personal data and the salt are erased.
    pub personal_seal: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = destructions)]
pub struct DestructionInsertForm {
    pub id: String,
    pub method: String,
    pub occurred_at: NaiveDateTime,
    pub location: Option<String>,
    pub certificate_reference: Option<String>,
    pub witnesses: String,
    pub firearm_count: i64,
    pub recorded_at: NaiveDateTime,
    pub recorded_by_user_id: String,
    pub recorded_by_agency_id: String,
}

/// Everything one registration writes.
pub struct Registration {
    pub firearm: Firearm,
    pub identifiers: Vec<IdentifierInsertForm>,
    /// `registered`, then any history the registration brought.
    pub events: Vec<EventRow>,
}

fn map_insert_error(e: diesel::result::Error) -> StoreError {
    unique(e, StoreError::DuplicateMarking)
}

/// Writes registrations in batches. A marking already registered is
/// `DuplicateMarking`; the caller's transaction then writes nothing.
pub fn insert<R: std::borrow::Borrow<Registration>>(
    conn: &mut DbConn,
    regs: &[R],
) -> StoreResult<()> {
    let regs: Vec<&Registration> = regs.iter().map(|r| r.borrow()).collect();
    let firearm_rows: Vec<FirearmRow> = regs.iter().map(|r| FirearmRow::from(&r.firearm)).collect();
    crate::insert_chunks!(conn, firearms::table, firearm_rows, map_insert_error);
    let identifiers: Vec<IdentifierInsertForm> = regs
        .iter()
        .flat_map(|r| r.identifiers.iter().cloned())
        .collect();
    crate::insert_chunks!(
        conn,
        firearm_identifiers::table,
        identifiers,
        map_insert_error
    );
    let events: Vec<EventRow> = regs.iter().flat_map(|r| r.events.iter().cloned()).collect();
    crate::insert_chunks!(conn, firearm_events::table, events, map_insert_error);
    Ok(())
}

/// Takes the firearm for one change: locks its row (`FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction is already exclusive), so
/// concurrent events apply one after another, each to the state the
/// previous one left. With `expected`, only a firearm still at that
/// version is taken.
///
/// Answers the firearm at its new version (written by [`apply_change`]),
/// or 404 / 412. A locking read rather than a version bump: diesel keeps
/// a read as a prepared statement but plans every update anew.
pub fn take_for_change(conn: &mut DbConn, id: &str, expected: Option<i64>) -> StoreResult<Firearm> {
    let q = firearms::table.find(id).select(firearms::all_columns);
    let row: Option<FirearmRow> = match conn {
        DbConn::Pg(c) => q.for_update().first(c).optional()?,
        DbConn::Sqlite(c) => q.first(c).optional()?,
    };
    let mut firearm = typed(row.ok_or(StoreError::NotFound)?)?;
    if expected.is_some_and(|v| v != firearm.version) {
        return Err(StoreError::Stale {
            current: firearm.version,
        });
    }
    firearm.version += 1;
    Ok(firearm)
}

/// Writes the firearm's changed columns and its event.
pub fn apply_change(conn: &mut DbConn, firearm: &Firearm, event: &EventRow) -> StoreResult<()> {
    diesel::update(firearms::table.find(&firearm.id))
        .set(FirearmRow::from(firearm))
        .execute(conn)
        .map_err(map_insert_error)?;
    diesel::insert_into(firearm_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// Adds an identifier (a new marking) after the firearm's existing ones.
impl IdentifierInsertForm {
    pub fn new(firearm_id: &str, position: usize, source: &str, kind: &str, text: &str) -> Self {
        Self {
            firearm_id: firearm_id.to_string(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            source: source.into(),
            kind: kind.into(),
            text: text.into(),
            normalized: crate::domain::serial::normalize(text),
            canonical: crate::domain::trace::fold(&crate::domain::serial::normalize(text)),
        }
    }
}

pub fn add_identifier(conn: &mut DbConn, mut form: IdentifierInsertForm) -> StoreResult<()> {
    let last: Option<i32> = firearm_identifiers::table
        .filter(firearm_identifiers::firearm_id.eq(&form.firearm_id))
        .select(diesel::dsl::max(firearm_identifiers::position))
        .first(conn)?;
    form.position = last.map_or(0, |p| p + 1);
    diesel::insert_into(firearm_identifiers::table)
        .values(&form)
        .execute(conn)?;
    Ok(())
}

/// Keeps the serial's identifier in step with a corrected serial.
pub fn set_serial_identifier(
    conn: &mut DbConn,
    firearm_id: &str,
    serial: &SerialNumber,
) -> StoreResult<()> {
    let (text, normalized) = (&serial.marked, &serial.normalized);
    diesel::update(
        firearm_identifiers::table
            .filter(firearm_identifiers::firearm_id.eq(firearm_id))
            .filter(firearm_identifiers::source.eq("serial")),
    )
    .set((
        firearm_identifiers::text.eq(text),
        firearm_identifiers::normalized.eq(normalized),
        firearm_identifiers::canonical.eq(crate::domain::trace::fold(normalized)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Writes a batch destruction: its record, every firearm's new state, and
/// every firearm's `destroyed` event.
pub fn record_destruction(
    conn: &mut DbConn,
    destruction: &DestructionInsertForm,
    firearms: &[Firearm],
    events: &[EventRow],
) -> StoreResult<()> {
    diesel::insert_into(destructions::table)
        .values(destruction)
        .execute(conn)?;
    apply_changes(conn, firearms, events)
}

/// Writes many firearms' changed columns and their events: the updates one
/// by one, the events in multi-row inserts.
pub fn apply_changes(
    conn: &mut DbConn,
    firearms: &[Firearm],
    events: &[EventRow],
) -> StoreResult<()> {
    for firearm in firearms {
        diesel::update(firearms::table.find(&firearm.id))
            .set(FirearmRow::from(firearm))
            .execute(conn)
            .map_err(map_insert_error)?;
    }
    crate::insert_chunks!(conn, firearm_events::table, events, map_insert_error);
    Ok(())
}

/// Many firearms by id in one query (order not kept).
pub fn find_many(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<Firearm>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::CHUNK) {
        let q = firearms::table
            .filter(firearms::id.eq_any(chunk))
            .select(firearms::all_columns);
        rows.extend(match conn {
            DbConn::Pg(c) => q.load::<FirearmRow>(c)?,
            DbConn::Sqlite(c) => q.load::<FirearmRow>(c)?,
        });
    }
    rows.into_iter().map(typed).collect()
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Firearm>> {
    find_row(conn, id)?.map(typed).transpose()
}

/// The row as stored, unparsed: what verification digests, so that a row
/// changed behind the registry's back is reported rather than refused.
pub fn find_row(conn: &mut DbConn, id: &str) -> StoreResult<Option<FirearmRow>> {
    Ok(firearms::table
        .find(id)
        .select(firearms::all_columns)
        .first(conn)
        .optional()?)
}

/// The id of the firearm holding a unique marking, if any.
pub fn find_by_marking(
    conn: &mut DbConn,
    country: &str,
    manufacturer_key: &str,
    serial_normalized: &str,
) -> StoreResult<Option<String>> {
    Ok(firearms::table
        .filter(firearms::country_of_manufacture.eq(country))
        .filter(firearms::manufacturer_key.eq(manufacturer_key))
        .filter(firearms::serial_normalized.eq(serial_normalized))
        .select(firearms::id)
        .first(conn)
        .optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub status: Option<String>,
    pub category: Option<String>,
    pub manufacturer_key: Option<String>,
    pub country_of_manufacture: Option<String>,
    pub responsible_agency_id: Option<String>,
    pub serial_normalized: Option<String>,
    pub armoury_id: Option<String>,
}

/// One page of firearms in id (creation) order. Keyset pagination on the id
/// means rows inserted while a client pages never shift the pages it has
/// yet to read: no row is skipped or repeated.
pub fn page(
    conn: &mut DbConn,
    filters: &Filters,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Firearm>> {
    let mut q = firearms::table
        .select(firearms::all_columns)
        .order(firearms::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(v) = &filters.status {
        q = q.filter(firearms::status.eq(v.clone()));
    }
    if let Some(v) = &filters.category {
        q = q.filter(firearms::category.eq(v.clone()));
    }
    if let Some(v) = &filters.manufacturer_key {
        q = q.filter(firearms::manufacturer_key.eq(v.clone()));
    }
    if let Some(v) = &filters.country_of_manufacture {
        q = q.filter(firearms::country_of_manufacture.eq(v.clone()));
    }
    if let Some(v) = &filters.responsible_agency_id {
        q = q.filter(firearms::responsible_agency_id.eq(v.clone()));
    }
    if let Some(v) = &filters.serial_normalized {
        q = q.filter(firearms::serial_normalized.eq(v.clone()));
    }
    if let Some(v) = &filters.armoury_id {
        q = q.filter(firearms::armoury_id.eq(v.clone()));
    }
    if let Some(after) = after {
        q = q.filter(firearms::id.gt(after.to_string()));
    }
    let rows: Vec<FirearmRow> = q.load(conn)?;
    rows.into_iter().map(typed).collect()
}

pub fn find_event(conn: &mut DbConn, id: &str) -> StoreResult<Option<EventRow>> {
    Ok(firearm_events::table
        .find(id)
        .select(firearm_events::all_columns)
        .first(conn)
        .optional()?)
}

/// A firearm's events, each with its place in the audit log once the
/// sequencer has integrated it.
pub type SequencedEvents = Vec<(EventRow, Option<i64>)>;

/// A firearm's history with each event's audit seq (None until integrated).
pub fn events_with_seq(conn: &mut DbConn, firearm_id: &str) -> StoreResult<SequencedEvents> {
    use super::schema::audit_entries;
    Ok(firearm_events::table
        .left_join(
            audit_entries::table.on(audit_entries::event_id.eq(firearm_events::id.nullable())),
        )
        .filter(firearm_events::firearm_id.eq(firearm_id))
        .order(firearm_events::sequence.asc())
        .select((firearm_events::all_columns, audit_entries::seq.nullable()))
        .load(conn)?)
}

/// When the firearm was destroyed: its `destroyed` event's `occurred_at`.
pub fn destroyed_at(conn: &mut DbConn, firearm_id: &str) -> StoreResult<Option<NaiveDateTime>> {
    Ok(firearm_events::table
        .filter(firearm_events::firearm_id.eq(firearm_id))
        .filter(firearm_events::event_type.eq("destroyed"))
        .order(firearm_events::sequence.desc())
        .select(firearm_events::occurred_at)
        .first(conn)
        .optional()?)
}

/// Destroyed firearms whose personal data is not erased and whose
/// destruction happened before `cutoff`: what a retention run erases.
pub fn due_for_erasure(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<String>> {
    Ok(firearm_events::table
        .inner_join(firearms::table)
        .filter(firearm_events::event_type.eq("destroyed"))
        .filter(firearm_events::occurred_at.lt(cutoff))
        .filter(firearms::status.eq("destroyed"))
        .filter(firearms::personal_erased_at.is_null())
        .select(firearms::id)
        .order(firearms::id.asc())
        .limit(limit)
        .load(conn)?)
}

/// All of a firearm's events, oldest first.
pub fn events_of(conn: &mut DbConn, firearm_id: &str) -> StoreResult<Vec<EventRow>> {
    Ok(firearm_events::table
        .filter(firearm_events::firearm_id.eq(firearm_id))
        .order(firearm_events::sequence.asc())
        .select(firearm_events::all_columns)
        .load(conn)?)
}

/// Writes an event's erased details and seal: the one change the
/// history's triggers allow.
pub fn erase_event(conn: &mut DbConn, event: &EventRow) -> StoreResult<()> {
    diesel::update(firearm_events::table.find(&event.id))
        .set((
            firearm_events::details.eq(&event.details),
            firearm_events::personal_salt.eq(None::<String>),
            firearm_events::personal_seal.eq(&event.personal_seal),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes a firearm's state without an event (its personal data erased).
pub fn update_state(conn: &mut DbConn, firearm: &Firearm) -> StoreResult<()> {
    diesel::update(firearms::table.find(&firearm.id))
        .set(FirearmRow::from(firearm))
        .execute(conn)?;
    Ok(())
}

/// When the firearm's registration happened: its first event's occurred_at.
pub fn registered_at(conn: &mut DbConn, firearm_id: &str) -> StoreResult<Option<NaiveDateTime>> {
    Ok(firearm_events::table
        .filter(firearm_events::firearm_id.eq(firearm_id))
        .filter(firearm_events::sequence.eq(1))
        .select(firearm_events::occurred_at)
        .first(conn)
        .optional()?)
}
