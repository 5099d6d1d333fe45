//! Tracing: finding firearms from what is read off a weapon, and the
//! formal trace requests between agencies. Every query is itself recorded
//! in the audit log, and a match on a lost or stolen firearm leaves a
//! notification for the agency responsible for it.

pub mod requests;

use serde_json::{json, Value};
use std::collections::HashMap;

use crate::audit::reads::ReadLog;
use crate::audit::{self, AuditActor};
use crate::db::trace::IdentifierRow;
use crate::db::{self, DbConn};
use crate::domain::firearm::parse_label;
use crate::domain::trace::{fit, Agreement, Pattern};
use crate::domain::{serial, Category, CountryCode, Firearm, Status};
use crate::error::{AppError, AppResult, Validator};
use std::time::{Duration, Instant};

/// A checked trace query.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    pub serial: Option<Pattern>,
    pub marking: Option<Pattern>,
    pub manufacturer: Option<String>,
    pub country_of_manufacture: Option<CountryCode>,
    pub category: Option<Category>,
    pub calibre: Option<String>,
    pub model: Option<String>,
    pub exact: bool,
    pub limit: usize,
}

/// What else is known of a weapon besides its markings, as given.
pub struct RawAttributes<'a> {
    pub manufacturer: Option<&'a str>,
    pub model: Option<&'a str>,
    pub calibre: Option<&'a str>,
    pub category: Option<&'a str>,
    pub country_of_manufacture: Option<&'a str>,
}

impl TraceQuery {
    /// The weapon's description as given, in the order
    /// `attribute_factor` compares it with a record.
    fn description(&self) -> [Option<String>; 5] {
        [
            self.manufacturer.clone(),
            self.country_of_manufacture.map(|c| c.to_string()),
            self.category.map(|c| c.to_string()),
            self.calibre.clone(),
            self.model.clone(),
        ]
    }

    /// Whether a marking given beside a serial moves a candidate's score.
    fn ranks_on_markings(&self) -> bool {
        self.serial.is_some() && self.marking.is_some()
    }

    /// Parses the descriptive fields into this query, naming each invalid
    /// one under `prefix` (`firearm.` in a trace request).
    pub fn set_attributes(&mut self, v: &mut Validator, prefix: &str, raw: RawAttributes<'_>) {
        let field = |name: &str| format!("{prefix}{name}");
        let label = |v: &mut Validator, name: &str, value: Option<&str>| {
            value.and_then(|r| v.check(&field(name), parse_label(r)))
        };
        self.manufacturer = label(v, "manufacturer", raw.manufacturer);
        self.model = label(v, "model", raw.model);
        self.calibre = label(v, "calibre", raw.calibre);
        self.category = raw
            .category
            .and_then(|c| v.check(&field("category"), Category::parse(c)));
        self.country_of_manufacture = raw
            .country_of_manufacture
            .and_then(|c| v.check(&field("country_of_manufacture"), CountryCode::parse(c)));
    }
}

/// Candidates read per query at most; past this the answer is truncated.
const MAX_CANDIDATES: i64 = 2000;

#[derive(Debug, Clone)]
pub struct Match {
    pub firearm: Firearm,
    /// `serial`, `component` or `marking`.
    pub matched_on: String,
    /// For a component or marking, its kind (`slide`, `import`, ...).
    pub kind: Option<String>,
    /// The identifier as marked.
    pub matched_text: String,
    pub score: f64,
    pub alert: bool,
}

fn source_factor(source: &str) -> f64 {
    match source {
        "serial" => 1.0,
        "component" => 0.97,
        _ => 0.9,
    }
}

fn attribute_factor(description: &[Option<String>; 5], f: &Firearm) -> f64 {
    let record = [
        Some(f.manufacturer.as_str()),
        Some(f.country_of_manufacture.as_str()),
        Some(f.category.as_str()),
        f.calibre.as_deref(),
        f.model.as_deref(),
    ];
    description
        .iter()
        .zip(record)
        .filter_map(|(given, stored)| Agreement::compare(given.as_deref(), stored))
        .map(Agreement::factor)
        .product()
}

