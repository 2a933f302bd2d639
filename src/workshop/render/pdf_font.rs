//! The PDF build pack's one font, WenQuanYi Micro Hei (Apache-2.0; see
//! `assets/fonts/README.md`): Latin, Cyrillic, Greek, kana, Hangul and CJK
//! ideographs. A PDF embeds the subset it shows as a CID font, with a
//! ToUnicode map so that readers extract the text that was written.
//!
//! Every distinct character gets its own CID (1, 2, … in first-seen order)
//! and a `/CIDToGIDMap` stream maps it to its glyph in the subset. A
//! character the font lacks is drawn as the empty box of glyph 0 but keeps
//! its CID, so it still extracts as itself.

use std::collections::HashMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

static FONT: &[u8] = include_bytes!("../../../assets/fonts/WenQuanYiMicroHei.ttf");
const FONT_NAME: &str = "WenQuanYiMicroHei";
const SYSTEM_INFO: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};
/// The width of a CID that `/W` does not list: the CJK glyphs' width.
const DEFAULT_WIDTH: f32 = 1000.0;
/// CIDs from 1 up to this one name characters; the last is U+FFFD for every
/// character after the first 65,534 distinct ones.
const LAST_CID: u16 = u16::MAX;
/// `/W` sub-arrays are kept short (readers limit an array's length).
const WIDTHS_PER_RUN: usize = 1000;

/// Why a PDF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the bundled font does not parse: {0}")]
    Font(#[from] ttf_parser::FaceParsingError),
    #[error("cannot subset the bundled font: {0}")]
    Subset(#[from] subsetter::Error),
}

/// The objects that make up the font, allocated by the caller.
#[derive(Debug, Clone, Copy)]
pub struct FontRefs {
    pub type0: Ref,
    pub cid: Ref,
    pub descriptor: Ref,
    pub to_unicode: Ref,
    pub cid_to_gid: Ref,
    pub file: Ref,
}

/// The font and the characters a PDF has shown with it so far. Measuring
/// a character registers it too, so each one is looked up in the font once.
pub struct FontUse {
    face: Face<'static>,
    /// Font units → thousandths of an em.
    scale: f32,
    /// The CID of each character of the Basic Multilingual Plane (0: not
    /// registered yet); the others are in `astral`.
    bmp: Vec<u16>,
    astral: HashMap<char, u16>,
    /// `chars[n - 1]` is the character of CID n.
    chars: Vec<char>,
    /// `gids[n - 1]` is its glyph in the full font (0: the font lacks it).
    gids: Vec<u16>,
    /// `advances[n]` is CID n's advance in thousandths of an em.
    advances: Vec<f32>,
    remapper: GlyphRemapper,
}

impl FontUse {
    pub fn new() -> Result<Self, PdfError> {
        let face = Face::parse(FONT, 0)?;
        let scale = 1000.0 / f32::from(face.units_per_em());
        Ok(Self {
            face,
            scale,
            bmp: vec![0; 0x1_0000],
            astral: HashMap::new(),
            chars: Vec::new(),
            gids: Vec::new(),
            advances: vec![0.0],
            remapper: GlyphRemapper::new(),
        })
    }

    /// The advance of `c` in thousandths of an em.
    pub fn advance(&mut self, c: char) -> f32 {
        let cid = self.cid(c);
        self.advances[usize::from(cid)]
    }

    /// The width of `text` at `size` points.
    pub fn width(&mut self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// `text` as the big-endian 2-byte CIDs that `Tj` shows.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 * text.len());
        for c in text.chars() {
            out.extend_from_slice(&self.cid(c).to_be_bytes());
        }
        out
    }

    /// The CID of `c`, registering it if it is new. A control character
    /// shows as a space.
    fn cid(&mut self, c: char) -> u16 {
        let c = if c.is_control() { ' ' } else { c };
        let known = match usize::try_from(u32::from(c)) {
            Ok(i) if i < self.bmp.len() => self.bmp[i],
            _ => self.astral.get(&c).copied().unwrap_or(0),
        };
        if known != 0 {
            return known;
        }
        let next = u16::try_from(self.chars.len() + 1).unwrap_or(LAST_CID);
        if next == LAST_CID && c != char::REPLACEMENT_CHARACTER {
            return self.cid(char::REPLACEMENT_CHARACTER);
        }
        let gid = self.face.glyph_index(c).map_or(0, |g| g.0);
        let units = self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0);
        self.remapper.remap(gid);
        self.chars.push(c);
        self.gids.push(gid);
        self.advances.push(f32::from(units) * self.scale);
        match usize::try_from(u32::from(c)) {
            Ok(i) if i < self.bmp.len() => self.bmp[i] = next,
            _ => {
                self.astral.insert(c, next);
            }
        }
        next
    }

    /// Writes the Type0 font, its CID font, descriptor, ToUnicode map,
    /// CIDToGIDMap and the subset itself.
    pub fn write(&self, pdf: &mut Pdf, refs: FontRefs) -> Result<(), PdfError> {
        let subset = subsetter::subset(FONT, 0, &self.remapper)?;
        let base = format!("{}+{FONT_NAME}", subset_tag(&self.chars));
        let base = Name(base.as_bytes());

        pdf.type0_font(refs.type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(refs.cid)
            .to_unicode(refs.to_unicode);

        let mut cid_font = pdf.cid_font(refs.cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(SYSTEM_INFO)
            .font_descriptor(refs.descriptor)
            .default_width(DEFAULT_WIDTH)
            .cid_to_gid_map_stream(refs.cid_to_gid);
        let runs = self.width_runs();
        if !runs.is_empty() {
            let mut widths = cid_font.widths();
            for (first, run) in runs {
                widths.consecutive(first, run);
            }
        }
        drop(cid_font);

        // CID → glyph in the subset; CID 0 → .notdef.
        let mut map = Vec::with_capacity(2 * (self.gids.len() + 1));
        map.extend_from_slice(&[0, 0]);
        for &gid in &self.gids {
            let new = self.remapper.get(gid).unwrap_or(0);
            map.extend_from_slice(&new.to_be_bytes());
        }
        pdf.stream(refs.cid_to_gid, &deflate(&map))
            .filter(Filter::FlateDecode);

        let s = |v: i16| f32::from(v) * self.scale;
        let bbox = self.face.global_bounding_box();
        let ascender = self.face.ascender();
        pdf.font_descriptor(refs.descriptor)
            .name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                s(bbox.x_min),
                s(bbox.y_min),
                s(bbox.x_max),
                s(bbox.y_max),
            ))
            .italic_angle(self.face.italic_angle())
            .ascent(s(ascender))
            .descent(s(self.face.descender()))
            .cap_height(s(self.face.capital_height().unwrap_or(ascender)))
            .stem_v(80.0)
            .font_file2(refs.file);

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), SYSTEM_INFO);
        for (cid, &c) in (1..=LAST_CID).zip(&self.chars) {
            cmap.pair(cid, c);
        }
        pdf.stream(refs.to_unicode, &deflate(&cmap.finish()))
            .filter(Filter::FlateDecode);

        pdf.stream(refs.file, &deflate(&subset))
            .filter(Filter::FlateDecode)
            .pair(
                Name(b"Length1"),
                i32::try_from(subset.len()).unwrap_or(i32::MAX),
            );
        Ok(())
    }

    /// `(first CID, widths)` for the runs of CIDs whose width is not
    /// [`DEFAULT_WIDTH`].
    fn width_runs(&self) -> Vec<(u16, Vec<f32>)> {
        let mut runs: Vec<(u16, Vec<f32>)> = Vec::new();
        let mut last = 0;
        for (cid, &width) in (1..=LAST_CID).zip(&self.advances[1..]) {
            if (width - DEFAULT_WIDTH).abs() < 0.01 {
                continue;
            }
            match runs.last_mut() {
                Some((_, run)) if last + 1 == cid && run.len() < WIDTHS_PER_RUN => run.push(width),
                _ => runs.push((cid, vec![width])),
            }
            last = cid;
        }
        runs
    }
}

