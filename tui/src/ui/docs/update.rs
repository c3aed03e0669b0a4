//! What keys and portal replies do to the reader. Called from the app's `update` (which owns the keymap,
//! the mode and the status line); pure like it: state changes, effects out.
//!
//! Opening: the stored site is fetched; when there is none the docs are built (`sync_docs`, its log shown
//! as progress) and fetched again; then the home page's markdown. Pages are rendered here, not in the view,
//! once per (page, width), and re-rendered when the text width changes (a resize, the TOC pane), keeping
//! the reading position by the heading above it.

use crossterm::event::KeyCode;
use stagedoor_core::techdocs::index::{resolve_link, LinkTarget};
use stagedoor_core::EntityRef;

use super::super::keymap::{Action, Key};
use super::super::msg::{Effect, Failure, RequestId};
use super::super::state::{App, Connection, Mode, Screen, Status};
use super::super::text::sanitize;
use super::super::update::moved;
use super::super::views::areas;
use super::nav::{self, NavTarget};
use super::render::{render_markdown, RenderedPage};
use super::state::{find_matches, Focus, PageLoad, Position, Reader, Search, SiteLoad};
use super::view::{layout, nav_height, text_size, toc_offset};
use ratatui::layout::Rect;

/// How many screens the history keeps (as the app's own history does).
const HISTORY: usize = 32;

/// Lines a mouse wheel notch scrolls.
const WHEEL: usize = 3;

/// Pushes the reader for `entity_ref` and asks for its site.
pub fn open(app: &mut App, entity_ref: EntityRef) -> Vec<Effect> {
    let id = app.request_id();
    let mut reader = Reader::new(entity_ref.clone());
    reader.site_request = Some(id);
    app.status = None;
    app.screens.push(Screen::Docs(Box::new(reader)));
    if app.screens.len() > HISTORY {
        app.screens.remove(0);
    }
    vec![Effect::LoadDocsSite {
        id,
        entity_ref,
        sync: false,
    }]
}

/// Pushes the reader for `entity_ref` opened at the page whose URL is `url` (`operations/runbook/`; empty:
/// the home page) scrolled to `anchor`: where a docs search result points.
pub fn open_at(
    app: &mut App,
    entity_ref: EntityRef,
    url: &str,
    anchor: Option<String>,
) -> Vec<Effect> {
    let effects = open(app, entity_ref);
    if let Some(reader) = app.reader_mut() {
        reader.start_at = Some((url.to_string(), anchor));
    }
    effects
}

/// The location of the page whose URL is `url`, slashes at either end ignored (`operations/runbook`,
/// `operations/runbook/` and `/operations/runbook/` are one page); an empty URL is the home page.
fn page_by_url(site: &stagedoor_core::techdocs::publish::DocsSite, url: &str) -> Option<String> {
    let wanted = url.trim_matches('/');
    if wanted.is_empty() {
        return site.home().map(|p| p.location.clone());
    }
    site.pages
        .iter()
        .find(|p| p.url.trim_matches('/') == wanted)
        .map(|p| p.location.clone())
}

/// The index in the screen stack of the reader `pred` picks.
fn reader_index(app: &App, pred: impl Fn(&Reader) -> bool) -> Option<usize> {
    app.screens
        .iter()
        .position(|s| matches!(s, Screen::Docs(r) if pred(r)))
}

fn reader_at(app: &mut App, pos: usize) -> Option<&mut Reader> {
    match app.screens.get_mut(pos) {
        Some(Screen::Docs(r)) => Some(r),
        _ => None,
    }
}

