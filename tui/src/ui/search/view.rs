//! Draws the search overlay from its state alone: a centered popup over whatever screen is open, with the
//! input line, the results (recent terms, fuzzy names, or full-text hits with their highlighted snippets)
//! and the overlay's keys, read from the keymap so a remapped key shows as remapped.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::super::keymap::Action;
use super::super::state::App;
use super::super::text::{truncate, width};
use super::super::views::chrome::spinner;
use super::state::{NamesLoad, SearchMode, SearchState, Segment};

/// Where the popup goes in `area`: centered, at most 100 columns wide, two thirds of the height.
pub fn popup(area: Rect) -> Rect {
    let w = area.width.saturating_sub(8).clamp(40.min(area.width), 100);
    let h = (area.height * 2 / 3)
        .max(12)
        .min(area.height.saturating_sub(2))
        .min(30);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let s = &app.search;
    let rect = popup(area);
    frame.render_widget(Clear, rect);
    let title = match s.mode {
        SearchMode::Fuzzy => " Search · names ".to_string(),
        SearchMode::FullText => format!(" Search · full text · {} ", s.types.label()),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(
            truncate(&title, usize::from(rect.width.saturating_sub(2))),
            t.title,
        ))
        .style(t.base);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 4 || inner.width < 10 {
        return;
    }
    let room = usize::from(inner.width);
    let mut lines = Vec::with_capacity(usize::from(inner.height));
    lines.push(input_line(app, room));
    lines.push(Line::from(Span::styled("─".repeat(room), t.border)));
    let list_height = usize::from(inner.height) - 3;
    lines.extend(list(app, room, list_height));
    while lines.len() < usize::from(inner.height) - 1 {
        lines.push(Line::raw(""));
    }
    lines.push(footer(app, room));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `› input█` and, on the right, how many results or what is awaited.
fn input_line(app: &App, room: usize) -> Line<'static> {
    let t = &app.theme;
    let s = &app.search;
    let status = if s.showing_recent() {
        String::new()
    } else {
        match s.mode {
            SearchMode::Fuzzy => match &s.names.load {
                NamesLoad::Loading => format!(
                    "{} {} of {} names",
                    spinner(app.tick),
                    s.fuzzy_hits.len(),
                    s.names.entries.len()
                ),
                _ => format!("{} of {}", s.fuzzy_hits.len(), s.names.entries.len()),
            },
            SearchMode::FullText if s.full.request.is_some() => {
                format!("{} searching", spinner(app.tick))
            }
            SearchMode::FullText => {
                let more = if s.full.more { "+" } else { "" };
                format!("{}{more} results", s.full.hits.len())
            }
        }
    };
    let status_w = width(&status);
    let input = truncate(&s.input, room.saturating_sub(status_w + 5));
    let used = 2 + width(&input) + 1;
    let pad = room.saturating_sub(used + status_w + 1);
    Line::from(vec![
        Span::styled("› ", t.accent),
        Span::styled(input, t.base),
        Span::styled("█", t.accent),
        Span::raw(" ".repeat(pad)),
        Span::styled(status, t.muted),
    ])
}

/// The overlay's keys, from the keymap.
fn footer(app: &App, room: usize) -> Line<'static> {
    let t = &app.theme;
    let k = |a| app.keymap.key_label(a);
    let mode = match app.search.mode {
        SearchMode::Fuzzy => "full text",
        SearchMode::FullText => "names",
    };
    let mut parts = vec![
        (k(Action::Open), "open".to_string()),
        (k(Action::SearchMode), mode.to_string()),
    ];
    if app.search.mode == SearchMode::FullText {
        parts.push((
            k(Action::SearchType),
            format!("type: {}", app.search.types.label()),
        ));
    }
    parts.push((
        format!("{}{}", k(Action::SearchUp), k(Action::SearchDown)),
        "move".to_string(),
    ));
    parts.push((k(Action::Back), "close".to_string()));
    let mut spans = Vec::new();
    let mut used = 0;
    for (key, label) in parts {
        let w = width(&key) + width(&label) + 3;
        if used + w > room {
            break;
        }
        used += w;
        spans.push(Span::styled(key, t.accent));
        spans.push(Span::styled(format!(" {label}  "), t.muted));
    }
    Line::from(spans)
}

