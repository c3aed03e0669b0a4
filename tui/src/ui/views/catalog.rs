//! The catalog table (Backstage's catalog home: one kind, its columns, sortable) with its facet panel on
//! the left, and its loading, import and error states. Cells were sanitized when the rows arrived; here
//! they are only cut to their column's width.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Gauge, List, ListItem, ListState, Paragraph, Row as TableRow,
    Table, TableState, Wrap,
};
use ratatui::Frame;
use stagedoor_core::store::SortOrder;

use super::super::state::{App, CatalogState, ColumnId, FacetLine, Load, Ownership, Pane};
use super::super::text::{truncate, width};
use super::chrome::spinner;

/// The facet panel's width: narrower on an 80-column terminal so the table keeps its main columns.
fn facet_width(body: Rect) -> u16 {
    if body.width >= 120 {
        24
    } else {
        22
    }
}

/// Whether the facet panel is drawn: always on a wide terminal; below 100 columns only while it has focus,
/// so the table keeps its main columns at 80x24.
pub fn shows_facets(body: Rect, c: &CatalogState) -> bool {
    body.width >= 100 || c.pane == Pane::Facets
}

/// (table, facets) areas of the body; the facets area is empty when the panel is hidden.
pub fn panes(body: Rect, c: &CatalogState) -> (Rect, Rect) {
    let facets_width = if shows_facets(body, c) {
        facet_width(body)
    } else {
        0
    };
    let [facets, table] =
        Layout::horizontal([Constraint::Length(facets_width), Constraint::Min(0)]).areas(body);
    (table, facets)
}

/// The facet panel line of the `v`-th selectable line (headers counted).
pub fn facet_line_of_value(c: &CatalogState, v: usize) -> usize {
    c.facet_lines()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.selectable())
        .nth(v)
        .map_or(0, |(i, _)| i)
}

/// The value under a facet panel line, when the line is a value.
pub fn facet_value_at_line(c: &CatalogState, line: usize) -> Option<usize> {
    let lines = c.facet_lines();
    lines
        .get(line)?
        .selectable()
        .then(|| lines[..line].iter().filter(|l| l.selectable()).count())
}

pub fn render(frame: &mut Frame, body: Rect, app: &App, c: &CatalogState) {
    if let Some(import) = &app.import {
        render_import(frame, body, app, import);
        return;
    }
    let (table, facets) = panes(body, c);
    if !facets.is_empty() {
        render_facets(frame, facets, app, c);
    }
    render_table(frame, table, app, c);
}

fn render_import(frame: &mut Frame, body: Rect, app: &App, import: &super::super::state::Import) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Catalog ", t.title));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let [_, text, gauge, last, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner.inner(ratatui::layout::Margin::new(4, 0)));
    let spin = spinner(app.tick);
    let headline = if import.importing {
        match import.roots {
            Some(roots) => format!(
                "{spin} importing the catalog: {}/{roots} locations, {} entities",
                import.done, import.entities
            ),
            None => format!("{spin} importing the catalog from catalog.locations…"),
        }
    } else {
        format!("{spin} opening the catalog…")
    };
    frame.render_widget(
        Paragraph::new(Span::styled(headline, t.accent)).centered(),
        text,
    );
    if let Some(roots) = import.roots.filter(|r| *r > 0) {
        let ratio = (import.done as f64 / roots as f64).clamp(0.0, 1.0);
        frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .gauge_style(t.accent)
                .label(format!("{}/{roots}", import.done)),
            gauge,
        );
    }
    if let Some(origin) = &import.last {
        let room = usize::from(last.width);
        frame.render_widget(
            Paragraph::new(Span::styled(truncate(origin, room), t.muted)).centered(),
            last,
        );
    }
}

