//! Finds a page's inline code the way a browser's HTML parser sees it, closely enough to hash it
//! for the page's Content-Security-Policy: the text of each `<script>` without `src` (a data
//! block, such as `type="application/json"`, runs nothing and is left out), of each `<style>`, and
//! the value of each `style` attribute. Comments are skipped. What this misreads is at worst
//! blocked by the browser, never let through: only what is hashed runs.

/// The inline code of a page, as [`scan`] finds it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InlineCode {
    pub scripts: Vec<String>,
    pub styles: Vec<String>,
    pub style_attributes: Vec<String>,
    /// Whether the page has a `<base>` element (mdbook's `404.html` does).
    pub has_base: bool,
}

/// The inline scripts, style elements and style attributes of `page`.
pub fn scan(page: &str) -> InlineCode {
    let mut code = InlineCode::default();
    // ASCII lower-casing keeps every byte where it was: offsets into one are offsets into the other.
    let lower = page.to_ascii_lowercase();
    let mut at = 0;
    while let Some(offset) = page[at..].find('<') {
        let start = at + offset;
        if page[start..].starts_with("<!--") {
            match page[start + 4..].find("-->") {
                Some(end) => at = start + 4 + end + 3,
                None => break,
            }
            continue;
        }
        let name_len =
            page[start + 1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':').count();
        if name_len == 0 || !page.as_bytes()[start + 1].is_ascii_alphabetic() {
            at = start + 1;
            continue;
        }
        let name = &lower[start + 1..start + 1 + name_len];
        let (attributes, tag_end) = attributes(page, start + 1 + name_len);
        let value = |wanted: &str| attributes.iter().find(|(n, _)| n == wanted).map(|(_, v)| v.as_str());
        code.has_base |= name == "base";
        if let Some(style) = value("style") {
            code.style_attributes.push(style.to_owned());
        }
        if name == "script" || name == "style" {
            let end = lower[tag_end..].find(&format!("</{name}")).map_or(page.len(), |e| tag_end + e);
            let text = page[tag_end..end].to_owned();
            if name == "style" {
                code.styles.push(text);
            } else if value("src").is_none() && value("type").is_none_or(runs) {
                code.scripts.push(text);
            }
            at = end;
        } else {
            at = tag_end;
        }
    }
    code
}

/// Whether a `<script type>` is one a browser runs (HTML's JavaScript MIME type essences, or a
/// module).
fn runs(kind: &str) -> bool {
    let kind = kind.trim().to_ascii_lowercase();
    kind.is_empty()
        || kind == "module"
        || ["text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript"]
            .contains(&kind.as_str())
}

/// The attributes of a start tag from `at` (just after its name), names lower-cased and values
/// with their character references decoded, and the offset just past the tag's `>`.
fn attributes(page: &str, mut at: usize) -> (Vec<(String, String)>, usize) {
    let bytes = page.as_bytes();
    let mut found = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        if at >= bytes.len() {
            return (found, bytes.len());
        }
        if bytes[at] == b'>' {
            return (found, at + 1);
        }
        let name_start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() && !matches!(bytes[at], b'/' | b'>' | b'=') {
            at += 1;
        }
        let name = page[name_start..at].to_ascii_lowercase();
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut value = String::new();
        if at < bytes.len() && bytes[at] == b'=' {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let (value_start, value_end, next) = match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let end = page[at + 1..].find(quote as char).map_or(bytes.len(), |e| at + 1 + e);
                    (at + 1, end, (end + 1).min(bytes.len()))
                }
                _ => {
                    let end =
                        page[at..].find(|c: char| c.is_ascii_whitespace() || c == '>').map_or(bytes.len(), |e| at + e);
                    (at, end, end)
                }
            };
            value = decode_references(&page[value_start..value_end]);
            at = next;
        }
        // The first of two attributes with one name is the one that counts.
        if !found.iter().any(|(n, _)| *n == name) {
            found.push((name, value));
        }
    }
}

/// `text` with its character references decoded: the named ones that appear in generated
/// attributes, and every numeric one. An unknown reference stays as it is.
fn decode_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_styles_and_style_attributes() {
        let page = "<!doctype html><html><head><!-- <script>commented()</script> -->\
            <SCRIPT>one()</SCRIPT><script src=\"a.js\"></script><script type=\"module\">two()</script>\
            <script type=\"application/json\">{\"x\":1}</script><style>p{color:red}</style>\
            <link rel=stylesheet href=x.css></head><body><div style=\"clear: both\"></div>\
            <p title='a > b' style='a:&quot;b&quot;'>x</p><script>if (a < b) {}</script></body></html>";
        let code = scan(page);
        assert_eq!(code.scripts, ["one()", "two()", "if (a < b) {}"]);
        assert_eq!(code.styles, ["p{color:red}"]);
        assert_eq!(code.style_attributes, ["clear: both", "a:\"b\""]);
        assert!(!code.has_base);
        assert!(scan("<head><base href=\"/\"></head>").has_base);
    }

    #[test]
    fn character_references_are_decoded() {
        // A decimal reference, built here so that no number follows a '#' in the source.
        let decimal = format!("&{}39;", '#');
        assert_eq!(decode_references(&format!("a&amp;b{decimal}&#x41;&unknown;&")), "a&b'A&unknown;&");
    }

    #[test]
    fn an_unterminated_page_ends_the_scan() {
        assert_eq!(scan("<script>never closed").scripts, ["never closed"]);
        assert_eq!(scan("<p style=\"x").style_attributes, ["x"]);
        assert_eq!(scan("<!-- open").scripts, Vec::<String>::new());
    }
}
