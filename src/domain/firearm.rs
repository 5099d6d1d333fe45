//! The descriptive vocabulary of a firearm record: categories, markings,
//! components, holders, statuses, years and event times.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::serial::SerialNumber;
use super::{text, CountryCode};

/// Declares a closed vocabulary stored and sent as `snake_case` strings.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown value `{raw}`; expected one of {}", names.join(", "))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

crate::vocabulary!(
    /// Categories of small arms and light weapons (ITI, ISACS 05.30).
    Category {
        Revolver => "revolver",
        SelfLoadingPistol => "self_loading_pistol",
        Rifle => "rifle",
        Carbine => "carbine",
        Shotgun => "shotgun",
        SubMachineGun => "sub_machine_gun",
        AssaultRifle => "assault_rifle",
        LightMachineGun => "light_machine_gun",
        HeavyMachineGun => "heavy_machine_gun",
        GrenadeLauncher => "grenade_launcher",
        PortableAntiTankGun => "portable_anti_tank_gun",
        RecoillessRifle => "recoilless_rifle",
        PortableAntiTankLauncher => "portable_anti_tank_launcher",
        PortableAntiAircraftLauncher => "portable_anti_aircraft_launcher",
        Mortar => "mortar",
        OtherSmallArm => "other_small_arm",
        OtherLightWeapon => "other_light_weapon",
    }
);

crate::vocabulary!(MarkingKind {
    Manufacture => "manufacture",
    Import => "import",
    State => "state",
    Other => "other",
});

crate::vocabulary!(ComponentKind {
    Frame => "frame",
    Receiver => "receiver",
    Slide => "slide",
    Barrel => "barrel",
    Bolt => "bolt",
    Cylinder => "cylinder",
    Other => "other",
});

crate::vocabulary!(HolderKind {
    Agency => "agency",
    Dealer => "dealer",
    Manufacturer => "manufacturer",
    Individual => "individual",
    Other => "other",
});

crate::vocabulary!(Status {
    Active => "active",
    Lost => "lost",
    Stolen => "stolen",
    Seized => "seized",
    Exported => "exported",
    Deactivated => "deactivated",
    Destroyed => "destroyed",
});

/// A year of manufacture or marking: from 1800 to the current year.
pub fn parse_year(year: i64, now: DateTime<Utc>) -> Result<i32, String> {
    let current = i64::from(now.year());
    if !(1800..=current).contains(&year) {
        return Err(format!("must be between 1800 and {current}"));
    }
    i32::try_from(year).map_err(|_| "out of range".to_string())
}

/// When something happened in the world: RFC 3339, never more than five
/// minutes ahead of the server clock (clocks drift; the future does not
/// happen).
pub fn parse_occurred_at(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| "must be an RFC 3339 time, e.g. 2026-03-01T09:30:00Z".to_string())?
        .with_timezone(&Utc);
    if at > now + Duration::minutes(5) {
        return Err("must not be more than 5 minutes in the future".into());
    }
    if at.year() < 1800 {
        return Err("must not be before 1800".into());
    }
    Ok(at)
}

/// A single-line descriptive field (manufacturer, model, calibre, names).
pub fn parse_label(raw: &str) -> Result<String, String> {
    text::single_line(raw, 200)
}

/// Free-text notes: line breaks and tabs are allowed, other control
/// characters are not.
pub fn parse_notes(raw: &str) -> Result<String, String> {
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters other than line breaks and tabs".into());
    }
    if raw.chars().count() > 10_000 {
        return Err("must be at most 10000 characters".into());
    }
    Ok(raw.trim().to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marking {
    pub kind: MarkingKind,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub kind: ComponentKind,
    pub serial: Option<SerialNumber>,
}

impl Component {
    /// The component as records store and show it: its serial as marked.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "serial_number": self.serial.as_ref().map(|s| &s.marked),
        })
    }
}

/// A registered firearm as it is now. Values are typed: a firearm read
/// from storage has been parsed once, in `db`, and nothing past there
/// parses its columns again.
#[derive(Debug, Clone, PartialEq)]
pub struct Firearm {
    pub id: String,
    pub category: Category,
    pub manufacturer: String,
    /// The manufacturer folded, as the unique marking compares it.
    pub manufacturer_key: String,
    pub model: Option<String>,
    pub calibre: Option<String>,
    pub country_of_manufacture: CountryCode,
    pub year_of_manufacture: Option<i32>,
    pub serial: SerialNumber,
    pub markings: Vec<Marking>,
    pub components: Vec<Component>,
    pub status: Status,
    pub owner: Holder,
    /// Who keeps the firearm for its owner; none when the owner holds it.
    pub custodian: Option<Holder>,
    pub responsible_agency_id: String,
    pub notes: Option<String>,
    /// Counts the firearm's events: registration is 1.
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When the personal data of its holders was erased (docs/holders.md).
    pub personal_erased_at: Option<NaiveDateTime>,
}