fn render_facets(frame: &mut Frame, area: Rect, app: &App, c: &CatalogState) {
    let t = &app.theme;
    let focused = c.pane == Pane::Facets;
    let selected_count = c.selected_filters();
    let title = if selected_count > 0 {
        format!(" Filters ({selected_count}) ")
    } else {
        " Filters ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focused } else { t.border })
        .title(Span::styled(title, t.title));
    let inner_width = usize::from(area.width.saturating_sub(2));
    let lines = c.facet_lines();
    let cursor_line = facet_line_of_value(c, c.facet_cursor);
    let items: Vec<ListItem> = lines
        .iter()
        .map(|line| match *line {
            FacetLine::Owned => owned_item(app, c, inner_width),
            FacetLine::Header(g) => ListItem::new(Line::from(Span::styled(
                truncate(c.facets[g].title, inner_width),
                t.accent,
            ))),
            FacetLine::Value(g, v) => {
                let group = &c.facets[g];
                let (value, count) = &group.values[v];
                let on = group.selected.contains(value);
                let count = count.to_string();
                let mark = if on { "[x] " } else { "[ ] " };
                let room = inner_width.saturating_sub(width(mark) + count.len() + 1);
                let value = truncate(value, room);
                let pad = room.saturating_sub(width(&value));
                ListItem::new(Line::from(vec![
                    Span::styled(mark, if on { t.accent } else { t.muted }),
                    Span::styled(value, if on { t.accent } else { t.base }),
                    Span::raw(" ".repeat(pad + 1)),
                    Span::styled(count, t.muted),
                ]))
            }
        })
        .collect();
    if items.is_empty() {
        let text = if c.facets_request.is_some() {
            "counting…"
        } else {
            "no facets"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, t.muted)).block(block),
            area,
        );
        return;
    }
    let mut state = ListState::default()
        .with_offset(c.facet_offset)
        .with_selected(focused.then_some(cursor_line));
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(t.selection)
            .style(t.base),
        area,
        &mut state,
    );
}

/// The "owned by me" line: a toggle with the count once the identity's groups are known, muted with `…`
/// while they are looked up and with `n/a` when they cannot be (space then says why).
fn owned_item(app: &App, c: &CatalogState, inner_width: usize) -> ListItem<'static> {
    let t = &app.theme;
    let on = c.owned.as_ref().is_some_and(|o| o.on);
    let (mark, right, enabled) = match &app.ownership {
        Ownership::Ready(_) => (
            if on { "[x] " } else { "[ ] " },
            c.owned
                .as_ref()
                .and_then(|o| o.count)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            true,
        ),
        Ownership::Loading(_) => ("[ ] ", "…".to_string(), false),
        Ownership::Unavailable(_) | Ownership::Unknown => ("[-] ", "n/a".to_string(), false),
    };
    let room = inner_width.saturating_sub(width(mark) + width(&right) + 1);
    let label = truncate("owned by me", room);
    let pad = room.saturating_sub(width(&label));
    let label_style = match (enabled, on) {
        (true, true) => t.accent,
        (true, false) => t.base,
        (false, _) => t.muted,
    };
    ListItem::new(Line::from(vec![
        Span::styled(mark, if on { t.accent } else { t.muted }),
        Span::styled(label, label_style),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(right, t.muted),
    ]))
}

