//! The parameters of statistics and reports, parsed as the HTTP API and
//! the command line both take them; an error names the parameter.

use crate::domain::report::{Direction, Period, ReportYear};
use crate::domain::CountryCode;
use crate::error::{AppError, AppResult, FieldError};

fn today() -> chrono::NaiveDate {
    crate::db::now().date()
}

pub fn period(from: Option<&str>, to: Option<&str>) -> AppResult<Period> {
    Period::parse(from, to, today()).map_err(|errors| {
        AppError::Validation(
            errors
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        )
    })
}

pub fn year(raw: Option<&str>) -> AppResult<ReportYear> {
    let raw = raw.ok_or_else(|| AppError::field("year", "is required"))?;
    ReportYear::parse(raw, today()).map_err(|m| AppError::field("year", m))
}

pub fn country(raw: Option<&str>) -> AppResult<Option<CountryCode>> {
    raw.map(|c| CountryCode::parse(c).map_err(|m| AppError::field("country", m)))
        .transpose()
}

pub fn direction(raw: Option<&str>) -> AppResult<Direction> {
    let raw = raw.ok_or_else(|| AppError::field("direction", "is required: exports or imports"))?;
    Direction::parse(raw).map_err(|m| AppError::field("direction", m))
}
