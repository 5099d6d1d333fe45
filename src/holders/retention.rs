//! Personal data by the clock (EU 2021/555 Art. 4(4)): for
//! `open_years` after a firearm's destruction its holders' personal data
//! reads as before; until `restricted_years` only tracers and auditors
//! read it; then it is erased. Erasure keeps the audit log verifiable: a
//! sealed event keeps its seal, and every erased row is vouched for anew
//! (docs/audit.md, "Erasure").

use chrono::{Months, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Value};

use super::HolderView;
use crate::audit::{self, content, AuditActor};
use crate::db::{self, DbConn};
use crate::domain::{personal, Firearm, Holder, HolderKind};
use crate::error::AppResult;

/// The retention periods, and the moment they are measured at.
#[derive(Debug, Clone, Copy)]
pub struct Tiers {
    pub open_years: u32,
    pub restricted_years: u32,
    pub now: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Open,
    Restricted,
    Erased,
}

impl Tiers {
    /// The periods the settings give, measured now.
    pub fn of(settings: &crate::config::Settings) -> Self {
        Self {
            open_years: settings.retention_open_years,
            restricted_years: settings.retention_restricted_years,
            now: db::now(),
        }
    }

    fn cutoff(&self, years: u32) -> NaiveDateTime {
        self.now
            .checked_sub_months(Months::new(years.saturating_mul(12)))
            .unwrap_or(NaiveDateTime::MIN)
    }

    /// The tier of a firearm's personal data.
    pub fn of_firearm(&self, conn: &mut DbConn, firearm: &Firearm) -> AppResult<Tier> {
        if firearm.personal_erased_at.is_some() {
            return Ok(Tier::Erased);
        }
        if firearm.status != crate::domain::Status::Destroyed {
            return Ok(Tier::Open);
        }
        let Some(destroyed) = db::firearms::destroyed_at(conn, &firearm.id)? else {
            return Ok(Tier::Open);
        };
        Ok(if destroyed < self.cutoff(self.open_years) {
            Tier::Restricted
        } else {
            Tier::Open
        })
    }

