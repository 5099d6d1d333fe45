use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SystemAdmin,
    Admin,
    Registrar,
    Tracer,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::SystemAdmin,
        Self::Admin,
        Self::Registrar,
        Self::Tracer,
        Self::Auditor,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::Admin => "admin",
            Self::Registrar => "registrar",
            Self::Tracer => "tracer",
            Self::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown role `{s}`; expected system_admin, admin, registrar, tracer or auditor")
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, stored as a sorted comma-separated list. Given in a
/// request it is never empty; stored it may be, while a user's only roles
/// wait for approval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("at least one role is required".into());
        }
        let set = raw
            .iter()
            .map(|r| r.as_ref().parse())
            .collect::<Result<BTreeSet<Role>, String>>()?;
        Ok(Self(set))
    }

    /// Reads the stored form; an unknown name there is a corrupt row.
    pub fn from_stored(stored: &str) -> Result<Self, String> {
        if stored.is_empty() {
            return Ok(Self::default());
        }
        Self::parse(&stored.split(',').collect::<Vec<_>>())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &Roles) -> Roles {
        Self(self.0.union(&other.0).copied().collect())
    }

    pub fn intersection(&self, other: &Roles) -> Roles {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    pub fn difference(&self, other: &Roles) -> Roles {
        Self(self.0.difference(&other.0).copied().collect())
    }

    pub fn symmetric_difference(&self, other: &Roles) -> Roles {
        Self(self.0.symmetric_difference(&other.0).copied().collect())
    }

    /// The roles of this set that are among `roles`.
    pub fn only(&self, roles: &[Role]) -> Roles {
        Self(self.iter().filter(|r| roles.contains(r)).collect())
    }

    /// The roles of this set that are not among `roles`.
    pub fn without(&self, roles: &[Role]) -> Roles {
        Self(self.iter().filter(|r| !roles.contains(r)).collect())
    }

    pub fn to_stored(&self) -> String {
        self.names().join(",")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(Role::as_str).collect()
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

/// A login name: 3 to 64 characters of letters, digits, `.`, `_`, `-`, `@`.
/// Compared case-insensitively through `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    pub display: String,
    pub key: String,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if !(3..=64).contains(&len) {
            return Err("must be 3 to 64 characters".into());
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err("may hold only letters, digits, '.', '_', '-' and '@'".into());
        }
        Ok(Self {
            display: raw.to_string(),
            key: raw.to_ascii_lowercase(),
        })
    }
}

/// A new password. At least 12 characters (NIST SP 800-63B); at most 1024 so
/// that hashing cannot be used to exhaust the server. Never printed.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if len > 1024 {
            return Err("must be at most 1024 characters".into());
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roles_parse_and_store_sorted() {
        let r = Roles::parse(&["tracer", "admin", "tracer"]).unwrap();
        assert_eq!(r.to_stored(), "admin,tracer");
        assert_eq!(Roles::from_stored("admin,tracer").unwrap(), r);
        assert!(Roles::parse(&["superuser"]).is_err());
        assert!(Roles::parse::<&str>(&[]).is_err());
        assert!(Roles::from_stored("").unwrap().is_empty());
        assert_eq!(Roles::default().to_stored(), "");
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(Password::parse("elevenchars").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("twelve chars").unwrap()),
            "Password(***)"
        );
    }

    proptest! {
        #[test]
        fn username_key_ignores_case(s in "[A-Za-z0-9._@-]{3,64}") {
            let u = Username::parse(&s).unwrap();
            prop_assert_eq!(Username::parse(&s.to_uppercase()).unwrap().key, u.key.clone());
            prop_assert_eq!(u.key.to_lowercase(), u.key);
        }

        #[test]
        fn usernames_refuse_whitespace_and_controls(a in "[a-z]{2,10}", c in "[ \t\n\u{0}/]") {
            let name = format!("{a}{c}x");
            prop_assert!(Username::parse(&name).is_err());
        }
    }
}
