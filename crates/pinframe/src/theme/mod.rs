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

use std::fmt::Write as _;

use cssparser::{
    match_ignore_ascii_case, serialize_identifier, serialize_string, AtRuleParser, BasicParseErrorKind, CowRcStr,
    DeclarationParser, ParseError, ParseErrorKind, Parser, ParserState, QualifiedRuleParser, RuleBodyItemParser,
    RuleBodyParser, SourceLocation, StyleSheetParser, ToCss, Token,
};
use pinframe_core::pinblock::hex_encode;
use pinframe_core::IssuerId;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The largest theme accepted, in bytes.
pub const MAX_THEME_BYTES: usize = 32 * 1024;

/// The largest font file accepted, in bytes.
pub const MAX_FONT_BYTES: usize = 512 * 1024;

/// The class names issuers may style: every element of the widget carries one (docs/theming.md).
pub const CLASSES: &[&str] = &[
    "pinframe",
    "pinframe-view",
    "pinframe-set",
    "pinframe-title",
    "pinframe-status",
    "pinframe-loading",
    "pinframe-spinner",
    "pinframe-reveal-area",
    "pinframe-pin",
    "pinframe-pin-hidden",
    "pinframe-pin-copyable",
    "pinframe-digit",
    "pinframe-hint",
    "pinframe-auto-hide",
    "pinframe-error",
    "pinframe-done",
    "pinframe-form",
    "pinframe-field",
    "pinframe-label",
    "pinframe-input",
    "pinframe-invalid",
    "pinframe-message",
    "pinframe-actions",
    "pinframe-submit",
    "pinframe-toggle",
    "pinframe-reveal",
    "pinframe-copy",
    "pinframe-copy-status",
];

/// Pseudo-classes that depend on the cardholder's pointer and focus, never on what was typed.
const PSEUDO_CLASSES: &[&str] =
    &["root", "hover", "focus", "focus-visible", "focus-within", "active", "disabled", "first-child", "last-child"];

const PSEUDO_ELEMENTS: &[&str] = &["placeholder", "selection"];

/// Properties a theme may set: colour, type, spacing, borders and shapes. Nothing that positions
/// or hides elements, inserts content or loads anything.
pub const PROPERTIES: &[&str] = &[
    "accent-color",
    "background",
    "background-color",
    "border",
    "border-block",
    "border-block-end",
    "border-block-start",
    "border-bottom",
    "border-color",
    "border-inline",
    "border-inline-end",
    "border-inline-start",
    "border-left",
    "border-radius",
    "border-right",
    "border-style",
    "border-top",
    "border-width",
    "box-shadow",
    "caret-color",
    "color",
    "column-gap",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant-numeric",
    "font-weight",
    "gap",
    "letter-spacing",
    "line-height",
    "margin",
    "margin-block",
    "margin-block-end",
    "margin-block-start",
    "margin-bottom",
    "margin-inline",
    "margin-inline-end",
    "margin-inline-start",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-height",
    "min-width",
    "opacity",
    "outline",
    "outline-color",
    "outline-offset",
    "outline-style",
    "outline-width",
    "padding",
    "padding-block",
    "padding-block-end",
    "padding-block-start",
    "padding-bottom",
    "padding-inline",
    "padding-inline-end",
    "padding-inline-start",
    "padding-left",
    "padding-right",
    "padding-top",
    "row-gap",
    "text-align",
    "text-decoration",
    "text-shadow",
    "text-transform",
    "word-spacing",
];

const FONT_FACE_DESCRIPTORS: &[&str] =
    &["font-family", "src", "font-weight", "font-style", "font-display", "font-stretch", "unicode-range"];

/// Functions allowed in values: arithmetic, custom properties, colours and gradients.
pub const FUNCTIONS: &[&str] = &[
    "calc",
    "min",
    "max",
    "clamp",
    "var",
    "rgb",
    "rgba",
    "hsl",
    "hsla",
    "hwb",
    "lab",
    "lch",
    "oklab",
    "oklch",
    "color-mix",
    "linear-gradient",
    "radial-gradient",
];

