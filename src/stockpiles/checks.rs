//! Stock checks: open one (what it expects is fixed then), record what is
//! sighted in batches, and close it with four eyes. Each step takes the
//! check's row first, so sightings and the close apply one after another.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

use super::input::{Closing, Sighting};
use super::report::{self, CheckReport, LostItem, NotReported};
use crate::audit::{self, content};
use crate::auth::policy;
use crate::auth::{AuthUser, Recorder};
use crate::db::armouries::{BriefRow, CheckRow, SightingRow};
use crate::db::{self, DbConn};
use crate::domain::lifecycle::transition;
use crate::domain::{CheckStatus, EventType, MissingAction, SightingResult};
use crate::error::{AppError, AppResult};
use crate::events::input::{Action, EventInput};

/// Who opened or closed a check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckedBy {
    pub user_id: String,
    pub username: String,
}

/// A check and its report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckView {
    pub id: String,
    pub armoury_id: String,
    pub agency_id: String,
    pub reference: String,
    /// open or closed.
    pub status: String,
    pub expected: i64,
    /// How many items were sighted, duplicates included.
    pub sightings: i64,
    pub opened_by: CheckedBy,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<CheckedBy>,
    pub closed_at: Option<DateTime<Utc>>,
    pub missing_action: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    /// Absent from the answer to opening.
    pub report: Option<CheckReport>,
}

impl CheckView {
    pub fn new(r: CheckRow, report: Option<CheckReport>) -> Self {
        let closed_by = r
            .closed_by
            .zip(r.closed_by_username)
            .map(|(user_id, username)| CheckedBy { user_id, username });
        Self {
            id: r.id,
            armoury_id: r.armoury_id,
            agency_id: r.agency_id,
            reference: r.reference,
            status: r.status,
            expected: r.expected,
            sightings: r.sightings,
            opened_by: CheckedBy {
                user_id: r.opened_by,
                username: r.opened_by_username,
            },
            opened_at: r.opened_at.and_utc(),
            closed_by,
            closed_at: r.closed_at.map(|t| t.and_utc()),
            missing_action: r.missing_action,
            notes: r.notes,
            version: r.version,
            report,
        }
    }
}

fn entry(action: &str, check: &CheckRow, detail: Value) -> audit::Entry {
    let key = format!("stock_check:{}", check.id);
    let state = content::stock_check(check, (check.expected, check.sightings, check.seen));
    audit::Entry::new(
        action,
        key.clone(),
        json!({"check": state, "detail": detail}),
    )
    .subject(key, state)
}

/// Opens a check of an armoury of the registrar's agency: it expects the
/// firearms kept there now.
pub fn open(
    conn: &mut DbConn,
    actor: &Recorder,
    armoury_id: &str,
    reference: String,
) -> AppResult<CheckRow> {
    db::write_tx(conn, |c| -> AppResult<CheckRow> {
        let armoury = db::armouries::find(c, armoury_id)?
            .filter(|a| a.agency_id == actor.agency_id)
            .ok_or(AppError::NotFound)?;
        let mut check = CheckRow {
            id: db::new_id(),
            armoury_id: armoury.id,
            agency_id: armoury.agency_id,
            reference,
            status: CheckStatus::Open.to_string(),
            expected: 0,
            sightings: 0,
            seen: 0,
            opened_by: actor.user_id.clone(),
            opened_by_username: actor.username.clone(),
            opened_at: db::now(),
            closed_by: None,
            closed_by_username: None,
            closed_at: None,
            missing_action: None,
            notes: None,
            report: None,
            version: 1,
        };
        check.expected = db::armouries::open(c, &check)?;
        db::armouries::update_check(c, &check)?;
        let detail = json!({"armoury_id": check.armoury_id, "expected": check.expected});
        audit::queue(
            c,
            &actor.audit_actor(),
            vec![entry("stock_check.opened", &check, detail)],
        )?;
        Ok(check)
    })
}

/// A check of the registrar's agency, taken for a change, that is open.
fn take_open(c: &mut DbConn, actor: &Recorder, id: &str) -> AppResult<CheckRow> {
    let check = db::armouries::take_check(c, id)?;
    if check.agency_id != actor.agency_id {
        return Err(AppError::NotFound);
    }
    if check.status != CheckStatus::Open.as_str() {
        return Err(AppError::conflict(
            "stock_check_closed",
            "the stock check is closed; open a new one",
        ));
    }
    Ok(check)
}

/// What one sighted item turned out to be.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SightingOutcome {
    /// found, unexpected, unknown, ambiguous or duplicate.
    pub result: SightingResult,
    pub firearm_id: Option<String>,
    /// The firearms an ambiguous item matches.
    pub candidates: Option<Vec<String>>,
    /// Where the registry has an unexpected firearm.
    #[schema(value_type = Option<Object>)]
    pub registry_has_it: Option<Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SightingsAnswer {
    pub check_id: String,
    /// One per item, in the order given.
    pub results: Vec<SightingOutcome>,
    /// Items sighted in this check so far, duplicates included.
    pub sightings: i64,
}

