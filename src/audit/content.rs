//! What an audit entry vouches for: the canonical content of the rows a
//! change wrote. Verification recomputes these from the rows as they are
//! now, so a row changed behind the registry's back no longer matches.

use chrono::NaiveDateTime;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db::agencies::AgencyRow;
use crate::db::armouries::{ArmouryRow, CheckRow};
use crate::db::firearms::{EventRow, FirearmRow};
use crate::db::holders::{HolderRow, IdentifierRow, LicenceRow};
use crate::db::role_grants::GrantRow;
use crate::db::trace_requests::TraceRequestRow;
use crate::db::users::UserRow;
use crate::domain::personal;

/// Times as canonical text: UTC, always six fractional digits.
pub fn time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// JSON with object keys sorted at every level and no whitespace, so the
/// same content always gives the same bytes.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(v, &mut out);
    // serde_json writes UTF-8, and so does every push below.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes into one buffer: a bulk import digests every event and every
/// state it records, and building the text from a string per field spent
/// more of its time in the allocator than in anything else.
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(&k.as_str(), out);
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

fn scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing a string, number, boolean or null into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

pub fn digest(v: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(v).as_bytes()))
}

fn stored_json(text: &str) -> Value {
    // A stored JSON column that no longer parses is itself tampering; its
    // raw text then goes into the digest, which will not match.
    serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
}

/// A fresh salt for an event's details, when they hold personal data.
pub fn salt_for(details: &Value) -> Option<String> {
    personal::has_personal(details).then(|| hex::encode(rand::random::<[u8; 16]>()))
}

/// The seal of personal values: the hash of the salt and their canonical
/// JSON. Without the salt, which erasure deletes, the values cannot be
/// confirmed by guessing them.
pub fn seal(salt: &str, values: Vec<Value>) -> String {
    let text = format!("{salt}\n{}", canonical_json(&Value::Array(values)));
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// An event's details with their personal fields taken out, and the seal
/// that stands for them: made from the salt, or kept from before the
/// erasure. No seal for events recorded before seals existed, whose
/// details stay whole.
fn sealed_details(e: &EventRow) -> (Value, Option<String>) {
    let mut details = stored_json(&e.details);
    let seal = match (&e.personal_salt, &e.personal_seal) {
        (Some(salt), _) => Some(seal(salt, personal::replace(&mut details, "[sealed]"))),
        (None, Some(kept)) => {
            personal::replace(&mut details, "[sealed]");
            Some(kept.clone())
        }
        (None, None) => None,
    };
    (details, seal)
}

/// The seal of an event's personal data (see `sealed_details`).
pub fn event_seal(e: &EventRow) -> Option<String> {
    sealed_details(e).1
}

/// An event's content. When it is sealed, its personal fields are left
/// out and the seal stands for them, so the content is the same before
/// and after an erasure.
pub fn event(e: &EventRow) -> Value {
    let (details, seal) = sealed_details(e);
    let mut content = json!({
        "id": e.id,
        "firearm_id": e.firearm_id,
        "sequence": e.sequence,
        "type": e.event_type,
        "occurred_at": time(&e.occurred_at),
        "recorded_at": time(&e.recorded_at),
        "recorded_by_user_id": e.recorded_by_user_id,
        "recorded_by_username": e.recorded_by_username,
        "recorded_by_agency_id": e.recorded_by_agency_id,
        "details": details,
        "location": e.location,
        "reference": e.reference,
        "notes": e.notes,
    });
    if let Some(seal) = seal {
        content["personal_seal"] = json!(seal);
    }
    content
}

/// A firearm's state. The armoury column appears once set, so the digests
/// of firearms recorded before armouries existed still match.
pub fn firearm(r: &FirearmRow) -> Value {
    let mut state = json!({
        "id": r.id,
        "category": r.category,
        "manufacturer": r.manufacturer,
        "manufacturer_key": r.manufacturer_key,
        "model": r.model,
        "calibre": r.calibre,
        "country_of_manufacture": r.country_of_manufacture,
        "year_of_manufacture": r.year_of_manufacture,
        "serial_number": r.serial_number,
        "serial_normalized": r.serial_normalized,
        "markings": stored_json(&r.markings),
        "components": stored_json(&r.components),
        "status": r.status,
        "owner": stored_json(&r.owner),
        "custodian": r.custodian.as_deref().map(stored_json),
        "responsible_agency_id": r.responsible_agency_id,
        "notes": r.notes,
        "version": r.version,
        "created_at": time(&r.created_at),
        "updated_at": time(&r.updated_at),
    });
    if let Some(armoury) = &r.armoury_id {
        state["armoury_id"] = json!(armoury);
    }
    if let Some(at) = &r.personal_erased_at {
        state["personal_erased_at"] = json!(time(at));
    }
    state
}

pub fn agency(r: &AgencyRow) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "country": r.country,
        "kind": r.kind,
        "version": r.version,
        "created_at": time(&r.created_at),
        "updated_at": time(&r.updated_at),
    })
}

