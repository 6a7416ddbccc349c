//! One PIN input with its label and its message, tied together with `aria-describedby`. The input
//! runs left to right in every language, so typed digits stay in order.

use yew::prelude::*;

use crate::i18n::Key;
use crate::locale::use_locale;

#[derive(Debug, Properties, PartialEq)]
pub struct PinFieldProps {
    pub id: AttrValue,
    pub label: Key,
    pub node_ref: NodeRef,
    /// Show the digits instead of dots.
    pub revealed: bool,
    pub max_len: usize,
    pub message: Option<Key>,
    pub disabled: bool,
    pub on_input: Callback<()>,
}

#[component]
pub fn PinField(props: &PinFieldProps) -> Html {
    let locale = use_locale();
    let message_id = format!("{}-message", props.id);
    let oninput = props.on_input.reform(|_: InputEvent| ());
    let invalid = props.message.is_some();
    html! {
        <div class="pinframe-field">
            <label class="pinframe-label" for={props.id.clone()}>{ locale.text(props.label) }</label>
            <input
                id={props.id.clone()}
                class={if invalid { "pinframe-input pinframe-invalid" } else { "pinframe-input" }}
                ref={props.node_ref.clone()}
                type={if props.revealed { "text" } else { "password" }}
                inputmode="numeric"
                dir="ltr"
                pattern="[0-9]*"
                autocomplete="off"
                autocapitalize="off"
                spellcheck="false"
                maxlength={props.max_len.to_string()}
                disabled={props.disabled}
                aria-invalid={invalid.to_string()}
                aria-describedby={message_id.clone()}
                {oninput}
            />
            <p id={message_id} class="pinframe-message" aria-live="polite">
                { props.message.map(|key| locale.text(key)).unwrap_or_default() }
            </p>
        </div>
    }
}
