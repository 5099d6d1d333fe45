//! A stock check's report: what was expected, found, missing, moved away,
//! sighted unexpectedly, not known at all, or matched ambiguously. An open
//! check's report is computed from the records as they are; a closed
//! check's is the one kept when it closed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

use crate::db::armouries::{BriefRow, CheckRow, SightingRow};
use crate::db::{self, DbConn};
use crate::domain::SightingResult;
use crate::error::{AppError, AppResult};

/// A firearm in a report, and where the registry has it now.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportItem {
    pub firearm_id: String,
    pub serial_number: String,
    pub manufacturer: String,
    pub country_of_manufacture: String,
    pub category: String,
    pub status: String,
    /// The armoury that holds the firearm on the records now, if any.
    pub armoury_id: Option<String>,
    pub responsible_agency_id: String,
    /// Who holds the firearm on the records (the custodian, or else the
    /// owner): shown for moved and unexpected firearms, which are elsewhere.
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<Value>,
}

impl ReportItem {
    pub fn with_holder(mut self, holder: Value) -> Self {
        self.held_by = Some(holder);
        self
    }
}

impl From<BriefRow> for ReportItem {
    fn from(r: BriefRow) -> Self {
        Self {
            firearm_id: r.id,
            serial_number: r.serial_number,
            manufacturer: r.manufacturer,
            country_of_manufacture: r.country_of_manufacture,
            category: r.category,
            status: r.status,
            armoury_id: r.armoury_id,
            responsible_agency_id: r.responsible_agency_id,
            held_by: None,
        }
    }
}

/// The holder of a firearm as stored: its custodian, or else its owner.
pub fn holder_of(r: &BriefRow) -> Value {
    let stored = r.custodian.as_deref().unwrap_or(&r.owner);
    serde_json::from_str(stored).unwrap_or(Value::Null)
}

/// A sighting that matched no single firearm.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnmatchedItem {
    /// Its place among the check's sightings, from 1.
    pub position: i64,
    /// The item as sighted.
    #[schema(value_type = Object)]
    pub item: Value,
    /// The firearms an ambiguous sighting matches.
    pub candidates: Option<Vec<String>>,
    pub sighted_at: DateTime<Utc>,
}

/// A missing firearm a `report_lost` close could not record lost, and why.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotReported {
    pub firearm_id: String,
    pub reason: String,
}

/// A `reported_lost` event the close recorded.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LostItem {
    pub firearm_id: String,
    pub event_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckReport {
    /// How many firearms the check expected when it opened.
    pub expected: i64,
    pub found: Vec<ReportItem>,
    /// Expected, not sighted, and still held here on the records.
    pub missing: Vec<ReportItem>,
    /// Expected, not sighted, and moved out by an event since the check opened.
    pub moved: Vec<ReportItem>,
    /// Sighted here, registered, and not expected here.
    pub unexpected: Vec<ReportItem>,
    pub unknown: Vec<UnmatchedItem>,
    pub ambiguous: Vec<UnmatchedItem>,
    /// Sightings of a firearm already sighted in this check.
    pub duplicates: i64,
    /// The lost events a `report_lost` close recorded.
    pub reported_lost: Vec<LostItem>,
    /// Missing firearms whose status takes no `reported_lost` (a
    /// deactivated firearm: see docs/lifecycle.md), left to the agency.
    #[serde(default)]
    pub not_reported: Vec<NotReported>,
}

fn unmatched(s: &SightingRow) -> UnmatchedItem {
    UnmatchedItem {
        position: s.position,
        item: serde_json::from_str(&s.item).unwrap_or(Value::Null),
        candidates: s
            .candidates
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok()),
        sighted_at: s.sighted_at.and_utc(),
    }
}