pub fn site_loaded(
    app: &mut App,
    id: RequestId,
    synced: bool,
    result: Result<Option<stagedoor_core::techdocs::publish::DocsSite>, Failure>,
) -> Vec<Effect> {
    let Some(pos) = reader_index(app, |r| r.site_request == Some(id)) else {
        return Vec::new();
    };
    let next = app.next_id + 1;
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    reader.site_request = None;
    match result {
        Ok(Some(site)) => {
            let home = site.home().map(|p| p.location.clone());
            // A search result's page and heading, when the site has that page; else the home page.
            let mut anchor = None;
            let mut start = home;
            if let Some((url, wanted_anchor)) = reader.start_at.take() {
                match page_by_url(&site, &url) {
                    Some(location) => {
                        start = Some(location);
                        anchor = wanted_anchor;
                    }
                    None => {
                        app.status = Some(Status::Error(format!(
                            "the docs have no page {}: showing the home page",
                            sanitize(&url)
                        )));
                    }
                }
            }
            let Some(reader) = reader_at(app, pos) else {
                return Vec::new();
            };
            reader.site = Some(site);
            reader.site_load = SiteLoad::Ready;
            app.connection = Connection::Connected;
            match start {
                Some(location) => load_page(app, pos, location, anchor, false),
                None => {
                    if let Some(r) = reader_at(app, pos) {
                        r.page_load = PageLoad::Failed("the site has no pages".to_string());
                    }
                    Vec::new()
                }
            }
        }
        // Nothing stored yet: build it (Backstage's sync) and fetch again, once.
        Ok(None) if !synced => {
            reader.synced = true;
            reader.site_load = SiteLoad::Syncing;
            reader.site_request = Some(next);
            let entity_ref = reader.entity_ref.clone();
            app.next_id = next;
            vec![Effect::LoadDocsSite {
                id: next,
                entity_ref,
                sync: true,
            }]
        }
        Ok(None) => {
            let shown = reader.entity_ref.canonical();
            reader.site_load = SiteLoad::Failed(format!("{shown} has no docs built"));
            Vec::new()
        }
        Err(f) => {
            reader.site_load = SiteLoad::Failed(f.message.clone());
            if f.connection {
                app.connection = Connection::Failed(f.message);
            }
            Vec::new()
        }
    }
}

/// A line of the docs build's log, for the reader waiting on it.
pub fn log(app: &mut App, id: RequestId, line: String) {
    if let Some(pos) = reader_index(app, |r| r.site_request == Some(id)) {
        if let Some(r) = reader_at(app, pos) {
            r.sync_log.push(line);
        }
    }
}

pub fn page_loaded(
    app: &mut App,
    id: RequestId,
    location: String,
    result: Result<Option<String>, Failure>,
) -> Vec<Effect> {
    let Some(pos) = reader_index(app, |r| r.page_request == Some(id)) else {
        return Vec::new();
    };
    let theme = app.theme.clone();
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    reader.page_request = None;
    if reader.current.as_deref() != Some(location.as_str()) {
        return Vec::new();
    }
    match result {
        Ok(Some(markdown)) => {
            reader.sources.insert(location, markdown);
            ready(app, pos, &theme);
        }
        Ok(None) => {
            reader.page_load = PageLoad::Failed(format!("{location} is not in the stored site"));
        }
        Err(f) => {
            reader.page_load = PageLoad::Failed(f.message.clone());
            if f.connection {
                app.connection = Connection::Failed(f.message);
            }
        }
    }
    Vec::new()
}

/// Shows `location` in the reader at `pos`: from what was fetched already, or fetching it. `remember`
/// pushes the page being left on the history (following a link or the nav; not going back).
fn load_page(
    app: &mut App,
    pos: usize,
    location: String,
    anchor: Option<String>,
    remember: bool,
) -> Vec<Effect> {
    let id = app.next_id + 1;
    let theme = app.theme.clone();
    let nav_h = nav_height(app);
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    if let Some(current) = reader.current.clone() {
        let total = reader.page().map_or(0, |p| p.lines.len());
        reader.positions.insert(
            current.clone(),
            Position {
                line: reader.scroll,
                total,
            },
        );
        if remember && current != location {
            reader.history.push(current);
            if reader.history.len() > 100 {
                reader.history.remove(0);
            }
        }
    }
    reader.current = Some(location.clone());
    reader.link = None;
    reader.search = None;
    reader.scroll = 0;
    reader.pending_anchor = anchor;
    // Unfold the sections holding the page and put the nav cursor on it.
    if let Some(site) = &reader.site {
        for id in nav::sections_of(site, &location) {
            reader.collapsed.remove(&id);
        }
    }
    if let Some(i) = reader
        .nav_rows()
        .iter()
        .position(|r| r.target == NavTarget::Page(location.clone()))
    {
        reader.nav_cursor = i;
        keep_nav_cursor_visible(reader, nav_h);
    }
    if reader.sources.contains_key(&location) {
        ready(app, pos, &theme);
        return Vec::new();
    }
    reader.page_load = PageLoad::Loading;
    reader.page_request = Some(id);
    let entity_ref = reader.entity_ref.clone();
    app.next_id = id;
    vec![Effect::LoadDocsPage {
        id,
        entity_ref,
        location,
    }]
}

