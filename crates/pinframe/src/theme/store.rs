//! What storing and serving a theme needs: the size limits, the version in its URL, and the names
//! of font files.

use pinframe_core::pinblock::hex_encode;
use sha2::{Digest, Sha256};

/// The largest theme accepted, in bytes.
pub const MAX_THEME_BYTES: usize = 32 * 1024;

/// The largest font file accepted, in bytes.
pub const MAX_FONT_BYTES: usize = 512 * 1024;

/// The version in a theme's URL: the start of the SHA-256 of its CSS, so a new theme gets a new URL.
pub fn version_of(css: &str) -> String {
    hex_encode(&Sha256::digest(css.as_bytes())[..8]).to_ascii_lowercase()
}

/// A font's file name, as the upload and `@font-face` use it: `NAME.woff2`.
pub fn valid_font_name(name: &str) -> bool {
    name.strip_suffix(".woff2").is_some_and(|stem| {
        (1..=64).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The path of a theme's CSS: versioned, so it is cached for good and a new theme gets a new URL.
pub fn theme_path(issuer: &pinframe_core::IssuerId, version: &str) -> String {
    format!("/pin/themes/{}/{version}.css", issuer.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_names() {
        assert!(valid_font_name("brand-sans_2.woff2"));
        for bad in ["x.woff", ".woff2", "../x.woff2", "a/b.woff2", "x y.woff2"] {
            assert!(!valid_font_name(bad), "{bad}");
        }
    }
}
