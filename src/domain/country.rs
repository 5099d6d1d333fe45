//! ISO 3166-1 alpha-2 country codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The officially assigned ISO 3166-1 alpha-2 codes (249). User-assigned
/// codes such as `XX` or `XK` are refused: a record must name a country that
/// every other registry and customs system recognises.
const ASSIGNED: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Accepts exactly two upper-case letters naming an assigned country.
    /// Lower case is refused rather than folded: `gha` and `gh` are typical
    /// of data pasted from the wrong column, and the contract says so.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bytes = raw.as_bytes();
        let well_formed = bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase);
        if !well_formed || !ASSIGNED.split(' ').any(|c| c == raw) {
            return Err(format!(
                "`{raw}` is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. GH)"
            ));
        }
        Ok(Self([bytes[0], bytes[1]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_list_has_every_assigned_code_once() {
        let codes: Vec<_> = ASSIGNED.split(' ').collect();
        assert_eq!(codes.len(), 249);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, codes, "list must be sorted and free of duplicates");
    }

    #[test]
    fn accepts_assigned_and_refuses_the_rest() {
        for ok in ["GH", "AT", "US", "ZW"] {
            assert_eq!(CountryCode::parse(ok).map(|c| c.to_string()), Ok(ok.into()));
        }
        for bad in ["XX", "gh", "gha", "GHA", "G", "", "AA", "G1", " GH", "XK"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    proptest! {
        #[test]
        fn parse_round_trips(s in "\\PC{0,4}") {
            if let Ok(c) = CountryCode::parse(&s) {
                prop_assert_eq!(c.as_str(), s.as_str());
            }
        }
    }
}
