//! Armouries and their stock checks: the words they use.

crate::vocabulary!(
    /// What kind of store an armoury is.
    ArmouryKind {
        Armoury => "armoury",
        Depot => "depot",
        EvidenceStore => "evidence_store",
        Other => "other",
    }
);

crate::vocabulary!(CheckStatus {
    Open => "open",
    Closed => "closed",
});

crate::vocabulary!(
    /// What one sighted item turned out to be: `found` (expected here,
    /// first sighting), `unexpected` (a registered firearm not expected
    /// here), `unknown` (no registered firearm matches), `ambiguous`
    /// (several match), `duplicate` (already sighted in this check).
    SightingResult {
        Found => "found",
        Unexpected => "unexpected",
        Unknown => "unknown",
        Ambiguous => "ambiguous",
        Duplicate => "duplicate",
    }
);

crate::vocabulary!(
    /// What closing a check does with firearms expected and not sighted:
    /// a `reported_lost` event for each in the closing transaction, or
    /// nothing recorded while the agency looks into them.
    MissingAction {
        ReportLost => "report_lost",
        Investigate => "investigate",
    }
);
