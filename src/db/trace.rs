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
        let source = if markings_only {
            "AND i.source = 'marking'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT i.firearm_id, i.position, i.source, i.kind, i.text, i.normalized \
             FROM identifier_trigrams t JOIN firearm_identifiers i \
               ON i.firearm_id = t.firearm_id AND i.position = t.position \
             WHERE t.canonical LIKE ? {source} LIMIT ?"
        );
        return Ok(diesel::sql_query(sql)
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
    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(super::successor("A8"), "A9");
        assert_eq!(super::successor("AZ"), "A[");
        assert!("A8ZZZZ" < super::successor("A8").as_str());
    }
}
