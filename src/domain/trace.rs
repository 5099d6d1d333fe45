//! Matching what is read off a weapon against registered identifiers.
//!
//! Markings are read by people from worn, filed or ground-off metal, so a
//! query may hold `?` (one unreadable character) and `*` (any run of
//! them), and characters that look alike are confused. Everything here is
//! pure; `db::trace` fetches candidates through indexes, and this module
//! decides whether each truly matches and how well.

use super::serial::is_separator;

/// Look-alike classes: each character folds to the first of its class.
const LOOK_ALIKES: [(char, char); 9] = [
    ('O', '0'),
    ('Q', '0'),
    ('D', '0'),
    ('I', '1'),
    ('L', '1'),
    ('Z', '2'),
    ('S', '5'),
    ('G', '6'),
    ('B', '8'),
];

pub fn fold_char(c: char) -> char {
    LOOK_ALIKES
        .iter()
        .find(|(from, _)| *from == c)
        .map_or(c, |(_, to)| *to)
}

/// The canonical form tracing indexes: the normalised text with each
/// look-alike folded.
pub fn fold(normalized: &str) -> String {
    normalized.chars().map(fold_char).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Known(char),
    /// `?`: exactly one unreadable character.
    One,
    /// `*`: any run of unreadable characters, possibly none.
    Any,
}

/// A trace pattern, normalised like a serial (upper case, separators
/// removed), with its wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub tokens: Vec<Token>,
}

pub const MIN_KNOWN_RUN: usize = 3;
/// A pattern without a run of three may still be searched by its known
/// beginning (an index range), if it has this many.
pub const MIN_KNOWN_PREFIX: usize = 2;

