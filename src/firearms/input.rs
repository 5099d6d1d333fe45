//! What a caller sends to register a firearm, and its parsing into checked
//! domain values. The same input serves `POST /v1/firearms`, every row of a
//! bulk import, and `registry import`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::firearm::{parse_label, parse_notes, parse_occurred_at, parse_year};
use crate::domain::{
    text, Category, Component, ComponentKind, CountryCode, Holder, Marking, SerialNumber,
};
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::input::{
    optional, parse_holder, parse_marking, parse_recipient, HolderInput, MarkingInput, Recipient,
    RecipientInput,
};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentInput {
    /// frame, receiver, slide, barrel, bolt, cylinder or other.
    pub kind: String,
    pub serial_number: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterFirearm {
    #[schema(example = "self_loading_pistol")]
    pub category: String,
    #[schema(example = "Glock GmbH")]
    pub manufacturer: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    #[schema(example = "AT")]
    pub country_of_manufacture: String,
    pub year_of_manufacture: Option<i64>,
    #[schema(example = "ABC-12345")]
    pub serial_number: String,
    #[serde(default)]
    pub markings: Vec<MarkingInput>,
    #[serde(default)]
    pub components: Vec<ComponentInput>,
    pub owner: HolderInput,
    /// Who keeps it for the owner: a holder, or `{"armoury_id"}` of an
    /// armoury of the registering agency.
    pub custodian: Option<RecipientInput>,
    /// When the firearm came on record in the world; defaults to now.
    pub occurred_at: Option<String>,
    pub notes: Option<String>,
    /// Events that already happened to the firearm, oldest first, each as
    /// `POST /v1/firearms/{id}/events` takes it: for records brought over
    /// from paper or spreadsheets with their custody history.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<serde_json::Value>,
}

/// A registration whose every field has been checked, except what only the
/// database can tell (agency existence, uniqueness). `C` is its custodian:
/// a [`Recipient`] as parsed, a [`Holder`] once an armoury it names is
/// found (`NewFirearm::resolve`).
#[derive(Debug, Clone)]
pub struct NewFirearm<C = Holder> {
    pub category: Category,
    pub manufacturer: String,
    pub manufacturer_key: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country: CountryCode,
    pub year: Option<i32>,
    pub serial: SerialNumber,
    pub markings: Vec<Marking>,
    pub components: Vec<Component>,
    pub owner: Holder,
    pub custodian: Option<C>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub history: Vec<crate::events::input::EventInput>,
}

impl<C> NewFirearm<C> {
    /// The unique marking: country of manufacture, folded manufacturer,
    /// normalised serial.
    pub fn unique_key(&self) -> (String, String, String) {
        (
            self.country.to_string(),
            self.manufacturer_key.clone(),
            self.serial.normalized.clone(),
        )
    }

    /// The same registration with its custodian turned into a `D` by `f`.
    pub fn resolve<D, E>(self, f: impl FnOnce(C) -> Result<D, E>) -> Result<NewFirearm<D>, E> {
        Ok(NewFirearm {
            custodian: self.custodian.map(f).transpose()?,
            category: self.category,
            manufacturer: self.manufacturer,
            manufacturer_key: self.manufacturer_key,
            model: self.model,
            calibre: self.calibre,
            country: self.country,
            year: self.year,
            serial: self.serial,
            markings: self.markings,
            components: self.components,
            owner: self.owner,
            occurred_at: self.occurred_at,
            notes: self.notes,
            history: self.history,
        })
    }
}

impl NewFirearm<Recipient> {
    /// Agencies named by the holders, with the field that names each.
    pub fn agency_refs(&self) -> Vec<(String, String)> {
        let mut refs = Vec::new();
        let custodian = match &self.custodian {
            Some(Recipient::Holder(h)) => Some(h),
            _ => None,
        };
        for (field, holder) in [("owner", Some(&self.owner)), ("custodian", custodian)] {
            if let Some(id) = holder.and_then(|h| h.agency_id.clone()) {
                refs.push((format!("{field}.agency_id"), id));
            }
        }
        for (i, event) in self.history.iter().enumerate() {
            for id in event.action.agency_refs() {
                refs.push((format!("history[{i}].to.agency_id"), id));
            }
        }
        refs
    }
}

/// A registration's past events name their holders in full: armouries are
/// the registry's own, and a firearm enters one by an event once registered.
fn inline_only(to: crate::input::Recipient) -> AppResult<Holder> {
    match to {
        crate::input::Recipient::Holder(h) => Ok(h),
        crate::input::Recipient::Armoury(_) => Err(AppError::field(
            "to.armoury_id",
            "a registration's history names holders in full; move the firearm into an armoury by an event once it is registered",
        )),
        crate::input::Recipient::Record(_) => Err(AppError::field(
            "to.holder_id",
            "a registration's history names holders in full; transfer the firearm to a holder record by an event once it is registered",
        )),
    }
}

fn parse_component(v: &mut Validator, field: &str, c: &ComponentInput) -> Option<Component> {
    let kind = v.check(&format!("{field}.kind"), ComponentKind::parse(&c.kind));
    let serial = optional(
        v,
        &format!("{field}.serial_number"),
        c.serial_number.as_deref(),
        SerialNumber::parse,
    );
    Some(Component {
        kind: kind?,
        serial,
    })
}

impl RegisterFirearm {
    /// Checks every field and reports every invalid one.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewFirearm<Recipient>, Vec<FieldError>> {
        let mut v = Validator::new();
        let category = v.check("category", Category::parse(&self.category));
        let manufacturer = v.check("manufacturer", parse_label(&self.manufacturer));
        let model = optional(&mut v, "model", self.model.as_deref(), parse_label);
        let calibre = optional(&mut v, "calibre", self.calibre.as_deref(), parse_label);
        let country = v.check(
            "country_of_manufacture",
            CountryCode::parse(&self.country_of_manufacture),
        );
        let year = self
            .year_of_manufacture
            .and_then(|y| v.check("year_of_manufacture", parse_year(y, now)));
        let serial = v.check("serial_number", SerialNumber::parse(&self.serial_number));
        let markings: Vec<Option<Marking>> = self
            .markings
            .iter()
            .enumerate()
            .map(|(i, m)| parse_marking(&mut v, &format!("markings[{i}]"), m, now))
            .collect();
        let components: Vec<Option<Component>> = self
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| parse_component(&mut v, &format!("components[{i}]"), c))
            .collect();
        let owner = parse_holder(&mut v, "owner", &self.owner);
        let custodian = self
            .custodian
            .as_ref()
            .map(|c| parse_recipient(&mut v, "custodian", c));
        let occurred_at = optional(&mut v, "occurred_at", self.occurred_at.as_deref(), |r| {
            parse_occurred_at(r, now)
        });
        let notes = optional(&mut v, "notes", self.notes.as_deref(), parse_notes);
        let mut history = Vec::new();
        for (i, body) in self.history.iter().enumerate() {
            let parsed = crate::events::input::parse(body.clone(), now);
            match parsed.and_then(|e| e.resolve(inline_only)) {
                Ok(event) => history.push(event),
                Err(AppError::Validation(errors)) => {
                    for e in errors {
                        v.push(&format!("history[{i}].{}", e.field), e.message);
                    }
                }
                Err(other) => v.push(&format!("history[{i}]"), other.to_string()),
            }
        }
        v.finish_fields()?;
        let incomplete = || vec![FieldError::new("body", "incomplete")];
        let manufacturer = manufacturer.ok_or_else(incomplete)?;
        Ok(NewFirearm {
            category: category.ok_or_else(incomplete)?,
            manufacturer_key: text::fold(&manufacturer),
            manufacturer,
            model,
            calibre,
            country: country.ok_or_else(incomplete)?,
            year,
            serial: serial.ok_or_else(incomplete)?,
            markings: markings
                .into_iter()
                .collect::<Option<_>>()
                .ok_or_else(incomplete)?,
            components: components
                .into_iter()
                .collect::<Option<_>>()
                .ok_or_else(incomplete)?,
            owner: owner.ok_or_else(incomplete)?,
            custodian: match custodian {
                Some(c) => Some(c.ok_or_else(incomplete)?),
                None => None,
            },
            occurred_at,
            notes: notes.filter(|n| !n.is_empty()),
            history,
        })
    }
}
