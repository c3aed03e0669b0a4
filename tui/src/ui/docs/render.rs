//! Markdown → terminal lines for the docs reader: a page rendered at a width into styled lines, with where
//! its links, headings and anchors are, so the reader can cycle links, jump to anchors, search and scroll
//! without re-parsing. Rendering is a pure function of (markdown, location, width, theme): views draw from
//! the result alone.
//!
//! The markdown is read as TechDocs reads it ([`stagedoor_core::techdocs::page`]: the same extensions, the
//! same admonition pre-pass, the same heading anchors), then walked by [`blocks`] into lines, with
//! [`wrap`] for word wrapping and [`table`] for tables. Everything the page says is text: escape sequences
//! and control characters are removed before parsing, and raw HTML is shown, never interpreted.

mod blocks;
mod table;
#[cfg(test)]
mod tests;
mod wrap;

use std::collections::HashMap;

use pulldown_cmark::Parser;
use ratatui::text::Line;
use stagedoor_core::techdocs::page as core_page;

use super::super::text::strip_escapes;
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
/// Link targets are kept as written (`location` is what the reader resolves them against, with
/// `stagedoor_core::techdocs::index::resolve_link`), so rendering does not need it.
pub fn render_markdown(markdown: &str, location: &str, width: u16, theme: &Theme) -> RenderedPage {
    let _ = location;
    // Escape sequences go before parsing so that a sequence split across markdown syntax (`ESC [31m` reads
    // as text, `[`, text) cannot survive in pieces; newlines and tabs stay, they are markdown's layout.
    let cleaned = strip_escapes(markdown);
    let prepared = core_page::prepare(&cleaned);
    let events = Parser::new_ext(&prepared.source, core_page::options()).collect();
    let mut page = blocks::render(events, &prepared.admonitions, usize::from(width), theme);
    page.width = width;
    page
}
