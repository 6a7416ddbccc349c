//! The revealed PIN. It is shown digit by digit, and read digit by digit by a screen reader (a
//! live region announces it). It hides itself after the issuer's time (30 s unless the session
//! says otherwise) and whenever the page is hidden; the reveal control shows it again. Copying it
//! is blocked unless the issuer allows it, in which case a copy control appears: with copying off,
//! neither the digits nor the screen reader's sentence can be selected, and copy, cut, the context
//! menu and dragging are refused while the PIN is on the page.
//! `on_shown` fires after it is first in the page, which is when the host hears `view_pin_success`.

use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions};
use gloo_timers::callback::Timeout;
use pinframe_core::Pin;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;
use zeroize::Zeroizing;

use crate::hooks::use_on_page_hidden;
use crate::i18n::{spaced_digits, Key};
use crate::locale::Locale;
use crate::state::Display;

const PIN_ID: &str = "pinframe-pin";

#[derive(Debug, Properties)]
pub struct PinDisplayProps {
    pub pin: Rc<Pin>,
    pub display: Display,
    pub on_shown: Callback<()>,
    pub locale: Locale,
}

impl PartialEq for PinDisplayProps {
    fn eq(&self, other: &Self) -> bool {
        // Identity, not value: comparing PINs is not this component's business.
        Rc::ptr_eq(&self.pin, &other.pin)
            && self.display == other.display
            && self.on_shown == other.on_shown
            && self.locale == other.locale
    }
}

/// What the copy control last did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Copied {
    Yes,
    Failed,
}

#[component]
pub fn PinDisplay(props: &PinDisplayProps) -> Html {
    let locale = &props.locale;
    let revealed = use_state(|| true);
    // The live region is filled after it is in the page: text inserted together with a region is
    // not announced by every screen reader.
    let announce = use_state(|| false);
    let copied = use_state(|| None::<Copied>);
    {
        let (on_shown, announce) = (props.on_shown.clone(), announce.clone());
        use_effect_with((), move |()| {
            announce.set(true);
            on_shown.emit(());
        });
    }
    {
        let hide = revealed.setter();
        let millis = props.display.hide_after_seconds.saturating_mul(1000);
        use_effect_with(*revealed, move |shown| {
            let timer = shown.then(|| Timeout::new(millis, move || hide.set(false)));
            move || drop(timer)
        });
    }
    {
        let hide = revealed.setter();
        let on_hidden = use_callback((), move |(), ()| hide.set(false));
        use_on_page_hidden(on_hidden);
    }

    let toggle = {
        let (revealed, copied) = (revealed.clone(), copied.clone());
        Callback::from(move |_: MouseEvent| {
            copied.set(None);
            revealed.set(!*revealed);
        })
    };
    let allow_copy = props.display.allow_copy;
    // With copying off, no copy or cut anywhere in the page while the PIN is in it: a select-all
    // reaches the PIN's digits and the screen reader's sentence wherever the selection starts.
    use_effect_with(allow_copy, |allow_copy| {
        let listeners = (!*allow_copy).then(|| {
            let document = web_sys::window().and_then(|w| w.document())?;
            let block = |kind: &'static str| {
                let options = EventListenerOptions::enable_prevent_default();
                EventListener::new_with_options(&document, kind, options, |event| event.prevent_default())
            };
            Some([block("copy"), block("cut")])
        });
        move || drop(listeners)
    });
    // Nor a context menu or a drag from the PIN.
    let block = Callback::from(move |event: Event| {
        if !allow_copy {
            event.prevent_default();
        }
    });
    let copy = {
        let (pin, copied) = (props.pin.clone(), copied.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(window) = web_sys::window() else { return };
            let promise = window.navigator().clipboard().write_text(pin.expose());
            let copied = copied.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = JsFuture::from(promise).await;
                copied.set(Some(if outcome.is_ok() { Copied::Yes } else { Copied::Failed }));
            });
        })
    };

    let shown = *revealed;
    let digits = props.pin.expose().chars().map(|digit| {
        let digit = if shown { digit } else { '•' };
        html! { <span class="pinframe-digit">{ digit }</span> }
    });
    let announcement: Zeroizing<String> = match (*announce, shown) {
        (false, _) => Zeroizing::new(String::new()),
        (true, true) => {
            let digits = Zeroizing::new(spaced_digits(props.pin.expose()));
            Zeroizing::new(locale.lang.format(Key::PinAnnounce, &[("digits", digits.as_str())]))
        }
        (true, false) => Zeroizing::new(locale.text(Key::PinHidden).to_owned()),
    };
    let copy_status = match *copied {
        Some(Copied::Yes) => locale.text(Key::PinCopied),
        Some(Copied::Failed) => locale.text(Key::CopyFailed),
        None => "",
    };
    let seconds = props.display.hide_after_seconds.to_string();
    let pin_class = match (shown, allow_copy) {
        (true, false) => "pinframe-pin",
        (false, false) => "pinframe-pin pinframe-pin-hidden",
        (true, true) => "pinframe-pin pinframe-pin-copyable",
        (false, true) => "pinframe-pin pinframe-pin-hidden pinframe-pin-copyable",
    };
    html! {
        <div class="pinframe-reveal-area" oncontextmenu={block.reform(|e: MouseEvent| e.into())}
            ondragstart={block.reform(|e: DragEvent| e.into())}>
            <p class={pin_class} id={PIN_ID} aria-hidden="true" dir="ltr" data-revealed={shown.to_string()}>{ for digits }</p>
            <p class="pinframe-sr-only pinframe-announce" aria-live="polite" aria-atomic="true">{ announcement.as_str() }</p>
            <div class="pinframe-actions">
                <button type="button" class="pinframe-toggle pinframe-reveal" aria-controls={PIN_ID} onclick={toggle}>
                    { locale.text(if shown { Key::HidePin } else { Key::ShowPin }) }
                </button>
                if allow_copy && shown {
                    <button type="button" class="pinframe-toggle pinframe-copy" onclick={copy}>
                        { locale.text(Key::CopyPin) }
                    </button>
                }
            </div>
            <p class="pinframe-status pinframe-copy-status" role="status">{ copy_status }</p>
            <p class="pinframe-hint">{ locale.text(Key::PinHint) }</p>
            <p class="pinframe-hint pinframe-auto-hide">
                { locale.lang.format(Key::PinAutoHide, &[("seconds", seconds.as_str())]) }
            </p>
        </div>
    }
}
