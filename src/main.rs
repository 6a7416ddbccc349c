//! Entry point of the widget: puts the appearance the host asked for on the page, starts fetching
//! the theme's fonts, starts the view flow on a view page (`early`), then renders the root
//! component into the page body (once the catalogue of the page's language is here).

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    pinframe_widget::appearance::apply();
    // Before anything is drawn or asked for: see `theme_fonts` for why.
    pinframe_widget::theme_fonts::fetch_all();
    pinframe_widget::early::start();
    // The first paint is in the page's language: its catalogue first, unless it is here already.
    let lang = pinframe_widget::locale::wanted();
    if lang.catalogue().is_some() {
        render();
    } else {
        wasm_bindgen_futures::spawn_local(async move {
            pinframe_widget::locale::load(lang).await;
            render();
        });
    }
}

fn render() {
    yew::Renderer::<pinframe_widget::App>::new().render();
}
