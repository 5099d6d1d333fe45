//! Who may do what to which record. Every rule of the registry's access
//! control is written here once and asked for by name; handlers and the
//! capability modules never test roles themselves. docs/architecture.md
//! ("Who may do what") carries the same rules as a table, and
//! tests/api/policy.rs walks that table over HTTP.

use super::AuthUser;
use crate::domain::{Role, Roles};
use crate::error::{AppError, AppResult};

/// What a caller asks to do, as far as roles decide it. Which record it
/// may touch is decided by the scope functions below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create agencies.
    ManageAgencies,
    /// Create, list, disable users, change their roles, reset passwords.
    ManageUsers,
    /// Approve or reject a pending grant of `auditor` or `system_admin`.
    DecideGrants,
    /// Read firearm records and list them.
    ReadFirearms,
    /// Register firearms, record events, destroy, import.
    RecordFirearms,
    /// Run trace queries.
    Trace,
    /// Send, acknowledge and answer trace requests.
    ExchangeTraceRequests,
    /// Read trace requests (the two agencies' tracers, and auditors).
    ReadTraceRequests,
    /// Read the agency's notifications.
    ReadNotifications,
    /// Read the audit log, its proofs and its export.
    ReadAudit,
    /// Create armouries for the caller's agency.
    ManageArmouries,
    /// Read armouries, what they hold, and their stock checks.
    ReadArmouries,
    /// Record holders and their licences, revoke licences.
    RecordHolders,
    /// Find and read holders, their licences and what they hold.
    ReadHolders,
    /// Read the statistics of the caller's agency (auditors: of any).
    ReadStatistics,
    /// Read the national reports (ITI, ATT, SDG 16.4.2).
    ReadReports,
    /// Subscribe the caller's agency's systems to webhooks, and manage
    /// and read their deliveries.
    ManageWebhooks,
}

impl Action {
    /// The roles any one of which allows the action.
    fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Self::ManageAgencies | Self::DecideGrants => &[SystemAdmin],
            Self::ManageUsers => &[SystemAdmin, Admin],
            Self::ReadFirearms => &[Admin, Registrar, Tracer, Auditor],
            Self::RecordFirearms => &[Registrar],
            Self::Trace => &[Tracer, Auditor],
            Self::ExchangeTraceRequests => &[Tracer],
            Self::ReadTraceRequests => &[Tracer, Auditor],
            Self::ReadNotifications => &[Admin, Tracer, Registrar],
            Self::ReadAudit => &[Auditor],
            Self::ManageArmouries => &[Admin, Registrar],
            Self::ReadArmouries => &[Admin, Registrar, Tracer, Auditor],
            Self::RecordHolders => &[Registrar],
            Self::ReadHolders => &[Registrar, Tracer, Auditor],
            Self::ReadStatistics => &[Admin, Registrar, Tracer, Auditor],
            Self::ReadReports => &[Auditor],
            Self::ManageWebhooks => &[Admin],
        }
    }

    /// Actions on firearm, trace and audit data, which a system
    /// administrator never takes whatever else it holds (separation of
    /// duties: who manages accounts reads no records).
    fn reads_records(self) -> bool {
        !matches!(
            self,
            Self::ManageAgencies | Self::ManageUsers | Self::DecideGrants
        )
    }

    /// Actions taken for the caller's agency, which need one.
    fn acts_for_agency(self) -> bool {
        matches!(
            self,
            Self::RecordFirearms
                | Self::ExchangeTraceRequests
                | Self::ReadNotifications
                | Self::ManageArmouries
                | Self::RecordHolders
                | Self::ManageWebhooks
        )
    }
}

/// Refuses with 403 unless `user` may take `action`.
pub fn require(user: &AuthUser, action: Action) -> AppResult<()> {
    let roles = action.roles();
    if !roles.iter().any(|r| user.has(*r)) {
        let names: Vec<_> = roles.iter().map(Role::as_str).collect();
        return Err(AppError::forbidden(format!(
            "this needs one of the roles: {}",
            names.join(", ")
        )));
    }
    if action.reads_records() && user.has(Role::SystemAdmin) {
        return Err(AppError::forbidden(
            "system administrators neither read nor record firearm, trace or audit data \
             (separation of duties)",
        ));
    }
    if action.acts_for_agency() && user.agency_id.is_none() {
        return Err(AppError::forbidden("you belong to no agency"));
    }
    Ok(())
}

/// The agency `user` acts for in `action`, once [`require`] allowed it.
pub fn acting_agency(user: &AuthUser, action: Action) -> AppResult<String> {
    require(user, action)?;
    user.agency_id
        .clone()
        .ok_or_else(|| AppError::forbidden("you belong to no agency"))
}

