//! The life of a firearm: recording events, batch destruction, and the
//! custody history. Each change is one transaction that first takes the
//! firearm (see `db::firearms::take_for_change`), so concurrent events on
//! one firearm apply one after another and sequences stay gap-free.

pub mod apply;
pub mod input;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

use crate::auth::policy::{self, Action, HistoryScope};
use crate::auth::AuthUser;
use crate::auth::Recorder;
use crate::db::firearms::{DestructionInsertForm, EventRow, SequencedEvents};
use crate::db::{self, DbConn, StoreError};
use crate::domain::lifecycle::transition;
use crate::domain::{DestructionMethod, EventType, Firearm, Holder, LicenceCheck, Status};
use crate::error::{AppError, AppResult, FieldError};
use crate::input::Recipient;
use crate::reports::tally::Tally;
use crate::webhooks::Outbox;
use input::EventInput;

/// Where and under which reference an event happened, and free notes:
/// shown in every custody history, whatever the event's type.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub location: Option<String>,
    pub reference: Option<String>,
    pub notes: Option<String>,
}

pub(crate) fn event_row(
    firearm: &Firearm,
    actor: &Recorder,
    event_type: EventType,
    occurred_at: Option<DateTime<Utc>>,
    details: Value,
    context: EventContext,
) -> EventRow {
    let recorded_at = db::now();
    EventRow {
        id: db::new_id(),
        firearm_id: firearm.id.clone(),
        // The firearm's version counts its events: registration is 1, and
        // each event takes the version it bumped to.
        sequence: firearm.version,
        event_type: event_type.to_string(),
        occurred_at: occurred_at.map_or(recorded_at, |t| t.naive_utc()),
        recorded_at,
        recorded_by_user_id: actor.user_id.clone(),
        recorded_by_username: actor.username.clone(),
        recorded_by_agency_id: Some(actor.agency_id.clone()),
        personal_salt: crate::audit::content::salt_for(&details),
        details: details.to_string(),
        location: context.location,
        reference: context.reference,
        notes: context.notes,
        personal_seal: None,
    }
}

fn check_agencies_exist(c: &mut DbConn, ids: &[String]) -> AppResult<()> {
    for id in ids {
        if db::agencies::find(c, id)?.is_none() {
            return Err(AppError::field("to.agency_id", "no agency has this id"));
        }
    }
    Ok(())
}

/// The holder an event's recipient names: given in full, or an armoury,
/// which holds for its agency.
fn resolve_recipient(c: &mut DbConn, to: Recipient) -> AppResult<Holder> {
    match to {
        Recipient::Holder(h) => Ok(h),
        Recipient::Armoury(id) => db::armouries::holder(c, &id)?
            .ok_or_else(|| AppError::field("to.armoury_id", "no armoury has this id")),
        Recipient::Record(id) => crate::holders::as_recipient(c, &id),
    }
}

/// An ownership transfer to a holder record of a licensed kind needs a
/// licence of that holder in force on the day of the transfer that covers
/// the firearm's category. Read with the licence locked, so a revocation
/// racing the transfer either waits for it or is seen by it. Answers what
/// the event's details note: the licence, or the warning.
fn check_licence(
    c: &mut DbConn,
    firearm: &Firearm,
    input: &EventInput,
    mode: LicenceCheck,
) -> AppResult<Map<String, Value>> {
    let mut notes = Map::new();
    let input::Action::OwnershipTransfer { to, .. } = &input.action else {
        return Ok(notes);
    };
    let Some(holder_id) = &to.holder_id else {
        return Ok(notes);
    };
    if mode == LicenceCheck::Off || !crate::holders::needs_licence(to.kind) {
        return Ok(notes);
    }
    let day = input
        .occurred_at
        .map_or_else(|| db::now().date(), |t| t.date_naive());
    match crate::holders::licence_for(c, holder_id, day, firearm.category)? {
        Some(licence) => {
            notes.insert("licence_id".into(), json!(licence.id));
        }
        None if mode == LicenceCheck::Enforce => {
            return Err(AppError::unprocessable(
                "licence_required",
                format!(
                    "holder {holder_id} has no licence in force on {day} that covers the category `{}`",
                    firearm.category
                ),
            ));
        }
        None => {
            let warning = format!(
                "no licence in force on {day} covering `{}`",
                firearm.category
            );
            notes.insert("licence_warning".into(), json!(warning));
        }
    }
    Ok(notes)
}

