//! Every word the widget shows, from message catalogues in `locales/` (one-line messages in the
//! Fluent syntax, `key = text with { $variable }`). English is compiled in; every other catalogue
//! is an asset of its own (`locale-<tag>-<hash>.ftl`, named by `build.rs`), fetched only when the
//! page is in that language ([`crate::locale::load`]), so a first load carries one catalogue at
//! most. English is the reference: a missing message falls back to it, and the tests hold every
//! catalogue to exactly its keys and variables, so that fallback never happens in a release.

use std::cell::Cell;

include!(concat!(env!("OUT_DIR"), "/locale_paths.rs"));

thread_local! {
    /// The catalogues fetched so far, in the order of [`Lang::ALL`]; each is kept for the page's life.
    static FETCHED: [Cell<Option<&'static str>>; 6] = const { [const { Cell::new(None) }; 6] };
}

/// A language the widget speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Fi,
    Sv,
    De,
    Ja,
    Ar,
}

/// Which way a language's text runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ltr,
    Rtl,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ltr => "ltr",
            Self::Rtl => "rtl",
        }
    }

    /// The direction of a language tag's script: right to left for Arabic, Hebrew, Persian, Urdu
    /// and the other languages written that way, left to right otherwise.
    pub fn of_tag(tag: &str) -> Self {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        const RTL: [&str; 10] = ["ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur"];
        if RTL.iter().any(|rtl| rtl.eq_ignore_ascii_case(primary)) {
            Self::Rtl
        } else {
            Self::Ltr
        }
    }
}

impl Lang {
    pub const ALL: [Lang; 6] = [Lang::En, Lang::Fi, Lang::Sv, Lang::De, Lang::Ja, Lang::Ar];

    /// Its BCP 47 tag, as `<html lang>` wants it.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fi => "fi",
            Self::Sv => "sv",
            Self::De => "de",
            Self::Ja => "ja",
            Self::Ar => "ar",
        }
    }

    /// The language a tag such as `fi`, `sv-FI` or `de-AT` asks for, if the widget speaks it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?;
        Self::ALL.into_iter().find(|lang| lang.tag().eq_ignore_ascii_case(primary))
    }

    /// The first of `tags` (most wanted first) that the widget speaks, else English.
    pub fn negotiate<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        tags.into_iter().find_map(Self::from_tag).unwrap_or_default()
    }

    pub fn direction(self) -> Direction {
        Direction::of_tag(self.tag())
    }

    /// The language's catalogue, once it is here: English always; another once fetched (in
    /// unit tests, compiled in).
    pub fn catalogue(self) -> Option<&'static str> {
        match self {
            Self::En => Some(ENGLISH),
            other => other_catalogue(other),
        }
    }

    /// Keeps `text` as the language's catalogue for the rest of the page's life.
    pub fn keep_catalogue(self, text: String) {
        let text: &'static str = Box::leak(text.into_boxed_str());
        FETCHED.with(|fetched| fetched[self as usize].set(Some(text)));
    }

    /// Where the language's catalogue is fetched from (same origin, under the page's CSP).
    pub fn catalogue_path(self) -> &'static str {
        LOCALE_PATHS.iter().find(|(tag, _)| *tag == self.tag()).map_or("", |(_, path)| path)
    }

    /// The message `key`, with no variables filled in: English until the catalogue is here.
    pub fn text(self, key: Key) -> &'static str {
        self.catalogue()
            .and_then(|catalogue| lookup(catalogue, key.id()))
            .or_else(|| lookup(ENGLISH, key.id()))
            .unwrap_or(key.id())
    }

    /// The message `key` with each `{ $name }` replaced by its value in `args`. The result is
    /// allocated once, at its final size, so a value (the spaced PIN, say) leaves no copy behind
    /// in a reallocated buffer; the caller wipes the result.
    pub fn format(self, key: Key, args: &[(&str, &str)]) -> String {
        let text = self.text(key);
        let mut out = String::with_capacity(text.len() + args.iter().map(|(_, value)| value.len()).sum::<usize>());
        for piece in pieces(text) {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Variable(name) => match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push_str("{ $");
                        out.push_str(name);
                        out.push_str(" }");
                    }
                },
            }
        }
        out
    }
}

/// The reference catalogue, compiled in.
const ENGLISH: &str = include_str!("../locales/en.ftl");

