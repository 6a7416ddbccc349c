//! Issuer themes: the CSS an issuer uploads, parsed with `cssparser` (Servo's CSS tokenizer and
//! rule parser) and rebuilt from an allowlist. Nothing of the upload is passed through as text:
//! every rule kept is written out again from its tokens, so what the widget page links is only
//! what this module understood and allowed.
//!
//! Kept:
//! - style rules whose selectors name the widget's documented classes (`.pinframe-…`) or `:root`,
//!   with a few state pseudo-classes, joined by descendant, child or sibling combinators;
//! - declarations of the properties in [`PROPERTIES`] and of custom properties `--pinframe-…`, whose
//!   values are plain tokens (keywords, numbers, lengths, colours, strings) and the functions in
//!   [`FUNCTIONS`];
//! - `@media` with the features in [`MEDIA_FEATURES`], holding such style rules;
//! - `@font-face`, whose `src` may name only fonts this service serves for this issuer
//!   (`url("/pin/fonts/{issuerId}/NAME.woff2")`).
//!
//! Refused whole ([`Refused`], 400 `unsafe_theme`): `unicode-range` in `@font-face`. With it a
//! font is fetched only when a character of its range is on the page, so fonts of one digit each,
//! given to each digit's place, would spell the PIN in the paths the browser fetches. Fonts
//! themselves are checked in `font`: real WOFF2 that draws every digit, so that no `font-family`
//! fallback list can fetch another font for one digit either.
//!
//! Dropped, each with its line, column and reason: every other at-rule (`@import`, `@namespace`,
//! `@supports`…), `url()` anywhere else, attribute, id, element and universal selectors (an
//! attribute selector on an input can read what is typed), `:has()`, `:not()` and every other
//! functional pseudo-class, functions such as `expression()`, `attr()`, `image-set()` or `env()`,
//! and anything that does not parse.
//!
//! The work is split by job: `parse` splits the upload into rules and declarations, `sanitize`
//! decides what is kept (against the lists in `allowlist`) and why the rest is dropped,
//! `serialize` writes what is kept back out, `store` holds what storing and serving a theme
//! needs, and `font` checks uploaded fonts. None of them uses this module; `parse` uses
//! `sanitize` and `serialize`, `sanitize` uses `allowlist`, `serialize` and `store`; `font` uses
//! none of them.

mod allowlist;
mod font;
mod parse;
mod sanitize;
mod serialize;
mod store;
#[cfg(test)]
mod tests;

use cssparser::Parser;
use pinframe_core::IssuerId;

pub use allowlist::{CLASSES, FUNCTIONS, MEDIA_FEATURES, PROPERTIES};
pub use font::{check_font, FontRefusal, MAX_FONT_TABLE_BYTES};
pub use sanitize::Dropped;
pub use store::{theme_path, valid_font_name, version_of, MAX_FONT_BYTES, MAX_THEME_BYTES};

/// A checked theme: the CSS to serve, its version, and what was dropped.
#[derive(Debug)]
pub struct Theme {
    pub css: String,
    pub dropped: Vec<Dropped>,
}

impl Theme {
    /// The version in the theme's URL: the start of its SHA-256, so a new theme gets a new URL.
    pub fn version(&self) -> String {
        version_of(&self.css)
    }
}

/// A theme refused whole: what in it could make a request depend on what the page shows, each
/// with its line, column and reason.
#[derive(Debug)]
pub struct Refused {
    pub issues: Vec<Dropped>,
}

impl Refused {
    /// The error code of the refusal (docs/protocol.md, "Error codes").
    pub const CODE: &'static str = "unsafe_theme";

    /// A sentence for the issuer's developer: every piece that refuses the theme.
    pub fn message(&self) -> String {
        let issues: Vec<String> =
            self.issues.iter().map(|i| format!("line {}, column {}: {}", i.line, i.column, i.reason)).collect();
        format!("The theme is refused (docs/theming.md): {}.", issues.join("; "))
    }
}

/// Checks an uploaded theme for `issuer` and rebuilds it from what the allowlist keeps, or
/// refuses it whole.
pub fn sanitize(source: &str, issuer: &IssuerId) -> Result<Theme, Refused> {
    let mut parser = Parser::new(source);
    let mut report = sanitize::Report::default();
    let css = parse::rules(&mut parser, issuer, &mut report, true);
    if !report.refusals.is_empty() {
        return Err(Refused { issues: report.refusals });
    }
    Ok(Theme { css, dropped: report.dropped })
}
