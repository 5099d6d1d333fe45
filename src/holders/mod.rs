//! Holders as records of their own: persons and organisations that own or
//! keep firearms, found by name or identifier, with their licences and
//! what they hold (docs/holders.md). Events name them by `holder_id`.

pub mod input;
pub mod licences;
pub mod retention;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::audit::{self, content};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::holders::{HolderRow, IdentifierRow, LicenceRow, LinkRow};
use crate::db::{self, DbConn, StoreError};
use crate::domain::holder::{identifier_key, name_words};
use crate::domain::{CountryCode, Firearm, Holder, HolderKind};
use crate::error::{AppError, AppResult};
use input::NewHolder;
use licences::LicenceView;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentifierView {
    #[serde(rename = "type")]
    pub id_type: String,
    pub value: String,
}

/// A holder as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HolderView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub country: Option<String>,
    pub identifiers: Vec<IdentifierView>,
    pub date_of_birth: Option<String>,
    pub address: Option<String>,
    pub agency_id: Option<String>,
    /// When its personal data was erased, by the retention rules.
    pub erased_at: Option<DateTime<Utc>>,
    /// Present when the holder is read alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licences: Option<Vec<LicenceView>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl HolderView {
    pub fn new(r: HolderRow, ids: Vec<IdentifierRow>) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            name: r.name,
            country: r.country,
            identifiers: ids
                .into_iter()
                .map(|i| IdentifierView {
                    id_type: i.id_type,
                    value: i.value,
                })
                .collect(),
            date_of_birth: r.date_of_birth.map(|d| d.to_string()),
            address: r.address,
            agency_id: r.agency_id,
            erased_at: r.erased_at.map(|t| t.and_utc()),
            licences: None,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

fn identifier_rows(id: &str, new: &NewHolder) -> Vec<IdentifierRow> {
    let country = new.country.map(|c| c.to_string()).unwrap_or_default();
    new.identifiers
        .iter()
        .enumerate()
        .map(|(i, (t, value))| IdentifierRow {
            holder_id: id.to_string(),
            position: i as i32,
            id_type: t.to_string(),
            country: country.clone(),
            value: value.clone(),
            value_key: identifier_key(value),
        })
        .collect()
}

fn duplicate(existing: &str) -> AppError {
    AppError::conflict(
        "duplicate_holder",
        format!("an identifier given is already held by holder {existing}"),
    )
    .with_extra(serde_json::json!({"existing_holder_id": existing}))
}

