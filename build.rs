// The migrations and the web console's files are embedded at compile time;
// a new migration folder or console file must rebuild the binary even when
// no Rust file changed.
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=console");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    collect(&root.join("console"), &mut files);
    files.sort();
    let mut out = String::from("/// Every file under `console/`, by its path there.\n");
    out.push_str("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let name = file
            .strip_prefix(root.join("console"))
            .expect("under console/");
        println!("cargo:rerun-if-changed={}", file.display());
        out.push_str(&format!(
            "    ({:?}, include_bytes!({:?})),\n",
            name.to_string_lossy().replace('\\', "/"),
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(dest.join("console_assets.rs"), out).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
