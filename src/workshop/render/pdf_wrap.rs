//! Line breaking for the PDF build pack: between words, and between any
//! two characters of Chinese, Japanese or Korean text (but not before
//! closing or after opening punctuation). Linear in the text: each
//! character is measured once, and again at most once when it moves to
//! the next line.

use std::ops::Range;

use super::pdf_font::FontUse;

/// The byte ranges of `text`'s lines between newlines.
pub fn hard_lines(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    text.split('\n').map(move |line| {
        let range = start..start + line.len();
        start = range.end + 1;
        range
    })
}

/// Whether `c` is set solid: Chinese, Japanese or Korean text, which wraps
/// between any two characters.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x11FF | 0x2E80..=0x303F | 0x3040..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x2_0000..=0x3_FFFF)
}

/// Whether a line may break between `before` and `after`: after spaces,
/// and around CJK characters, except before closing and after opening
/// punctuation.
fn can_break(before: char, after: char) -> bool {
    let closing = matches!(
        after,
        '、' | '。'
            | '，'
            | '．'
            | '・'
            | '：'
            | '；'
            | '？'
            | '！'
            | '）'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〉'
            | '》'
            | 'ー'
            | '…'
            | '’'
            | '”'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '}'
    );
    let opening = matches!(
        before,
        '（' | '「' | '『' | '【' | '〔' | '〈' | '《' | '‘' | '“' | '(' | '[' | '{'
    );
    (before == ' ' && after != ' ')
        || ((is_cjk(before) || is_cjk(after)) && after != ' ' && !closing && !opening)
}

/// The lines of `text[range]` (no newline in it) no wider than `max`
/// points at `size` points, as byte ranges of `text`. A line ends at the
/// last break before the width runs out, and mid-word only when a word is
/// wider than a line; spaces at a break are dropped.
pub fn wrap(
    font: &mut FontUse,
    text: &str,
    range: Range<usize>,
    size: f32,
    max: f32,
) -> Vec<Range<usize>> {
    let scale = size / 1000.0;
    let mut lines = Vec::new();
    let mut start = range.start;
    let mut width = 0.0; // of text[start..i]
    let mut ink = false; // text[start..i] is not all spaces
    let mut last_break = None;
    let mut prev = None;
    for (offset, c) in text[range.clone()].char_indices() {
        let i = range.start + offset;
        if let Some(before) = prev
            && ink
            && can_break(before, c)
        {
            last_break = Some(i);
        }
        prev = Some(c);
        let advance = font.advance(c) * scale;
        if c != ' ' && ink && width + advance > max {
            // A break is never at a space, so the next line starts with ink.
            let at = last_break.take().unwrap_or(i);
            lines.push(start..start + text[start..at].trim_end_matches(' ').len());
            start = at;
            // Since the last break: no break in it, so each character is
            // measured again at most once.
            width = font.width(&text[start..i], size);
            ink = start < i;
        }
        width += advance;
        ink |= c != ' ';
    }
    lines.push(start..start + text[start..range.end].trim_end_matches(' ').len());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: f32 = 10.5;

    fn lines<'a>(font: &mut FontUse, text: &'a str, max: f32) -> Vec<&'a str> {
        wrap(font, text, 0..text.len(), BODY, max)
            .into_iter()
            .map(|range| &text[range])
            .collect()
    }

    #[test]
    fn latin_wraps_between_words_and_cuts_words_wider_than_a_line() {
        let mut font = FontUse::new().expect("font");
        let text = "word ".repeat(100);
        let wrapped = lines(&mut font, &text, 120.0);
        assert!(wrapped.len() > 10, "{wrapped:?}");
        assert!(wrapped.iter().all(|l| font.width(l, BODY) <= 120.0));
        assert!(wrapped.iter().all(|l| l.split(' ').all(|w| w == "word")));
        assert_eq!(wrapped.join(" "), text.trim_end());

        let long = "x".repeat(200);
        let cut = lines(&mut font, &long, 100.0);
        assert!(cut.len() > 1 && cut.iter().all(|l| font.width(l, BODY) <= 100.0));
        assert_eq!(cut.concat(), long);
        assert_eq!(lines(&mut font, "short", 100.0), ["short"]);
        assert_eq!(lines(&mut font, "", 100.0), [""]);
    }

    #[test]
    fn cjk_wraps_between_characters_but_not_before_closing_punctuation() {
        let mut font = FontUse::new().expect("font");
        let text = "日本語のテキスト、ひらがな。".repeat(20);
        let wrapped = lines(&mut font, &text, 100.0);
        assert!(wrapped.len() > 10, "{wrapped:?}");
        assert!(wrapped.iter().all(|l| font.width(l, BODY) <= 100.0));
        assert!(
            wrapped.iter().all(|l| !l.starts_with(['、', '。'])),
            "{wrapped:?}"
        );
        assert_eq!(wrapped.concat(), text);
    }

    #[test]
    fn newlines_end_lines() {
        let text = "one\ntwo\n\nthree";
        let lines: Vec<&str> = hard_lines(text).map(|r| &text[r]).collect();
        assert_eq!(lines, ["one", "two", "", "three"]);
    }
}
