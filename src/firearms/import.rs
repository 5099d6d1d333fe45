//! Reading a bulk import: CSV with a header line, or NDJSON, one
//! registration per data row. Rows are read as they arrive and each is
//! parsed on its own, so one bad row is reported without hiding the rest.

use chrono::Utc;
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read};

use super::{ParsedRow, RegisterFirearm};
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// From a media type: `text/csv` or `application/x-ndjson`.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                Some(Self::Ndjson)
            }
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            _ => None,
        }
    }
}

/// Columns a CSV import may have, named after the registration fields.
pub const CSV_COLUMNS: [&str; 14] = [
    "category",
    "manufacturer",
    "model",
    "calibre",
    "country_of_manufacture",
    "year_of_manufacture",
    "serial_number",
    "markings",
    "components",
    "owner",
    "custodian",
    "occurred_at",
    "notes",
    "history",
];
const REQUIRED_COLUMNS: [&str; 5] = [
    "category",
    "manufacturer",
    "country_of_manufacture",
    "serial_number",
    "owner",
];
const JSON_COLUMNS: [&str; 5] = ["markings", "components", "owner", "custodian", "history"];

/// Parses one row's JSON object as a registration.
fn parse_object(value: Value) -> Result<RegisterFirearm, Vec<FieldError>> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| vec![crate::error::FieldError::from_path(&e)])
}

fn to_parsed(row: usize, input: Result<RegisterFirearm, Vec<FieldError>>) -> ParsedRow {
    let now = Utc::now();
    ParsedRow {
        row,
        parsed: input.and_then(|i| i.parse(now)),
    }
}

/// Reads every row. Fails as a whole only when the file itself is unusable
/// (no header, missing or unknown columns, unreadable input).
pub fn read_rows<R: Read>(reader: R, format: Format) -> Result<Vec<ParsedRow>, AppError> {
    match format {
        Format::Csv => read_csv(reader),
        Format::Ndjson => read_ndjson(reader),
    }
}

fn read_ndjson<R: Read>(reader: R) -> Result<Vec<ParsedRow>, AppError> {
    let mut rows = Vec::new();
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let row = rows.len() + 1;
        let value = serde_json::from_str::<Value>(&line)
            .map_err(|e| vec![FieldError::new("row", format!("not a JSON object: {e}"))]);
        rows.push(to_parsed(row, value.and_then(parse_object)));
    }
    Ok(rows)
}

fn read_error(e: std::io::Error) -> AppError {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        return AppError::PayloadTooLarge {
            limit: super::import::IMPORT_LIMIT,
        };
    }
    AppError::bad_request(
        "unreadable_body",
        format!("the import could not be read: {e}"),
    )
}

/// Imports take up to 64 MiB.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

fn header_error(detail: String) -> AppError {
    AppError::unprocessable("invalid_csv_header", detail)
}

fn check_header(header: &[String]) -> Result<(), AppError> {
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(header_error("the CSV has no header line".into()));
    }
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !CSV_COLUMNS.contains(h))
        .collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(header_error(format!(
            "the header line must name the columns; missing: [{}], unknown: [{}]; known columns: {}",
            missing.join(", "),
            unknown.join(", "),
            CSV_COLUMNS.join(", ")
        )));
    }
    Ok(())
}

/// Turns one CSV record into the JSON object a registration reads.
fn csv_object(header: &[String], record: &csv::StringRecord) -> Result<Value, Vec<FieldError>> {
    let mut object = Map::new();
    let mut errors = Vec::new();
    for (name, cell) in header.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = if JSON_COLUMNS.contains(&name.as_str()) {
            match serde_json::from_str(cell) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(FieldError::new(
                        name.clone(),
                        format!("is not valid JSON: {e}"),
                    ));
                    continue;
                }
            }
        } else if name == "year_of_manufacture" {
            match cell.trim().parse::<i64>() {
                Ok(y) => Value::from(y),
                Err(_) => {
                    errors.push(FieldError::new(name.clone(), "must be a whole number"));
                    continue;
                }
            }
        } else {
            Value::from(cell)
        };
        object.insert(name.clone(), value);
    }
    if errors.is_empty() {
        Ok(Value::Object(object))
    } else {
        Err(errors)
    }
}

fn read_csv<R: Read>(reader: R) -> Result<Vec<ParsedRow>, AppError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    check_header(&header)?;
    let mut rows = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let row = i + 1;
        let object = match record {
            Ok(record) => csv_object(&header, &record),
            Err(e) if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) => {
                Err(vec![FieldError::new(
                    "row",
                    format!("has a different number of cells than the header ({e})"),
                )])
            }
            Err(e) => return Err(csv_error(e)),
        };
        rows.push(to_parsed(row, object.and_then(parse_object)));
    }
    Ok(rows)
}

fn csv_error(e: csv::Error) -> AppError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => read_error(io),
        other => AppError::bad_request(
            "malformed_csv",
            format!("the CSV cannot be read: {other:?}"),
        ),
    }
}

/// Hands the chunks of a request body, arriving on the async side, to a
/// parser running on a blocking thread, as a `Read`. The bounded channel
/// keeps only a few chunks in memory: the body is streamed, not buffered.
pub struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<actix_web::web::Bytes, std::io::Error>>,
    current: actix_web::web::Bytes,
}

impl ChannelReader {
    pub fn new(
        rx: tokio::sync::mpsc::Receiver<Result<actix_web::web::Bytes, std::io::Error>>,
    ) -> Self {
        Self {
            rx,
            current: actix_web::web::Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
