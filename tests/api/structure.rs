//! The code's layering, checked: no module imports one that imports it
//! back, and nothing below the HTTP layer reaches into it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The wiring above `http`, which may use it.
const ABOVE_HTTP: [&str; 5] = ["startup", "cli", "openapi", "lib", "main"];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each top-level module and the top-level modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|c| c.trim_end_matches(".rs").to_string())
            .expect("module");
        let text = std::fs::read_to_string(&file).expect("read");
        let uses = graph.entry(top.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != top {
                uses.insert(name);
            }
        }
    }
    graph
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for next in graph.get(&m).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    let cycles: Vec<String> = graph
        .keys()
        .filter(|m| reaches(&graph, m, m))
        .cloned()
        .collect();
    assert!(cycles.is_empty(), "modules in a cycle: {cycles:?}");
}

#[test]
fn nothing_below_http_uses_it() {
    let graph = graph();
    let upward: Vec<&String> = graph
        .iter()
        .filter(|(m, uses)| {
            m.as_str() != "http" && !ABOVE_HTTP.contains(&m.as_str()) && uses.contains("http")
        })
        .map(|(m, _)| m)
        .collect();
    assert!(upward.is_empty(), "below http, yet using it: {upward:?}");
}

/// Errors by layer: storage answers `StoreError`, never the answer type
/// that only the layers building answers make.
#[test]
fn storage_makes_no_answers() {
    let graph = graph();
    let db = graph.get("db").expect("db module");
    assert!(
        !db.contains("error") && !db.contains("http"),
        "db uses {db:?}"
    );
}
