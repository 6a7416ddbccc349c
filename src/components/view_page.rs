//! The view-PIN page: runs the flow, shows its state, and tells the host how it ended.

use yew::prelude::*;

use pinframe_protocol::HostEvent;

use super::failure_notice::FailureNotice;
use super::loading::Loading;
use super::pin_display::PinDisplay;
use crate::bridge;
use crate::hooks::{use_resize_reporter, use_view_pin};
use crate::i18n::Key;
use crate::locale::use_locale;
use crate::state::Phase;

#[component]
pub fn ViewPage() -> Html {
    let locale = use_locale();
    let state = use_view_pin();
    use_resize_reporter(state.parent_origins.clone());
    let notify = |event: HostEvent| {
        let origins = state.parent_origins.clone();
        Callback::from(move |()| bridge::notify(event, &origins))
    };
    let busy = matches!(state.phase, Phase::Loading);
    html! {
        <main class="pinframe pinframe-view" aria-busy={busy.to_string()}>
            <h1 class="pinframe-title">{ locale.text(Key::ViewHeading) }</h1>
            {
                match &state.phase {
                    Phase::Loading => html! { <Loading message={Key::LoadingView} /> },
                    Phase::Shown(pin, display) => html! {
                        <PinDisplay pin={pin.clone()} display={*display} on_shown={notify(HostEvent::ViewPinSuccess)} />
                    },
                    Phase::Failed(failure) => html! {
                        <FailureNotice failure={*failure} on_shown={notify(HostEvent::ViewPinError)} />
                    },
                }
            }
        </main>
    }
}
