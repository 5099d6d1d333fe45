//! What each change adds to the counts of `db::counts`, worked out from
//! the firearm before and after it and the events it wrote, and added in
//! the change's own transaction. The migration that created the counts
//! computes the same keys in SQL from the records (its backfill); a test
//! holds the two to each other.

use chrono::NaiveDateTime;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::db::counts::{self, EventKey, FirearmKey};
use crate::db::firearms::{EventRow, Registration};
use crate::db::{self, DbConn, StoreResult};
use crate::domain::report::day_number;
use crate::domain::{EventType, Firearm};

/// Deltas gathered over one transaction, written once at its end in key
/// order.
#[derive(Debug, Default)]
pub struct Tally {
    events: BTreeMap<EventKey, i64>,
    firearms: BTreeMap<FirearmKey, i64>,
}

fn text(details: &Value, field: &str) -> String {
    details
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The key an event is counted under. A seizure of a firearm the registry
/// knew before it was seized (`registered_at` earlier) established where
/// it came from (`known`); one registered only afterwards did not.
pub fn event_key(e: &EventRow, category: &str, registered_at: Option<NaiveDateTime>) -> EventKey {
    let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
    let kind = EventType::parse(&e.event_type).ok();
    let partner = match kind {
        Some(EventType::Export) => text(&details, "to_country"),
        Some(EventType::Import) => text(&details, "from_country"),
        _ => String::new(),
    };
    let detail = match kind {
        Some(EventType::Destroyed) => text(&details, "method"),
        Some(EventType::Import) if details.get("marking").is_some_and(|m| !m.is_null()) => {
            "marked".into()
        }
        Some(EventType::Seized) if registered_at.is_some_and(|r| r < e.occurred_at) => {
            "known".into()
        }
        Some(EventType::Seized) => "unknown".into(),
        _ => String::new(),
    };
    EventKey {
        day: day_number(e.occurred_at.date()),
        agency_id: e.recorded_by_agency_id.clone().unwrap_or_default(),
        event_type: e.event_type.clone(),
        category: category.to_string(),
        partner,
        detail,
    }
}

fn firearm_key(f: &Firearm) -> FirearmKey {
    FirearmKey {
        agency_id: f.responsible_agency_id.clone(),
        status: f.status.to_string(),
        category: f.category.to_string(),
    }
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    fn add_event(&mut self, key: EventKey, n: i64) {
        *self.events.entry(key).or_default() += n;
    }

    fn add_firearm(&mut self, f: &Firearm, n: i64) {
        *self.firearms.entry(firearm_key(f)).or_default() += n;
    }

    /// Registrations, each with its `registered` event and any history.
    pub fn registrations<R: std::borrow::Borrow<Registration>>(&mut self, regs: &[R]) {
        for r in regs {
            let r = r.borrow();
            let category = r.firearm.category.as_str();
            let registered_at = r.events.first().map(|e| e.occurred_at);
            for e in &r.events {
                self.add_event(event_key(e, category, registered_at), 1);
            }
            self.add_firearm(&r.firearm, 1);
        }
    }

    /// One event that took the firearm from `before` to `after`. A
    /// correction of the category moves every earlier event of the
    /// firearm to the new one, so reports count a firearm as what it is.
    pub fn change(
        &mut self,
        c: &mut DbConn,
        before: &Firearm,
        after: &Firearm,
        event: &EventRow,
    ) -> StoreResult<()> {
        let needs_registration = event.event_type == EventType::Seized.as_str();
        let registered_at = if needs_registration {
            db::firearms::registered_at(c, &after.id)?
        } else {
            None
        };
        self.add_event(event_key(event, after.category.as_str(), registered_at), 1);
        if firearm_key(before) != firearm_key(after) {
            self.add_firearm(before, -1);
            self.add_firearm(after, 1);
        }
        if before.category != after.category {
            let earlier = db::firearms::events_of(c, &after.id)?;
            let registered_at = earlier.first().map(|e| e.occurred_at);
            for e in earlier.iter().filter(|e| e.id != event.id) {
                self.add_event(event_key(e, before.category.as_str(), registered_at), -1);
                self.add_event(event_key(e, after.category.as_str(), registered_at), 1);
            }
        }
        Ok(())
    }

    /// Adds the deltas to the counts, in key order. The slot is the last
    /// hex digit of the transaction's first id (random in a UUIDv7).
    pub fn write(self, c: &mut DbConn, seed: &str) -> StoreResult<()> {
        let events: Vec<_> = self.events.into_iter().filter(|(_, n)| *n != 0).collect();
        let firearms: Vec<_> = self.firearms.into_iter().filter(|(_, n)| *n != 0).collect();
        if events.is_empty() && firearms.is_empty() {
            return Ok(());
        }
        let digit = seed
            .chars()
            .last()
            .and_then(|c| c.to_digit(16))
            .unwrap_or(0);
        let slot = i16::try_from(digit % SLOTS).unwrap_or(0);
        counts::add(c, &events, &firearms, slot)
    }
}

/// Rows a busy key is spread over on PostgreSQL.
const SLOTS: u32 = 8;
