//! The allow and deny decisions: which at-rules, properties, values, URLs, media queries and
//! selectors a theme keeps, and for everything else the reason it was dropped.
//!
//! The checks on values, media queries and selectors walk their tokens, refuse the first one that
//! is not allowed, and rebuild the rest through `serialize`.

use cssparser::{
    match_ignore_ascii_case, BasicParseErrorKind, ParseError, ParseErrorKind, Parser, SourceLocation, ToCss, Token,
};
use pinframe_core::IssuerId;

use super::allowlist::{
    CLASSES, FONT_FACE_DESCRIPTORS, FUNCTIONS, MAX_DEPTH, MEDIA_FEATURES, MEDIA_WORDS, PROPERTIES, PSEUDO_CLASSES,
    PSEUDO_ELEMENTS,
};
use super::serialize;
use super::store::valid_font_name;

/// Something of the upload that the theme does not keep: where (1-based line and column) and why.
pub use pinframe_protocol::issuer::ThemeIssue as Dropped;

/// Why a piece was dropped, or why it refuses the whole theme.
#[derive(Clone, Debug)]
pub(super) struct Reason {
    text: String,
    /// The piece could make a request depend on what the page shows: the theme is refused whole,
    /// since keeping the rest would hide that the issuer's design relies on it.
    refuses_theme: bool,
}

pub(super) type Failure = ParseError<Reason>;

/// A piece that is dropped for `reason`; the rest of the theme is kept.
pub(super) fn refuse(reason: impl Into<String>) -> Failure {
    ParseError::custom(Reason { text: reason.into(), refuses_theme: false })
}

/// A piece that refuses the whole theme for `reason`.
pub(super) fn refuse_theme(reason: impl Into<String>) -> Failure {
    ParseError::custom(Reason { text: reason.into(), refuses_theme: true })
}

fn describe(error: &Failure) -> String {
    match &error.kind {
        ParseErrorKind::Custom(reason) => reason.text.clone(),
        ParseErrorKind::Basic(BasicParseErrorKind::UnexpectedToken) => "this is not valid CSS here".to_owned(),
        ParseErrorKind::Basic(BasicParseErrorKind::EndOfInput) => "the CSS ends too early here".to_owned(),
        ParseErrorKind::Basic(_) => "this is not valid CSS".to_owned(),
    }
}

/// What the check reports: the pieces it dropped, and those that refuse the whole theme, each in
/// the order of the upload.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub(super) dropped: Vec<Dropped>,
    pub(super) refusals: Vec<Dropped>,
}

impl Report {
    /// Reports the piece that starts at `location` and failed with `error`.
    pub(super) fn add(&mut self, error: &Failure, location: SourceLocation) {
        let issue = Dropped { line: location.line + 1, column: location.column, reason: describe(error) };
        match &error.kind {
            ParseErrorKind::Custom(Reason { refuses_theme: true, .. }) => self.refusals.push(issue),
            _ => self.dropped.push(issue),
        }
    }

    /// Adds what a nested check reported, keeping the order of the upload.
    pub(super) fn append(&mut self, mut other: Report) {
        self.dropped.append(&mut other.dropped);
        self.refusals.append(&mut other.refusals);
        self.dropped.sort_by_key(|d| (d.line, d.column));
        self.refusals.sort_by_key(|d| (d.line, d.column));
    }
}

/// The at-rules a theme may hold.
pub(super) enum AtRule {
    FontFace,
    Media,
}

/// Whether `@name` may be kept: `@font-face` and `@media`, at the top of the sheet only.
pub(super) fn at_rule(name: &str, top: bool) -> Result<AtRule, Failure> {
    if !top {
        return Err(refuse(format!("@{name} is not allowed inside @media")));
    }
    match_ignore_ascii_case! { name,
        "font-face" => Ok(AtRule::FontFace),
        "media" => Ok(AtRule::Media),
        "import" => Err(refuse("@import is not allowed: a theme is one file, served by this service")),
        _ => Err(refuse(format!("@{name} is not allowed (only @media and @font-face are)"))),
    }
}

/// Which declarations a block holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Style,
    FontFace,
}