/// Media features a theme may test: colour scheme, motion, contrast and width.
pub const MEDIA_FEATURES: &[&str] = &[
    "prefers-color-scheme",
    "prefers-reduced-motion",
    "prefers-contrast",
    "forced-colors",
    "min-width",
    "max-width",
    "width",
    "orientation",
];

/// How deep blocks may nest inside a value or a media query.
const MAX_DEPTH: usize = 8;

/// Something of the upload that the theme does not keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// 1-based line of the upload.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    pub reason: String,
}

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

pub fn version_of(css: &str) -> String {
    hex_encode(&Sha256::digest(css.as_bytes())[..8]).to_ascii_lowercase()
}

/// A font's file name, as the upload and `@font-face` use it: `NAME.woff2`.
pub fn valid_font_name(name: &str) -> bool {
    name.strip_suffix(".woff2").is_some_and(|stem| {
        (1..=64).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `bytes` look like a WOFF2 file (its signature, `wOF2`).
pub fn is_woff2(bytes: &[u8]) -> bool {
    bytes.starts_with(b"wOF2")
}

/// Why a piece was dropped.
#[derive(Clone, Debug)]
struct Reason(String);

type Failure = ParseError<Reason>;

fn refuse(reason: impl Into<String>) -> Failure {
    ParseError::custom(Reason(reason.into()))
}

fn describe(error: &Failure) -> String {
    match &error.kind {
        ParseErrorKind::Custom(Reason(reason)) => reason.clone(),
        ParseErrorKind::Basic(BasicParseErrorKind::UnexpectedToken) => "this is not valid CSS here".to_owned(),
        ParseErrorKind::Basic(BasicParseErrorKind::EndOfInput) => "the CSS ends too early here".to_owned(),
        ParseErrorKind::Basic(_) => "this is not valid CSS".to_owned(),
    }
}

fn dropped(error: &Failure, location: SourceLocation) -> Dropped {
    Dropped { line: location.line + 1, column: location.column, reason: describe(error) }
}

/// Checks an uploaded theme for `issuer` and rebuilds it from what the allowlist keeps.
pub fn sanitize(source: &str, issuer: &IssuerId) -> Theme {
    let mut parser = Parser::new(source);
    let mut dropped = Vec::new();
    let css = rules(&mut parser, issuer, &mut dropped, true);
    Theme { css, dropped }
}

/// The rules of a style sheet or of an `@media` block, one per line.
fn rules<'i>(input: &mut Parser<'i>, issuer: &IssuerId, dropped: &mut Vec<Dropped>, top: bool) -> String {
    let mut out = String::new();
    let mut parser = RuleParser { issuer, dropped: Vec::new(), top };
    let results: Vec<_> = StyleSheetParser::new(input, &mut parser).collect();
    for result in results {
        match result {
            Ok(rule) if !rule.is_empty() => {
                out.push_str(&rule);
                out.push('\n');
            }
            Ok(_) => {}
            Err((error, _, location)) => parser.dropped.push(self::dropped(&error, location)),
        }
    }
    dropped.append(&mut parser.dropped);
    dropped.sort_by_key(|d| (d.line, d.column));
    out
}

struct RuleParser<'a> {
    issuer: &'a IssuerId,
    dropped: Vec<Dropped>,
    /// At the top of the sheet (where `@media` and `@font-face` may be), not inside `@media`.
    top: bool,
}

enum AtPrelude {
    FontFace,
    Media(String),
}

impl<'i> AtRuleParser<'i> for RuleParser<'_> {
    type Prelude = AtPrelude;
    type AtRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, name: CowRcStr<'i>, input: &mut Parser<'i>) -> Result<AtPrelude, Failure> {
        if !self.top {
            return Err(refuse(format!("@{name} is not allowed inside @media")));
        }
        match_ignore_ascii_case! { &name,
            "font-face" => {
                input.expect_exhausted()?;
                Ok(AtPrelude::FontFace)
            },
            "media" => Ok(AtPrelude::Media(media_query_list(input)?)),
            "import" => Err(refuse("@import is not allowed: a theme is one file, served by this service")),
            _ => Err(refuse(format!("@{name} is not allowed (only @media and @font-face are)"))),
        }
    }

    fn parse_block(
        &mut self,
        prelude: AtPrelude,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<String, Failure> {
        match prelude {
            AtPrelude::FontFace => {
                let body = declarations(input, Context::FontFace, self.issuer, &mut self.dropped);
                // Without a source (perhaps dropped for its URL) the rule does nothing.
                let has_src = body.split(';').any(|d| d.starts_with("src:"));
                Ok(if has_src { format!("@font-face{{{body}}}") } else { String::new() })
            }
            AtPrelude::Media(query) => {
                let inner = rules(input, self.issuer, &mut self.dropped, false);
                Ok(if inner.is_empty() { String::new() } else { format!("@media {query}{{\n{inner}}}") })
            }
        }
    }
}

