//! A failure, in words the cardholder can act on. It takes the focus, so a screen reader reads it
//! and a keyboard user starts from it; `on_shown` fires once it is on screen. When trying again
//! with the same link can help, a "Try again" button follows it.

use yew::prelude::*;

use crate::hooks::use_focus_on_mount;
use crate::i18n::Key;
use crate::locale::Locale;
use crate::state::Failure;

#[derive(Debug, Properties, PartialEq)]
pub struct FailureNoticeProps {
    pub failure: Failure,
    pub on_shown: Callback<()>,
    /// Offered only for a failure that may pass ([`Failure::retryable`]).
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
    /// A sentence said before the failure's own (what did not happen).
    #[prop_or_default]
    pub lead: Option<Key>,
    pub locale: Locale,
}

#[component]
pub fn FailureNotice(props: &FailureNoticeProps) -> Html {
    let locale = &props.locale;
    let node = use_focus_on_mount();
    {
        let on_shown = props.on_shown.clone();
        use_effect_with(props.failure, move |_| on_shown.emit(()));
    }
    let retry = props.on_retry.as_ref().filter(|_| props.failure.retryable()).map(|on_retry| {
        let onclick = on_retry.reform(|_: MouseEvent| ());
        html! {
            <div class="pinframe-actions">
                <button type="button" class="pinframe-toggle pinframe-retry" {onclick}>{ locale.text(Key::TryAgain) }</button>
            </div>
        }
    });
    html! {
        <div class="pinframe-failure">
            <p class="pinframe-error" role="alert" tabindex="-1" ref={node}
                data-failure={props.failure.name()} data-code={props.failure.code().as_str()}>
                if let Some(lead) = props.lead {
                    { locale.text(lead) }{ " " }
                }
                { locale.text(props.failure.key()) }
            </p>
            { for retry }
        </div>
    }
}