/// Whether a block of `context` may hold the declaration `name`, and if so which URLs its value
/// may use.
pub(super) fn declaration<'a>(name: &str, context: Context, issuer: &'a IssuerId) -> Result<Urls<'a>, Failure> {
    let lower = name.to_ascii_lowercase();
    if context == Context::FontFace && lower == "unicode-range" {
        return Err(refuse_theme(
            "unicode-range is not allowed in @font-face: the browser would fetch a font only when a character \
             of its range is on the page, so which fonts are fetched would tell which characters (digits of the \
             PIN) are shown",
        ));
    }
    let custom = lower.starts_with("--");
    let allowed = match context {
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
    Ok(if context == Context::FontFace && lower == "src" { Urls::Fonts(issuer) } else { Urls::None })
}

/// The value of the declaration `name`, rebuilt and trimmed; it must not be empty.
pub(super) fn declaration_value<'i>(name: &str, input: &mut Parser<'i>, urls: Urls<'_>) -> Result<String, Failure> {
    let value = value(input, urls, 0)?;
    if value.trim().is_empty() {
        return Err(refuse(format!("{name} has no value")));
    }
    Ok(value.trim().to_owned())
}

/// Where `url()` may appear in a value.
#[derive(Clone, Copy)]
pub(super) enum Urls<'a> {
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
            | Token::Comma => serialize::token(&token, &mut out),
            Token::Delim(c @ ('/' | '+' | '-' | '*')) => out.push(c),
            Token::QuotedString(text) => serialize::string(&text, &mut out),
            Token::Delim('!') => {
                input.expect_ident_matching("important")?;
                input.expect_exhausted()?;
                serialize::important(&mut out);
            }
            Token::UnquotedUrl(url) => match urls {
                Urls::Fonts(issuer) if font_url(&url, issuer) => serialize::url(&url, &mut out),
                _ => return Err(refuse(url_refusal(urls))),
            },
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let url: Result<String, Failure> =
                    input.parse_nested_block(|inner| Ok(inner.expect_string()?.as_ref().to_owned()));
                match (urls, url) {
                    (Urls::Fonts(issuer), Ok(url)) if font_url(&url, issuer) => serialize::url(&url, &mut out),
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
                serialize::function(&lower, inner.trim(), &mut out);
            }
            Token::ParenthesisBlock => {
                let inner = input.parse_nested_block(|inner| value(inner, urls, depth + 1))?;
                serialize::parenthesised(inner.trim(), &mut out);
            }
            other => return Err(refuse(format!("this is not allowed in a value: {}", other.to_css_string()))),
        }
    }
    Ok(out)
}

/// An `@media` prelude: media types, `and`/`not`/`only`/`or`, and features from [`MEDIA_FEATURES`].
pub(super) fn media_query_list<'i>(input: &mut Parser<'i>) -> Result<String, Failure> {
    let mut out = String::new();
    while let Ok(token) = input.next_including_whitespace().cloned() {
        match token {
            Token::WhiteSpace(_) => out.push(' '),
            Token::Comma => out.push(','),
            Token::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                if !MEDIA_WORDS.contains(&lower.as_str()) {
                    return Err(refuse(format!("the media type {word} is not allowed")));
                }
                out.push_str(&lower);
            }
            Token::ParenthesisBlock => {
                let feature = input.parse_nested_block(media_feature)?;
                serialize::parenthesised(&feature, &mut out);
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
                serialize::identifier(&word, &mut out);
            }
            Token::Colon => out.push(':'),
            Token::Delim(c @ ('<' | '>' | '=')) => {
                out.push(' ');
                out.push(c);
            }
            Token::Number { .. } | Token::Dimension { .. } => {
                out.push(' ');
                serialize::token(&token, &mut out);
            }
            other => {
                return Err(refuse(format!("this is not allowed in a media feature: {}", other.to_css_string())));
            }
        }
    }
    if !named {
        return Err(refuse("a media feature needs a name"));
    }
    Ok(serialize::media_feature(&out))
}

/// A selector list in which every compound selector names a documented class or is `:root`.
pub(super) fn selector_list<'i>(input: &mut Parser<'i>) -> Result<String, Failure> {
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
                            serialize::class(&class, &mut sel.out);
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
                serialize::next_selector(&mut sel.out);
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
    serialize::pseudo(&name, element, &mut sel.out);
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
            serialize::descendant(&mut self.out);
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
        serialize::combinator(c, &mut self.out);
        Ok(())
    }
}
