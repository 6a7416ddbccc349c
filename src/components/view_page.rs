//! The view-PIN page: runs the flow, shows its state, and tells the host how it ended.

use yew::prelude::*;

use pinframe_protocol::HostEvent;

use super::failure_notice::FailureNotice;
use super::loading::loading;
use super::pin_display::PinDisplay;
use crate::bridge;
use crate::hooks::{use_resize_reporter, use_view_pin};
use crate::i18n::Key;
use crate::locale::Locale;
use crate::state::Phase;

#[component]
pub fn ViewPage(locale: &Locale) -> Html {
    let flow = use_view_pin(locale);
    let state = &*flow.state;
    use_resize_reporter(state.parent_origins.clone());
    let busy = matches!(state.phase, Phase::Loading);
    let body = match &state.phase {
        Phase::Loading => loading(locale, Key::LoadingView),
        Phase::Shown(pin, display) => {
            let origins = state.parent_origins.clone();
            let on_shown = Callback::from(move |()| bridge::notify(HostEvent::ViewPinSuccess, &origins));
            html! { <PinDisplay pin={pin.clone()} display={*display} {on_shown} locale={locale.clone()} /> }
        }
        Phase::Failed(failure) => {
            let (failure, origins) = (*failure, state.parent_origins.clone());
            let on_shown = Callback::from(move |()| bridge::report_failure(failure, HostEvent::ViewPinError, &origins));
            html! { <FailureNotice {failure} {on_shown} on_retry={flow.on_retry.clone()} locale={locale.clone()} /> }
        }
    };
    html! {
        <main class="pinframe pinframe-view" aria-busy={busy.to_string()}>
            <h1 class="pinframe-title">{ locale.text(Key::ViewHeading) }</h1>
            { body }
        </main>
    }
}
