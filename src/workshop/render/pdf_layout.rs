//! Lays [`Block`]s out on A4 pages in the bundled font ([`super::pdf_font`]):
//! headings, paragraphs and list items, wrapped to the page width
//! ([`super::pdf_wrap`]), with a page break whenever a page is full.
//!
//! Every line is its own text object (`BT … ET`) shown with `Tj`, so text
//! extraction ends it with one newline and adds nothing inside it. Each
//! page is written out when it is full, so the work is linear in the text.

use std::ops::Range;

use pdf_writer::types::TextRenderingMode;
use pdf_writer::{Content, Filter, Name, Pdf, Rect, Ref, Str, TextStr};

use super::pdf_font::{FontRefs, FontUse, PdfError, deflate};
use super::pdf_wrap::{hard_lines, wrap};

const PAGE_WIDTH: f32 = 595.28; // A4
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.7; // 2 cm
const BODY: f32 = 10.5;
const LEADING: f32 = 1.4;
const INDENT: f32 = 14.0;
/// Deeper items are drawn at this depth, so a line keeps most of its width.
const MAX_INDENT_DEPTH: usize = 12;
const BULLET: &str = "•";
const FONT: Name<'static> = Name(b"F1");

/// One thing on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: Kind,
    /// Shown in bold before `text` (for a list item: the key).
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Title,
    Heading,
    Paragraph,
    /// A paragraph in grey: a status line.
    Note,
    /// A list item, nested `depth` levels deep (0 for the outermost).
    Item(usize),
}

impl Kind {
    fn size(self) -> f32 {
        match self {
            Kind::Title => 18.0,
            Kind::Heading => 13.0,
            _ => BODY,
        }
    }

    /// Extra space above the block, in points.
    fn space_before(self) -> f32 {
        match self {
            Kind::Title => 0.0,
            Kind::Heading => 14.0,
            Kind::Paragraph | Kind::Note => 5.0,
            Kind::Item(_) => 1.0,
        }
    }

    fn bold(self) -> bool {
        matches!(self, Kind::Title | Kind::Heading)
    }
}

/// The PDF of `blocks`, titled `title` in its metadata.
pub fn render(title: &str, blocks: &[Block]) -> Result<Vec<u8>, PdfError> {
    let mut writer = Writer::new()?;
    for block in blocks {
        writer.block(block);
    }
    writer.finish(title)
}

struct Writer {
    pdf: Pdf,
    font: FontUse,
    refs: FontRefs,
    pages: Vec<Ref>,
    content: Content,
    /// The baseline of the last line drawn, from the bottom of the page.
    y: f32,
    state: State,
}

/// The text rendering mode (fill, or fill and stroke for bold), line width
/// and grey in force on the current page; `Tr` lasts across text objects.
#[derive(Default)]
struct State(Option<(bool, bool, u32)>);

impl State {
    fn set(&mut self, content: &mut Content, bold: bool, gray: bool, size: f32) {
        let key = (bold, gray, if bold { size.to_bits() } else { 0 });
        if self.0 == Some(key) {
            return;
        }
        if bold {
            content.set_text_rendering_mode(TextRenderingMode::FillStroke);
            content.set_line_width(size / 30.0);
        } else {
            content.set_text_rendering_mode(TextRenderingMode::Fill);
        }
        let level = if gray { 0.4 } else { 0.0 };
        content.set_fill_gray(level);
        content.set_stroke_gray(level);
        self.0 = Some(key);
    }
}

impl Writer {
    fn new() -> Result<Self, PdfError> {
        let refs = FontRefs {
            type0: Ref::new(3),
            cid: Ref::new(4),
            descriptor: Ref::new(5),
            to_unicode: Ref::new(6),
            cid_to_gid: Ref::new(7),
            file: Ref::new(8),
        };
        Ok(Self {
            pdf: Pdf::new(),
            font: FontUse::new()?,
            refs,
            pages: Vec::new(),
            content: Content::new(),
            y: PAGE_HEIGHT - MARGIN,
            state: State::default(),
        })
    }

