//! The set-PIN page: the new PIN twice, a show/hide control, the policy's messages as the
//! cardholder types, and the outcome.

use yew::prelude::*;

use crate::bridge::{self, HostEvent};
use crate::components::{FailureNotice, Loading, PinField};
use crate::hooks::use_set_pin;
use crate::set_state::SetPhase;

#[component]
pub fn SetPage() -> Html {
    let flow = use_set_pin();
    let revealed = use_state(|| false);
    let state = &*flow.state;
    let busy = matches!(state.phase, SetPhase::Loading | SetPhase::Submitting);
    let body = match &state.phase {
        SetPhase::Loading => html! { <Loading message="Getting ready…" /> },
        SetPhase::Failed(failure) => {
            let origins = state.parent_origins.clone();
            let on_shown = Callback::from(move |()| bridge::notify(HostEvent::SetPinError, &origins));
            html! { <FailureNotice failure={*failure} {on_shown} /> }
        }
        SetPhase::Done => html! {
            <p class="pinframe-status pinframe-done" role="status">{ "Your new PIN is set. Use it from now on." }</p>
        },
        SetPhase::Ready | SetPhase::Submitting => {
            let submitting = state.phase == SetPhase::Submitting;
            let onsubmit = flow.on_submit.reform(|e: SubmitEvent| e.prevent_default());
            let toggle = {
                let revealed = revealed.clone();
                Callback::from(move |_: MouseEvent| revealed.set(!*revealed))
            };
            html! {
                <form class="pinframe-form" {onsubmit} novalidate=true>
                    <p class="pinframe-hint">
                        { format!("Choose {} to {} digits that are hard to guess.", state.policy.min_len(), state.policy.max_len()) }
                    </p>
                    <PinField id="pinframe-new-pin" label="New PIN" node_ref={flow.new_pin.clone()}
                        revealed={*revealed} max_len={state.policy.max_len()} message={state.new_pin_message()}
                        disabled={submitting} on_input={flow.on_input.clone()} />
                    <PinField id="pinframe-confirm-pin" label="Confirm new PIN" node_ref={flow.confirm_pin.clone()}
                        revealed={*revealed} max_len={state.policy.max_len()} message={state.confirm_message()}
                        disabled={submitting} on_input={flow.on_input.clone()} />
                    <div class="pinframe-actions">
                        <button type="button" class="pinframe-toggle" aria-pressed={revealed.to_string()} onclick={toggle}>
                            { if *revealed { "Hide PIN" } else { "Show PIN" } }
                        </button>
                        <button type="submit" class="pinframe-submit" disabled={submitting}>
                            { if submitting { "Setting PIN…" } else { "Set PIN" } }
                        </button>
                    </div>
                </form>
            }
        }
    };
    html! {
        <main class="pinframe pinframe-set" aria-busy={busy.to_string()}>
            <h1 class="pinframe-title">{ "Set your card PIN" }</h1>
            { body }
        </main>
    }
}
