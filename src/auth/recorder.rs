//! Who records a change to a firearm: a registrar, and the agency they act
//! for.

use super::policy::{self, Action};
use super::AuthUser;
use crate::error::AppResult;

/// Who records a change: the user and the agency they act for.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub user_id: String,
    pub username: String,
    pub agency_id: String,
    pub request_id: String,
    pub purpose: Option<String>,
}

impl Recorder {
    /// A registrar acting for their agency.
    pub fn registrar(user: &AuthUser) -> AppResult<Self> {
        let agency_id = policy::acting_agency(user, Action::RecordFirearms)?;
        Ok(Self {
            user_id: user.id.clone(),
            username: user.username.clone(),
            agency_id,
            request_id: user.request_id.clone(),
            purpose: user.purpose.clone(),
        })
    }

    pub fn audit_actor(&self) -> crate::audit::AuditActor {
        crate::audit::AuditActor {
            user_id: Some(self.user_id.clone()),
            username: Some(self.username.clone()),
            agency_id: Some(self.agency_id.clone()),
            request_id: self.request_id.clone(),
            purpose: self.purpose.clone(),
        }
    }
}
