//! What an event does to a firearm: a pure function from the firearm as it
//! is (locked for the change) to the firearm as the event leaves it, with
//! the details the history keeps. No database here.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::input::{Action, Change, EventInput};
use crate::auth::Recorder;
use crate::db::firearms::FirearmRow;
use crate::domain::lifecycle::{allowed_events, transition};
use crate::domain::{text, EventType, Holder, HolderKind, Status};
use crate::error::{AppError, AppResult};

/// The firearm after the event, the event's details, and any new marking
/// text for the identifier index.
pub struct Applied {
    pub row: FirearmRow,
    pub details: Value,
    pub new_marking: Option<(String, String)>,
    pub serial_changed: bool,
}

fn stored<T: serde::de::DeserializeOwned>(raw: &str) -> AppResult<T> {
    serde_json::from_str(raw).map_err(|e| AppError::internal(format!("stored holder: {e}")))
}

fn illegal(status: Status, event: EventType) -> AppError {
    let allowed: Vec<&str> = allowed_events(status)
        .iter()
        .map(EventType::as_str)
        .collect();
    AppError::conflict(
        "illegal_transition",
        format!("a firearm whose status is `{status}` cannot take `{event}`"),
    )
    .with_extra(json!({"current_status": status, "event": event, "allowed_events": allowed}))
}

/// Only the responsible agency's registrars record events, except a
/// seizure, which any agency's registrar may record.
pub fn check_may_record(row: &FirearmRow, actor: &Recorder, event: EventType) -> AppResult<()> {
    let seizure = event == EventType::Seized;
    if crate::auth::policy::may_change_firearm(
        &actor.agency_id,
        &row.responsible_agency_id,
        seizure,
    ) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only registrars of the agency responsible for this firearm may record this event",
        ))
    }
}

/// Checks the status machine: the status the event leaves, or 409.
pub fn next_status(row: &FirearmRow, event: EventType) -> AppResult<(Status, Status)> {
    let status = Status::parse(&row.status).map_err(AppError::internal)?;
    let next = transition(status, event).ok_or_else(|| illegal(status, event))?;
    Ok((status, next))
}

fn same_holder_error(message: &str) -> AppError {
    AppError::field("to", message)
}

/// The holder after a hand-over to `to`: none when `to` is the owner, who
/// then holds the firearm again.
fn custodian_after(to: &Holder, owner: &Holder) -> Option<Value> {
    if to.same_party(owner) {
        None
    } else {
        Some(to.to_json())
    }
}

