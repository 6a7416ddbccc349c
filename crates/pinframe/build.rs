//! Rebuild when a migration is added: `sqlx::migrate!` embeds the directory at compile time, and
//! cargo does not see new files in it on its own (sqlx's `migrate build-script` advice).
//!
//! The widget's message catalogues (`locales/*.ftl`) are embedded too, every one there is, for the
//! service's own pages (`src/http/error_page.rs`): a catalogue added later is picked up by the next
//! build without a code change.

use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let locales = Path::new(&manifest).join("../../locales");
    println!("cargo:rerun-if-changed={}", locales.display());
    let mut catalogues: Vec<(String, String)> = fs::read_dir(&locales)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
                .filter_map(|path| {
                    let tag = path.file_stem()?.to_str()?.to_owned();
                    let path = path.canonicalize().ok()?.to_str()?.to_owned();
                    tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-').then_some((tag, path))
                })
                .collect()
        })
        .unwrap_or_default();
    catalogues.sort();
    let mut code = String::from("/// Every catalogue in `locales/`: (language tag, Fluent text).\n");
    code.push_str("pub const CATALOGUES: &[(&str, &str)] = &[\n");
    for (tag, path) in &catalogues {
        code.push_str(&format!("    ({tag:?}, include_str!({path:?})),\n"));
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogues.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
