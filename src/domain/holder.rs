//! Holders as records of their own, their identifiers and licences: the
//! words they use, and how names are compared when searched.

use chrono::NaiveDate;

use super::text;

crate::vocabulary!(
    /// What an identifier of a holder is.
    IdentifierType {
        NationalId => "national_id",
        Passport => "passport",
        CompanyRegistration => "company_registration",
        DealerLicence => "dealer_licence",
        Other => "other",
    }
);

crate::vocabulary!(
    /// What a licence allows its holder.
    LicenceType {
        Possession => "possession",
        Dealer => "dealer",
        Manufacturer => "manufacturer",
        Collector => "collector",
        Other => "other",
    }
);

crate::vocabulary!(
    /// A licence as recorded; `expired` is derived from its dates, never
    /// stored.
    LicenceStatus {
        Valid => "valid",
        Revoked => "revoked",
    }
);

crate::vocabulary!(
    /// What an ownership transfer to a licensed kind of holder does without
    /// a licence in force: refuse it, record it with a warning, or nothing.
    LicenceCheck {
        Enforce => "enforce",
        Warn => "warn",
        Off => "off",
    }
);

/// Letters with diacritics and their base letters: names are searched
/// without accents, so `Bédié` is found by `bedie`.
const FOLDS: &[(&str, &str)] = &[
    ("àáâãäåāăąǎ", "a"),
    ("çćĉċč", "c"),
    ("ďđ", "d"),
    ("èéêëēĕėęě", "e"),
    ("ĝğġģ", "g"),
    ("ĥħ", "h"),
    ("ìíîïĩīĭįıǐ", "i"),
    ("ĵ", "j"),
    ("ķ", "k"),
    ("ĺļľŀł", "l"),
    ("ñńņňŉ", "n"),
    ("òóôõöøōŏőǒ", "o"),
    ("ŕŗř", "r"),
    ("śŝşšș", "s"),
    ("ţťŧț", "t"),
    ("ùúûüũūŭůűųǔ", "u"),
    ("ŵ", "w"),
    ("ýÿŷ", "y"),
    ("źżž", "z"),
    ("æ", "ae"),
    ("œ", "oe"),
    ("ß", "ss"),
    ("þ", "th"),
    ("ð", "d"),
];

fn fold_char(c: char, out: &mut String) {
    match FOLDS.iter().find(|(from, _)| from.contains(c)) {
        Some((_, to)) => out.push_str(to),
        None => out.push(c),
    }
}

/// A name as searches compare it: lower case, accents removed, words
/// separated by single spaces.
pub fn fold_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in text::fold(raw).chars() {
        fold_char(c, &mut out);
    }
    out
}

/// The words of a folded name, each once: what the name index holds.
pub fn name_words(raw: &str) -> Vec<String> {
    let mut words: Vec<String> = fold_name(raw)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    words.sort();
    words.dedup();
    words.truncate(16);
    words
}

/// An identifier's value as duplicates are found: folded, with spaces,
/// dashes, dots and slashes dropped (`AB-123 456` is `ab123456`).
pub fn identifier_key(raw: &str) -> String {
    fold_name(raw)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
        .collect()
}

/// A date of birth: a real date, not after today.
pub fn parse_date_of_birth(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = parse_date(raw)?;
    if date > today {
        return Err("must not be in the future".into());
    }
    Ok(date)
}

/// A calendar date as `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "must be a date as YYYY-MM-DD".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_fold_without_case_or_accents() {
        assert_eq!(fold_name("  Henri  KONAN Bédié "), "henri konan bedie");
        assert_eq!(fold_name("Łukasz Żółć"), "lukasz zolc");
        assert_eq!(name_words("Ama Ama-Mensah"), vec!["ama", "mensah"]);
        assert_eq!(identifier_key("AB-123 456"), "ab123456");
    }

    #[test]
    fn dates_of_birth_refuse_the_future_and_non_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(parse_date_of_birth("1980-02-29", today).is_ok());
        assert!(parse_date_of_birth("1981-02-29", today).is_err());
        assert!(parse_date_of_birth("2026-12-02", today).is_err());
        assert!(parse_date_of_birth("01/02/1980", today).is_err());
    }

    proptest! {
        #[test]
        fn folding_is_idempotent_and_ignores_case_and_accents(name in "[a-zA-ZéÉèàÀçÇøØßñÑ -]{0,30}") {
            let folded = fold_name(&name);
            prop_assert_eq!(fold_name(&folded), folded.clone());
            prop_assert_eq!(fold_name(&name.to_uppercase()), folded.clone());
            prop_assert!(folded.is_ascii());
        }

        #[test]
        fn every_word_of_a_name_is_indexed(name in "[a-zA-Zé]{1,8}( [a-zA-Zé]{1,8}){0,3}") {
            let words = name_words(&name);
            for w in fold_name(&name).split(' ') {
                prop_assert!(words.iter().any(|x| x == w));
            }
        }
    }
}
