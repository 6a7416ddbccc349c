//! Entry point of the widget: renders the root component into the page body.

fn main() {
    yew::Renderer::<pinframe_widget::App>::new().render();
}
