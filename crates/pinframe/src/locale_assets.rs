//! The widget's message catalogues other than English, each an asset of its own under
//! `/pin/assets/`: the widget compiles English in and fetches the catalogue of the page's language
//! only when it is another one, so a first load carries one catalogue at most. Each is named
//! `locale-<tag>-<hash>.ftl` (the hash: the first 8 bytes of its SHA-256, in hex), the name the
//! widget's `build.rs` gives it too, so it is cached for good like the other assets. The text is
//! the service's own copy (`error_page::CATALOGUES`, built from the same `locales/`).

use pinframe_core::pinblock::hex_encode;
use sha2::{Digest, Sha256};

use crate::http::error_page::CATALOGUES;

/// The catalogue every page has compiled in, served as no asset.
const COMPILED_IN: &str = "en";

/// The asset name of catalogue `tag` with text `text`.
fn file_name(tag: &str, text: &str) -> String {
    let digest = hex_encode(&Sha256::digest(text.as_bytes())[..8]).to_ascii_lowercase();
    format!("locale-{tag}-{digest}.ftl")
}

/// Every catalogue the widget fetches: (asset name, text).
pub fn catalogues() -> impl Iterator<Item = (String, &'static str)> {
    CATALOGUES.iter().filter(|(tag, _)| *tag != COMPILED_IN).map(|(tag, text)| (file_name(tag, text), *text))
}

/// The asset name of the catalogue the widget will fetch for a page whose query asks for `lang`
/// (`fi`, `sv-FI`), if it fetches one; the page preloads it, beside the wasm.
pub fn preload_name(lang: &str) -> Option<String> {
    let primary = lang.split(['-', '_']).next()?;
    let (tag, text) = CATALOGUES.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(primary) && *tag != COMPILED_IN)?;
    Some(file_name(tag, text))
}

/// The `lang` of a page's query string (`lang=fi&theme=dark`), as the widget reads it.
pub fn query_lang(query: &str) -> Option<&str> {
    let tag = query.split('&').find_map(|pair| pair.strip_prefix("lang="))?;
    ((2..=35).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_other_catalogue_is_an_asset_named_by_its_hash() {
        let names: Vec<String> = catalogues().map(|(name, _)| name).collect();
        assert_eq!(names.len(), CATALOGUES.len() - 1);
        assert!(names.iter().all(|name| name.starts_with("locale-") && name.ends_with(".ftl") && name.len() == 30));
        assert!(!names.iter().any(|name| name.starts_with("locale-en-")));
        let fi = preload_name("fi").unwrap();
        assert_eq!(preload_name("FI-fi"), Some(fi.clone()));
        assert!(names.contains(&fi));
        assert_eq!(preload_name("en"), None);
        assert_eq!(preload_name("pt-BR"), None);
        assert_eq!(query_lang("theme=dark&lang=sv-FI"), Some("sv-FI"));
        assert_eq!(query_lang("lang=%22%3E"), None);
        assert_eq!(query_lang("theme=dark"), None);
    }
}
