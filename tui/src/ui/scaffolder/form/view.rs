//! Drawing a form page: each field as a label line (`*` when required), its widget, help text and inline
//! error; the page scrolled to keep the focused field in view, long text scrolled sideways around the
//! cursor, an open list drawn over the page below its field, and the key hints on the last line. Every
//! text that comes from a template is sanitised before it is drawn.

use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use super::field::{Choices, FieldSpec, Kind, State};
use super::{humanize, repo_url, FormPage};
use crate::ui::text::{sanitize, truncate, width};
use crate::ui::theme::Theme;

/// The cells of `text` that fit `cols`, scrolled so that cell `cursor` (when given) is visible; returns
/// the visible text and the cursor's column in it.
fn window(text: &str, cursor: Option<usize>, cols: usize) -> (String, usize) {
    let Some(cursor) = cursor else {
        return (truncate(text, cols), 0);
    };
    if cols == 0 {
        return (String::new(), 0);
    }
    let start = (cursor + 1).saturating_sub(cols);
    let mut out = String::new();
    let mut at = 0;
    for c in text.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if at >= start && at + w <= start + cols {
            out.push(c);
        }
        at += w;
    }
    (out, cursor - start)
}

struct Drawn {
    lines: Vec<Line<'static>>,
    /// First and last line of each field, by index in the page's fields.
    spans: Vec<(usize, usize, usize)>,
    /// Where the terminal cursor goes: (line, column).
    cursor: Option<(usize, usize)>,
    /// The line the focused stop is on (an open list is drawn under it).
    focus_line: usize,
}

fn masked(text: &str) -> String {
    "•".repeat(text.chars().count())
}

/// What a one-line input box shows.
struct BoxSpec<'a> {
    text: &'a str,
    /// The cursor's cell in `text`, when the box has it.
    cursor: Option<usize>,
    placeholder: Option<&'a str>,
    /// After the text (` ▾` on a list).
    suffix: &'a str,
    focused: bool,
}

/// A one-line input box: `[ text ]` padded to `cols`.
fn input_box(out: &mut Drawn, indent: usize, cols: usize, theme: &Theme, b: BoxSpec) {
    let BoxSpec {
        text,
        cursor,
        placeholder,
        suffix,
        focused,
    } = b;
    let inner = cols.saturating_sub(indent + 4 + width(suffix)).max(4);
    let style = if focused { theme.accent } else { theme.base };
    let mut spans = vec![Span::raw(" ".repeat(indent)), Span::styled("[ ", style)];
    if text.is_empty() && placeholder.is_some() {
        let p = truncate(&sanitize(placeholder.unwrap_or_default()), inner);
        let pad = inner.saturating_sub(width(&p));
        spans.push(Span::styled(p, theme.muted));
        spans.push(Span::raw(" ".repeat(pad)));
    } else {
        let (shown, col) = window(text, cursor, inner);
        let pad = inner.saturating_sub(width(&shown));
        if cursor.is_some() {
            out.cursor = Some((out.lines.len(), indent + 2 + col));
        }
        spans.push(Span::styled(shown, theme.base));
        spans.push(Span::raw(" ".repeat(pad)));
    }
    if text.is_empty() && cursor.is_some() {
        out.cursor = Some((out.lines.len(), indent + 2));
    }
    spans.push(Span::styled(suffix.to_string(), theme.muted));
    spans.push(Span::styled(" ]", style));
    out.lines.push(Line::from(spans));
}

