//! The set flow: session, then the form; each input change checks the form and tells the host
//! `pin_valid`; a submission (button, host `set_pin()`, or the parent's `postMessage`) encrypts the
//! new PIN to the service key and sends it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, Pin, PinPolicy, PublicJwk, Violation};
use pinframe_protocol::widget::{pin_plaintext, SessionResponse, SetRequest, SESSION_PATH, SET_PATH};
use pinframe_protocol::{Action, ErrorBody, HostEvent};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use zeroize::Zeroizing;

use super::use_view_pin::take_token;
use crate::api;
use crate::bridge::{self, SetPinCommand};
use crate::flow::{check_parent, correlation_id, failure_for, origins_of, refusal_origins};
use crate::locale::{use_locale, Locale};
use crate::set_state::{form_check, FormProblem, SetAction, SetState};
use crate::state::Failure;

/// What a submission needs once the session is known.
struct Context {
    token: Zeroizing<String>,
    correlation: String,
    policy: PinPolicy,
    service_key: PublicJwk,
    parent_origins: Rc<[String]>,
    busy: Cell<bool>,
}

/// The handles the set page wires into its form.
#[derive(Clone, Debug)]
pub struct SetFlow {
    pub state: UseReducerHandle<SetState>,
    pub new_pin: NodeRef,
    pub confirm_pin: NodeRef,
    pub on_input: Callback<()>,
    pub on_submit: Callback<()>,
}

fn value(input: &NodeRef) -> Zeroizing<String> {
    Zeroizing::new(input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default())
}

fn clear(input: &NodeRef) {
    if let Some(input) = input.cast::<HtmlInputElement>() {
        input.set_value("");
    }
}

async fn start(state: UseReducerHandle<SetState>, context: Rc<RefCell<Option<Rc<Context>>>>, locale: Locale) {
    let fail = |failure, origins: Rc<[String]>| {
        state.dispatch(SetAction::Fail { failure, parent_origins: Some(origins) });
    };
    // Until the service names the token's origin, no desktop parent hears anything.
    let Some(token) = take_token() else { return fail(Failure::MissingToken, Rc::from([])) };
    let correlation = correlation_id();
    let answer = match api::post(SESSION_PATH, &token, &correlation, None).await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => return fail(failure_for(&answer), refusal_origins(&answer)),
        Err(_) => return fail(Failure::Unavailable, Rc::from([])),
    };
    let Ok(session) = serde_json::from_str::<SessionResponse>(&answer.body) else {
        return fail(Failure::Unavailable, Rc::from([]));
    };
    locale.adopt(session.language.as_deref());
    let parent_origins = origins_of(session.parent_origin.as_ref());
    // Before the form is shown: only inside the page the token was issued for.
    if let Err(failure) = check_parent(session.parent_origin.as_ref()) {
        return fail(failure, parent_origins);
    }
    if session.action != Action::SetPin {
        return fail(Failure::WrongPage, parent_origins);
    }
    let policy = session.pin_policy.to_policy();
    let service_key = PublicJwk::parse(session.encryption_jwk.get());
    let (Ok(policy), Ok(service_key)) = (policy, service_key) else { return fail(Failure::Broken, parent_origins) };
    *context.borrow_mut() = Some(Rc::new(Context {
        token,
        correlation,
        policy,
        service_key,
        parent_origins: parent_origins.clone(),
        busy: Cell::new(false),
    }));
    state.dispatch(SetAction::Ready { policy, parent_origins });
}

