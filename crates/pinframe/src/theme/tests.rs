//! The theme check as a whole: what comes out of [`sanitize`] for whole uploads.

use super::*;

fn issuer() -> IssuerId {
    IssuerId::parse("DEMOISSUER").unwrap()
}

fn clean(css: &str) -> Theme {
    sanitize(css, &issuer()).expect("the theme is refused")
}

fn refused(css: &str) -> Refused {
    sanitize(css, &issuer()).expect_err("the theme is kept")
}

#[test]
fn a_plain_theme_is_kept() {
    let theme = clean(
        ":root { --pinframe-accent: #6a1b9a; --pinframe-radius: 2px }\n\
         .pinframe-title { color: rgb(20, 20, 20); font-size: calc(1rem + 2px) }\n\
         .pinframe-form .pinframe-submit:hover, .pinframe > .pinframe-title { background: var(--pinframe-accent) }",
    );
    assert_eq!(theme.dropped, vec![]);
    assert_eq!(
        theme.css,
        ":root{--pinframe-accent:#6a1b9a;--pinframe-radius:2px}\n\
         .pinframe-title{color:rgb(20, 20, 20);font-size:calc(1rem + 2px)}\n\
         .pinframe-form .pinframe-submit:hover, .pinframe > .pinframe-title{background:var(--pinframe-accent)}\n"
    );
}

#[test]
fn hostile_pieces_are_dropped_with_reasons() {
    let theme = clean(
        "@import url(https://evil.example/x.css);\n\
         .pinframe-input[value^=\"1\"] { background: red }\n\
         .pinframe-title { color: expression(alert(1)); color: red; background: url(https://evil.example/a.png) }\n\
         input { color: red }\n\
         .pinframe-field:has(.pinframe-input:focus) { color: red }\n\
         #x, .other { color: red }\n\
         :hover .pinframe-title, .pinframe :focus { color: red }\n\
         .pinframe-title { behavior: url(x.htc); -moz-binding: url(x.xml#y); content: \"x\" }\n\
         @font-face { font-family: X; src: url(https://evil.example/f.woff2) }\n\
         @namespace svg url(http://www.w3.org/2000/svg);\n\
         .pinframe-title { color: attr(data-x); --other: 1; --pinframe-x: image-set(\"a.png\" 1x) }",
    );
    assert_eq!(theme.css, ".pinframe-title{color:red}\n");
    let lines: Vec<u32> = theme.dropped.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![1, 2, 3, 3, 4, 5, 6, 7, 8, 8, 8, 9, 10, 11, 11, 11], "{:#?}", theme.dropped);
    let reasons: Vec<&str> = theme.dropped.iter().map(|d| d.reason.as_str()).collect();
    assert!(reasons[0].starts_with("@import is not allowed"), "{reasons:?}");
    assert!(reasons[1].starts_with("attribute selectors are not allowed"), "{reasons:?}");
    assert!(reasons.contains(&"the function expression() is not allowed"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("url() must name a font")), "{reasons:?}");
    assert!(!theme.css.contains("evil") && !theme.css.contains("url"));
}

#[test]
fn fonts_served_here_are_kept() {
    let theme = clean(
        "@font-face { font-family: \"Brand Sans\"; src: url(\"/pin/fonts/DEMOISSUER/brand-sans.woff2\") format(\"woff2\"); font-display: swap }\n\
         @font-face { font-family: Other; src: url(/pin/fonts/OTHERISSUE/x.woff2) }\n\
         @font-face { font-family: Up; src: url(\"/pin/fonts/DEMOISSUER/../x.woff2\") }\n\
         .pinframe { font-family: \"Brand Sans\", system-ui }",
    );
    assert_eq!(
        theme.css,
        "@font-face{font-family:\"Brand Sans\";src:url(\"/pin/fonts/DEMOISSUER/brand-sans.woff2\") format(\"woff2\");font-display:swap}\n\
\
         .pinframe{font-family:\"Brand Sans\", system-ui}\n"
    );
    assert_eq!(theme.dropped.len(), 2, "{:#?}", theme.dropped);
}

#[test]
fn media_queries_from_the_allowlist() {
    let theme = clean(
        "@media (prefers-color-scheme: dark) { :root { --pinframe-bg: #111 } }\n\
         @media screen and (max-width: 30rem) { .pinframe { padding: 8px } }\n\
         @media (min-resolution: 2dppx) { .pinframe { padding: 8px } }\n\
         @media (prefers-reduced-motion: reduce) { @import url(x.css); .pinframe-spinner { opacity: 0.5 } }",
    );
    assert_eq!(
        theme.css,
        "@media (prefers-color-scheme: dark){\n:root{--pinframe-bg:#111}\n}\n\
         @media screen and (max-width: 30rem){\n.pinframe{padding:8px}\n}\n\
         @media (prefers-reduced-motion: reduce){\n.pinframe-spinner{opacity:0.5}\n}\n"
    );
    assert_eq!(theme.dropped.len(), 2, "{:#?}", theme.dropped);
}

