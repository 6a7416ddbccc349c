//! Runs the view flow once, when the page mounts. The token is taken out of the address bar first,
//! so it is not left in history, bookmarks or a screenshot of the URL.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use yew::prelude::*;
use zeroize::Zeroizing;

use crate::flow;
use crate::fragment::token_from_fragment;
use crate::locale::use_locale;
use crate::state::{Failure, ViewAction, ViewState};

/// Reads `#token=…` and replaces the URL with one without a fragment.
pub(crate) fn take_token() -> Option<Zeroizing<String>> {
    let window = web_sys::window()?;
    let location = window.location();
    let hash = Zeroizing::new(location.hash().ok()?);
    let token = token_from_fragment(&hash).map(|t| Zeroizing::new(t.expose().to_owned()));
    if !hash.is_empty() {
        let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
        }
    }
    token
}

#[hook]
pub fn use_view_pin() -> UseReducerHandle<ViewState> {
    let state = use_reducer(ViewState::default);
    let locale = use_locale();
    {
        let state = state.clone();
        use_effect_with((), move |()| {
            let token = take_token();
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = match token {
                    Some(token) => flow::view_pin(token).await,
                    // No token, no origin to tell: only the webview bridges hear of it.
                    None => flow::Outcome {
                        result: Err(Failure::MissingToken),
                        parent_origins: Rc::from([]),
                        language: None,
                    },
                };
                locale.adopt(outcome.language.as_deref());
                let parent_origins = outcome.parent_origins;
                state.dispatch(match outcome.result {
                    Ok((pin, display)) => ViewAction::Reveal { pin, display, parent_origins },
                    Err(failure) => ViewAction::Fail { failure, parent_origins },
                });
            });
        });
    }
    state
}
