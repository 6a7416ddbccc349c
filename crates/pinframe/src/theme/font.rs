//! The check on uploaded fonts: a font is stored only if `allsorts` (a maintained OpenType, WOFF
//! and WOFF2 parser) reads it whole, and only if it draws every digit itself.
//!
//! Whole: the WOFF2 header and table directory, the brotli stream (decompressed here under a
//! bound first, so a small upload cannot expand without limit), the `glyf`/`loca`/`hmtx`
//! reconstruction WOFF2 asks for, and the tables a browser needs to use the font (`head`, `hhea`,
//! `maxp`, `hmtx`, `cmap`, `name`, `OS/2`, `post`, every glyph of `glyf` or the `CFF` table, and
//! `GDEF`/`GSUB`/`GPOS` when present). A signature alone proves nothing.
//!
//! Every digit: when a font lacks a character, the browser tries the next font of the
//! `font-family` list, and fetches it if it is an issuer font. Fonts that each draw one digit
//! would so make which fonts are fetched depend on which digits are on the page. So every
//! character map of the font must give each of 0-9 a glyph other than `.notdef`: then the first
//! issuer font of any list draws every digit, and the fonts after it are never fetched for one.

use std::io::Read as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use allsorts::binary::read::ReadScope;
use allsorts::cff::CFF;
use allsorts::error::ParseError;
use allsorts::font::Font;
use allsorts::post::PostTable;
use allsorts::tables::cmap::{Cmap, CmapSubtable};
use allsorts::tables::glyf::GlyfTable;
use allsorts::tables::loca::LocaTable;
use allsorts::tables::os2::Os2;
use allsorts::tables::{FontTableProvider, HmtxTable, NameTable};
use allsorts::tag;
use allsorts::woff2::{TableDirectoryEntry, Woff2Font, Woff2Header};

/// The most a font's tables may take once decompressed. Fonts for a few dozen words of UI text
/// are far smaller; the bound keeps a crafted brotli stream from expanding without limit.
pub const MAX_FONT_TABLE_BYTES: usize = 4 * 1024 * 1024;

/// Why an uploaded font is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FontRefusal {
    /// Not a WOFF2 file at all (no `wOF2` signature).
    NotWoff2,
    /// A WOFF2 file that does not parse whole; the text says where it fails.
    Malformed(&'static str),
    /// It parses, but some character map leaves a digit without a glyph.
    MissingDigits,
}

impl FontRefusal {
    /// The error code of the refusal (docs/protocol.md, "Error codes").
    pub fn code(self) -> &'static str {
        match self {
            Self::NotWoff2 | Self::Malformed(_) => "invalid_font",
            Self::MissingDigits => "font_missing_digits",
        }
    }

    /// A sentence for the issuer's developer.
    pub fn message(self) -> String {
        match self {
            Self::NotWoff2 => "The body is not a WOFF2 font.".to_owned(),
            Self::Malformed(where_) => format!("The body is not a WOFF2 font that parses: {where_}."),
            Self::MissingDigits => "The font must draw every digit 0-9 itself (in each of its character maps): \
                                    a font that lacks one would make the browser fetch another font for it."
                .to_owned(),
        }
    }
}

/// Checks an uploaded font, as described above. Parsing is bounded by the upload's size and
/// [`MAX_FONT_TABLE_BYTES`]; a panic inside the parser counts as a malformed font.
pub fn check_font(bytes: &[u8]) -> Result<(), FontRefusal> {
    if !bytes.starts_with(b"wOF2") {
        return Err(FontRefusal::NotWoff2);
    }
    catch_unwind(AssertUnwindSafe(|| check_woff2(bytes))).unwrap_or(Err(FontRefusal::Malformed("the parser gave up")))
}

fn malformed(where_: &'static str) -> impl Fn(ParseError) -> FontRefusal {
    move |_| FontRefusal::Malformed(where_)
}

fn check_woff2(bytes: &[u8]) -> Result<(), FontRefusal> {
    bounded_decompression(bytes)?;
    let woff2 = ReadScope::new(bytes).read::<Woff2Font<'_>>().map_err(malformed("its header or tables"))?;
    let provider = woff2.table_provider(0).map_err(|_| FontRefusal::Malformed("its glyf, loca or hmtx table"))?;
    let mut font = Font::new(provider).map_err(malformed("its head, hhea, maxp or cmap table"))?;
    tables(&mut font)?;
    digits(&font.font_table_provider)
}

