//! Writing what is kept back out as text. Every identifier, string and URL is escaped again here,
//! so nothing of the upload reaches the served CSS as it was typed; and each rule, block and
//! declaration is laid out the same way whatever the upload's spacing, so the output checked
//! again comes out unchanged.
//!
//! Whitespace and the single-character tokens of values and media queries (`,`, `:`, `/`, `+`…)
//! are copied by the checks in `sanitize` as they go; everything else is written by a function
//! of this module.

use std::fmt::Write as _;

use cssparser::{serialize_identifier, serialize_name, serialize_string, ToCss, Token};

/// A style sheet or the inside of an `@media` block: one rule a line. A rule of which nothing was
/// kept is left out.
pub(super) fn rule_list(rules: &[String]) -> String {
    let mut out = String::new();
    for rule in rules.iter().filter(|rule| !rule.is_empty()) {
        out.push_str(rule);
        out.push('\n');
    }
    out
}

/// A style rule, or nothing if none of its declarations was kept.
pub(super) fn style_rule(selectors: &str, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!("{selectors}{{{body}}}")
    }
}

/// An `@font-face` rule, or nothing if it has no source (perhaps dropped for its URL), since it
/// would do nothing.
pub(super) fn font_face(body: &str) -> String {
    let has_src = body.split(';').any(|d| d.starts_with("src:"));
    if has_src {
        format!("@font-face{{{body}}}")
    } else {
        String::new()
    }
}

/// An `@media` rule, or nothing if none of its rules was kept.
pub(super) fn media_rule(query: &str, inner: &str) -> String {
    if inner.is_empty() {
        String::new()
    } else {
        format!("@media {query}{{\n{inner}}}")
    }
}

/// The declarations kept in a block.
pub(super) fn declaration_block(declarations: &[String]) -> String {
    declarations.join(";")
}

/// `name:value`: a property in lower case, a custom property as it was spelt.
pub(super) fn declaration(name: &str, value: &str) -> String {
    let mut out = String::new();
    if let Some(custom) = name.strip_prefix("--") {
        out.push_str("--");
        let _ = serialize_name(custom, &mut out);
    } else {
        out.push_str(&name.to_ascii_lowercase());
    }
    out.push(':');
    out.push_str(value);
    out
}

/// A token kept as it is: an identifier, number, percentage, dimension, hash or comma.
pub(super) fn token(token: &Token<'_>, out: &mut String) {
    let _ = token.to_css(out);
}

/// A string, in double quotes.
pub(super) fn string(text: &str, out: &mut String) {
    let _ = serialize_string(text, out);
}

/// An identifier, escaped where it needs to be.
pub(super) fn identifier(name: &str, out: &mut String) {
    let _ = serialize_identifier(name, out);
}

/// `url("…")`, whichever way the upload wrote it.
pub(super) fn url(url: &str, out: &mut String) {
    out.push_str("url(");
    string(url, out);
    out.push(')');
}

/// `!important`, one space after the value.
pub(super) fn important(out: &mut String) {
    out.truncate(out.trim_end().len());
    out.push_str(" !important");
}

/// A function and its arguments: `name(inner)`.
pub(super) fn function(name: &str, inner: &str, out: &mut String) {
    let _ = write!(out, "{name}({inner})");
}

/// A parenthesised block: `(inner)`.
pub(super) fn parenthesised(inner: &str, out: &mut String) {
    let _ = write!(out, "({inner})");
}

/// A media feature as its tokens were written, one space before each but the name, with no space
/// before `=` (so `>=` and `<=` stay whole).
pub(super) fn media_feature(feature: &str) -> String {
    feature.replace(" =", "=")
}

/// A class selector: `.name`.
pub(super) fn class(name: &str, out: &mut String) {
    out.push('.');
    identifier(name, out);
}

/// A pseudo-class (`:name`) or pseudo-element (`::name`).
pub(super) fn pseudo(name: &str, element: bool, out: &mut String) {
    out.push_str(if element { "::" } else { ":" });
    out.push_str(name);
}

/// The descendant combinator: one space.
pub(super) fn descendant(out: &mut String) {
    out.push(' ');
}

/// The child or a sibling combinator, `>`, `+` or `~`, with a space either side.
pub(super) fn combinator(c: char, out: &mut String) {
    out.push_str(&format!(" {c} "));
}

/// Between the selectors of a list.
pub(super) fn next_selector(out: &mut String) {
    out.push_str(", ");
}
