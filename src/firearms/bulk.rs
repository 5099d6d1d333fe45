//! Writing a bulk import. Rows are taken in batches as they are read, so
//! memory holds one batch, the file's unique markings and the report, not
//! the file. The whole import is one transaction: in all-or-nothing mode a
//! bad row anywhere rolls back the batches already written.

use crate::reports::tally::Tally as Counts;
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

use super::import::Rows;
use super::{check_agencies, prepare, resolve_custodian, Prepared};
use crate::audit;
use crate::auth::Recorder;
use crate::db::firearms::Registration;
use crate::db::{self, DbConn, StoreError};
use crate::error::{AppError, AppResult, FieldError};

/// Rows prepared and written together.
const BATCH: usize = 500;

/// Limits on one import, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct ImportCaps {
    /// Data rows one import may hold.
    pub max_rows: usize,
    /// Failing rows whose errors a report lists; the rest are counted.
    pub max_listed: usize,
}

/// One row of a bulk import, numbered from 1 over the data rows.
pub struct ParsedRow {
    pub row: usize,
    pub parsed: Result<super::NewFirearm<crate::input::Recipient>, Vec<FieldError>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportedRow {
    pub row: usize,
    pub id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// `all` (all-or-nothing) or `partial`.
    pub mode: &'static str,
    pub received: usize,
    pub imported: usize,
    /// Rows refused, all of them counted.
    pub rejected: usize,
    pub firearms: Vec<ImportedRow>,
    /// The errors of the first failing rows (at most the import cap,
    /// 1,000 by default); `rejected` counts them all.
    pub errors: Vec<RowError>,
}

/// A row refused, with why.
struct Rejected {
    row: usize,
    errors: Vec<FieldError>,
}

/// A row as the reader thread hands it over: parsed and checked and, where
/// nothing in the database decides its rows (its custodian names no
/// armoury), already prepared. The writer then only checks what needs the
/// database, and writes.
struct Read {
    row: usize,
    parsed: Result<super::NewFirearm<crate::input::Recipient>, Vec<FieldError>>,
    prepared: Option<AppResult<Prepared>>,
}

impl Read {
    fn new(actor: &Recorder, row: ParsedRow, now: chrono::DateTime<Utc>) -> Self {
        let prepared = row
            .parsed
            .as_ref()
            .ok()
            .and_then(super::resolve_offline)
            .map(|new| prepare(actor, &new, now));
        Self {
            row: row.row,
            parsed: row.parsed,
            prepared,
        }
    }
}

/// A valid import row, ready to write.
struct Candidate {
    row: usize,
    prepared: Prepared,
}

fn history_errors(e: AppError) -> Vec<FieldError> {
    match e {
        AppError::Validation(errors) => errors,
        other => vec![FieldError::new("history", other.to_string())],
    }
}

fn registrations(good: &[Candidate]) -> Vec<&Registration> {
    good.iter().map(|g| &g.prepared.rows).collect()
}

/// Writes the rows in a savepoint. Answers false, having written nothing,
/// when a marking is already registered.
fn try_insert(conn: &mut DbConn, good: &[Candidate]) -> AppResult<bool> {
    use diesel::Connection;
    let regs = registrations(good);
    match conn.transaction(|c| db::firearms::insert(c, &regs)) {
        Ok(()) => Ok(true),
        Err(StoreError::DuplicateMarking) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Takes out the rows whose marking the registry already holds, refusing
/// each with the firearm that holds it.
fn take_registered(conn: &mut DbConn, good: &mut Vec<Candidate>) -> AppResult<Vec<Rejected>> {
    let mut taken = HashMap::new();
    for g in good.iter() {
        // The marking as it will be written, after any corrections in its history.
        let f = &g.prepared.rows.firearm;
        let found = db::firearms::find_by_marking(
            conn,
            f.country_of_manufacture.as_str(),
            &f.manufacturer_key,
            &f.serial.normalized,
        )?;
        if let Some(id) = found {
            taken.insert(g.row, id);
        }
    }
    good.retain(|g| !taken.contains_key(&g.row));
    Ok(taken
        .into_iter()
        .map(|(row, id)| Rejected {
            row,
            errors: vec![FieldError::new(
                "serial_number",
                format!("duplicate_marking: already registered as firearm {id}"),
            )],
        })
        .collect())
}

/// What an import has seen so far.
struct Tally {
    caps: ImportCaps,
    partial: bool,
    received: usize,
    /// Each unique marking in the file, with the first row that has it.
    seen: HashMap<(String, String, String), usize>,
    agencies: HashMap<String, bool>,
    /// Armouries the rows name as custodian, found once each.
    armouries: HashMap<String, Option<crate::domain::Holder>>,
    rejected: usize,
    errors: Vec<RowError>,
    imported: Vec<ImportedRow>,
    /// Written once at the end: the counts' rows are then held locked for
    /// the commit only, not for the whole import.
    counts: Counts,
}

impl Tally {
    fn new(caps: ImportCaps, partial: bool) -> Self {
        Self {
            caps,
            partial,
            received: 0,
            seen: HashMap::new(),
            agencies: HashMap::new(),
            armouries: HashMap::new(),
            rejected: 0,
            errors: Vec::new(),
            imported: Vec::new(),
            counts: Counts::new(),
        }
    }

    fn mode(&self) -> &'static str {
        if self.partial {
            "partial"
        } else {
            "all"
        }
    }

    fn reject(&mut self, mut refused: Vec<Rejected>) {
        refused.sort_by_key(|r| r.row);
        for Rejected { row, errors } in refused {
            self.rejected += 1;
            if self.rejected <= self.caps.max_listed {
                self.errors.extend(errors.into_iter().map(|e| RowError {
                    row,
                    field: e.field,
                    message: e.message,
                }));
            }
        }
    }

    /// Sorts a batch into the rows that can be registered, prepared, and
    /// those refused: invalid fields, unknown agencies, markings duplicated
    /// within the file.
    fn sort(
        &mut self,
        c: &mut DbConn,
        actor: &Recorder,
        batch: Vec<Read>,
    ) -> AppResult<(Vec<Candidate>, Vec<Rejected>)> {
        let now = Utc::now();
        let mut good = Vec::new();
        let mut refused = Vec::new();
        for Read {
            row,
            parsed,
            prepared,
        } in batch
        {
            let new = match parsed {
                Ok(new) => new,
                Err(errors) => {
                    refused.push(Rejected { row, errors });
                    continue;
                }
            };
            let mut errors = check_agencies(c, &new, &mut self.agencies)?;
            let key = new.unique_key();
            let new = match resolve_custodian(c, actor, new, &mut self.armouries)? {
                Ok(new) => new,
                Err(refusal) => {
                    errors.extend(refusal);
                    refused.push(Rejected { row, errors });
                    continue;
                }
            };
            if let Some(first) = self.seen.get(&key) {
                errors.push(FieldError::new(
                    "serial_number",
                    format!("duplicate_marking: the same unique marking as row {first}"),
                ));
            }
            self.seen.entry(key).or_insert(row);
            if !errors.is_empty() {
                refused.push(Rejected { row, errors });
                continue;
            }
            match prepared.unwrap_or_else(|| prepare(actor, &new, now)) {
                Ok(prepared) => good.push(Candidate { row, prepared }),
                Err(e) => refused.push(Rejected {
                    row,
                    errors: history_errors(e),
                }),
            }
        }
        Ok((good, refused))
    }

    /// Sorts and, unless an all-or-nothing import has already failed,
    /// writes one batch with its audit entries.
    fn take(
        &mut self,
        c: &mut DbConn,
        actor: &Recorder,
        sink: audit::Sink,
        batch: Vec<Read>,
    ) -> AppResult<()> {
        let (mut good, mut refused) = self.sort(c, actor, batch)?;
        let may_write =
            |refused: &[Rejected]| self.partial || (self.rejected == 0 && refused.is_empty());
        let mut writing = may_write(&refused);
        // The unique constraint finds markings already registered; only when
        // it refuses the batch are its rows looked up one by one to name each
        // firearm. A per-row lookup up front was most of the cost of a large
        // import.
        if !(writing && try_insert(c, &good)?) {
            refused.extend(take_registered(c, &mut good)?);
            writing = may_write(&refused);
            if writing {
                db::firearms::insert(c, &registrations(&good))?;
            }
        }
        self.reject(refused);
        if !writing {
            return Ok(());
        }
        self.counts.registrations(&registrations(&good));
        let mut entries = Vec::new();
        for g in good {
            self.imported.push(ImportedRow {
                row: g.row,
                id: g.prepared.rows.firearm.id,
            });
            entries.extend(g.prepared.audit);
        }
        sink.write(c, &actor.audit_actor(), entries)
    }

    fn rejected_error(self) -> AppError {
        AppError::unprocessable(
            "import_rejected",
            format!(
                "{} of {} rows are invalid; nothing was written",
                self.rejected, self.received
            ),
        )
        .with_extra(
            json!({"errors": self.errors, "rejected": self.rejected, "received": self.received}),
        )
    }

    /// Records the import itself in the audit log and builds the report.
    fn finish(
        mut self,
        c: &mut DbConn,
        actor: &Recorder,
        sink: audit::Sink,
    ) -> AppResult<ImportReport> {
        let counts = std::mem::take(&mut self.counts);
        counts.write(c, self.imported.first().map_or("", |r| r.id.as_str()))?;
        let ids: Vec<&str> = self.imported.iter().map(|r| r.id.as_str()).collect();
        let entry = audit::Entry::new(
            "firearm.import",
            format!("agency:{}", actor.agency_id),
            json!({"mode": self.mode(), "received": self.received, "firearm_ids": ids}),
        );
        sink.write(c, &actor.audit_actor(), vec![entry])?;
        Ok(ImportReport {
            mode: self.mode(),
            received: self.received,
            imported: self.imported.len(),
            rejected: self.rejected,
            firearms: self.imported,
            errors: self.errors,
        })
    }
}

fn too_many_rows(max: usize) -> AppError {
    AppError::unprocessable(
        "import_too_large",
        format!("an import may hold at most {max} rows; split the file"),
    )
}

/// Registers many firearms in one transaction. Every bad row is counted
/// and the first are reported: invalid fields, unknown agencies, markings
/// duplicated within the file or already in the registry. In
/// all-or-nothing mode any bad row means nothing is written; in partial
/// mode the good rows are. The entries go to `sink`.
pub fn import(
    conn: &mut DbConn,
    actor: &Recorder,
    rows: Rows,
    partial: bool,
    caps: ImportCaps,
    sink: audit::Sink,
) -> AppResult<ImportReport> {
    // Reading, checking and preparing rows (their events, digests and
    // audit entries) is about as much work as the database's writing
    // them: done on a thread of their own, a batch ahead, the two overlap
    // instead of taking turns (docs/benchmarks.md).
    std::thread::scope(|scope| {
        let (tx, batches) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || read_ahead(actor, rows, caps.max_rows, tx));
        db::write_tx(conn, |c| {
            sink.open(c)?;
            let mut tally = Tally::new(caps, partial);
            for batch in batches {
                let batch = batch?;
                tally.received += batch.len();
                tally.take(c, actor, sink, batch)?;
            }
            if !partial && tally.rejected > 0 {
                return Err(tally.rejected_error());
            }
            tally.finish(c, actor, sink)
        })
        // Returning drops `batches`: a reader still at work stops at its
        // next batch, and the scope waits for it.
    })
}

/// A batch of rows read ahead.
type Batch = AppResult<Vec<Read>>;

/// Reads the rows in batches and prepares them, until the file ends, the
/// import has too many rows, the file is unusable, or the writer stops
/// taking batches (its error ends the import).
fn read_ahead(
    actor: &Recorder,
    rows: Rows,
    max_rows: usize,
    tx: std::sync::mpsc::SyncSender<Batch>,
) {
    let mut received = 0;
    let mut batch = Vec::with_capacity(BATCH);
    let mut now = Utc::now();
    for row in rows {
        received += 1;
        let row = match row {
            _ if received > max_rows => Err(too_many_rows(max_rows)),
            other => other,
        };
        match row {
            Ok(row) => batch.push(Read::new(actor, row, now)),
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
        if batch.len() == BATCH {
            if tx.send(Ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
            now = Utc::now();
        }
    }
    let _ = tx.send(Ok(batch));
}
