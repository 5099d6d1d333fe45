use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::db::firearms::FirearmRow;
use crate::error::{AppError, AppResult};

/// A firearm as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FirearmView {
    pub id: String,
    pub category: String,
    pub manufacturer: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country_of_manufacture: String,
    pub year_of_manufacture: Option<i32>,
    /// As marked on the weapon.
    pub serial_number: String,
    /// Upper case, separators removed: what uniqueness and tracing compare.
    pub serial_normalized: String,
    #[schema(value_type = Vec<Object>)]
    pub markings: Value,
    #[schema(value_type = Vec<Object>)]
    pub components: Value,
    pub status: String,
    #[schema(value_type = Object)]
    pub owner: Value,
    /// Null when the owner holds the firearm.
    #[schema(value_type = Option<Object>)]
    pub custodian: Value,
    pub responsible_agency_id: String,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn json(stored: &str) -> AppResult<Value> {
    serde_json::from_str(stored).map_err(|e| AppError::internal(format!("stored JSON: {e}")))
}

impl TryFrom<FirearmRow> for FirearmView {
    type Error = AppError;
    fn try_from(r: FirearmRow) -> AppResult<Self> {
        Ok(Self {
            markings: json(&r.markings)?,
            components: json(&r.components)?,
            owner: json(&r.owner)?,
            custodian: r
                .custodian
                .as_deref()
                .map(json)
                .transpose()?
                .unwrap_or(Value::Null),
            id: r.id,
            category: r.category,
            manufacturer: r.manufacturer,
            model: r.model,
            calibre: r.calibre,
            country_of_manufacture: r.country_of_manufacture,
            year_of_manufacture: r.year_of_manufacture,
            serial_number: r.serial_number,
            serial_normalized: r.serial_normalized,
            status: r.status,
            responsible_agency_id: r.responsible_agency_id,
            notes: r.notes,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}