/// Reads the header and table directory, then decompresses the brotli stream with a bound: it
/// must give exactly the tables the directory lists, no more.
fn bounded_decompression(bytes: &[u8]) -> Result<(), FontRefusal> {
    let header_error = malformed("its header or table directory");
    let mut ctxt = ReadScope::new(bytes).ctxt();
    let header = ctxt.read::<Woff2Header>().map_err(&header_error)?;
    if header.flavor == tag!(b"ttcf") {
        return Err(FontRefusal::Malformed("font collections are not accepted"));
    }
    if usize::try_from(header.length).ok() != Some(bytes.len()) {
        return Err(FontRefusal::Malformed("its header gives another length than the body's"));
    }
    let mut expected = 0usize;
    for _ in 0..header.num_tables {
        let entry = ctxt.read_dep::<TableDirectoryEntry>(expected).map_err(&header_error)?;
        let length = entry.transform_length.unwrap_or(entry.orig_length);
        expected = expected.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
    }
    if expected > MAX_FONT_TABLE_BYTES || header.total_sfnt_size as usize > MAX_FONT_TABLE_BYTES {
        return Err(FontRefusal::Malformed("its tables take more than 4 MiB"));
    }
    let compressed = usize::try_from(header.total_compressed_size).map_err(|_| header_error(ParseError::BadValue))?;
    let stream =
        ctxt.read_slice(compressed).map_err(|_| FontRefusal::Malformed("its compressed tables are cut short"))?;
    let mut tables = Vec::with_capacity(expected);
    let read = brotli::Decompressor::new(stream, 4096).take(expected as u64 + 1).read_to_end(&mut tables);
    if read.is_err() || tables.len() != expected {
        return Err(FontRefusal::Malformed("its brotli stream does not decompress to its tables"));
    }
    Ok(())
}

/// Parses the tables a browser uses beyond those [`Font::new`] read.
fn tables<P: FontTableProvider>(font: &mut Font<P>) -> Result<(), FontRefusal> {
    let provider = &font.font_table_provider;
    let table = |tag: u32, name: &'static str| {
        provider.read_table_data(tag).map_err(|_| FontRefusal::Malformed(name)).map(|data| data.into_owned())
    };
    let num_glyphs = font.num_glyphs();
    let hhea = table(tag::HHEA, "it has no hhea table")?;
    let num_h_metrics =
        ReadScope::new(&hhea).read::<allsorts::tables::HheaTable>().map_err(malformed("its hhea table"))?.num_h_metrics;
    let hmtx = table(tag::HMTX, "it has no hmtx table")?;
    ReadScope::new(&hmtx)
        .read_dep::<HmtxTable<'_>>((usize::from(num_glyphs), usize::from(num_h_metrics)))
        .map_err(malformed("its hmtx table"))?;
    let name = table(tag::NAME, "it has no name table")?;
    ReadScope::new(&name).read::<NameTable<'_>>().map_err(malformed("its name table"))?;
    let os2 = table(tag::OS_2, "it has no OS/2 table")?;
    ReadScope::new(&os2).read_dep::<Os2>(os2.len()).map_err(malformed("its OS/2 table"))?;
    let post = table(tag::POST, "it has no post table")?;
    ReadScope::new(&post).read::<PostTable<'_>>().map_err(malformed("its post table"))?;
    outlines(provider, font.head_table.index_to_loc_format, num_glyphs)?;
    font.gdef_table().map_err(malformed("its GDEF table"))?;
    font.gsub_cache().map_err(malformed("its GSUB table"))?;
    font.gpos_cache().map_err(malformed("its GPOS table"))?;
    Ok(())
}

/// Every glyph of `glyf` (with `loca`), or the `CFF` table.
fn outlines<P: FontTableProvider>(
    provider: &P,
    loca_format: allsorts::tables::IndexToLocFormat,
    num_glyphs: u16,
) -> Result<(), FontRefusal> {
    if let Some(cff) = provider.table_data(tag::CFF).map_err(malformed("its CFF table"))? {
        ReadScope::new(&cff).read::<CFF<'_>>().map_err(malformed("its CFF table"))?;
        return Ok(());
    }
    let loca = provider.read_table_data(tag::LOCA).map_err(|_| FontRefusal::Malformed("it has no glyph outlines"))?;
    let glyf = provider.read_table_data(tag::GLYF).map_err(|_| FontRefusal::Malformed("it has no glyph outlines"))?;
    let loca = ReadScope::new(&loca)
        .read_dep::<LocaTable<'_>>((num_glyphs, loca_format))
        .map_err(malformed("its loca table"))?;
    let mut glyf = ReadScope::new(&glyf).read_dep::<GlyfTable<'_>>(&loca).map_err(malformed("its glyf table"))?;
    for record in glyf.records_mut() {
        record.parse().map_err(malformed("a glyph of its glyf table"))?;
    }
    Ok(())
}

