//! Registering and reading firearms: single registrations, bulk imports,
//! and the listing. Handlers and `registry import` both come through here.

pub mod bulk;
pub mod import;
pub mod input;
pub mod view;

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;

use crate::audit;
use crate::auth::policy::{self, Action};
use crate::auth::{AuthUser, Recorder};
use crate::db::firearms::{EventRow, IdentifierInsertForm, Registration};
use crate::db::{self, DbConn, StoreError};
use crate::domain::{Component, Firearm, Holder, Status};
use crate::error::{AppError, AppResult, FieldError, TxError};
use crate::input::Recipient;
pub use bulk::{import, ImportCaps, ImportReport, ParsedRow};
pub use input::{NewFirearm, RegisterFirearm};

/// What one registration writes, with its audit entries.
pub struct Prepared {
    pub rows: Registration,
    pub audit: Vec<audit::Entry>,
}

/// Builds the rows one registration writes: the firearm, its identifiers
/// (serial, component serials, marking texts), its `registered` event, and
/// the events of any history it brings, each applied as if recorded then.
pub fn prepare(actor: &Recorder, new: &NewFirearm, now: DateTime<Utc>) -> AppResult<Prepared> {
    let mut reg = first_rows(actor, new, now);
    let mut audit = vec![audit::firearm_change(&reg.firearm, &reg.events[0])];
    for (i, input) in new.history.iter().enumerate() {
        let mut firearm = reg.firearm.clone();
        firearm.version += 1;
        let applied = crate::events::apply::apply(&firearm, actor, input, db::now())
            .map_err(|e| history_error(i, e))?;
        let event = crate::events::event_row(
            &applied.firearm,
            actor,
            input.action.event_type(),
            input.occurred_at,
            applied.details,
            input.context(),
        );
        if let Some(m) = &applied.new_marking {
            let position = reg.identifiers.len();
            reg.identifiers.push(IdentifierInsertForm::new(
                &firearm.id,
                position,
                "marking",
                m.kind.as_str(),
                &m.text,
            ));
        }
        if applied.serial_changed {
            if let Some(serial) = reg.identifiers.first_mut() {
                *serial = IdentifierInsertForm::new(
                    &firearm.id,
                    0,
                    "serial",
                    "serial",
                    &applied.firearm.serial.marked,
                );
            }
        }
        audit.push(audit::firearm_change(&applied.firearm, &event));
        reg.firearm = applied.firearm;
        reg.events.push(event);
    }
    Ok(Prepared { rows: reg, audit })
}

/// The identifiers a new firearm is traced by, in order: its serial, its
/// components' serials, the texts of its markings.
fn identifiers(id: &str, new: &NewFirearm) -> Vec<IdentifierInsertForm> {
    let mut identifiers = vec![IdentifierInsertForm::new(
        id,
        0,
        "serial",
        "serial",
        &new.serial.marked,
    )];
    for c in &new.components {
        if let Some(s) = &c.serial {
            let position = identifiers.len();
            identifiers.push(IdentifierInsertForm::new(
                id,
                position,
                "component",
                c.kind.as_str(),
                &s.marked,
            ));
        }
    }
    for m in &new.markings {
        let position = identifiers.len();
        identifiers.push(IdentifierInsertForm::new(
            id,
            position,
            "marking",
            m.kind.as_str(),
            &m.text,
        ));
    }
    identifiers
}

/// The rows of a registration without its history: the firearm, its
/// identifiers, and its `registered` event.
fn first_rows(actor: &Recorder, new: &NewFirearm, now: DateTime<Utc>) -> Registration {
    let id = db::new_id();
    let recorded_at = db::now();
    let firearm = Firearm {
        id: id.clone(),
        category: new.category,
        manufacturer: new.manufacturer.clone(),
        manufacturer_key: new.manufacturer_key.clone(),
        model: new.model.clone(),
        calibre: new.calibre.clone(),
        country_of_manufacture: new.country,
        year_of_manufacture: new.year,
        serial: new.serial.clone(),
        markings: new.markings.clone(),
        components: new.components.clone(),
        status: Status::Active,
        owner: new.owner.clone(),
        personal_erased_at: None,
        custodian: new.custodian.clone(),
        responsible_agency_id: actor.agency_id.clone(),
        notes: new.notes.clone(),
        version: 1,
        created_at: recorded_at,
        updated_at: recorded_at,
    };
    let identifiers = identifiers(&id, new);
    let details = json!({
        "category": new.category,
        "manufacturer": new.manufacturer,
        "model": new.model,
        "calibre": new.calibre,
        "country_of_manufacture": new.country,
        "year_of_manufacture": new.year,
        "serial_number": new.serial.marked,
        "serial_normalized": new.serial.normalized,
        "markings": new.markings,
        "components": new.components.iter().map(Component::to_json).collect::<Vec<_>>(),
        "owner": new.owner.to_json(),
        "custodian": new.custodian.as_ref().map(Holder::to_json),
        "status": Status::Active,
        "responsible_agency_id": actor.agency_id,
        "notes": new.notes,
    });
    let event = EventRow {
        id: db::new_id(),
        firearm_id: id,
        sequence: 1,
        event_type: "registered".into(),
        occurred_at: new
            .occurred_at
            .map(|t| t.naive_utc())
            .unwrap_or(now.naive_utc()),
        recorded_at,
        recorded_by_user_id: actor.user_id.clone(),
        recorded_by_username: actor.username.clone(),
        recorded_by_agency_id: Some(actor.agency_id.clone()),
        personal_salt: crate::audit::content::salt_for(&details),
        details: details.to_string(),
        location: None,
        reference: None,
        notes: None,
        personal_seal: None,
    };
    Registration {
        firearm,
        identifiers,
        events: vec![event],
    }
}

