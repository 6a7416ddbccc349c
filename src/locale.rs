//! The page's language, handed down as a property: chosen at the first paint from the query's `lang`
//! (the token's language), else the browser's languages; the session's `language` confirms it.
//! It sets `<html lang dir>` and the document title, so assistive technology reads the right
//! language and right-to-left scripts lay out mirrored. A language other than English is switched
//! to only once its catalogue is here ([`load`]): the page never shows keys or a half-translated
//! mix, and the first paint waits for the query's language (which the page preloads).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};
use yew::prelude::*;

use crate::fragment::lang_from_query;
use crate::i18n::{Key, Lang};

/// The language in use, and how to change it: the pages' properties, which they hand on to what
/// they draw (a property, not a Yew context: a context provider is one more component type, and
/// every component type brings its own copy of Yew's lifecycle into the wasm).
#[derive(Clone, Debug, Default, PartialEq, Properties)]
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

/// The language for the first paint: [`wanted`] once its catalogue is here, else English.
pub fn initial() -> Lang {
    Some(wanted()).filter(|lang| lang.catalogue().is_some()).unwrap_or_default()
}

/// Fetches `lang`'s catalogue unless it is here already; whether it is here now. Same origin, with
/// the defaults the page's `<link rel=preload as=fetch crossorigin>` uses, so that it is the one
/// request the page made for it.
pub async fn load(lang: Lang) -> bool {
    if lang.catalogue().is_some() {
        return true;
    }
    let Some(window) = web_sys::window() else { return false };
    let fetched = async {
        let response: Response =
            JsFuture::from(window.fetch_with_str_and_init(lang.catalogue_path(), &RequestInit::new()))
                .await
                .ok()?
                .dyn_into()
                .ok()?;
        if !response.ok() {
            return None;
        }
        JsFuture::from(response.text().ok()?).await.ok()?.as_string()
    };
    match fetched.await {
        Some(text) => {
            lang.keep_catalogue(text);
            true
        }
        None => false,
    }
}

/// The language the page wants: the query's `lang`, else `navigator.languages`.
pub fn wanted() -> Lang {
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
