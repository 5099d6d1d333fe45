use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    Police,
    Military,
    Customs,
    LicensingAuthority,
    Judiciary,
    Other,
}

impl AgencyKind {
    pub const ALL: [AgencyKind; 6] = [
        Self::Police,
        Self::Military,
        Self::Customs,
        Self::LicensingAuthority,
        Self::Judiciary,
        Self::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Police => "police",
            Self::Military => "military",
            Self::Customs => "customs",
            Self::LicensingAuthority => "licensing_authority",
            Self::Judiciary => "judiciary",
            Self::Other => "other",
        }
    }
}

impl FromStr for AgencyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown agency kind `{s}`; expected one of police, military, customs, licensing_authority, judiciary, other")
            })
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agency's display name, and the folded key that makes two spellings of
/// one name collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyName {
    pub display: String,
    pub key: String,
}

impl AgencyName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let display = text::single_line(raw, 200)?;
        let key = text::fold(&display);
        Ok(Self { display, key })
    }
}
