//! The loading state while the session and the PIN are fetched.

use yew::prelude::*;

use crate::i18n::Key;
use crate::locale::use_locale;

#[derive(Debug, Properties, PartialEq)]
pub struct LoadingProps {
    pub message: Key,
}

#[component]
pub fn Loading(props: &LoadingProps) -> Html {
    let locale = use_locale();
    html! {
        <p class="pinframe-status pinframe-loading" role="status">
            <span class="pinframe-spinner" aria-hidden="true"></span>
            { locale.text(props.message) }
        </p>
    }
}
