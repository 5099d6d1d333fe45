//! The counts behind statistics and reports (`event_counts`,
//! `firearm_counts`): added to in the transaction of each change, summed
//! when read. See docs/reports.md.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::schema::{
    event_counts as ec, event_counts_monthly as ecm, firearm_counts as fc, trace_requests as tr,
};
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

/// Adds `n` to the count of key `k` in the table `$t` (by day or by month).
macro_rules! upsert_event {
    ($conn:expr, $t:ident, $period:ident, $value:expr, $k:expr, $n:expr, $slot:expr) => {{
        let row = (
            $t::$period.eq($value),
            $t::agency_id.eq(&$k.agency_id),
            $t::event_type.eq(&$k.event_type),
            $t::category.eq(&$k.category),
            $t::partner.eq(&$k.partner),
            $t::detail.eq(&$k.detail),
            $t::slot.eq($slot),
            $t::n.eq($n),
        );
        let key = (
            $t::$period,
            $t::agency_id,
            $t::event_type,
            $t::category,
            $t::partner,
            $t::detail,
            $t::slot,
        );
        let q = diesel::insert_into($t::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set($t::n.eq($t::n + $n));
        match &mut *$conn {
            DbConn::Pg(c) => q.execute(c)?,
            DbConn::Sqlite(c) => q.execute(c)?,
        };
    }};
}

/// Adds each delta to its key's count. Every transaction takes the rows in
/// one order, so two never deadlock: the daily rows in the order given
/// (callers sort), then the monthly rows sorted (several days share one),
/// then the firearms' rows in the order given.
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
    let mut months: std::collections::BTreeMap<EventKey, i64> = Default::default();
    for (k, n) in events {
        upsert_event!(conn, ec, day, k.day, k, *n, slot);
        let month = EventKey {
            day: k.day / 100,
            ..k.clone()
        };
        *months.entry(month).or_default() += n;
    }
    for (k, n) in months.iter().filter(|(_, n)| **n != 0) {
        upsert_event!(conn, ecm, month, k.day, k, *n, slot);
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

/// Sums the counts of `table` whose `period` column is in `from..=to`.
fn sum_counts(
    conn: &mut DbConn,
    table: &str,
    (period, per_year): (&str, i32),
    (from, to): (i32, i32),
    agencies: &Agencies,
) -> StoreResult<Vec<EventTotal>> {
    let sql = format!(
        "SELECT {period} / {per_year} AS year, event_type, category, partner, detail, \
         CAST(SUM(n) AS BIGINT) AS n FROM {table} \
         WHERE {period} >= {} AND {period} <= {}{} \
         GROUP BY {period} / {per_year}, event_type, category, partner, detail",
        param(conn, 1),
        param(conn, 2),
        agencies.filter(conn, "agency_id", 3)
    );
    load_scoped(conn, sql, Some((from, to)), agencies)
}

/// Sums the event counts of the days `from..=to` (yyyymmdd): the whole
/// months between from the monthly counts, the days at either end from
/// the daily ones.
pub fn event_totals(
    conn: &mut DbConn,
    from: i32,
    to: i32,
    agencies: &Agencies,
) -> StoreResult<Vec<EventTotal>> {
    let split = MonthSplit::of(from, to);
    let mut totals = Vec::new();
    for (a, b) in split.days {
        totals.extend(sum_counts(
            conn,
            "event_counts",
            ("day", 10_000),
            (a, b),
            agencies,
        )?);
    }
    if let Some(months) = split.months {
        let monthly = ("month", 100);
        totals.extend(sum_counts(
            conn,
            "event_counts_monthly",
            monthly,
            months,
            agencies,
        )?);
    }
    Ok(totals)
}

/// A range of days cut into whole months (yyyymm) and the days (yyyymmdd)
/// before and after them.
#[derive(Debug, PartialEq, Eq)]
struct MonthSplit {
    months: Option<(i32, i32)>,
    days: Vec<(i32, i32)>,
}

impl MonthSplit {
    fn of(from: i32, to: i32) -> Self {
        let first = |m: i32| m * 100 + 1;
        let last = |m: i32| m * 100 + 31;
        let next = |m: i32| if m % 100 == 12 { m + 89 } else { m + 1 };
        let prev = |m: i32| if m % 100 == 1 { m - 89 } else { m - 1 };
        // The first month that starts on or after `from`, the last that
        // ends on or before `to`. As bounds, `mm01` and `mm31` take in a
        // whole month whatever its length.
        let start = if from % 100 == 1 {
            from / 100
        } else {
            next(from / 100)
        };
        let end = if is_month_end(to) {
            to / 100
        } else {
            prev(to / 100)
        };
        if start > end {
            return Self {
                months: None,
                days: vec![(from, to)],
            };
        }
        let mut days = Vec::new();
        if from < first(start) {
            days.push((from, last(prev(start))));
        }
        if to > last(end) {
            days.push((first(next(end)), to));
        }
        Self {
            months: Some((start, end)),
            days,
        }
    }
}

/// Whether yyyymmdd is the last day of its month.
fn is_month_end(day: i32) -> bool {
    let (y, m, d) = (day / 10_000, (day / 100 % 100) as u32, (day % 100) as u32);
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.succ_opt())
        .is_some_and(|next| chrono::Datelike::day(&next) == 1)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(from: i32, to: i32) -> MonthSplit {
        MonthSplit::of(from, to)
    }

    #[test]
    fn a_year_is_twelve_months() {
        assert_eq!(
            split(20250101, 20251231),
            MonthSplit {
                months: Some((202501, 202512)),
                days: vec![]
            }
        );
    }

    #[test]
    fn the_ends_of_a_period_are_read_by_day() {
        assert_eq!(
            split(20250115, 20250310),
            MonthSplit {
                months: Some((202502, 202502)),
                days: vec![(20250115, 20250131), (20250301, 20250310)]
            }
        );
        assert_eq!(
            split(20241215, 20250228),
            MonthSplit {
                months: Some((202501, 202502)),
                days: vec![(20241215, 20241231)]
            }
        );
    }

    #[test]
    fn a_period_within_a_month_is_read_by_day() {
        assert_eq!(
            split(20250203, 20250220),
            MonthSplit {
                months: None,
                days: vec![(20250203, 20250220)]
            }
        );
    }

    proptest::proptest! {
        /// Every day of the period is read once: by its month or by itself.
        #[test]
        fn every_day_is_read_once(a in 0i64..20_000, len in 0i64..800) {
            let base = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
            let num = |d: chrono::NaiveDate| crate::domain::report::day_number(d);
            let (from, to) = (base + chrono::Days::new(a as u64), base + chrono::Days::new((a + len) as u64));
            let s = split(num(from), num(to));
            let mut d = from;
            while d <= to {
                let n = num(d);
                let by_month = s.months.is_some_and(|(x, y)| (x..=y).contains(&(n / 100)));
                let by_day = s.days.iter().filter(|(x, y)| (*x..=*y).contains(&n)).count();
                proptest::prop_assert_eq!(usize::from(by_month) + by_day, 1, "{}", n);
                d = d.succ_opt().unwrap();
            }
            if let Some((x, y)) = s.months {
                proptest::prop_assert!(x >= num(from) / 100 && y <= num(to) / 100);
            }
        }
    }
}