fn submit(state: &UseReducerHandle<SetState>, context: Option<Rc<Context>>, new_pin: &NodeRef, confirm_pin: &NodeRef) {
    let Some(context) = context else { return };
    if context.busy.get() {
        return;
    }
    let new = value(new_pin);
    if let Err(problem) = form_check(&context.policy, &new, &value(confirm_pin)) {
        state.dispatch(SetAction::Refused(problem));
        bridge::notify(HostEvent::SetPinValidationError, &context.parent_origins);
        return;
    }
    // The policy allowed it, so it is 4 to 12 digits: a `Pin`.
    let body = Pin::parse(&new).ok().and_then(|pin| {
        let encrypted_pin = jwe::encrypt(&context.service_key, &pin_plaintext(&pin), &mut OsRng);
        serde_json::to_string(&SetRequest { encrypted_pin }).ok()
    });
    drop(new);
    let Some(body) = body else {
        state.dispatch(SetAction::Fail { failure: Failure::Broken, parent_origins: None });
        bridge::notify(HostEvent::SetPinError, &context.parent_origins);
        return;
    };
    context.busy.set(true);
    state.dispatch(SetAction::Submitting);

    let (state, new_pin, confirm_pin) = (state.clone(), new_pin.clone(), confirm_pin.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let origins = context.parent_origins.clone();
        match api::post(SET_PATH, &context.token, &context.correlation, Some(&body)).await {
            Ok(answer) if answer.status == 204 => {
                clear(&new_pin);
                clear(&confirm_pin);
                state.dispatch(SetAction::Done);
                bridge::notify(HostEvent::SetPinSuccess, &origins);
            }
            Ok(answer) if answer.status == 422 => {
                let violation = serde_json::from_str::<ErrorBody>(&answer.body)
                    .ok()
                    .and_then(|r| Violation::ALL.into_iter().find(|v| r.reason.as_deref() == Some(v.code())));
                context.busy.set(false);
                match violation {
                    Some(violation) => {
                        state.dispatch(SetAction::Refused(FormProblem::Policy(violation)));
                        bridge::notify(HostEvent::SetPinValidationError, &origins);
                    }
                    None => {
                        state.dispatch(SetAction::Fail { failure: Failure::Broken, parent_origins: None });
                        bridge::notify(HostEvent::SetPinError, &origins);
                    }
                }
            }
            Ok(answer) => {
                state.dispatch(SetAction::Fail { failure: failure_for(&answer), parent_origins: None });
                bridge::notify(HostEvent::SetPinError, &origins);
            }
            Err(_) => {
                state.dispatch(SetAction::Fail { failure: Failure::Unavailable, parent_origins: None });
                bridge::notify(HostEvent::SetPinError, &origins);
            }
        }
    });
}

#[hook]
pub fn use_set_pin() -> SetFlow {
    let state = use_reducer(SetState::default);
    let context = use_mut_ref(|| None::<Rc<Context>>);
    let command = use_mut_ref(SetPinCommand::default);
    let new_pin = use_node_ref();
    let confirm_pin = use_node_ref();

    let on_submit = {
        let (state, context, new_pin, confirm_pin) =
            (state.clone(), context.clone(), new_pin.clone(), confirm_pin.clone());
        Callback::from(move |()| submit(&state, context.borrow().clone(), &new_pin, &confirm_pin))
    };

    {
        let (state, context, locale) = (state.clone(), context.clone(), use_locale());
        use_effect_with((), move |()| wasm_bindgen_futures::spawn_local(start(state, context, locale)));
    }

    // Once the form is up, the host may submit it.
    {
        let ready = state.phase == crate::set_state::SetPhase::Ready;
        let (context, on_submit) = (context.clone(), on_submit.clone());
        use_effect_with(ready, move |ready| {
            if *ready {
                if let Some(ctx) = context.borrow().as_ref() {
                    let parent = ctx.parent_origins.first().cloned();
                    *command.borrow_mut() = bridge::on_set_pin(parent, move || on_submit.emit(()));
                }
            }
        });
    }

    let on_input = {
        let (state, context, new_pin, confirm_pin) =
            (state.clone(), context.clone(), new_pin.clone(), confirm_pin.clone());
        Callback::from(move |()| {
            let Some(ctx) = context.borrow().clone() else { return };
            let (new, confirm) = (value(&new_pin), value(&confirm_pin));
            let check = form_check(&ctx.policy, &new, &confirm);
            state.dispatch(SetAction::Typed {
                new_len: new.chars().count(),
                confirm_len: confirm.chars().count(),
                check,
            });
            bridge::notify(HostEvent::PinValid(check.is_ok()), &ctx.parent_origins);
        })
    };

    SetFlow { state, new_pin, confirm_pin, on_input, on_submit }
}