/// Whether `user` reads personal data in the restricted tier: tracers
/// and auditors, who investigate (docs/holders.md).
pub fn reads_restricted_personal_data(user: &AuthUser) -> bool {
    user.has(Role::Tracer) || user.has(Role::Auditor)
}

/// Whether `user` may see every agency's records of a kind, or only its own.
pub fn sees_every_agency(user: &AuthUser) -> bool {
    user.has(Role::Auditor) || user.has(Role::SystemAdmin)
}

// ---- armouries ----

/// Refuses with 404 unless `user` may read the records of an armoury of
/// `agency_id`: its own agency's users, and auditors.
pub fn armoury_scope(user: &AuthUser, agency_id: &str) -> AppResult<()> {
    require(user, Action::ReadArmouries)?;
    if user.has(Role::Auditor) || user.agency_id.as_deref() == Some(agency_id) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Whether a check may be closed by `closer`: never by the registrar who
/// opened it (four eyes).
pub fn close_stock_check(closer: &str, opened_by: &str) -> AppResult<()> {
    if closer == opened_by {
        return Err(AppError::forbidden_because(
            "four_eyes",
            "a stock check is closed by a registrar other than the one who opened it",
        ));
    }
    Ok(())
}

// ---- accounts ----

/// Roles that take effect only once a second system administrator approves.
pub const FOUR_EYES: [Role; 2] = [Role::Auditor, Role::SystemAdmin];

/// Whether `caller` may manage the accounts of `agency_id`: a system
/// administrator anywhere, an admin in its own agency. Anyone else does
/// not see the account (404).
pub fn may_manage_agency(caller: &AuthUser, agency_id: Option<&str>) -> bool {
    caller.has(Role::SystemAdmin)
        || (caller.has(Role::Admin)
            && agency_id.is_some()
            && caller.agency_id.as_deref() == agency_id)
}

/// What a change of roles does: the roles that hold at once, and the ones
/// that wait for a second system administrator's approval.
#[derive(Debug, PartialEq, Eq)]
pub struct RoleChange {
    pub now: Roles,
    pub pending: Option<Roles>,
}

/// Checks that `caller` may turn `target`'s roles from `old` into `new`,
/// and splits off what needs four eyes. An admin gives and takes only
/// admin, registrar and tracer, and only in its own agency (checked by
/// [`may_manage_agency`] before); nobody changes their own roles.
pub fn role_change(
    caller: &AuthUser,
    target_id: &str,
    old: &Roles,
    new: &Roles,
) -> AppResult<RoleChange> {
    if target_id == caller.id {
        return Err(AppError::forbidden_because(
            "self_grant",
            "nobody changes their own roles",
        ));
    }
    let touched = new.symmetric_difference(old);
    let privileged = touched.iter().any(|r| FOUR_EYES.contains(&r));
    if !caller.has(Role::SystemAdmin) && (privileged || old.contains(Role::SystemAdmin)) {
        return Err(AppError::forbidden(
            "an admin gives and takes only admin, registrar and tracer; \
             auditor and system_admin are granted by system administrators",
        ));
    }
    let added_privileged = new.difference(old).only(&FOUR_EYES);
    Ok(RoleChange {
        now: new
            .without(&FOUR_EYES)
            .union(&old.only(&FOUR_EYES).intersection(new)),
        pending: (!added_privileged.is_empty()).then_some(added_privileged),
    })
}

/// Checks that `approver` may decide a grant requested by `requested_by`
/// for `target_id`: a system administrator other than the requester and
/// other than the grantee.
pub fn decide_grant(approver: &AuthUser, requested_by: &str, target_id: &str) -> AppResult<()> {
    require(approver, Action::DecideGrants)?;
    if approver.id == target_id {
        return Err(AppError::forbidden_because(
            "self_grant",
            "nobody decides a grant of roles to themselves",
        ));
    }
    if approver.id == requested_by {
        return Err(AppError::forbidden_because(
            "four_eyes",
            "a grant is approved by a system administrator other than the one who asked for it",
        ));
    }
    Ok(())
}

/// Checks that `caller` may set `target`'s password. An admin may not
/// take over an account that holds a role it could not grant.
pub fn reset_password(caller: &AuthUser, target_id: &str, target_roles: &Roles) -> AppResult<()> {
    if target_id == caller.id {
        return Err(AppError::forbidden_because(
            "self_reset",
            "change your own password with POST /v1/auth/password",
        ));
    }
    let privileged = FOUR_EYES.iter().any(|r| target_roles.contains(*r));
    if privileged && !caller.has(Role::SystemAdmin) {
        return Err(AppError::forbidden(
            "only a system administrator sets the password of an auditor or system administrator",
        ));
    }
    Ok(())
}

// ---- firearms ----

/// Whether an agency may record `event` on a firearm another may be
/// responsible for: only the responsible agency, except a seizure, which
/// any agency may record (it takes the responsibility).
pub fn may_change_firearm(agency: &str, responsible: &str, is_seizure: bool) -> bool {
    is_seizure || agency == responsible
}

/// How much of a custody history `user` may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryScope {
    All,
    /// Events up to and including this sequence: the one that moved the
    /// responsibility away from the caller's agency.
    Through(i64),
}

