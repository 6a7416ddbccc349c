//! The set-PIN page: the new PIN twice, a show/hide control, the policy's messages as the
//! cardholder types, and the outcome. The new-PIN field takes the focus when the form appears,
//! and the field a refusal is about takes it after one; typed digits are hidden again when the
//! page is hidden.

use web_sys::HtmlElement;
use yew::prelude::*;

use pinframe_protocol::HostEvent;

use super::failure_notice::FailureNotice;
use super::loading::loading;
use super::pin_field::{pin_field, PinField};
use crate::bridge;
use crate::hooks::{use_focus_on_mount, use_on_page_hidden, use_resize_reporter, use_set_pin};
use crate::i18n::Key;
use crate::locale::Locale;
use crate::set_state::{FormProblem, SetPhase};

/// The outcome once the PIN is set; it takes the focus.
#[component]
fn Done(locale: &Locale) -> Html {
    let node = use_focus_on_mount();
    html! {
        <p class="pinframe-status pinframe-done" role="status" tabindex="-1" ref={node}>{ locale.text(Key::SetDone) }</p>
    }
}

#[component]
pub fn SetPage(locale: &Locale) -> Html {
    let flow = use_set_pin(locale);
    let revealed = use_state(|| false);
    use_resize_reporter(flow.state.parent_origins.clone());
    {
        let hide = revealed.setter();
        let on_hidden = use_callback((), move |(), ()| hide.set(false));
        use_on_page_hidden(on_hidden);
    }
    let state = &*flow.state;
    // Focus: the new PIN when the form appears, then whichever field a refusal is about.
    {
        let (new_pin, confirm_pin) = (flow.new_pin.clone(), flow.confirm_pin.clone());
        let first = use_mut_ref(|| true);
        let ready = state.phase == SetPhase::Ready;
        use_effect_with((ready, state.refused), move |(ready, refused)| {
            let target = match refused {
                Some(FormProblem::Mismatch) => &confirm_pin,
                _ => &new_pin,
            };
            // Not when a refusal is cleared: the cardholder is typing where they are.
            if *ready && (refused.is_some() || first.replace(false)) {
                if let Some(input) = target.cast::<HtmlElement>() {
                    let _ = input.focus();
                }
            }
        });
    }
    let busy = matches!(state.phase, SetPhase::Loading | SetPhase::Submitting);
    let body = match &state.phase {
        SetPhase::Loading => loading(locale, Key::LoadingSet),
        SetPhase::Failed(failure) => {
            let (failure, origins) = (*failure, state.parent_origins.clone());
            let on_shown = Callback::from(move |()| bridge::report_failure(failure, HostEvent::SetPinError, &origins));
            html! { <FailureNotice {failure} {on_shown} on_retry={flow.on_retry.clone()} locale={locale.clone()} /> }
        }
        SetPhase::Done => html! { <Done ..locale.clone() /> },
        SetPhase::Ready | SetPhase::Submitting => {
            let submitting = state.phase == SetPhase::Submitting;
            let onsubmit = flow.on_submit.reform(|e: SubmitEvent| e.prevent_default());
            let toggle = {
                let revealed = revealed.clone();
                Callback::from(move |_: MouseEvent| revealed.set(!*revealed))
            };
            let (min, max) = (state.policy.min_len().to_string(), state.policy.max_len().to_string());
            // A submission that did not get through: said above the buttons, with "Try again",
            // which submits what is still typed.
            let trouble = state.trouble.map(|failure| {
                let origins = state.parent_origins.clone();
                let on_shown =
                    Callback::from(move |()| bridge::report_failure(failure, HostEvent::SetPinError, &origins));
                html! {
                    <FailureNotice {failure} {on_shown} lead={Key::SetFailed} on_retry={flow.on_submit.clone()}
                        locale={locale.clone()} />
                }
            });
            html! {
                <form class="pinframe-form" {onsubmit} novalidate=true>
                    <p class="pinframe-hint">
                        { locale.lang.format(Key::SetRule, &[("min", min.as_str()), ("max", max.as_str())]) }
                    </p>
                    { pin_field(locale, PinField { id: "pinframe-new-pin", label: Key::NewPinLabel,
                        node_ref: &flow.new_pin, revealed: *revealed, max_len: &max, message: state.new_pin_message(),
                        disabled: submitting, on_input: &flow.on_input }) }
                    { pin_field(locale, PinField { id: "pinframe-confirm-pin", label: Key::ConfirmPinLabel,
                        node_ref: &flow.confirm_pin, revealed: *revealed, max_len: &max, message: state.confirm_message(),
                        disabled: submitting, on_input: &flow.on_input }) }
                    // Always in the form, so that the fields before it keep their place (and
                    // what is typed in them) when the message comes and goes.
                    <div class="pinframe-trouble">{ for trouble }</div>
                    <div class="pinframe-actions">
                        <button type="button" class="pinframe-toggle" aria-controls="pinframe-new-pin pinframe-confirm-pin"
                            onclick={toggle}>
                            { locale.text(if *revealed { Key::HidePin } else { Key::ShowPin }) }
                        </button>
                        <button type="submit" class="pinframe-submit" disabled={submitting}>
                            { locale.text(if submitting { Key::SetSubmitting } else { Key::SetSubmit }) }
                        </button>
                    </div>
                </form>
            }
        }
    };
    html! {
        <main class="pinframe pinframe-set" aria-busy={busy.to_string()}>
            <h1 class="pinframe-title">{ locale.text(Key::SetHeading) }</h1>
            { body }
        </main>
    }
}
