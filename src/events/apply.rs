//! What an event does to a firearm: a pure function from the firearm as it
//! is (locked for the change) to the firearm as the event leaves it, with
//! the details the history keeps. No database here.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::input::{Action, Change, EventInput};
use crate::auth::Recorder;
use crate::domain::lifecycle::{allowed_events, transition};
use crate::domain::{text, EventType, Firearm, Holder, HolderKind, Marking, Status};
use crate::error::{AppError, AppResult};

/// The firearm after the event, the event's details, and any new marking
/// text for the identifier index.
pub struct Applied {
    pub firearm: Firearm,
    pub details: Value,
    pub new_marking: Option<Marking>,
    pub serial_changed: bool,
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
pub fn check_may_record(firearm: &Firearm, actor: &Recorder, event: EventType) -> AppResult<()> {
    let seizure = event == EventType::Seized;
    if crate::auth::policy::may_change_firearm(
        &actor.agency_id,
        &firearm.responsible_agency_id,
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
pub fn next_status(firearm: &Firearm, event: EventType) -> AppResult<(Status, Status)> {
    let status = firearm.status;
    let next = transition(status, event).ok_or_else(|| illegal(status, event))?;
    Ok((status, next))
}

fn same_holder_error(message: &str) -> AppError {
    AppError::field("to", message)
}

/// The holder after a hand-over to `to`: none when `to` is the owner, who
/// then holds the firearm again.
fn custodian_after(to: &Holder, owner: &Holder) -> Option<Holder> {
    if to.same_party(owner) {
        None
    } else {
        Some(to.clone())
    }
}

/// The firearm as the event leaves it, and the details the history keeps,
/// as they are built.
struct Draft {
    new: Firearm,
    details: Map<String, Value>,
    new_marking: Option<Marking>,
    serial_changed: bool,
}

impl Draft {
    fn put(&mut self, key: &str, value: Value) {
        self.details.insert(key.into(), value);
    }

    /// Moves the responsibility for the firearm to `agency`, noting it.
    fn responsible(&mut self, agency: &str) {
        if self.new.responsible_agency_id != agency {
            let change = json!({"old": self.new.responsible_agency_id, "new": agency});
            self.put("responsible_agency_id", change);
            self.new.responsible_agency_id = agency.to_string();
        }
    }

    /// Hands the firearm from `from` to `to`, who keeps it for the owner.
    fn hand_over(&mut self, from: &Holder, to: &Holder, owner: &Holder) {
        self.put("from", from.to_json());
        self.put("to", to.to_json());
        self.new.custodian = custodian_after(to, owner);
    }

    fn add_marking(&mut self, marking: &Marking) {
        self.new.markings.push(marking.clone());
        self.new_marking = Some(marking.clone());
    }
}

/// The events that move the firearm from one holder to another.
fn move_holder(d: &mut Draft, was: &Firearm, action: &Action, actor: &Recorder) -> AppResult<()> {
    match action {
        Action::OwnershipTransfer { to, authorization } => {
            if to.same_party(&was.owner) {
                return Err(same_holder_error("is already the owner of this firearm"));
            }
            d.put("from", was.owner.to_json());
            d.put("to", to.to_json());
            d.put(
                "previous_custodian",
                json!(was.custodian.as_ref().map(Holder::to_json)),
            );
            d.put("authorization", json!(authorization));
            d.new.owner = to.clone();
            d.new.custodian = None;
            if let (HolderKind::Agency, Some(agency)) = (to.kind, &to.agency_id) {
                d.responsible(agency);
            }
        }
        Action::CustodyTransfer { to, reason } => {
            if to.same_party(was.holding()) {
                return Err(same_holder_error("already holds this firearm"));
            }
            d.hand_over(was.holding(), to, &was.owner);
            d.put("reason", json!(reason));
        }
        Action::Recovered { to: Some(to) } => d.hand_over(was.holding(), to, &was.owner),
        Action::Seized { case_reference, to } => {
            d.put("case_reference", json!(case_reference));
            d.hand_over(was.holding(), to, &was.owner);
            d.responsible(&actor.agency_id);
        }
        _ => {}
    }
    Ok(())
}

/// The events that leave the holders as they are and record facts.
fn record_facts(d: &mut Draft, action: &Action) {
    match action {
        Action::Export {
            to_country,
            licence_number,
            end_user_certificate,
        } => {
            d.put("to_country", json!(to_country));
            d.put("licence_number", json!(licence_number));
            d.put("end_user_certificate", json!(end_user_certificate));
        }
        Action::Import {
            from_country,
            licence_number,
            marking,
        } => {
            d.put("from_country", json!(from_country));
            d.put("licence_number", json!(licence_number));
            d.put("marking", json!(marking));
            if let Some(m) = marking {
                d.add_marking(m);
            }
        }
        Action::MarkingAdded { marking } => {
            d.put("marking", json!(marking));
            d.add_marking(marking);
        }
        Action::ReportedLost { report_reference } | Action::ReportedStolen { report_reference } => {
            d.put("report_reference", json!(report_reference));
        }
        Action::Deactivated {
            method,
            certificate_reference,
        } => {
            d.put("method", json!(method));
            d.put("certificate_reference", json!(certificate_reference));
        }
        Action::Destroyed {
            method,
            certificate_reference,
            witnesses,
        } => {
            d.put("method", json!(method));
            d.put("certificate_reference", json!(certificate_reference));
            d.put("witnesses", json!(witnesses));
        }
        Action::Correction { changes, reason } => {
            let mut diff = Map::new();
            for change in changes {
                let (field, old, new_value) = correct(&mut d.new, change);
                d.serial_changed |= field == "serial_number";
                diff.insert(field.into(), json!({"old": old, "new": new_value}));
            }
            d.put("changes", Value::Object(diff));
            d.put("reason", json!(reason));
        }
        _ => {}
    }
}

pub fn apply(
    firearm: &Firearm,
    actor: &Recorder,
    input: &EventInput,
    now: NaiveDateTime,
) -> AppResult<Applied> {
    let event = input.action.event_type();
    check_may_record(firearm, actor, event)?;
    let (status, next) = next_status(firearm, event)?;
    let mut d = Draft {
        new: firearm.clone(),
        details: Map::new(),
        new_marking: None,
        serial_changed: false,
    };
    move_holder(&mut d, firearm, &input.action, actor)?;
    record_facts(&mut d, &input.action);
    if next != status {
        d.put("status", json!({"old": status, "new": next}));
    }
    d.new.status = next;
    d.new.updated_at = now;
    Ok(Applied {
        firearm: d.new,
        details: Value::Object(d.details),
        new_marking: d.new_marking,
        serial_changed: d.serial_changed,
    })
}

/// Applies one correction, answering the field, its old and its new value.
fn correct(row: &mut Firearm, change: &Change) -> (&'static str, Value, Value) {
    match change {
        Change::Category(c) => (
            "category",
            json!(std::mem::replace(&mut row.category, *c)),
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
            json!(std::mem::replace(&mut row.country_of_manufacture, *c)),
            json!(c),
        ),
        Change::YearOfManufacture(y) => (
            "year_of_manufacture",
            json!(std::mem::replace(&mut row.year_of_manufacture, *y)),
            json!(y),
        ),
        Change::SerialNumber(s) => (
            "serial_number",
            json!(std::mem::replace(&mut row.serial, s.clone()).marked),
            json!(s.marked),
        ),
        Change::Notes(n) => (
            "notes",
            json!(std::mem::replace(&mut row.notes, n.clone())),
            json!(n),
        ),
    }
}
