//! Entry point of the widget: puts the appearance the host asked for on the page, starts fetching
//! the theme's fonts, starts the view flow on a view page (`early`), then renders the root
//! component into the page body.

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    pinframe_widget::appearance::apply();
    // Before anything is drawn or asked for: see `theme_fonts` for why.
    pinframe_widget::theme_fonts::fetch_all();
    pinframe_widget::early::start();
    yew::Renderer::<pinframe_widget::App>::new().render();
}
