//! The allowlists: what a theme may name. Everything not listed here is dropped.

/// The class names issuers may style: every element of the widget carries one (docs/theming.md).
pub const CLASSES: &[&str] = &[
    // On `<html>` when the host chose the appearance (`theme=light` or `theme=dark`).
    "pinframe-light",
    "pinframe-dark",
    "pinframe",
    "pinframe-view",
    "pinframe-set",
    "pinframe-title",
    "pinframe-status",
    "pinframe-loading",
    "pinframe-spinner",
    "pinframe-reveal-area",
    "pinframe-pin",
    "pinframe-pin-hidden",
    "pinframe-pin-copyable",
    "pinframe-digit",
    "pinframe-hint",
    "pinframe-auto-hide",
    "pinframe-failure",
    "pinframe-error",
    "pinframe-retry",
    "pinframe-done",
    "pinframe-form",
    "pinframe-field",
    "pinframe-label",
    "pinframe-input",
    "pinframe-invalid",
    "pinframe-message",
    "pinframe-actions",
    "pinframe-submit",
    "pinframe-toggle",
    "pinframe-reveal",
    "pinframe-copy",
    "pinframe-copy-status",
];

/// Pseudo-classes that depend on the cardholder's pointer and focus, never on what was typed.
pub(super) const PSEUDO_CLASSES: &[&str] =
    &["root", "hover", "focus", "focus-visible", "focus-within", "active", "disabled", "first-child", "last-child"];

pub(super) const PSEUDO_ELEMENTS: &[&str] = &["placeholder", "selection"];

/// Properties a theme may set: colour, type, spacing, borders and shapes. Nothing that positions
/// or hides elements, inserts content or loads anything.
pub const PROPERTIES: &[&str] = &[
    "accent-color",
    "background",
    "background-color",
    "border",
    "border-block",
    "border-block-end",
    "border-block-start",
    "border-bottom",
    "border-color",
    "border-inline",
    "border-inline-end",
    "border-inline-start",
    "border-left",
    "border-radius",
    "border-right",
    "border-style",
    "border-top",
    "border-width",
    "box-shadow",
    "caret-color",
    "color",
    "column-gap",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant-numeric",
    "font-weight",
    "gap",
    "letter-spacing",
    "line-height",
    "margin",
    "margin-block",
    "margin-block-end",
    "margin-block-start",
    "margin-bottom",
    "margin-inline",
    "margin-inline-end",
    "margin-inline-start",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-height",
    "min-width",
    "opacity",
    "outline",
    "outline-color",
    "outline-offset",
    "outline-style",
    "outline-width",
    "padding",
    "padding-block",
    "padding-block-end",
    "padding-block-start",
    "padding-bottom",
    "padding-inline",
    "padding-inline-end",
    "padding-inline-start",
    "padding-left",
    "padding-right",
    "padding-top",
    "row-gap",
    "text-align",
    "text-decoration",
    "text-shadow",
    "text-transform",
    "word-spacing",
];

/// Descriptors an `@font-face` may hold. Not `unicode-range`, which refuses the whole theme: a
/// font fetched only for some characters tells which of them are on the page.
pub(super) const FONT_FACE_DESCRIPTORS: &[&str] =
    &["font-family", "src", "font-weight", "font-style", "font-display", "font-stretch"];

/// Functions allowed in values: arithmetic, custom properties, colours and gradients.
pub const FUNCTIONS: &[&str] = &[
    "calc",
    "min",
    "max",
    "clamp",
    "var",
    "rgb",
    "rgba",
    "hsl",
    "hsla",
    "hwb",
    "lab",
    "lch",
    "oklab",
    "oklch",
    "color-mix",
    "linear-gradient",
    "radial-gradient",
];

/// Media features a theme may test: colour scheme, motion, contrast and width.
pub const MEDIA_FEATURES: &[&str] = &[
    "prefers-color-scheme",
    "prefers-reduced-motion",
    "prefers-contrast",
    "forced-colors",
    "min-width",
    "max-width",
    "width",
    "orientation",
];

/// Media types and the words that join media queries.
pub(super) const MEDIA_WORDS: &[&str] = &["all", "screen", "print", "and", "not", "only", "or"];

/// How deep blocks may nest inside a value or a media query.
pub(super) const MAX_DEPTH: usize = 8;