/// The rows of the list window, the cursor kept in view.
fn list(app: &App, room: usize, height: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let s = &app.search;
    if s.showing_recent() {
        let mut lines = vec![Line::from(Span::styled(
            if s.recent.terms.is_empty() {
                "type to search entity names; recent searches show here"
            } else {
                "recent searches"
            },
            t.muted,
        ))];
        let shown = height.saturating_sub(1);
        let first = first_shown(s.selected, shown);
        for (i, term) in s.recent.terms.iter().enumerate().skip(first).take(shown) {
            let style = if i == s.selected { t.selection } else { t.base };
            lines.push(Line::from(Span::styled(
                pad(
                    &format!("  {}", truncate(term, room.saturating_sub(2))),
                    room,
                ),
                style,
            )));
        }
        return lines;
    }
    match s.mode {
        SearchMode::Fuzzy => fuzzy_rows(app, s, room, height),
        SearchMode::FullText => text_rows(app, s, room, height),
    }
}

fn fuzzy_rows(app: &App, s: &SearchState, room: usize, height: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    if s.fuzzy_hits.is_empty() {
        let note = match &s.names.load {
            NamesLoad::Loading | NamesLoad::Idle => "loading the catalog's names…".to_string(),
            NamesLoad::Failed(m) => format!("cannot load the names: {m}"),
            NamesLoad::Ready => "no entity name, title or ref matches".to_string(),
        };
        let style = if matches!(s.names.load, NamesLoad::Failed(_)) {
            t.error
        } else {
            t.muted
        };
        return vec![Line::from(Span::styled(truncate(&note, room), style))];
    }
    let first = first_shown(s.selected, height);
    s.fuzzy_hits
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .filter_map(|(row, &i)| {
            let e = s.names.entries.get(i)?;
            let selected = row == s.selected;
            let kind = format!(" {:<10}", truncate(&e.kind, 10));
            let mut spans = vec![
                Span::styled(kind, t.kind(&e.kind)),
                Span::styled(e.name.clone(), t.base.add_modifier(Modifier::BOLD)),
            ];
            if !e.title.is_empty() && e.title != e.name {
                spans.push(Span::styled(format!("  {}", e.title), t.base));
            }
            spans.push(Span::styled(format!("  {}", e.shown_ref), t.muted));
            Some(row_line(spans, room, selected.then_some(t.selection)))
        })
        .collect()
}

fn text_rows(app: &App, s: &SearchState, room: usize, height: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    if let Some(error) = &s.full.error {
        return vec![Line::from(Span::styled(
            truncate(&format!("search failed: {error}"), room),
            t.error,
        ))];
    }
    if s.full.hits.is_empty() {
        let note = if s.full.request.is_some() {
            "searching…"
        } else {
            "nothing found"
        };
        return vec![Line::from(Span::styled(note, t.muted))];
    }
    let hit_style = t.accent.add_modifier(Modifier::BOLD);
    // Two lines a result: its title, then its snippet.
    let first = first_shown(s.selected, height / 2);
    let mut lines = Vec::new();
    for (row, hit) in s.full.hits.iter().enumerate().skip(first).take(height / 2) {
        let selected = (row == s.selected).then_some(t.selection);
        let mut title = vec![Span::styled(format!(" {:<8}", hit.label), t.info)];
        title.extend(styled(
            &hit.title,
            t.base.add_modifier(Modifier::BOLD),
            hit_style,
        ));
        title.push(Span::styled(format!("  {}", hit.subtitle), t.muted));
        lines.push(row_line(title, room, selected));
        let mut snippet = vec![Span::raw("          ")];
        snippet.extend(styled(&hit.snippet, t.muted, hit_style));
        lines.push(row_line(snippet, room, selected));
    }
    lines
}

fn styled(segments: &[Segment], base: Style, hit: Style) -> Vec<Span<'static>> {
    segments
        .iter()
        .map(|s| Span::styled(s.text.clone(), if s.hit { hit } else { base }))
        .collect()
}

/// Spans cut to `room` cells and padded to it, so a selected row's background spans the popup.
fn row_line(spans: Vec<Span<'static>>, room: usize, selected: Option<Style>) -> Line<'static> {
    let mut used = 0;
    let mut out = Vec::with_capacity(spans.len() + 1);
    for span in spans {
        if used >= room {
            break;
        }
        let w = width(&span.content);
        let content = if used + w > room {
            truncate(&span.content, room - used)
        } else {
            span.content.into_owned()
        };
        used += width(&content);
        let style = match selected {
            Some(sel) => span.style.patch(sel),
            None => span.style,
        };
        out.push(Span::styled(content, style));
    }
    if let Some(sel) = selected {
        out.push(Span::styled(" ".repeat(room.saturating_sub(used)), sel));
    }
    Line::from(out)
}

fn pad(text: &str, room: usize) -> String {
    format!("{text}{}", " ".repeat(room.saturating_sub(width(text))))
}

/// The first item shown so that `selected` is within a window of `shown` items.
fn first_shown(selected: usize, shown: usize) -> usize {
    selected.saturating_sub(shown.saturating_sub(1))
}