/// When a marking is given beside a serial, a firearm bearing a matching
/// marking ranks above one that does not.
fn marking_factor(q: &TraceQuery, f: &Firearm) -> f64 {
    let Some(pattern) = q.marking.as_ref().filter(|_| q.ranks_on_markings()) else {
        return 1.0;
    };
    let found = f
        .markings
        .iter()
        .any(|m| fit(pattern, &serial::normalize(&m.text), q.exact).is_some());
    if found {
        1.0
    } else {
        0.8
    }
}

/// A score as answered: at most 1, to three decimals. Ranking uses it too.
fn rounded(score: f64) -> f64 {
    (score.min(1.0) * 1000.0).round() / 1000.0
}

/// A firearm's place in an answer.
struct Rank<'a> {
    score: f64,
    firearm_id: &'a str,
}

impl<'a> Rank<'a> {
    fn of(m: &'a Match) -> Self {
        Self {
            score: m.score,
            firearm_id: &m.firearm.id,
        }
    }
}

/// Best first: higher score, then firearm id so that equal scores answer
/// in a stable order.
fn ranking(a: Rank<'_>, b: Rank<'_>) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.firearm_id.cmp(b.firearm_id))
}

/// The identifiers the indexes offered for a query, not yet checked.
pub struct Candidates {
    rows: Vec<IdentifierRow>,
    truncated: bool,
}

/// The firearms a query matched, by identifier alone, before their records
/// are read.
pub struct Scored {
    best: HashMap<String, (IdentifierRow, f64)>,
    truncated: bool,
}

/// A deadline for scoring one query's candidates.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    until: Instant,
}

impl Budget {
    pub fn of(limit: Duration) -> Self {
        Self {
            until: Instant::now() + limit,
        }
    }

    fn check(&self) -> AppResult<()> {
        if Instant::now() > self.until {
            return Err(AppError::unprocessable(
                "query_too_costly",
                "the query matched too much to check in time; give more known characters",
            ));
        }
        Ok(())
    }
}

fn pattern_of(q: &TraceQuery) -> Option<(&Pattern, bool)> {
    match (&q.serial, &q.marking) {
        (Some(p), _) => Some((p, false)),
        (None, Some(p)) => Some((p, true)),
        (None, None) => None,
    }
}

/// Reads the candidates for a query through the indexes.
pub fn candidates(conn: &mut DbConn, q: &TraceQuery) -> AppResult<Candidates> {
    let Some((pattern, markings_only)) = pattern_of(q) else {
        return Ok(Candidates {
            rows: Vec::new(),
            truncated: false,
        });
    };
    let mut rows = db::trace::candidates(
        conn,
        &pattern.plan(),
        q.exact,
        markings_only,
        MAX_CANDIDATES + 1,
    )?;
    let truncated = rows.len() as i64 > MAX_CANDIDATES;
    rows.truncate(MAX_CANDIDATES as usize);
    Ok(Candidates { rows, truncated })
}

/// Checks each candidate against the pattern and keeps each firearm's
/// best. Pure computation: it runs without a database connection, within
/// the budget.
pub fn score(q: &TraceQuery, found: Candidates, budget: Budget) -> AppResult<Scored> {
    let Candidates {
        rows,
        mut truncated,
    } = found;
    let mut best: HashMap<String, (IdentifierRow, f64)> = HashMap::new();
    let Some((pattern, _)) = pattern_of(q) else {
        return Ok(Scored { best, truncated });
    };
    for (i, row) in rows.into_iter().enumerate() {
        if i % 64 == 0 {
            budget.check()?;
        }
        let Some(f) = fit(pattern, &row.normalized, q.exact) else {
            continue;
        };
        let score = f.score() * source_factor(&row.source);
        if best.get(&row.firearm_id).is_none_or(|(_, s)| score > *s) {
            best.insert(row.firearm_id.clone(), (row, score));
        }
    }
    // With nothing but the pattern, the score is the identifier's alone:
    // only the firearms that will be answered are read. A wildcard at ten
    // million firearms matched hundreds, each a random read of the table.
    let described = q.description().iter().any(Option::is_some);
    if !described && !q.ranks_on_markings() && best.len() > q.limit {
        let mut ranked: Vec<_> = best.into_iter().collect();
        ranked.sort_by(|(a, (_, sa)), (b, (_, sb))| {
            let rank = |score: &f64, firearm_id| Rank {
                score: rounded(*score),
                firearm_id,
            };
            ranking(rank(sa, a), rank(sb, b))
        });
        ranked.truncate(q.limit);
        best = ranked.into_iter().collect();
        truncated = true;
    }
    Ok(Scored { best, truncated })
}

