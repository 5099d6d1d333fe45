//! Formal trace requests between agencies, in the manner of the
//! International Tracing Instrument: a request describes a weapon found in
//! illicit hands; the receiving agency acknowledges it and answers. Only
//! the two agencies' tracers and auditors may see a request; to anyone else
//! it does not exist (404).

use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

use super::{search, RawAttributes, TraceQuery};
use crate::audit::reads::ReadLog;
use crate::audit::sequencer::AuditLog;
use crate::audit::{self, content, Entry};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::trace_requests::{Mailbox, TraceRequestRow};
use crate::db::{self, DbConn, Pool, StoreError};
use crate::domain::firearm::{parse_label, parse_notes, parse_occurred_at, Holder};
use crate::domain::trace::{Pattern, PatternError};
use crate::domain::webhook::WebhookEvent;
use crate::error::{checked, AppError, AppResult, TxError, Validator};
use crate::input::{parse_holder, parse_uuid, HolderInput};

crate::vocabulary!(Urgency { Normal => "normal", Urgent => "urgent" });
crate::vocabulary!(RequestStatus { Open => "open", Acknowledged => "acknowledged", Answered => "answered" });
crate::vocabulary!(Outcome {
    Identified => "identified",
    NotFound => "not_found",
    InsufficientInformation => "insufficient_information",
    Declined => "declined",
});

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedMarking {
    pub kind: Option<String>,
    pub text: String,
}

/// What the requesting agency saw on the weapon.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedFirearm {
    pub category: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country_of_manufacture: Option<String>,
    /// As read; may hold `?` and `*` for unreadable characters.
    pub serial_number: Option<String>,
    #[serde(default)]
    pub markings: Vec<ObservedMarking>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Circumstances {
    pub seized_at: Option<String>,
    pub location: Option<String>,
    /// Why the weapon is considered illicit.
    pub context: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub to_agency_id: String,
    pub firearm: ObservedFirearm,
    #[serde(default)]
    pub circumstances: Circumstances,
    /// normal (default) or urgent.
    pub urgency: Option<String>,
    /// RFC 3339; must be in the future.
    pub respond_by: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondRequest {
    /// identified, not_found, insufficient_information or declined.
    pub outcome: String,
    /// Required when identified.
    pub firearm_id: Option<String>,
    /// Required when declined: the grounds (the ITI allows restricting an
    /// answer, with reasons).
    pub information: Option<String>,
    pub last_known_holder: Option<HolderInput>,
}

/// A tracer acting for an agency.
fn tracer_agency(user: &AuthUser) -> AppResult<String> {
    policy::acting_agency(user, Action::ExchangeTraceRequests)
}

struct Checked {
    to_agency_id: String,
    firearm: ObservedFirearm,
    circumstances: Circumstances,
    urgency: Urgency,
    respond_by: Option<DateTime<Utc>>,
    query: TraceQuery,
}

/// A deadline for the answer: an RFC 3339 time in the future.
fn parse_respond_by(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 time".to_string())?;
    if t <= now {
        return Err("must be in the future".into());
    }
    Ok(t)
}

fn check_circumstances(v: &mut Validator, c: &Circumstances, now: DateTime<Utc>) {
    if let Some(t) = &c.seized_at {
        v.check("circumstances.seized_at", parse_occurred_at(t, now));
    }
    if let Some(l) = &c.location {
        v.check("circumstances.location", parse_label(l));
    }
    for (name, raw) in [
        ("circumstances.context", &c.context),
        ("circumstances.description", &c.description),
    ] {
        if let Some(r) = raw {
            v.check(name, parse_notes(r));
        }
    }
}

fn check(req: CreateRequest, now: DateTime<Utc>) -> AppResult<Checked> {
    let mut v = Validator::new();
    let to = v.check("to_agency_id", parse_uuid(&req.to_agency_id));
    let urgency = v.check(
        "urgency",
        Urgency::parse(req.urgency.as_deref().unwrap_or("normal")),
    );
    let respond_by = req
        .respond_by
        .as_deref()
        .and_then(|r| v.check("respond_by", parse_respond_by(r, now)));
    let f = &req.firearm;
    let mut query = TraceQuery {
        limit: 20,
        ..TraceQuery::default()
    };
    query.set_attributes(
        &mut v,
        "firearm.",
        RawAttributes {
            manufacturer: f.manufacturer.as_deref(),
            model: f.model.as_deref(),
            calibre: f.calibre.as_deref(),
            category: f.category.as_deref(),
            country_of_manufacture: f.country_of_manufacture.as_deref(),
        },
    );
    // A partial serial is still worth sending; it only yields candidates
    // when it is specific enough to search.
    let serial = match f.serial_number.as_deref().map(Pattern::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(PatternError::Invalid(m))) => {
            v.push("firearm.serial_number", m);
            None
        }
        _ => None,
    };
    for (i, m) in f.markings.iter().enumerate() {
        v.check(&format!("firearm.markings[{i}].text"), parse_label(&m.text));
    }
    if f.serial_number.is_none() && f.markings.is_empty() {
        v.push(
            "firearm",
            "must give the serial number or a marking as read",
        );
    }
    check_circumstances(&mut v, &req.circumstances, now);
    v.finish()?;
    let marking = f.markings.iter().find_map(|m| Pattern::parse(&m.text).ok());
    Ok(Checked {
        to_agency_id: checked(to)?,
        urgency: checked(urgency)?,
        respond_by,
        query: TraceQuery {
            serial,
            marking,
            ..query
        },
        firearm: req.firearm,
        circumstances: req.circumstances,
    })
}

