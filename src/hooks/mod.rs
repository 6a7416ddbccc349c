//! Custom hooks.

mod use_view_pin;

pub use use_view_pin::use_view_pin;