#[test]
fn the_appearance_classes_are_kept() {
    let theme = clean(
        "@media (prefers-color-scheme: dark) { :root { --pinframe-bg: #101418 } }\n\
         :root.pinframe-light { --pinframe-bg: #fafafa }\n\
         .pinframe-dark .pinframe-title, .pinframe-failure > .pinframe-retry { color: #eeeeee }",
    );
    assert_eq!(theme.dropped, vec![]);
    assert_eq!(
        theme.css,
        "@media (prefers-color-scheme: dark){\n:root{--pinframe-bg:#101418}\n}\n\
         :root.pinframe-light{--pinframe-bg:#fafafa}\n\
         .pinframe-dark .pinframe-title, .pinframe-failure > .pinframe-retry{color:#eeeeee}\n"
    );
}

#[test]
fn what_comes_out_goes_back_in_unchanged() {
    let inputs = [
        ":root{--pinframe-accent:#123456} .pinframe-title{color:var(--pinframe-accent)!important}",
        ".pinframe-input:focus-visible::placeholder{color:hsl(10 20% 30% / .5)}",
        "@media (width >= 30rem){.pinframe{max-width:40rem}}",
        ".pinframe-title{font-family:'a\"b', serif}",
    ];
    for input in inputs {
        let once = clean(input);
        assert_eq!(once.dropped, vec![], "{input}");
        let twice = clean(&once.css);
        assert_eq!(twice.css, once.css, "{input}");
        assert_eq!(twice.dropped, vec![]);
    }
}

#[test]
fn nesting_is_bounded_and_garbage_is_dropped() {
    let deep = format!(".pinframe{{margin:{}1px{}}}", "calc(".repeat(40), ")".repeat(40));
    let theme = clean(&deep);
    assert_eq!(theme.css, "");
    assert_eq!(theme.dropped[0].reason, "the value nests too deeply");
    for garbage in ["}}}{{{", "<!-- -->", "\u{0}", ".pinframe{color:red", "@media", "..pinframe{}"] {
        let theme = clean(garbage);
        assert!(!theme.css.contains('<'), "{garbage:?} -> {:?}", theme.css);
    }
}

/// The CSS with the contents of its strings (always written in double quotes) left out.
fn outside_strings(css: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in css.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (true, false, _) => {}
            (false, _, c) => out.push(c),
        }
    }
    out
}

#[test]
fn unicode_range_refuses_the_whole_theme() {
    // The per-digit font drill: one font per digit and place, each fetched only for its digit.
    let drill = ".pinframe-digit:first-child { font-family: P1D3, P1D5 }\n\
                 @font-face { font-family: P1D3; src: url(/pin/fonts/DEMOISSUER/p1d3.woff2); unicode-range: U+0033 }\n\
                 @font-face { font-family: P1D5; src: url(/pin/fonts/DEMOISSUER/p1d5.woff2); unicode-range: U+35 }";
    let refusal = refused(drill);
    let places: Vec<(u32, u32)> = refusal.issues.iter().map(|i| (i.line, i.column)).collect();
    assert_eq!(places, vec![(2, 77), (3, 77)], "{refusal:#?}");
    assert!(refusal.issues[0].reason.starts_with("unicode-range is not allowed in @font-face"), "{refusal:#?}");
    assert!(refusal.message().starts_with("The theme is refused (docs/theming.md): line 2, column 77: unicode-range"));
    assert_eq!(Refused::CODE, "unsafe_theme");

    // However it is spelt, wherever in the block, whatever the range.
    for css in [
        "@font-face{font-family:A;src:url(/pin/fonts/DEMOISSUER/a.woff2);UNICODE-RANGE:U+30-39}",
        "@font-face{font-family:A;src:url(/pin/fonts/DEMOISSUER/a.woff2);unicode-r\\61nge:U+3?}",
        ":root{--pinframe-fg:#000}\n@font-face{unicode-range:U+0-10FFFF;font-family:A;src:url(/pin/fonts/DEMOISSUER/a.woff2)}",
        "@font-face{font-family:A;unicode-range:U+30}",
    ] {
        assert_eq!(refused(css).issues.len(), 1, "{css}");
    }
    // Outside @font-face it is no descriptor: an unknown property, dropped like any other.
    let theme = clean(".pinframe { unicode-range: U+30; color: red }");
    assert_eq!((theme.css.as_str(), theme.dropped.len()), (".pinframe{color:red}\n", 1));
}

