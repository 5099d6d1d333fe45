//! The counts behind statistics and reports (`event_counts`,
//! `firearm_counts`): added to in the transaction of each change, summed
//! when read. See docs/reports.md.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::schema::{event_counts as ec, firearm_counts as fc, trace_requests as tr};
use super::{DbConn, StoreResult};

/// What one event adds to: its day (yyyymmdd), the agency that recorded
/// it, and what the reports break it down by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventKey {
    pub day: i32,
    pub agency_id: String,
    pub event_type: String,
    pub category: String,
    pub partner: String,
    pub detail: String,
}

/// What one firearm adds to: its responsible agency, status and category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FirearmKey {
    pub agency_id: String,
    pub status: String,
    pub category: String,
}

/// Adds each delta to its key's count, in the order given (callers sort,
/// so two transactions take the rows in one order and never deadlock).
/// On PostgreSQL the rows of one key are spread over slots: `slot` picks
/// one, so concurrent writers of a busy key rarely wait for each other.
/// SQLite has one writer at a time and keeps one row a key.
pub fn add(
    conn: &mut DbConn,
    events: &[(EventKey, i64)],
    firearms: &[(FirearmKey, i64)],
    slot: i16,
) -> StoreResult<()> {
    let slot = match conn {
        DbConn::Pg(_) => slot,
        DbConn::Sqlite(_) => 0,
    };
    for (k, n) in events {
        let row = (
            ec::day.eq(k.day),
            ec::agency_id.eq(&k.agency_id),
            ec::event_type.eq(&k.event_type),
            ec::category.eq(&k.category),
            ec::partner.eq(&k.partner),
            ec::detail.eq(&k.detail),
            ec::slot.eq(slot),
            ec::n.eq(n),
        );
        let key = (
            ec::day,
            ec::agency_id,
            ec::event_type,
            ec::category,
            ec::partner,
            ec::detail,
            ec::slot,
        );
        let q = diesel::insert_into(ec::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(ec::n.eq(ec::n + n));
        match conn {
            DbConn::Pg(c) => q.execute(c)?,
            DbConn::Sqlite(c) => q.execute(c)?,
        };
    }
    for (k, n) in firearms {
        let row = (
            fc::agency_id.eq(&k.agency_id),
            fc::status.eq(&k.status),
            fc::category.eq(&k.category),
            fc::slot.eq(slot),
            fc::n.eq(n),
        );
        let q = diesel::insert_into(fc::table)
            .values(row)
            .on_conflict((fc::agency_id, fc::status, fc::category, fc::slot))
            .do_update()
            .set(fc::n.eq(fc::n + n));
        match conn {
            DbConn::Pg(c) => q.execute(c)?,
            DbConn::Sqlite(c) => q.execute(c)?,
        };
    }
    Ok(())
}

/// Events counted in a range of days, summed by year and by what the
/// reports break them down by.
#[derive(Debug, Clone, QueryableByName)]
pub struct EventTotal {
    #[diesel(sql_type = Integer)]
    pub year: i32,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = Text)]
    pub partner: String,
    #[diesel(sql_type = Text)]
    pub detail: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Which agencies' figures: all of them, or those listed.
pub enum Agencies<'a> {
    All,
    Listed(&'a [String]),
}

impl Agencies<'_> {
    /// The SQL filter on `column`, taking the list as one JSON parameter.
    fn filter(&self, conn: &DbConn, column: &str, param: usize) -> String {
        match (self, conn) {
            (Self::All, _) => String::new(),
            (Self::Listed(_), DbConn::Pg(_)) => format!(
                " AND {column} IN (SELECT value FROM json_array_elements_text(CAST(${param} AS json)))"
            ),
            (Self::Listed(_), DbConn::Sqlite(_)) => {
                format!(" AND {column} IN (SELECT value FROM json_each(?))")
            }
        }
    }

    fn json(&self) -> Option<String> {
        match self {
            Self::All => None,
            Self::Listed(ids) => Some(serde_json::json!(ids).to_string()),
        }
    }
}

/// `$n` on PostgreSQL, `?` on SQLite.
fn param(conn: &DbConn, n: usize) -> String {
    match conn {
        DbConn::Pg(_) => format!("${n}"),
        DbConn::Sqlite(_) => "?".into(),
    }
}

/// Runs `sql` with the day range's two parameters, when it has them, and
/// for a listed scope the list as the last.
fn load_scoped<R>(
    conn: &mut DbConn,
    sql: String,
    days: Option<(i32, i32)>,
    agencies: &Agencies,
) -> StoreResult<Vec<R>>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let list = agencies.json();
    macro_rules! run {
        ($c:expr) => {
            match (days, list) {
                (Some((a, b)), Some(l)) => diesel::sql_query(sql)
                    .bind::<Integer, _>(a)
                    .bind::<Integer, _>(b)
                    .bind::<Text, _>(l)
                    .load($c)?,
                (Some((a, b)), None) => diesel::sql_query(sql)
                    .bind::<Integer, _>(a)
                    .bind::<Integer, _>(b)
                    .load($c)?,
                (None, Some(l)) => diesel::sql_query(sql).bind::<Text, _>(l).load($c)?,
                (None, None) => diesel::sql_query(sql).load($c)?,
            }
        };
    }
    Ok(match conn {
        DbConn::Pg(c) => run!(c),
        DbConn::Sqlite(c) => run!(c),
    })
}

/// Sums the event counts of the days `from..=to` (yyyymmdd).
pub fn event_totals(
    conn: &mut DbConn,
    from: i32,
    to: i32,
    agencies: &Agencies,
) -> StoreResult<Vec<EventTotal>> {
    let sql = format!(
        "SELECT day / 10000 AS year, event_type, category, partner, detail, \
         CAST(SUM(n) AS BIGINT) AS n FROM event_counts \
         WHERE day >= {} AND day <= {}{} \
         GROUP BY day / 10000, event_type, category, partner, detail",
        param(conn, 1),
        param(conn, 2),
        agencies.filter(conn, "agency_id", 3)
    );
    load_scoped(conn, sql, Some((from, to)), agencies)
}

/// The firearms of the agencies in scope now, by status and category.
#[derive(Debug, Clone, QueryableByName)]
pub struct FirearmTotal {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

pub fn firearm_totals(conn: &mut DbConn, agencies: &Agencies) -> StoreResult<Vec<FirearmTotal>> {
    let sql = format!(
        "SELECT status, category, CAST(SUM(n) AS BIGINT) AS n FROM firearm_counts \
         WHERE n <> 0{} GROUP BY status, category",
        agencies.filter(conn, "agency_id", 1)
    );
    load_scoped(conn, sql, None, agencies)
}

/// What statistics and reports read of a trace request.
#[derive(Debug, Clone, Queryable)]
pub struct TraceRequestFacts {
    pub from_agency_id: String,
    pub to_agency_id: String,
    pub created_at: NaiveDateTime,
    pub respond_by: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}

/// The requests sent in `[from, to)`, by the index on `created_at`.
pub fn trace_requests(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<TraceRequestFacts>> {
    Ok(tr::table
        .filter(tr::created_at.ge(from))
        .filter(tr::created_at.lt(to))
        .select((
            tr::from_agency_id,
            tr::to_agency_id,
            tr::created_at,
            tr::respond_by,
            tr::responded_at,
            tr::outcome,
        ))
        .load(conn)?)
}
