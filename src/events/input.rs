//! Parsing an event body: the fields every event has, then the fields of
//! its type, each refused if unknown or invalid.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::firearm::{parse_label, parse_notes, parse_occurred_at, parse_year};
use crate::domain::{
    Category, CountryCode, DestructionMethod, EventType, Holder, Marking, SerialNumber,
};
use crate::error::{AppError, AppResult, Validator};
use crate::input::{parse_marking, parse_recipient, MarkingInput, Recipient, RecipientInput};

/// A descriptive field's new value, as `correction` sets it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Category(Category),
    Manufacturer(String),
    Model(Option<String>),
    Calibre(Option<String>),
    CountryOfManufacture(CountryCode),
    YearOfManufacture(Option<i32>),
    SerialNumber(SerialNumber),
    Notes(Option<String>),
}

/// What an event does, with its checked fields. `H` is whom it hands the
/// firearm to: a [`Recipient`] as parsed, a [`Holder`] once resolved.
#[derive(Debug, Clone)]
pub enum Action<H = Holder> {
    OwnershipTransfer {
        to: H,
        authorization: String,
    },
    CustodyTransfer {
        to: H,
        reason: Option<String>,
    },
    Export {
        to_country: CountryCode,
        licence_number: String,
        end_user_certificate: Option<String>,
    },
    Import {
        from_country: CountryCode,
        licence_number: String,
        marking: Option<Marking>,
    },
    MarkingAdded {
        marking: Marking,
    },
    ReportedLost {
        report_reference: Option<String>,
    },
    ReportedStolen {
        report_reference: Option<String>,
    },
    Recovered {
        to: Option<H>,
    },
    Seized {
        case_reference: String,
        to: H,
    },
    Deactivated {
        method: String,
        certificate_reference: Option<String>,
    },
    Destroyed {
        method: DestructionMethod,
        certificate_reference: Option<String>,
        witnesses: Vec<String>,
    },
    Correction {
        changes: Vec<Change>,
        reason: String,
    },
}

impl<H> Action<H> {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::OwnershipTransfer { .. } => EventType::OwnershipTransfer,
            Self::CustodyTransfer { .. } => EventType::CustodyTransfer,
            Self::Export { .. } => EventType::Export,
            Self::Import { .. } => EventType::Import,
            Self::MarkingAdded { .. } => EventType::MarkingAdded,
            Self::ReportedLost { .. } => EventType::ReportedLost,
            Self::ReportedStolen { .. } => EventType::ReportedStolen,
            Self::Recovered { .. } => EventType::Recovered,
            Self::Seized { .. } => EventType::Seized,
            Self::Deactivated { .. } => EventType::Deactivated,
            Self::Destroyed { .. } => EventType::Destroyed,
            Self::Correction { .. } => EventType::Correction,
        }
    }

    /// Whom the event hands the firearm to, if anyone.
    pub fn recipient(&self) -> Option<&H> {
        match self {
            Self::OwnershipTransfer { to, .. }
            | Self::CustodyTransfer { to, .. }
            | Self::Seized { to, .. } => Some(to),
            Self::Recovered { to } => to.as_ref(),
            _ => None,
        }
    }

    /// The same action with its recipient turned into a `G` by `f`.
    pub fn resolve<G, E>(self, f: impl FnOnce(H) -> Result<G, E>) -> Result<Action<G>, E> {
        Ok(match self {
            Self::OwnershipTransfer { to, authorization } => Action::OwnershipTransfer {
                to: f(to)?,
                authorization,
            },
            Self::CustodyTransfer { to, reason } => Action::CustodyTransfer { to: f(to)?, reason },
            Self::Recovered { to } => Action::Recovered {
                to: to.map(f).transpose()?,
            },
            Self::Seized { case_reference, to } => Action::Seized {
                case_reference,
                to: f(to)?,
            },
            Self::Export {
                to_country,
                licence_number,
                end_user_certificate,
            } => Action::Export {
                to_country,
                licence_number,
                end_user_certificate,
            },
            Self::Import {
                from_country,
                licence_number,
                marking,
            } => Action::Import {
                from_country,
                licence_number,
                marking,
            },
            Self::MarkingAdded { marking } => Action::MarkingAdded { marking },
            Self::ReportedLost { report_reference } => Action::ReportedLost { report_reference },
            Self::ReportedStolen { report_reference } => {
                Action::ReportedStolen { report_reference }
            }
            Self::Deactivated {
                method,
                certificate_reference,
            } => Action::Deactivated {
                method,
                certificate_reference,
            },
            Self::Destroyed {
                method,
                certificate_reference,
                witnesses,
            } => Action::Destroyed {
                method,
                certificate_reference,
                witnesses,
            },
            Self::Correction { changes, reason } => Action::Correction { changes, reason },
        })
    }
}

