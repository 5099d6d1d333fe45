//! What requests about armouries and stock checks give, and its parsing.

use serde::Deserialize;

use crate::domain::firearm::{parse_label, parse_notes};
use crate::domain::{text, ArmouryKind, CountryCode, MissingAction, SerialNumber};
use crate::error::{checked, AppResult, Validator};
use crate::input::{optional, parse_uuid};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArmoury {
    pub name: String,
    /// armoury, depot, evidence_store or other.
    #[schema(example = "armoury")]
    pub kind: String,
    pub location: Option<String>,
}

pub struct NewArmoury {
    pub name: String,
    pub kind: ArmouryKind,
    pub location: Option<String>,
}

impl CreateArmoury {
    pub fn parse(self) -> AppResult<NewArmoury> {
        let mut v = Validator::new();
        let name = v.check("name", parse_label(&self.name));
        let kind = v.check("kind", ArmouryKind::parse(&self.kind));
        let location = optional(&mut v, "location", self.location.as_deref(), parse_label);
        v.finish()?;
        Ok(NewArmoury {
            name: checked(name)?,
            kind: checked(kind)?,
            location,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCheck {
    /// The agency's own reference for the check; lost events cite it.
    pub reference: String,
}

impl OpenCheck {
    pub fn parse(self) -> AppResult<String> {
        let mut v = Validator::new();
        let reference = v.check("reference", parse_label(&self.reference));
        v.finish()?;
        checked(reference)
    }
}

/// One item seen on the shelf: a firearm by id, or by its marking.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SightingInput {
    pub firearm_id: Option<String>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub country_of_manufacture: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sightings {
    /// At most 1,000 items a request.
    pub items: Vec<SightingInput>,
}

pub const MAX_ITEMS: usize = 1_000;

/// A sighted item, parsed: how it is matched against the records.
#[derive(Debug, Clone, PartialEq)]
pub enum Sighting {
    Firearm(String),
    Marking {
        serial: SerialNumber,
        manufacturer: Option<String>,
        manufacturer_key: Option<String>,
        country: Option<CountryCode>,
    },
}

fn parse_item(v: &mut Validator, i: usize, item: &SightingInput) -> Option<Sighting> {
    let field = |name: &str| format!("items[{i}].{name}");
    if let Some(id) = &item.firearm_id {
        if item.serial_number.is_some()
            || item.manufacturer.is_some()
            || item.country_of_manufacture.is_some()
        {
            v.push(
                &format!("items[{i}]"),
                "gives either `firearm_id` or a marking, not both",
            );
            return None;
        }
        return v
            .check(&field("firearm_id"), parse_uuid(id))
            .map(Sighting::Firearm);
    }
    let Some(serial) = &item.serial_number else {
        v.push(
            &format!("items[{i}]"),
            "needs `firearm_id` or `serial_number`",
        );
        return None;
    };
    let serial = v.check(&field("serial_number"), SerialNumber::parse(serial));
    let manufacturer = optional(
        v,
        &field("manufacturer"),
        item.manufacturer.as_deref(),
        parse_label,
    );
    let country = optional(
        v,
        &field("country_of_manufacture"),
        item.country_of_manufacture.as_deref(),
        CountryCode::parse,
    );
    Some(Sighting::Marking {
        serial: serial?,
        manufacturer_key: manufacturer.as_deref().map(text::fold),
        manufacturer,
        country,
    })
}

impl Sightings {
    pub fn parse(&self) -> AppResult<Vec<Sighting>> {
        let mut v = Validator::new();
        if self.items.is_empty() {
            v.push("items", "must list at least one item");
        }
        if self.items.len() > MAX_ITEMS {
            let message = format!("must list at most {MAX_ITEMS} items a request");
            return Err(crate::error::AppError::field("items", message));
        }
        let items: Vec<Option<Sighting>> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_item(&mut v, i, item))
            .collect();
        v.finish()?;
        Ok(items.into_iter().flatten().collect())
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCheck {
    /// report_lost or investigate; required when firearms are missing.
    pub missing_action: Option<String>,
    pub notes: Option<String>,
}

pub struct Closing {
    pub missing_action: Option<MissingAction>,
    pub notes: Option<String>,
}

impl CloseCheck {
    pub fn parse(self) -> AppResult<Closing> {
        let mut v = Validator::new();
        let missing_action = optional(
            &mut v,
            "missing_action",
            self.missing_action.as_deref(),
            MissingAction::parse,
        );
        let notes = optional(&mut v, "notes", self.notes.as_deref(), parse_notes);
        v.finish()?;
        Ok(Closing {
            missing_action,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn marking(serial: &str, manufacturer: Option<&str>) -> SightingInput {
        SightingInput {
            firearm_id: None,
            serial_number: Some(serial.into()),
            manufacturer: manufacturer.map(String::from),
            country_of_manufacture: None,
        }
    }

    fn key(item: &SightingInput) -> Option<(String, Option<String>)> {
        let parsed = Sightings {
            items: vec![item.clone()],
        }
        .parse()
        .ok()?;
        match parsed.into_iter().next()? {
            Sighting::Marking {
                serial,
                manufacturer_key,
                ..
            } => Some((serial.normalized, manufacturer_key)),
            Sighting::Firearm(_) => None,
        }
    }

    proptest! {
        /// A serial read off a shelf matches however it was keyed in:
        /// case, separators and the maker's spacing and case never matter.
        #[test]
        fn sightings_match_whatever_the_case_and_separators(
            groups in proptest::collection::vec("[a-zA-Z0-9]{1,6}", 1..5),
            seps in proptest::collection::vec("[ ./_-]{0,2}", 5),
            maker in "[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,2}",
        ) {
            let plain: String = groups.concat();
            let spaced: String = groups
                .iter()
                .zip(seps.iter().cycle())
                .map(|(g, s)| format!("{g}{s}"))
                .collect();
            let shouted = maker.to_uppercase().replace(' ', "   ");
            let a = key(&marking(&plain.to_lowercase(), Some(&maker)));
            let b = key(&marking(spaced.trim(), Some(&shouted)));
            prop_assert!(a.is_some());
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn an_item_gives_a_firearm_or_a_marking_and_a_batch_at_most_1000() {
        let both = SightingInput {
            firearm_id: Some(uuid::Uuid::now_v7().to_string()),
            ..marking("AB-1", None)
        };
        assert!(Sightings { items: vec![both] }.parse().is_err());
        let neither = SightingInput {
            serial_number: None,
            ..marking("AB-1", Some("Glock"))
        };
        assert!(Sightings {
            items: vec![neither]
        }
        .parse()
        .is_err());
        let many = vec![marking("AB-1", None); MAX_ITEMS + 1];
        assert!(Sightings { items: many }.parse().is_err());
        let full = vec![marking("AB-1", None); MAX_ITEMS];
        assert_eq!(
            Sightings { items: full }.parse().map(|v| v.len()).ok(),
            Some(MAX_ITEMS)
        );
    }
}