/// An armoury keeps firearms only for the agency responsible for them.
fn check_armoury_agency(action: &input::Action, firearm: &Firearm) -> AppResult<()> {
    match action.recipient() {
        Some(to)
            if to.armoury_id.is_some()
                && to.agency_id.as_deref() != Some(firearm.responsible_agency_id.as_str()) =>
        {
            Err(AppError::field(
                "to.armoury_id",
                "the armoury belongs to an agency that is not responsible for this firearm",
            ))
        }
        _ => Ok(()),
    }
}

/// Records one event on a firearm. With `expected_version`, only if the
/// firearm is still at that version (412 otherwise).
pub fn record(
    conn: &mut DbConn,
    actor: &Recorder,
    firearm_id: &str,
    expected_version: Option<i64>,
    input: EventInput<Recipient>,
    licences: LicenceCheck,
) -> AppResult<(EventRow, Firearm)> {
    db::write_tx(conn, |c| {
        let firearm = db::firearms::take_for_change(c, firearm_id, expected_version)?;
        check_agencies_exist(c, &input.action.agency_refs())?;
        let input = input.resolve(|to| resolve_recipient(c, to))?;
        let notes = check_licence(c, &firearm, &input, licences)?;
        write(c, actor, &firearm, &input, notes)
    })
}

/// The firearm after a checked event, and the event's row: what a write
/// of one firearm or of many builds before it writes.
fn draft(
    firearm: &Firearm,
    actor: &Recorder,
    input: &EventInput,
    now: chrono::NaiveDateTime,
    notes: Map<String, Value>,
) -> AppResult<(apply::Applied, EventRow)> {
    let mut applied = apply::apply(firearm, actor, input, now)?;
    check_armoury_agency(&input.action, &applied.firearm)?;
    let mut details = std::mem::take(&mut applied.details);
    if let Value::Object(map) = &mut details {
        map.extend(notes);
    }
    let event = event_row(
        &applied.firearm,
        actor,
        input.action.event_type(),
        input.occurred_at,
        details,
        input.context(),
    );
    Ok((applied, event))
}

/// Applies a checked event to a firearm taken for change (`take_for_change`)
/// and writes it with its audit entry, in the caller's transaction.
pub(crate) fn write(
    c: &mut DbConn,
    actor: &Recorder,
    firearm: &Firearm,
    input: &EventInput,
    notes: Map<String, Value>,
) -> AppResult<(EventRow, Firearm)> {
    let (applied, event) = draft(firearm, actor, input, db::now(), notes)?;
    db::firearms::apply_change(c, &applied.firearm, &event).map_err(|e| match e {
        StoreError::DuplicateMarking => AppError::conflict(
            "duplicate_marking",
            "the corrected marking (country of manufacture, manufacturer, serial number) belongs to another registered firearm",
        ),
        other => other.into(),
    })?;
    crate::audit::queue(
        c,
        &actor.audit_actor(),
        vec![crate::audit::firearm_change(&applied.firearm, &event)],
    )?;
    let link = crate::holders::link_after(
        Some(firearm),
        &applied.firearm,
        event.sequence,
        event.occurred_at,
    );
    db::holders::insert_links(c, link.as_slice())?;
    if let Some(m) = &applied.new_marking {
        let kind = m.kind.as_str();
        db::firearms::add_identifier(
            c,
            db::firearms::IdentifierInsertForm::new(&firearm.id, 0, "marking", kind, &m.text),
        )?;
    }
    if applied.serial_changed {
        let f = &applied.firearm;
        db::firearms::set_serial_identifier(c, &f.id, &f.serial)?;
    }
    let mut tally = Tally::new();
    tally.change(c, firearm, &applied.firearm, &event)?;
    tally.write(c, &event.id)?;
    let mut outbox = Outbox::new();
    outbox.firearm_change(firearm, &applied.firearm, &event);
    outbox.write(c)?;
    Ok((event, applied.firearm))
}