/// Who reads a history: auditors and the responsible agency all of it; an
/// agency that was once responsible, up to the event that took the
/// responsibility away (the last such, if it was responsible more than
/// once); anyone else nothing (404). `handovers` lists, oldest first, each
/// event that moved the responsibility: (sequence, agency before it); it
/// is asked for only when needed.
pub fn history_scope(
    user: &AuthUser,
    responsible: &str,
    handovers: impl FnOnce() -> Vec<(i64, String)>,
) -> AppResult<HistoryScope> {
    require(user, Action::ReadFirearms)?;
    let agency = user.agency_id.as_deref();
    if user.has(Role::Auditor) || agency == Some(responsible) {
        return Ok(HistoryScope::All);
    }
    handovers()
        .iter()
        .rev()
        .find(|(_, before)| Some(before.as_str()) == agency)
        .map(|(seq, _)| HistoryScope::Through(*seq))
        .ok_or(AppError::NotFound)
}

// ---- trace requests ----

/// The side a caller takes in a trace request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Requester,
    Receiver,
    Auditor,
}

/// Whether `user` may see a request between two agencies, and as whom;
/// anyone else gets 404.
pub fn trace_request_party(user: &AuthUser, from: &str, to: &str) -> AppResult<Party> {
    require(user, Action::ReadTraceRequests)?;
    let agency = user.agency_id.as_deref();
    if user.has(Role::Tracer) && agency == Some(to) {
        Ok(Party::Receiver)
    } else if user.has(Role::Tracer) && agency == Some(from) {
        Ok(Party::Requester)
    } else if user.has(Role::Auditor) {
        Ok(Party::Auditor)
    } else {
        Err(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, agency: Option<&str>, roles: &[&str]) -> AuthUser {
        AuthUser {
            id: id.into(),
            username: id.into(),
            agency_id: agency.map(String::from),
            roles: Roles::parse(roles).unwrap(),
            request_id: String::new(),
            purpose: None,
        }
    }

    fn roles(r: &[&str]) -> Roles {
        Roles::parse(r).unwrap()
    }

    #[test]
    fn a_system_admin_reads_no_records_whatever_else_it_holds() {
        let root = user("r", None, &["system_admin", "auditor"]);
        assert!(require(&root, Action::ReadAudit).is_err());
        assert!(require(&root, Action::ReadFirearms).is_err());
        assert!(require(&root, Action::ManageUsers).is_ok());
    }

    #[test]
    fn nobody_changes_their_own_roles() {
        let admin = user("a", Some("g"), &["admin"]);
        let e = role_change(
            &admin,
            "a",
            &roles(&["admin"]),
            &roles(&["admin", "tracer"]),
        );
        assert_eq!(e.unwrap_err().code(), "self_grant");
    }

    #[test]
    fn privileged_roles_wait_for_a_second_system_admin() {
        let root = user("r", None, &["system_admin"]);
        let change = role_change(
            &root,
            "u",
            &roles(&["registrar"]),
            &roles(&["auditor", "tracer"]),
        )
        .unwrap();
        assert_eq!(change.now, roles(&["tracer"]));
        assert_eq!(change.pending, Some(roles(&["auditor"])));
        // Keeping a privileged role already held needs no approval.
        let kept = role_change(
            &root,
            "u",
            &roles(&["auditor"]),
            &roles(&["auditor", "tracer"]),
        )
        .unwrap();
        assert_eq!(kept.now, roles(&["auditor", "tracer"]));
        assert_eq!(kept.pending, None);
    }

    #[test]
    fn an_admin_neither_gives_nor_takes_privileged_roles() {
        let admin = user("a", Some("g"), &["admin"]);
        assert!(role_change(&admin, "u", &roles(&["tracer"]), &roles(&["auditor"])).is_err());
        assert!(role_change(&admin, "u", &roles(&["auditor"]), &roles(&["tracer"])).is_err());
        assert!(role_change(&admin, "u", &roles(&["tracer"]), &roles(&["registrar"])).is_ok());
    }

    #[test]
    fn a_former_agency_reads_up_to_the_handover() {
        let old = user("o", Some("A"), &["registrar"]);
        let handovers = || vec![(3, "A".to_string()), (5, "B".to_string())];
        assert_eq!(
            history_scope(&old, "C", handovers).unwrap(),
            HistoryScope::Through(3)
        );
        let stranger = user("s", Some("D"), &["registrar"]);
        assert_eq!(
            history_scope(&stranger, "C", handovers).unwrap_err().code(),
            "not_found"
        );
    }
}