fn reference(now: DateTime<Utc>) -> String {
    format!(
        "TR-{}-{:06}",
        now.year(),
        rand::thread_rng().gen_range(0..1_000_000)
    )
}

fn entry(action: &str, row: &TraceRequestRow) -> Entry {
    let state = content::trace_request(row);
    let key = format!("trace_request:{}", row.id);
    Entry::new(action, key.clone(), state.clone()).subject(key, state)
}

pub async fn create(
    pool: &Pool,
    user: &AuthUser,
    req: CreateRequest,
    budget: super::Budget,
) -> AppResult<TraceRequestRow> {
    let from = tracer_agency(user)?;
    let now = Utc::now();
    let c = check(req, now)?;
    if c.to_agency_id == from {
        return Err(AppError::field(
            "to_agency_id",
            "a request cannot be addressed to your own agency",
        ));
    }
    let actor = user.audit_actor();
    let user_id = user.id.clone();
    db::run(pool, move |conn| {
        if db::agencies::find(conn, &c.to_agency_id)?.is_none() {
            return Err(AppError::field("to_agency_id", "no agency has this id"));
        }
        let (matches, _) = search(conn, &c.query, budget)?;
        let at = db::now();
        let mut row = TraceRequestRow {
            id: db::new_id(),
            reference: String::new(),
            from_agency_id: from.clone(),
            to_agency_id: c.to_agency_id.clone(),
            created_by_user_id: user_id.clone(),
            firearm: serde_json::to_string(&c.firearm).map_err(AppError::caused_by)?,
            circumstances: serde_json::to_string(&c.circumstances).map_err(AppError::caused_by)?,
            urgency: c.urgency.to_string(),
            respond_by: c
                .respond_by
                .map(|t| chrono::SubsecRound::trunc_subsecs(t.naive_utc(), 6)),
            status: RequestStatus::Open.to_string(),
            candidates: candidates(&matches).to_string(),
            acknowledged_at: None,
            acknowledged_by: None,
            response: None,
            responded_at: None,
            responded_by: None,
            version: 1,
            created_at: at,
            updated_at: at,
            outcome: None,
            signed_response: None,
        };
        // References are drawn at random; a clash draws again.
        for _ in 0..8 {
            row.reference = reference(now);
            let written = db::write_tx(conn, |tx| -> Result<(), TxError> {
                db::trace_requests::insert(tx, &row)?;
                notify(tx, &row, WebhookEvent::TraceRequestReceived)?;
                Ok(audit::queue(
                    tx,
                    &actor,
                    vec![entry("trace_request.created", &row)],
                )?)
            });
            match written {
                Err(TxError::Store(StoreError::DuplicateReference)) => continue,
                other => return Ok(other.map(|()| row)?),
            }
        }
        Err(AppError::internal("no free trace request reference"))
    })
    .await
}

/// What the receiver's tracers see of the firearms the request matched.
fn candidates(matches: &[super::Match]) -> Value {
    matches
        .iter()
        .map(|m| {
            json!({"firearm_id": m.firearm.id, "score": m.score, "matched_on": m.matched_on,
                   "serial_number": m.firearm.serial.marked, "status": m.firearm.status,
                   "responsible_agency_id": m.firearm.responsible_agency_id})
        })
        .collect()
}

/// Queues a trace request's webhook message for the agency it concerns:
/// the receiver of a new request, the sender of an answered one. Which
/// request, between whom, and where to read it.
fn notify(
    c: &mut DbConn,
    row: &TraceRequestRow,
    event: WebhookEvent,
) -> crate::db::StoreResult<()> {
    let agency = match event {
        WebhookEvent::TraceRequestAnswered => &row.from_agency_id,
        _ => &row.to_agency_id,
    };
    let mut outbox = crate::webhooks::Outbox::new();
    outbox.push(
        agency,
        event,
        json!({"trace_request_id": row.id, "reference": row.reference,
               "from_agency_id": row.from_agency_id, "to_agency_id": row.to_agency_id,
               "urgency": row.urgency, "status": row.status, "outcome": row.outcome,
               "links": {"trace_request": format!("/v1/trace-requests/{}", row.id)}}),
    );
    outbox.write(c)
}

