//! Candidate lookup for tracing. Every plan goes through an index: equality
//! and prefix ranges on the folded identifier column, and trigrams for
//! patterns with an obliterated part. Trigram search is where the backends
//! differ (pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite), and
//! this is the one place that says so.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::error::StoreResult;
use super::schema::firearm_identifiers as fi;
use super::DbConn;
use crate::domain::trace::{fold, Plan};

#[derive(Debug, Clone, Queryable, QueryableByName)]
#[diesel(table_name = fi)]
pub struct IdentifierRow {
    #[diesel(sql_type = Text)]
    pub firearm_id: String,
    #[diesel(sql_type = Integer)]
    pub position: i32,
    #[diesel(sql_type = Text)]
    pub source: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub text: String,
    #[diesel(sql_type = Text)]
    pub normalized: String,
}

const COLUMNS: (
    fi::firearm_id,
    fi::position,
    fi::source,
    fi::kind,
    fi::text,
    fi::normalized,
) = (
    fi::firearm_id,
    fi::position,
    fi::source,
    fi::kind,
    fi::text,
    fi::normalized,
);

/// The smallest string above every string that starts with `prefix`.
fn successor(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    String::from('\u{10FFFF}')
}

/// The part of a LIKE pattern before its first wildcard.
fn known_prefix(like: &str) -> &str {
    like.find(['%', '_']).map_or(like, |at| &like[..at])
}

/// Identifiers a range scan reads at most before the trigram table is the
/// cheaper way. The trigram table anchors each identifier ('^' and '$',
/// migration 000015), so `AB%123` is found by `^AB`, `123` and `23$`
/// together and only the few that begin and end so are read. The probe
/// counts up to this bound on every wildcard trace with a known beginning
/// (4 ms a trace at 30,000, the bound before the anchors); a range under it
/// is scanned, cheaper still than the trigram table. At a million
/// firearms, through the registry at four connections, wildcard traces
/// went from 228 to 353-389 a second and their p99 from 131 to 32-34 ms.
const NARROW_RANGE: i64 = 2_000;

/// Whether fewer than [`NARROW_RANGE`] identifiers start with `prefix`,
/// counted on the folded index and never past that bound.
fn range_is_narrow(c: &mut diesel::SqliteConnection, prefix: &str) -> StoreResult<bool> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let probe: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM firearm_identifiers \
         WHERE canonical >= ? AND canonical < ? LIMIT ?)",
    )
    .bind::<Text, _>(prefix)
    .bind::<Text, _>(successor(prefix))
    .bind::<BigInt, _>(NARROW_RANGE)
    .get_result(c)?;
    Ok(probe.n < NARROW_RANGE)
}

