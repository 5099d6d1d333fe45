//! What statistics and national reports are asked for: a reporting year,
//! a period of days, a direction of trade, and the Arms Trade Treaty's
//! small arms and light weapons categories (docs/reports.md).

use chrono::{Datelike, NaiveDate};

use super::firearm::Category;
use super::holder::parse_date;

/// A year a report may cover: from 1900, when no registry held records,
/// to next year, which a report filed in advance of its end may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportYear(i32);

impl ReportYear {
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, String> {
        let year: i32 = raw
            .trim()
            .parse()
            .map_err(|_| format!("`{raw}` is not a year"))?;
        let last = today.year() + 1;
        if !(1900..=last).contains(&year) {
            return Err(format!("must be between 1900 and {last}"));
        }
        Ok(Self(year))
    }

    pub fn get(self) -> i32 {
        self.0
    }

    /// The year as a period, 1 January to 31 December.
    pub fn period(self) -> Period {
        let day = |m, d| NaiveDate::from_ymd_opt(self.0, m, d).unwrap_or_default();
        Period {
            from: day(1, 1),
            to: day(12, 31),
        }
    }
}

/// A day as the number yyyymmdd, which sorts as the days do.
pub fn day_number(d: NaiveDate) -> i32 {
    let md = d.month() * 100 + d.day();
    d.year() * 10_000 + i32::try_from(md).unwrap_or_default()
}

/// Days from `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A day of a period: a date from 1900 to 9999, the years records and
/// the counts' day numbers can hold.
fn parse_day(raw: &str) -> Result<NaiveDate, String> {
    let day = parse_date(raw)?;
    if !(1900..=9999).contains(&day.year()) {
        return Err("must be a day between 1900-01-01 and 9999-12-31".into());
    }
    Ok(day)
}

/// The first day any period may start on.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

impl Period {
    /// `from` defaults to 1900-01-01 and `to` to today; `from` after `to`
    /// is refused. Errors name the field.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut date = |field, raw: Option<&str>, default| match raw.map(parse_day) {
            None => Some(default),
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                errors.push((field, e));
                None
            }
        };
        let from = date("from", from, first_day());
        let to = date("to", to, today);
        match (from, to) {
            (Some(from), Some(to)) if from > to => {
                errors.push(("from", format!("must not be after `to` ({to})")));
                Err(errors)
            }
            (Some(from), Some(to)) if errors.is_empty() => Ok(Self { from, to }),
            _ => Err(errors),
        }
    }

    /// The period's days as yyyymmdd numbers, as the counts key them.
    pub fn days(&self) -> (i32, i32) {
        (day_number(self.from), day_number(self.to))
    }
}

crate::vocabulary!(Direction { Exports => "exports", Imports => "imports" });

crate::vocabulary!(
    /// The rows of the Arms Trade Treaty annual report's small arms and
    /// light weapons table (the ATT reporting template).
    AttCategory {
        RevolversPistols => "revolvers_and_self_loading_pistols",
        RiflesCarbines => "rifles_and_carbines",
        SubMachineGuns => "sub_machine_guns",
        AssaultRifles => "assault_rifles",
        LightMachineGuns => "light_machine_guns",
        OtherSmallArms => "other_small_arms",
        HeavyMachineGuns => "heavy_machine_guns",
        GrenadeLaunchers => "grenade_launchers",
        PortableAntiTankGuns => "portable_anti_tank_guns",
        RecoillessRifles => "recoilless_rifles",
        AntiTankLaunchers => "portable_anti_tank_missile_launchers_and_rocket_systems",
        AntiAircraftLaunchers => "portable_anti_aircraft_missile_launchers",
        Mortars => "mortars_under_75mm",
        OtherLightWeapons => "other_light_weapons",
    }
);

impl AttCategory {
    /// The template's row for one of the registry's categories. Shotguns
    /// have no row of their own: the template counts them among "others".
    pub fn of(category: Category) -> Self {
        use Category as C;
        match category {
            C::Revolver | C::SelfLoadingPistol => Self::RevolversPistols,
            C::Rifle | C::Carbine => Self::RiflesCarbines,
            C::SubMachineGun => Self::SubMachineGuns,
            C::AssaultRifle => Self::AssaultRifles,
            C::LightMachineGun => Self::LightMachineGuns,
            C::Shotgun | C::OtherSmallArm => Self::OtherSmallArms,
            C::HeavyMachineGun => Self::HeavyMachineGuns,
            C::GrenadeLauncher => Self::GrenadeLaunchers,
            C::PortableAntiTankGun => Self::PortableAntiTankGuns,
            C::RecoillessRifle => Self::RecoillessRifles,
            C::PortableAntiTankLauncher => Self::AntiTankLaunchers,
            C::PortableAntiAircraftLauncher => Self::AntiAircraftLaunchers,
            C::Mortar => Self::Mortars,
            C::OtherLightWeapon => Self::OtherLightWeapons,
        }
    }

    /// `small_arms` or `light_weapons`: the template's two tables.
    pub fn group(self) -> &'static str {
        use AttCategory as A;
        match self {
            A::RevolversPistols
            | A::RiflesCarbines
            | A::SubMachineGuns
            | A::AssaultRifles
            | A::LightMachineGuns
            | A::OtherSmallArms => "small_arms",
            _ => "light_weapons",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn years_run_from_1900_to_next_year() {
        assert!(ReportYear::parse("1899", today()).is_err());
        assert!(ReportYear::parse("1900", today()).is_ok());
        assert!(ReportYear::parse("2027", today()).is_ok());
        assert!(ReportYear::parse("2028", today()).is_err());
        assert!(ReportYear::parse("twenty", today()).is_err());
    }

    #[test]
    fn every_category_has_a_template_row() {
        for c in Category::ALL {
            let row = AttCategory::of(*c);
            assert!(AttCategory::ALL.contains(&row));
        }
        assert_eq!(AttCategory::of(Category::Shotgun).group(), "small_arms");
        assert_eq!(AttCategory::of(Category::Mortar).group(), "light_weapons");
    }

    #[test]
    fn a_period_stays_within_the_years_counts_can_hold() {
        for raw in ["1899-12-31", "10000-01-01", "262143-12-31"] {
            assert!(Period::parse(Some(raw), None, today()).is_err(), "{raw}");
            assert!(Period::parse(None, Some(raw), today()).is_err(), "{raw}");
        }
        assert!(Period::parse(None, Some("9999-12-31"), today()).is_ok());
    }

    #[test]
    fn a_period_refuses_from_after_to() {
        let errors = Period::parse(Some("2025-02-01"), Some("2025-01-01"), today()).unwrap_err();
        assert_eq!(errors[0].0, "from");
        let p = Period::parse(None, None, today()).unwrap();
        assert_eq!(p.days(), (19_000_101, 20_261_201));
    }

    proptest! {
        #[test]
        fn a_year_parses_exactly_when_in_range(y in 1800i32..2100) {
            let ok = ReportYear::parse(&y.to_string(), today()).is_ok();
            prop_assert_eq!(ok, (1900..=2027).contains(&y));
        }

        #[test]
        fn period_days_keep_date_order(a in 0i64..60_000, b in 0i64..60_000) {
            let d = |n| first_day() + chrono::Duration::days(n);
            let p = Period { from: d(a.min(b)), to: d(a.max(b)) };
            let (x, y) = p.days();
            prop_assert!(x <= y);
        }
    }
}