/// The current page's markdown is there: render it for the width and put the reader where it should be
/// (the anchor asked for, else where the page was left, else the top).
fn ready(app: &mut App, pos: usize, theme: &super::super::theme::Theme) {
    let (width, height) = reader_text_size(app, pos);
    let Some(reader) = reader_at(app, pos) else {
        return;
    };
    reader.width = width;
    ensure_rendered(reader, theme);
    reader.page_load = PageLoad::Ready;
    let Some(location) = reader.current.clone() else {
        return;
    };
    let Some(page) = reader.page() else {
        return;
    };
    let total = page.lines.len();
    let anchor_line = reader
        .pending_anchor
        .as_ref()
        .and_then(|a| page.anchors.get(a).copied());
    let missing = reader
        .pending_anchor
        .clone()
        .filter(|_| anchor_line.is_none());
    reader.scroll = match (anchor_line, reader.positions.get(&location)) {
        (Some(line), _) => line,
        (None, Some(p)) if p.total == total || p.total == 0 => p.line,
        (None, Some(p)) => p.line * total / p.total,
        (None, None) => 0,
    };
    reader.pending_anchor = None;
    reader.scroll = reader.scroll.min(reader.max_scroll(height));
    if let Some(anchor) = missing {
        app.status = Some(Status::Error(format!(
            "no #{} in {}",
            sanitize(&anchor),
            sanitize(&location)
        )));
    }
}

/// The text size the reader at `pos` lays its page out in.
fn reader_text_size(app: &App, pos: usize) -> (u16, usize) {
    let toc = matches!(app.screens.get(pos), Some(Screen::Docs(r)) if r.toc);
    text_size(app.width, app.height, toc)
}

/// Renders the current page at the reader's width unless that is cached.
fn ensure_rendered(reader: &mut Reader, theme: &super::super::theme::Theme) {
    let Some(location) = reader.current.clone() else {
        return;
    };
    let key = (location, reader.width);
    if reader.rendered.contains_key(&key) {
        return;
    }
    let Some(markdown) = reader.sources.get(&key.0) else {
        return;
    };
    let page = render_markdown(markdown, &key.0, key.1, theme);
    reader.rendered.insert(key, page);
    reader.trim_cache();
}

/// After a resize or the TOC pane toggled: renders the top reader's page for the new text width and keeps
/// the reading position (the same place under the heading above it).
pub fn reflow(app: &mut App) {
    let theme = app.theme.clone();
    let Some(pos) = app.screens.len().checked_sub(1) else {
        return;
    };
    let (width, height) = reader_text_size(app, pos);
    let Some(reader) = reader_at(app, pos) else {
        return;
    };
    if reader.width == width || reader.page_load != PageLoad::Ready {
        reader.width = width;
        ensure_rendered(reader, &theme);
        return;
    }
    let old = reader.page().cloned();
    reader.width = width;
    ensure_rendered(reader, &theme);
    if let (Some(old), Some(new)) = (old, reader.page()) {
        let scroll = map_position(&old, new, reader.scroll);
        let links = new.links.len();
        reader.scroll = scroll;
        reader.link = reader.link.filter(|&i| i < links);
    }
    reader.scroll = reader.scroll.min(reader.max_scroll(height));
    research(reader);
}

