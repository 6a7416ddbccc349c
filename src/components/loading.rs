//! The loading state while the session and the PIN are fetched. A plain function, not a component:
//! it keeps no state, and every component type brings its own copy of Yew's lifecycle into the wasm.

use yew::prelude::*;

use crate::i18n::Key;
use crate::locale::Locale;

pub fn loading(locale: &Locale, message: Key) -> Html {
    html! {
        <p class="pinframe-status pinframe-loading" role="status">
            <span class="pinframe-spinner" aria-hidden="true"></span>
            { locale.text(message) }
        </p>
    }
}