/// The caller's relation to a request.
pub use policy::Party;

/// Whether `user` may see `row`, and as whom; anyone else gets 404.
pub fn party(user: &AuthUser, row: &TraceRequestRow) -> AppResult<Party> {
    policy::trace_request_party(user, &row.from_agency_id, &row.to_agency_id)
}

/// Reads one request for a party to it, and records the read.
pub async fn read(
    pool: &Pool,
    reads: Arc<ReadLog>,
    user: &AuthUser,
    id: String,
) -> AppResult<(TraceRequestRow, Party)> {
    let user = user.clone();
    db::run(pool, move |c| {
        let row = db::trace_requests::find(c, &id)?.ok_or(AppError::NotFound)?;
        let party = party(&user, &row)?;
        let read = audit::reads::entry(
            "trace_request.read",
            format!("trace_request:{id}"),
            json!({"trace_request_id": id, "reference": row.reference}),
        );
        reads.record(c, &user.audit_actor(), read)?;
        Ok((row, party))
    })
    .await
}

/// Takes the request for a step only the receiving agency's tracers take.
fn take_as_receiver(conn: &mut DbConn, user: &AuthUser, id: &str) -> AppResult<TraceRequestRow> {
    let row = db::trace_requests::take_for_change(conn, id)?;
    match party(user, &row)? {
        Party::Receiver => Ok(row),
        Party::Requester | Party::Auditor => Err(AppError::forbidden(
            "only the agency the request is addressed to may acknowledge or answer it",
        )),
    }
}

pub async fn acknowledge(pool: &Pool, user: &AuthUser, id: String) -> AppResult<TraceRequestRow> {
    tracer_agency(user)?;
    let (user, actor) = (user.clone(), user.audit_actor());
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let mut row = take_as_receiver(c, &user, &id)?;
            if row.status != RequestStatus::Open.as_str() {
                return Err(AppError::conflict(
                    "already_acknowledged",
                    format!("the request is already {}", row.status),
                ));
            }
            let now = db::now();
            row.status = RequestStatus::Acknowledged.to_string();
            row.acknowledged_at = Some(now);
            row.acknowledged_by = Some(user.id.clone());
            row.updated_at = now;
            db::trace_requests::update(c, &row)?;
            audit::queue(c, &actor, vec![entry("trace_request.acknowledged", &row)])?;
            Ok(row)
        })
    })
    .await
}

/// A response, checked.
struct Answer {
    outcome: Outcome,
    firearm_id: Option<String>,
    information: Option<String>,
    holder: Option<Holder>,
}

impl Answer {
    fn parse(req: &RespondRequest) -> AppResult<Self> {
        let mut v = Validator::new();
        let outcome = v.check("outcome", Outcome::parse(&req.outcome));
        let firearm_id = req
            .firearm_id
            .as_deref()
            .and_then(|f| v.check("firearm_id", parse_uuid(f)));
        let information = req
            .information
            .as_deref()
            .and_then(|i| v.check("information", parse_notes(i)))
            .filter(|i| !i.is_empty());
        let holder = req
            .last_known_holder
            .as_ref()
            .and_then(|h| parse_holder(&mut v, "last_known_holder", h));
        match outcome {
            Some(Outcome::Declined)
                if information.is_none()
                    && req
                        .information
                        .as_deref()
                        .is_none_or(|i| i.trim().is_empty()) =>
            {
                v.push(
                    "information",
                    "is required when declining: state the grounds",
                );
            }
            Some(Outcome::Identified) if req.firearm_id.is_none() => {
                v.push("firearm_id", "is required when identified")
            }
            _ => {}
        }
        v.finish()?;
        Ok(Self {
            outcome: checked(outcome)?,
            firearm_id,
            information,
            holder,
        })
    }
}

