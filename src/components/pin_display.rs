//! The PIN, digit by digit. `on_shown` fires after it is in the page, which is when the host hears
//! `view_pin_success`.

use std::rc::Rc;

use pinframe_core::Pin;
use yew::prelude::*;

#[derive(Debug, Properties)]
pub struct PinDisplayProps {
    pub pin: Rc<Pin>,
    pub on_shown: Callback<()>,
}

impl PartialEq for PinDisplayProps {
    fn eq(&self, other: &Self) -> bool {
        // Identity, not value: comparing PINs is not this component's business.
        Rc::ptr_eq(&self.pin, &other.pin) && self.on_shown == other.on_shown
    }
}

#[component]
pub fn PinDisplay(props: &PinDisplayProps) -> Html {
    {
        let on_shown = props.on_shown.clone();
        use_effect_with((), move |()| on_shown.emit(()));
    }
    let digits = props.pin.expose().chars().map(|digit| html! { <span class="pinframe-digit">{ digit }</span> });
    html! {
        <>
            <p class="pinframe-pin" aria-live="polite">{ for digits }</p>
            <p class="pinframe-hint">{ "Keep your PIN secret. Your bank will never ask you for it." }</p>
        </>
    }
}
