//! Storage of what witnesses cosigned: each witness's last cosigned size
//! and the cosignature lines kept per signed head.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::StoreResult;
use super::schema::{audit_cosignatures as cs, audit_witnesses as aw};
use super::DbConn;

/// The size a witness last cosigned (0 before its first).
pub fn size(conn: &mut DbConn, name: &str) -> StoreResult<i64> {
    Ok(aw::table
        .find(name)
        .select(aw::size)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Keeps a witness's size and the outcome of the last submission.
pub fn record(
    conn: &mut DbConn,
    name: &str,
    size: i64,
    error: Option<&str>,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let row = (
        aw::name.eq(name),
        aw::size.eq(size),
        aw::last_error.eq(error),
        aw::updated_at.eq(at),
    );
    let q = diesel::insert_into(aw::table)
        .values(row)
        .on_conflict(aw::name)
        .do_update()
        .set((
            aw::size.eq(size),
            aw::last_error.eq(error),
            aw::updated_at.eq(at),
        ));
    match conn {
        DbConn::Pg(c) => q.execute(c)?,
        DbConn::Sqlite(c) => q.execute(c)?,
    };
    Ok(())
}

/// Each witness's (name, size, last error).
pub fn all(conn: &mut DbConn) -> StoreResult<Vec<(String, i64, Option<String>)>> {
    Ok(aw::table
        .order(aw::name.asc())
        .select((aw::name, aw::size, aw::last_error))
        .load(conn)?)
}

pub fn add_cosignature(
    conn: &mut DbConn,
    size: i64,
    witness: &str,
    line: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let row = (
        cs::size.eq(size),
        cs::witness.eq(witness),
        cs::line.eq(line),
        cs::cosigned_at.eq(at),
    );
    let q = diesel::insert_into(cs::table)
        .values(row)
        .on_conflict((cs::size, cs::witness))
        .do_nothing();
    match conn {
        DbConn::Pg(c) => q.execute(c)?,
        DbConn::Sqlite(c) => q.execute(c)?,
    };
    Ok(())
}

/// The cosignature lines kept for the head of `size`, by witness name.
pub fn cosignatures(conn: &mut DbConn, size: i64) -> StoreResult<Vec<(String, String)>> {
    Ok(cs::table
        .filter(cs::size.eq(size))
        .order(cs::witness.asc())
        .select((cs::witness, cs::line))
        .load(conn)?)
}

/// The largest head size that at least `quorum` witnesses cosigned.
pub fn latest_witnessed(conn: &mut DbConn, quorum: i64) -> StoreResult<Option<i64>> {
    use diesel::dsl::count_star;
    Ok(cs::table
        .group_by(cs::size)
        .having(count_star().ge(quorum))
        .select(cs::size)
        .order(cs::size.desc())
        .first(conn)
        .optional()?)
}
