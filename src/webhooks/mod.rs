//! Webhooks: the registry tells an agency's own systems when something
//! happens (docs/webhooks.md). An admin subscribes a URL to events; each
//! change writes its messages into the outbox in its own transaction
//! (`outbox`); the delivery threads send them, signed as Standard
//! Webhooks says (`sign`), retried for the retry window (`deliver`).

pub mod deliver;
pub mod outbox;
pub mod sign;

use chrono::Duration as Span;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::ToSocketAddrs;

use crate::audit::{self, content};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::notifications::NotificationRow;
use crate::db::webhooks::{self as store, AttemptRow, MessageRow, WebhookRow};
use crate::db::{self, DbConn};
use crate::domain::webhook::{is_public, DeliveryState, Destination, WebhookEvent, WebhookStatus};
use crate::error::{checked, AppError, AppResult, Validator};

pub use crate::config::WebhookSettings;
pub use outbox::Outbox;

/// How long a rotated-out secret still signs.
const OLD_SECRET_VALID_HOURS: i64 = 24;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to deliver: an `https://` URL on a public address.
    #[schema(example = "https://cases.police.example/registry-hooks")]
    pub url: String,
    /// alert, trace_request.received, trace_request.answered,
    /// firearm.registered, firearm.status_changed.
    pub events: Vec<String>,
}

/// A checked subscription request.
pub struct NewWebhook {
    destination: Destination,
    events: BTreeSet<WebhookEvent>,
}

impl CreateWebhook {
    pub fn parse(self, allow_private: bool) -> AppResult<NewWebhook> {
        let mut v = Validator::new();
        let destination = v.check("url", Destination::parse(&self.url, allow_private));
        if self.events.is_empty() {
            v.check::<()>("events", Err("name at least one event".into()));
        }
        let mut events = BTreeSet::new();
        for (i, raw) in self.events.iter().enumerate() {
            if let Some(e) = v.check(&format!("events[{i}]"), WebhookEvent::parse(raw)) {
                events.insert(e);
            }
        }
        v.finish()?;
        Ok(NewWebhook {
            destination: checked(destination)?,
            events,
        })
    }
}

/// Refuses a destination whose name resolves to an address a delivery
/// may not reach. Deliveries check again, at each connection.
fn check_resolves(d: &Destination) -> AppResult<()> {
    let addrs: Vec<_> = d
        .authority()
        .to_socket_addrs()
        .map_err(|e| AppError::field("url", format!("its host does not resolve ({e})")))?
        .collect();
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(AppError::field(
            "url",
            format!(
                "its host resolves to {}, which is not a public address",
                bad.ip()
            ),
        ));
    }
    Ok(())
}

