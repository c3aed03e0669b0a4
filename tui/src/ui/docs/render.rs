//! Markdown → terminal lines for the docs reader: a page rendered at a width into styled lines, with where
//! its links, headings and anchors are, so the reader can cycle links, jump to anchors, search and scroll
//! without re-parsing. Rendering is a pure function of (markdown, location, width, theme): views draw from
//! the result alone.

use std::collections::HashMap;

use ratatui::text::{Line, Span};

use super::super::theme::Theme;

/// A link as it appears in the rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpot {
    /// Line index in [`RenderedPage::lines`].
    pub line: usize,
    /// Display columns `[start, end)` of the link text on that line (its first line when it wraps).
    pub start: u16,
    pub end: u16,
    /// The link target as written in the markdown (resolve with `stagedoor_core::techdocs::index::resolve_link`).
    pub href: String,
    /// The link's text.
    pub text: String,
}

/// A heading of the rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadingSpot {
    pub line: usize,
    pub level: u8,
    pub title: String,
    /// Its MkDocs anchor (`stagedoor_core::techdocs::page::slugify`, made unique as MkDocs does).
    pub anchor: String,
}

/// A page rendered for a given width.
#[derive(Debug, Clone, Default)]
pub struct RenderedPage {
    /// The width it was rendered for (a resize re-renders).
    pub width: u16,
    pub lines: Vec<Line<'static>>,
    /// The text of each line without styles, for in-page search.
    pub plain: Vec<String>,
    /// Links in reading order.
    pub links: Vec<LinkSpot>,
    /// Headings in reading order (the page's table of contents).
    pub headings: Vec<HeadingSpot>,
    /// Anchor → line.
    pub anchors: HashMap<String, usize>,
}

/// Renders `markdown` (the page at `location`, relative to docs_dir) for `width` columns.
///
/// INTERIM: paragraphs as plain lines only; the full renderer (headings, lists, tables, code, admonitions,
/// links...) replaces this body.
pub fn render_markdown(markdown: &str, location: &str, width: u16, theme: &Theme) -> RenderedPage {
    let _ = location;
    let mut page = RenderedPage {
        width,
        ..RenderedPage::default()
    };
    for line in markdown.lines() {
        page.plain.push(line.to_string());
        page.lines
            .push(Line::from(Span::styled(line.to_string(), theme.base)));
    }
    page
}
