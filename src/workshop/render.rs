//! Rendering a workshop's step outputs into a build pack: Markdown, JSON or
//! PDF (laid out by the `pdf_*` submodules). Pure functions of a
//! [`Document`], so they are tested without a database.

mod pdf_font;
mod pdf_layout;
mod pdf_wrap;

use serde::Serialize;

use self::pdf_layout::{Block, Kind};
use super::fields::{Status, StepStatus};

pub use self::pdf_font::PdfError;

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

/// The PDF build pack: the title as a heading, the idea and status, then
/// each step under its own heading with its output as nested lists (keys
/// in bold, strings as wrapped paragraphs), on as many A4 pages as it
/// takes. The text is set in a subset of the bundled Unicode font
/// (`render/pdf_font.rs`, `assets/fonts/`) and extracts as written; lines
/// are laid out in `render/pdf_layout.rs`. The same document gives the same
/// bytes: there is no timestamp in it but the document's own.
pub fn pdf(document: &Document) -> Result<Vec<u8>, PdfError> {
    let mut blocks = vec![
        block(Kind::Title, "", &document.title),
        block(Kind::Paragraph, "Original idea: ", &document.original_idea),
        block(
            Kind::Note,
            "",
            &format!(
                "Status: {} · generated {}",
                document.status, document.generated_at
            ),
        ),
    ];
    for step in &document.steps {
        let heading = format!("{}. {}", step.position, step.name);
        blocks.push(block(Kind::Heading, "", &heading));
        blocks.push(block(Kind::Note, "", step_state(step)));
        if step.output.is_null() {
            blocks.push(block(Kind::Paragraph, "", "No output yet."));
        } else {
            items(&step.output, 0, &mut blocks);
        }
    }
    pdf_layout::render(&clean(&document.title), &blocks)
}

fn block(kind: Kind, label: &str, text: &str) -> Block {
    Block {
        kind,
        label: clean(label),
        text: clean(text),
    }
}

