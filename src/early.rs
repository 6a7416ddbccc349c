//! The view flow, started before the first render. The session was asked for by the loader while
//! the wasm compiled; the ephemeral key and the view request need not wait for Yew to build and
//! draw the page, so `main` starts them first and the view page's hook takes the flow over
//! ([`take`]) when it mounts: the view request is then on the network while the page renders.

use std::cell::RefCell;
use std::rc::Rc;

use zeroize::Zeroizing;

use crate::flow::{self, Outcome};
use crate::fragment::Mode;
use crate::link::{self, Found};

/// A flow started early, until its outcome is handed over.
enum Slot {
    /// Running; the hook's continuation, once it has mounted.
    Running(Option<Box<dyn FnOnce(Outcome)>>),
    /// Done before the hook mounted.
    Done(Outcome),
}

/// The outcome of a flow started early, to be handed to [`Pending::then`].
pub struct Pending(Rc<RefCell<Slot>>);

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Pending {
    /// Calls `finish` with the outcome: now if it is there, else when it comes.
    pub fn then(self, finish: impl FnOnce(Outcome) + 'static) {
        let mut slot = self.0.borrow_mut();
        match std::mem::replace(&mut *slot, Slot::Running(None)) {
            Slot::Done(outcome) => {
                drop(slot);
                finish(outcome);
            }
            Slot::Running(_) => *slot = Slot::Running(Some(Box::new(finish))),
        }
    }
}

/// What the page found when it started, and the flow started with it (a view page with a token).
#[derive(Debug)]
pub struct Start {
    pub found: Found,
    pub deadline_ms: Option<f64>,
    pub pending: Option<Pending>,
}

thread_local! {
    static STARTED: RefCell<Option<Start>> = const { RefCell::new(None) };
}

/// On a view page, takes the token out of the address bar and starts the view flow with it.
pub fn start() {
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    if Mode::from_path(&path) != Some(Mode::View) {
        return;
    }
    let found = link::take();
    let deadline_ms = link::deadline();
    let pending = match &found {
        Found::Token(token) => {
            let slot = Rc::new(RefCell::new(Slot::Running(None)));
            let (running, token) = (slot.clone(), Zeroizing::new(token.as_str().to_owned()));
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = flow::view_pin(&token, deadline_ms).await;
                drop(token);
                let mut slot = running.borrow_mut();
                match std::mem::replace(&mut *slot, Slot::Running(None)) {
                    Slot::Running(Some(finish)) => {
                        drop(slot);
                        finish(outcome);
                    }
                    _ => *slot = Slot::Done(outcome),
                }
            });
            Some(Pending(slot))
        }
        _ => None,
    };
    STARTED.with(|started| *started.borrow_mut() = Some(Start { found, deadline_ms, pending }));
}

/// What [`start`] found and started, once; `None` if it did not run (not a view page).
pub fn take() -> Option<Start> {
    STARTED.with(|started| started.borrow_mut().take())
}