/// The text a trace answer is signed as: the canonical JSON of the
/// response, bound to its request and to the log that signs it, on one
/// line (a signed note's text ends in a newline).
pub fn answer_text(origin: &str, row: &TraceRequestRow, response: &Value) -> String {
    let mut text = json!({
        "type": "trace_response/v1",
        "signer": origin,
        "request_id": row.id,
        "reference": row.reference,
        "from_agency_id": row.from_agency_id,
        "to_agency_id": row.to_agency_id,
    });
    let identified = response["outcome"] == "identified";
    if let (Some(t), Some(r)) = (text.as_object_mut(), response.as_object()) {
        // What the requester is shown, and no more: a holder only with
        // an identification.
        for (k, v) in r {
            if k != "last_known_holder" || identified {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    format!("{}\n", content::canonical_json(&text))
}

/// Checks a signed trace answer offline: the note alone, or the JSON of
/// `GET /v1/trace-requests/{id}` holding it, whose shown response must
/// then be the signed one. Answers the signed content.
pub fn verify_answer(
    file: &str,
    key: &crate::audit::signing::NoteVerifier,
) -> Result<Value, String> {
    let shown: Option<Value> = serde_json::from_str(file).ok();
    let note = match &shown {
        Some(v) => v
            .get("signed_response")
            .and_then(Value::as_str)
            .ok_or("the request has no signed_response: it is not answered, or was answered before answers were signed")?
            .to_string(),
        None => file.to_string(),
    };
    let text = key.open(&note)?;
    let signed: Value =
        serde_json::from_str(text).map_err(|_| "the signed text is not JSON".to_string())?;
    if signed["type"] != "trace_response/v1" {
        return Err("the signed note is not a trace response".into());
    }
    if let Some(shown) = shown {
        if shown["id"] != signed["request_id"] {
            return Err("the signed answer is for another request".into());
        }
        let differs = shown["response"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| signed.get(k) != Some(v));
        if differs {
            return Err("the response shown differs from the signed one".into());
        }
    }
    Ok(signed)
}

/// Records the receiving agency's answer, signed with the registry's
/// audit key so neither side can later deny what was answered.
pub async fn respond(
    pool: &Pool,
    log: Arc<AuditLog>,
    user: &AuthUser,
    id: String,
    req: RespondRequest,
) -> AppResult<TraceRequestRow> {
    tracer_agency(user)?;
    let Answer {
        outcome,
        firearm_id,
        information,
        holder,
    } = Answer::parse(&req)?;
    let (user, actor) = (user.clone(), user.audit_actor());
    db::run(pool, move |c| {
        db::write_tx(c, |c| {
            let mut row = take_as_receiver(c, &user, &id)?;
            if row.status == RequestStatus::Answered.as_str() {
                return Err(AppError::conflict(
                    "already_answered",
                    "the request has been answered",
                ));
            }
            if let Some(fid) = &firearm_id {
                if db::firearms::find(c, fid)?.is_none() {
                    return Err(AppError::field("firearm_id", "no firearm has this id"));
                }
            }
            let now = db::now();
            let response = json!({
                "outcome": outcome,
                "firearm_id": firearm_id,
                "information": information,
                "last_known_holder": holder.as_ref().map(Holder::to_json),
                "responded_at": content::time(&now),
                "responded_by": user.id,
            });
            row.status = RequestStatus::Answered.to_string();
            row.signed_response = Some(log.key.sign_note(&answer_text(
                &log.origin,
                &row,
                &response,
            )));
            row.response = Some(response.to_string());
            row.outcome = Some(outcome.to_string());
            row.responded_at = Some(now);
            row.responded_by = Some(user.id.clone());
            if row.acknowledged_at.is_none() {
                row.acknowledged_at = Some(now);
                row.acknowledged_by = Some(user.id.clone());
            }
            row.updated_at = now;
            db::trace_requests::update(c, &row)?;
            notify(c, &row, WebhookEvent::TraceRequestAnswered)?;
            audit::queue(c, &actor, vec![entry("trace_request.answered", &row)])?;
            Ok(row)
        })
    })
    .await
}

/// Lists requests: `inbox` (addressed to the caller's agency) or `outbox`
/// (sent by it); auditors may also ask for `all`.
pub async fn list(
    pool: &Pool,
    reads: Arc<ReadLog>,
    user: &AuthUser,
    mailbox: &str,
    status: Option<RequestStatus>,
    after: Option<String>,
    limit: i64,
) -> AppResult<Vec<TraceRequestRow>> {
    policy::require(user, Action::ReadTraceRequests)?;
    let agency = user.agency_id.clone().unwrap_or_default();
    let which = match mailbox {
        "inbox" => Mailbox::Inbox(agency),
        "outbox" => Mailbox::Outbox(agency),
        "all" if policy::sees_every_agency(user) => Mailbox::All,
        "all" => return Err(AppError::forbidden("only auditors list every request")),
        other => {
            return Err(AppError::bad_request(
                "invalid_parameter",
                format!("box must be inbox or outbox (auditors: all), not `{other}`"),
            ))
        }
    };
    let status = status.map(|s| s.to_string());
    let actor = user.audit_actor();
    let detail = json!({"box": mailbox, "status": status, "after": after});
    db::run(pool, move |c| {
        let rows = db::trace_requests::page(c, &which, status.as_deref(), after.as_deref(), limit)?;
        reads.record(
            c,
            &actor,
            audit::reads::entry("trace_request.list", "trace_requests", detail),
        )?;
        Ok(rows)
    })
    .await
}
