//! The pinframe widget: the page a cardholder's webview or iframe opens to view or set a card PIN.
//!
//! This crate holds the Yew components; `main.rs` only renders [`App`]. The view and set flows, the
//! host bridges and the session come with their issues; today the widget is the shell they grow in,
//! built by Trunk and tested in headless Chromium.

use yew::prelude::*;

/// The widget's root component.
#[component]
pub fn App() -> Html {
    html! {
        <main class="pinframe" aria-busy="false">
            <h1 class="pinframe-title">{ "Card PIN" }</h1>
            <p class="pinframe-status" role="status">
                { "Open this page from your card issuer's app or website to view or set your PIN." }
            </p>
        </main>
    }
}