/// A webhook subscription's state as admins set it. The secrets are
/// digested: one swapped in the database is found, and the log never
/// holds it. The delivery threads' bookkeeping (failures, `failing`) is
/// left out: it changes with every attempt and vouches for nothing.
pub fn webhook(r: &crate::db::webhooks::WebhookRow) -> Value {
    use sha2::Digest;
    let digest = |s: &str| hex::encode(sha2::Sha256::digest(s.as_bytes()));
    json!({
        "id": r.id,
        "agency_id": r.agency_id,
        "url": r.url,
        "events": r.events,
        "secret_sha256": digest(&r.secret),
        "previous_secret_sha256": r.previous_secret.as_deref().map(digest),
        "previous_secret_until": r.previous_secret_until.as_ref().map(time),
        "disabled": r.status == "disabled",
        "version": r.version,
        "created_by": r.created_by,
        "created_at": time(&r.created_at),
        "updated_at": time(&r.updated_at),
    })
}

/// A user's state, password hash included (replacing it in the database is
/// taking over the account); the last login time is not state. The
/// password-change fields appear once they leave their defaults, so the
/// digests of accounts recorded before they existed still match.
pub fn user(r: &UserRow) -> Value {
    let mut state = json!({
        "id": r.id,
        "username": r.username,
        "password_hash": r.password_hash,
        "agency_id": r.agency_id,
        "roles": r.roles,
        "disabled": r.disabled,
        "version": r.version,
        "created_at": time(&r.created_at),
        "updated_at": time(&r.updated_at),
    });
    if r.must_change_password {
        state["must_change_password"] = json!(true);
    }
    if r.token_epoch != 0 {
        state["token_epoch"] = json!(r.token_epoch);
    }
    state
}

/// A trace request's state. The signed response appears once set, so the
/// digests of requests answered before answers were signed still match.
pub fn trace_request(row: &TraceRequestRow) -> Value {
    let mut state = json!({
        "id": row.id, "reference": row.reference, "from_agency_id": row.from_agency_id,
        "to_agency_id": row.to_agency_id, "status": row.status, "urgency": row.urgency,
        "firearm": stored_json(&row.firearm),
        "circumstances": stored_json(&row.circumstances),
        "respond_by": row.respond_by.as_ref().map(time),
        "response": row.response.as_deref().map(stored_json),
        "version": row.version,
    });
    if let Some(note) = &row.signed_response {
        state["signed_response"] = json!(note);
    }
    state
}

pub fn armoury(r: &ArmouryRow) -> Value {
    json!({
        "id": r.id, "agency_id": r.agency_id, "name": r.name, "kind": r.kind,
        "location": r.location, "version": r.version,
        "created_at": time(&r.created_at), "updated_at": time(&r.updated_at),
    })
}

/// A stock check's state with how many expected, sighted and seen rows it
/// has: a row of any written around the registry changes the counts, so
/// the check no longer matches its last entry. The kept report is vouched
/// for by its digest: it can hold 50,000 firearms.
pub fn stock_check(r: &CheckRow, rows: (i64, i64, i64)) -> Value {
    json!({
        "id": r.id, "armoury_id": r.armoury_id, "agency_id": r.agency_id,
        "reference": r.reference, "status": r.status, "expected": r.expected,
        "sightings": r.sightings, "opened_by": r.opened_by,
        "opened_at": time(&r.opened_at), "closed_by": r.closed_by,
        "closed_at": r.closed_at.as_ref().map(time), "missing_action": r.missing_action,
        "notes": r.notes, "seen": r.seen,
        "report_sha256": r.report.as_deref().map(|t| hex::encode(Sha256::digest(t.as_bytes()))),
        "version": r.version,
        "rows": {"expected": rows.0, "sightings": rows.1, "seen": rows.2},
    })
}