/// The report of a check from the records as they are now.
pub fn compute(conn: &mut DbConn, check: &CheckRow) -> AppResult<CheckReport> {
    let expected = db::armouries::expected_firearms(conn, &check.id)?;
    let sightings = db::armouries::sightings(conn, &check.id)?;
    let mut found_ids = HashSet::new();
    let mut unexpected_ids = Vec::new();
    let mut unknown = Vec::new();
    let mut ambiguous = Vec::new();
    let mut duplicates = 0;
    for s in &sightings {
        let result = SightingResult::parse(&s.result).map_err(AppError::internal)?;
        let id = s.firearm_id.clone();
        match (result, id) {
            (SightingResult::Found, Some(id)) => {
                found_ids.insert(id);
            }
            (SightingResult::Unexpected, Some(id)) => unexpected_ids.push(id),
            (SightingResult::Unknown, _) => unknown.push(unmatched(s)),
            (SightingResult::Ambiguous, _) => ambiguous.push(unmatched(s)),
            (SightingResult::Duplicate, _) => duplicates += 1,
            (_, None) => return Err(AppError::internal("a matched sighting names no firearm")),
        }
    }
    let mut report = CheckReport {
        expected: check.expected,
        found: Vec::new(),
        missing: Vec::new(),
        moved: Vec::new(),
        unexpected: Vec::new(),
        unknown,
        ambiguous,
        duplicates,
        reported_lost: Vec::new(),
        not_reported: Vec::new(),
    };
    for f in expected {
        if found_ids.contains(&f.id) {
            report.found.push(ReportItem::from(f));
        } else if f.armoury_id.as_deref() == Some(check.armoury_id.as_str()) {
            report.missing.push(ReportItem::from(f));
        } else {
            let holder = holder_of(&f);
            report.moved.push(ReportItem::from(f).with_holder(holder));
        }
    }
    let mut unexpected: HashMap<String, BriefRow> = db::armouries::briefs(conn, &unexpected_ids)?
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    report.unexpected = unexpected_ids
        .iter()
        .filter_map(|id| unexpected.remove(id))
        .map(|f| {
            let holder = holder_of(&f);
            ReportItem::from(f).with_holder(holder)
        })
        .collect();
    Ok(report)
}

/// The report a check shows: kept at close, or computed while open.
pub fn of(conn: &mut DbConn, check: &CheckRow) -> AppResult<CheckReport> {
    match &check.report {
        Some(kept) => serde_json::from_str(kept).map_err(AppError::caused_by),
        None => compute(conn, check),
    }
}

const CSV_HEADER: [&str; 11] = [
    "result",
    "firearm_id",
    "serial_number",
    "manufacturer",
    "country_of_manufacture",
    "category",
    "status",
    "held_by",
    "responsible_agency_id",
    "sighted_item",
    "candidates",
];

/// The report as CSV, one row per firearm or unmatched sighting; cells a
/// spreadsheet would run as formulas are defused.
pub fn csv(report: &CheckReport) -> AppResult<Vec<u8>> {
    let cell = crate::domain::text::spreadsheet_safe;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::caused_by(e);
    w.write_record(CSV_HEADER).map_err(fail)?;
    let lists = [
        ("found", &report.found),
        ("missing", &report.missing),
        ("moved", &report.moved),
        ("unexpected", &report.unexpected),
    ];
    for (result, items) in lists {
        for i in items {
            let name = i
                .held_by
                .as_ref()
                .and_then(|h| h.get("name"))
                .and_then(Value::as_str);
            let name = name.unwrap_or("");
            let record = [
                result.to_string(),
                i.firearm_id.clone(),
                i.serial_number.clone(),
                i.manufacturer.clone(),
                i.country_of_manufacture.clone(),
                i.category.clone(),
                i.status.clone(),
                name.to_string(),
                i.responsible_agency_id.clone(),
                String::new(),
                String::new(),
            ];
            w.write_record(record.map(cell)).map_err(fail)?;
        }
    }
    for (result, items) in [
        ("unknown", &report.unknown),
        ("ambiguous", &report.ambiguous),
    ] {
        for i in items {
            let mut record: [String; 11] = Default::default();
            record[0] = result.to_string();
            record[9] = i.item.to_string();
            record[10] = i
                .candidates
                .as_ref()
                .map(|c| c.join(" "))
                .unwrap_or_default();
            w.write_record(record.map(cell)).map_err(fail)?;
        }
    }
    w.into_inner()
        .map_err(|e| AppError::caused_by(e.into_error()))
}
