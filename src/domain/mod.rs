//! Parsed value types. A value of one of these types is valid by
//! construction: handlers parse request fields into them at the edge, and
//! nothing past the edge re-checks.

pub mod agency;
pub mod country;
pub mod firearm;
pub mod lifecycle;
pub mod serial;
pub mod text;
pub mod trace;
pub mod user;

pub use agency::{AgencyKind, AgencyName};
pub use country::CountryCode;
pub use firearm::{
    Category, Component, ComponentKind, Holder, HolderKind, Marking, MarkingKind, Status,
};
pub use lifecycle::{DestructionMethod, EventType};
pub use serial::SerialNumber;
pub use user::{Password, Role, Roles, Username};