/// `text` with line ends as `\n`, tabs as four spaces and other control
/// characters as spaces: what a line of the PDF can show.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as list items, `depth` levels deep: an object's keys are
/// labels (a scalar value follows its key on the same item), an array's
/// containers are numbered.
fn items(value: &serde_json::Value, depth: usize, out: &mut Vec<Block>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if is_scalar(value) {
                    out.push(block(
                        Kind::Item(depth),
                        &format!("{key}: "),
                        &scalar(value),
                    ));
                } else {
                    out.push(block(Kind::Item(depth), key, ""));
                    items(value, depth + 1, out);
                }
            }
        }
        serde_json::Value::Array(values) => {
            for (n, value) in values.iter().enumerate() {
                if is_scalar(value) {
                    out.push(block(Kind::Item(depth), "", &scalar(value)));
                } else {
                    out.push(block(Kind::Item(depth), &format!("{}.", n + 1), ""));
                    items(value, depth + 1, out);
                }
            }
        }
        other => out.push(block(Kind::Item(depth), "", &scalar(other))),
    }
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
    fn pdf_is_a_pdf() {
        let bytes = pdf(&document()).expect("pdf");
        assert!(bytes.starts_with(b"%PDF-"));
    }

    /// A workshop titled `title` with a step per text, whose output holds
    /// it alone, as a long paragraph of it, and nested in a list.
    fn workshop(title: &str, texts: &[&str]) -> Document {
        let mut document = document();
        document.title = title.to_owned();
        document.steps = texts
            .iter()
            .enumerate()
            .map(|(n, text)| DocumentStep {
                id: format!("step-{n}"),
                position: i32::try_from(n + 1).expect("few steps"),
                name: format!("Step {}", n + 1),
                status: StepStatus::Complete,
                skipped: false,
                output: serde_json::json!({
                    "text": text,
                    "long": vec![*text; 40].join(" "),
                    "nested": [{"again": text}],
                }),
            })
            .collect();
        document
    }

    fn squash(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The text lopdf extracts from every page, and the number of pages.
    fn lopdf_text(pdf: &[u8]) -> (String, usize) {
        let document = lopdf::Document::load_mem(pdf).expect("a PDF lopdf reads");
        let pages: Vec<u32> = document.get_pages().keys().copied().collect();
        let text = document.extract_text(&pages).expect("text");
        (text, pages.len())
    }

    /// `pdftotext`'s text of `pdf`, or `None` where it is not installed
    /// (CI installs it and sets `ATELIER_REQUIRE_PDFTOTEXT`, so there the
    /// check always runs).
    fn pdftotext(pdf: &[u8]) -> Option<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pack.pdf");
        std::fs::write(&path, pdf).expect("write");
        let output = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output();
        let Ok(output) = output else {
            assert!(
                std::env::var_os("ATELIER_REQUIRE_PDFTOTEXT").is_none(),
                "pdftotext is required here but not on PATH"
            );
            eprintln!("pdftotext is not on PATH: its check is skipped");
            return None;
        };
        assert!(output.status.success(), "pdftotext: {output:?}");
        Some(String::from_utf8(output.stdout).expect("utf-8"))
    }

    /// The embedded font program, decompressed.
    fn font_file(pdf: &[u8]) -> Vec<u8> {
        let document = lopdf::Document::load_mem(pdf).expect("pdf");
        let mut files = document.objects.values().filter_map(|object| {
            let dict = object.as_dict().ok()?;
            dict.get(b"FontFile2").ok()?.as_reference().ok()
        });
        let id = files.next().expect("a FontFile2");
        assert!(files.next().is_none(), "one font");
        let stream = document
            .get_object(id)
            .and_then(|o| o.as_stream())
            .expect("stream");
        stream.decompressed_content().expect("inflates")
    }

    /// Every text is a line's end (the line "text: …"), and wrapped into
    /// the long paragraph.
    fn assert_has_outputs(text: &str, texts: &[&str], reader: &str) {
        for needle in texts {
            assert!(
                text.lines().any(|line| line.trim_end().ends_with(needle)),
                "{reader}: no line ends with {needle:?}:\n{text}"
            );
            let long = squash(&vec![*needle; 40].join(" "));
            assert!(squash(text).contains(&long), "{reader}: {needle:?} x 40");
            assert!(
                !text.lines().any(|l| squash(l) == long),
                "{reader}: not wrapped"
            );
        }
        assert!(!text.contains('?') && !text.contains('\u{FFFD}'), "{text}");
    }

    #[test]
    fn pdf_text_is_the_outputs_in_latin_cyrillic_and_cjk() {
        let cases: [(&str, &[&str]); 3] = [
            ("Café", &["Café “quotes” — naïve"]),
            ("Ёжик", &["Ёжик в тумане — щука"]),
            (
                "日本語",
                &["日本語のテキスト、ひらがな", "中文文本：简体字"],
            ),
        ];
        for (title, texts) in cases {
            let document = workshop(title, texts);
            let bytes = pdf(&document).expect("pdf");
            assert_eq!(bytes, pdf(&document).expect("pdf"), "deterministic");

            let (text, _) = lopdf_text(&bytes);
            assert!(text.starts_with(&format!("{title}\n")), "{text}");
            assert!(text.contains("1. Step 1\nComplete\n"), "{text}");
            assert_has_outputs(&text, texts, "lopdf");
            if let Some(text) = pdftotext(&bytes) {
                assert_has_outputs(&text, texts, "pdftotext");
            }
            let font = font_file(&bytes);
            assert!(font.len() < 200_000, "{title}: a {} byte font", font.len());
            let face = ttf_parser::Face::parse(&font, 0).expect("the subset parses");
            assert!(face.number_of_glyphs() < 100, "{}", face.number_of_glyphs());
        }
    }

    #[test]
    fn a_long_output_takes_pages_and_keeps_every_item() {
        let mut document = document();
        let output: serde_json::Map<String, serde_json::Value> = (0..400)
            .map(|n| (format!("key {n:03}"), format!("value {n}").into()))
            .collect();
        document.steps[0].output = output.into();
        let bytes = pdf(&document).expect("pdf");
        let (text, pages) = lopdf_text(&bytes);
        assert!(pages > 5, "{pages} pages");
        for n in 0..400 {
            assert!(text.contains(&format!("•key {n:03}: value {n}\n")), "{n}");
        }
    }

    #[test]
    fn text_the_font_lacks_still_extracts_and_controls_are_spaces() {
        let mut document = document();
        document.steps[0].output = serde_json::json!({"odd": "ゖ\u{2011}ヺ\ttab\r\nnext"});
        let (text, _) = lopdf_text(&pdf(&document).expect("pdf"));
        assert!(text.contains("•odd: ゖ\u{2011}ヺ    tab\nnext\n"), "{text}");
    }
}