/// Checks that every agency a holder names exists, remembering answers.
pub(crate) fn check_agencies(
    conn: &mut DbConn,
    new: &NewFirearm<Recipient>,
    known: &mut HashMap<String, bool>,
) -> AppResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    for (field, id) in new.agency_refs() {
        let exists = match known.get(&id) {
            Some(e) => *e,
            None => {
                let e = db::agencies::find(conn, &id)?.is_some();
                known.insert(id, e);
                e
            }
        };
        if !exists {
            errors.push(FieldError::new(field, "no agency has this id"));
        }
    }
    Ok(errors)
}

/// The registration with its custodian as given, when it needs nothing
/// from the database: no custodian, or one in full (not an armoury).
pub(crate) fn resolve_offline(new: &NewFirearm<Recipient>) -> Option<NewFirearm> {
    match &new.custodian {
        None | Some(Recipient::Holder(_)) => new
            .clone()
            .resolve(|to| match to {
                Recipient::Holder(h) => Ok(h),
                _ => Err(()),
            })
            .ok(),
        Some(_) => None,
    }
}

/// Finds the armoury a registration's custodian names, remembering
/// answers: it must be one of the registering agency's, which becomes
/// responsible for the firearm.
pub(crate) fn resolve_custodian(
    conn: &mut DbConn,
    actor: &Recorder,
    new: NewFirearm<Recipient>,
    known: &mut HashMap<String, Option<Holder>>,
) -> AppResult<Result<NewFirearm, Vec<FieldError>>> {
    let id = match &new.custodian {
        Some(Recipient::Armoury(id)) => id.clone(),
        _ => {
            return Ok(new.resolve(|to| match to {
                Recipient::Holder(h) => Ok(h),
                Recipient::Armoury(_) => Err(Vec::new()),
                Recipient::Record(_) => Err(vec![FieldError::new(
                    "custodian.holder_id",
                    "a registration names its custodian in full or by armoury; transfer the firearm to a holder record by an event",
                )]),
            }))
        }
    };
    let holder = match known.get(&id) {
        Some(h) => h.clone(),
        None => {
            let h = db::armouries::holder(conn, &id)?;
            known.insert(id, h.clone());
            h
        }
    };
    let refused = |message: &str| Err(vec![FieldError::new("custodian.armoury_id", message)]);
    Ok(match holder {
        None => refused("no armoury has this id"),
        Some(h) if h.agency_id.as_deref() != Some(actor.agency_id.as_str()) => refused(
            "the armoury belongs to another agency; the registering agency is responsible for the firearm",
        ),
        Some(h) => new.resolve(|_| Ok(h)),
    })
}

fn duplicate(existing_id: &str) -> AppError {
    AppError::conflict(
        "duplicate_marking",
        format!(
            "a firearm with this unique marking (country of manufacture, manufacturer, serial number) is already registered: {existing_id}"
        ),
    )
    .with_extra(json!({"existing_firearm_id": existing_id}))
}

/// Registers one firearm for the actor's agency, with its `registered`
/// event, in one transaction.
pub fn register(
    conn: &mut DbConn,
    actor: &Recorder,
    new: NewFirearm<Recipient>,
) -> AppResult<Firearm> {
    let key = new.unique_key();
    let written = db::write_tx(conn, |c| -> Result<Firearm, TxError> {
        let errors = check_agencies(c, &new, &mut HashMap::new())?;
        if !errors.is_empty() {
            return Err(AppError::Validation(errors).into());
        }
        let new =
            resolve_custodian(c, actor, new, &mut HashMap::new())?.map_err(AppError::Validation)?;
        let Prepared { rows, audit } = prepare(actor, &new, Utc::now())?;
        db::firearms::insert(c, std::slice::from_ref(&rows))?;
        let mut tally = crate::reports::tally::Tally::new();
        tally.registrations(std::slice::from_ref(&rows));
        tally.write(c, &rows.firearm.id)?;
        let mut outbox = crate::webhooks::Outbox::new();
        outbox.registered(&rows.firearm);
        outbox.write(c)?;
        audit::queue(c, &actor.audit_actor(), audit)?;
        Ok(rows.firearm)
    });
    match written {
        // The constraint refused it, and the transaction is over; name the
        // firearm that holds the marking.
        Err(TxError::Store(StoreError::DuplicateMarking)) => {
            let (country, manufacturer, serial) = key;
            let existing = db::firearms::find_by_marking(conn, &country, &manufacturer, &serial)?;
            Err(duplicate(existing.as_deref().unwrap_or("unknown")))
        }
        other => Ok(other?),
    }
}

/// One firearm record, for a caller who may read records.
pub fn get(conn: &mut DbConn, user: &AuthUser, id: &str) -> AppResult<Firearm> {
    policy::require(user, Action::ReadFirearms)?;
    db::firearms::find(conn, id)?.ok_or(AppError::NotFound)
}

/// A history event that cannot be applied (a transition the status machine
/// refuses, a transfer to the current holder, ...) is invalid input: 422,
/// naming the event.
pub(crate) fn history_error(i: usize, e: AppError) -> AppError {
    let errors = match e {
        AppError::Validation(errors) => errors
            .into_iter()
            .map(|f| FieldError::new(format!("history[{i}].{}", f.field), f.message))
            .collect(),
        other => vec![FieldError::new(
            format!("history[{i}]"),
            format!("{}: {other}", other.code()),
        )],
    };
    AppError::Validation(errors)
}
