//! Drawing the reader from its state: the nav tree (left), the page (title, the visible lines only, a
//! scrollbar) and the table of contents (right, when on). A page is sliced to the lines on screen before
//! ratatui sees it, so a frame costs the same on a 5,000-line page as on a short one.
//!
//! The layout functions are shared with `docs::update`, which renders pages at [`text_size`]'s width and
//! scrolls by its height, so drawing and scrolling always agree.

use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Wrap,
};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use super::super::keymap::Action;
use super::super::state::App;
use super::super::text::{sanitize, truncate, width};
use super::super::theme::Theme;
use super::super::views::{areas, chrome::spinner};
use super::nav::NavTarget;
use super::state::{Focus, PageLoad, Reader, SiteLoad};

/// The reader's panes within the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderAreas {
    pub nav: Rect,
    /// The page's bordered pane.
    pub page: Rect,
    /// Where the page's lines go (inside the border; the scrollbar sits on the right border).
    pub text: Rect,
    pub toc: Option<Rect>,
}

/// The reader's layout in `body`: nav ~30 columns, the page, and the TOC when `toc` is on.
pub fn layout(body: Rect, toc: bool) -> ReaderAreas {
    let nav_width = if body.width >= 100 { 30 } else { 24 };
    let toc_width = if body.width >= 110 { 28 } else { 22 };
    let (nav, page, toc) = if toc {
        let [nav, page, toc] = Layout::horizontal([
            Constraint::Length(nav_width),
            Constraint::Min(10),
            Constraint::Length(toc_width),
        ])
        .areas(body);
        (nav, page, Some(toc))
    } else {
        let [nav, page] =
            Layout::horizontal([Constraint::Length(nav_width), Constraint::Min(10)]).areas(body);
        (nav, page, None)
    };
    // One blank column either side of the text, so it does not touch the border or the scrollbar.
    let inner = page.inner(Margin::new(1, 1));
    let text = if inner.width > 12 {
        inner.inner(Margin::new(1, 0))
    } else {
        inner
    };
    ReaderAreas {
        nav,
        page,
        text,
        toc,
    }
}

/// The page text's width (what pages are rendered for) and height (lines on screen) for a terminal of
/// `width` x `height` with the TOC on or off.
pub fn text_size(width: u16, height: u16, toc: bool) -> (u16, usize) {
    let text = layout(areas(width, height).body, toc).text;
    (text.width.max(1), usize::from(text.height).max(1))
}

/// Lines of the nav pane on screen.
pub fn nav_height(app: &App) -> usize {
    let nav = layout(areas(app.width, app.height).body, false).nav;
    usize::from(nav.height.saturating_sub(2)).max(1)
}

pub fn render(frame: &mut Frame, body: Rect, app: &App, reader: &Reader) {
    let t = &app.theme;
    let a = layout(body, reader.toc);
    nav_pane(frame, a.nav, t, reader);
    page_pane(frame, a, app, reader);
    if let Some(toc) = a.toc {
        toc_pane(frame, toc, t, reader);
    }
}

fn pane_block(title: String, focused: bool, t: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focused } else { t.border })
        .title(Span::styled(title, t.title))
        .style(t.base)
}