impl<'i> QualifiedRuleParser<'i> for RuleParser<'_> {
    type Prelude = String;
    type QualifiedRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, input: &mut Parser<'i>) -> Result<String, Failure> {
        selector_list(input)
    }

    fn parse_block(
        &mut self,
        selectors: String,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<String, Failure> {
        let body = declarations(input, Context::Style, self.issuer, &mut self.dropped);
        Ok(if body.is_empty() { String::new() } else { format!("{selectors}{{{body}}}") })
    }
}

/// Which declarations a block holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Style,
    FontFace,
}

struct DeclarationsParser<'a> {
    context: Context,
    issuer: &'a IssuerId,
}

impl<'i> DeclarationParser<'i> for DeclarationsParser<'_> {
    type Declaration = String;
    type Error = Reason;

    fn parse_value(
        &mut self,
        name: CowRcStr<'i>,
        input: &mut Parser<'i>,
        _start: &ParserState,
    ) -> Result<String, Failure> {
        let lower = name.to_ascii_lowercase();
        let custom = lower.starts_with("--");
        let allowed = match self.context {
            Context::Style if custom => lower.starts_with("--pinframe-"),
            Context::Style => PROPERTIES.contains(&lower.as_str()),
            Context::FontFace => FONT_FACE_DESCRIPTORS.contains(&lower.as_str()),
        };
        if !allowed {
            let reason = if custom {
                format!("custom property {name} is not allowed (only --pinframe-… ones are)")
            } else {
                format!("the property {name} is not on the allowlist")
            };
            return Err(refuse(reason));
        }
        let urls =
            if self.context == Context::FontFace && lower == "src" { Urls::Fonts(self.issuer) } else { Urls::None };
        let mut out = String::new();
        if custom {
            serialize_custom_name(&name, &mut out);
        } else {
            out.push_str(&lower);
        }
        out.push(':');
        let value = value(input, urls, 0)?;
        if value.trim().is_empty() {
            return Err(refuse(format!("{name} has no value")));
        }
        out.push_str(value.trim());
        Ok(out)
    }
}

impl<'i> AtRuleParser<'i> for DeclarationsParser<'_> {
    type Prelude = ();
    type AtRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, name: CowRcStr<'i>, _input: &mut Parser<'i>) -> Result<(), Failure> {
        Err(refuse(format!("@{name} is not allowed inside a rule")))
    }
}

impl<'i> QualifiedRuleParser<'i> for DeclarationsParser<'_> {
    type Prelude = ();
    type QualifiedRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, _input: &mut Parser<'i>) -> Result<(), Failure> {
        Err(refuse("nested rules are not allowed"))
    }
}

