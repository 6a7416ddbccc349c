//! A failure, in words the cardholder can act on. `on_shown` fires once it is on screen.

use yew::prelude::*;

use crate::state::Failure;

#[derive(Debug, Properties, PartialEq)]
pub struct FailureNoticeProps {
    pub failure: Failure,
    pub on_shown: Callback<()>,
}

#[component]
pub fn FailureNotice(props: &FailureNoticeProps) -> Html {
    {
        let on_shown = props.on_shown.clone();
        use_effect_with(props.failure, move |_| on_shown.emit(()));
    }
    html! {
        <p class="pinframe-error" role="alert" data-failure={format!("{:?}", props.failure)}>
            { props.failure.message() }
        </p>
    }
}