fn item_json(s: &Sighting) -> Value {
    match s {
        Sighting::Firearm(id) => json!({"firearm_id": id}),
        Sighting::Marking {
            serial,
            manufacturer,
            country,
            ..
        } => json!({
            "serial_number": serial.marked,
            "manufacturer": manufacturer,
            "country_of_manufacture": country,
        }),
    }
}

/// The registered firearms each item could be.
fn candidates(c: &mut DbConn, items: &[Sighting]) -> AppResult<Vec<Vec<BriefRow>>> {
    let mut serials: Vec<String> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for item in items {
        match item {
            Sighting::Firearm(id) => ids.push(id.clone()),
            Sighting::Marking { serial, .. } => serials.push(serial.normalized.clone()),
        }
    }
    serials.sort();
    serials.dedup();
    ids.sort();
    ids.dedup();
    let mut by_serial: HashMap<String, Vec<BriefRow>> = HashMap::new();
    for f in db::armouries::briefs_by_serial(c, &serials)? {
        by_serial
            .entry(f.serial_normalized.clone())
            .or_default()
            .push(f);
    }
    let by_id: HashMap<String, BriefRow> = db::armouries::briefs(c, &ids)?
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    Ok(items
        .iter()
        .map(|item| match item {
            Sighting::Firearm(id) => by_id.get(id).cloned().into_iter().collect(),
            Sighting::Marking {
                serial,
                manufacturer_key,
                country,
                ..
            } => by_serial
                .get(&serial.normalized)
                .map(|found| {
                    found
                        .iter()
                        .filter(|f| {
                            manufacturer_key
                                .as_ref()
                                .is_none_or(|m| *m == f.manufacturer_key)
                        })
                        .filter(|f| country.is_none_or(|c| f.country_of_manufacture == c.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// Records a batch of sightings: each item is matched, judged against
/// what the check expects and what it has seen, and kept.
pub fn sight(
    conn: &mut DbConn,
    actor: &Recorder,
    check_id: &str,
    items: Vec<Sighting>,
) -> AppResult<SightingsAnswer> {
    db::write_tx(conn, |c| -> AppResult<SightingsAnswer> {
        let mut check = take_open(c, actor, check_id)?;
        let matches = candidates(c, &items)?;
        let single: Vec<String> = matches
            .iter()
            .filter(|m| m.len() == 1)
            .map(|m| m[0].id.clone())
            .collect();
        let expected = db::armouries::expected_among(c, &check.id, &single)?;
        let mut first = db::armouries::mark_seen(c, &check.id, &dedup(single))?;
        check.seen += i64::try_from(first.len()).unwrap_or(i64::MAX);
        let now = db::now();
        let mut rows = Vec::with_capacity(items.len());
        let mut results = Vec::with_capacity(items.len());
        for (item, found) in items.iter().zip(matches) {
            let outcome = judge(&found, &expected, &mut first);
            check.sightings += 1;
            rows.push(SightingRow {
                id: db::new_id(),
                check_id: check.id.clone(),
                position: check.sightings,
                item: item_json(item).to_string(),
                result: outcome.result.to_string(),
                firearm_id: outcome.firearm_id.clone(),
                candidates: outcome.candidates.as_ref().map(|c| json!(c).to_string()),
                sighted_by: actor.user_id.clone(),
                sighted_at: now,
            });
            results.push(outcome);
        }
        db::armouries::insert_sightings(c, &rows)?;
        check.version += 1;
        db::armouries::update_check(c, &check)?;
        let summary: Vec<Value> = rows
            .iter()
            .map(|r| json!([r.position, r.result, r.firearm_id, r.item]))
            .collect();
        audit::queue(
            c,
            &actor.audit_actor(),
            vec![entry("stock_check.sighted", &check, json!(summary))],
        )?;
        Ok(SightingsAnswer {
            check_id: check.id,
            results,
            sightings: check.sightings,
        })
    })
}

fn dedup(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// What an item is, given the firearms it matches, those the check
/// expects, and those sighted for the first time in this batch (taken out
/// as they are judged, so a second sighting in the batch is a duplicate).
fn judge(
    found: &[BriefRow],
    expected: &HashSet<String>,
    first: &mut HashSet<String>,
) -> SightingOutcome {
    let outcome = |result, firearm_id, candidates, registry_has_it| SightingOutcome {
        result,
        firearm_id,
        candidates,
        registry_has_it,
    };
    match found {
        [] => outcome(SightingResult::Unknown, None, None, None),
        [f] if !first.remove(&f.id) => {
            outcome(SightingResult::Duplicate, Some(f.id.clone()), None, None)
        }
        [f] if expected.contains(&f.id) => {
            outcome(SightingResult::Found, Some(f.id.clone()), None, None)
        }
        [f] => {
            let at = json!(report::ReportItem::from(f.clone()).with_holder(report::holder_of(f)));
            outcome(
                SightingResult::Unexpected,
                Some(f.id.clone()),
                None,
                Some(at),
            )
        }
        many => {
            let mut ids: Vec<String> = many.iter().map(|f| f.id.clone()).collect();
            ids.sort();
            outcome(SightingResult::Ambiguous, None, Some(ids), None)
        }
    }
}

/// A check and its report, for its agency's users and auditors.
pub fn show(conn: &mut DbConn, user: &AuthUser, id: &str) -> AppResult<CheckView> {
    let check = db::armouries::find_check(conn, id)?.ok_or(AppError::NotFound)?;
    policy::armoury_scope(user, &check.agency_id)?;
    let report = report::of(conn, &check)?;
    Ok(CheckView::new(check, Some(report)))
}

/// Records `reported_lost` for every missing firearm whose status takes
/// it, citing the check, all in the caller's transaction; the others are
/// listed as not reported.
fn report_lost(
    c: &mut DbConn,
    actor: &Recorder,
    check: &CheckRow,
    report: &mut CheckReport,
) -> AppResult<()> {
    let mut reportable = Vec::with_capacity(report.missing.len());
    for item in &report.missing {
        let firearm = db::firearms::take_for_change(c, &item.firearm_id, None)?;
        if transition(firearm.status, EventType::ReportedLost).is_some() {
            reportable.push(firearm);
        } else {
            report.not_reported.push(NotReported {
                reason: format!("a {} firearm takes no `reported_lost`", firearm.status),
                firearm_id: firearm.id,
            });
        }
    }
    let input = EventInput {
        occurred_at: None,
        location: None,
        reference: Some(check.reference.clone()),
        notes: Some(format!(
            "not found in stock check {} ({})",
            check.reference, check.id
        )),
        action: Action::ReportedLost {
            report_reference: Some(check.reference.clone()),
        },
    };
    let events = crate::events::write_many(c, actor, &reportable, &input).map_err(|e| {
        AppError::conflict(
            "lost_not_recordable",
            format!("the missing firearms cannot be recorded lost: {e}; the check is still open"),
        )
    })?;
    report.reported_lost = events
        .into_iter()
        .map(|e| LostItem {
            firearm_id: e.firearm_id,
            event_id: e.id,
        })
        .collect();
    Ok(())
}

/// Closes a check (a registrar of its agency other than its opener),
/// keeping its report; with `report_lost`, every missing firearm is
/// recorded lost in the same transaction.
pub fn close(
    conn: &mut DbConn,
    actor: &Recorder,
    id: &str,
    closing: Closing,
) -> AppResult<CheckView> {
    let (check, report) = db::write_tx(conn, |c| -> AppResult<(CheckRow, CheckReport)> {
        let mut check = take_open(c, actor, id)?;
        policy::close_stock_check(&actor.user_id, &check.opened_by)?;
        let mut report = report::compute(c, &check)?;
        match (closing.missing_action, report.missing.len()) {
            (None, 0) => {}
            (None, n) => {
                return Err(AppError::field(
                    "missing_action",
                    format!("is required: {n} firearms expected here were not sighted (report_lost or investigate)"),
                )
                )
            }
            (Some(MissingAction::ReportLost), _) => {
                report_lost(c, actor, &check, &mut report)?;
            }
            (Some(MissingAction::Investigate), _) => {}
        }
        check.status = CheckStatus::Closed.to_string();
        check.closed_by = Some(actor.user_id.clone());
        check.closed_by_username = Some(actor.username.clone());
        check.closed_at = Some(db::now());
        check.missing_action = closing.missing_action.map(|a| a.to_string());
        check.notes = closing.notes;
        check.report = Some(serde_json::to_string(&report).map_err(AppError::caused_by)?);
        check.version += 1;
        db::armouries::update_check(c, &check)?;
        let detail = json!({
            "missing_action": check.missing_action,
            "found": report.found.len(), "missing": report.missing.len(),
            "moved": report.moved.len(), "unexpected": report.unexpected.len(),
            "unknown": report.unknown.len(), "ambiguous": report.ambiguous.len(),
            "reported_lost": report.reported_lost.iter().map(|l| &l.event_id).collect::<Vec<_>>(),
        });
        audit::queue(
            c,
            &actor.audit_actor(),
            vec![entry("stock_check.closed", &check, detail)],
        )?;
        Ok((check, report))
    })?;
    Ok(CheckView::new(check, Some(report)))
}
