//! Statistics and national reports (docs/reports.md): the figures a state
//! owes on the International Tracing Instrument, the Arms Trade Treaty and
//! SDG indicator 16.4.2, read from the counts each change keeps
//! (`tally`) and from the trace requests of the period.

pub mod input;
pub mod render;
pub mod tally;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::counts::{self, Agencies, EventTotal, TraceRequestFacts};
use crate::db::{self, DbConn};
use crate::domain::report::{AttCategory, Direction, Period, ReportYear};
use crate::domain::{Category, CountryCode, DestructionMethod, EventType, Role, Status};
use crate::error::{AppError, AppResult};
use crate::trace::requests::Outcome;

/// Whose figures: the whole registry, one agency's, or those of the
/// agencies of one country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Agency(String),
    Country(CountryCode),
}

impl Scope {
    /// The agencies in scope; `None` for all of them.
    fn agencies(&self, c: &mut DbConn) -> AppResult<Option<Vec<String>>> {
        Ok(match self {
            Self::All => None,
            Self::Agency(id) => Some(vec![id.clone()]),
            Self::Country(country) => Some(db::agencies::ids_in_country(c, country.as_str())?),
        })
    }

    pub fn agency_id(&self) -> Option<&str> {
        match self {
            Self::Agency(id) => Some(id),
            _ => None,
        }
    }

    pub fn country(&self) -> Option<&str> {
        match self {
            Self::Country(c) => Some(c.as_str()),
            _ => None,
        }
    }
}

/// The scope of a statistics read: auditors see any agency or all of
/// them; other roles see their own agency only, and another agency's id
/// is answered as if it did not exist.
pub fn statistics_scope(
    c: &mut DbConn,
    user: &AuthUser,
    agency_id: Option<String>,
) -> AppResult<Scope> {
    policy::require(user, Action::ReadStatistics)?;
    if user.has(Role::Auditor) {
        return match agency_id {
            None => Ok(Scope::All),
            Some(id) if db::agencies::find(c, &id)?.is_some() => Ok(Scope::Agency(id)),
            Some(_) => Err(AppError::NotFound),
        };
    }
    let own = user
        .agency_id
        .clone()
        .ok_or_else(|| AppError::forbidden("you belong to no agency"))?;
    match agency_id {
        Some(id) if id != own => Err(AppError::NotFound),
        _ => Ok(Scope::Agency(own)),
    }
}

/// The scope of a national report: auditors only, the whole registry or
/// one country's agencies.
pub fn report_scope(user: &AuthUser, country: Option<CountryCode>) -> AppResult<Scope> {
    policy::require(user, Action::ReadReports)?;
    Ok(country.map_or(Scope::All, Scope::Country))
}