fn nav_pane(frame: &mut Frame, area: Rect, t: &Theme, reader: &Reader) {
    let focused = reader.focus == Focus::Nav;
    let name = reader
        .site
        .as_ref()
        .map(|s| sanitize(&s.site_name))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Docs".to_string());
    let room = usize::from(area.width.saturating_sub(2));
    let block = pane_block(
        format!(" {} ", truncate(&name, room.saturating_sub(2))),
        focused,
        t,
    );
    let height = usize::from(area.height.saturating_sub(2));
    let rows = reader.nav_rows();
    // The offset update keeps is used as is, only clamped so the cursor shows whatever the height.
    let mut offset = reader.nav_offset.min(rows.len().saturating_sub(1));
    if reader.nav_cursor < offset {
        offset = reader.nav_cursor;
    } else if height > 0 && reader.nav_cursor >= offset + height {
        offset = reader.nav_cursor + 1 - height;
    }
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, row)| {
            let indent = "  ".repeat(row.depth);
            let current =
                matches!(&row.target, NavTarget::Page(l) if Some(l) == reader.current.as_ref());
            let (icon, style) = match &row.target {
                NavTarget::Section { collapsed, .. } => {
                    (if *collapsed { "▸ " } else { "▾ " }, t.accent)
                }
                NavTarget::Page(_) if current => ("● ", t.accent.add_modifier(Modifier::BOLD)),
                NavTarget::Page(_) => ("  ", t.base),
                NavTarget::Link(_) => ("↗ ", t.link),
            };
            // A marker column, so the cursor shows without colours too.
            let marker = if focused && i == reader.nav_cursor {
                "▶"
            } else {
                " "
            };
            let head = format!("{marker}{indent}{icon}");
            let left = room.saturating_sub(width(&head));
            let mut spans = vec![Span::styled(head, style)];
            match &row.target {
                NavTarget::Link(url) => {
                    let title = truncate(&row.title, left);
                    let rest = left.saturating_sub(width(&title) + 1);
                    spans.push(Span::styled(title, style));
                    if rest > 0 {
                        spans.push(Span::styled(
                            format!(" {}", truncate(&sanitize(url), rest)),
                            t.muted,
                        ));
                    }
                }
                _ => spans.push(Span::styled(truncate(&row.title, left), style)),
            }
            let line = Line::from(spans);
            if focused && i == reader.nav_cursor {
                line.patch_style(t.selection)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn page_pane(frame: &mut Frame, a: ReaderAreas, app: &App, reader: &Reader) {
    let t = &app.theme;
    let focused = reader.focus == Focus::Page;
    let room = usize::from(a.page.width.saturating_sub(4));
    let title = match reader.current {
        Some(_) => reader.title(),
        None => reader.entity_ref.canonical(),
    };
    let mut block = pane_block(
        format!(" {} ", truncate(&sanitize(&title), room)),
        focused,
        t,
    );
    let height = usize::from(a.text.height);
    let retry = || {
        Line::styled(
            format!(
                "{} retries, {} goes back",
                app.keymap.key_label(Action::Refresh),
                app.keymap.key_label(Action::Back)
            ),
            t.muted,
        )
    };
    let message = |lines: Vec<Line<'static>>| Paragraph::new(lines).wrap(Wrap { trim: false });
    let shown = sanitize(&reader.entity_ref.canonical());
    match &reader.site_load {
        SiteLoad::Loading => {
            let text = format!("{} loading the docs of {shown}…", spinner(app.tick));
            frame.render_widget(
                message(vec![Line::styled(text, t.muted)]).block(block),
                a.page,
            );
            return;
        }
        SiteLoad::Syncing => {
            let mut lines = vec![Line::styled(
                format!("{} building the docs of {shown}…", spinner(app.tick)),
                t.muted,
            )];
            let log = &reader.sync_log;
            let keep = height.saturating_sub(1);
            lines.extend(
                log[log.len().saturating_sub(keep)..]
                    .iter()
                    .map(|l| Line::styled(sanitize(l), t.base)),
            );
            frame.render_widget(message(lines).block(block), a.page);
            return;
        }
        SiteLoad::Failed(e) => {
            let lines = vec![Line::styled(sanitize(e), t.error), retry()];
            frame.render_widget(message(lines).block(block), a.page);
            return;
        }
        SiteLoad::Ready => {}
    }
    let Some(page) = reader
        .page()
        .filter(|_| reader.page_load == PageLoad::Ready)
    else {
        let lines = match &reader.page_load {
            PageLoad::Failed(e) => vec![Line::styled(sanitize(e), t.error), retry()],
            _ => vec![Line::styled(
                format!(
                    "{} loading {}…",
                    spinner(app.tick),
                    sanitize(reader.current.as_deref().unwrap_or("the page"))
                ),
                t.muted,
            )],
        };
        frame.render_widget(message(lines).block(block), a.page);
        return;
    };
    let total = page.lines.len();
    let scroll = reader.scroll.min(total.saturating_sub(1));
    let end = (scroll + height).min(total);
    block = block.title_top(
        Line::styled(
            format!(" {}-{}/{} ", (scroll + 1).min(end), end, total),
            t.muted,
        )
        .right_aligned(),
    );
    if let Some(search) = &reader.search {
        let counter = match (search.current, search.matches.len()) {
            (_, 0) => "no match".to_string(),
            (Some(i), n) => format!("{}/{n}", i + 1),
            (None, n) => format!("{n} matches"),
        };
        let query = truncate(&sanitize(&search.query), room / 2);
        block = block.title_bottom(Line::styled(format!(" /{query} {counter} "), t.accent));
    }
    frame.render_widget(block, a.page);
    let link = reader.link.and_then(|i| page.links.get(i));
    let lines: Vec<Line> = (scroll..end)
        .map(|i| {
            let mut line = page.lines[i].clone();
            if let Some(search) = &reader.search {
                for (n, m) in search.matches.iter().enumerate() {
                    if m.line == i {
                        let style = if search.current == Some(n) {
                            t.selection.add_modifier(Modifier::BOLD)
                        } else {
                            t.highlight
                        };
                        line = patch_columns(line, m.start, m.end, style);
                    }
                }
            }
            if let Some(l) = link.filter(|l| l.line == i) {
                line = patch_columns(
                    line,
                    l.start,
                    l.end,
                    t.selection.add_modifier(Modifier::UNDERLINED),
                );
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).style(t.base), a.text);
    if total > height {
        let mut state = ScrollbarState::new(total.saturating_sub(height))
            .position(scroll)
            .viewport_content_length(height);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_style(t.border)
                .thumb_style(t.accent),
            a.page.inner(Margin::new(0, 1)),
            &mut state,
        );
    }
}

fn toc_pane(frame: &mut Frame, area: Rect, t: &Theme, reader: &Reader) {
    let focused = reader.focus == Focus::Toc;
    let block = pane_block(" Contents ".to_string(), focused, t);
    let height = usize::from(area.height.saturating_sub(2));
    let room = usize::from(area.width.saturating_sub(2));
    let entries = toc_entries(reader);
    let top = entries.iter().map(|(level, _)| *level).min().unwrap_or(1);
    let current = reader.current_heading();
    let offset = toc_offset(reader, height);
    let lines: Vec<Line> = entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (level, title))| {
            let indent = "  ".repeat(usize::from(level.saturating_sub(top)));
            let text = truncate(&format!("{indent}{}", sanitize(title)), room);
            let style = if focused && i == reader.toc_cursor {
                t.selection
            } else if Some(i) == current {
                t.accent.add_modifier(Modifier::BOLD)
            } else {
                t.base
            };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The first contents entry shown in a pane `height` rows tall: the one under the cursor (focused) or the
/// heading being read is kept in the middle when the list is longer than the pane.
pub fn toc_offset(reader: &Reader, height: usize) -> usize {
    let entries = toc_entries(reader).len();
    let centre = if reader.focus == Focus::Toc {
        reader.toc_cursor
    } else {
        reader.current_heading().unwrap_or(0)
    };
    centre
        .saturating_sub(height / 2)
        .min(entries.saturating_sub(height))
}

/// The table of contents: the rendered page's headings (which know their lines), else the headings the
/// site lists for the page (a renderer that found none still gets a contents list).
pub fn toc_entries(reader: &Reader) -> Vec<(u8, String)> {
    if let Some(page) = reader.page().filter(|p| !p.headings.is_empty()) {
        return page
            .headings
            .iter()
            .map(|h| (h.level, h.title.clone()))
            .collect();
    }
    let location = reader.current.as_deref().unwrap_or("");
    reader
        .site
        .as_ref()
        .and_then(|s| s.page(location))
        .map(|p| {
            p.headings
                .iter()
                .map(|h| (h.level, h.title.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// `line` with `style` patched onto its display columns `[start, end)`, splitting spans where the range
/// starts and ends inside them.
pub fn patch_columns(line: Line<'static>, start: u16, end: u16, style: Style) -> Line<'static> {
    let (start, end) = (usize::from(start), usize::from(end));
    let Line {
        spans,
        style: line_style,
        alignment,
    } = line;
    let mut out = Vec::with_capacity(spans.len() + 2);
    let mut col = 0usize;
    for span in spans {
        let w = span.width();
        let (s, e) = (col, col + w);
        col = e;
        if e <= start || s >= end {
            out.push(span);
            continue;
        }
        let (mut before, mut inside, mut after) = (String::new(), String::new(), String::new());
        let mut c = s;
        for ch in span.content.chars() {
            if c < start {
                before.push(ch);
            } else if c < end {
                inside.push(ch);
            } else {
                after.push(ch);
            }
            c += ch.width().unwrap_or(0);
        }
        for (text, st) in [
            (before, span.style),
            (inside, span.style.patch(style)),
            (after, span.style),
        ] {
            if !text.is_empty() {
                out.push(Span::styled(text, st));
            }
        }
    }
    Line {
        spans: out,
        style: line_style,
        alignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    #[test]
    fn patching_splits_spans_on_display_columns() {
        let line = Line::from(vec![Span::raw("日本 abc"), Span::raw("def")]);
        let red = Style::default().fg(Color::Red);
        let out = patch_columns(line, 5, 8, red);
        let parts: Vec<(String, Option<Color>)> = out
            .spans
            .iter()
            .map(|s| (s.content.to_string(), s.style.fg))
            .collect();
        assert_eq!(
            parts,
            [
                ("日本 ".to_string(), None),
                ("abc".to_string(), Some(Color::Red)),
                ("def".to_string(), None),
            ]
        );
    }
}