/// Everything else that could make a request, or a style, depend on a digit on the page or in an
/// input is dropped: selectors on an input's value or state, functional pseudo-classes (`:has`,
/// `:nth-child`), generated content and counters, every URL but the issuer's fonts, `@import`.
#[test]
fn digit_dependent_constructs_are_dropped() {
    let font = "url(/pin/fonts/DEMOISSUER/a.woff2)";
    let pieces = [
        ".pinframe-input[value^=\"1\"] { color: red }".to_owned(),
        ".pinframe-input:placeholder-shown { color: red }".to_owned(),
        ".pinframe-input:valid, .pinframe-input:invalid { color: red }".to_owned(),
        ".pinframe-input:in-range { color: red }".to_owned(),
        ".pinframe-field:has(.pinframe-input:focus) { color: red }".to_owned(),
        ".pinframe-digit:nth-child(1) { color: red }".to_owned(),
        ".pinframe-digit:nth-of-type(2) { color: red }".to_owned(),
        ".pinframe-pin:empty { color: red }".to_owned(),
        ".pinframe-digit { content: attr(data-x); counter-increment: d; font-family: attr(x) }".to_owned(),
        "@counter-style d { system: cyclic; symbols: a }".to_owned(),
        ".pinframe-digit { background: image-set(\"a.png\" 1x); border-image: url(a.png) 1 }".to_owned(),
        ".pinframe-digit { background: -webkit-image-set(url(a.png) 1x); color: src(\"x\") }".to_owned(),
        format!(".pinframe-digit {{ background: {font} }}"),
        format!("@font-face {{ font-family: A; src: local(Arial), {font} }}"),
        "@import url(/pin/fonts/DEMOISSUER/a.woff2);".to_owned(),
        "@font-feature-values A { @styleset { x: 1 } }".to_owned(),
        "@property --pinframe-x { syntax: '<url>'; inherits: true }".to_owned(),
        "@container (min-width: 1px) { .pinframe { color: red } }".to_owned(),
    ];
    for piece in pieces {
        let theme = clean(&piece);
        assert_eq!(theme.css, "", "{piece}");
        assert!(!theme.dropped.is_empty(), "{piece}");
    }
}

proptest::proptest! {
    /// Whatever is uploaded: no panic; what comes out is kept whole when checked again (so
    /// nothing in it relied on a parse quirk); and it holds no fetch, no import and no
    /// attribute selector.
    #[test]
    fn any_upload_gives_a_closed_idempotent_theme(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            ".pinframe-title", ".pinframe-input", ":root", " ", ">", ",", "{", "}", ";", ":", "(", ")", "[", "]",
            "\"", "'", "\\", "/*", "*/", "@import", "@media", "@font-face", "url(", "/pin/fonts/DEMOISSUER/a.woff2",
            "http://x", "color", "--pinframe-a", "red", "#fff", "1px", "calc(", "var(", "expression(", "!important",
            "value^=", "input", "src", "font-family", ":hover", "::placeholder", "(max-width: 1px)", "\n", "\u{0}",
            "<", "-->", "<!--", "e", "0", "unicode-range", "U+30", ":nth-child(1)", "attr(", "content",
        ]), 0..60),
    ) {
        let source: String = pieces.concat();
        let Ok(once) = sanitize(&source, &issuer()) else {
            // Only unicode-range refuses a theme whole.
            proptest::prop_assert!(source.contains("unicode-range"), "{source:?}");
            return Ok(());
        };
        let twice = clean(&once.css);
        proptest::prop_assert_eq!(&twice.css, &once.css);
        proptest::prop_assert!(twice.dropped.is_empty(), "{:?}", twice.dropped);
        let without_fonts = once.css.replace("url(\"/pin/fonts/DEMOISSUER/a.woff2\")", "");
        let code = outside_strings(&without_fonts);
        for banned in ["url(", "@import", "[", "expression(", "unicode-range:", "attr(", "nth-child", "{content:"] {
            proptest::prop_assert!(!code.contains(banned), "{banned} in {:?}", once.css);
        }
    }
}

#[test]
fn the_demo_themes_are_kept_whole() {
    for css in [include_str!("../../demo/themes/harbour.css"), include_str!("../../demo/themes/midnight.css")] {
        let theme = clean(css);
        assert_eq!(theme.dropped, vec![]);
        assert!(theme.css.contains("--pinframe-accent:"));
    }
}
