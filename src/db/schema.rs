//! Table definitions shared by both backends. Only types that diesel's
//! `MultiConnection` supports on PostgreSQL and SQLite alike appear here.

diesel::table! {
    agencies (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        country -> Text,
        kind -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        username_key -> Text,
        password_hash -> Text,
        agency_id -> Nullable<Text>,
        roles -> Text,
        disabled -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        must_change_password -> Bool,
        token_epoch -> BigInt,
    }
}

diesel::table! {
    role_grants (id) {
        id -> Text,
        user_id -> Text,
        roles -> Text,
        status -> Text,
        requested_by -> Text,
        decided_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        username_key -> Text,
        client_ip -> Text,
        at -> Timestamp,
        succeeded -> Bool,
    }
}

diesel::table! {
    idempotency_keys (scope, idem_key) {
        scope -> Text,
        idem_key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        state -> Text,
        status_code -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        holder -> Nullable<Text>,
    }
}

diesel::table! {
    firearms (id) {
        id -> Text,
        category -> Text,
        manufacturer -> Text,
        manufacturer_key -> Text,
        model -> Nullable<Text>,
        calibre -> Nullable<Text>,
        country_of_manufacture -> Text,
        year_of_manufacture -> Nullable<Integer>,
        serial_number -> Text,
        serial_normalized -> Text,
        markings -> Text,
        components -> Text,
        status -> Text,
        owner -> Text,
        custodian -> Nullable<Text>,
        responsible_agency_id -> Text,
        notes -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        armoury_id -> Nullable<Text>,
        personal_erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    firearm_identifiers (firearm_id, position) {
        firearm_id -> Text,
        position -> Integer,
        source -> Text,
        kind -> Text,
        text -> Text,
        normalized -> Text,
        canonical -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        agency_id -> Text,
        firearm_id -> Nullable<Text>,
        kind -> Text,
        traced_by_user_id -> Text,
        traced_by_username -> Text,
        traced_by_agency_id -> Nullable<Text>,
        query -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_witnesses (name) {
        name -> Text,
        size -> BigInt,
        last_error -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_cosignatures (size, witness) {
        size -> BigInt,
        witness -> Text,
        line -> Text,
        cosigned_at -> Timestamp,
    }
}

diesel::table! {
    trace_requests (id) {
        id -> Text,
        reference -> Text,
        from_agency_id -> Text,
        to_agency_id -> Text,
        created_by_user_id -> Text,
        firearm -> Text,
        circumstances -> Text,
        urgency -> Text,
        respond_by -> Nullable<Timestamp>,
        status -> Text,
        candidates -> Text,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        response -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
        responded_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        outcome -> Nullable<Text>,
        signed_response -> Nullable<Text>,
    }
}

diesel::table! {
    firearm_events (id) {
        id -> Text,
        firearm_id -> Text,
        sequence -> BigInt,
        event_type -> Text,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
        recorded_by_user_id -> Text,
        recorded_by_username -> Text,
        recorded_by_agency_id -> Nullable<Text>,
        details -> Text,
        location -> Nullable<Text>,
        reference -> Nullable<Text>,
        notes -> Nullable<Text>,
        personal_salt -> Nullable<Text>,
        personal_seal -> Nullable<Text>,
    }
}

diesel::table! {
    destructions (id) {
        id -> Text,
        method -> Text,
        occurred_at -> Timestamp,
        location -> Nullable<Text>,
        certificate_reference -> Nullable<Text>,
        witnesses -> Text,
        firearm_count -> BigInt,
        recorded_at -> Timestamp,
        recorded_by_user_id -> Text,
        recorded_by_agency_id -> Text,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> Text,
        seq -> Nullable<BigInt>,
        at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_username -> Nullable<Text>,
        actor_agency_id -> Nullable<Text>,
        action -> Text,
        target -> Text,
        request_id -> Text,
        event_id -> Nullable<Text>,
        subject -> Nullable<Text>,
        canonical -> Text,
        leaf_hash -> Text,
        content_digest -> Text,
        state_digest -> Nullable<Text>,
        purpose -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    audit_nodes (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_heads (size) {
        size -> BigInt,
        root_hash -> Text,
        at -> Timestamp,
        signature -> Text,
    }
}

diesel::table! {
    audit_state (id) {
        id -> Integer,
        size -> BigInt,
    }
}

diesel::table! {
    armouries (id) {
        id -> Text,
        agency_id -> Text,
        name -> Text,
        name_key -> Text,
        kind -> Text,
        location -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stock_checks (id) {
        id -> Text,
        armoury_id -> Text,
        agency_id -> Text,
        reference -> Text,
        status -> Text,
        expected -> BigInt,
        sightings -> BigInt,
        seen -> BigInt,
        opened_by -> Text,
        opened_by_username -> Text,
        opened_at -> Timestamp,
        closed_by -> Nullable<Text>,
        closed_by_username -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        missing_action -> Nullable<Text>,
        notes -> Nullable<Text>,
        report -> Nullable<Text>,
        version -> BigInt,
    }
}

diesel::table! {
    stock_check_expected (check_id, firearm_id) {
        check_id -> Text,
        firearm_id -> Text,
    }
}

diesel::table! {
    stock_check_seen (check_id, firearm_id) {
        check_id -> Text,
        firearm_id -> Text,
    }
}

diesel::table! {
    stock_check_sightings (id) {
        id -> Text,
        check_id -> Text,
        position -> BigInt,
        item -> Text,
        result -> Text,
        firearm_id -> Nullable<Text>,
        candidates -> Nullable<Text>,
        sighted_by -> Text,
        sighted_at -> Timestamp,
    }
}

diesel::joinable!(users -> agencies (agency_id));
diesel::table! {
    holders (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        country -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        address -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        recorded_by_agency_id -> Text,
        erased_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    holder_identifiers (holder_id, position) {
        holder_id -> Text,
        position -> Integer,
        id_type -> Text,
        country -> Text,
        value -> Text,
        value_key -> Text,
    }
}

diesel::table! {
    holder_name_words (word, holder_id) {
        word -> Text,
        holder_id -> Text,
    }
}

diesel::table! {
    licences (id) {
        id -> Text,
        holder_id -> Text,
        number -> Text,
        licence_type -> Text,
        categories -> Text,
        valid_from -> Date,
        valid_until -> Date,
        issued_by -> Text,
        number_key -> Text,
        status -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        revocation_reason -> Nullable<Text>,
        recorded_by_agency_id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    holder_links (firearm_id, sequence) {
        firearm_id -> Text,
        sequence -> BigInt,
        occurred_at -> Timestamp,
        owner_holder_id -> Nullable<Text>,
        custodian_holder_id -> Nullable<Text>,
    }
}

diesel::joinable!(holder_identifiers -> holders (holder_id));
diesel::joinable!(holder_name_words -> holders (holder_id));
diesel::joinable!(licences -> holders (holder_id));
diesel::joinable!(holder_links -> firearms (firearm_id));
diesel::joinable!(stock_check_expected -> firearms (firearm_id));
diesel::joinable!(stock_check_sightings -> firearms (firearm_id));
diesel::joinable!(firearm_identifiers -> firearms (firearm_id));
diesel::joinable!(firearm_events -> firearms (firearm_id));
diesel::table! {
    event_counts (day, agency_id, event_type, category, partner, detail, slot) {
        day -> Integer,
        agency_id -> Text,
        event_type -> Text,
        category -> Text,
        partner -> Text,
        detail -> Text,
        slot -> SmallInt,
        n -> BigInt,
    }
}

diesel::table! {
    event_counts_monthly (month, agency_id, event_type, category, partner, detail, slot) {
        month -> Integer,
        agency_id -> Text,
        event_type -> Text,
        category -> Text,
        partner -> Text,
        detail -> Text,
        slot -> SmallInt,
        n -> BigInt,
    }
}

diesel::table! {
    firearm_counts (agency_id, status, category, slot) {
        agency_id -> Text,
        status -> Text,
        category -> Text,
        slot -> SmallInt,
        n -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        agency_id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        status -> Text,
        failures -> Integer,
        blocked_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_messages (id) {
        id -> Text,
        webhook_id -> Text,
        event_type -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        message_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::joinable!(webhook_messages -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    webhooks,
    webhook_messages,
    webhook_attempts,
    holders,
    holder_identifiers,
    holder_name_words,
    licences,
    holder_links,
    agencies,
    users,
    login_failures,
    idempotency_keys,
    firearms,
    firearm_identifiers,
    firearm_events,
    destructions,
    audit_entries,
    audit_nodes,
    audit_heads,
    audit_state,
    notifications,
    trace_requests,
    armouries,
    stock_checks,
    stock_check_expected,
    stock_check_seen,
    stock_check_sightings,
    event_counts,
    event_counts_monthly,
    firearm_counts,
);