/// Where line `scroll` of `old` is in `new` (the same page at another width): as far into the same
/// section (the heading above it) proportionally; without headings, as far into the page.
pub fn map_position(old: &RenderedPage, new: &RenderedPage, scroll: usize) -> usize {
    if let Some(i) = old.headings.iter().rposition(|h| h.line <= scroll) {
        let h = &old.headings[i];
        if let Some(n) = new.headings.get(i).filter(|n| n.anchor == h.anchor) {
            let old_end = old.headings.get(i + 1).map_or(old.lines.len(), |x| x.line);
            let new_end = new.headings.get(i + 1).map_or(new.lines.len(), |x| x.line);
            let old_len = old_end.saturating_sub(h.line).max(1);
            let new_len = new_end.saturating_sub(n.line);
            return n.line + (scroll - h.line) * new_len / old_len;
        }
    }
    scroll * new.lines.len() / old.lines.len().max(1)
}

/// Recomputes the search's matches on the current rendering (after a re-render).
fn research(reader: &mut Reader) {
    let Some(query) = reader.search.as_ref().map(|s| s.query.clone()) else {
        return;
    };
    let matches = reader
        .page()
        .map(|p| find_matches(&p.plain, &query))
        .unwrap_or_default();
    if let Some(search) = reader.search.as_mut() {
        search.current = search
            .current
            .filter(|_| !matches.is_empty())
            .map(|c| c.min(matches.len() - 1));
        search.matches = matches;
    }
}

/// A key in normal mode, mapped to `action` by the keymap, on the top reader.
pub fn action(app: &mut App, action: Action) -> Vec<Effect> {
    let Some(pos) = app.screens.len().checked_sub(1) else {
        return Vec::new();
    };
    let (_, height) = reader_text_size(app, pos);
    let nav_h = nav_height(app);
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    match action {
        Action::FocusNav => reader.focus = Focus::Nav,
        Action::FocusPage => reader.focus = Focus::Page,
        Action::NextPane | Action::PrevPane => {
            let mut order = vec![Focus::Nav, Focus::Page];
            if reader.toc {
                order.push(Focus::Toc);
            }
            let at = order.iter().position(|f| *f == reader.focus).unwrap_or(0);
            let step = if action == Action::NextPane {
                1
            } else {
                order.len() - 1
            };
            reader.focus = order[(at + step) % order.len()];
            if reader.focus == Focus::Toc {
                reader.toc_cursor = reader.current_heading().unwrap_or(0);
            }
        }
        // Closed → shown and focused; shown but not focused → focused; focused → closed.
        Action::Toc => {
            if reader.toc && reader.focus == Focus::Toc {
                reader.toc = false;
                reader.focus = Focus::Page;
                reflow(app);
            } else {
                reader.toc_cursor = reader.current_heading().unwrap_or(0);
                reader.focus = Focus::Toc;
                if !reader.toc {
                    reader.toc = true;
                    reflow(app);
                }
            }
        }
        Action::Search => {
            if reader.page().is_some() {
                reader.focus = Focus::Page;
                reader.search = Some(Search::default());
                app.mode = Mode::Search(String::new());
            }
        }
        Action::NextMatch | Action::PrevMatch => {
            step_match(reader, action == Action::NextMatch, height);
            if reader.search.as_ref().is_none_or(|s| s.matches.is_empty()) {
                app.status = Some(Status::Info("no search (/ searches the page)".into()));
            }
        }
        Action::Copy => return copy(app, pos),
        _ => match reader.focus {
            Focus::Nav => return nav_action(app, pos, action, nav_h),
            Focus::Page => return page_action(app, pos, action, height),
            Focus::Toc => toc_action(reader, action, height),
        },
    }
    Vec::new()
}

/// Keys in the table of contents: move the cursor; `Enter` scrolls the page to that heading.
fn toc_action(reader: &mut Reader, action: Action, height: usize) {
    let len = reader.page().map_or(0, |p| p.headings.len());
    let cursor = reader.toc_cursor.min(len.saturating_sub(1));
    reader.toc_cursor = moved(cursor, len, action, height);
    if action == Action::Open {
        toc_jump(reader, height);
    }
}

/// Scrolls the page to the heading under the contents cursor.
fn toc_jump(reader: &mut Reader, height: usize) {
    let line = reader
        .page()
        .and_then(|p| p.headings.get(reader.toc_cursor))
        .map(|h| h.line);
    if let Some(line) = line {
        reader.scroll = line.min(reader.max_scroll(height));
    }
}

