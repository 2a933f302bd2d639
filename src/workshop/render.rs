//! Rendering a workshop's step outputs into a build pack: Markdown, JSON or
//! PDF. Pure functions of a [`Document`], so they are tested without a
//! database.

use serde::Serialize;

use super::fields::{Status, StepStatus};

/// What a build pack holds.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The JSON format's version; bumped on any incompatible change.
    pub format_version: u32,
    pub workshop_id: String,
    pub title: String,
    pub original_idea: String,
    pub status: Status,
    pub generated_at: String,
    pub steps: Vec<DocumentStep>,
}

/// One step in a build pack.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentStep {
    pub id: String,
    pub position: i32,
    pub name: String,
    pub status: StepStatus,
    pub skipped: bool,
    /// The step's output; `null` when there is none.
    pub output: serde_json::Value,
}

/// The JSON build pack: [`Document`] as pretty JSON. Stable: fields are
/// only ever added, and `format_version` changes if that ever fails.
pub fn json(document: &Document) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The Markdown build pack: title, idea, then each step with its output as
/// nested lists.
pub fn markdown(document: &Document) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", document.title));
    out.push_str(&format!(
        "**Original idea:** {}\n\n",
        document.original_idea
    ));
    out.push_str(&format!(
        "Status: {} · generated {}\n",
        document.status, document.generated_at
    ));
    for step in &document.steps {
        out.push_str(&format!("\n## {}. {}\n\n", step.position, step.name));
        out.push_str(&format!("*{}*\n\n", step_state(step)));
        if step.output.is_null() {
            out.push_str("No output yet.\n");
        } else {
            for line in outline(&step.output, 0) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

fn step_state(step: &DocumentStep) -> &'static str {
    match (step.status, step.skipped) {
        (StepStatus::Complete, true) => "Skipped",
        (StepStatus::Complete, false) => "Complete",
        (StepStatus::InProgress, _) => "In progress",
        (StepStatus::NotStarted, _) => "Not started",
    }
}

/// A JSON value as Markdown list lines, `depth` levels deep.
fn outline(value: &serde_json::Value, depth: usize) -> Vec<String> {
    let indent = "  ".repeat(depth);
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| {
                if is_scalar(value) {
                    vec![format!("{indent}- **{key}**: {}", scalar(value))]
                } else {
                    let mut lines = vec![format!("{indent}- **{key}**")];
                    lines.extend(outline(value, depth + 1));
                    lines
                }
            })
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .flat_map(|item| {
                if is_scalar(item) {
                    vec![format!("{indent}- {}", scalar(item))]
                } else {
                    let mut lines = vec![format!("{indent}-")];
                    lines.extend(outline(item, depth + 1));
                    lines
                }
            })
            .collect(),
        other => vec![format!("{indent}- {}", scalar(other))],
    }
}

fn is_scalar(value: &serde_json::Value) -> bool {
    !matches!(
        value,
        serde_json::Value::Object(_) | serde_json::Value::Array(_)
    )
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// The PDF build pack: the Markdown's text laid out on A4 pages in
/// Helvetica (one of the standard fonts every reader has, so nothing is
/// embedded). Characters outside Latin-1 print as `?`.
pub fn pdf(document: &Document) -> Vec<u8> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

    const PAGE_WIDTH: f32 = 595.0;
    const PAGE_HEIGHT: f32 = 842.0;
    const MARGIN: f32 = 56.0;
    const LINE_HEIGHT: f32 = 14.0;
    const FONT_SIZE: f32 = 10.5;
    // Helvetica's average advance is about half the font size; wrap a little
    // early rather than run off the page.
    let max_chars = ((PAGE_WIDTH - 2.0 * MARGIN) / (FONT_SIZE * 0.52)) as usize;
    let lines_per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LINE_HEIGHT) as usize;

    let text = String::from_utf8_lossy(&markdown(document)).into_owned();
    let mut lines = Vec::new();
    for line in text.lines() {
        lines.extend(wrap(line, max_chars));
    }
    let pages: Vec<&[String]> = lines.chunks(lines_per_page.max(1)).collect();

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let font_name = Name(b"F1");
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(4 + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (index, page_lines) in pages.iter().enumerate() {
        let page_id = page_ids[index];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources().fonts().pair(font_name, font);
        drop(page);
        let mut content = Content::new();
        content.begin_text();
        content.set_font(font_name, FONT_SIZE);
        content.set_leading(LINE_HEIGHT);
        content.next_line(MARGIN, PAGE_HEIGHT - MARGIN);
        for line in page_lines.iter() {
            content.show(Str(&latin1(line)));
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// Splits `line` into pieces of at most `width` characters at spaces
/// (or mid-word when a word is longer than a line).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let plain = line.replace("**", "");
    if plain.chars().count() <= width {
        return vec![plain];
    }
    let indent: String = plain.chars().take_while(|c| *c == ' ').collect();
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in plain.split(' ').filter(|w| !w.is_empty()) {
        let needed = current.chars().count() + 1 + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(if lines.is_empty() { &indent } else { "    " });
        } else {
            current.push(' ');
        }
        current.push_str(word);
        while current.chars().count() > width {
            let head: String = current.chars().take(width).collect();
            current = current.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Latin-1 bytes of `text` (WinAnsi agrees on the printable range), `?`
/// for what it cannot show.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '—' | '–' => b'-',
            '·' => 0xB7,
            c if (' '..='~').contains(&c) || ('\u{A0}'..='\u{FF}').contains(&c) => c as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Document {
        Document {
            format_version: 1,
            workshop_id: "w".to_owned(),
            title: "Better onboarding".to_owned(),
            original_idea: "Make onboarding painless".to_owned(),
            status: Status::Active,
            generated_at: "2026-11-23T00:00:00Z".to_owned(),
            steps: vec![DocumentStep {
                id: "empathize".to_owned(),
                position: 1,
                name: "Empathize".to_owned(),
                status: StepStatus::Complete,
                skipped: false,
                output: serde_json::json!({"personas": ["new hire", {"name": "manager", "pains": ["paperwork"]}]}),
            }],
        }
    }

    #[test]
    fn markdown_nests_outputs_as_lists() {
        let text = String::from_utf8(markdown(&document())).expect("utf-8");
        assert!(text.starts_with("# Better onboarding\n"));
        assert!(text.contains("## 1. Empathize"));
        assert!(text.contains("- **personas**\n  - new hire\n  -\n    - **name**: manager\n    - **pains**\n      - paperwork"), "{text}");
    }

    #[test]
    fn pdf_is_a_pdf_and_long_lines_wrap() {
        let bytes = pdf(&document());
        assert!(bytes.starts_with(b"%PDF-"));
        let wrapped = wrap(&"word ".repeat(100), 40);
        assert!(wrapped.len() > 10 && wrapped.iter().all(|l| l.chars().count() <= 40));
    }
}
