use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::{Component, Firearm, Holder};

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

impl From<Firearm> for FirearmView {
    fn from(f: Firearm) -> Self {
        Self {
            markings: json!(f.markings),
            components: Value::Array(f.components.iter().map(Component::to_json).collect()),
            owner: f.owner.to_json(),
            custodian: f.custodian.as_ref().map_or(Value::Null, Holder::to_json),
            id: f.id,
            category: f.category.to_string(),
            manufacturer: f.manufacturer,
            model: f.model,
            calibre: f.calibre,
            country_of_manufacture: f.country_of_manufacture.to_string(),
            year_of_manufacture: f.year_of_manufacture,
            serial_number: f.serial.marked,
            serial_normalized: f.serial.normalized,
            status: f.status.to_string(),
            responsible_agency_id: f.responsible_agency_id,
            notes: f.notes,
            version: f.version,
            created_at: f.created_at.and_utc(),
            updated_at: f.updated_at.and_utc(),
        }
    }
}
