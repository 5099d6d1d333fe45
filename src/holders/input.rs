//! What requests about holders and licences give, and its parsing.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::firearm::parse_label;
use crate::domain::holder::{identifier_key, parse_date, parse_date_of_birth};
use crate::domain::{Category, CountryCode, HolderKind, IdentifierType, LicenceType};
use crate::error::{checked, AppResult, Validator};
use crate::input::{optional, parse_uuid};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    /// national_id, passport, company_registration, dealer_licence or other.
    #[serde(rename = "type")]
    #[schema(example = "national_id")]
    pub id_type: String,
    pub value: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHolder {
    /// individual, dealer, manufacturer, agency or other.
    #[schema(example = "individual")]
    pub kind: String,
    pub name: String,
    /// ISO 3166-1 alpha-2; identifiers are unique per country.
    pub country: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<IdentifierInput>,
    /// YYYY-MM-DD, not in the future.
    pub date_of_birth: Option<String>,
    pub address: Option<String>,
    /// The agency the holder is; only for holders of kind agency.
    pub agency_id: Option<String>,
}

pub struct NewHolder {
    pub kind: HolderKind,
    pub name: String,
    pub country: Option<CountryCode>,
    pub identifiers: Vec<(IdentifierType, String)>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<String>,
    pub agency_id: Option<String>,
}

pub const MAX_IDENTIFIERS: usize = 10;

impl CreateHolder {
    pub fn parse(self, today: NaiveDate) -> AppResult<NewHolder> {
        let mut v = Validator::new();
        let kind = v.check("kind", HolderKind::parse(&self.kind));
        let name = v.check("name", parse_label(&self.name));
        let country = optional(
            &mut v,
            "country",
            self.country.as_deref(),
            CountryCode::parse,
        );
        let date_of_birth = optional(
            &mut v,
            "date_of_birth",
            self.date_of_birth.as_deref(),
            |d| parse_date_of_birth(d, today),
        );
        let address = optional(&mut v, "address", self.address.as_deref(), parse_label);
        let agency_id = optional(&mut v, "agency_id", self.agency_id.as_deref(), parse_uuid);
        match (kind, &self.agency_id) {
            (Some(HolderKind::Agency), None) => {
                v.push("agency_id", "is required when kind is agency")
            }
            (Some(k), Some(_)) if k != HolderKind::Agency => {
                v.push("agency_id", "is only for holders of kind agency")
            }
            _ => {}
        }
        if self.identifiers.len() > MAX_IDENTIFIERS {
            v.push(
                "identifiers",
                format!("must list at most {MAX_IDENTIFIERS}"),
            );
        }
        let mut identifiers = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for (i, id) in self.identifiers.iter().enumerate() {
            let field = format!("identifiers[{i}]");
            let t = v.check(&format!("{field}.type"), IdentifierType::parse(&id.id_type));
            let value = v.check(&format!("{field}.value"), parse_label(&id.value));
            if let (Some(t), Some(value)) = (t, value) {
                if !keys.insert((t, identifier_key(&value))) {
                    v.push(&field, "is listed twice");
                }
                identifiers.push((t, value));
            }
        }
        v.finish()?;
        Ok(NewHolder {
            kind: checked(kind)?,
            name: checked(name)?,
            country,
            identifiers,
            date_of_birth,
            address,
            agency_id,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLicence {
    pub number: String,
    /// possession, dealer, manufacturer, collector or other.
    #[serde(rename = "type")]
    #[schema(example = "possession")]
    pub licence_type: String,
    /// Firearm categories the licence covers (the registry's vocabulary).
    pub categories: Vec<String>,
    /// YYYY-MM-DD.
    pub valid_from: String,
    /// YYYY-MM-DD, not before `valid_from`.
    pub valid_until: String,
    /// The authority that issued it.
    pub issued_by: String,
}

pub struct NewLicence {
    pub number: String,
    pub licence_type: LicenceType,
    pub categories: Vec<Category>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub issued_by: String,
}

impl CreateLicence {
    pub fn parse(self) -> AppResult<NewLicence> {
        let mut v = Validator::new();
        let number = v.check("number", parse_label(&self.number));
        let licence_type = v.check("type", LicenceType::parse(&self.licence_type));
        let issued_by = v.check("issued_by", parse_label(&self.issued_by));
        let valid_from = v.check("valid_from", parse_date(&self.valid_from));
        let valid_until = v.check("valid_until", parse_date(&self.valid_until));
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if until < from {
                v.push("valid_until", "must not be before valid_from");
            }
        }
        if self.categories.is_empty() {
            v.push("categories", "must list at least one firearm category");
        }
        let mut categories = Vec::new();
        for (i, c) in self.categories.iter().enumerate() {
            if let Some(c) = v.check(&format!("categories[{i}]"), Category::parse(c)) {
                if !categories.contains(&c) {
                    categories.push(c);
                }
            }
        }
        v.finish()?;
        Ok(NewLicence {
            number: checked(number)?,
            licence_type: checked(licence_type)?,
            categories,
            valid_from: checked(valid_from)?,
            valid_until: checked(valid_until)?,
            issued_by: checked(issued_by)?,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeLicence {
    pub reason: String,
}

impl RevokeLicence {
    pub fn parse(self) -> AppResult<String> {
        let mut v = Validator::new();
        let reason = v.check("reason", crate::domain::firearm::parse_notes(&self.reason));
        v.finish()?;
        checked(reason)
    }
}
