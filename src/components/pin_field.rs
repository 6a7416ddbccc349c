//! One PIN input with its label and its message, tied together with `aria-describedby`. The input
//! runs left to right in every language, so typed digits stay in order. A plain function, not a
//! component: it keeps no state, and every component type brings its own copy of Yew's lifecycle
//! into the wasm.

use yew::prelude::*;

use crate::i18n::Key;
use crate::locale::Locale;

#[derive(Debug)]
pub struct PinField<'a> {
    pub id: &'static str,
    pub label: Key,
    pub node_ref: &'a NodeRef,
    /// Show the digits instead of dots.
    pub revealed: bool,
    pub max_len: &'a str,
    pub message: Option<Key>,
    pub disabled: bool,
    pub on_input: &'a Callback<()>,
}

pub fn pin_field(locale: &Locale, field: PinField<'_>) -> Html {
    let mut message_id = String::from(field.id);
    message_id.push_str("-message");
    let oninput = field.on_input.reform(|_: InputEvent| ());
    let invalid = field.message.is_some();
    html! {
        <div class="pinframe-field">
            <label class="pinframe-label" for={field.id}>{ locale.text(field.label) }</label>
            <input
                id={field.id}
                class={if invalid { "pinframe-input pinframe-invalid" } else { "pinframe-input" }}
                ref={field.node_ref.clone()}
                type={if field.revealed { "text" } else { "password" }}
                inputmode="numeric"
                dir="ltr"
                pattern="[0-9]*"
                autocomplete="off"
                autocapitalize="off"
                spellcheck="false"
                maxlength={field.max_len.to_owned()}
                disabled={field.disabled}
                aria-invalid={if invalid { "true" } else { "false" }}
                aria-describedby={message_id.clone()}
                {oninput}
            />
            <p id={message_id} class="pinframe-message" aria-live="polite">
                { field.message.map(|key| locale.text(key)).unwrap_or_default() }
            </p>
        </div>
    }
}
