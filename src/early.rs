//! The view flow, started before the first render. The session was asked for by the loader while
//! the wasm compiled; the ephemeral key and the view request need not wait for Yew to build and
//! draw the page, so `main` starts them first (when the session's answer is already in, the view
//! request is sent before `main` goes on to render) and the view page's hook takes the flow over
//! ([`take`]) when it mounts: the view request is then on the network while the page renders.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Waker};

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::JsValue;
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

/// How long the first render may wait for the view request to go out.
const RENDER_WAIT_MS: u32 = 20;

/// On a view page, takes the token out of the address bar and starts the view flow with it.
/// Returns, when it started one, a promise that settles once the view request is on the network
/// (or the flow ended before it, or [`RENDER_WAIT_MS`] passed): the page renders after it, so
/// that the request does not wait for the render, and a slow session never keeps the page blank
/// for long.
pub fn start() -> Option<Promise> {
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    if Mode::from_path(&path) != Some(Mode::View) {
        return None;
    }
    let found = link::take();
    let deadline_ms = link::deadline();
    let mut gate = None;
    let pending = match &found {
        Found::Token(token) => {
            let mut resolve = None;
            let asked = Promise::new(&mut |resolved, _| resolve = Some(resolved));
            let open: Rc<dyn Fn()> = match resolve {
                Some(resolve) => Rc::new(move || drop(resolve.call0(&JsValue::NULL))),
                None => Rc::new(|| {}),
            };
            let late = open.clone();
            Timeout::new(RENDER_WAIT_MS, move || late()).forget();
            gate = Some(asked);
            let slot = Rc::new(RefCell::new(Slot::Running(None)));
            let (running, token) = (slot.clone(), Zeroizing::new(token.as_str().to_owned()));
            let mut flow = Box::pin(async move {
                let outcome = flow::view_pin(&token, deadline_ms, &*open).await;
                open();
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
            // Run it now as far as it goes without waiting: when the loader's session answer is
            // already in, that is the key and the view request, sent before the first render
            // rather than after it. The executor then takes it on (and gives it a real waker: a
            // pending JavaScript promise keeps the waker of its latest poll).
            let mut first = Context::from_waker(Waker::noop());
            if flow.as_mut().poll(&mut first).is_pending() {
                wasm_bindgen_futures::spawn_local(flow);
            }
            Some(Pending(slot))
        }
        _ => None,
    };
    STARTED.with(|started| *started.borrow_mut() = Some(Start { found, deadline_ms, pending }));
    gate
}

/// What [`start`] found and started, once; `None` if it did not run (not a view page).
pub fn take() -> Option<Start> {
    STARTED.with(|started| started.borrow_mut().take())
}
