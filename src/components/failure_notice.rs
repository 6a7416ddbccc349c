//! A failure, in words the cardholder can act on. It takes the focus, so a screen reader reads it
//! and a keyboard user starts from it; `on_shown` fires once it is on screen.

use yew::prelude::*;

use crate::hooks::use_focus_on_mount;
use crate::locale::use_locale;
use crate::state::Failure;

#[derive(Debug, Properties, PartialEq)]
pub struct FailureNoticeProps {
    pub failure: Failure,
    pub on_shown: Callback<()>,
}

#[component]
pub fn FailureNotice(props: &FailureNoticeProps) -> Html {
    let locale = use_locale();
    let node = use_focus_on_mount();
    {
        let on_shown = props.on_shown.clone();
        use_effect_with(props.failure, move |_| on_shown.emit(()));
    }
    html! {
        <p class="pinframe-error" role="alert" tabindex="-1" ref={node} data-failure={format!("{:?}", props.failure)}>
            { locale.text(props.failure.key()) }
        </p>
    }
}