/// The columns that fit in `room` cells, with their widths: the most important ones are kept, the
/// description takes what is left.
fn fit_columns(c: &CatalogState, room: u16) -> Vec<(usize, u16)> {
    let columns = c.columns();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(columns[i].keep));
    let mut chosen: Vec<usize> = Vec::new();
    let mut used = 0u16;
    for i in order {
        let need = columns[i].width + u16::from(!chosen.is_empty());
        if used + need <= room {
            used += need;
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    let mut widths: Vec<(usize, u16)> = chosen.iter().map(|&i| (i, columns[i].width)).collect();
    // The spare room goes to the description, else to the name.
    let spare = room.saturating_sub(used);
    let grow = widths
        .iter()
        .position(|(i, _)| columns[*i].id == ColumnId::Description)
        .or_else(|| {
            widths
                .iter()
                .position(|(i, _)| columns[*i].id == ColumnId::Name)
        });
    if let Some(g) = grow {
        widths[g].1 += spare;
    }
    widths
}

fn render_table(frame: &mut Frame, area: Rect, app: &App, c: &CatalogState) {
    let t = &app.theme;
    let focused = c.pane == Pane::Table;
    let mut title = vec![Span::styled(format!(" {} ", c.view.title()), t.title)];
    if !c.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", truncate(&c.filter, 20)),
            t.highlight,
        ));
    }
    title.push(Span::styled(
        format!("[{}/{}] ", c.visible.len(), c.total),
        t.accent,
    ));
    let selected_facets = c.selected_filters();
    if selected_facets > 0 {
        title.push(Span::styled(
            format!("+{selected_facets} facet filters "),
            t.highlight,
        ));
    }
    if c.page_request.is_some() && c.load == Load::Ready {
        title.push(Span::styled(format!("{} ", spinner(app.tick)), t.muted));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focused } else { t.border })
        .title(Line::from(title));
    match &c.load {
        Load::Loading(_) => {
            let text = format!("{} loading {}…", spinner(app.tick), c.view.title());
            frame.render_widget(
                Paragraph::new(Span::styled(text, t.muted)).block(block),
                area,
            );
            return;
        }
        Load::Failed(message) => {
            let inner = block.inner(area);
            frame.render_widget(block, area);
            error_box(frame, inner, app, message);
            return;
        }
        Load::Ready => {}
    }
    let inner_width = area.width.saturating_sub(2);
    // Two cells for the cursor mark.
    let widths = fit_columns(c, inner_width.saturating_sub(2));
    let columns = c.columns();
    let sort_col = c.sort_column().id;
    let arrow = match c.order {
        SortOrder::Asc => "↑",
        SortOrder::Desc => "↓",
    };
    let header = TableRow::new(widths.iter().map(|&(i, _)| {
        let col = &columns[i];
        let text = if col.id == sort_col {
            format!("{}{arrow}", col.title)
        } else {
            col.title.to_string()
        };
        Cell::from(Span::styled(
            text,
            if col.id == sort_col {
                t.accent
            } else {
                t.title
            },
        ))
    }));
    let height = usize::from(area.height.saturating_sub(3));
    let rows: Vec<TableRow> = c
        .visible
        .iter()
        .skip(c.offset)
        .take(height)
        .map(|&r| {
            let row = &c.rows[r];
            TableRow::new(widths.iter().map(|&(i, w)| {
                let text = truncate(&row.cells[i], usize::from(w));
                let style = match columns[i].id {
                    ColumnId::Lifecycle => t.lifecycle(&row.cells[i]),
                    ColumnId::Kind => t.kind(&row.kind),
                    ColumnId::Description | ColumnId::Tags => t.muted,
                    _ => t.base,
                };
                Cell::from(Span::styled(text, style))
            }))
        })
        .collect();
    if c.visible.is_empty() {
        let text = if c.filter.is_empty() {
            format!("no {} in the catalog", c.view.title().to_lowercase())
        } else if c.next_cursor.is_some() {
            format!("{} searching further…", spinner(app.tick))
        } else {
            format!("nothing matches /{}", c.filter)
        };
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [_, line] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(Span::styled(text, t.muted)).centered(), line);
        return;
    }
    // Rows are already cut to the visible window, so the state's offset is 0 and the cursor relative.
    let mut state = TableState::default().with_selected(Some(c.selected.saturating_sub(c.offset)));
    frame.render_stateful_widget(
        Table::new(rows, widths.iter().map(|&(_, w)| Constraint::Length(w)))
            .header(header)
            .column_spacing(1)
            .block(block)
            .row_highlight_style(if focused { t.selection } else { t.highlight })
            .highlight_symbol("▶ ")
            .highlight_spacing(ratatui::widgets::HighlightSpacing::Always)
            .style(t.base),
        area,
        &mut state,
    );
}

/// A failed load: what went wrong and how to retry (the retry key first, so a long message never hides it).
pub fn error_box(frame: &mut Frame, area: Rect, app: &App, message: &str) {
    use super::super::keymap::Action;
    let t = &app.theme;
    let [_, body] =
        Layout::vertical([Constraint::Length(area.height / 4), Constraint::Min(0)]).areas(area);
    let body = body.inner(ratatui::layout::Margin::new(2, 0));
    frame.render_widget(Clear, body);
    let text = vec![
        Line::from(Span::styled("cannot load the catalog", t.error)),
        Line::from(vec![
            Span::styled("press ", t.muted),
            Span::styled(app.keymap.key_label(Action::Refresh), t.accent),
            Span::styled(" to retry, ", t.muted),
            Span::styled(app.keymap.key_label(Action::Quit), t.accent),
            Span::styled(" to quit", t.muted),
        ]),
        Line::from(""),
        Line::from(Span::styled(super::super::text::sanitize(message), t.base)),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .centered()
            .style(t.base),
        body,
    );
}
