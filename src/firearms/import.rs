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

/// The rows of an import, read one at a time: memory does not grow with
/// the file. A CSV's header is checked before the first row. An item that
/// is an error means the file itself is unusable from there on (unreadable
/// input, broken CSV quoting).
pub type Rows = Box<dyn Iterator<Item = Result<ParsedRow, AppError>> + Send>;

pub fn rows<R: Read + Send + 'static>(reader: R, format: Format) -> Result<Rows, AppError> {
    match format {
        Format::Csv => csv_rows(reader),
        Format::Ndjson => Ok(ndjson_rows(reader)),
    }
}

fn ndjson_rows<R: Read + Send + 'static>(reader: R) -> Rows {
    let mut row = 0;
    let lines = BufReader::new(reader).lines();
    Box::new(lines.filter_map(move |line| {
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(read_error(e))),
        };
        if line.trim().is_empty() {
            return None;
        }
        row += 1;
        let value = serde_json::from_str::<Value>(&line)
            .map_err(|e| vec![FieldError::new("row", format!("not a JSON object: {e}"))]);
        Some(Ok(to_parsed(row, value.and_then(parse_object))))
    }))
}

fn read_error(e: std::io::Error) -> AppError {
    AppError::bad_request(
        "unreadable_body",
        format!("the import could not be read: {e}"),
    )
}

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

fn csv_rows<R: Read + Send + 'static>(reader: R) -> Result<Rows, AppError> {
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
    let records = csv.into_records().enumerate();
    Ok(Box::new(records.map(move |(i, record)| {
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
        Ok(to_parsed(i + 1, object.and_then(parse_object)))
    })))
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