fn field_lines(
    page: &FormPage,
    i: usize,
    f: &FieldSpec,
    cols: usize,
    theme: &Theme,
    out: &mut Drawn,
) {
    let focused = page.focus == i;
    let state = page.states.get(&f.key);
    let indent = 2 + 2 * f.depth;
    let label = sanitize(&f.label);
    let marker = if focused { "› " } else { "  " };
    let req = if f.required { " *" } else { "" };
    let label_style = if focused { theme.accent } else { theme.title };
    let stop_style = |s: usize| {
        if focused && page.stop == s {
            theme.selection
        } else {
            theme.base
        }
    };
    if focused {
        out.focus_line = out.lines.len();
    }
    match (&f.kind, state) {
        (Kind::Group, _) => {
            out.lines.push(Line::from(vec![
                Span::raw(" ".repeat(2 * f.depth)),
                Span::styled(format!("▌ {label}"), theme.heading),
            ]));
        }
        (Kind::Boolean, Some(State::Bool(b))) => {
            let mark = if b.unwrap_or(false) { "[x]" } else { "[ ]" };
            out.lines.push(Line::from(vec![
                Span::styled(marker, theme.accent),
                Span::raw(" ".repeat(indent - 2)),
                Span::styled(format!("{mark} "), stop_style(0)),
                Span::styled(label, label_style),
                Span::styled(req, theme.error),
            ]));
        }
        _ => out.lines.push(Line::from(vec![
            Span::styled(marker, theme.accent),
            Span::raw(" ".repeat(indent - 2)),
            Span::styled(label, label_style),
            Span::styled(req, theme.error),
        ])),
    }
    if let Some(note) = &f.note {
        out.lines.push(Line::from(vec![
            Span::raw(" ".repeat(indent)),
            Span::styled(
                truncate(
                    &format!("⚠ {}", sanitize(note)),
                    cols.saturating_sub(indent),
                ),
                theme.warning,
            ),
        ]));
    }
    let cursor_of = |e: &super::editor::Editor| focused.then(|| e.position().1);
    match (&f.kind, state) {
        (Kind::Text { rows: None, .. } | Kind::Number { .. }, Some(State::Text(e))) => {
            let mask = matches!(f.kind, Kind::Text { mask: true, .. });
            let shown = if mask {
                masked(&e.text)
            } else {
                sanitize(&e.text)
            };
            let col = if mask {
                focused.then(|| e.text[..e.cursor].chars().count())
            } else {
                cursor_of(e)
            };
            input_box(
                out,
                indent,
                cols,
                theme,
                BoxSpec {
                    text: &shown,
                    cursor: col,
                    placeholder: f.placeholder.as_deref(),
                    suffix: "",
                    focused,
                },
            );
        }
        (Kind::Text { rows: Some(_), .. } | Kind::Json, Some(State::Text(e))) => {
            let rows = match f.kind {
                Kind::Text { rows: Some(r), .. } => r as usize,
                _ => 4,
            };
            let (line, col) = e.position();
            let first = (line + 1).saturating_sub(rows);
            let inner = cols.saturating_sub(indent + 2).max(4);
            let text_lines: Vec<&str> = e.text.split('\n').collect();
            for r in 0..rows {
                let n = first + r;
                let raw = text_lines.get(n).copied().unwrap_or("");
                let (shown, c) =
                    window(&sanitize(raw), (focused && n == line).then_some(col), inner);
                if focused && n == line {
                    out.cursor = Some((out.lines.len(), indent + 2 + c));
                }
                let body = if e.text.is_empty() && r == 0 && f.placeholder.is_some() {
                    Span::styled(
                        sanitize(f.placeholder.as_deref().unwrap_or_default()),
                        theme.muted,
                    )
                } else {
                    Span::styled(shown, theme.base)
                };
                out.lines.push(Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled("│ ", if focused { theme.accent } else { theme.border }),
                    body,
                ]));
            }
        }
        (
            Kind::Select {
                options,
                radio: false,
            },
            Some(State::Select(sel)),
        ) => {
            let text = sel
                .and_then(|s| options.get(s))
                .map(|o| sanitize(&o.label))
                .unwrap_or_default();
            let ph = f.placeholder.as_deref().or(Some("choose…"));
            input_box(
                out,
                indent,
                cols,
                theme,
                BoxSpec {
                    text: &text,
                    cursor: None,
                    placeholder: ph,
                    suffix: " ▾",
                    focused,
                },
            );
        }
        (
            Kind::Select {
                options,
                radio: true,
            },
            Some(State::Select(sel)),
        ) => {
            for (n, o) in options.iter().enumerate() {
                let mark = if *sel == Some(n) { "(•)" } else { "( )" };
                out.lines.push(Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(format!("{mark} {}", sanitize(&o.label)), stop_style(n)),
                ]));
            }
        }
        (Kind::Checkboxes { options }, Some(State::Checks(c))) => {
            for (n, o) in options.iter().enumerate() {
                let mark = if c.get(n).copied().unwrap_or(false) {
                    "[x]"
                } else {
                    "[ ]"
                };
                out.lines.push(Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(format!("{mark} {}", sanitize(&o.label)), stop_style(n)),
                ]));
            }
        }
        (Kind::List { .. }, Some(State::List { items, input })) => {
            for (n, item) in items.iter().enumerate() {
                out.lines.push(Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(
                        truncate(
                            &format!("• {}", sanitize(item)),
                            cols.saturating_sub(indent),
                        ),
                        stop_style(n),
                    ),
                ]));
            }
            let on_input = focused && page.stop == items.len();
            let cur = on_input.then(|| input.position().1 + 2);
            let text = format!("+ {}", sanitize(&input.text));
            let ph = f
                .placeholder
                .clone()
                .unwrap_or_else(|| "+ type, then enter to add".into());
            let text = if input.text.is_empty() && !on_input {
                String::new()
            } else {
                text
            };
            input_box(
                out,
                indent,
                cols,
                theme,
                BoxSpec {
                    text: &text,
                    cursor: cur,
                    placeholder: Some(&ph),
                    suffix: "",
                    focused: on_input,
                },
            );
        }
        (Kind::Picker(p), Some(State::Picker { items, choices })) => {
            if p.multi {
                for (n, item) in items.iter().enumerate() {
                    out.lines.push(Line::from(vec![
                        Span::raw(" ".repeat(indent)),
                        Span::styled(
                            truncate(
                                &format!("• {}", sanitize(&humanize(item, p))),
                                cols.saturating_sub(indent),
                            ),
                            stop_style(n),
                        ),
                    ]));
                }
                let on_add = focused && page.stop == items.len();
                input_box(
                    out,
                    indent,
                    cols,
                    theme,
                    BoxSpec {
                        text: "",
                        cursor: None,
                        placeholder: Some("add an entity…"),
                        suffix: " ▾",
                        focused: on_add,
                    },
                );
            } else {
                let text = items
                    .first()
                    .map(|v| sanitize(&humanize(v, p)))
                    .unwrap_or_default();
                let ph = f.placeholder.as_deref().or(Some("choose an entity…"));
                input_box(
                    out,
                    indent,
                    cols,
                    theme,
                    BoxSpec {
                        text: &text,
                        cursor: None,
                        placeholder: ph,
                        suffix: " ▾",
                        focused,
                    },
                );
            }
            match choices {
                Choices::Loading if focused => out.lines.push(Line::from(Span::styled(
                    format!("{}loading entities…", " ".repeat(indent)),
                    theme.muted,
                ))),
                Choices::Failed(e) => out.lines.push(Line::from(Span::styled(
                    truncate(
                        &format!(
                            "{}could not load entities: {}",
                            " ".repeat(indent),
                            sanitize(e)
                        ),
                        cols,
                    ),
                    theme.warning,
                ))),
                _ => {}
            }
        }
        (Kind::RepoUrl(spec), Some(State::Repo(r))) => {
            let mut rows: Vec<(&str, bool)> = vec![("Host", !spec.hosts.is_empty())];
            for p in r.parts() {
                rows.push((repo_url::label(p), !repo_url::allowed(spec, p).is_empty()));
            }
            for (n, (name, is_list)) in rows.iter().enumerate() {
                let on = focused && page.stop == n;
                let e = r.editor(n).cloned().unwrap_or_default();
                let mut sub = Drawn {
                    lines: Vec::new(),
                    spans: Vec::new(),
                    cursor: None,
                    focus_line: 0,
                };
                let cur = (on && !is_list).then(|| e.position().1);
                let suffix = if *is_list { " ▾" } else { "" };
                input_box(
                    &mut sub,
                    0,
                    cols.saturating_sub(indent + 13),
                    theme,
                    BoxSpec {
                        text: &sanitize(&e.text),
                        cursor: cur,
                        placeholder: None,
                        suffix,
                        focused: on,
                    },
                );
                if on {
                    out.focus_line = out.lines.len();
                    if let Some((_, c)) = sub.cursor {
                        out.cursor = Some((out.lines.len(), indent + 13 + c));
                    }
                }
                let mut spans = vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(
                        format!("{:<12} ", name),
                        if on { theme.accent } else { theme.muted },
                    ),
                ];
                if let Some(l) = sub.lines.pop() {
                    spans.extend(l.spans);
                }
                out.lines.push(Line::from(spans));
            }
        }
        _ => {}
    }
    if let Some(help) = &f.help {
        out.lines.push(Line::from(Span::styled(
            truncate(&format!("{}{}", " ".repeat(indent), sanitize(help)), cols),
            theme.muted,
        )));
    }
    if let Some(err) = page.errors.get(&f.key) {
        out.lines.push(Line::from(Span::styled(
            truncate(&format!("{}✗ {}", " ".repeat(indent), sanitize(err)), cols),
            theme.error,
        )));
    }
    let rows = match &f.kind {
        Kind::Select { radio, .. } => *radio,
        Kind::Checkboxes { .. } | Kind::List { .. } => true,
        Kind::Picker(p) => p.multi,
        _ => false,
    };
    if focused && rows {
        out.focus_line += page.stop + 1 + usize::from(f.note.is_some());
    } else if focused && f.kind != Kind::Boolean && !matches!(f.kind, Kind::RepoUrl(_)) {
        out.focus_line += 1 + usize::from(f.note.is_some());
    }
}