/// A subscription as the API shows it. The secret appears once, in the
/// answer that made it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub agency_id: String,
    pub url: String,
    pub events: Vec<String>,
    /// active, failing (a message was given up on) or disabled.
    pub status: String,
    /// Failed attempts in a row, and since when.
    pub failures: i32,
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The signing secret (`whsec_...`): only when made or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_valid_until: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl WebhookView {
    fn of(r: WebhookRow, show_secret: bool) -> Self {
        let now = db::now();
        Self {
            events: serde_json::from_str(&r.events).unwrap_or_default(),
            secret: show_secret.then_some(r.secret),
            previous_secret_valid_until: r
                .previous_secret_until
                .filter(|t| *t > now)
                .map(|t| t.and_utc()),
            failing_since: r.failing_since.map(|t| t.and_utc()),
            failures: r.failures,
            id: r.id,
            agency_id: r.agency_id,
            url: r.url,
            status: r.status,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }

    pub fn with_secret(r: WebhookRow) -> Self {
        Self::of(r, true)
    }
}

impl From<WebhookRow> for WebhookView {
    fn from(r: WebhookRow) -> Self {
        Self::of(r, false)
    }
}

fn audited(c: &mut DbConn, user: &AuthUser, action: &str, row: &WebhookRow) -> AppResult<()> {
    let key = format!("webhook:{}", row.id);
    let state = content::webhook(row);
    let entry = audit::Entry::new(action, key.clone(), state.clone()).subject(key, state);
    audit::queue(c, &user.audit_actor(), vec![entry])
}

/// Subscribes the caller's agency.
pub fn create(
    conn: &mut DbConn,
    user: &AuthUser,
    new: NewWebhook,
    settings: WebhookSettings,
) -> AppResult<WebhookRow> {
    let agency_id = policy::acting_agency(user, Action::ManageWebhooks)?;
    if !settings.allow_private {
        check_resolves(&new.destination)?;
    }
    let now = db::now();
    let events: Vec<&str> = new.events.iter().map(|e| e.as_str()).collect();
    let row = WebhookRow {
        id: db::new_id(),
        agency_id,
        url: new.destination.as_str().to_string(),
        events: json!(events).to_string(),
        secret: sign::new_secret(),
        previous_secret: None,
        previous_secret_until: None,
        status: WebhookStatus::Active.to_string(),
        failures: 0,
        blocked_until: None,
        failing_since: None,
        version: 1,
        created_by: user.id.clone(),
        created_at: now,
        updated_at: now,
    };
    db::write_tx(conn, |c| {
        store::insert(c, &row)?;
        audited(c, user, "webhook.created", &row)
    })?;
    Ok(row)
}

/// A subscription of the caller's agency, or 404.
pub fn get(conn: &mut DbConn, user: &AuthUser, id: &str) -> AppResult<WebhookRow> {
    let agency = policy::acting_agency(user, Action::ManageWebhooks)?;
    match store::find(conn, id)? {
        Some(row) if row.agency_id == agency => Ok(row),
        _ => Err(AppError::NotFound),
    }
}

pub fn page(
    conn: &mut DbConn,
    user: &AuthUser,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<WebhookRow>> {
    let agency = policy::acting_agency(user, Action::ManageWebhooks)?;
    Ok(store::page(conn, &agency, after, limit)?)
}

/// What an admin may change of a subscription.
pub enum Change {
    /// A new secret; the old one signs too for a day.
    RotateSecret,
    Disable,
    /// Takes messages again (a failing one too: its next success decides).
    Enable,
}

pub fn change(conn: &mut DbConn, user: &AuthUser, id: &str, what: Change) -> AppResult<WebhookRow> {
    db::write_tx(conn, |c| {
        let mut row = get(c, user, id)?;
        let now = db::now();
        let action = match what {
            Change::RotateSecret => {
                let old = std::mem::replace(&mut row.secret, sign::new_secret());
                row.previous_secret = Some(old);
                row.previous_secret_until = Some(now + Span::hours(OLD_SECRET_VALID_HOURS));
                "webhook.secret_rotated"
            }
            Change::Disable => {
                row.status = WebhookStatus::Disabled.to_string();
                "webhook.disabled"
            }
            Change::Enable => {
                row.status = WebhookStatus::Active.to_string();
                "webhook.enabled"
            }
        };
        row.version += 1;
        row.updated_at = now;
        store::update_settings(c, &row)?;
        audited(c, user, action, &row)?;
        Ok(row)
    })
}

/// One attempt at a message, as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub attempted_at: chrono::DateTime<chrono::Utc>,
    /// The receiver's status code; none when no answer came.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A message and its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` it is sent under.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// pending, delivered or failed.
    pub state: String,
    pub attempt_count: i32,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptView>,
}

impl DeliveryView {
    fn of(m: MessageRow, attempts: Vec<AttemptRow>) -> Self {
        let pending = m.state == DeliveryState::Pending.as_str();
        Self {
            next_attempt_at: pending.then(|| m.next_attempt_at.and_utc()),
            payload: serde_json::from_str(&m.payload).unwrap_or_default(),
            delivered_at: m.delivered_at.map(|t| t.and_utc()),
            created_at: m.created_at.and_utc(),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempted_at: a.attempted_at.and_utc(),
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
            id: m.id,
            event_type: m.event_type,
            state: m.state,
            attempt_count: m.attempts,
            last_status: m.last_status,
            last_error: m.last_error,
        }
    }
}

/// One page of a subscription's messages with their attempts, oldest
/// first.
pub fn deliveries(
    conn: &mut DbConn,
    user: &AuthUser,
    id: &str,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<DeliveryView>> {
    get(conn, user, id)?;
    let messages = store::messages(conn, id, after, limit)?;
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let mut attempts = store::attempts(conn, &ids)?.into_iter().peekable();
    let mut views = Vec::with_capacity(messages.len());
    // Both are in message id order.
    for m in messages {
        let mut own = Vec::new();
        while let Some(a) = attempts.next_if(|a| a.message_id == m.id) {
            own.push(a);
        }
        views.push(DeliveryView::of(m, own));
    }
    Ok(views)
}

/// Sends a delivered or failed message again, under the same
/// `webhook-id`. A message still pending is a 409.
pub fn replay(
    conn: &mut DbConn,
    user: &AuthUser,
    id: &str,
    message_id: &str,
) -> AppResult<DeliveryView> {
    db::write_tx(conn, |c| {
        get(c, user, id)?;
        let message = store::find_message(c, message_id)?
            .filter(|m| m.webhook_id == id)
            .ok_or(AppError::NotFound)?;
        if message.state == DeliveryState::Pending.as_str() {
            return Err(AppError::conflict(
                "delivery_pending",
                "the message is still being delivered; it is sent again by itself",
            ));
        }
        let now = db::now();
        store::requeue(c, message_id, now)?;
        let entry = audit::Entry::new(
            "webhook.replayed",
            format!("webhook:{id}"),
            json!({"webhook_id": id, "message_id": message_id, "state_was": message.state}),
        );
        audit::queue(c, &user.audit_actor(), vec![entry])?;
        // The message as requeue left it.
        let message = MessageRow {
            state: DeliveryState::Pending.to_string(),
            next_attempt_at: now,
            delivered_at: None,
            ..message
        };
        let attempts = store::attempts(c, std::slice::from_ref(&message.id))?;
        Ok(DeliveryView::of(message, attempts))
    })
}

/// Marks failing the subscriptions that had a message given up on, and
/// tells their agency's admins (`GET /v1/notifications`, kind
/// `webhook_failing`).
pub(crate) fn give_up(c: &mut DbConn, hooks: &[String]) -> AppResult<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    for (id, agency_id, url) in store::mark_failing(c, hooks)? {
        tracing::warn!(webhook = %id, "a webhook message was given up on; the subscription is failing");
        db::notifications::insert(
            c,
            &NotificationRow {
                id: db::new_id(),
                agency_id,
                firearm_id: None,
                kind: "webhook_failing".into(),
                traced_by_user_id: String::new(),
                traced_by_username: "registry".into(),
                traced_by_agency_id: None,
                query: json!({"webhook_id": id, "url": url,
                              "deliveries": format!("/v1/webhooks/{id}/deliveries")})
                .to_string(),
                created_at: db::now(),
            },
        )?;
    }
    Ok(())
}

/// The node's name in delivery leases, kept in the data directory so a
/// restarted node takes back what it held when it died.
pub fn node_name(data_dir: &std::path::Path) -> Result<String, String> {
    let path = data_dir.join("node_id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let name = db::new_id();
            std::fs::write(&path, &name)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(name)
        }
    }
}
