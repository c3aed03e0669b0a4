//! The reader's state: the site being read (or why not yet), the nav tree's cursor and folds, the page on
//! screen with its scroll position, focused link and search, the history of pages, and the markdown and
//! rendered pages already fetched. Only `docs::update` changes it; `docs::view` draws from it.

use std::collections::{BTreeSet, HashMap};

use stagedoor_core::techdocs::publish::DocsSite;
use stagedoor_core::EntityRef;
use unicode_width::UnicodeWidthChar;

use super::super::msg::RequestId;
use super::nav::{self, NavRow};
use super::render::RenderedPage;

/// How many rendered pages are kept (each (page, width) pair is one); old widths go first.
pub const RENDER_CACHE: usize = 24;

/// Where the site is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteLoad {
    /// The stored site is being fetched.
    Loading,
    /// There was none: the docs are being built (`sync_docs`); its log is in [`Reader::sync_log`].
    Syncing,
    Ready,
    Failed(String),
}

/// The page pane's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageLoad {
    /// Nothing asked yet (the site is not there).
    Idle,
    /// Its markdown is on the way.
    Loading,
    Ready,
    Failed(String),
}

/// Which pane keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Nav,
    Page,
    /// The table of contents (only while it shows).
    Toc,
}

/// A search hit: display columns `[start, end)` of a rendered line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub start: u16,
    pub end: u16,
}

/// The in-page search: its query, its hits in reading order and the one shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Search {
    pub query: String,
    pub matches: Vec<Match>,
    pub current: Option<usize>,
}

/// Where a page was left: its first visible line, and the rendering it counted in (to map it onto another
/// width by proportion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub total: usize,
}

pub struct Reader {
    pub entity_ref: EntityRef,
    pub site: Option<DocsSite>,
    pub site_load: SiteLoad,
    /// The site request in flight (the fetch or the sync), to drop stale replies.
    pub site_request: Option<RequestId>,
    /// `sync_docs` already ran for this opening (a second "no site" is an error, not another sync).
    pub synced: bool,
    pub sync_log: Vec<String>,
    /// Folded nav sections (ids from [`nav::rows`]).
    pub collapsed: BTreeSet<String>,
    pub nav_cursor: usize,
    pub nav_offset: usize,
    pub focus: Focus,
    /// Whether the table of contents pane shows.
    pub toc: bool,
    /// The heading under the cursor in the table of contents.
    pub toc_cursor: usize,
    /// The page shown, by location.
    pub current: Option<String>,
    pub page_load: PageLoad,
    pub page_request: Option<RequestId>,
    /// The anchor to scroll to once the page arrives.
    pub pending_anchor: Option<String>,
    /// The page (by URL, as `operations/runbook/`) and anchor to open first instead of the home page, once
    /// the site arrives (a docs search result).
    pub start_at: Option<(String, Option<String>)>,
    /// First visible line of the current page.
    pub scroll: usize,
    /// The focused link, an index into the rendered page's links.
    pub link: Option<usize>,
    pub search: Option<Search>,
    /// Pages left by following links or the nav (Esc returns to the last).
    pub history: Vec<String>,
    /// Where each page visited was left.
    pub positions: HashMap<String, Position>,
    /// Markdown sources by location, once fetched.
    pub sources: HashMap<String, String>,
    /// Rendered pages by (location, width).
    pub rendered: HashMap<(String, u16), RenderedPage>,
    /// The text width the current page is rendered at.
    pub width: u16,
}

impl Reader {
    pub fn new(entity_ref: EntityRef) -> Reader {
        Reader {
            entity_ref,
            site: None,
            site_load: SiteLoad::Loading,
            site_request: None,
            synced: false,
            sync_log: Vec::new(),
            collapsed: BTreeSet::new(),
            nav_cursor: 0,
            nav_offset: 0,
            focus: Focus::Page,
            toc: false,
            toc_cursor: 0,
            current: None,
            page_load: PageLoad::Idle,
            page_request: None,
            pending_anchor: None,
            start_at: None,
            scroll: 0,
            link: None,
            search: None,
            history: Vec::new(),
            positions: HashMap::new(),
            sources: HashMap::new(),
            rendered: HashMap::new(),
            width: 0,
        }
    }

