//! The set flow: session, then the form; each input change checks the form and tells the host
//! `pin_valid`; a submission (button, host `set_pin()`, or the parent's `postMessage`) encrypts the
//! new PIN to the service key and sends it. A session or a submission that did not get through can
//! be tried again with the same token; the form keeps what was typed (in the inputs only).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pinframe_core::{jwe, Pin, PinPolicy, PublicJwk, Violation};
use pinframe_protocol::widget::{pin_plaintext, SessionResponse, SetRequest, MAX_SET_ATTEMPTS, SET_PATH};
use pinframe_protocol::{Action, ErrorBody, HostEvent};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use zeroize::Zeroizing;

use super::use_token_expiry;
use crate::api::{self, Answer};
use crate::bridge::{self, SetPinCommand};
use crate::flow::{check_parent, deadline_of, failure_at, origins_of, refusal_origins};
use crate::link::{self, Found};
use crate::locale::Locale;
use crate::set_state::{form_check, FormProblem, SetAction, SetPhase, SetState};
use crate::state::Failure;

/// What a submission needs once the session is known.
struct Context {
    token: Zeroizing<String>,
    correlation: String,
    policy: PinPolicy,
    service_key: PublicJwk,
    parent_origins: Rc<[String]>,
    deadline_ms: f64,
    busy: Cell<bool>,
    /// Submissions the service refused so far; the [`MAX_SET_ATTEMPTS`]th uses the token up.
    refusals: Cell<u32>,
}

/// The handles the set page wires into its form.
#[derive(Clone, Debug)]
pub struct SetFlow {
    pub state: UseReducerHandle<SetState>,
    pub new_pin: NodeRef,
    pub confirm_pin: NodeRef,
    pub on_input: Callback<()>,
    pub on_submit: Callback<()>,
    /// "Try again" after the session failed in a way that may pass.
    pub on_retry: Callback<()>,
}

type Token = Rc<RefCell<Option<Zeroizing<String>>>>;
type Shared = Rc<RefCell<Option<Rc<Context>>>>;

fn value(input: &NodeRef) -> Zeroizing<String> {
    Zeroizing::new(input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default())
}

fn clear(input: &NodeRef) {
    if let Some(input) = input.cast::<HtmlInputElement>() {
        input.set_value("");
    }
}

/// Ends the flow for good: the token is forgotten, and the page says why.
fn fail(state: &UseReducerHandle<SetState>, failure: Failure, parent_origins: Option<Rc<[String]>>) {
    if !failure.retryable() {
        link::end(failure == Failure::Expired);
    }
    state.dispatch(SetAction::Fail { failure, parent_origins });
}

async fn start(state: UseReducerHandle<SetState>, token: Token, context: Shared, locale: Locale) {
    // Until the service names the token's origin, no desktop parent hears anything.
    let none = || Some(Rc::from([]));
    let Some(text) = token.borrow().clone() else { return fail(&state, Failure::MissingToken, none()) };
    let (correlation, session) = api::session(&text);
    let answer = match session.await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => return fail(&state, failure_at(&answer, link::deadline()), Some(refusal_origins(&answer))),
        Err(_) => return fail(&state, Failure::NoNetwork, none()),
    };
    let Ok(session) = serde_json::from_slice::<SessionResponse>(answer.body.as_bytes()) else {
        return fail(&state, Failure::Unavailable, none());
    };
    let deadline_ms = deadline_of(&session, answer.at_ms);
    link::remember_deadline(deadline_ms);
    locale.adopt(session.language.as_deref());
    let parent_origins = origins_of(session.parent_origin.as_ref());
    // Before the form is shown: only inside the page the token was issued for.
    if let Err(failure) = check_parent(session.parent_origin.as_ref()) {
        return fail(&state, failure, Some(parent_origins));
    }
    if session.action != Action::SetPin {
        return fail(&state, Failure::WrongPage, Some(parent_origins));
    }
    let policy = session.pin_policy.to_policy();
    let service_key = PublicJwk::parse(session.encryption_jwk.get());
    let (Ok(policy), Ok(service_key)) = (policy, service_key) else {
        return fail(&state, Failure::Broken, Some(parent_origins));
    };
    *context.borrow_mut() = Some(Rc::new(Context {
        token: text,
        correlation,
        policy,
        service_key,
        parent_origins: parent_origins.clone(),
        deadline_ms,
        busy: Cell::new(false),
        refusals: Cell::new(0),
    }));
    state.dispatch(SetAction::Ready { policy, parent_origins });
}