#[cfg(not(test))]
fn other_catalogue(lang: Lang) -> Option<&'static str> {
    FETCHED.with(|fetched| fetched[lang as usize].get())
}

/// Unit tests read every catalogue from the source tree.
#[cfg(test)]
fn other_catalogue(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::En => ENGLISH,
        Lang::Fi => include_str!("../locales/fi.ftl"),
        Lang::Sv => include_str!("../locales/sv.ftl"),
        Lang::De => include_str!("../locales/de.ftl"),
        Lang::Ja => include_str!("../locales/ja.ftl"),
        Lang::Ar => include_str!("../locales/ar.ftl"),
    })
}

/// The entries of a catalogue: `(key, text)` for each message line; comments and blank lines skipped.
pub fn entries(catalogue: &str) -> impl Iterator<Item = (&str, &str)> {
    catalogue.lines().filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty()).filter_map(|line| {
        // Keys hold no '=': the first one ends the key.
        let (key, text) = line.split_once('=')?;
        Some((key.trim(), text.trim()))
    })
}

fn lookup(catalogue: &'static str, key: &str) -> Option<&'static str> {
    entries(catalogue).find(|(k, _)| *k == key).map(|(_, text)| text)
}

/// A run of a message: literal text, or a `{ $variable }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits a message into its text and `{ $variable }` pieces. (Searched by `char`, which costs
/// the widget less code than a `&str` pattern.)
pub fn pieces(mut text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    while let Some(start) = text.find('{') {
        let Some(len) = text[start..].find('}') else { break };
        let Some(name) = text[start + 1..start + len].trim().strip_prefix('$') else { break };
        if start > 0 {
            out.push(Piece::Text(&text[..start]));
        }
        out.push(Piece::Variable(name));
        text = &text[start + len + 1..];
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

macro_rules! keys {
    ($($variant:ident => $id:literal,)*) => {
        /// A message in the catalogues.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key { $($variant,)* }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$variant,)*];

            /// Its key in the catalogue files.
            pub fn id(self) -> &'static str {
                match self { $(Self::$variant => $id,)* }
            }
        }
    };
}

keys! {
    PageTitle => "page-title",
    ViewHeading => "view-heading",
    SetHeading => "set-heading",
    NoToken => "no-token",
    LoadingView => "loading-view",
    LoadingSet => "loading-set",
    PinLabel => "pin-label",
    PinAnnounce => "pin-announce",
    PinHidden => "pin-hidden",
    PinHint => "pin-hint",
    PinAutoHide => "pin-auto-hide",
    ShowPin => "show-pin",
    HidePin => "hide-pin",
    CopyPin => "copy-pin",
    PinCopied => "pin-copied",
    CopyFailed => "copy-failed",
    FailureMissingToken => "failure-missing-token",
    FailureRefused => "failure-refused",
    FailureWrongPage => "failure-wrong-page",
    FailureWrongHost => "failure-wrong-host",
    FailureUnavailable => "failure-unavailable",
    FailureBroken => "failure-broken",
    FailureNoNetwork => "failure-no-network",
    FailureNoPin => "failure-no-pin",
    FailureExpired => "failure-expired",
    FailureTooMany => "failure-too-many",
    SetFailed => "set-failed",
    TryAgain => "try-again",
    NotFoundTitle => "not-found-title",
    NotFound => "not-found",
    SetRule => "set-rule",
    NewPinLabel => "new-pin-label",
    ConfirmPinLabel => "confirm-pin-label",
    SetSubmit => "set-submit",
    SetSubmitting => "set-submitting",
    SetDone => "set-done",
    Mismatch => "mismatch",
    PolicyNotDigits => "policy-not-digits",
    PolicyTooShort => "policy-too-short",
    PolicyTooLong => "policy-too-long",
    PolicyAllSame => "policy-all-same",
    PolicySequential => "policy-sequential",
    PolicyCommon => "policy-common",
    PolicyYear => "policy-year",
}

impl Key {
    /// The message for a policy violation.
    pub fn for_violation(violation: pinframe_core::Violation) -> Self {
        use pinframe_core::Violation;
        match violation {
            Violation::NotDigits => Self::PolicyNotDigits,
            Violation::TooShort => Self::PolicyTooShort,
            Violation::TooLong => Self::PolicyTooLong,
            Violation::AllSame => Self::PolicyAllSame,
            Violation::Sequential => Self::PolicySequential,
            Violation::Common => Self::PolicyCommon,
            Violation::Year => Self::PolicyYear,
            // `Violation` is non-exhaustive; a test holds every known one to its own message.
            _ => Self::PolicyCommon,
        }
    }
}

/// The PIN spelled out digit by digit (`2 4 6 8`), so a screen reader reads digits, not a number.
pub fn spaced_digits(pin: &str) -> String {
    let mut out = String::with_capacity(pin.len() * 2);
    for (i, digit) in pin.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn variables(text: &str) -> BTreeSet<&str> {
        pieces(text)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Variable(name) => Some(name),
                Piece::Text(_) => None,
            })
            .collect()
    }

    /// The catalogue walk: every language has every key, no other key, no key twice, and the
    /// same variables as English; every line is a message, a comment or blank.
    #[test]
    fn every_catalogue_has_every_message() {
        let wanted: BTreeSet<&str> = Key::ALL.iter().map(|k| k.id()).collect();
        assert_eq!(wanted.len(), Key::ALL.len(), "key ids are distinct");
        for lang in Lang::ALL {
            let catalogue = lang.catalogue().unwrap();
            for line in catalogue.lines() {
                let line = line.trim();
                assert!(line.is_empty() || line.starts_with('#') || line.contains(" = "), "{lang:?}: {line:?}");
            }
            let keys: Vec<&str> = entries(catalogue).map(|(k, _)| k).collect();
            let unique: BTreeSet<&str> = keys.iter().copied().collect();
            assert_eq!(unique.len(), keys.len(), "{lang:?} has a key twice");
            assert_eq!(unique, wanted, "{lang:?} has other keys than the widget uses");
            for key in Key::ALL {
                let text = lookup(catalogue, key.id()).unwrap();
                assert!(!text.is_empty(), "{lang:?} {key:?} is empty");
                let english = lookup(ENGLISH, key.id()).unwrap();
                assert_eq!(variables(text), variables(english), "{lang:?} {key:?}: variables differ from English");
            }
        }
    }

    #[test]
    fn messages_fill_their_variables() {
        let text = Lang::En.format(Key::SetRule, &[("min", "4"), ("max", "6")]);
        assert_eq!(text, "Choose 4 to 6 digits that are hard to guess.");
        assert_eq!(
            Lang::Fi.format(Key::SetRule, &[("min", "4"), ("max", "6")]),
            "Valitse 4–6 numeroa, joita on vaikea arvata."
        );
        assert_eq!(Lang::De.text(Key::ShowPin), "PIN anzeigen");
        assert_eq!(pieces("a { $x } b"), vec![Piece::Text("a "), Piece::Variable("x"), Piece::Text(" b")]);
    }

    #[test]
    fn languages_are_negotiated_from_tags() {
        assert_eq!(Lang::negotiate(["sv-FI", "en"]), Lang::Sv);
        assert_eq!(Lang::negotiate(["pt-BR", "de-AT"]), Lang::De);
        assert_eq!(Lang::negotiate(["pt-BR"]), Lang::En);
        assert_eq!(Lang::negotiate([]), Lang::En);
        assert_eq!(Lang::from_tag("JA"), Some(Lang::Ja));
    }

    #[test]
    fn right_to_left_languages_are_known() {
        assert_eq!(Direction::of_tag("ar"), Direction::Rtl);
        assert_eq!(Direction::of_tag("he-IL"), Direction::Rtl);
        assert_eq!(Direction::of_tag("fi"), Direction::Ltr);
        for lang in Lang::ALL {
            let rtl = lang == Lang::Ar;
            assert_eq!(lang.direction(), if rtl { Direction::Rtl } else { Direction::Ltr }, "{lang:?}");
        }
        assert_eq!(Lang::negotiate(["ar-EG", "en"]), Lang::Ar);
    }

    #[test]
    fn every_violation_has_a_message() {
        for violation in pinframe_core::Violation::ALL {
            let key = Key::for_violation(violation);
            assert!(key.id().ends_with(&violation.code().replace('_', "-")));
            assert_eq!(Lang::En.text(key), violation.message(), "the widget says what the service says");
        }
    }

    #[test]
    fn digits_are_spaced() {
        assert_eq!(spaced_digits("2468"), "2 4 6 8");
        assert_eq!(spaced_digits(""), "");
    }
}