fn zeros<T: std::fmt::Display>(all: &[T]) -> BTreeMap<String, i64> {
    all.iter().map(|v| (v.to_string(), 0)).collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FirearmFigures {
    /// Firearms the agencies in scope are responsible for now.
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_category: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventFigures {
    pub total: i64,
    pub by_type: BTreeMap<String, i64>,
    /// Keyed by the year of `occurred_at`.
    pub by_year: BTreeMap<String, i64>,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct TraceFigures {
    /// Requests sent by the agencies in scope in the period.
    pub sent: i64,
    /// Requests addressed to them in the period; the figures below are of these.
    pub received: i64,
    pub answered: i64,
    /// Unanswered and past `respond_by` now.
    pub overdue: i64,
    pub by_outcome: BTreeMap<String, i64>,
    /// From sending to the answer, in days (two decimals); null with no answer.
    pub median_days_to_answer: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Statistics {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    pub agency_id: Option<String>,
    pub firearms: FirearmFigures,
    pub events: EventFigures,
    pub trace_requests: TraceFigures,
}

/// Counts in scope over a period, and its trace requests.
struct Figures {
    events: Vec<EventTotal>,
    requests: Vec<TraceRequestFacts>,
    agencies: Option<Vec<String>>,
}

impl Figures {
    fn read(c: &mut DbConn, scope: &Scope, period: Period) -> AppResult<Self> {
        let agencies = scope.agencies(c)?;
        let listed = match &agencies {
            None => Agencies::All,
            Some(ids) => Agencies::Listed(ids),
        };
        let (from, to) = period.days();
        let events = counts::event_totals(c, from, to, &listed)?;
        let requests = counts::trace_requests(
            c,
            start_of(period.from),
            start_of(period.to + chrono::Days::new(1)),
        )?;
        Ok(Self {
            events,
            requests,
            agencies,
        })
    }

    /// Events of `kind` whose breakdown passes `keep`.
    fn count(&self, kind: EventType, keep: impl Fn(&EventTotal) -> bool) -> i64 {
        self.events
            .iter()
            .filter(|t| t.event_type == kind.as_str() && keep(t))
            .map(|t| t.n)
            .sum()
    }

    fn in_scope(&self, agency: &str) -> bool {
        self.agencies
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|a| a == agency))
    }

    fn trace_figures(&self, now: NaiveDateTime) -> TraceFigures {
        let mut f = TraceFigures {
            by_outcome: zeros(Outcome::ALL),
            ..TraceFigures::default()
        };
        let mut days = Vec::new();
        for r in &self.requests {
            f.sent += i64::from(self.in_scope(&r.from_agency_id));
            if !self.in_scope(&r.to_agency_id) {
                continue;
            }
            f.received += 1;
            match (&r.outcome, r.responded_at) {
                (Some(outcome), Some(at)) => {
                    f.answered += 1;
                    *f.by_outcome.entry(outcome.clone()).or_default() += 1;
                    let seconds = (at - r.created_at).num_seconds();
                    days.push(seconds as f64 / 86_400.0);
                }
                _ => f.overdue += i64::from(r.respond_by.is_some_and(|by| by < now)),
            }
        }
        f.median_days_to_answer = median(&mut days).map(|d| (d * 100.0).round() / 100.0);
        f
    }
}

fn start_of(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// `GET /v1/statistics`: the firearms in scope now, and the events and
/// trace requests of the period.
pub fn statistics(c: &mut DbConn, scope: &Scope, period: Period) -> AppResult<Statistics> {
    let figures = Figures::read(c, scope, period)?;
    let listed = match &figures.agencies {
        None => Agencies::All,
        Some(ids) => Agencies::Listed(ids),
    };
    let mut firearms = FirearmFigures {
        total: 0,
        by_status: zeros(Status::ALL),
        by_category: zeros(Category::ALL),
    };
    for t in counts::firearm_totals(c, &listed)? {
        firearms.total += t.n;
        *firearms.by_status.entry(t.status).or_default() += t.n;
        *firearms.by_category.entry(t.category).or_default() += t.n;
    }
    let mut events = EventFigures {
        total: 0,
        by_type: zeros(EventType::ALL),
        by_year: BTreeMap::new(),
    };
    for t in &figures.events {
        events.total += t.n;
        *events.by_type.entry(t.event_type.clone()).or_default() += t.n;
        *events.by_year.entry(t.year.to_string()).or_default() += t.n;
    }
    Ok(Statistics {
        from: period.from,
        to: period.to,
        agency_id: scope.agency_id().map(str::to_string),
        firearms,
        events,
        trace_requests: figures.trace_figures(db::now()),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Destroyed {
    pub total: i64,
    pub by_method: BTreeMap<String, i64>,
}

/// The figures of the ITI national report for one year.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItiReport {
    pub year: i32,
    /// The country whose agencies' records were counted; null for all.
    pub country: Option<String>,
    /// `registered` events that occurred in the year.
    pub firearms_registered: i64,
    /// `import` events that applied an import marking.
    pub marked_at_import: i64,
    pub imported: i64,
    pub exported: i64,
    /// `seized` events: weapons seized or found.
    pub seized_or_found: i64,
    pub recovered: i64,
    pub reported_lost: i64,
    pub reported_stolen: i64,
    pub destroyed: Destroyed,
    pub trace_requests: TraceFigures,
}

pub fn iti(c: &mut DbConn, scope: &Scope, year: ReportYear) -> AppResult<ItiReport> {
    let f = Figures::read(c, scope, year.period())?;
    let all = |_: &EventTotal| true;
    let mut by_method = zeros(DestructionMethod::ALL);
    for t in f.events.iter().filter(|t| t.event_type == "destroyed") {
        *by_method.entry(t.detail.clone()).or_default() += t.n;
    }
    Ok(ItiReport {
        year: year.get(),
        country: scope.country().map(str::to_string),
        firearms_registered: f.count(EventType::Registered, all),
        marked_at_import: f.count(EventType::Import, |t| t.detail == "marked"),
        imported: f.count(EventType::Import, all),
        exported: f.count(EventType::Export, all),
        seized_or_found: f.count(EventType::Seized, all),
        recovered: f.count(EventType::Recovered, all),
        reported_lost: f.count(EventType::ReportedLost, all),
        reported_stolen: f.count(EventType::ReportedStolen, all),
        destroyed: Destroyed {
            total: by_method.values().sum(),
            by_method,
        },
        trace_requests: f.trace_figures(db::now()),
    })
}

/// One row of the ATT table: items of one template category to or from
/// one partner country.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttRow {
    /// `small_arms` or `light_weapons`.
    pub group: &'static str,
    pub category: String,
    /// The importing state of an export, the exporting state of an import.
    pub partner_country: String,
    pub items: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttReport {
    pub year: i32,
    pub direction: String,
    pub country: Option<String>,
    pub rows: Vec<AttRow>,
    pub total: i64,
}

pub fn att(
    c: &mut DbConn,
    scope: &Scope,
    year: ReportYear,
    direction: Direction,
) -> AppResult<AttReport> {
    let f = Figures::read(c, scope, year.period())?;
    let kind = match direction {
        Direction::Exports => EventType::Export,
        Direction::Imports => EventType::Import,
    };
    // Keyed by the category's place in the template, which orders the rows.
    let mut items: BTreeMap<(usize, String), i64> = BTreeMap::new();
    for t in f.events.iter().filter(|t| t.event_type == kind.as_str()) {
        let Ok(category) = Category::parse(&t.category) else {
            continue;
        };
        *items
            .entry((AttCategory::of(category) as usize, t.partner.clone()))
            .or_default() += t.n;
    }
    let rows: Vec<AttRow> = items
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .filter_map(|((at, partner), n)| Some((*AttCategory::ALL.get(at)?, partner, n)))
        .map(|(category, partner, n)| AttRow {
            group: category.group(),
            category: category.to_string(),
            partner_country: partner,
            items: n,
        })
        .collect();
    Ok(AttReport {
        year: year.get(),
        direction: direction.to_string(),
        country: scope.country().map(str::to_string),
        total: rows.iter().map(|r| r.items).sum(),
        rows,
    })
}

/// SDG indicator 16.4.2 over a period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SdgReport {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    pub country: Option<String>,
    /// Seizures recorded, and trace requests sent for weapons found.
    pub seized_found_surrendered: i64,
    /// Seizures of firearms registered before they were seized, and trace
    /// requests answered `identified`.
    pub origin_established: i64,
    /// The share, four decimals; null when nothing was seized or found.
    pub proportion: Option<f64>,
    pub seizures: i64,
    pub seizures_of_registered_firearms: i64,
    pub trace_requests_sent: i64,
    pub trace_requests_identified: i64,
}

pub fn sdg(c: &mut DbConn, scope: &Scope, period: Period) -> AppResult<SdgReport> {
    let f = Figures::read(c, scope, period)?;
    let seizures = f.count(EventType::Seized, |_| true);
    let known = f.count(EventType::Seized, |t| t.detail == "known");
    let sent: Vec<_> = f
        .requests
        .iter()
        .filter(|r| f.in_scope(&r.from_agency_id))
        .collect();
    let identified = sent
        .iter()
        .filter(|r| r.outcome.as_deref() == Some(Outcome::Identified.as_str()))
        .count();
    let sent = i64::try_from(sent.len()).unwrap_or(i64::MAX);
    let identified = i64::try_from(identified).unwrap_or(i64::MAX);
    let total = seizures + sent;
    let established = known + identified;
    Ok(SdgReport {
        from: period.from,
        to: period.to,
        country: scope.country().map(str::to_string),
        seized_found_surrendered: total,
        origin_established: established,
        proportion: (total > 0)
            .then(|| (established as f64 / total as f64 * 10_000.0).round() / 10_000.0),
        seizures,
        seizures_of_registered_firearms: known,
        trace_requests_sent: sent,
        trace_requests_identified: identified,
    })
}
