//! The view-PIN page: runs the flow, shows its state, and tells the host how it ended.

use yew::prelude::*;

use crate::bridge::{self, HostEvent};
use crate::components::{FailureNotice, Loading, PinDisplay};
use crate::hooks::use_view_pin;
use crate::state::Phase;

#[component]
pub fn ViewPage() -> Html {
    let state = use_view_pin();
    let notify = |event: HostEvent| {
        let origins = state.parent_origins.clone();
        Callback::from(move |()| bridge::notify(event, &origins))
    };
    let busy = matches!(state.phase, Phase::Loading);
    html! {
        <main class="pinframe pinframe-view" aria-busy={busy.to_string()}>
            <h1 class="pinframe-title">{ "Your card PIN" }</h1>
            {
                match &state.phase {
                    Phase::Loading => html! { <Loading message="Getting your PIN securely…" /> },
                    Phase::Shown(pin) => html! {
                        <PinDisplay pin={pin.clone()} on_shown={notify(HostEvent::ViewPinSuccess)} />
                    },
                    Phase::Failed(failure) => html! {
                        <FailureNotice failure={*failure} on_shown={notify(HostEvent::ViewPinError)} />
                    },
                }
            }
        </main>
    }
}
