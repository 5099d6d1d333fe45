//! Reports as CSV (`Accept: text/csv`, `registry report --format csv`):
//! a table of figures, one row each, named by their path in the JSON
//! answer (`destroyed.by_method.cutting`), or the ATT table's own rows.

use serde::Serialize;
use serde_json::Value;

use super::AttReport;
use crate::domain::text::spreadsheet_safe;
use crate::error::{AppError, AppResult};

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<[String; 2]>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, rows);
            }
        }
        Value::Null => rows.push([prefix.to_string(), String::new()]),
        Value::String(s) => rows.push([prefix.to_string(), s.clone()]),
        other => rows.push([prefix.to_string(), other.to_string()]),
    }
}

fn write<const N: usize>(header: [&str; N], rows: Vec<[String; N]>) -> AppResult<Vec<u8>> {
    let fail = |e: csv::Error| AppError::caused_by(e);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(row.map(spreadsheet_safe)).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::caused_by(e.into_error()))
}

/// Any figures as `figure,value` rows.
pub fn figures_csv<T: Serialize>(figures: &T) -> AppResult<Vec<u8>> {
    let value = serde_json::to_value(figures).map_err(AppError::caused_by)?;
    let mut rows = Vec::new();
    flatten("", &value, &mut rows);
    write(["figure", "value"], rows)
}

/// The ATT table as the template lays it out: a row per category and
/// partner country.
pub fn att_csv(report: &AttReport) -> AppResult<Vec<u8>> {
    let rows = report
        .rows
        .iter()
        .map(|r| {
            [
                report.year.to_string(),
                report.direction.clone(),
                r.group.to_string(),
                r.category.clone(),
                r.partner_country.clone(),
                r.items.to_string(),
            ]
        })
        .collect();
    write(
        [
            "year",
            "direction",
            "group",
            "category",
            "partner_country",
            "items",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_named_by_their_path() {
        let csv = figures_csv(&serde_json::json!({"a": 1, "b": {"c": 2, "d": null}})).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "figure,value\na,1\nb.c,2\nb.d,\n"
        );
    }
}