    fn block(&mut self, block: &Block) {
        let size = block.kind.size();
        let leading = size * LEADING;
        let (x, bullet) = match block.kind {
            Kind::Item(depth) => {
                let x = MARGIN + INDENT * depth.min(MAX_INDENT_DEPTH) as f32;
                (x, Some(self.font.width(&format!("{BULLET} "), size)))
            }
            _ => (MARGIN, None),
        };
        let text_x = x + bullet.unwrap_or(0.0);
        let max = PAGE_WIDTH - MARGIN - text_x;
        let full = format!("{}{}", block.label, block.text);
        let label = block.label.len();

        let lines: Vec<Range<usize>> = hard_lines(&full)
            .flat_map(|line| wrap(&mut self.font, &full, line, size, max))
            .collect();
        for (n, line) in lines.into_iter().enumerate() {
            let first = n == 0;
            let space = if first {
                block.kind.space_before()
            } else {
                0.0
            };
            let mut needed = space + leading;
            if first && block.kind == Kind::Heading {
                needed += 2.0 * BODY * LEADING; // a heading keeps two lines after it
            }
            if self.y - needed < MARGIN && !self.page_is_empty() {
                self.new_page();
            }
            if !self.page_is_empty() {
                self.y -= space;
            }
            self.y -= leading;
            let bold_end = label.clamp(line.start, line.end);
            self.line(&LineStyle {
                size,
                bold: block.kind.bold(),
                gray: block.kind == Kind::Note,
                bullet: bullet.filter(|_| first).map(|_| x),
                x: text_x,
                label: &full[line.start..bold_end],
                text: &full[bold_end..line.end],
            });
        }
    }

    /// Whether nothing is drawn on the current page yet.
    fn page_is_empty(&self) -> bool {
        self.y >= PAGE_HEIGHT - MARGIN
    }

    /// Draws one line at height `self.y`.
    fn line(&mut self, line: &LineStyle<'_>) {
        let content = &mut self.content;
        content.begin_text();
        content.set_font(FONT, line.size);
        if let Some(bullet_x) = line.bullet {
            self.state.set(content, false, line.gray, line.size);
            content.next_line(bullet_x, self.y);
            content.show(Str(&self.font.encode(BULLET)));
            content.next_line(line.x - bullet_x, 0.0);
        } else {
            content.next_line(line.x, self.y);
        }
        if !line.label.is_empty() {
            self.state.set(content, true, line.gray, line.size);
            content.show(Str(&self.font.encode(line.label)));
        }
        if !line.text.is_empty() {
            self.state.set(content, line.bold, line.gray, line.size);
            content.show(Str(&self.font.encode(line.text)));
        }
        content.end_text();
    }

    /// Ends the current page (its number at the foot) and starts the next.
    fn new_page(&mut self) {
        let number = self.pages.len() + 1;
        let text = number.to_string();
        let size = 9.0;
        let x = (PAGE_WIDTH - self.font.width(&text, size)) / 2.0;
        self.y = MARGIN / 2.0;
        self.line(&LineStyle {
            size,
            bold: false,
            gray: true,
            bullet: None,
            x,
            label: "",
            text: &text,
        });

        let page = Ref::new(self.next_free());
        let content_id = Ref::new(page.get() + 1);
        let content = std::mem::replace(&mut self.content, Content::new()).finish();
        self.pdf
            .stream(content_id, &deflate(&content))
            .filter(Filter::FlateDecode);
        let mut writer = self.pdf.page(page);
        writer
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(Ref::new(2))
            .contents(content_id);
        writer.resources().fonts().pair(FONT, self.refs.type0);
        drop(writer);
        self.pages.push(page);
        self.y = PAGE_HEIGHT - MARGIN;
        self.state = State::default();
    }

    fn finish(mut self, title: &str) -> Result<Vec<u8>, PdfError> {
        self.new_page();
        let (catalog, tree, info) = (Ref::new(1), Ref::new(2), Ref::new(self.next_free()));
        self.pdf.catalog(catalog).pages(tree);
        self.pdf
            .pages(tree)
            .kids(self.pages.iter().copied())
            .count(i32::try_from(self.pages.len()).unwrap_or(i32::MAX));
        self.pdf.document_info(info).title(TextStr(title));
        self.font.write(&mut self.pdf, self.refs)?;
        Ok(self.pdf.finish())
    }

    /// The first object id not used yet: pages take two each (page and
    /// content) from 9.
    fn next_free(&self) -> i32 {
        9 + 2 * i32::try_from(self.pages.len()).unwrap_or(i32::MAX / 4)
    }
}

struct LineStyle<'a> {
    size: f32,
    bold: bool,
    gray: bool,
    /// Where to draw the bullet, for an item's first line.
    bullet: Option<f32>,
    x: f32,
    label: &'a str,
    text: &'a str,
}
