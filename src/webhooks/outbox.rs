//! The outbox: what a change tells subscribers, written in the change's
//! own transaction. A change collects its messages in an [`Outbox`] and
//! writes them last; the delivery threads (`deliver`) send them after the
//! commit. Each payload says what happened and where to read more, as
//! ids and links: never more than the subscribing agency may read there.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::audit::content::time;
use crate::db::webhooks::{self as store, MessageRow};
use crate::db::{self, DbConn, StoreResult};
use crate::domain::webhook::{DeliveryState, WebhookEvent};
use crate::domain::Firearm;

struct Item {
    agency_id: String,
    event: WebhookEvent,
    data: Value,
}

/// The messages of one transaction, by agency and event.
#[derive(Default)]
pub struct Outbox {
    items: Vec<Item>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, agency_id: &str, event: WebhookEvent, data: Value) {
        self.items.push(Item {
            agency_id: agency_id.to_string(),
            event,
            data,
        });
    }

    /// `firearm.registered`, to the agency responsible for it.
    pub fn registered(&mut self, firearm: &Firearm) {
        let data = json!({
            "firearm_id": firearm.id,
            "status": firearm.status,
            "registered_at": time(&firearm.created_at),
            "links": firearm_links(&firearm.id),
        });
        self.push(
            &firearm.responsible_agency_id,
            WebhookEvent::FirearmRegistered,
            data,
        );
    }

    /// `firearm.status_changed` when an event changed the status, to the
    /// agency responsible after it and, if responsibility moved with it,
    /// to the one responsible before (which may read up to the handover).
    pub fn firearm_change(
        &mut self,
        before: &Firearm,
        after: &Firearm,
        event: &db::firearms::EventRow,
    ) {
        if before.status == after.status {
            return;
        }
        let data = json!({
            "firearm_id": after.id,
            "event_id": event.id,
            "event_type": event.event_type,
            "sequence": event.sequence,
            "status": {"old": before.status, "new": after.status},
            "occurred_at": time(&event.occurred_at),
            "recorded_at": time(&event.recorded_at),
            "links": firearm_links(&after.id),
        });
        let mut agencies = vec![after.responsible_agency_id.as_str()];
        if before.responsible_agency_id != after.responsible_agency_id {
            agencies.push(&before.responsible_agency_id);
        }
        for agency in agencies {
            self.push(agency, WebhookEvent::FirearmStatusChanged, data.clone());
        }
    }

    /// Queues a message for every subscription of the agencies named that
    /// asked for its event. Nothing is read when nothing was pushed.
    pub fn write(self, c: &mut DbConn) -> StoreResult<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let mut agencies: Vec<&str> = self.items.iter().map(|i| i.agency_id.as_str()).collect();
        agencies.sort_unstable();
        agencies.dedup();
        let subscriptions = store::subscribers(c, &agencies)?;
        if subscriptions.is_empty() {
            return Ok(());
        }
        let now = db::now();
        let mut rows = Vec::new();
        for (webhook_id, agency_id, events) in &subscriptions {
            let wanted: Vec<String> = serde_json::from_str(events).unwrap_or_default();
            for item in self.items.iter().filter(|i| &i.agency_id == agency_id) {
                if wanted.iter().any(|e| e == item.event.as_str()) {
                    rows.push(message(webhook_id, item, now));
                }
            }
        }
        store::insert_messages(c, &rows)
    }
}

fn firearm_links(id: &str) -> Value {
    json!({"firearm": format!("/v1/firearms/{id}"), "history": format!("/v1/firearms/{id}/history")})
}

/// A queued message: the Standard Webhooks payload, fixed now so that
/// every attempt sends the same bytes under the same `webhook-id`.
fn message(webhook_id: &str, item: &Item, now: NaiveDateTime) -> MessageRow {
    let payload = json!({"type": item.event.as_str(), "timestamp": time(&now), "data": item.data});
    MessageRow {
        id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
        webhook_id: webhook_id.to_string(),
        event_type: item.event.as_str().to_string(),
        payload: payload.to_string(),
        state: DeliveryState::Pending.to_string(),
        attempts: 0,
        next_attempt_at: now,
        lease_owner: None,
        lease_until: None,
        last_status: None,
        last_error: None,
        delivered_at: None,
        created_at: now,
    }
}
