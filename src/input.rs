//! What requests give for holders and markings, and its parsing into
//! checked domain values: shared by registration (`firearms`) and events
//! (`events`), which both take holders and markings.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::firearm::{parse_label, parse_year};
use crate::domain::{CountryCode, Holder, HolderKind, Marking, MarkingKind};
use crate::error::Validator;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkingInput {
    /// manufacture, import, state or other.
    pub kind: String,
    pub text: String,
    pub country: Option<String>,
    pub year: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderInput {
    /// agency, dealer, manufacturer, individual or other.
    pub kind: String,
    pub name: String,
    /// A licence or registration number.
    pub reference: Option<String>,
    pub country: Option<String>,
    /// Required when kind is agency, and must name a registered agency.
    pub agency_id: Option<String>,
}

pub fn optional<T>(
    v: &mut Validator,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    raw.and_then(|r| v.check(field, parse(r)))
}

pub fn parse_uuid(raw: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| "must be a UUID".to_string())
}

pub fn parse_holder(v: &mut Validator, field: &str, h: &HolderInput) -> Option<Holder> {
    let kind = v.check(&format!("{field}.kind"), HolderKind::parse(&h.kind));
    let name = v.check(&format!("{field}.name"), parse_label(&h.name));
    let reference = optional(
        v,
        &format!("{field}.reference"),
        h.reference.as_deref(),
        parse_label,
    );
    let country = optional(
        v,
        &format!("{field}.country"),
        h.country.as_deref(),
        CountryCode::parse,
    );
    let agency_field = format!("{field}.agency_id");
    let agency_id = optional(v, &agency_field, h.agency_id.as_deref(), parse_uuid);
    match (kind, &agency_id) {
        (Some(HolderKind::Agency), None) if h.agency_id.is_none() => {
            v.push(&agency_field, "is required when kind is agency");
        }
        (Some(k), Some(_)) if k != HolderKind::Agency => {
            v.push(&agency_field, "is only for holders of kind agency");
        }
        _ => {}
    }
    Some(Holder {
        kind: kind?,
        name: name?,
        reference,
        country,
        agency_id,
        armoury_id: None,
        holder_id: None,
    })
}

/// Whom an event hands a firearm to: a holder given in full, or one of
/// the agencies' armouries by id.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// agency, dealer, manufacturer, individual or other; not with `armoury_id`.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub country: Option<String>,
    pub agency_id: Option<String>,
    /// An armoury of the agency responsible for the firearm after the
    /// event; alone, without the other fields.
    pub armoury_id: Option<String>,
    /// A holder record (`/v1/holders`); alone, without the other fields.
    pub holder_id: Option<String>,
}

/// A recipient as parsed: the armoury is found, and checked against the
/// firearm, only in the transaction that records the event.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Holder(Holder),
    Armoury(String),
    /// A holder record by id, found and checked in the event's transaction.
    Record(String),
}

pub fn parse_recipient(v: &mut Validator, field: &str, r: &RecipientInput) -> Option<Recipient> {
    let by_id = [
        (
            "armoury_id",
            &r.armoury_id,
            Recipient::Armoury as fn(String) -> Recipient,
        ),
        ("holder_id", &r.holder_id, Recipient::Record),
    ];
    for (name, id, recipient) in by_id {
        let Some(raw) = id else { continue };
        let others = [&r.kind, &r.name, &r.reference, &r.country, &r.agency_id];
        if others.iter().any(|f| f.is_some()) || (r.armoury_id.is_some() && r.holder_id.is_some()) {
            v.push(
                field,
                "names an armoury (`armoury_id` alone), a holder record (`holder_id` alone) or a holder in full",
            );
            return None;
        }
        return v
            .check(&format!("{field}.{name}"), parse_uuid(raw))
            .map(recipient);
    }
    let (Some(kind), Some(name)) = (&r.kind, &r.name) else {
        v.push(
            field,
            "needs `kind` and `name`, or `armoury_id`, or `holder_id`",
        );
        return None;
    };
    let holder = HolderInput {
        kind: kind.clone(),
        name: name.clone(),
        reference: r.reference.clone(),
        country: r.country.clone(),
        agency_id: r.agency_id.clone(),
    };
    parse_holder(v, field, &holder).map(Recipient::Holder)
}

pub fn parse_marking(
    v: &mut Validator,
    field: &str,
    m: &MarkingInput,
    now: DateTime<Utc>,
) -> Option<Marking> {
    let kind = v.check(&format!("{field}.kind"), MarkingKind::parse(&m.kind));
    let text = v.check(&format!("{field}.text"), parse_label(&m.text));
    let country = optional(
        v,
        &format!("{field}.country"),
        m.country.as_deref(),
        CountryCode::parse,
    );
    let year = m
        .year
        .and_then(|y| v.check(&format!("{field}.year"), parse_year(y, now)));
    Some(Marking {
        kind: kind?,
        text: text?,
        country,
        year,
    })
}