fn nav_action(app: &mut App, pos: usize, action: Action, height: usize) -> Vec<Effect> {
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    let rows = reader.nav_rows();
    let cursor = reader.nav_cursor.min(rows.len().saturating_sub(1));
    reader.nav_cursor = moved(cursor, rows.len(), action, height);
    keep_nav_cursor_visible(reader, height);
    let Some(row) = rows.get(reader.nav_cursor) else {
        return Vec::new();
    };
    match (action, &row.target) {
        (Action::Open | Action::Toggle, NavTarget::Section { id, collapsed }) => {
            if *collapsed {
                reader.collapsed.remove(id);
            } else {
                reader.collapsed.insert(id.clone());
            }
            Vec::new()
        }
        (Action::Open, NavTarget::Page(location)) => {
            let location = location.clone();
            reader.focus = Focus::Page;
            if reader.current.as_deref() == Some(location.as_str()) {
                return Vec::new();
            }
            load_page(app, pos, location, None, true)
        }
        (Action::Open, NavTarget::Link(url)) => {
            app.status = Some(Status::Info(format!(
                "external link {} ({} copies it)",
                sanitize(url),
                app.keymap.key_label(Action::Copy)
            )));
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Scrolls the nav pane (`height` rows) so its cursor shows.
fn keep_nav_cursor_visible(reader: &mut Reader, height: usize) {
    reader.nav_offset =
        crate::ui::update::offset_showing(reader.nav_offset, reader.nav_cursor, height);
}

fn page_action(app: &mut App, pos: usize, action: Action, height: usize) -> Vec<Effect> {
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    let max = reader.max_scroll(height);
    let scroll = reader.scroll;
    match action {
        Action::Up => reader.scroll = scroll.saturating_sub(1),
        Action::Down => reader.scroll = (scroll + 1).min(max),
        Action::PageUp => reader.scroll = scroll.saturating_sub(height),
        Action::PageDown => reader.scroll = (scroll + height).min(max),
        Action::Top => reader.scroll = 0,
        Action::Bottom => reader.scroll = max,
        Action::NextLink | Action::PrevLink => {
            step_link(reader, action == Action::NextLink, height);
            let target = reader.focused_link_target();
            let status = target.map(|target| {
                format!(
                    "→ {} ({} follows, {} copies)",
                    sanitize(&target),
                    app.keymap.key_label(Action::Open),
                    app.keymap.key_label(Action::Copy)
                )
            });
            app.status = Some(Status::Info(
                status.unwrap_or_else(|| "no links on this page".to_string()),
            ));
        }
        Action::Open => return follow(app, pos, height),
        _ => {}
    }
    Vec::new()
}

impl Reader {
    /// The focused link's href as written and where it resolves to.
    fn focused_link(&self) -> Option<(String, LinkTarget)> {
        let link = self.page()?.links.get(self.link?)?;
        let from = self.current.as_deref().unwrap_or("");
        Some((link.href.clone(), resolve_link(from, &link.href)))
    }

    /// What the status line says the focused link goes to.
    fn focused_link_target(&self) -> Option<String> {
        let (_, target) = self.focused_link()?;
        Some(match target {
            LinkTarget::Page { location, anchor } => match anchor {
                Some(a) => format!("{location}#{a}"),
                None => location,
            },
            LinkTarget::Anchor(a) => format!("#{a}"),
            LinkTarget::File(f) => f,
            LinkTarget::External(url) => url,
        })
    }

    /// Scrolls so `line` is on screen, a third of the way down when it has to move.
    fn reveal(&mut self, line: usize, height: usize) {
        if line < self.scroll || line >= self.scroll + height {
            self.scroll = line.saturating_sub(height / 3).min(self.max_scroll(height));
        }
    }
}

/// Tab / Shift-Tab: the next (previous) link, starting from the first (last) one on screen.
fn step_link(reader: &mut Reader, forward: bool, height: usize) {
    let Some(page) = reader.page() else {
        return;
    };
    let n = page.links.len();
    if n == 0 {
        reader.link = None;
        return;
    }
    let scroll = reader.scroll;
    let next = match (reader.link.filter(|&i| i < n), forward) {
        (Some(i), true) => (i + 1) % n,
        (Some(i), false) => (i + n - 1) % n,
        (None, true) => page
            .links
            .iter()
            .position(|l| l.line >= scroll)
            .unwrap_or(0),
        (None, false) => page
            .links
            .iter()
            .rposition(|l| l.line < scroll + height)
            .unwrap_or(n - 1),
    };
    let line = page.links[next].line;
    reader.link = Some(next);
    reader.reveal(line, height);
}

/// `n` / `N`: the next (previous) search match, wrapping.
fn step_match(reader: &mut Reader, forward: bool, height: usize) {
    let Some(search) = reader.search.as_mut() else {
        return;
    };
    let n = search.matches.len();
    if n == 0 {
        return;
    }
    let next = match (search.current, forward) {
        (Some(i), true) => (i + 1) % n,
        (Some(i), false) => (i + n - 1) % n,
        (None, _) => 0,
    };
    search.current = Some(next);
    let line = search.matches[next].line;
    reader.reveal(line, height);
}

/// Enter on the page: follows the focused link.
fn follow(app: &mut App, pos: usize, height: usize) -> Vec<Effect> {
    let copy_key = app.keymap.key_label(Action::Copy);
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    let Some((_, target)) = reader.focused_link() else {
        app.status = Some(Status::Info(format!(
            "no link selected ({} selects the next one)",
            app.keymap.key_label(Action::NextLink)
        )));
        return Vec::new();
    };
    match target {
        LinkTarget::Page { location, anchor } => {
            if reader.current.as_deref() == Some(location.as_str()) {
                if let Some(a) = anchor {
                    jump_to_anchor(app, pos, &a, height);
                }
                return Vec::new();
            }
            let known = reader
                .site
                .as_ref()
                .is_some_and(|s| s.page(&location).is_some());
            if !known {
                app.status = Some(Status::Error(format!(
                    "{} is not a page of this site",
                    sanitize(&location)
                )));
                return Vec::new();
            }
            load_page(app, pos, location, anchor, true)
        }
        LinkTarget::Anchor(a) => {
            jump_to_anchor(app, pos, &a, height);
            Vec::new()
        }
        LinkTarget::File(f) => {
            app.status = Some(Status::Info(format!(
                "{} is a file of the site, not shown here ({copy_key} copies the link)",
                sanitize(&f)
            )));
            Vec::new()
        }
        LinkTarget::External(url) => {
            app.status = Some(Status::Info(format!(
                "external link {} ({copy_key} copies it)",
                sanitize(&url)
            )));
            Vec::new()
        }
    }
}

fn jump_to_anchor(app: &mut App, pos: usize, anchor: &str, height: usize) {
    let Some(reader) = reader_at(app, pos) else {
        return;
    };
    match reader.page().and_then(|p| p.anchors.get(anchor).copied()) {
        Some(line) => reader.scroll = line.min(reader.max_scroll(height)),
        None => {
            app.status = Some(Status::Error(format!(
                "no #{} in this page",
                sanitize(anchor)
            )))
        }
    }
}

/// `y`: the focused link's URL (page) or the nav link's (nav) to the clipboard with OSC 52.
fn copy(app: &mut App, pos: usize) -> Vec<Effect> {
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    let text = match reader.focus {
        Focus::Page => reader.focused_link().map(|(href, target)| match target {
            LinkTarget::External(url) => url,
            _ => href,
        }),
        Focus::Nav => reader
            .nav_rows()
            .get(reader.nav_cursor)
            .and_then(|r| match &r.target {
                NavTarget::Link(url) => Some(url.clone()),
                NavTarget::Page(location) => Some(location.clone()),
                NavTarget::Section { .. } => None,
            }),
        // The heading's anchor, as a link to it would be written.
        Focus::Toc => reader
            .page()
            .and_then(|p| p.headings.get(reader.toc_cursor))
            .map(|h| format!("{}#{}", reader.current.as_deref().unwrap_or(""), h.anchor)),
    };
    match text {
        Some(text) => {
            app.status = Some(Status::Info(format!("copied {} (OSC 52)", sanitize(&text))));
            vec![Effect::Copy { text }]
        }
        None => {
            app.status = Some(Status::Info(format!(
                "nothing to copy ({} selects a link)",
                app.keymap.key_label(Action::NextLink)
            )));
            Vec::new()
        }
    }
}

/// Esc on the reader: closes the search, else goes back a page. `None`: nothing left to go back to here
/// (the app pops the reader).
pub fn back(app: &mut App) -> Option<Vec<Effect>> {
    let pos = app.screens.len().checked_sub(1)?;
    let reader = reader_at(app, pos)?;
    if reader.search.take().is_some() {
        return Some(Vec::new());
    }
    if reader.focus == Focus::Toc {
        reader.focus = Focus::Page;
        return Some(Vec::new());
    }
    let previous = reader.history.pop()?;
    Some(load_page(app, pos, previous, None, false))
}

/// A key while the search is typed (`Mode::Search`): it narrows live; Enter keeps it for `n` / `N`, Esc
/// closes it.
pub fn search_key(app: &mut App, mut query: String, key: Key) -> Vec<Effect> {
    let Some(pos) = app.screens.len().checked_sub(1) else {
        return Vec::new();
    };
    let (_, height) = reader_text_size(app, pos);
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            if let Some(r) = reader_at(app, pos) {
                r.search = None;
            }
            return Vec::new();
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            if let Some(r) = reader_at(app, pos) {
                if query.is_empty() {
                    r.search = None;
                }
            }
            return Vec::new();
        }
        KeyCode::Backspace => {
            query.pop();
        }
        KeyCode::Char(c) if !key.ctrl => query.push(c),
        _ => return Vec::new(),
    }
    app.mode = Mode::Search(query.clone());
    let Some(reader) = reader_at(app, pos) else {
        return Vec::new();
    };
    let matches = reader
        .page()
        .map(|p| find_matches(&p.plain, &query))
        .unwrap_or_default();
    // The first match from the top of the screen down, as a pager's search does.
    let scroll = reader.scroll;
    let current =
        (!matches.is_empty()).then(|| matches.iter().position(|m| m.line >= scroll).unwrap_or(0));
    let line = current.map(|i| matches[i].line);
    reader.search = Some(Search {
        query,
        matches,
        current,
    });
    if let Some(line) = line {
        reader.reveal(line, height);
    }
    Vec::new()
}

/// The mouse wheel over the reader scrolls the page.
pub fn wheel(app: &mut App, down: bool) {
    let Some(pos) = app.screens.len().checked_sub(1) else {
        return;
    };
    let (_, height) = reader_text_size(app, pos);
    if let Some(reader) = reader_at(app, pos) {
        reader.scroll = if down {
            (reader.scroll + WHEEL).min(reader.max_scroll(height))
        } else {
            reader.scroll.saturating_sub(WHEEL)
        };
    }
}

/// A left click: on a nav row, focuses the nav with the cursor on it; on the page, focuses the page.
pub fn click(app: &mut App, column: u16, row: u16) {
    let body = areas(app.width, app.height).body;
    let Some(reader) = app.reader_mut() else {
        return;
    };
    let a = layout(body, reader.toc);
    let inside =
        |r: Rect| column >= r.x && column < r.x + r.width && row > r.y && row + 1 < r.y + r.height;
    if inside(a.nav) {
        let line = reader.nav_offset + usize::from(row - a.nav.y - 1);
        if line < reader.nav_rows().len() {
            reader.focus = Focus::Nav;
            reader.nav_cursor = line;
        }
    } else if inside(a.page) {
        reader.focus = Focus::Page;
    } else if let Some(toc) = a.toc.filter(|r| inside(*r)) {
        // The list is drawn from the offset the view computes; a click picks the row under it.
        let row_in = usize::from(row - toc.y - 1);
        let index = toc_offset(reader, usize::from(toc.height.saturating_sub(2))) + row_in;
        if reader.page().is_some_and(|p| index < p.headings.len()) {
            reader.focus = Focus::Toc;
            reader.toc_cursor = index;
            let (_, height) = super::view::text_size(app.width, app.height, true);
            if let Some(reader) = app.reader_mut() {
                toc_jump(reader, height);
            }
        }
    }
}
