//! Small hooks about the page itself: focus, visibility and size.

use std::cell::Cell;
use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, ResizeObserver};
use yew::prelude::*;

use crate::bridge;

/// A node that takes the keyboard focus when it mounts (give it `tabindex="-1"` unless it is a
/// control), so a screen reader reads what just appeared and the keyboard starts from it.
#[hook]
pub fn use_focus_on_mount() -> NodeRef {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with((), move |()| {
            if let Some(element) = node.cast::<HtmlElement>() {
                let _ = element.focus();
            }
        });
    }
    node
}

/// Calls `on_hidden` whenever the page stops being visible (another app, another tab, a locked
/// screen: `visibilitychange` with `document.hidden`).
#[hook]
pub fn use_on_page_hidden(on_hidden: Callback<()>) {
    use_effect_with(on_hidden, |on_hidden| {
        let on_hidden = on_hidden.clone();
        let listener = web_sys::window().and_then(|w| w.document()).map(|document| {
            EventListener::new(&document.clone(), "visibilitychange", move |_| {
                if document.hidden() {
                    on_hidden.emit(());
                }
            })
        });
        move || drop(listener)
    });
}

/// Tells a framing page the height of the widget's content whenever it changes (the `resize`
/// event), so the iframe can fit it without a fixed height or a scroll bar.
#[hook]
pub fn use_resize_reporter(parent_origins: Rc<[String]>) {
    use_effect_with(parent_origins, |origins| {
        let origins = origins.clone();
        let body = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body());
        let observed = body.and_then(|body| {
            let last = Cell::new(0u32);
            let measured = body.clone();
            let report = Closure::<dyn Fn()>::new(move || {
                // A CSS pixel height; ceil so the frame never cuts a fraction of a line off.
                let height = measured.get_bounding_client_rect().height().ceil().clamp(0.0, 1e6) as u32;
                if height != last.get() {
                    last.set(height);
                    bridge::post_resize(height, &origins);
                }
            });
            let observer = ResizeObserver::new(report.as_ref().unchecked_ref()).ok()?;
            observer.observe(&body);
            Some((observer, report))
        });
        move || {
            if let Some((observer, report)) = observed {
                observer.disconnect();
                drop(report);
            }
        }
    });
}