/// A holder's state with its identifiers. After an erasure the entry that
/// records it vouches for the erased state.
pub fn holder(r: &HolderRow, ids: &[IdentifierRow]) -> Value {
    let ids: Vec<Value> = ids
        .iter()
        .map(|i| json!({"position": i.position, "type": i.id_type, "country": i.country, "value": i.value, "value_key": i.value_key}))
        .collect();
    json!({
        "id": r.id, "kind": r.kind, "name": r.name, "country": r.country,
        "date_of_birth": r.date_of_birth.map(|d| d.to_string()), "address": r.address,
        "agency_id": r.agency_id, "recorded_by_agency_id": r.recorded_by_agency_id,
        "erased_at": r.erased_at.as_ref().map(time), "identifiers": ids, "version": r.version,
        "created_at": time(&r.created_at), "updated_at": time(&r.updated_at),
    })
}

pub fn licence(r: &LicenceRow) -> Value {
    json!({
        "id": r.id, "holder_id": r.holder_id, "number": r.number, "type": r.licence_type,
        "categories": stored_json(&r.categories), "valid_from": r.valid_from.to_string(),
        "valid_until": r.valid_until.to_string(), "issued_by": r.issued_by,
        "number_key": r.number_key, "status": r.status,
        "revoked_at": r.revoked_at.as_ref().map(time), "revoked_by": r.revoked_by,
        "revocation_reason": r.revocation_reason,
        "recorded_by_agency_id": r.recorded_by_agency_id, "version": r.version,
        "created_at": time(&r.created_at), "updated_at": time(&r.updated_at),
    })
}

pub fn role_grant(r: &GrantRow) -> Value {
    json!({
        "id": r.id,
        "user_id": r.user_id,
        "roles": r.roles,
        "status": r.status,
        "requested_by": r.requested_by,
        "decided_by": r.decided_by,
        "version": r.version,
        "created_at": time(&r.created_at),
        "decided_at": r.decided_at.as_ref().map(time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "é\n"}], "c": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[1,{"y":"é\n","z":0}]},"b":1}"#
        );
        let reordered: Value =
            serde_json::from_str(r#"{"a":{"d":[1,{"y":"é\n","z":0}],"c":null},"b":1}"#).unwrap();
        assert_eq!(digest(&a), digest(&reordered));
    }

    /// The row a registration of this firearm wrote before the firearm was
    /// typed, column for column as that code serialised it.
    fn stored_row() -> FirearmRow {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 123_456))
            .unwrap();
        FirearmRow {
            id: "0192f5d2-7c1e-7000-8000-000000000001".into(),
            category: "self_loading_pistol".into(),
            manufacturer: "Glock".into(),
            manufacturer_key: "GLOCK".into(),
            model: Some("17".into()),
            calibre: None,
            country_of_manufacture: "AT".into(),
            year_of_manufacture: Some(2019),
            serial_number: "ab-1234".into(),
            serial_normalized: "AB1234".into(),
            markings: r#"[{"country":"GH","kind":"import","text":"GH 19","year":2020},{"kind":"state","text":"GPS"}]"#.into(),
            components: r#"[{"kind":"slide","serial_number":"SL-9"},{"kind":"barrel","serial_number":null}]"#.into(),
            status: "active".into(),
            owner: r#"{"agency_id":"a1","country":"GH","kind":"agency","name":"Ghana Police Service","reference":null}"#.into(),
            custodian: Some(r#"{"agency_id":null,"country":null,"kind":"individual","name":"K. Mensah","reference":"ID-77"}"#.into()),
            responsible_agency_id: "a1".into(),
            notes: Some("two\nlines".into()),
            version: 3,
            created_at: at,
            updated_at: at,
            armoury_id: None,
            personal_erased_at: None,
        }
    }

    #[test]
    fn a_typed_firearm_digests_as_its_stored_row_did() {
        let row = stored_row();
        let typed = crate::domain::Firearm::try_from(row.clone()).unwrap();
        let written = FirearmRow::from(&typed);
        // The digest an entry written before the firearm was typed holds.
        let expected = "028acfce17925501b3cb07c24b942a0b5dfeb409d8f35adb124f54a38f2becb0";
        assert_eq!(digest(&firearm(&row)), expected);
        assert_eq!(digest(&firearm(&written)), expected);
        assert_eq!(crate::domain::Firearm::try_from(written).unwrap(), typed);
    }

    #[test]
    fn a_stored_firearm_that_does_not_parse_is_refused() {
        let mut row = stored_row();
        row.owner = "{}".into();
        assert!(crate::domain::Firearm::try_from(row.clone()).is_err());
        row = stored_row();
        row.status = "misplaced".into();
        assert!(crate::domain::Firearm::try_from(row).is_err());
    }
}