impl<'i> RuleBodyItemParser<'i, String, Reason> for DeclarationsParser<'_> {
    fn parse_declarations(&self) -> bool {
        true
    }

    fn parse_qualified(&self) -> bool {
        false
    }
}

fn declarations<'i>(input: &mut Parser<'i>, context: Context, issuer: &IssuerId, dropped: &mut Vec<Dropped>) -> String {
    let mut parser = DeclarationsParser { context, issuer };
    let mut kept = Vec::new();
    for result in RuleBodyParser::new(input, &mut parser) {
        match result {
            Ok(declaration) => kept.push(declaration),
            Err((error, _, location)) => dropped.push(self::dropped(&error, location)),
        }
    }
    kept.join(";")
}

fn serialize_custom_name(name: &str, out: &mut String) {
    out.push_str("--");
    let _ = cssparser::serialize_name(&name[2..], out);
}

/// Where `url()` may appear in a value.
#[derive(Clone, Copy)]
enum Urls<'a> {
    None,
    /// In `@font-face { src }`: fonts this service serves for the issuer.
    Fonts(&'a IssuerId),
}

/// The only URL form a theme may use: a font this service serves for `issuer`.
fn font_url(url: &str, issuer: &IssuerId) -> bool {
    url.strip_prefix("/pin/fonts/")
        .and_then(|rest| rest.strip_prefix(issuer.as_str()))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(valid_font_name)
}

fn url_refusal(urls: Urls<'_>) -> String {
    match urls {
        Urls::None => "url() is allowed only in @font-face src".to_owned(),
        Urls::Fonts(issuer) => format!(
            "url() must name a font this service serves for the issuer: /pin/fonts/{}/NAME.woff2",
            issuer.as_str()
        ),
    }
}

/// A declaration's value, rebuilt token by token. `!important` is kept.
fn value<'i>(input: &mut Parser<'i>, urls: Urls<'_>, depth: usize) -> Result<String, Failure> {
    if depth > MAX_DEPTH {
        return Err(refuse("the value nests too deeply"));
    }
    let mut out = String::new();
    while let Ok(token) = input.next_including_whitespace().cloned() {
        match token {
            Token::WhiteSpace(_) => out.push(' '),
            Token::Ident(_)
            | Token::Number { .. }
            | Token::Percentage { .. }
            | Token::Dimension { .. }
            | Token::Hash(_)
            | Token::IDHash(_)
            | Token::Comma => {
                let _ = token.to_css(&mut out);
            }
            Token::Delim(c @ ('/' | '+' | '-' | '*')) => out.push(c),
            Token::QuotedString(text) => {
                let _ = serialize_string(&text, &mut out);
            }
            Token::Delim('!') => {
                input.expect_ident_matching("important")?;
                input.expect_exhausted()?;
                out.truncate(out.trim_end().len());
                out.push_str(" !important");
            }
            Token::UnquotedUrl(url) => match urls {
                Urls::Fonts(issuer) if font_url(&url, issuer) => {
                    out.push_str("url(");
                    let _ = serialize_string(&url, &mut out);
                    out.push(')');
                }
                _ => return Err(refuse(url_refusal(urls))),
            },
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let url: Result<String, Failure> =
                    input.parse_nested_block(|inner| Ok(inner.expect_string()?.as_ref().to_owned()));
                match (urls, url) {
                    (Urls::Fonts(issuer), Ok(url)) if font_url(&url, issuer) => {
                        out.push_str("url(");
                        let _ = serialize_string(&url, &mut out);
                        out.push(')');
                    }
                    _ => return Err(refuse(url_refusal(urls))),
                }
            }
            Token::Function(name) => {
                let lower = name.to_ascii_lowercase();
                let font_format = matches!(urls, Urls::Fonts(_)) && (lower == "format" || lower == "tech");
                if !FUNCTIONS.contains(&lower.as_str()) && !font_format {
                    return Err(refuse(format!("the function {name}() is not allowed")));
                }
                let inner = input.parse_nested_block(|inner| value(inner, urls, depth + 1))?;
                let _ = write!(out, "{lower}({})", inner.trim());
            }
            Token::ParenthesisBlock => {
                let inner = input.parse_nested_block(|inner| value(inner, urls, depth + 1))?;
                let _ = write!(out, "({})", inner.trim());
            }
            other => return Err(refuse(format!("this is not allowed in a value: {}", other.to_css_string()))),
        }
    }
    Ok(out)
}

