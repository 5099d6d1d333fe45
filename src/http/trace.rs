use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::events::RecordedBy;
use super::pagination::{Page, PageQuery};
use crate::auth::policy::{self, Action};
use crate::auth::{self, AuthUser, Caller};
use crate::db::{self, replica::Reader};
use crate::domain::trace::{Pattern, PatternError};
use crate::error::{AppError, AppResult, Validator};
use crate::firearms::view::FirearmView;
use crate::http::state::AppState;
use crate::trace::{self, Match, RawAttributes, TraceQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TraceParams {
    /// The serial as read; `?` for one unreadable character, `*` for a run.
    pub serial: Option<String>,
    /// Text of a marking as read (required when `serial` is not given).
    pub marking: Option<String>,
    pub manufacturer: Option<String>,
    pub country_of_manufacture: Option<String>,
    pub category: Option<String>,
    pub calibre: Option<String>,
    pub model: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<String>,
    /// `true`: look-alike characters do not match each other.
    pub exact: Option<String>,
}

fn pattern(v: &mut Validator, field: &str, raw: Option<&str>) -> AppResult<Option<Pattern>> {
    let Some(raw) = raw else { return Ok(None) };
    match Pattern::parse(raw) {
        Ok(p) => Ok(Some(p)),
        Err(PatternError::Invalid(m)) => {
            v.push(field, m);
            Ok(None)
        }
        Err(PatternError::TooBroad(m)) => Err(AppError::unprocessable(
            "query_too_broad",
            format!("{field}: {m}"),
        )),
    }
}

impl TraceParams {
    fn parse(&self) -> AppResult<TraceQuery> {
        let mut v = Validator::new();
        let serial = pattern(&mut v, "serial", self.serial.as_deref())?;
        let marking = pattern(&mut v, "marking", self.marking.as_deref())?;
        if self.serial.is_none() && self.marking.is_none() {
            v.push("serial", "is required unless marking is given");
        }
        let limit = match self.limit.as_deref() {
            None => Some(20),
            Some(raw) => v.check(
                "limit",
                raw.parse::<usize>()
                    .ok()
                    .filter(|l| (1..=100).contains(l))
                    .ok_or_else(|| "must be a whole number from 1 to 100".to_string()),
            ),
        };
        let exact = match self.exact.as_deref() {
            None | Some("false") => Some(false),
            Some("true") => Some(true),
            Some(_) => v.check("exact", Err("must be true or false".into())),
        };
        let mut query = TraceQuery {
            serial,
            marking,
            exact: exact.unwrap_or(false),
            limit: limit.unwrap_or(20),
            ..TraceQuery::default()
        };
        query.set_attributes(
            &mut v,
            "",
            RawAttributes {
                manufacturer: self.manufacturer.as_deref(),
                model: self.model.as_deref(),
                calibre: self.calibre.as_deref(),
                category: self.category.as_deref(),
                country_of_manufacture: self.country_of_manufacture.as_deref(),
            },
        );
        v.finish()?;
        Ok(query)
    }

    /// The parameters as given, for the audit log and notifications.
    fn as_json(&self) -> serde_json::Value {
        json!({
            "serial": self.serial, "marking": self.marking, "manufacturer": self.manufacturer,
            "country_of_manufacture": self.country_of_manufacture, "category": self.category,
            "calibre": self.calibre, "model": self.model, "limit": self.limit, "exact": self.exact,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatchView {
    pub firearm: FirearmView,
    /// `serial`, `component` or `marking`.
    pub matched_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marking_kind: Option<String>,
    /// The identifier as marked on the record.
    pub matched_text: String,
    /// 1.0 for an exact normalised match of the serial; see docs/tracing.md.
    pub score: f64,
    /// The firearm is reported lost or stolen.
    pub alert: bool,
}

impl TryFrom<Match> for MatchView {
    type Error = AppError;
    fn try_from(m: Match) -> AppResult<Self> {
        let component = m.matched_on == "component";
        Ok(Self {
            component_kind: m.kind.clone().filter(|_| component),
            marking_kind: m.kind.filter(|_| !component),
            matched_on: m.matched_on,
            matched_text: m.matched_text,
            score: m.score,
            alert: m.alert,
            firearm: FirearmView::from(m.firearm),
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TraceResult {
    pub matches: Vec<MatchView>,
    /// More matches existed than `limit`.
    pub truncated: bool,
}

/// Finds firearms from a worn, partial or misread marking. Every query is
/// recorded in the audit log; matches on lost or stolen firearms carry
/// `alert` and notify the responsible agency.
#[utoipa::path(get, path = "/v1/trace", tag = "tracing", security(("bearer" = [])),
    params(TraceParams),
    responses((status = 200, body = TraceResult), (status = 403, body = crate::http::Problem),
        (status = 422, description = "invalid parameters, or query_too_broad", body = crate::http::Problem)))]
pub async fn trace(
    state: web::Data<AppState>,
    caller: Caller,
    reader: Reader,
    params: web::Query<TraceParams>,
) -> AppResult<web::Json<TraceResult>> {
    let params = params.into_inner();
    caller.require_purpose(state.settings.require_purpose)?;
    let reads = state.reads.clone();
    // The account, the role and then the query are checked in that order,
    // in the trip to the database that reads the candidates. The
    // connection goes back to the pool while they are scored: a costly
    // query must not starve other requests of connections.
    let given = params.as_json();
    let found = auth::read_as(reader.clone(), caller, move |c, user| {
        policy::require(user, Action::Trace)?;
        let query = params.parse()?;
        let candidates = trace::candidates(c, &query)?;
        Ok(Found {
            user: user.clone(),
            query,
            candidates,
        })
    })
    .await?;
    let budget = trace::Budget::of(state.settings.trace_budget);
    let Found {
        user,
        query,
        candidates,
    } = found;
    let (query, scored) = web::block(move || {
        let scored = trace::score(&query, candidates, budget);
        (query, scored)
    })
    .await?;
    let scored = scored?;
    // Ranked where the reads go; recorded on the primary, since a query
    // that matches a lost or stolen firearm writes its alerts.
    let primary = state.pool.clone();
    let (matches, truncated) = web::block(move || {
        let (matches, truncated) = reader.read(|c| trace::rank(c, &query, scored))?;
        db::on_pooled(&primary, |c| {
            trace::record_query(c, &reads, &user.audit_actor(), &given, &matches)
        })?;
        Ok::<_, AppError>((matches, truncated))
    })
    .await??;
    let matches = matches
        .into_iter()
        .map(MatchView::try_from)
        .collect::<AppResult<_>>()?;
    Ok(web::Json(TraceResult { matches, truncated }))
}

/// A checked query, its caller, and what the indexes offered for it.
struct Found {
    user: AuthUser,
    query: TraceQuery,
    candidates: trace::Candidates,
}

/// A trace of one of the agency's lost or stolen firearms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    pub firearm_id: Option<String>,
    pub kind: String,
    pub traced_at: chrono::DateTime<chrono::Utc>,
    pub traced_by: RecordedBy,
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
}

/// Who traced the caller's agency's lost or stolen firearms, when, and
/// from which agency (tracers and registrars).
#[utoipa::path(get, path = "/v1/notifications", tag = "tracing", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<Notification>), (status = 403, body = crate::http::Problem)))]
pub async fn notifications(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Notification>>> {
    let agency = policy::acting_agency(&user, Action::ReadNotifications)?;
    let page = query.parse()?;
    let limit = page.limit;
    let rows = db::run(&state.pool, move |c| {
        db::notifications::page(c, &agency, page.after.as_deref(), limit + 1)
    })
    .await?;
    Page::from_rows(
        rows,
        limit,
        |r| &r.id,
        |r| {
            Ok(Notification {
                traced_at: r.created_at.and_utc(),
                traced_by: RecordedBy {
                    user_id: r.traced_by_user_id,
                    username: r.traced_by_username,
                    agency_id: r.traced_by_agency_id,
                },
                query: serde_json::from_str(&r.query).unwrap_or_default(),
                id: r.id,
                firearm_id: r.firearm_id,
                kind: r.kind,
            })
        },
    )
    .map(web::Json)
}