    /// The breadcrumb: the site's name once known, else the entity.
    pub fn crumb(&self) -> String {
        match &self.site {
            Some(site) if !site.site_name.trim().is_empty() => format!("docs: {}", site.site_name),
            _ => format!("docs: {}", self.entity_ref.canonical()),
        }
    }

    /// The current page as rendered at the current width, when it is.
    pub fn page(&self) -> Option<&RenderedPage> {
        let location = self.current.as_ref()?;
        self.rendered.get(&(location.clone(), self.width))
    }

    /// The current page's title: the site's for it, else its location.
    pub fn title(&self) -> String {
        let Some(location) = &self.current else {
            return String::new();
        };
        self.site
            .as_ref()
            .and_then(|s| s.page(location))
            .map(|p| p.title.clone())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| location.clone())
    }

    /// The nav pane's rows.
    pub fn nav_rows(&self) -> Vec<NavRow> {
        self.site
            .as_ref()
            .map(|s| nav::rows(s, &self.collapsed))
            .unwrap_or_default()
    }

    /// The last scroll position that keeps a full screen of text (`height` lines) in view.
    pub fn max_scroll(&self, height: usize) -> usize {
        self.page()
            .map_or(0, |p| p.lines.len().saturating_sub(height.max(1)))
    }

    /// The heading the reader is in: the last one at or above the first visible line.
    pub fn current_heading(&self) -> Option<usize> {
        let page = self.page()?;
        page.headings.iter().rposition(|h| h.line <= self.scroll)
    }

    /// Keeps the rendered-page cache small: drops renderings at other widths first, then any but the current.
    pub fn trim_cache(&mut self) {
        if self.rendered.len() <= RENDER_CACHE {
            return;
        }
        let width = self.width;
        self.rendered.retain(|(_, w), _| *w == width);
        if self.rendered.len() > RENDER_CACHE {
            let keep = self.current.clone();
            self.rendered
                .retain(|(location, _), _| Some(location) == keep.as_ref());
        }
    }
}

/// Case-insensitive occurrences of `query` in each line of `plain`, as display-column ranges, in reading
/// order. Characters are compared one by one after lowercasing (so columns stay those of the original
/// text, whatever lowercasing does to byte lengths).
pub fn find_matches(plain: &[String], query: &str) -> Vec<Match> {
    let needle: Vec<char> = query.chars().map(fold).collect();
    if needle.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (line, text) in plain.iter().enumerate() {
        let mut chars: Vec<(char, u16)> = Vec::with_capacity(text.len());
        let mut col = 0u16;
        for c in text.chars() {
            chars.push((fold(c), col));
            col = col.saturating_add(c.width().unwrap_or(0) as u16);
        }
        let mut i = 0;
        while i + needle.len() <= chars.len() {
            if chars[i..i + needle.len()]
                .iter()
                .zip(&needle)
                .all(|((c, _), n)| c == n)
            {
                let start = chars[i].1;
                let end = chars
                    .get(i + needle.len())
                    .map_or(col, |(_, next_col)| *next_col);
                out.push(Match { line, start, end });
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

/// One character lowercased to one character (the first of its lowercase form).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_case_insensitive_and_counts_columns() {
        let plain = vec![
            "Shipment tracker".to_string(),
            "no hit".to_string(),
            "日本 SHIP ship".to_string(),
        ];
        let m = find_matches(&plain, "ship");
        assert_eq!(
            m,
            [
                Match {
                    line: 0,
                    start: 0,
                    end: 4
                },
                Match {
                    line: 2,
                    start: 5,
                    end: 9
                },
                Match {
                    line: 2,
                    start: 10,
                    end: 14
                },
            ]
        );
        assert!(find_matches(&plain, "").is_empty());
    }
}