/// An `@media` prelude: media types, `and`/`not`/`only`/`or`, and features from [`MEDIA_FEATURES`].
fn media_query_list<'i>(input: &mut Parser<'i>) -> Result<String, Failure> {
    let mut out = String::new();
    while let Ok(token) = input.next_including_whitespace().cloned() {
        match token {
            Token::WhiteSpace(_) => out.push(' '),
            Token::Comma => out.push(','),
            Token::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                if !["all", "screen", "print", "and", "not", "only", "or"].contains(&lower.as_str()) {
                    return Err(refuse(format!("the media type {word} is not allowed")));
                }
                out.push_str(&lower);
            }
            Token::ParenthesisBlock => {
                let feature = input.parse_nested_block(media_feature)?;
                let _ = write!(out, "({feature})");
            }
            other => {
                return Err(refuse(format!("this is not allowed in @media: {}", other.to_css_string())));
            }
        }
    }
    let out = out.trim().to_owned();
    if out.is_empty() {
        return Err(refuse("@media needs a query"));
    }
    Ok(out)
}

/// `(feature: value)` or a range such as `(width >= 30rem)`.
fn media_feature<'i>(input: &mut Parser<'i>) -> Result<String, Failure> {
    let mut out = String::new();
    let mut named = false;
    while let Ok(token) = input.next().cloned() {
        match token {
            Token::Ident(word) if !named => {
                let lower = word.to_ascii_lowercase();
                if !MEDIA_FEATURES.contains(&lower.as_str()) {
                    return Err(refuse(format!("the media feature {word} is not allowed")));
                }
                named = true;
                out.push_str(&lower);
            }
            Token::Ident(word) => {
                out.push(' ');
                let _ = serialize_identifier(&word, &mut out);
            }
            Token::Colon => out.push(':'),
            Token::Delim(c @ ('<' | '>' | '=')) => {
                out.push(' ');
                out.push(c);
            }
            Token::Number { .. } | Token::Dimension { .. } => {
                out.push(' ');
                let _ = token.to_css(&mut out);
            }
            other => {
                return Err(refuse(format!("this is not allowed in a media feature: {}", other.to_css_string())));
            }
        }
    }
    if !named {
        return Err(refuse("a media feature needs a name"));
    }
    Ok(out.replace(" =", "="))
}

/// A selector list in which every compound selector names a documented class or is `:root`.
fn selector_list<'i>(input: &mut Parser<'i>) -> Result<String, Failure> {
    let mut sel = Selector::default();
    while let Ok(token) = input.next_including_whitespace().cloned() {
        let step = match token {
            Token::WhiteSpace(_) => {
                sel.space = true;
                Ok(())
            }
            Token::Delim('.') => match input.next_including_whitespace() {
                Ok(Token::Ident(class)) => {
                    let class = class.clone();
                    if CLASSES.iter().any(|c| *c == class.as_ref()) {
                        sel.component().map(|()| {
                            sel.out.push('.');
                            let _ = serialize_identifier(&class, &mut sel.out);
                            sel.classes += 1;
                        })
                    } else {
                        Err(format!(".{class} is not one of the widget's documented classes"))
                    }
                }
                _ => Err("a class selector needs a name".to_owned()),
            },
            Token::Colon => pseudo(input, &mut sel),
            Token::Delim(c @ ('>' | '+' | '~')) => sel.combinator(c),
            Token::Comma => sel.end_compound().map(|()| {
                sel.out.push_str(", ");
                sel.space = false;
            }),
            Token::SquareBracketBlock => {
                Err("attribute selectors are not allowed: on an input they can read what is typed".to_owned())
            }
            Token::IDHash(_) | Token::Hash(_) => {
                Err("id selectors are not allowed; use the documented classes".to_owned())
            }
            Token::Ident(name) => {
                Err(format!("element selectors ({name}) are not allowed; use the documented classes"))
            }
            Token::Delim('*') => Err("the universal selector is not allowed; use the documented classes".to_owned()),
            other => Err(format!("this is not allowed in a selector: {}", other.to_css_string())),
        };
        step.map_err(refuse)?;
    }
    sel.end_compound().map_err(refuse)?;
    Ok(sel.out)
}

