//! Entry point of the widget: puts the appearance the host asked for on the page, starts fetching
//! the theme's fonts, starts the view flow on a view page (`early`), then renders the root
//! component into the page body (once the catalogue of the page's language is here, and on a view
//! page once the view request is out).

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    pinframe_widget::appearance::apply();
    // Before anything is drawn or asked for: see `theme_fonts` for why.
    pinframe_widget::theme_fonts::fetch_all();
    let asked = pinframe_widget::early::start();
    // The first paint is in the page's language: its catalogue first, unless it is here already;
    // and on a view page once the view request is out (`early`).
    let lang = pinframe_widget::locale::wanted();
    if lang.catalogue().is_some() && asked.is_none() {
        render();
    } else {
        wasm_bindgen_futures::spawn_local(async move {
            if lang.catalogue().is_none() {
                pinframe_widget::locale::load(lang).await;
            }
            if let Some(asked) = asked {
                let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
            }
            render();
        });
    }
}

fn render() {
    yew::Renderer::<pinframe_widget::App>::new().render();
}
