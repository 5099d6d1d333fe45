//! The log as C2SP tlog-tiles, read by a client that knows only the spec
//! (`crate::rfc`): the root of the checkpoint and any inclusion proof are
//! rebuilt from tiles alone.

use crate::helpers::*;
use crate::rfc::*;

/// A registry whose log holds more than 256 entries, so that it has a
/// full level-0 tile and a level-1 one; and its auditor's token.
fn grown(configure: impl FnOnce(&mut registry::config::Settings)) -> (Registry, String) {
    let reg = registry_with(configure);
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    reg.import_pistols("TILE", 300);
    (reg, auditor)
}

fn public_key(reg: &Registry, auditor: &str) -> [u8; 32] {
    let key = reg.app.get("/v1/audit/key", auditor).body;
    unhex(key["public_key"].as_str().expect("public key"))
}

#[test]
fn a_spec_client_rebuilds_the_root_and_every_proof_from_tiles() {
    let (reg, auditor) = grown(|_| {});
    let cp = reg.app.get("/tlog/checkpoint", &auditor);
    assert_eq!(cp.status, 200, "{}", cp.text);
    assert_eq!(cp.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(cp
        .header("cache-control")
        .unwrap_or("")
        .contains("no-cache"));
    let text = open_note(&cp.text, "registry.test/audit", &public_key(&reg, &auditor))
        .expect("the checkpoint is signed by the registry's key");
    let (origin, size, root) = parse_checkpoint(&text);
    assert_eq!(origin, "registry.test/audit");
    assert!(size > 256, "{size}");
    let fetch = |path: &str| {
        let r = reg.app.get(&format!("/tlog/{path}"), &auditor);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        r.bytes
    };
    let tiles = TileClient { size, fetch };
    assert_eq!(tiles.range(0, size), root, "the tiles hash to the root");
    for seq in [0, 1, 7, 255, 256, size / 2, size - 1] {
        let path = tiles.inclusion(seq);
        let leaf_hash = tiles.subtree(0, seq);
        assert!(verify_inclusion(seq, size, leaf_hash, &path, root), "{seq}");
        let served = reg.app.get(
            &format!("/v1/audit/proof/inclusion?seq={seq}&size={size}"),
            &auditor,
        );
        let served: Vec<Hash> = served.body["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|h| unhex(h.as_str().expect("hex")))
            .collect();
        assert_eq!(served, path, "{seq}");
    }
    // Entry bundles hold the entries whose leaves the level-0 tiles list.
    let width = size % 256;
    for (path, first, count) in [
        ("tile/entries/000".to_string(), 0, 256),
        (
            format!("tile/entries/{}.p/{width}", tile_index(size / 256)),
            size / 256 * 256,
            width,
        ),
    ] {
        let bundle = reg.app.get(&format!("/tlog/{path}"), &auditor);
        assert_eq!(bundle.status, 200, "{}", bundle.text);
        let mut entries = Vec::new();
        let mut rest = &bundle.bytes[..];
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            entries.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
        }
        assert_eq!(entries.len() as u64, count);
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(leaf(entry), tiles.subtree(0, first + i as u64));
        }
    }
    // Full and partial tiles are immutable; without REGISTRY_TLOG_PUBLIC
    // they are the auditor's, not a shared cache's.
    let full = reg.app.get("/tlog/tile/0/000", &auditor);
    let cache = full.header("cache-control").unwrap_or("").to_string();
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    assert!(cache.contains("private"), "{cache}");
    assert_eq!(full.bytes.len(), 8192);
}

#[test]
fn tiles_are_refused_beyond_the_tree_and_to_readers_who_may_not_see_them() {
    let reg = registry();
    let (_, auditor) = reg
        .app
        .create_user(&reg.admin, "auditor", &reg.agency, &["auditor"]);
    wait_integrated(&reg.app.database_url);
    reg.app
        .req("GET", "/tlog/checkpoint")
        .send()
        .assert_problem(401, "missing_token");
    reg.app
        .get("/tlog/tile/0/000.p/1", &reg.registrar)
        .assert_problem(403, "forbidden");
    let size = parse_checkpoint(&split_note(&reg.app.get("/tlog/checkpoint", &auditor).text).0).1;
    assert!(size < 256);
    for path in [
        "tile/0/000".to_string(),
        format!("tile/0/000.p/{}", size + 1),
        "tile/1/000.p/1".into(),
        "tile/0/001.p/1".into(),
        "tile/entries/000".into(),
        "tile/0/0".into(),
        "tile/0/x000/000.p/1".into(),
        "tile/64/000.p/1".into(),
        "tile/0/000.p/0".into(),
        "tile/nonsense".into(),
    ] {
        reg.app
            .get(&format!("/tlog/{path}"), &auditor)
            .assert_problem(404, "not_found");
    }
    let partial = reg.app.get(&format!("/tlog/tile/0/000.p/{size}"), &auditor);
    assert_eq!(partial.status, 200);
    assert_eq!(partial.bytes.len() as u64, size * 32);
    // An entry longer than a bundle's u16 length prefix can say (written
    // here behind the registry's back) is named, not cut short.
    sql(
        &reg.app.database_url,
        "UPDATE audit_entries SET purpose = '                                                  ' WHERE seq = 1",
    );
    for _ in 0..11 {
        sql(
            &reg.app.database_url,
            "UPDATE audit_entries SET purpose = purpose || purpose WHERE seq = 1",
        );
    }
    let r = reg
        .app
        .get(&format!("/tlog/tile/entries/000.p/{size}"), &auditor);
    r.assert_problem(409, "entry_too_large");
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("entry 1 "),
        "{}",
        r.text
    );
}

#[test]
fn a_public_log_serves_hashes_to_anyone_and_entries_to_auditors_only() {
    let (reg, auditor) = grown(|s| s.tlog_public = true);
    let cp = reg.app.req("GET", "/tlog/checkpoint").send();
    assert_eq!(cp.status, 200, "{}", cp.text);
    let tile = reg.app.req("GET", "/tlog/tile/0/000").send();
    assert_eq!(tile.status, 200);
    assert!(tile
        .header("cache-control")
        .unwrap_or("")
        .contains("public"));
    reg.app
        .req("GET", "/tlog/tile/entries/000")
        .send()
        .assert_problem(401, "missing_token");
    reg.app
        .get("/tlog/tile/entries/000", &reg.registrar)
        .assert_problem(403, "forbidden");
    // An auditor's read of entries is on the record.
    assert_eq!(reg.app.get("/tlog/tile/entries/000", &auditor).status, 200);
    wait_for_entries(&reg.app.database_url, "audit.read", 1);
    let recorded = sql_count(
        &reg.app.database_url,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE detail LIKE '%tile/entries/000%'",
    );
    assert_eq!(recorded, 1);
}