fn pseudo(input: &mut Parser<'_>, sel: &mut Selector) -> Result<(), String> {
    let element = input.try_parse(|i| i.expect_colon().map(|_| ())).is_ok();
    let (name, function) = match input.next_including_whitespace() {
        Ok(Token::Ident(name)) => (name.to_ascii_lowercase(), false),
        Ok(Token::Function(name)) => (name.to_ascii_lowercase(), true),
        _ => return Err("a pseudo-class needs a name".to_owned()),
    };
    if function {
        return Err(format!(":{name}() is not allowed: functional pseudo-classes can select on what is typed"));
    }
    let allowed = if element { PSEUDO_ELEMENTS } else { PSEUDO_CLASSES };
    if !allowed.contains(&name.as_str()) {
        let what = if element { "pseudo-element" } else { "pseudo-class" };
        return Err(format!("the {what} :{}{name} is not allowed", if element { ":" } else { "" }));
    }
    sel.component()?;
    sel.out.push_str(if element { "::" } else { ":" });
    sel.out.push_str(&name);
    if name == "root" {
        sel.root = true;
    }
    Ok(())
}

/// The selector being rebuilt, and the state of its current compound selector.
#[derive(Default)]
struct Selector {
    out: String,
    /// Classes in the current compound selector.
    classes: usize,
    /// The current compound selector is `:root`.
    root: bool,
    /// The current compound selector has something in it.
    started: bool,
    /// Whitespace since the last component: a descendant combinator if another compound follows.
    space: bool,
}

impl Selector {
    /// Before a class or pseudo-class: whitespace after a compound selector means a descendant
    /// combinator, which ends (and checks) that compound.
    fn component(&mut self) -> Result<(), String> {
        if self.space && self.started {
            self.end_compound()?;
            self.out.push(' ');
        }
        self.space = false;
        self.started = true;
        Ok(())
    }

    fn end_compound(&mut self) -> Result<(), String> {
        if !self.started {
            return Err("a selector is incomplete".to_owned());
        }
        if self.classes == 0 && !self.root {
            return Err("every part of a selector must name one of the widget's documented classes".to_owned());
        }
        (self.classes, self.root, self.started, self.space) = (0, false, false, false);
        Ok(())
    }