/// Records a holder. An identifier (type, country, value) of another
/// holder is a 409 naming that holder.
pub fn create(conn: &mut DbConn, user: &AuthUser, new: NewHolder) -> AppResult<HolderView> {
    let agency = policy::acting_agency(user, Action::RecordHolders)?;
    let now = db::now();
    let row = HolderRow {
        id: db::new_id(),
        kind: new.kind.to_string(),
        name: new.name.clone(),
        country: new.country.map(|c| c.to_string()),
        date_of_birth: new.date_of_birth,
        address: new.address.clone(),
        agency_id: new.agency_id.clone(),
        recorded_by_agency_id: agency,
        erased_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let ids = identifier_rows(&row.id, &new);
    let words = name_words(&row.name);
    let written = db::write_tx(conn, |c| -> AppResult<()> {
        if let Some(agency) = &row.agency_id {
            if db::agencies::find(c, agency)?.is_none() {
                return Err(AppError::field("agency_id", "no agency has this id"));
            }
        }
        if let Some(existing) = db::holders::holding_identifier(c, &ids)? {
            return Err(duplicate(&existing));
        }
        db::holders::insert(c, &row, &ids, &words)?;
        let key = format!("holder:{}", row.id);
        let state = content::holder(&row, &ids);
        let entry =
            audit::Entry::new("holder.created", key.clone(), state.clone()).subject(key, state);
        audit::queue(c, &user.audit_actor(), vec![entry])
    });
    match written {
        // Another request took the identifier between the look and the
        // write: say whose it is now.
        Err(AppError::Conflict {
            code: "duplicate_holder",
            ..
        }) => match db::holders::holding_identifier(conn, &ids)? {
            Some(existing) => Err(duplicate(&existing)),
            None => Err(StoreError::DuplicateHolder.into()),
        },
        Err(e) => Err(e),
        Ok(()) => Ok(HolderView::new(row, ids)),
    }
}

/// Whether the holder's personal data may be shown to `user` as stored:
/// erased data shows as erased to everyone.
fn view_of(
    conn: &mut DbConn,
    user: &AuthUser,
    tiers: &retention::Tiers,
    row: HolderRow,
    ids: Vec<IdentifierRow>,
) -> AppResult<HolderView> {
    let mut view = HolderView::new(row, ids);
    if view.erased_at.is_none()
        && !policy::reads_restricted_personal_data(user)
        && tiers.holder_restricted(conn, &view.id)?
    {
        retention::restrict_holder(&mut view);
    }
    Ok(view)
}

/// A holder with its licences, or 404.
pub fn get(
    conn: &mut DbConn,
    user: &AuthUser,
    tiers: &retention::Tiers,
    id: &str,
) -> AppResult<HolderView> {
    policy::require(user, Action::ReadHolders)?;
    let row = db::holders::find(conn, id)?.ok_or(AppError::NotFound)?;
    let today = db::now().date();
    let licences = db::holders::licences_of(conn, id)?
        .into_iter()
        .map(|l| LicenceView::new(l, today))
        .collect::<AppResult<Vec<_>>>()?;
    let ids = db::holders::identifiers(conn, id)?;
    let mut view = view_of(conn, user, tiers, row, ids)?;
    view.licences = Some(licences);
    Ok(view)
}

/// What a holder search looks for.
pub enum Search {
    /// Every word must start a word of the name, in any order.
    Name(Vec<String>),
    /// An identifier's value, folded as duplicates are found.
    Identifier(String),
}

impl Search {
    pub fn parse(name: Option<&str>, identifier: Option<&str>) -> AppResult<Self> {
        let what = match (name, identifier) {
            (Some(n), None) => Some(Self::Name(name_words(n))),
            (None, Some(i)) => Some(Self::Identifier(identifier_key(i))),
            _ => None,
        };
        match what {
            Some(Self::Name(words)) if !words.is_empty() => Ok(Self::Name(words)),
            Some(Self::Identifier(key)) if !key.is_empty() => Ok(Self::Identifier(key)),
            _ => Err(AppError::field(
                "name",
                "give exactly one of `name` (a word or more of the name) or `identifier`",
            )),
        }
    }
}

/// One page of holders found, in id order. A name search walks the index
/// of its longest word and keeps the holders whose other words match too.
pub fn search(
    conn: &mut DbConn,
    user: &AuthUser,
    tiers: &retention::Tiers,
    what: &Search,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<HolderView>> {
    policy::require(user, Action::ReadHolders)?;
    let rows = matching(conn, what, after, limit)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut identifiers: HashMap<String, Vec<IdentifierRow>> = HashMap::new();
    for i in db::holders::identifiers_of(conn, &ids)? {
        identifiers.entry(i.holder_id.clone()).or_default().push(i);
    }
    rows.into_iter()
        .map(|row| {
            let ids = identifiers.remove(&row.id).unwrap_or_default();
            view_of(conn, user, tiers, row, ids)
        })
        .collect()
}

/// The holders a search finds, one page of them in id order.
fn matching(
    conn: &mut DbConn,
    what: &Search,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<HolderRow>> {
    let mut found = Vec::new();
    let mut cursor = after.map(str::to_string);
    loop {
        let batch = (limit * 4).max(64);
        let ids = match what {
            Search::Identifier(key) => {
                db::holders::with_identifier(conn, key, cursor.as_deref(), batch)?
            }
            Search::Name(words) => {
                let longest = words
                    .iter()
                    .max_by_key(|w| w.len())
                    .cloned()
                    .unwrap_or_default();
                db::holders::with_word(conn, &longest, cursor.as_deref(), batch)?
            }
        };
        let exhausted = (ids.len() as i64) < batch;
        cursor = ids.last().cloned();
        for row in db::holders::find_many(conn, &ids)? {
            if let Search::Name(words) = what {
                let have = name_words(&row.name);
                if !words
                    .iter()
                    .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
                {
                    continue;
                }
            }
            found.push(row);
            if found.len() as i64 >= limit {
                return Ok(found);
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}

/// A firearm a holder owned or kept, and how.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Holding {
    pub firearm_id: String,
    /// `owner`, `custodian`, or both.
    pub roles: Vec<&'static str>,
    /// The event after which the holder held it (its sequence).
    pub since_sequence: i64,
    pub since: DateTime<Utc>,
    pub firearm: HeldFirearm,
}

/// What a list of holdings says of each firearm; its record is
/// `GET /v1/firearms/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeldFirearm {
    pub category: String,
    pub manufacturer: String,
    pub model: Option<String>,
    pub serial_number: String,
    pub status: String,
    pub responsible_agency_id: String,
}

impl From<Firearm> for HeldFirearm {
    fn from(f: Firearm) -> Self {
        Self {
            category: f.category.to_string(),
            manufacturer: f.manufacturer,
            model: f.model,
            serial_number: f.serial.marked,
            status: f.status.to_string(),
            responsible_agency_id: f.responsible_agency_id,
        }
    }
}

/// The firearms `holder` owns or keeps now, or at `at`: one page in
/// firearm id order. Firearms destroyed by then are not held.
pub fn held(
    conn: &mut DbConn,
    user: &AuthUser,
    holder_id: &str,
    at: Option<NaiveDateTime>,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Holding>> {
    policy::require(user, Action::ReadHolders)?;
    db::holders::find(conn, holder_id)?.ok_or(AppError::NotFound)?;
    holdings(conn, holder_id, at, after, limit)
}

pub(crate) fn holdings(
    conn: &mut DbConn,
    holder_id: &str,
    at: Option<NaiveDateTime>,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Holding>> {
    let links = db::holders::held(conn, holder_id, at, after, limit)?;
    let ids: Vec<String> = links.iter().map(|l| l.firearm_id.clone()).collect();
    let mut firearms: HashMap<String, Firearm> = db::firearms::find_many(conn, &ids)?
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        let Some(firearm) = firearms.remove(&link.firearm_id) else {
            continue;
        };
        if at.is_none() && firearm.status == crate::domain::Status::Destroyed {
            continue;
        }
        out.push(Holding {
            roles: roles_of(&link, holder_id),
            since_sequence: link.sequence,
            since: link.occurred_at.and_utc(),
            firearm_id: link.firearm_id,
            firearm: firearm.into(),
        });
    }
    Ok(out)
}

fn roles_of(link: &LinkRow, holder_id: &str) -> Vec<&'static str> {
    let mut roles = Vec::new();
    if link.owner_holder_id.as_deref() == Some(holder_id) {
        roles.push("owner");
    }
    if link.custodian_holder_id.as_deref() == Some(holder_id) {
        roles.push("custodian");
    }
    roles
}

/// The holder an event names by `holder_id`, as the event records it:
/// the record's kind, name, country and first identifier, with its id.
pub fn as_recipient(conn: &mut DbConn, id: &str) -> AppResult<Holder> {
    let row = db::holders::find(conn, id)?
        .ok_or_else(|| AppError::field("to.holder_id", "no holder has this id"))?;
    if row.erased_at.is_some() {
        return Err(AppError::field(
            "to.holder_id",
            "the holder's personal data was erased; it takes no new events",
        ));
    }
    let ids = db::holders::identifiers(conn, id)?;
    Ok(Holder {
        kind: HolderKind::parse(&row.kind)
            .map_err(|e| AppError::internal(format!("holder {id}: {e}")))?,
        name: row.name,
        reference: ids.first().map(|i| i.value.clone()),
        country: row
            .country
            .as_deref()
            .and_then(|c| CountryCode::parse(c).ok()),
        agency_id: row.agency_id,
        armoury_id: None,
        holder_id: Some(row.id),
    })
}

/// The link an event leaves when it changes who, among holder records,
/// owns or keeps the firearm; none when that stays as it was.
pub fn link_after(
    was: Option<&Firearm>,
    now: &Firearm,
    sequence: i64,
    occurred_at: NaiveDateTime,
) -> Option<LinkRow> {
    let ids = |f: &Firearm| {
        (
            f.owner.holder_id.clone(),
            f.custodian.as_ref().and_then(|c| c.holder_id.clone()),
        )
    };
    let after = ids(now);
    let before = was.map(ids).unwrap_or((None, None));
    (after != before).then(|| LinkRow {
        firearm_id: now.id.clone(),
        sequence,
        occurred_at,
        owner_holder_id: after.0,
        custodian_holder_id: after.1,
    })
}

/// The licence that allows an ownership transfer of a firearm of
/// `category` to `holder` on `day`: one in force that covers it.
pub fn licence_for(
    conn: &mut DbConn,
    holder_id: &str,
    day: NaiveDate,
    category: crate::domain::Category,
) -> AppResult<Option<LicenceRow>> {
    let covering = db::holders::in_force(conn, holder_id, day)?
        .into_iter()
        .find(|l| licences::categories(l).contains(&category));
    Ok(covering)
}

/// Gives every holder in a history event's details that was taken from a
/// holder record the address of that record, `href`.
pub fn link_records(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(id) = map.get("holder_id").and_then(|i| i.as_str()) {
                let href = format!("/v1/holders/{id}");
                map.insert("href".into(), href.into());
            }
            map.values_mut().for_each(link_records);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(link_records),
        _ => {}
    }
}

/// Whether a holder kind needs a licence to take ownership.
pub fn needs_licence(kind: HolderKind) -> bool {
    matches!(kind, HolderKind::Individual | HolderKind::Dealer)
}
