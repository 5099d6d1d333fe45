//! Who is calling: passwords, tokens, login throttling, and the extractor
//! that turns a bearer token into a user whose roles come from the database.

pub mod extractor;
pub mod login;
pub mod password;
pub mod policy;
pub mod token;

pub use extractor::{run_as, AuthUser, Caller};
pub use token::TokenKeys;
