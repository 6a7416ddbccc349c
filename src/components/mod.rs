//! The widget's components, one per file.

mod failure_notice;
mod loading;
mod pin_display;
mod pin_field;
mod set_page;
mod view_page;

pub use failure_notice::FailureNotice;
pub use loading::loading;
pub use pin_display::PinDisplay;
pub use pin_field::{pin_field, PinField};
pub use set_page::SetPage;
pub use view_page::ViewPage;
