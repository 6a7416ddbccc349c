//! The pinframe widget: the page a cardholder's webview or iframe opens to view or set a card PIN.
//!
//! `main.rs` only renders [`App`]. The flow's state is a pure reducer ([`state`]); all JavaScript
//! interop with the host is in [`bridge`], and all calls to the service in [`api`]. The PIN is
//! decrypted here, in wasm, with an ephemeral key made here; neither leaves the page.

pub mod api;
pub mod appearance;
pub mod bridge;
pub mod components;
pub mod early;
pub mod flow;
pub mod fragment;
pub mod framing;
pub mod hooks;
pub mod i18n;
pub mod link;
pub mod locale;
pub mod rng;
pub mod set_state;
pub mod state;
pub mod theme_fonts;

use yew::prelude::*;

use crate::components::{SetPage, ViewPage};
use crate::fragment::Mode;
use crate::i18n::Key;
use crate::locale::Locale;

/// The widget's root component: picks the page from the URL path, in the page's language (its
/// [`Locale`], handed to the page as its properties).
#[component]
pub fn App() -> Html {
    let lang = use_state(locale::initial);
    use_effect_with(*lang, |lang| locale::apply(*lang));
    let locale = Locale {
        lang: *lang,
        set: {
            let lang = lang.setter();
            // Once the new language's catalogue is here; if it cannot be fetched, the page stays as it is.
            Callback::from(move |new| {
                let lang = lang.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if locale::load(new).await {
                        lang.set(new);
                    }
                });
            })
        },
    };
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    match Mode::from_path(&path) {
        Some(Mode::View) => html! { <ViewPage ..locale /> },
        Some(Mode::Set) => html! { <SetPage ..locale /> },
        _ => html! {
            <main class="pinframe">
                <h1 class="pinframe-title">{ locale.text(Key::PageTitle) }</h1>
                <p class="pinframe-status" role="status">{ locale.text(Key::NoToken) }</p>
            </main>
        },
    }
}
