//! The page's language as a Yew context: chosen at the first paint from the query's `lang`
//! (the token's language), else the browser's languages; the session's `language` confirms it.
//! It sets `<html lang dir>` and the document title, so assistive technology reads the right
//! language and right-to-left scripts lay out mirrored.

use yew::prelude::*;

use crate::fragment::lang_from_query;
use crate::i18n::{Key, Lang};

/// The language in use, and how to change it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Locale {
    pub lang: Lang,
    pub set: Callback<Lang>,
}

impl Locale {
    /// Switches to the token's language when the widget speaks it; otherwise keeps the current one.
    pub fn adopt(&self, tag: Option<&str>) {
        if let Some(lang) = tag.and_then(Lang::from_tag) {
            if lang != self.lang {
                self.set.emit(lang);
            }
        }
    }

    pub fn text(&self, key: Key) -> &'static str {
        self.lang.text(key)
    }
}

/// The page's [`Locale`].
#[hook]
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// The language for the first paint: the query's `lang`, else `navigator.languages`.
pub fn initial() -> Lang {
    let Some(window) = web_sys::window() else { return Lang::default() };
    let query = window.location().search().unwrap_or_default();
    if let Some(lang) = lang_from_query(&query).and_then(Lang::from_tag) {
        return lang;
    }
    let wanted: Vec<String> = window.navigator().languages().iter().filter_map(|tag| tag.as_string()).collect();
    Lang::negotiate(wanted.iter().map(String::as_str))
}

/// Puts the language on the document: `<html lang dir>` and the title.
pub fn apply(lang: Lang) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("lang", lang.tag());
        let _ = root.set_attribute("dir", lang.direction().as_str());
    }
    document.set_title(lang.text(Key::PageTitle));
}
