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
//! Dropped, each with its line, column and reason: every other at-rule (`@import`, `@namespace`,
//! `@supports`…), `url()` anywhere else, attribute, id, element and universal selectors (an
//! attribute selector on an input can read what is typed), `:has()`, `:not()` and every other
//! functional pseudo-class, functions such as `expression()`, `attr()`, `image-set()` or `env()`,
//! and anything that does not parse.
//!
//! The work is split by job: `parse` splits the upload into rules and declarations, `sanitize`
//! decides what is kept (against the lists in `allowlist`) and why the rest is dropped,
//! `serialize` writes what is kept back out, and `store` holds what storing and serving a theme
//! needs. None of them uses this module; `parse` uses `sanitize` and `serialize`, `sanitize` uses
//! `allowlist`, `serialize` and `store`.

mod allowlist;
mod parse;
mod sanitize;
mod serialize;
mod store;
#[cfg(test)]
mod tests;

use cssparser::Parser;
use pinframe_core::IssuerId;

pub use allowlist::{CLASSES, FUNCTIONS, MEDIA_FEATURES, PROPERTIES};
pub use sanitize::Dropped;
pub use store::{is_woff2, theme_path, valid_font_name, version_of, MAX_FONT_BYTES, MAX_THEME_BYTES};

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

/// Checks an uploaded theme for `issuer` and rebuilds it from what the allowlist keeps.
pub fn sanitize(source: &str, issuer: &IssuerId) -> Theme {
    let mut parser = Parser::new(source);
    let mut dropped = Vec::new();
    let css = parse::rules(&mut parser, issuer, &mut dropped, true);
    Theme { css, dropped }
}