/// `data` as a zlib stream, for `/FlateDecode`.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// Six capital letters from the characters shown: the subset's tag, the
/// same for the same text, so a PDF is a function of its content.
fn subset_tag(chars: &[char]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for &c in chars {
        hash = (hash ^ u64::from(u32::from(c))).wrapping_mul(0x0100_0000_01b3);
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_parses_allows_subsetting_and_covers_the_scripts() {
        let face = Face::parse(FONT, 0).expect("the bundled font parses");
        assert!(face.is_subsetting_allowed());
        assert_ne!(
            face.permissions(),
            Some(ttf_parser::Permissions::Restricted)
        );
        for c in "café“”—•ЖяЁあア漢字中文简體한€".chars() {
            assert!(face.glyph_index(c).is_some(), "no glyph for {c:?}");
        }
    }

    #[test]
    fn a_subset_is_a_small_font_with_the_glyphs_shown() {
        let mut font = FontUse::new().expect("font");
        let cids = font.encode("Ёжик 中文 ひらがな");
        assert_eq!(cids.len(), 2 * 12);
        assert_eq!(&cids[..4], &[0, 1, 0, 2]); // Ё, ж: CIDs from 1
        assert_eq!(&cids[14..16], &[0, 5]); // the second space
        assert_eq!(font.encode("\tЁ"), [0, 5, 0, 1]); // a tab shows as a space
        assert_eq!(font.advance('中'), 1000.0);
        assert!(
            (font.advance('a') - 530.8).abs() < 0.1,
            "{}",
            font.advance('a')
        );
        assert_eq!(font.chars.len(), 12); // a: measured, so registered
        let subset = subsetter::subset(FONT, 0, &font.remapper).expect("subset");
        assert!(subset.len() < 20_000, "{} bytes", subset.len());
        let face = Face::parse(&subset, 0).expect("the subset parses");
        // .notdef, 12 characters' glyphs, and the parts of composite ones.
        assert_eq!(font.remapper.num_gids(), 13);
        assert!((12..30).contains(&face.number_of_glyphs()));
    }

    #[test]
    fn every_distinct_character_gets_a_cid_until_they_run_out() {
        let mut font = FontUse::new().expect("font");
        let many = (0x4E00..=0x9FFF)
            .chain(0x2_0000..=0x3_134F)
            .filter_map(char::from_u32);
        for c in many.take(70_000) {
            font.encode(&c.to_string());
        }
        assert_eq!(font.chars.len(), usize::from(LAST_CID));
        assert_eq!(font.chars.last(), Some(&char::REPLACEMENT_CHARACTER));
        assert_eq!(font.encode("\u{3134F}"), LAST_CID.to_be_bytes());
        assert_eq!(font.encode("\u{4E00}"), [0, 1]);
    }

    #[test]
    fn subset_tags_depend_on_the_characters_only() {
        assert_eq!(subset_tag(&['a', 'b']), subset_tag(&['a', 'b']));
        assert_ne!(subset_tag(&['a', 'b']), subset_tag(&['b', 'a']));
        assert!(subset_tag(&[]).chars().all(|c| c.is_ascii_uppercase()));
    }
}