    fn combinator(&mut self, c: char) -> Result<(), String> {
        self.end_compound()?;
        self.out.push_str(&format!(" {c} "));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> IssuerId {
        IssuerId::parse("DEMOISSUER").unwrap()
    }

    fn clean(css: &str) -> Theme {
        sanitize(css, &issuer())
    }

    #[test]
    fn a_plain_theme_is_kept() {
        let theme = clean(
            ":root { --pinframe-accent: #6a1b9a; --pinframe-radius: 2px }\n\
             .pinframe-title { color: rgb(20, 20, 20); font-size: calc(1rem + 2px) }\n\
             .pinframe-form .pinframe-submit:hover, .pinframe > .pinframe-title { background: var(--pinframe-accent) }",
        );
        assert_eq!(theme.dropped, vec![]);
        assert_eq!(
            theme.css,
            ":root{--pinframe-accent:#6a1b9a;--pinframe-radius:2px}\n\
             .pinframe-title{color:rgb(20, 20, 20);font-size:calc(1rem + 2px)}\n\
             .pinframe-form .pinframe-submit:hover, .pinframe > .pinframe-title{background:var(--pinframe-accent)}\n"
        );
    }

    #[test]
    fn hostile_pieces_are_dropped_with_reasons() {
        let theme = clean(
            "@import url(https://evil.example/x.css);\n\
             .pinframe-input[value^=\"1\"] { background: red }\n\
             .pinframe-title { color: expression(alert(1)); color: red; background: url(https://evil.example/a.png) }\n\
             input { color: red }\n\
             .pinframe-field:has(.pinframe-input:focus) { color: red }\n\
             #x, .other { color: red }\n\
             :hover .pinframe-title, .pinframe :focus { color: red }\n\
             .pinframe-title { behavior: url(x.htc); -moz-binding: url(x.xml#y); content: \"x\" }\n\
             @font-face { font-family: X; src: url(https://evil.example/f.woff2) }\n\
             @namespace svg url(http://www.w3.org/2000/svg);\n\
             .pinframe-title { color: attr(data-x); --other: 1; --pinframe-x: image-set(\"a.png\" 1x) }",
        );
        assert_eq!(theme.css, ".pinframe-title{color:red}\n");
        let lines: Vec<u32> = theme.dropped.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 3, 4, 5, 6, 7, 8, 8, 8, 9, 10, 11, 11, 11], "{:#?}", theme.dropped);
        let reasons: Vec<&str> = theme.dropped.iter().map(|d| d.reason.as_str()).collect();
        assert!(reasons[0].starts_with("@import is not allowed"), "{reasons:?}");
        assert!(reasons[1].starts_with("attribute selectors are not allowed"), "{reasons:?}");
        assert!(reasons.contains(&"the function expression() is not allowed"), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("url() must name a font")), "{reasons:?}");
        assert!(!theme.css.contains("evil") && !theme.css.contains("url"));
    }

    #[test]
    fn fonts_served_here_are_kept() {
        let theme = clean(
            "@font-face { font-family: \"Brand Sans\"; src: url(\"/pin/fonts/DEMOISSUER/brand-sans.woff2\") format(\"woff2\"); font-display: swap }\n\
             @font-face { font-family: Other; src: url(/pin/fonts/OTHERISSUE/x.woff2) }\n\
             @font-face { font-family: Up; src: url(\"/pin/fonts/DEMOISSUER/../x.woff2\") }\n\
             .pinframe { font-family: \"Brand Sans\", system-ui }",
        );
        assert_eq!(
            theme.css,
            "@font-face{font-family:\"Brand Sans\";src:url(\"/pin/fonts/DEMOISSUER/brand-sans.woff2\") format(\"woff2\");font-display:swap}\n\
\
             .pinframe{font-family:\"Brand Sans\", system-ui}\n"
        );
        assert_eq!(theme.dropped.len(), 2, "{:#?}", theme.dropped);
    }

    #[test]
    fn media_queries_from_the_allowlist() {
        let theme = clean(
            "@media (prefers-color-scheme: dark) { :root { --pinframe-bg: #111 } }\n\
             @media screen and (max-width: 30rem) { .pinframe { padding: 8px } }\n\
             @media (min-resolution: 2dppx) { .pinframe { padding: 8px } }\n\
             @media (prefers-reduced-motion: reduce) { @import url(x.css); .pinframe-spinner { opacity: 0.5 } }",
        );
        assert_eq!(
            theme.css,
            "@media (prefers-color-scheme: dark){\n:root{--pinframe-bg:#111}\n}\n\
             @media screen and (max-width: 30rem){\n.pinframe{padding:8px}\n}\n\
             @media (prefers-reduced-motion: reduce){\n.pinframe-spinner{opacity:0.5}\n}\n"
        );
        assert_eq!(theme.dropped.len(), 2, "{:#?}", theme.dropped);
    }

    #[test]
    fn what_comes_out_goes_back_in_unchanged() {
        let inputs = [
            ":root{--pinframe-accent:#123456} .pinframe-title{color:var(--pinframe-accent)!important}",
            ".pinframe-input:focus-visible::placeholder{color:hsl(10 20% 30% / .5)}",
            "@media (width >= 30rem){.pinframe{max-width:40rem}}",
            ".pinframe-title{font-family:'a\"b', serif}",
        ];
        for input in inputs {
            let once = clean(input);
            assert_eq!(once.dropped, vec![], "{input}");
            let twice = clean(&once.css);
            assert_eq!(twice.css, once.css, "{input}");
            assert_eq!(twice.dropped, vec![]);
        }
    }

    #[test]
    fn nesting_is_bounded_and_garbage_is_dropped() {
        let deep = format!(".pinframe{{margin:{}1px{}}}", "calc(".repeat(40), ")".repeat(40));
        let theme = clean(&deep);
        assert_eq!(theme.css, "");
        assert_eq!(theme.dropped[0].reason, "the value nests too deeply");
        for garbage in ["}}}{{{", "<!-- -->", "\u{0}", ".pinframe{color:red", "@media", "..pinframe{}"] {
            let theme = clean(garbage);
            assert!(!theme.css.contains('<'), "{garbage:?} -> {:?}", theme.css);
        }
    }

    /// The CSS with the contents of its strings (always written in double quotes) left out.
    fn outside_strings(css: &str) -> String {
        let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
        for c in css.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') | (false, _, '"') => in_string = !in_string,
                (true, false, _) => {}
                (false, _, c) => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        /// Whatever is uploaded: no panic; what comes out is kept whole when checked again (so
        /// nothing in it relied on a parse quirk); and it holds no fetch, no import and no
        /// attribute selector.
        #[test]
        fn any_upload_gives_a_closed_idempotent_theme(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                ".pinframe-title", ".pinframe-input", ":root", " ", ">", ",", "{", "}", ";", ":", "(", ")", "[", "]",
                "\"", "'", "\\", "/*", "*/", "@import", "@media", "@font-face", "url(", "/pin/fonts/DEMOISSUER/a.woff2",
                "http://x", "color", "--pinframe-a", "red", "#fff", "1px", "calc(", "var(", "expression(", "!important",
                "value^=", "input", "src", "font-family", ":hover", "::placeholder", "(max-width: 1px)", "\n", "\u{0}",
                "<", "-->", "<!--", "e", "0",
            ]), 0..60),
        ) {
            let source: String = pieces.concat();
            let once = clean(&source);
            let twice = clean(&once.css);
            proptest::prop_assert_eq!(&twice.css, &once.css);
            proptest::prop_assert!(twice.dropped.is_empty(), "{:?}", twice.dropped);
            let without_fonts = once.css.replace("url(\"/pin/fonts/DEMOISSUER/a.woff2\")", "");
            let code = outside_strings(&without_fonts);
            for banned in ["url(", "@import", "[", "expression("] {
                proptest::prop_assert!(!code.contains(banned), "{banned} in {:?}", once.css);
            }
        }
    }

    #[test]
    fn the_demo_themes_are_kept_whole() {
        for css in [include_str!("../../demo/themes/harbour.css"), include_str!("../../demo/themes/midnight.css")] {
            let theme = clean(css);
            assert_eq!(theme.dropped, vec![]);
            assert!(theme.css.contains("--pinframe-accent:"));
        }
    }

    #[test]
    fn font_names() {
        assert!(valid_font_name("brand-sans_2.woff2"));
        for bad in ["x.woff", ".woff2", "../x.woff2", "a/b.woff2", "x y.woff2"] {
            assert!(!valid_font_name(bad), "{bad}");
        }
        assert!(is_woff2(b"wOF2\0\x01"));
        assert!(!is_woff2(b"wOFF"));
    }
}
