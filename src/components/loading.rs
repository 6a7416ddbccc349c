//! The loading state while the session and the PIN are fetched.

use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct LoadingProps {
    pub message: AttrValue,
}

#[component]
pub fn Loading(props: &LoadingProps) -> Html {
    html! {
        <p class="pinframe-status pinframe-loading" role="status">
            <span class="pinframe-spinner" aria-hidden="true"></span>
            { props.message.clone() }
        </p>
    }
}
