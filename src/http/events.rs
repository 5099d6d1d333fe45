use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::json::ApiJson;
use super::{etag, if_match, parse_id, wants_csv};
use crate::audit::{evidence, reads};
use crate::auth::Recorder;
use crate::auth::{self, Caller};
use crate::db::firearms::{EventRow, FirearmRow};
use crate::domain::firearm::{parse_label, parse_occurred_at};
use crate::domain::text::spreadsheet_safe;
use crate::domain::DestructionMethod;
use crate::error::{checked, AppError, AppResult, Validator};
use crate::events::input::EventInput;
use crate::events::{self, input, BatchDestruction};
use crate::firearms::view::FirearmView;
use crate::holders::retention::{self, Tiers};
use crate::http::audit::{latest_head, signed_checkpoint, witnessed_head};
use crate::http::state::AppState;
use crate::input::Recipient;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedBy {
    pub user_id: String,
    pub username: String,
    pub agency_id: Option<String>,
}

/// One entry of a custody history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: String,
    /// 1 for `registered`, then one more per event, with no gaps.
    pub sequence: i64,
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened in the world, as the recorder said.
    pub occurred_at: DateTime<Utc>,
    /// When the registry wrote it.
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: RecordedBy,
    pub location: Option<String>,
    pub reference: Option<String>,
    pub notes: Option<String>,
    /// The fields of the event's type; for changes, old and new values.
    #[schema(value_type = Object)]
    pub details: Value,
    /// The entry of the audit log that records this event, once integrated.
    pub audit_seq: Option<i64>,
}

