//! Custom hooks.

mod use_page;
mod use_set_pin;
mod use_token_expiry;
mod use_view_pin;

pub use use_page::{use_focus_on_mount, use_on_page_hidden, use_resize_reporter};
pub use use_set_pin::{use_set_pin, SetFlow};
pub use use_token_expiry::use_token_expiry;
pub use use_view_pin::{use_view_pin, ViewFlow};
