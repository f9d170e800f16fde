//! The site's content types, decided at build time: for each extension
//! of a file in `htdocs/`, the type `mime_guess`'s table gives it, written
//! to `$OUT_DIR/content_types.rs` as a sorted `(extension, type)` table.
//! The image carries the types of the files it serves and no others.

use std::collections::BTreeMap;
use std::path::Path;
use std::{env, fs};

/// Every file extension below `dir`, lowercased.
fn extensions(dir: &Path, found: &mut BTreeMap<String, ()>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            extensions(&path, found);
        } else if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            found.insert(ext.to_ascii_lowercase(), ());
        }
    }
}

fn main() {
    let htdocs = Path::new("htdocs");
    println!("cargo::rerun-if-changed=htdocs");
    let mut found = BTreeMap::new();
    extensions(htdocs, &mut found);
    let mut table = String::from("&[\n");
    for ext in found.keys() {
        let Some(kind) = mime_guess::from_ext(ext).first_raw() else {
            continue;
        };
        // Text is served as UTF-8, as the site's files are written.
        let charset = match kind.starts_with("text/") {
            true => "; charset=utf-8",
            false => "",
        };
        table.push_str(&format!("    ({ext:?}, \"{kind}{charset}\"),\n"));
    }
    table.push(']');
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("content_types.rs");
    fs::write(&out, table).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
