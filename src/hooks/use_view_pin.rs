//! Runs the view flow when the page mounts, and again when the cardholder asks to try again after
//! a failure that may pass. The token is taken out of the address bar first ([`crate::link`]).

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;
use zeroize::Zeroizing;

use super::use_token_expiry;
use crate::early::{self, Start};
use crate::flow::{self, Outcome};
use crate::link::{self, Found};
use crate::locale::Locale;
use crate::state::{Failure, Phase, ViewAction, ViewState};

/// The view page's state, and its "Try again".
#[derive(Clone, Debug)]
pub struct ViewFlow {
    pub state: UseReducerHandle<ViewState>,
    pub on_retry: Callback<()>,
}

type Token = Rc<RefCell<Option<Zeroizing<String>>>>;

fn run(state: UseReducerHandle<ViewState>, token: Token, deadline: UseStateHandle<Option<f64>>, locale: Locale) {
    let Some(text) = token.borrow().clone() else {
        return state.dispatch(ViewAction::Fail { failure: Failure::MissingToken, parent_origins: Rc::from([]) });
    };
    let known = *deadline;
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = flow::view_pin(&text, known, &|| {}).await;
        drop(text);
        finish(&state, &token, &deadline, &locale, outcome);
    });
}

/// Shows how a run of the flow ended, in the session's language, and keeps what the token's
/// expiry and use mean for a reload.
fn finish(
    state: &UseReducerHandle<ViewState>,
    token: &Token,
    deadline: &UseStateHandle<Option<f64>>,
    locale: &Locale,
    outcome: Outcome,
) {
    locale.adopt(outcome.language.as_deref());
    if let Some(at) = outcome.deadline_ms {
        link::remember_deadline(at);
        deadline.set(Some(at));
    }
    let parent_origins = outcome.parent_origins;
    let final_outcome = outcome.result.as_ref().map_or_else(|failure| !failure.retryable(), |_| true);
    if final_outcome {
        // Used, refused, expired or of no use here: neither memory nor a reload keeps it.
        link::end(matches!(outcome.result, Err(Failure::Expired)));
        token.borrow_mut().take();
    }
    state.dispatch(match outcome.result {
        Ok((pin, display)) => ViewAction::Reveal { pin, display, parent_origins },
        Err(failure) => ViewAction::Fail { failure, parent_origins },
    });
}

#[hook]
pub fn use_view_pin(locale: &Locale) -> ViewFlow {
    let locale = locale.clone();
    let state = use_reducer(ViewState::default);
    let token: Token = use_mut_ref(|| None);
    let deadline = use_state(|| None::<f64>);
    {
        let (state, token, deadline, locale) = (state.clone(), token.clone(), deadline.clone(), locale.clone());
        use_effect_with((), move |()| {
            // `main` took the token and started the flow before the first render (`early`).
            let started = early::take();
            let (found, known, pending) = match started {
                Some(Start { found, deadline_ms, pending }) => (found, deadline_ms, pending),
                None => (link::take(), link::deadline(), None),
            };
            match found {
                Found::Token(found) => {
                    *token.borrow_mut() = Some(found);
                    deadline.set(known);
                    match pending {
                        Some(pending) => {
                            pending.then(move |outcome| finish(&state, &token, &deadline, &locale, outcome))
                        }
                        None => run(state, token, deadline, locale),
                    }
                }
                // No token, no origin to tell: only the webview bridges hear of it.
                Found::Expired => {
                    state.dispatch(ViewAction::Fail { failure: Failure::Expired, parent_origins: Rc::from([]) })
                }
                Found::Missing => {
                    state.dispatch(ViewAction::Fail { failure: Failure::MissingToken, parent_origins: Rc::from([]) })
                }
            }
        });
    }
    let on_retry = {
        let (state, token, deadline) = (state.clone(), token.clone(), deadline.clone());
        Callback::from(move |()| {
            state.dispatch(ViewAction::Retry);
            run(state.clone(), token.clone(), deadline.clone(), locale.clone());
        })
    };
    // Only while a failure that may pass is shown is the token waiting for the cardholder.
    let waiting = matches!(state.phase, Phase::Failed(failure) if failure.retryable());
    let on_expired = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(ViewAction::Expire))
    };
    use_token_expiry(*deadline, waiting, state.parent_origins.clone(), on_expired);
    ViewFlow { state, on_retry }
}