/// Reads the matched firearms and ranks them with what else is known of
/// the weapon, best first: at most `limit`, and whether more existed.
pub fn rank(conn: &mut DbConn, q: &TraceQuery, scored: Scored) -> AppResult<(Vec<Match>, bool)> {
    let Scored {
        mut best,
        mut truncated,
    } = scored;
    let ids: Vec<String> = best.keys().cloned().collect();
    tracing::debug!(candidates = ids.len(), "trace candidates");
    let description = q.description();
    let firearms = db::firearms::find_many(conn, &ids)?;
    let mut matches = Vec::with_capacity(best.len());
    for firearm in firearms {
        let Some((row, base)) = best.remove(&firearm.id) else {
            continue;
        };
        let score = base * attribute_factor(&description, &firearm) * marking_factor(q, &firearm);
        matches.push(Match {
            alert: matches!(firearm.status, Status::Lost | Status::Stolen),
            matched_on: row.source.clone(),
            kind: (row.source != "serial").then(|| row.kind.clone()),
            matched_text: row.text,
            score: rounded(score),
            firearm,
        });
    }
    matches.sort_by(|a, b| ranking(Rank::of(a), Rank::of(b)));
    if matches.len() > q.limit {
        matches.truncate(q.limit);
        truncated = true;
    }
    Ok((matches, truncated))
}

/// Runs a trace query on one connection: candidates, scores, ranks. For
/// callers already holding a connection for other work (a trace request);
/// the trace endpoint lets the connection go while it scores.
pub fn search(conn: &mut DbConn, q: &TraceQuery, budget: Budget) -> AppResult<(Vec<Match>, bool)> {
    let found = candidates(conn, q)?;
    let scored = score(q, found, budget)?;
    rank(conn, q, scored)
}

/// Records a query in the audit log, with its parameters as given and the
/// firearms it answered, and notifies the agencies responsible for lost or
/// stolen firearms it matched. A query that alerts nobody is a read, and
/// its entry is written off the request's path; one that alerts writes its
/// notifications and its entry in one transaction.
pub fn record_query(
    conn: &mut DbConn,
    reads: &ReadLog,
    actor: &AuditActor,
    params: &Value,
    matches: &[Match],
) -> AppResult<()> {
    let found: Vec<Value> = matches
        .iter()
        .map(|m| json!({"firearm_id": m.firearm.id, "score": m.score, "alert": m.alert}))
        .collect();
    let detail = json!({"query": params, "match_count": matches.len(), "matches": found});
    let entry = audit::reads::entry("trace.query", "trace", detail);
    if !matches.iter().any(|m| m.alert) {
        return reads.record(conn, actor, entry);
    }
    db::write_tx(conn, |c| {
        let mut outbox = crate::webhooks::Outbox::new();
        for m in matches.iter().filter(|m| m.alert) {
            let id = db::new_id();
            outbox.push(
                &m.firearm.responsible_agency_id,
                crate::domain::webhook::WebhookEvent::Alert,
                json!({"notification_id": id, "firearm_id": m.firearm.id,
                       "kind": format!("traced_while_{}", m.firearm.status),
                       "traced_by_agency_id": actor.agency_id,
                       "links": {"notifications": "/v1/notifications",
                                 "firearm": format!("/v1/firearms/{}", m.firearm.id)}}),
            );
            db::notifications::insert(
                c,
                &db::notifications::NotificationRow {
                    id,
                    agency_id: m.firearm.responsible_agency_id.clone(),
                    firearm_id: Some(m.firearm.id.clone()),
                    kind: format!("traced_while_{}", m.firearm.status),
                    traced_by_user_id: actor.user_id.clone().unwrap_or_default(),
                    traced_by_username: actor.username.clone().unwrap_or_default(),
                    traced_by_agency_id: actor.agency_id.clone(),
                    query: params.to_string(),
                    created_at: db::now(),
                },
            )?;
        }
        outbox.write(c)?;
        audit::queue(c, actor, vec![entry])
    })
}