/// The FTS5 query that finds the identifiers `like` may match: each run of
/// known characters long enough to hold a trigram, as a phrase, with the
/// anchors the table holds (migration 000015). The LIKE on the row checks
/// what the trigrams cannot (the wildcards' places).
fn trigram_query(like: &str) -> String {
    format!("^{like}$")
        .split(['%', '_'])
        .filter(|run| run.chars().count() >= 3)
        .map(|run| format!("\"{}\"", run.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Identifiers that may match `plan`, at most `limit`. With `markings_only`,
/// only marking texts. The caller checks each candidate exactly.
pub fn candidates(
    conn: &mut DbConn,
    plan: &Plan,
    exact: bool,
    markings_only: bool,
    limit: i64,
) -> StoreResult<Vec<IdentifierRow>> {
    if let (Plan::Trigrams(like), DbConn::Sqlite(c)) = (plan, &mut *conn) {
        let prefix = known_prefix(like);
        if prefix.chars().count() >= 2 && range_is_narrow(c, prefix)? {
            return candidates(
                conn,
                &Plan::Prefix(prefix.to_string(), like.clone()),
                exact,
                markings_only,
                limit,
            );
        }
        let source = if markings_only {
            "AND i.source = 'marking'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT i.firearm_id, i.position, i.source, i.kind, i.text, i.normalized \
             FROM identifier_trigrams t JOIN firearm_identifiers i ON i.rowid = t.rowid \
             WHERE identifier_trigrams MATCH ? AND i.canonical LIKE ? {source} LIMIT ?"
        );
        return Ok(diesel::sql_query(sql)
            .bind::<Text, _>(trigram_query(like))
            .bind::<Text, _>(like)
            .bind::<BigInt, _>(limit)
            .load(c)?);
    }
    let mut q = fi::table.select(COLUMNS).limit(limit).into_boxed();
    if markings_only {
        q = q.filter(fi::source.eq("marking"));
    }
    q = match plan {
        Plan::Equal(literal) if exact => q.filter(fi::normalized.eq(literal.clone())),
        Plan::Equal(literal) => q.filter(fi::canonical.eq(fold(literal))),
        // PostgreSQL answers LIKE from the pg_trgm GIN index.
        Plan::Trigrams(like) => q.filter(fi::canonical.like(like.clone())),
        Plan::Prefix(prefix, like) => q
            .filter(fi::canonical.ge(prefix.clone()))
            .filter(fi::canonical.lt(successor(prefix)))
            .filter(fi::canonical.like(like.clone())),
    };
    Ok(q.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::{candidates, range_is_narrow, DbConn, NARROW_RANGE};
    use crate::domain::trace::Plan;
    use diesel::RunQueryDsl;

    /// [`NARROW_RANGE`] serials `A8nnnnnnn` and one `A9...`: the range of
    /// `A8` is wide and keeps the trigram plan, that of `A9` is scanned;
    /// both find exactly what the pattern matches.
    #[test]
    fn wildcard_candidates_are_the_same_by_range_or_trigrams() {
        let mut c = crate::db::sqlite_memory();
        // Identifiers alone: no firearm rows behind them.
        diesel::sql_query("PRAGMA foreign_keys = OFF")
            .execute(&mut c)
            .expect("pragma");
        diesel::sql_query(format!(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < {}) \
             INSERT INTO firearm_identifiers (firearm_id, position, source, kind, text, normalized, canonical) \
             SELECT 'f' || k, 0, 'serial', 'serial', s, s, s \
             FROM (SELECT k, 'A8' || printf('%07d', k) AS s FROM n)",
            NARROW_RANGE - 1
        ))
        .execute(&mut c)
        .expect("seed");
        diesel::sql_query(
            "INSERT INTO firearm_identifiers (firearm_id, position, source, kind, text, normalized, canonical) \
             VALUES ('g', 0, 'serial', 'serial', 'A90000123', 'A90000123', 'A90000123')",
        )
        .execute(&mut c)
        .expect("seed");
        assert!(!range_is_narrow(&mut c, "A8").expect("probe"));
        assert!(range_is_narrow(&mut c, "A9").expect("probe"));
        let mut conn = DbConn::Sqlite(c);
        let mut found = |like: &str| {
            let mut ids: Vec<String> =
                candidates(&mut conn, &Plan::Trigrams(like.into()), false, false, 2001)
                    .expect("candidates")
                    .into_iter()
                    .map(|r| r.firearm_id)
                    .collect();
            ids.sort();
            ids
        };
        let mut expected: Vec<String> = (0..NARROW_RANGE)
            .filter(|k| k % 1000 == 123)
            .map(|k| format!("f{k}"))
            .collect();
        expected.sort();
        assert_eq!(found("A8%123"), expected);
        assert_eq!(found("A9%123"), ["g"]);
        // No known beginning: the trigram table, whose anchors keep a
        // pattern's end at the identifier's end.
        assert_eq!(found("%00123"), ["f123", "g"]);
        assert_eq!(
            found("%8000012_"),
            (120..130).map(|k| format!("f{k}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn trigram_queries_are_the_runs_of_the_anchored_pattern() {
        assert_eq!(super::trigram_query("00%01A"), r#""^00" "01A$""#);
        assert_eq!(super::trigram_query("%4567"), r#""4567$""#);
        assert_eq!(super::trigram_query("A_C%XYZ1"), r#""XYZ1$""#);
        assert_eq!(super::trigram_query("ABC%"), r#""^ABC""#);
    }

    #[test]
    fn known_prefix_stops_at_the_first_wildcard() {
        assert_eq!(super::known_prefix("A8%123"), "A8");
        assert_eq!(super::known_prefix("A8_1%"), "A8");
        assert_eq!(super::known_prefix("%4567"), "");
        assert_eq!(super::known_prefix("A812"), "A812");
    }

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(super::successor("A8"), "A9");
        assert_eq!(super::successor("AZ"), "A[");
        assert!("A8ZZZZ" < super::successor("A8").as_str());
    }
}