/// How the database finds candidates for a pattern, always through an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// No wildcards: equality on the folded (or, exact, normalised) form.
    Equal(String),
    /// A run of three known characters: the trigram index, with this LIKE.
    Trigrams(String),
    /// A known beginning: a range of the folded index, then this LIKE.
    Prefix(String, String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum PatternError {
    /// Refused as a value (422 validation_failed).
    Invalid(String),
    /// Too little is known to search without scanning (422 query_too_broad).
    TooBroad(String),
}

impl Pattern {
    pub fn parse(raw: &str) -> Result<Self, PatternError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > 64 {
            return Err(PatternError::Invalid(
                "must be at most 64 characters".into(),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(PatternError::Invalid(
                "must not contain control characters".into(),
            ));
        }
        let mut tokens = Vec::new();
        for c in trimmed.chars().filter(|c| !is_separator(*c)) {
            let t = match c {
                '?' => Token::One,
                '*' => Token::Any,
                other => Token::Known(other),
            };
            // `**` is `*`.
            if !(t == Token::Any && tokens.last() == Some(&Token::Any)) {
                tokens.extend(other_upper(t));
            }
        }
        let p = Self { tokens };
        let known = p
            .tokens
            .iter()
            .filter(|t| matches!(t, Token::Known(_)))
            .count();
        let searchable = p.longest_known_run() >= MIN_KNOWN_RUN
            || (known >= MIN_KNOWN_RUN && p.known_prefix().chars().count() >= MIN_KNOWN_PREFIX);
        if !searchable {
            return Err(PatternError::TooBroad(format!(
                "the pattern needs at least {MIN_KNOWN_RUN} known characters in a row (or {MIN_KNOWN_RUN} known characters beginning with {MIN_KNOWN_PREFIX}); searching on less would scan the registry"
            )));
        }
        Ok(p)
    }

    /// The known characters before the first wildcard.
    pub fn known_prefix(&self) -> String {
        self.tokens
            .iter()
            .map_while(|t| match t {
                Token::Known(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    pub fn plan(&self) -> Plan {
        if !self.has_wildcards() {
            Plan::Equal(self.literal())
        } else if self.longest_known_run() >= MIN_KNOWN_RUN {
            Plan::Trigrams(self.like())
        } else {
            Plan::Prefix(fold(&self.known_prefix()), self.like())
        }
    }

    pub fn longest_known_run(&self) -> usize {
        let (mut best, mut run) = (0, 0);
        for t in &self.tokens {
            run = if matches!(t, Token::Known(_)) {
                run + 1
            } else {
                0
            };
            best = best.max(run);
        }
        best
    }

    pub fn has_wildcards(&self) -> bool {
        self.tokens.iter().any(|t| !matches!(t, Token::Known(_)))
    }

    /// The known characters, when there are no wildcards.
    pub fn literal(&self) -> String {
        self.tokens
            .iter()
            .filter_map(|t| match t {
                Token::Known(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// A SQL LIKE pattern over folded text (`_` one character, `%` a run).
    /// Literal `%` and `_` cannot occur: `_` is a separator, and `%` and
    /// `\\` stand for any one character there (each candidate is then
    /// checked exactly).
    pub fn like(&self) -> String {
        self.tokens
            .iter()
            .map(|t| match t {
                // `\\` would escape the next character in PostgreSQL's LIKE.
                Token::Known('%' | '\\') | Token::One => '_',
                Token::Known(c) => fold_char(*c),
                Token::Any => '%',
            })
            .collect()
    }
}

/// Upper-cases a known character (which may become several: `ß` → `SS`).
fn other_upper(t: Token) -> Vec<Token> {
    match t {
        Token::Known(c) => c.to_uppercase().map(Token::Known).collect(),
        other => vec![other],
    }
}

/// How a candidate matched: what it cost to make the pattern fit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fit {
    pub look_alikes: u32,
    pub unknown_one: u32,
    pub unknown_run: u32,
}

impl Fit {
    fn penalty(&self) -> f64 {
        0.06 * f64::from(self.look_alikes)
            + 0.05 * f64::from(self.unknown_one)
            + 0.03 * f64::from(self.unknown_run)
    }

    /// 1.0 for an exact normalised match, less for each look-alike
    /// substitution and each unreadable character.
    pub fn score(&self) -> f64 {
        (1.0 - self.penalty()).max(0.05)
    }
}

fn cheaper(a: Option<Fit>, b: Option<Fit>) -> Option<Fit> {
    match (a, b) {
        (Some(x), Some(y)) if y.penalty() < x.penalty() => Some(y),
        (Some(x), _) => Some(x),
        (None, y) => y,
    }
}

/// The cheapest way `pattern` matches all of `normalized`, or `None`. With
/// `exact`, look-alike characters do not match each other.
///
/// Its cost is linear in the text for each token of the pattern, whatever
/// the pattern: a `*` extends the best fit so far by one character as it
/// moves along, rather than trying every length from every place (which
/// made `AB*C*C*C…` against long markings cost seconds a query).
pub fn fit(pattern: &Pattern, normalized: &str, exact: bool) -> Option<Fit> {
    let text: Vec<char> = normalized.chars().collect();
    let m = text.len();
    // row[j]: the cheapest fit of the tokens so far to the first j chars.
    let mut row: Vec<Option<Fit>> = vec![None; m + 1];
    row[0] = Some(Fit::default());
    let mut next: Vec<Option<Fit>> = vec![None; m + 1];
    for token in &pattern.tokens {
        match *token {
            Token::Any => {
                // The best fit ending anywhere up to j, with the run of
                // unreadable characters since then.
                let mut carried: Option<Fit> = None;
                for j in 0..=m {
                    carried = carried.map(|mut f| {
                        f.unknown_run += 1;
                        f
                    });
                    carried = cheaper(row[j], carried);
                    next[j] = carried;
                }
            }
            Token::One => {
                next[0] = None;
                for j in 1..=m {
                    next[j] = row[j - 1].map(|mut f| {
                        f.unknown_one += 1;
                        f
                    });
                }
            }
            Token::Known(c) => {
                next[0] = None;
                for j in 1..=m {
                    let t = text[j - 1];
                    next[j] = if c == t {
                        row[j - 1]
                    } else if !exact && fold_char(c) == fold_char(t) {
                        row[j - 1].map(|mut f| {
                            f.look_alikes += 1;
                            f
                        })
                    } else {
                        None
                    };
                }
            }
        }
        std::mem::swap(&mut row, &mut next);
    }
    row[m]
}

/// How an optional attribute of the query compares with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    Agrees,
    Unknown,
    Disagrees,
}

impl Agreement {
    pub fn compare(query: Option<&str>, record: Option<&str>) -> Option<Self> {
        let query = query?;
        Some(match record {
            None => Self::Unknown,
            Some(r) if super::text::fold(r) == super::text::fold(query) => Self::Agrees,
            Some(_) => Self::Disagrees,
        })
    }

    pub fn factor(self) -> f64 {
        match self {
            Self::Agrees => 1.0,
            Self::Unknown => 0.9,
            Self::Disagrees => 0.7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::serial::normalize;
    use proptest::prelude::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    #[test]
    fn wildcards_and_look_alikes() {
        assert_eq!(
            fit(&p("ABC-12345"), "ABC12345", false).map(|f| f.score()),
            Some(1.0)
        );
        assert!(fit(&p("AB?12*"), "ABX12999", false).is_some());
        assert!(fit(&p("*4567"), "XY1234567", false).is_some());
        assert!(fit(&p("*4567"), "XY45678", false).is_none());
        assert!(
            fit(&p("ABC?12"), "ABC12", false).is_none(),
            "? is exactly one character"
        );
        assert!(
            fit(&p("A*B123"), "AB123", false).is_some(),
            "* may be empty"
        );
        let lookalike = fit(&p("0B8-1Z3"), "OB8IZ3", false).unwrap();
        assert_eq!(lookalike.look_alikes, 2);
        assert!(fit(&p("0B8-1Z3"), "OB8IZ3", true).is_none());
        assert!(fit(&p("5G6SGB"), "S6G5G8", false).is_some());
        assert!(lookalike.score() < 1.0);
        assert!(fit(&p("AB?123"), "AB9123", false).unwrap().score() < 1.0);
    }

    #[test]
    fn too_broad_patterns_are_refused() {
        for broad in ["*", "??", "A?B?C", "A*BC*D", "-/.", "", "**", "12", "AB*"] {
            assert!(
                matches!(Pattern::parse(broad), Err(PatternError::TooBroad(_))),
                "{broad}"
            );
        }
        assert!(matches!(
            Pattern::parse(&"A".repeat(65)),
            Err(PatternError::Invalid(_))
        ));
        assert!(matches!(
            Pattern::parse("AB\u{7}123"),
            Err(PatternError::Invalid(_))
        ));
        assert!(Pattern::parse("*123*").is_ok());
        assert_eq!(
            p("AB?12*").plan(),
            Plan::Prefix("A8".into(), "A8_12%".into())
        );
        assert_eq!(p("*4567").plan(), Plan::Trigrams("%4567".into()));
        assert_eq!(p("ab-123").plan(), Plan::Equal("AB123".into()));
    }

    #[test]
    fn like_patterns_fold_and_translate_wildcards() {
        assert_eq!(p("ab-o?1*").like(), "A80_1%");
        assert_eq!(p("ab\\1*").like(), "A8_1%");
        assert!(p("ab*1234").has_wildcards());
        assert_eq!(p("ab 1234").literal(), "AB1234");
    }

    /// The matcher as first written: every length of every `*` tried from
    /// every place. Slow, plainly right; the linear one must agree with it.
    fn fit_by_every_length(pattern: &Pattern, normalized: &str, exact: bool) -> Option<Fit> {
        let text: Vec<char> = normalized.chars().collect();
        let (n, m) = (pattern.tokens.len(), text.len());
        let mut best: Vec<Vec<Option<Fit>>> = vec![vec![None; m + 1]; n + 1];
        best[0][0] = Some(Fit::default());
        for i in 0..n {
            for j in 0..=m {
                let Some(here) = best[i][j] else { continue };
                let mut put = |k: usize, f: Fit| best[i + 1][k] = cheaper(best[i + 1][k], Some(f));
                match pattern.tokens[i] {
                    Token::Any => {
                        for k in j..=m {
                            let mut f = here;
                            f.unknown_run += (k - j) as u32;
                            put(k, f);
                        }
                    }
                    Token::One if j < m => {
                        let mut f = here;
                        f.unknown_one += 1;
                        put(j + 1, f);
                    }
                    Token::Known(c) if j < m => {
                        if c == text[j] {
                            put(j + 1, here);
                        } else if !exact && fold_char(c) == fold_char(text[j]) {
                            let mut f = here;
                            f.look_alikes += 1;
                            put(j + 1, f);
                        }
                    }
                    _ => {}
                }
            }
        }
        best[n][m]
    }

    proptest! {
        #[test]
        fn the_linear_matcher_agrees_with_trying_every_length(
            pattern in "[A-C0-2]{3}[A-C0-2?*O]{0,10}",
            text in "[A-C0-2O]{0,24}",
            exact in any::<bool>(),
        ) {
            let Ok(p) = Pattern::parse(&pattern) else { return Ok(()) };
            let fast = fit(&p, &text, exact).map(|f| f.penalty());
            let slow = fit_by_every_length(&p, &text, exact).map(|f| f.penalty());
            prop_assert_eq!(fast.map(|x| (x * 1e6).round()), slow.map(|x| (x * 1e6).round()));
        }

        #[test]
        fn folding_is_idempotent(s in "[A-Z0-9]{0,30}") {
            prop_assert_eq!(fold(&fold(&s)), fold(&s));
        }

        #[test]
        fn a_serial_matches_its_own_spelling_exactly(s in "[A-Za-z0-9]{3,20}", sep in "[ ./_-]?") {
            let written = format!("{}{}{}", &s[..1], sep, &s[1..]);
            let f = fit(&p(&written), &normalize(&s), true).expect("matches itself");
            prop_assert_eq!(f.score(), 1.0);
        }

        #[test]
        fn look_alike_misreadings_match_unless_exact(s in "[012568]{3,12}") {
            let misread: String = s.chars().map(|c| match c {
                '0' => 'O', '1' => 'I', '2' => 'Z', '5' => 'S', '6' => 'G', '8' => 'B', other => other,
            }).collect();
            prop_assert!(fit(&p(&misread), &s, false).is_some());
            prop_assert!(fit(&p(&misread), &s, true).is_none());
            prop_assert_eq!(fold(&misread), fold(&s));
        }

        #[test]
        fn an_obliterated_middle_still_matches(s in "[A-Z0-9]{8,16}") {
            let pattern = format!("{}*{}", &s[..3], &s[s.len() - 3..]);
            prop_assert!(fit(&p(&pattern), &s, true).is_some());
        }
    }
}