fn draw_lines(page: &FormPage, cols: usize, theme: &Theme) -> Drawn {
    let mut out = Drawn {
        lines: Vec::new(),
        spans: Vec::new(),
        cursor: None,
        focus_line: 0,
    };
    for (i, f) in page.fields.iter().enumerate() {
        if f.hidden {
            continue;
        }
        let start = out.lines.len();
        field_lines(page, i, f, cols, theme, &mut out);
        out.spans.push((i, start, out.lines.len()));
        if f.kind != Kind::Group {
            out.lines.push(Line::default());
        }
    }
    out
}

pub fn render(page: &FormPage, frame: &mut Frame, area: Rect, theme: &Theme) {
    if area.height < 2 || area.width < 10 {
        return;
    }
    let body = Rect {
        height: area.height - 1,
        ..area
    };
    let hint_area = Rect {
        y: area.y + area.height - 1,
        height: 1,
        ..area
    };
    let cols = area.width as usize;
    let drawn = draw_lines(page, cols, theme);
    let height = body.height as usize;
    // Scroll so the focused field is in view, its focused stop above all.
    let (start, end) = drawn
        .spans
        .iter()
        .find(|(i, _, _)| *i == page.focus)
        .map_or((0, 0), |&(_, s, e)| (s, e));
    let mut top = 0;
    if end > height {
        top = end - height;
    }
    if start < top {
        top = start;
    }
    if drawn.focus_line >= top + height {
        top = drawn.focus_line + 1 - height;
    }
    let visible: Vec<Line> = drawn.lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(visible).style(theme.base), body);
    if page.list.is_none() {
        if let Some((l, c)) = drawn.cursor {
            if l >= top && l < top + height && c < cols {
                frame.set_cursor_position(Position::new(
                    area.x + c as u16,
                    body.y + (l - top) as u16,
                ));
            }
        }
    }
    let hints: Vec<Span> = page
        .hints()
        .into_iter()
        .flat_map(|(k, w)| {
            [
                Span::styled(k, theme.accent),
                Span::styled(format!(" {w}  "), theme.muted),
            ]
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::from(hints)), hint_area);
    if let Some(list) = &page.list {
        let anchor = drawn
            .focus_line
            .saturating_sub(top)
            .min(height.saturating_sub(1)) as u16;
        draw_list(page, list, frame, body, anchor, theme);
    }
}

