//! Serial numbers as marked on a weapon, and their normalised form.

/// Characters that separate groups in a marking and carry no identity:
/// `AB-123`, `AB 123`, `AB.123`, `AB/123` and `AB_123` are one serial.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '/' | '_')
}

/// Upper case with separators removed. Letters of any script are kept:
/// weapons carry Cyrillic, Arabic and Chinese characters in their serials.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| !is_separator(*c))
        .flat_map(char::to_uppercase)
        .collect()
}

/// A serial number: the text as marked (trimmed) and its normalised form,
/// which is what uniqueness and tracing compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialNumber {
    pub marked: String,
    pub normalized: String,
}

impl SerialNumber {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let marked = raw.trim();
        if marked.is_empty() {
            return Err("must not be empty".into());
        }
        if marked.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if marked.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        // `?` and `*` mean "unreadable" in trace queries; a registered
        // serial must say what is actually marked.
        if marked.contains(['?', '*']) {
            return Err("must not contain `?` or `*` (those are for trace queries)".into());
        }
        let normalized = normalize(marked);
        if normalized.is_empty() {
            return Err("must contain at least one letter or digit, not only separators".into());
        }
        Ok(Self {
            marked: marked.to_string(),
            normalized,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(
            SerialNumber::parse(" abc-12 345 ").unwrap().normalized,
            "ABC12345"
        );
        assert_eq!(
            SerialNumber::parse("ab.12/3_4").unwrap().normalized,
            "AB1234"
        );
        assert_eq!(
            SerialNumber::parse("ак-47 001").unwrap().normalized,
            "АК47001"
        );
        for bad in ["", "   ", "--", " - . / _ ", "AB\u{0}1", "AB?1", "A*"] {
            assert!(SerialNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SerialNumber::parse(&"9".repeat(64)).is_ok());
        assert!(SerialNumber::parse(&"9".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn normalizing_twice_changes_nothing(s in "\\PC{0,80}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn case_and_separators_never_change_the_normal_form(
            groups in proptest::collection::vec("[a-zA-Z0-9]{1,6}", 1..5),
            seps in proptest::collection::vec("[ ./_-]{0,2}", 5),
        ) {
            let plain: String = groups.concat();
            let mut decorated = String::new();
            for (i, g) in groups.iter().enumerate() {
                decorated.push_str(&seps[i % seps.len()]);
                decorated.push_str(&g.to_lowercase());
            }
            prop_assert_eq!(normalize(&decorated), normalize(&plain.to_uppercase()));
        }

        #[test]
        fn a_non_empty_serial_never_normalizes_to_empty_without_an_error(s in "\\PC{1,64}") {
            match SerialNumber::parse(&s) {
                Ok(serial) => prop_assert!(!serial.normalized.is_empty()),
                // Refused only for a stated reason, never silently emptied.
                Err(_) => {
                    let t = s.trim();
                    prop_assert!(
                        normalize(t).is_empty()
                            || t.chars().count() > SerialNumber::MAX_CHARS
                            || t.chars().any(|c| c.is_control() || c == '?' || c == '*')
                    );
                }
            }
        }

        #[test]
        fn separator_only_serials_are_refused(s in "[ ./_-]{1,20}") {
            prop_assert!(SerialNumber::parse(&s).is_err());
        }
    }
}
