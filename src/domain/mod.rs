//! Parsed value types and pure rules. A value of one of these types is
//! valid by construction: request fields are parsed into them at the edge
//! (`input`, the capability modules' input parsers), and nothing past the
//! edge re-checks. No database and no HTTP here.

pub mod agency;
pub mod armoury;
pub mod country;
pub mod firearm;
pub mod holder;
pub mod lifecycle;
pub mod net;
pub mod personal;
pub mod report;
pub mod serial;
pub mod text;
pub mod trace;
pub mod user;
pub mod webhook;

pub use agency::{AgencyKind, AgencyName};
pub use armoury::{ArmouryKind, CheckStatus, MissingAction, SightingResult};
pub use country::CountryCode;
pub use firearm::{
    Category, Component, ComponentKind, Firearm, Holder, HolderKind, Marking, MarkingKind, Status,
};
pub use holder::{IdentifierType, LicenceCheck, LicenceStatus, LicenceType};
pub use lifecycle::{DestructionMethod, EventType};
pub use serial::SerialNumber;
pub use user::{Password, Role, Roles, Username};