/// Every character map of the font (but the variation sequences of format 14) gives each digit a
/// glyph other than `.notdef`. A symbol map may place them at U+F030–U+F039, as browsers read it.
fn digits<P: FontTableProvider>(provider: &P) -> Result<(), FontRefusal> {
    let data = provider.read_table_data(tag::CMAP).map_err(|_| FontRefusal::Malformed("it has no cmap table"))?;
    let cmap = ReadScope::new(&data).read::<Cmap<'_>>().map_err(malformed("its cmap table"))?;
    let mut maps = 0;
    for record in cmap.encoding_records() {
        if (record.platform_id.0, record.encoding_id.0) == (0, 5) {
            continue;
        }
        let subtable = usize::try_from(record.offset)
            .ok()
            .and_then(|offset| cmap.scope.offset(offset).read::<CmapSubtable<'_>>().ok())
            .ok_or(FontRefusal::Malformed("its cmap table"))?;
        let symbol = (record.platform_id.0, record.encoding_id.0) == (3, 0);
        for digit in u32::from(b'0')..=u32::from(b'9') {
            let glyph = |code: u32| subtable.map_glyph(code).ok().flatten().filter(|&g| g != 0);
            if glyph(digit).or_else(|| symbol.then(|| glyph(0xF000 + digit)).flatten()).is_none() {
                return Err(FontRefusal::MissingDigits);
            }
        }
        maps += 1;
    }
    if maps == 0 {
        return Err(FontRefusal::MissingDigits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The fixtures are made by `tools/make-test-fonts.py` with fontTools and Google's brotli, the
    //! encoder browsers' own WOFF2 decoders are tested against.

    use std::io::Write as _;

    use super::*;

    const DIGITS: &[u8] = include_bytes!("../../tests/fixtures/fonts/digits.woff2");
    const DIGIT_3: &[u8] = include_bytes!("../../tests/fixtures/fonts/digit-3.woff2");
    const BAD_CMAP: &[u8] = include_bytes!("../../tests/fixtures/fonts/bad-cmap.woff2");

    /// The file's header and directory, and its decompressed tables.
    fn split(font: &[u8]) -> (&[u8], Vec<u8>) {
        let mut ctxt = ReadScope::new(font).ctxt();
        let header = ctxt.read::<Woff2Header>().unwrap();
        let mut offset = 0;
        for _ in 0..header.num_tables {
            let entry = ctxt.read_dep::<TableDirectoryEntry>(offset).unwrap();
            offset += entry.transform_length.unwrap_or(entry.orig_length) as usize;
        }
        let stream = ctxt.read_slice(header.total_compressed_size as usize).unwrap();
        let start = stream.as_ptr() as usize - font.as_ptr() as usize;
        let mut tables = Vec::new();
        brotli::Decompressor::new(stream, 4096).read_to_end(&mut tables).unwrap();
        (&font[..start], tables)
    }

    /// A WOFF2 file of `head` (header and directory) and `tables` compressed again, its sizes
    /// in the header set to match.
    fn join(head: &[u8], tables: &[u8]) -> Vec<u8> {
        let mut stream = Vec::new();
        let mut writer = brotli::CompressorWriter::new(&mut stream, 4096, 11, 22);
        writer.write_all(tables).unwrap();
        drop(writer);
        let mut font = [head, &stream].concat();
        font.resize(font.len().next_multiple_of(4), 0);
        let length = u32::try_from(font.len()).unwrap().to_be_bytes();
        font[8..12].copy_from_slice(&length);
        font[20..24].copy_from_slice(&u32::try_from(stream.len()).unwrap().to_be_bytes());
        font
    }

    #[test]
    fn a_real_woff2_with_every_digit_is_accepted() {
        assert_eq!(check_font(DIGITS), Ok(()));
        // Taken apart and compressed again by another brotli encoder (the brotli crate's): still
        // the same font, so the checks below change only what they say they change.
        let (head, tables) = split(DIGITS);
        assert_eq!(check_font(&join(head, &tables)), Ok(()));
    }

    #[test]
    fn a_font_without_every_digit_is_refused() {
        assert_eq!(check_font(DIGIT_3), Err(FontRefusal::MissingDigits));
        assert_eq!(FontRefusal::MissingDigits.code(), "font_missing_digits");
    }

    #[test]
    fn what_is_not_woff2_is_refused() {
        for body in [&b""[..], b"<svg/>", b"wOFF\0\x01\0\0", b"\0\x01\0\0\0\x0b\0\x80", b"OTTO"] {
            assert_eq!(check_font(body), Err(FontRefusal::NotWoff2), "{body:?}");
        }
        assert_eq!(FontRefusal::NotWoff2.message(), "The body is not a WOFF2 font.");
    }

    #[test]
    fn a_woff2_whose_tables_do_not_parse_is_refused() {
        let refusal = check_font(BAD_CMAP).unwrap_err();
        assert!(matches!(refusal, FontRefusal::Malformed(_)), "{refusal:?}");
        assert_eq!(refusal.code(), "invalid_font");
        assert!(refusal.message().starts_with("The body is not a WOFF2 font that parses: "));
    }

    #[test]
    fn every_truncation_is_refused() {
        for cut in 4..DIGITS.len() {
            assert!(check_font(&DIGITS[..cut]).is_err(), "cut at {cut}");
            // Also with the header's length saying so, so the parse goes on past the header.
            let mut short = DIGITS[..cut].to_vec();
            if cut >= 12 {
                short[8..12].copy_from_slice(&u32::try_from(cut).unwrap().to_be_bytes());
            }
            assert!(check_font(&short).is_err(), "cut at {cut}, length patched");
        }
        // Tables cut short inside a valid brotli stream.
        let (head, tables) = split(DIGITS);
        for keep in [0, 1, tables.len() / 2, tables.len() - 1] {
            assert!(check_font(&join(head, &tables[..keep])).is_err(), "{keep} bytes of tables");
        }
    }

    #[test]
    fn corrupted_fonts_are_refused_and_none_panics() {
        let (head, tables) = split(DIGITS);
        // The brotli stream garbled: it does not decompress.
        let mut garbled = DIGITS.to_vec();
        for byte in &mut garbled[head.len()..] {
            *byte ^= 0x55;
        }
        assert_eq!(
            check_font(&garbled),
            Err(FontRefusal::Malformed("its brotli stream does not decompress to its tables"))
        );
        // Every table filled with 0xff in turn, behind a valid container: each is refused but
        // `hmtx`, which is only numbers (any bytes are widths and bearings), and `loca`, which
        // WOFF2 leaves empty to rebuild from `glyf`.
        let mut accepted = Vec::new();
        let mut start = 0;
        let mut ctxt = ReadScope::new(DIGITS).ctxt();
        let header = ctxt.read::<Woff2Header>().unwrap();
        for _ in 0..header.num_tables {
            let entry = ctxt.read_dep::<TableDirectoryEntry>(start).unwrap();
            let end = start + entry.transform_length.unwrap_or(entry.orig_length) as usize;
            let mut filled = tables.clone();
            filled[start..end].fill(0xff);
            let tag = String::from_utf8_lossy(&entry.tag.to_be_bytes()).into_owned();
            if check_font(&join(head, &filled)).is_ok() {
                accepted.push(tag);
            }
            start = end;
        }
        assert_eq!(accepted, ["hmtx", "loca"]);
        // Any single byte flipped: the parser returns (no panic), whatever its verdict.
        for at in 0..DIGITS.len() {
            let mut flipped = DIGITS.to_vec();
            flipped[at] ^= 0xff;
            let _ = check_woff2(&flipped);
        }
    }

    #[test]
    fn a_brotli_stream_that_expands_past_its_tables_is_refused() {
        let (head, mut tables) = split(DIGITS);
        tables.resize(tables.len() + 8 * 1024 * 1024, 0);
        let bomb = join(head, &tables);
        assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
        assert_eq!(
            check_font(&bomb),
            Err(FontRefusal::Malformed("its brotli stream does not decompress to its tables"))
        );
    }
}