    /// Whether a holder record's data is restricted: every firearm it was
    /// ever linked to is destroyed, the last of them over `open_years` ago.
    pub fn holder_restricted(&self, conn: &mut DbConn, holder_id: &str) -> AppResult<bool> {
        let firearms = db::holders::firearms_ever(conn, holder_id)?;
        if firearms.is_empty() {
            return Ok(false);
        }
        for f in db::firearms::find_many(conn, &firearms)? {
            if self.of_firearm(conn, &f)? == Tier::Open {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Hides a holder's personal data from a reader of the open tier.
pub fn restrict_holder(view: &mut HolderView) {
    view.name = personal::RESTRICTED.into();
    view.date_of_birth = None;
    if view.address.is_some() {
        view.address = Some(personal::RESTRICTED.into());
    }
    for id in &mut view.identifiers {
        id.value = personal::RESTRICTED.into();
    }
}

/// Replaces a holder's personal fields with `marker`; agencies have none.
fn mask_holder(h: &mut Holder, marker: &str) {
    if h.kind != HolderKind::Agency {
        h.name = marker.into();
        if h.reference.is_some() {
            h.reference = Some(marker.into());
        }
    }
}

/// What one retention run did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub firearms: usize,
    pub events: usize,
    pub holders: usize,
}

/// Erases what is due: the personal data of firearms destroyed more than
/// `restricted_years` ago, their events', and of holder records left with
/// nothing but erased firearms. Each firearm is one transaction.
pub fn run(conn: &mut DbConn, tiers: &Tiers, actor: &AuditActor) -> AppResult<RunSummary> {
    let cutoff = tiers.cutoff(tiers.restricted_years);
    let mut summary = RunSummary::default();
    loop {
        let due = db::firearms::due_for_erasure(conn, cutoff, 200)?;
        if due.is_empty() {
            return Ok(summary);
        }
        for id in due {
            let (events, holders) = db::write_tx(conn, |c| erase_firearm(c, tiers, actor, &id))?;
            summary.firearms += 1;
            summary.events += events;
            summary.holders += holders;
        }
    }
}

fn erase_firearm(
    c: &mut DbConn,
    tiers: &Tiers,
    actor: &AuditActor,
    id: &str,
) -> AppResult<(usize, usize)> {
    let mut firearm = db::firearms::take_for_change(c, id, None)?;
    let mut entries = Vec::new();
    let mut erased_events = 0;
    for mut event in db::firearms::events_of(c, id)? {
        let mut details: Value = serde_json::from_str(&event.details).unwrap_or(Value::Null);
        if event.personal_seal.is_some() || !personal::has_personal(&details) {
            continue;
        }
        let seal = content::event_seal(&event);
        personal::replace(&mut details, personal::ERASED);
        event.details = details.to_string();
        event.personal_salt = None;
        event.personal_seal = Some(seal.unwrap_or_else(|| personal::UNSEALED.into()));
        db::firearms::erase_event(c, &event)?;
        erased_events += 1;
        if event.personal_seal.as_deref() == Some(personal::UNSEALED) {
            let key = format!("event:{}", event.id);
            let state = content::event(&event);
            entries.push(
                audit::Entry::new("personal_data.erased", key.clone(), state.clone())
                    .subject(key, state),
            );
        }
    }
    mask_holder(&mut firearm.owner, personal::ERASED);
    if let Some(c) = firearm.custodian.as_mut() {
        mask_holder(c, personal::ERASED);
    }
    firearm.personal_erased_at = Some(tiers.now);
    db::firearms::update_state(c, &firearm)?;
    let key = format!("firearm:{id}");
    let state = content::firearm(&crate::db::firearms::FirearmRow::from(&firearm));
    entries.push(
        audit::Entry::new(
            "personal_data.erased",
            key.clone(),
            json!({"firearm_id": id, "events": erased_events}),
        )
        .detail(json!({"events_erased": erased_events}))
        .subject(key, state),
    );
    let mut holders = 0;
    for holder_id in db::holders::linked_holders(c, id)? {
        if let Some(entry) = erase_holder_if_due(c, tiers, &holder_id)? {
            entries.push(entry);
            holders += 1;
        }
    }
    audit::queue(c, actor, entries)?;
    Ok((erased_events, holders))
}

/// Erases a holder record whose every firearm is erased and which has no
/// licence in force; answers the entry that records it.
fn erase_holder_if_due(
    c: &mut DbConn,
    tiers: &Tiers,
    holder_id: &str,
) -> AppResult<Option<audit::Entry>> {
    let Some(mut row) = db::holders::find(c, holder_id)? else {
        return Ok(None);
    };
    if row.erased_at.is_some() || !db::holders::in_force(c, holder_id, tiers.now.date())?.is_empty()
    {
        return Ok(None);
    }
    let firearms = db::holders::firearms_ever(c, holder_id)?;
    for f in db::firearms::find_many(c, &firearms)? {
        if f.personal_erased_at.is_none() {
            return Ok(None);
        }
    }
    let mut ids = db::holders::identifiers(c, holder_id)?;
    row.name = personal::ERASED.into();
    row.date_of_birth = None;
    row.address = row.address.map(|_| personal::ERASED.into());
    row.erased_at = Some(tiers.now);
    row.version += 1;
    row.updated_at = tiers.now;
    for id in &mut ids {
        id.value = personal::ERASED.into();
        id.value_key = format!("erased:{}:{}", id.holder_id, id.position);
    }
    db::holders::erase(c, &row, &ids)?;
    let key = format!("holder:{holder_id}");
    let state = content::holder(&row, &ids);
    Ok(Some(
        audit::Entry::new("holder.erased", key.clone(), state.clone()).subject(key, state),
    ))
}

/// Whether `user` reads this firearm's personal data restricted.
pub fn restricts(
    conn: &mut DbConn,
    user: &crate::auth::AuthUser,
    tiers: &Tiers,
    firearm: &Firearm,
) -> AppResult<bool> {
    Ok(!crate::auth::policy::reads_restricted_personal_data(user)
        && tiers.of_firearm(conn, firearm)? == Tier::Restricted)
}

/// The restricted tier for a firearm as read: hides the personal data of
/// its holders and of its events' details from a reader who may not see
/// it (anyone but tracers and auditors), once the tier has begun.
pub fn restrict_firearm(
    conn: &mut DbConn,
    user: &crate::auth::AuthUser,
    tiers: &Tiers,
    firearm: &mut Firearm,
    events: &mut [crate::db::firearms::EventRow],
) -> AppResult<()> {
    if !restricts(conn, user, tiers, firearm)? {
        return Ok(());
    }
    mask_holder(&mut firearm.owner, personal::RESTRICTED);
    if let Some(c) = firearm.custodian.as_mut() {
        mask_holder(c, personal::RESTRICTED);
    }
    for e in events {
        let mut details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
        personal::replace(&mut details, personal::RESTRICTED);
        e.details = details.to_string();
    }
    Ok(())
}