fn draw_list(
    page: &FormPage,
    list: &super::list::ListPopup,
    frame: &mut Frame,
    body: Rect,
    anchor: u16,
    theme: &Theme,
) {
    let rows = list.matches.len().max(1) as u16;
    let want = (rows + 3).min(12);
    let below = body.height.saturating_sub(anchor + 1);
    let (y, h) = if below >= want.min(6) {
        (body.y + anchor + 1, want.min(below))
    } else {
        let h = want.min(anchor.max(3));
        (body.y + anchor.saturating_sub(h), h)
    };
    let x = body.x + 2;
    let w = body.width.saturating_sub(4).min(64);
    // Never outside the page, however small the terminal.
    let rect = Rect {
        x,
        y,
        width: w,
        height: h,
    }
    .intersection(body);
    if rect.height < 3 || rect.width < 5 {
        return;
    }
    let title = page
        .fields
        .get(list.field)
        .map(|f| sanitize(&f.label))
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(
            format!(" {} ", truncate(&title, w.saturating_sub(4) as usize)),
            theme.title,
        ));
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let cols = inner.width as usize;
    let (q, qc) = window(
        &sanitize(&list.query.text),
        Some(list.query.position().1),
        cols.saturating_sub(3),
    );
    let mut lines = vec![Line::from(vec![
        Span::styled("/ ", theme.accent),
        Span::raw(q),
    ])];
    let room = inner.height.saturating_sub(1) as usize;
    if let Some(status) = &list.status {
        lines.push(Line::from(Span::styled(
            truncate(&sanitize(status), cols),
            theme.muted,
        )));
    } else if list.matches.is_empty() {
        let msg = if list.arbitrary && !list.query.text.trim().is_empty() {
            format!(
                "no match: enter uses \"{}\"",
                sanitize(list.query.text.trim())
            )
        } else {
            "no match".to_string()
        };
        lines.push(Line::from(Span::styled(truncate(&msg, cols), theme.muted)));
    }
    let first = (list.selected + 1).saturating_sub(room);
    for (n, &i) in list
        .matches
        .iter()
        .enumerate()
        .skip(first)
        .take(room.saturating_sub(lines.len() - 1))
    {
        let Some(item) = list.items.get(i) else {
            continue;
        };
        let style: Style = if n == list.selected {
            theme.selection
        } else {
            theme.base
        };
        let label = sanitize(&item.label);
        let mut spans = vec![Span::styled(truncate(&label, cols), style)];
        if let Some(d) = &item.detail {
            let rest = cols.saturating_sub(width(&label) + 2);
            if rest > 3 {
                spans.push(Span::styled(
                    format!("  {}", truncate(&sanitize(d), rest)),
                    theme.muted,
                ));
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    frame.set_cursor_position(Position::new(inner.x + 2 + qc as u16, inner.y));
}