/// Applies one checked event to each of several firearms taken for change
/// and writes them together, in the caller's transaction: the firearms'
/// updates, the events in multi-row inserts, the entries in one queue.
/// For events that bring no new identifier (no marking, no serial).
pub(crate) fn write_many(
    c: &mut DbConn,
    actor: &Recorder,
    firearms: &[Firearm],
    input: &EventInput,
) -> AppResult<Vec<EventRow>> {
    let mut changed = Vec::with_capacity(firearms.len());
    let mut events = Vec::with_capacity(firearms.len());
    let now = db::now();
    for firearm in firearms {
        let applied = apply::apply(firearm, actor, input, now)?;
        if applied.new_marking.is_some() || applied.serial_changed {
            return Err(AppError::internal(
                "write_many takes no event that adds identifiers",
            ));
        }
        check_armoury_agency(&input.action, &applied.firearm)?;
        let event = event_row(
            &applied.firearm,
            actor,
            input.action.event_type(),
            input.occurred_at,
            applied.details,
            input.context(),
        );
        changed.push(applied.firearm);
        events.push(event);
    }
    db::firearms::apply_changes(c, &changed, &events)?;
    count_changes(c, firearms, &changed, &events)?;
    let links: Vec<_> = firearms
        .iter()
        .zip(changed.iter().zip(&events))
        .filter_map(|(was, (now, e))| {
            crate::holders::link_after(Some(was), now, e.sequence, e.occurred_at)
        })
        .collect();
    db::holders::insert_links(c, &links)?;
    let entries = changed
        .iter()
        .zip(&events)
        .map(|(f, e)| crate::audit::firearm_change(f, e))
        .collect();
    crate::audit::queue(c, &actor.audit_actor(), entries)?;
    Ok(events)
}

/// Adds the changes of one transaction to the report counts, and queues
/// what they tell webhook subscribers.
fn count_changes(
    c: &mut DbConn,
    before: &[Firearm],
    after: &[Firearm],
    events: &[EventRow],
) -> AppResult<()> {
    let mut tally = Tally::new();
    let mut outbox = Outbox::new();
    for ((was, now), e) in before.iter().zip(after).zip(events) {
        tally.change(c, was, now, e)?;
        outbox.firearm_change(was, now, e);
    }
    let seed = events.first().map_or("", |e| e.id.as_str());
    tally.write(c, seed)?;
    Ok(outbox.write(c)?)
}

/// The events that moved a firearm's responsibility, oldest first:
/// (sequence, the agency responsible before it).
fn handovers(events: &SequencedEvents) -> Vec<(i64, String)> {
    events
        .iter()
        .filter_map(|(e, _)| {
            let details: serde_json::Value = serde_json::from_str(&e.details).ok()?;
            let old = details.get("responsible_agency_id")?.get("old")?.as_str()?;
            Some((e.sequence, old.to_string()))
        })
        .collect()
}

/// A firearm and as much of its custody history as the caller may read
/// (`policy::history_scope`), oldest first. Both reads share the
/// request's one trip to the database.
pub fn history(
    conn: &mut DbConn,
    user: &AuthUser,
    id: &str,
) -> AppResult<(Firearm, SequencedEvents)> {
    policy::require(user, Action::ReadFirearms)?;
    let row = db::firearms::find(conn, id)?.ok_or(AppError::NotFound)?;
    let mut events = db::firearms::events_with_seq(conn, &row.id)?;
    match policy::history_scope(user, &row.responsible_agency_id, || handovers(&events))? {
        HistoryScope::All => {}
        HistoryScope::Through(last) => events.retain(|(e, _)| e.sequence <= last),
    }
    Ok((row, events))
}

/// A batch destruction, checked.
pub struct BatchDestruction {
    pub firearm_ids: Vec<String>,
    pub method: DestructionMethod,
    pub occurred_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub certificate_reference: Option<String>,
    pub witnesses: Vec<String>,
}

pub const MAX_BATCH: usize = 10_000;

