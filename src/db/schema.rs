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
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        username_key -> Text,
        client_ip -> Text,
        at -> Timestamp,
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
    }
}

diesel::joinable!(users -> agencies (agency_id));
diesel::allow_tables_to_appear_in_same_query!(agencies, users, login_failures, idempotency_keys);
