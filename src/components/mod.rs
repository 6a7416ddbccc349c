//! The widget's components, one per file.

mod failure_notice;
mod loading;
mod pin_display;
mod view_page;

pub use failure_notice::FailureNotice;
pub use loading::Loading;
pub use pin_display::PinDisplay;
pub use view_page::ViewPage;
