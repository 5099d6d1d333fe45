//! The status machine of a firearm, as data: which event each status
//! allows and the status it leaves. `docs/lifecycle.md` shows this table,
//! and a test keeps the two identical.

use super::firearm::Status;

crate::vocabulary!(
    /// What can happen to a firearm. `registered` is only ever the first
    /// event, written by registration itself.
    EventType {
        Registered => "registered",
        OwnershipTransfer => "ownership_transfer",
        CustodyTransfer => "custody_transfer",
        Export => "export",
        Import => "import",
        MarkingAdded => "marking_added",
        ReportedLost => "reported_lost",
        ReportedStolen => "reported_stolen",
        Recovered => "recovered",
        Seized => "seized",
        Deactivated => "deactivated",
        Destroyed => "destroyed",
        Correction => "correction",
    }
);

crate::vocabulary!(DestructionMethod {
    Cutting => "cutting",
    Crushing => "crushing",
    Shredding => "shredding",
    Smelting => "smelting",
    Burning => "burning",
    Detonation => "detonation",
    Other => "other",
});

use EventType as E;
use Status as S;

/// `None` keeps the status; `Some(s)` moves the firearm to `s`.
type Row = (Status, &'static [(EventType, Option<Status>)]);

/// Rules the contract names: `destroyed` takes only `correction`; `lost` and
/// `stolen` cannot be transferred or exported until `recovered`;
/// `exported` takes only `import` or `correction`. A seized firearm can go
/// missing from the evidence store that keeps it (a stock check finds it
/// gone), so it takes `reported_lost` and `reported_stolen`.
pub const TRANSITIONS: &[Row] = &[
    (
        S::Active,
        &[
            (E::OwnershipTransfer, None),
            (E::CustodyTransfer, None),
            (E::Export, Some(S::Exported)),
            (E::MarkingAdded, None),
            (E::ReportedLost, Some(S::Lost)),
            (E::ReportedStolen, Some(S::Stolen)),
            (E::Seized, Some(S::Seized)),
            (E::Deactivated, Some(S::Deactivated)),
            (E::Destroyed, Some(S::Destroyed)),
            (E::Correction, None),
        ],
    ),
    (
        S::Lost,
        &[
            (E::ReportedStolen, Some(S::Stolen)),
            (E::Recovered, Some(S::Active)),
            (E::Seized, Some(S::Seized)),
            (E::Correction, None),
        ],
    ),
    (
        S::Stolen,
        &[
            (E::Recovered, Some(S::Active)),
            (E::Seized, Some(S::Seized)),
            (E::Correction, None),
        ],
    ),
    (
        S::Seized,
        &[
            (E::OwnershipTransfer, None),
            (E::CustodyTransfer, None),
            (E::MarkingAdded, None),
            (E::ReportedLost, Some(S::Lost)),
            (E::ReportedStolen, Some(S::Stolen)),
            (E::Recovered, Some(S::Active)),
            (E::Deactivated, Some(S::Deactivated)),
            (E::Destroyed, Some(S::Destroyed)),
            (E::Correction, None),
        ],
    ),
    (
        S::Exported,
        &[(E::Import, Some(S::Active)), (E::Correction, None)],
    ),
    (
        S::Deactivated,
        &[
            (E::OwnershipTransfer, None),
            (E::CustodyTransfer, None),
            (E::MarkingAdded, None),
            (E::Seized, Some(S::Seized)),
            (E::Destroyed, Some(S::Destroyed)),
            (E::Correction, None),
        ],
    ),
    (S::Destroyed, &[(E::Correction, None)]),
];

fn row(from: Status) -> &'static [(EventType, Option<Status>)] {
    TRANSITIONS
        .iter()
        .find(|(s, _)| *s == from)
        .map_or(&[], |(_, events)| events)
}

/// The status `event` leaves a firearm in `from`, or `None` if the table
/// does not allow it.
pub fn transition(from: Status, event: EventType) -> Option<Status> {
    row(from)
        .iter()
        .find(|(e, _)| *e == event)
        .map(|(_, to)| to.unwrap_or(from))
}

pub fn allowed_events(from: Status) -> Vec<EventType> {
    row(from).iter().map(|(e, _)| *e).collect()
}

/// The table as Markdown: status × event → resulting status or "—".
pub fn markdown_table() -> String {
    let events: Vec<EventType> = EventType::ALL
        .iter()
        .copied()
        .filter(|e| *e != E::Registered)
        .collect();
    let mut out = String::from("| status \\ event |");
    for e in &events {
        out.push_str(&format!(" `{e}` |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(events.len()));
    out.push('\n');
    for from in Status::ALL {
        out.push_str(&format!("| `{from}` |"));
        for e in &events {
            match transition(*from, *e) {
                Some(to) => out.push_str(&format!(" {to} |")),
                None => out.push_str(" — |"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_rules_hold() {
        assert_eq!(allowed_events(S::Destroyed), vec![E::Correction]);
        for blocked in [S::Lost, S::Stolen] {
            for e in [E::OwnershipTransfer, E::CustodyTransfer, E::Export] {
                assert_eq!(transition(blocked, e), None, "{blocked} allows {e}");
            }
            assert_eq!(transition(blocked, E::Recovered), Some(S::Active));
        }
        assert_eq!(allowed_events(S::Exported), vec![E::Import, E::Correction]);
        for s in Status::ALL {
            assert_eq!(transition(*s, E::Correction), Some(*s));
            assert_eq!(transition(*s, E::Registered), None);
        }
    }

    #[test]
    fn every_status_has_a_row() {
        for s in Status::ALL {
            assert!(TRANSITIONS.iter().any(|(from, _)| from == s), "{s}");
        }
    }

    #[test]
    fn the_documented_table_is_the_codes_table() {
        let docs = include_str!("../../docs/lifecycle.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/lifecycle.md is out of date; it should contain:\n{}",
            markdown_table()
        );
    }
}