/// Checks the ids of a batch: UUIDs, each listed once, at most 10,000.
pub fn parse_batch_ids(raw: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if raw.is_empty() {
        errors.push(FieldError::new(
            "firearm_ids",
            "must list at least one firearm",
        ));
    }
    if raw.len() > MAX_BATCH {
        errors.push(FieldError::new(
            "firearm_ids",
            format!("must list at most {MAX_BATCH} firearms"),
        ));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (i, id) in raw.iter().enumerate() {
        match uuid::Uuid::parse_str(id) {
            Ok(u) if !seen.insert(u) => errors.push(FieldError::new(
                format!("firearm_ids[{i}]"),
                "is listed twice",
            )),
            Ok(u) => ids.push(u.to_string()),
            Err(_) => errors.push(FieldError::new(
                format!("firearm_ids[{i}]"),
                "must be a UUID",
            )),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(errors)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestructionFailure {
    pub firearm_id: String,
    /// `not_found`, `not_responsible` or `illegal_transition`.
    pub reason: &'static str,
    pub detail: String,
}

/// Takes every listed firearm for destruction, or refuses the batch with
/// the reason each one that cannot be destroyed by `actor` has.
fn take_for_destruction(
    c: &mut DbConn,
    actor: &Recorder,
    ids: &[String],
) -> AppResult<Vec<Firearm>> {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let fail = |id: &String, reason, detail: String| DestructionFailure {
        firearm_id: id.clone(),
        reason,
        detail,
    };
    for id in ids {
        let row = match db::firearms::take_for_change(c, id, None) {
            Ok(row) => row,
            Err(StoreError::NotFound) => {
                failures.push(fail(id, "not_found", "no firearm has this id".into()));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let status = row.status;
        if !policy::may_change_firearm(&actor.agency_id, &row.responsible_agency_id, false) {
            let detail = "another agency is responsible for this firearm".into();
            failures.push(fail(id, "not_responsible", detail));
        } else if transition(status, EventType::Destroyed).is_none() {
            let detail = format!("a firearm whose status is `{status}` cannot be destroyed");
            failures.push(fail(id, "illegal_transition", detail));
        } else {
            rows.push(row);
        }
    }
    if failures.is_empty() {
        return Ok(rows);
    }
    Err(AppError::conflict(
        "destruction_rejected",
        format!(
            "{} of {} firearms cannot be destroyed by you; nothing was destroyed",
            failures.len(),
            ids.len()
        ),
    )
    .with_extra(json!({"failures": failures})))
}

/// Destroys every listed firearm, or none: if any cannot be destroyed by
/// this caller, 409 lists each one with its reason.
pub fn destroy(
    conn: &mut DbConn,
    actor: &Recorder,
    batch: BatchDestruction,
) -> AppResult<(String, usize)> {
    db::write_tx(conn, |c| {
        let mut rows = take_for_destruction(c, actor, &batch.firearm_ids)?;
        let before = rows.clone();
        let destruction_id = db::new_id();
        let now = db::now();
        let mut events = Vec::with_capacity(rows.len());
        for row in &mut rows {
            let details = json!({
                "method": batch.method,
                "certificate_reference": batch.certificate_reference,
                "witnesses": batch.witnesses,
                "destruction_id": destruction_id,
                "status": {"old": row.status, "new": Status::Destroyed},
            });
            row.status = Status::Destroyed;
            row.updated_at = now;
            events.push(event_row(
                row,
                actor,
                EventType::Destroyed,
                batch.occurred_at,
                details,
                EventContext {
                    location: batch.location.clone(),
                    reference: batch.certificate_reference.clone(),
                    notes: None,
                },
            ));
        }
        let record = DestructionInsertForm {
            id: destruction_id.clone(),
            method: batch.method.to_string(),
            occurred_at: batch.occurred_at.map_or(now, |t| t.naive_utc()),
            location: batch.location.clone(),
            certificate_reference: batch.certificate_reference.clone(),
            witnesses: json!(batch.witnesses).to_string(),
            firearm_count: i64::try_from(rows.len()).unwrap_or(i64::MAX),
            recorded_at: now,
            recorded_by_user_id: actor.user_id.clone(),
            recorded_by_agency_id: actor.agency_id.clone(),
        };
        db::firearms::record_destruction(c, &record, &rows, &events)?;
        count_changes(c, &before, &rows, &events)?;
        let mut entries: Vec<crate::audit::Entry> = rows
            .iter()
            .zip(&events)
            .map(|(r, e)| crate::audit::firearm_change(r, e))
            .collect();
        entries.push(crate::audit::Entry::new(
                "destruction.recorded",
                format!("destruction:{destruction_id}"),
                json!({"id": record.id, "method": record.method, "occurred_at": crate::audit::content::time(&record.occurred_at),
                       "location": record.location, "certificate_reference": record.certificate_reference,
                       "witnesses": batch.witnesses, "firearm_ids": batch.firearm_ids}),
            ));
        crate::audit::queue(c, &actor.audit_actor(), entries)?;
        Ok((destruction_id, rows.len()))
    })
}