/// What the service's answer to a submission means for the form.
fn settle(state: &UseReducerHandle<SetState>, context: &Context, answer: Result<Answer, ()>) -> Option<HostEvent> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(()) => {
            state.dispatch(SetAction::Trouble(Failure::NoNetwork));
            return None;
        }
    };
    match answer.status {
        204 => {
            link::forget();
            state.dispatch(SetAction::Done);
            Some(HostEvent::SetPinSuccess)
        }
        422 => {
            let refusals = context.refusals.get() + 1;
            context.refusals.set(refusals);
            let violation = serde_json::from_slice::<ErrorBody>(answer.body.as_bytes())
                .ok()
                .and_then(|r| Violation::ALL.into_iter().find(|v| r.reason.as_deref() == Some(v.code())));
            match violation {
                // That refusal used the token up.
                Some(_) if refusals >= MAX_SET_ATTEMPTS => fail(state, Failure::TooManyAttempts, None),
                Some(violation) => {
                    state.dispatch(SetAction::Refused(FormProblem::Policy(violation)));
                    return Some(HostEvent::SetPinValidationError);
                }
                None => fail(state, Failure::Broken, None),
            }
            None
        }
        // A token refused after refused attempts was used up by them.
        401 if context.refusals.get() > 0 => {
            fail(state, Failure::TooManyAttempts, None);
            None
        }
        _ => {
            let failure = failure_at(&answer, Some(context.deadline_ms));
            if failure.retryable() {
                state.dispatch(SetAction::Trouble(failure));
            } else {
                fail(state, failure, None);
            }
            None
        }
    }
}

fn submit(state: &UseReducerHandle<SetState>, context: Option<Rc<Context>>, new_pin: &NodeRef, confirm_pin: &NodeRef) {
    let Some(context) = context else { return };
    if context.busy.get() || !matches!(state.phase, SetPhase::Ready) {
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
        let encrypted_pin = jwe::encrypt(&context.service_key, &pin_plaintext(&pin), &mut crate::rng::BrowserRng);
        serde_json::to_string(&SetRequest { encrypted_pin }).ok()
    });
    drop(new);
    let Some(body) = body else { return fail(state, Failure::Broken, None) };
    context.busy.set(true);
    state.dispatch(SetAction::Submitting);

    let (state, new_pin, confirm_pin) = (state.clone(), new_pin.clone(), confirm_pin.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let answer = api::post(SET_PATH, &context.token, &context.correlation, Some(&body)).await.map_err(drop);
        context.busy.set(false);
        let event = settle(&state, &context, answer);
        if event == Some(HostEvent::SetPinSuccess) {
            clear(&new_pin);
            clear(&confirm_pin);
        }
        if let Some(event) = event {
            bridge::notify(event, &context.parent_origins);
        }
    });
}

#[hook]
pub fn use_set_pin(locale: &Locale) -> SetFlow {
    let locale = locale.clone();
    let state = use_reducer(SetState::default);
    let token: Token = use_mut_ref(|| None);
    let context: Shared = use_mut_ref(|| None);
    let command = use_mut_ref(SetPinCommand::default);
    let new_pin = use_node_ref();
    let confirm_pin = use_node_ref();

    let on_submit = {
        let (state, context, new_pin, confirm_pin) =
            (state.clone(), context.clone(), new_pin.clone(), confirm_pin.clone());
        Callback::from(move |()| submit(&state, context.borrow().clone(), &new_pin, &confirm_pin))
    };

    {
        let (state, token, context, locale) = (state.clone(), token.clone(), context.clone(), locale.clone());
        use_effect_with((), move |()| match link::take() {
            Found::Token(found) => {
                *token.borrow_mut() = Some(found);
                wasm_bindgen_futures::spawn_local(start(state, token, context, locale));
            }
            Found::Expired => fail(&state, Failure::Expired, Some(Rc::from([]))),
            Found::Missing => fail(&state, Failure::MissingToken, Some(Rc::from([]))),
        });
    }

    let on_retry = {
        let (state, token, context) = (state.clone(), token.clone(), context.clone());
        Callback::from(move |()| {
            state.dispatch(SetAction::Retry);
            wasm_bindgen_futures::spawn_local(start(state.clone(), token.clone(), context.clone(), locale.clone()));
        })
    };

    // Once the form is up, the host may submit it.
    {
        let ready = state.phase == SetPhase::Ready;
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

    // While the form waits for the cardholder (or a failure that may pass is shown), the token ages.
    {
        let deadline = context.borrow().as_ref().map(|ctx| ctx.deadline_ms).or_else(link::deadline);
        let waiting = match state.phase {
            SetPhase::Ready | SetPhase::Submitting => true,
            SetPhase::Failed(failure) => failure.retryable(),
            SetPhase::Loading | SetPhase::Done => false,
        };
        let state = state.clone();
        let on_expired = Callback::from(move |()| state.dispatch(SetAction::Expire));
        use_token_expiry(deadline, waiting, flow_origins(&context), on_expired);
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

    SetFlow { state, new_pin, confirm_pin, on_input, on_submit, on_retry }
}

/// The origins the session named, or none before it.
fn flow_origins(context: &Shared) -> Rc<[String]> {
    context.borrow().as_ref().map(|ctx| ctx.parent_origins.clone()).unwrap_or_else(|| Rc::from([]))
}