impl Action<Holder> {
    /// Holders this event names that must be registered agencies.
    pub fn agency_refs(&self) -> Vec<String> {
        self.recipient()
            .and_then(|h| h.agency_id.clone())
            .into_iter()
            .collect()
    }
}

impl Action<Recipient> {
    /// Holders this event names that must be registered agencies.
    pub fn agency_refs(&self) -> Vec<String> {
        match self.recipient() {
            Some(Recipient::Holder(h)) => h.agency_id.clone().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// A checked event.
#[derive(Debug, Clone)]
pub struct EventInput<H = Holder> {
    pub occurred_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub reference: Option<String>,
    pub notes: Option<String>,
    pub action: Action<H>,
}

impl<H> EventInput<H> {
    /// The same event with its recipient turned into a `G` by `f`.
    pub fn resolve<G, E>(self, f: impl FnOnce(H) -> Result<G, E>) -> Result<EventInput<G>, E> {
        Ok(EventInput {
            occurred_at: self.occurred_at,
            location: self.location,
            reference: self.reference,
            notes: self.notes,
            action: self.action.resolve(f)?,
        })
    }

    /// Where, under which reference, with which notes.
    pub fn context(&self) -> super::EventContext {
        super::EventContext {
            location: self.location.clone(),
            reference: self.reference.clone(),
            notes: self.notes.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnershipRaw {
    to: RecipientInput,
    authorization: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustodyRaw {
    to: RecipientInput,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRaw {
    to_country: String,
    licence_number: String,
    end_user_certificate: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRaw {
    from_country: String,
    licence_number: String,
    marking: Option<MarkingInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkingRaw {
    marking: MarkingInput,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportRaw {
    report_reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveredRaw {
    to: Option<RecipientInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeizedRaw {
    case_reference: String,
    to: RecipientInput,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeactivatedRaw {
    method: String,
    certificate_reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyedRaw {
    pub method: String,
    pub certificate_reference: Option<String>,
    #[serde(default)]
    pub witnesses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionRaw {
    changes: Map<String, Value>,
    reason: String,
}

fn fields<T: DeserializeOwned>(rest: Map<String, Value>) -> AppResult<T> {
    serde_path_to_error::deserialize(Value::Object(rest))
        .map_err(|e| AppError::Validation(vec![crate::error::FieldError::from_path(&e)]))
}

fn optional(
    v: &mut Validator,
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<String, String>,
) -> Option<String> {
    raw.and_then(|r| v.check(field, parse(r)))
}

/// Destruction witnesses: names, one line each.
pub fn parse_witnesses(v: &mut Validator, raw: &[String]) -> Vec<String> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, w)| v.check(&format!("witnesses[{i}]"), parse_label(w)))
        .collect()
}

/// Fields that are not descriptive: they change only through the event
/// that means that change, never by correction.
const NOT_DESCRIPTIVE: [&str; 12] = [
    "id",
    "status",
    "responsible_agency_id",
    "version",
    "owner",
    "custodian",
    "markings",
    "components",
    "serial_normalized",
    "created_at",
    "updated_at",
    "type",
];

fn parse_change(
    v: &mut Validator,
    name: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Option<Change> {
    let field = format!("changes.{name}");
    if NOT_DESCRIPTIVE.contains(&name) {
        v.push(
            &field,
            "is not a descriptive field: only the event that means the change may alter it",
        );
        return None;
    }
    let text = value.as_str();
    let clearable = |v: &mut Validator| -> Option<Option<String>> {
        match value {
            Value::Null => Some(None),
            Value::String(s) => v.check(&field, parse_label(s)).map(Some),
            _ => {
                v.push(&field, "must be a string or null");
                None
            }
        }
    };
    let need_text = |v: &mut Validator| -> Option<&str> {
        if text.is_none() {
            v.push(&field, "must be a string");
        }
        text
    };
    match name {
        "category" => need_text(v)
            .and_then(|t| v.check(&field, Category::parse(t)))
            .map(Change::Category),
        "manufacturer" => need_text(v)
            .and_then(|t| v.check(&field, parse_label(t)))
            .map(Change::Manufacturer),
        "model" => clearable(v).map(Change::Model),
        "calibre" => clearable(v).map(Change::Calibre),
        "notes" => match value {
            Value::Null => Some(Change::Notes(None)),
            Value::String(s) => v
                .check(&field, parse_notes(s))
                .map(|n| Change::Notes(Some(n))),
            _ => {
                v.push(&field, "must be a string or null");
                None
            }
        },
        "country_of_manufacture" => need_text(v)
            .and_then(|t| v.check(&field, CountryCode::parse(t)))
            .map(Change::CountryOfManufacture),
        "serial_number" => need_text(v)
            .and_then(|t| v.check(&field, SerialNumber::parse(t)))
            .map(Change::SerialNumber),
        "year_of_manufacture" => match value {
            Value::Null => Some(Change::YearOfManufacture(None)),
            other => match other.as_i64() {
                Some(y) => v
                    .check(&field, parse_year(y, now))
                    .map(|y| Change::YearOfManufacture(Some(y))),
                None => {
                    v.push(&field, "must be a whole number or null");
                    None
                }
            },
        },
        _ => {
            v.push(&field, "is not a field of a firearm record");
            None
        }
    }
}

fn ownership_transfer(
    map: Map<String, Value>,
    v: &mut Validator,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: OwnershipRaw = fields(map)?;
    Ok({
        let to = parse_recipient(v, "to", &raw.to);
        let authorization = v.check("authorization", parse_label(&raw.authorization));
        to.zip(authorization)
            .map(|(to, authorization)| Action::OwnershipTransfer { to, authorization })
    })
}

fn custody_transfer(
    map: Map<String, Value>,
    v: &mut Validator,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: CustodyRaw = fields(map)?;
    Ok({
        let to = parse_recipient(v, "to", &raw.to);
        let reason = optional(v, "reason", raw.reason.as_deref(), parse_label);
        to.map(|to| Action::CustodyTransfer { to, reason })
    })
}

fn export(map: Map<String, Value>, v: &mut Validator) -> AppResult<Option<Action<Recipient>>> {
    let raw: ExportRaw = fields(map)?;
    Ok({
        let to_country = v.check("to_country", CountryCode::parse(&raw.to_country));
        let licence_number = v.check("licence_number", parse_label(&raw.licence_number));
        let end_user_certificate = optional(
            v,
            "end_user_certificate",
            raw.end_user_certificate.as_deref(),
            parse_label,
        );
        to_country
            .zip(licence_number)
            .map(|(to_country, licence_number)| Action::Export {
                to_country,
                licence_number,
                end_user_certificate,
            })
    })
}

fn import(
    map: Map<String, Value>,
    v: &mut Validator,
    now: DateTime<Utc>,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: ImportRaw = fields(map)?;
    Ok({
        let from_country = v.check("from_country", CountryCode::parse(&raw.from_country));
        let licence_number = v.check("licence_number", parse_label(&raw.licence_number));
        let marking = match &raw.marking {
            Some(m) => parse_marking(v, "marking", m, now).map(Some),
            None => Some(None),
        };
        match (from_country, licence_number, marking) {
            (Some(from_country), Some(licence_number), Some(marking)) => Some(Action::Import {
                from_country,
                licence_number,
                marking,
            }),
            _ => None,
        }
    })
}

fn marking_added(
    map: Map<String, Value>,
    v: &mut Validator,
    now: DateTime<Utc>,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: MarkingRaw = fields(map)?;
    Ok({
        parse_marking(v, "marking", &raw.marking, now)
            .map(|marking| Action::MarkingAdded { marking })
    })
}

fn report(
    map: Map<String, Value>,
    v: &mut Validator,
    kind: EventType,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: ReportRaw = fields(map)?;
    Ok({
        let r = optional(
            v,
            "report_reference",
            raw.report_reference.as_deref(),
            parse_label,
        );
        Some(if kind == EventType::ReportedLost {
            Action::ReportedLost {
                report_reference: r,
            }
        } else {
            Action::ReportedStolen {
                report_reference: r,
            }
        })
    })
}

fn recovered(map: Map<String, Value>, v: &mut Validator) -> AppResult<Option<Action<Recipient>>> {
    let raw: RecoveredRaw = fields(map)?;
    Ok({
        match &raw.to {
            Some(h) => parse_recipient(v, "to", h).map(|to| Action::Recovered { to: Some(to) }),
            None => Some(Action::Recovered { to: None }),
        }
    })
}

fn seized(map: Map<String, Value>, v: &mut Validator) -> AppResult<Option<Action<Recipient>>> {
    let raw: SeizedRaw = fields(map)?;
    Ok({
        let case_reference = v.check("case_reference", parse_label(&raw.case_reference));
        let to = parse_recipient(v, "to", &raw.to);
        case_reference
            .zip(to)
            .map(|(case_reference, to)| Action::Seized { case_reference, to })
    })
}

fn deactivated(map: Map<String, Value>, v: &mut Validator) -> AppResult<Option<Action<Recipient>>> {
    let raw: DeactivatedRaw = fields(map)?;
    Ok({
        let method = v.check("method", parse_label(&raw.method));
        let certificate_reference = optional(
            v,
            "certificate_reference",
            raw.certificate_reference.as_deref(),
            parse_label,
        );
        method.map(|method| Action::Deactivated {
            method,
            certificate_reference,
        })
    })
}

fn destroyed(map: Map<String, Value>, v: &mut Validator) -> AppResult<Option<Action<Recipient>>> {
    let raw: DestroyedRaw = fields(map)?;
    Ok({
        let method = v.check("method", DestructionMethod::parse(&raw.method));
        let certificate_reference = optional(
            v,
            "certificate_reference",
            raw.certificate_reference.as_deref(),
            parse_label,
        );
        let witnesses = parse_witnesses(v, &raw.witnesses);
        method.map(|method| Action::Destroyed {
            method,
            certificate_reference,
            witnesses,
        })
    })
}

fn correction(
    map: Map<String, Value>,
    v: &mut Validator,
    now: DateTime<Utc>,
) -> AppResult<Option<Action<Recipient>>> {
    let raw: CorrectionRaw = fields(map)?;
    Ok({
        let reason = v.check("reason", parse_label(&raw.reason));
        if raw.changes.is_empty() {
            v.push("changes", "must name at least one field to correct");
        }
        let changes: Vec<Option<Change>> = raw
            .changes
            .iter()
            .map(|(name, value)| parse_change(v, name, value, now))
            .collect();
        let changes: Option<Vec<Change>> = changes.into_iter().collect();
        reason
            .zip(changes)
            .map(|(reason, changes)| Action::Correction { changes, reason })
    })
}

/// Parses an event body. Unknown types and fields, missing required fields
/// and invalid values are all 422, naming the field.
pub fn parse(body: Value, now: DateTime<Utc>) -> AppResult<EventInput<Recipient>> {
    let Value::Object(mut map) = body else {
        return Err(AppError::field("body", "must be a JSON object"));
    };
    let kind = match map.remove("type") {
        Some(Value::String(t)) => EventType::parse(&t).map_err(|m| AppError::field("type", m))?,
        Some(_) => return Err(AppError::field("type", "must be a string")),
        None => return Err(AppError::field("type", "is required")),
    };
    let mut v = Validator::new();
    let mut common = |name: &str,
                      parse: fn(&str) -> Result<String, String>,
                      v: &mut Validator|
     -> Option<String> {
        match map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => v.check(name, parse(&s)),
            Some(_) => {
                v.push(name, "must be a string");
                None
            }
        }
    };
    let occurred_raw = common("occurred_at", |s| Ok(s.to_string()), &mut v);
    let location = common("location", parse_label, &mut v);
    let reference = common("reference", parse_label, &mut v);
    let notes = common("notes", parse_notes, &mut v).filter(|n| !n.is_empty());
    let occurred_at = occurred_raw.and_then(|r| v.check("occurred_at", parse_occurred_at(&r, now)));

    let action = match kind {
        EventType::Registered => {
            return Err(AppError::field(
                "type",
                "`registered` is written by registration itself",
            ))
        }
        EventType::OwnershipTransfer => ownership_transfer(map, &mut v)?,
        EventType::CustodyTransfer => custody_transfer(map, &mut v)?,
        EventType::Export => export(map, &mut v)?,
        EventType::Import => import(map, &mut v, now)?,
        EventType::MarkingAdded => marking_added(map, &mut v, now)?,
        EventType::ReportedLost | EventType::ReportedStolen => report(map, &mut v, kind)?,
        EventType::Recovered => recovered(map, &mut v)?,
        EventType::Seized => seized(map, &mut v)?,
        EventType::Deactivated => deactivated(map, &mut v)?,
        EventType::Destroyed => destroyed(map, &mut v)?,
        EventType::Correction => correction(map, &mut v, now)?,
    };
    v.finish()?;
    let action = action.ok_or_else(|| AppError::internal("validated event incomplete"))?;
    Ok(EventInput {
        occurred_at,
        location,
        reference,
        notes,
        action,
    })
}