pub fn apply(
    row: &FirearmRow,
    actor: &Recorder,
    input: &EventInput,
    now: NaiveDateTime,
) -> AppResult<Applied> {
    let event = input.action.event_type();
    check_may_record(row, actor, event)?;
    let (status, next) = next_status(row, event)?;
    let owner: Holder = stored(&row.owner)?;
    let custodian: Option<Holder> = row.custodian.as_deref().map(stored).transpose()?;
    let holding = custodian.clone().unwrap_or_else(|| owner.clone());
    let mut new = row.clone();
    let mut details = Map::new();
    let mut new_marking = None;
    let mut serial_changed = false;
    let responsible = |new: &mut FirearmRow, details: &mut Map<String, Value>, agency: &str| {
        if new.responsible_agency_id != agency {
            details.insert(
                "responsible_agency_id".into(),
                json!({"old": new.responsible_agency_id, "new": agency}),
            );
            new.responsible_agency_id = agency.to_string();
        }
    };
    match &input.action {
        Action::OwnershipTransfer { to, authorization } => {
            if to.same_party(&owner) {
                return Err(same_holder_error("is already the owner of this firearm"));
            }
            details.insert("from".into(), owner.to_json());
            details.insert("to".into(), to.to_json());
            details.insert(
                "previous_custodian".into(),
                json!(custodian.as_ref().map(Holder::to_json)),
            );
            details.insert("authorization".into(), json!(authorization));
            new.owner = to.to_json().to_string();
            new.custodian = None;
            if let (HolderKind::Agency, Some(agency)) = (to.kind, &to.agency_id) {
                responsible(&mut new, &mut details, agency);
            }
        }
        Action::CustodyTransfer { to, reason } => {
            if to.same_party(&holding) {
                return Err(same_holder_error("already holds this firearm"));
            }
            details.insert("from".into(), holding.to_json());
            details.insert("to".into(), to.to_json());
            details.insert("reason".into(), json!(reason));
            new.custodian = custodian_after(to, &owner).map(|c| c.to_string());
        }
        Action::Export {
            to_country,
            licence_number,
            end_user_certificate,
        } => {
            details.insert("to_country".into(), json!(to_country));
            details.insert("licence_number".into(), json!(licence_number));
            details.insert("end_user_certificate".into(), json!(end_user_certificate));
        }
        Action::Import {
            from_country,
            licence_number,
            marking,
        } => {
            details.insert("from_country".into(), json!(from_country));
            details.insert("licence_number".into(), json!(licence_number));
            details.insert("marking".into(), json!(marking));
            if let Some(m) = marking {
                new.markings = append(&row.markings, json!(m))?;
                new_marking = Some((m.kind.to_string(), m.text.clone()));
            }
        }
        Action::MarkingAdded { marking } => {
            details.insert("marking".into(), json!(marking));
            new.markings = append(&row.markings, json!(marking))?;
            new_marking = Some((marking.kind.to_string(), marking.text.clone()));
        }
        Action::ReportedLost { report_reference } | Action::ReportedStolen { report_reference } => {
            details.insert("report_reference".into(), json!(report_reference));
        }
        Action::Recovered { to } => {
            if let Some(to) = to {
                details.insert("from".into(), holding.to_json());
                details.insert("to".into(), to.to_json());
                new.custodian = custodian_after(to, &owner).map(|c| c.to_string());
            }
        }
        Action::Seized { case_reference, to } => {
            details.insert("case_reference".into(), json!(case_reference));
            details.insert("from".into(), holding.to_json());
            details.insert("to".into(), to.to_json());
            new.custodian = custodian_after(to, &owner).map(|c| c.to_string());
            responsible(&mut new, &mut details, &actor.agency_id);
        }
        Action::Deactivated {
            method,
            certificate_reference,
        } => {
            details.insert("method".into(), json!(method));
            details.insert("certificate_reference".into(), json!(certificate_reference));
        }
        Action::Destroyed {
            method,
            certificate_reference,
            witnesses,
        } => {
            details.insert("method".into(), json!(method));
            details.insert("certificate_reference".into(), json!(certificate_reference));
            details.insert("witnesses".into(), json!(witnesses));
        }
        Action::Correction { changes, reason } => {
            let mut diff = Map::new();
            for change in changes {
                let (field, old, new_value) = correct(&mut new, change);
                serial_changed |= field == "serial_number";
                diff.insert(field.into(), json!({"old": old, "new": new_value}));
            }
            details.insert("changes".into(), Value::Object(diff));
            details.insert("reason".into(), json!(reason));
        }
    }
    if next != status {
        details.insert("status".into(), json!({"old": status, "new": next}));
    }
    new.status = next.to_string();
    new.updated_at = now;
    Ok(Applied {
        row: new,
        details: Value::Object(details),
        new_marking,
        serial_changed,
    })
}

fn append(markings: &str, marking: Value) -> AppResult<String> {
    let mut list: Vec<Value> = stored(markings)?;
    list.push(marking);
    Ok(Value::Array(list).to_string())
}

/// Applies one correction, answering the field, its old and its new value.
fn correct(row: &mut FirearmRow, change: &Change) -> (&'static str, Value, Value) {
    match change {
        Change::Category(c) => (
            "category",
            json!(std::mem::replace(&mut row.category, c.to_string())),
            json!(c),
        ),
        Change::Manufacturer(m) => {
            row.manufacturer_key = text::fold(m);
            (
                "manufacturer",
                json!(std::mem::replace(&mut row.manufacturer, m.clone())),
                json!(m),
            )
        }
        Change::Model(m) => (
            "model",
            json!(std::mem::replace(&mut row.model, m.clone())),
            json!(m),
        ),
        Change::Calibre(c) => (
            "calibre",
            json!(std::mem::replace(&mut row.calibre, c.clone())),
            json!(c),
        ),
        Change::CountryOfManufacture(c) => (
            "country_of_manufacture",
            json!(std::mem::replace(
                &mut row.country_of_manufacture,
                c.to_string()
            )),
            json!(c),
        ),
        Change::YearOfManufacture(y) => (
            "year_of_manufacture",
            json!(std::mem::replace(&mut row.year_of_manufacture, *y)),
            json!(y),
        ),
        Change::SerialNumber(s) => {
            row.serial_normalized = s.normalized.clone();
            (
                "serial_number",
                json!(std::mem::replace(&mut row.serial_number, s.marked.clone())),
                json!(s.marked),
            )
        }
        Change::Notes(n) => (
            "notes",
            json!(std::mem::replace(&mut row.notes, n.clone())),
            json!(n),
        ),
    }
}
