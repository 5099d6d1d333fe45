//! Parsed value types. A value of one of these types is valid by
//! construction: handlers parse request fields into them at the edge, and
//! nothing past the edge re-checks.

pub mod agency;
pub mod country;
pub mod text;
pub mod user;

pub use agency::{AgencyKind, AgencyName};
pub use country::CountryCode;
pub use user::{Password, Role, Roles, Username};
