//! Free text as the registry accepts it: no control characters (they hide
//! content in printed records and break CSV exports), trimmed, bounded.

/// Checks a piece of single-line text and returns it trimmed.
pub fn single_line(raw: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(trimmed.to_string())
}

/// Folds text for comparisons: lower case, runs of whitespace collapsed,
/// ends trimmed.
pub fn fold(raw: &str) -> String {
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A CSV cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
/// tab, carriage return first) is prefixed with `'`, as OWASP's CSV
/// injection advice says: the text stays readable and is never executed.
pub fn spreadsheet_safe(text: String) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_control_characters_and_blank() {
        assert!(single_line("a\u{0}b", 10).is_err());
        assert!(single_line("a\nb", 10).is_err());
        assert!(single_line("   ", 10).is_err());
        assert_eq!(single_line("  ok ", 10).as_deref(), Ok("ok"));
        assert!(single_line("abcdef", 5).is_err());
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn fold_ignores_case_and_spacing(s in "[a-zA-Z]{1,8}( [a-zA-Z]{1,8}){0,3}") {
            let spaced = format!("  {}  ", s.replace(' ', " \t "));
            prop_assert_eq!(fold(&spaced.to_uppercase()), fold(&s));
        }
    }

    #[test]
    fn formula_cells_are_prefixed_and_others_kept() {
        for (given, shown) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("plain", "plain"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_safe(given.to_string()), shown);
        }
    }
}
