//! The asset path of every message catalogue but English (`locales/*.ftl`), which the widget fetches
//! when its page is in that language (`src/i18n.rs`). The service serves each under the same name
//! (`crates/pinframe/src/locale_assets.rs`): `locale-<tag>-<hash>.ftl`, the hash the first 8 bytes
//! of the catalogue's SHA-256 in hex, so that a changed catalogue gets a new name and the old one
//! stays cacheable for good.

use std::path::Path;
use std::{env, fs};

use sha2::{Digest, Sha256};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let locales = Path::new(&manifest).join("locales");
    println!("cargo:rerun-if-changed={}", locales.display());
    let mut code = String::from("/// Where each catalogue is fetched from: (language tag, asset path).\n");
    code.push_str("const LOCALE_PATHS: &[(&str, &str)] = &[\n");
    let mut tags: Vec<String> = fs::read_dir(&locales)
        .expect("locales/ is readable")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".ftl").map(str::to_owned))
        .collect();
    tags.sort();
    for tag in tags {
        let text = fs::read(locales.join(format!("{tag}.ftl"))).expect("a catalogue is readable");
        let digest: String = Sha256::digest(&text)[..8].iter().map(|b| format!("{b:02x}")).collect();
        code.push_str(&format!("    ({tag:?}, \"/pin/assets/locale-{tag}-{digest}.ftl\"),\n"));
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("locale_paths.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