impl Firearm {
    /// Who has the firearm in hand: the custodian, or else the owner.
    pub fn holding(&self) -> &Holder {
        self.custodian.as_ref().unwrap_or(&self.owner)
    }
}

/// An owner, custodian or transfer recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub kind: HolderKind,
    pub name: String,
    pub reference: Option<String>,
    pub country: Option<CountryCode>,
    pub agency_id: Option<String>,
    /// The armoury of `agency_id` that keeps the firearm, when the holder
    /// is one of the agency's stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armoury_id: Option<String>,
    /// The holder record (`/v1/holders/{id}`) this holder was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id: Option<String>,
}

impl Holder {
    /// The holder as records store and show it.
    /// `armoury_id` appears only when set, so holders recorded before
    /// armouries existed keep their stored text and digests.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "kind": self.kind,
            "name": self.name,
            "reference": self.reference,
            "country": self.country,
            "agency_id": self.agency_id,
        });
        if let Some(armoury) = &self.armoury_id {
            v["armoury_id"] = serde_json::json!(armoury);
        }
        if let Some(holder) = &self.holder_id {
            v["holder_id"] = serde_json::json!(holder);
        }
        v
    }

    /// Two holders are the same party when kind, agency and the folded name
    /// and reference agree; display differences do not make a new holder.
    pub fn same_party(&self, other: &Holder) -> bool {
        self.kind == other.kind
            && self.agency_id == other.agency_id
            && self.armoury_id == other.armoury_id
            && self.holder_id == other.holder_id
            && text::fold(&self.name) == text::fold(&other.name)
            && self.reference.as_deref().map(text::fold)
                == other.reference.as_deref().map(text::fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vocabularies_round_trip_and_refuse_the_unknown() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(*c));
        }
        for k in ComponentKind::ALL {
            assert_eq!(ComponentKind::parse(k.as_str()), Ok(*k));
        }
        assert!(Category::parse("Revolver").is_err());
        assert!(ComponentKind::parse("trigger").is_err());
        assert!(MarkingKind::parse("").is_err());
        assert!(HolderKind::parse("agency ").is_err());
    }

    #[test]
    fn years_and_times_are_bounded() {
        let now = Utc::now();
        assert!(parse_year(1800, now).is_ok());
        assert!(parse_year(1799, now).is_err());
        assert!(parse_year(i64::from(now.year()) + 1, now).is_err());
        assert!(parse_occurred_at(&(now + Duration::minutes(4)).to_rfc3339(), now).is_ok());
        assert!(parse_occurred_at(&(now + Duration::minutes(6)).to_rfc3339(), now).is_err());
        assert!(parse_occurred_at("2026-13-01T00:00:00Z", now).is_err());
        assert!(parse_notes("two\nlines\tand a tab").is_ok());
        assert!(parse_notes("bell\u{7}").is_err());
    }

    fn holder(kind: HolderKind, name: &str, reference: Option<&str>) -> Holder {
        Holder {
            kind,
            armoury_id: None,
            holder_id: None,
            name: name.into(),
            reference: reference.map(String::from),
            country: None,
            agency_id: None,
        }
    }

    proptest! {
        #[test]
        fn holders_are_the_same_party_whatever_the_case_and_spacing(
            name in "[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,2}",
            reference in proptest::option::of("[A-Z0-9-]{1,10}"),
        ) {
            let a = holder(HolderKind::Dealer, &name, reference.as_deref());
            let spaced = format!("  {}  ", name.to_uppercase().replace(' ', "   "));
            let b = holder(HolderKind::Dealer, &spaced, reference.as_deref().map(str::to_lowercase).as_deref());
            prop_assert!(a.same_party(&b));
            let other_kind = holder(HolderKind::Individual, &name, reference.as_deref());
            prop_assert!(!a.same_party(&other_kind));
        }

        #[test]
        fn labels_never_keep_control_characters(s in "\\PC{0,20}", c in "[\u{0}-\u{1f}\u{7f}]") {
            let with_control = format!("x{s}{c}x");
            prop_assert!(parse_label(&with_control).is_err());
        }
    }
}
