//! Who is calling and what they may do: passwords, tokens, login
//! throttling, the caller's account as the database holds it now, who
//! records a change, and every access rule (policy.rs).

pub mod caller;
pub mod login;
pub mod password;
pub mod policy;
pub mod recorder;
pub mod token;

pub use caller::{read_as, run_as, AuthUser, Caller};
pub use recorder::Recorder;
pub use token::TokenKeys;
