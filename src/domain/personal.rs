//! Personal data inside stored records: the name, identifiers, date of
//! birth and address of every holder that is not an agency, wherever a
//! holder appears in a stored JSON value (an event's `to`, a correction's
//! old owner, a firearm's custodian). Erasure and the restricted tier
//! replace exactly these fields (docs/holders.md).

use serde_json::Value;

pub const ERASED: &str = "[erased]";
pub const RESTRICTED: &str = "[restricted]";
/// The seal of an event recorded before seals existed, once erased: its
/// first entry cannot be checked any more, and a later entry vouches for
/// the erased event (`event:<id>`).
pub const UNSEALED: &str = "unsealed";

const FIELDS: [&str; 5] = [
    "name",
    "reference",
    "identifiers",
    "date_of_birth",
    "address",
];
const PERSONS: [&str; 4] = ["individual", "dealer", "manufacturer", "other"];

fn is_personal_holder(map: &serde_json::Map<String, Value>) -> bool {
    let kind = map.get("kind").and_then(Value::as_str);
    kind.is_some_and(|k| PERSONS.contains(&k)) && map.contains_key("name")
}

/// Calls `f` on every personal field that holds a value, in an order fixed
/// by the keys (sorted at every level), so that a seal over them is the
/// same whichever order the JSON was written in.
pub fn visit(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
    match v {
        Value::Object(map) => {
            let personal = is_personal_holder(map);
            let mut keys: Vec<String> = map.keys().cloned().collect();
            keys.sort();
            for key in keys {
                let Some(field) = map.get_mut(&key) else {
                    continue;
                };
                if personal && FIELDS.contains(&key.as_str()) {
                    if !field.is_null() {
                        f(field);
                    }
                } else {
                    visit(field, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| visit(item, f)),
        _ => {}
    }
}

/// Whether `v` holds any personal field with a value.
pub fn has_personal(v: &Value) -> bool {
    let mut found = false;
    visit(&mut v.clone(), &mut |_| found = true);
    found
}

/// Replaces every personal field with `marker`, answering the values it
/// held in visiting order.
pub fn replace(v: &mut Value, marker: &str) -> Vec<Value> {
    let mut taken = Vec::new();
    visit(v, &mut |field| {
        taken.push(std::mem::replace(field, Value::from(marker)));
    });
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_fields_of_holders_that_are_not_agencies_are_personal() {
        let mut v = json!({
            "to": {"kind": "individual", "name": "K. Mensah", "reference": "ID-77", "country": "GH"},
            "from": {"kind": "agency", "name": "Ghana Police Service", "agency_id": "a1"},
            "changes": {"owner": {"old": {"kind": "dealer", "name": "Arms Ltd", "reference": null}}},
            "marking": {"kind": "import", "text": "GH 19"},
        });
        assert!(has_personal(&v));
        let taken = replace(&mut v, ERASED);
        assert_eq!(
            taken,
            vec![json!("Arms Ltd"), json!("K. Mensah"), json!("ID-77")]
        );
        assert_eq!(v["to"]["name"], ERASED);
        assert_eq!(v["to"]["country"], "GH");
        assert_eq!(v["from"]["name"], "Ghana Police Service");
        assert_eq!(v["changes"]["owner"]["old"]["reference"], Value::Null);
        assert_eq!(v["marking"]["text"], "GH 19");
        assert!(!has_personal(&json!({"method": "cutting"})));
    }
}