impl TryFrom<EventRow> for EventView {
    type Error = AppError;
    fn try_from(e: EventRow) -> AppResult<Self> {
        let mut details = serde_json::from_str(&e.details).map_err(AppError::caused_by)?;
        crate::holders::link_records(&mut details);
        Ok(Self {
            details,
            id: e.id,
            sequence: e.sequence,
            kind: e.event_type,
            occurred_at: e.occurred_at.and_utc(),
            recorded_at: e.recorded_at.and_utc(),
            recorded_by: RecordedBy {
                user_id: e.recorded_by_user_id,
                username: e.recorded_by_username,
                agency_id: e.recorded_by_agency_id,
            },
            location: e.location,
            reference: e.reference,
            notes: e.notes,
            audit_seq: None,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    pub event: EventView,
    pub firearm: FirearmView,
}

/// Records a lifecycle event on a firearm (registrars of the responsible
/// agency; `seized` by a registrar of any agency).
#[utoipa::path(post, path = "/v1/firearms/{id}/events", tag = "lifecycle", security(("bearer" = [])),
    request_body(content = Object, description = "`{\"type\", \"occurred_at\", \"location\", \"reference\", \"notes\", ...fields of the type}`; see docs/lifecycle.md"),
    params(("If-Match" = Option<String>, Header, description = "apply only to this version"),
        ("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = Recorded, headers(("ETag" = String))),
        (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "illegal_transition, with current_status and allowed_events", body = crate::http::Problem),
        (status = 412, body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn record(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<Value>,
) -> AppResult<HttpResponse> {
    // Parsed here, refused only once the caller is known to be a registrar.
    let request = event_request(&id, &req, body.0);
    let licences = state.settings.licence_check;
    let (event, firearm) = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        let (id, expected, input) = request?;
        events::record(c, &actor, &id, expected, input, licences)
    })
    .await?;
    let version = firearm.version;
    Ok(HttpResponse::Created()
        .insert_header(etag(version))
        .json(Recorded {
            event: EventView::try_from(event)?,
            firearm: FirearmView::from(firearm),
        }))
}

/// The firearm, the version the event applies to, and the event.
fn event_request(
    id: &str,
    req: &HttpRequest,
    body: Value,
) -> AppResult<(String, Option<i64>, EventInput<Recipient>)> {
    Ok((
        parse_id(id)?,
        if_match(req)?,
        input::parse(body, Utc::now())?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub firearm_id: String,
    pub events: Vec<EventView>,
}

/// CSV columns of a history, in order.
const CSV_HEADER: [&str; 14] = [
    "sequence",
    "type",
    "occurred_at",
    "recorded_at",
    "recorded_by",
    "recorded_by_user_id",
    "recorded_by_agency_id",
    "location",
    "reference",
    "notes",
    "details",
    "audit_seq",
    "event_id",
    "firearm_id",
];

fn history_csv(firearm_id: &str, events: &[EventView]) -> AppResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::caused_by(e);
    w.write_record(CSV_HEADER).map_err(fail)?;
    for e in events {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let record = [
            e.sequence.to_string(),
            e.kind.clone(),
            time(&e.occurred_at),
            time(&e.recorded_at),
            e.recorded_by.username.clone(),
            e.recorded_by.user_id.clone(),
            e.recorded_by.agency_id.clone().unwrap_or_default(),
            e.location.clone().unwrap_or_default(),
            e.reference.clone().unwrap_or_default(),
            e.notes.clone().unwrap_or_default(),
            e.details.to_string(),
            e.audit_seq.map(|s| s.to_string()).unwrap_or_default(),
            e.id.clone(),
            firearm_id.to_string(),
        ];
        w.write_record(record.map(spreadsheet_safe)).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::caused_by(e.into_error()))
}

/// The custody history, oldest first: JSON, or CSV with `Accept: text/csv`.
/// For auditors and the responsible agency's users; 404 for anyone else.
#[utoipa::path(get, path = "/v1/firearms/{id}/history", tag = "lifecycle", security(("bearer" = [])),
    responses(
        (status = 200, description = "the history; with Accept: text/csv, a header row and one row per event",
            content((History = "application/json"), (String = "text/csv"))),
        (status = 404, body = crate::http::Problem)))]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    caller.require_purpose(state.settings.require_purpose)?;
    let csv = wants_csv(&req);
    let reads = state.reads.clone();
    let tiers = Tiers::of(&state.settings);
    let (firearm, rows) = auth::run_as(&state.pool, caller, move |c, user| {
        let (mut firearm, mut rows) = events::history(c, user, &id)?;
        let mut events: Vec<_> = rows.iter().map(|(e, _)| e.clone()).collect();
        retention::restrict_firearm(c, user, &tiers, &mut firearm, &mut events)?;
        for ((row, _), masked) in rows.iter_mut().zip(events) {
            *row = masked;
        }
        let detail = json!({"firearm_id": id, "events": rows.len(),
            "format": if csv { "csv" } else { "json" }});
        let read = reads::entry("history.read", format!("firearm:{id}"), detail);
        reads.record(c, &user.audit_actor(), read)?;
        Ok((firearm, rows))
    })
    .await?;
    let events = rows
        .into_iter()
        .map(|(row, seq)| {
            EventView::try_from(row).map(|mut v| {
                v.audit_seq = seq;
                v
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(history_csv(&firearm.id, &events)?));
    }
    Ok(HttpResponse::Ok().json(History {
        firearm_id: firearm.id,
        events,
    }))
}

/// One firearm's custody history with the proof that it is what the
/// audit log recorded: every event's content, its entry and inclusion
/// proof, the firearm's state, and the signed checkpoint. Checked offline
/// by `registry audit verify-evidence FILE --key KEY` (docs/audit.md).
#[utoipa::path(get, path = "/v1/firearms/{id}/evidence", tag = "firearms", security(("bearer" = [])),
    params(("id" = String, Path, description = "The firearm's id")),
    responses((status = 200, body = crate::audit::evidence::Bundle),
        (status = 403, body = crate::http::Problem), (status = 404, body = crate::http::Problem),
        (status = 503, description = "the log has not integrated the latest entries yet", body = crate::http::Problem)))]
pub async fn evidence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<evidence::Bundle>> {
    let id = parse_id(&id)?;
    caller.require_purpose(state.settings.require_purpose)?;
    // A write's entry joins the tree within a batch (about 50 ms), and a
    // head is taken to the witnesses about once a second: wait for the
    // witnessed head that covers the history, then for any that does,
    // rather than prove an older history.
    for attempt in 0..40 {
        let head = match witnessed_head(&state, attempt < 30).await? {
            Some(head) => head,
            None => latest_head(&state).await?,
        };
        let note = signed_checkpoint(&state, &head).await?;
        let key = state.audit.key.verifier();
        let (reads, tiers, id) = (state.reads.clone(), Tiers::of(&state.settings), id.clone());
        let built = auth::run_as(&state.pool, caller.clone(), move |c, user| {
            let (firearm, rows) = events::history(c, user, &id)?;
            let events: Vec<EventRow> = rows.into_iter().map(|(e, _)| e).collect();
            let restricted = retention::restricts(c, user, &tiers, &firearm)?;
            if restricted && events.iter().any(evidence::discloses_personal_data) {
                return Err(AppError::forbidden_because(
                    "personal_data_restricted",
                    "this history holds personal data recorded before it was sealed, which \
                     your role may no longer read; an auditor can obtain its evidence",
                ));
            }
            let row = FirearmRow::from(&firearm);
            let all = events.len() as i64 == firearm.version;
            let request = evidence::Request {
                firearm: &row,
                events: &events,
                complete: all && !restricted,
                with_state: !restricted,
            };
            let built = evidence::build(c, &request, &head, note, key)?;
            if built.is_ok() {
                let detail = json!({"firearm_id": id, "events": events.len(),
                    "checkpoint_size": head.size});
                let read = reads::entry("evidence.read", format!("firearm:{id}"), detail);
                reads.record(c, &user.audit_actor(), read)?;
            }
            Ok(built)
        })
        .await?;
        if let Ok(bundle) = built {
            return Ok(web::Json(bundle));
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(AppError::Unavailable(
        "the audit log has not yet integrated this firearm's latest entries; retry shortly".into(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestructionRequest {
    pub firearm_ids: Vec<String>,
    /// cutting, crushing, shredding, smelting, burning, detonation or other.
    pub method: String,
    pub occurred_at: Option<String>,
    pub location: Option<String>,
    pub certificate_reference: Option<String>,
    #[serde(default)]
    pub witnesses: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestructionResult {
    pub id: String,
    pub count: usize,
}

impl DestructionRequest {
    fn parse(self) -> AppResult<BatchDestruction> {
        let mut v = Validator::new();
        let now = Utc::now();
        let ids = match events::parse_batch_ids(&self.firearm_ids) {
            Ok(ids) => Some(ids),
            Err(errors) => {
                for e in errors {
                    v.push(&e.field, e.message);
                }
                None
            }
        };
        let method = v.check("method", DestructionMethod::parse(&self.method));
        let occurred_at = self
            .occurred_at
            .as_deref()
            .and_then(|t| v.check("occurred_at", parse_occurred_at(t, now)));
        let location = self
            .location
            .as_deref()
            .and_then(|l| v.check("location", parse_label(l)));
        let certificate_reference = self
            .certificate_reference
            .as_deref()
            .and_then(|c| v.check("certificate_reference", parse_label(c)));
        let witnesses = input::parse_witnesses(&mut v, &self.witnesses);
        v.finish()?;
        Ok(BatchDestruction {
            firearm_ids: checked(ids)?,
            method: checked(method)?,
            occurred_at,
            location,
            certificate_reference,
            witnesses,
        })
    }
}

/// Destroys a batch of firearms atomically: all of them, or none.
#[utoipa::path(post, path = "/v1/destructions", tag = "lifecycle", request_body = DestructionRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = DestructionResult),
        (status = 403, body = crate::http::Problem),
        (status = 409, description = "destruction_rejected: failures lists each firearm and why", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<DestructionRequest>,
) -> AppResult<HttpResponse> {
    let batch = body.0.parse();
    let (id, count) = auth::run_as(&state.pool, caller, move |c, user| {
        let actor = Recorder::registrar(user)?;
        events::destroy(c, &actor, batch?)
    })
    .await?;
    Ok(HttpResponse::Created().json(DestructionResult { id, count }))
}
