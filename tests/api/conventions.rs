//! Cross-cutting behaviour every endpoint shares.

use crate::helpers::*;
use serde_json::json;

#[test]
fn malformed_json_is_400_and_writes_nothing() {
    let app = spawn();
    let admin = app.admin_token();
    let r = app.req("POST", "/v1/agencies").token(&admin).raw(
        "application/json",
        br#"{"name": "Ghana Police", "country": "GH""#,
    );
    r.assert_problem(400, "malformed_json");
    let r = app
        .req("POST", "/v1/agencies")
        .token(&admin)
        .raw("application/json", b"");
    r.assert_problem(400, "malformed_json");
    let list = app.get("/v1/agencies", &admin);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(0));
}

#[test]
fn wrong_content_type_is_415() {
    let app = spawn();
    let admin = app.admin_token();
    let body = br#"{"name": "Ghana Police", "country": "GH", "kind": "police"}"#;
    app.req("POST", "/v1/agencies")
        .token(&admin)
        .raw("text/plain", body)
        .assert_problem(415, "unsupported_media_type");
    app.req("POST", "/v1/auth/login")
        .raw(
            "application/x-www-form-urlencoded",
            b"username=admin&password=x",
        )
        .assert_problem(415, "unsupported_media_type");
}

#[test]
fn unknown_fields_are_422_naming_the_field() {
    let app = spawn();
    let admin = app.admin_token();
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "Ghana Police", "country": "GH", "kind": "police", "contry": "AT"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "contry");
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": "Ghana Police", "kind": "police"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "country");
    let r = app.post(
        "/v1/agencies",
        &admin,
        &json!({"name": 5, "country": "GH", "kind": "police"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "name");
}

#[test]
fn bodies_over_one_mebibyte_are_413() {
    let app = spawn();
    let admin = app.admin_token();
    let big = format!(
        r#"{{"name": "{}", "country": "GH", "kind": "police"}}"#,
        "x".repeat(1024 * 1024)
    );
    app.req("POST", "/v1/agencies")
        .token(&admin)
        .raw("application/json", big.as_bytes())
        .assert_problem(413, "payload_too_large");
    // Just under the limit is read (and then refused for its values).
    let near = format!(
        r#"{{"name": "{}", "country": "GH", "kind": "police"}}"#,
        "x".repeat(1024 * 1024 - 100)
    );
    let r = app
        .req("POST", "/v1/agencies")
        .token(&admin)
        .raw("application/json", near.as_bytes());
    r.assert_problem(422, "validation_failed");
}

#[test]
fn pagination_walks_every_item_once() {
    let app = spawn();
    let admin = app.admin_token();
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.create_agency(&admin, &format!("Agency {i}"), "GH"));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/agencies?limit=3&cursor={c}"),
            None => "/v1/agencies?limit=3".to_string(),
        };
        let r = app.get(&path, &admin);
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().unwrap_or("").to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

#[test]
fn bad_page_parameters_are_400() {
    let app = spawn();
    let admin = app.admin_token();
    app.get("/v1/agencies?limit=0", &admin)
        .assert_problem(400, "invalid_parameter");
    app.get("/v1/agencies?limit=1001", &admin)
        .assert_problem(400, "invalid_parameter");
    app.get("/v1/agencies?limit=ten", &admin)
        .assert_problem(400, "invalid_parameter");
    app.get("/v1/agencies?cursor=zzz", &admin)
        .assert_problem(400, "invalid_cursor");
    app.get("/v1/agencies?colour=red", &admin)
        .assert_problem(400, "invalid_parameter");
    let r = app.get("/v1/agencies?limit=1000", &admin);
    assert_eq!(r.status, 200);
}

#[test]
fn invalid_ids_are_404() {
    let app = spawn();
    let admin = app.admin_token();
    app.get("/v1/agencies/not-a-uuid", &admin)
        .assert_problem(404, "not_found");
    let unknown = uuid::Uuid::now_v7().to_string();
    app.get(&format!("/v1/agencies/{unknown}"), &admin)
        .assert_problem(404, "not_found");
}

/// The compose file a newcomer starts from: no default secret, no
/// published database, the registry over HTTPS.
#[test]
fn the_compose_file_has_no_default_secret_and_serves_https() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml");
    for secret in [
        "POSTGRES_PASSWORD",
        "REGISTRY_ADMIN_PASSWORD",
        "REGISTRY_JWT_SECRET",
    ] {
        assert!(
            !text.contains(&format!("{secret}:-")),
            "{secret} has a default"
        );
        assert!(
            text.contains(&format!("{secret}:?")),
            "{secret} is not required"
        );
    }
    let db = text
        .split("\n  registry:")
        .next()
        .expect("the db service comes first");
    assert!(!db.contains("ports:"), "the database publishes a port");
    assert!(text.contains("REGISTRY_TLS_CERT") && text.contains("REGISTRY_TLS_KEY"));
}
