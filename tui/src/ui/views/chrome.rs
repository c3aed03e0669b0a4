//! Everything around the views: the header (source, connection, breadcrumbs), the status / command /
//! filter line, the hint bar and the `?` overlay (both read from the keymap table), the entity loading
//! state and the "terminal too small" message.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use stagedoor_core::EntityRef;

use super::super::keymap::{Action, Context};
use super::super::state::{App, Connection, Mode, Status, COMMANDS, MIN_HEIGHT, MIN_WIDTH};
use super::super::text::{sanitize, truncate, width};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn spinner(tick: usize) -> &'static str {
    SPINNER[tick % SPINNER.len()]
}

pub fn too_small(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Fill(1),
    ])
    .areas(area);
    let text = vec![
        Line::from(Span::styled("terminal too small", t.error)),
        Line::from(Span::styled(
            format!(
                "{}x{} (need {MIN_WIDTH}x{MIN_HEIGHT})",
                area.width, area.height
            ),
            t.base,
        )),
        Line::from(Span::styled(
            format!("{} quits", app.keymap.key_label(Action::Quit)),
            t.muted,
        )),
    ];
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        middle,
    );
}

pub fn header(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let [top, crumbs] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let (state, style) = match &app.connection {
        Connection::Connecting => (format!("{} connecting", spinner(app.tick)), t.warning),
        Connection::Connected => ("● connected".to_string(), t.success),
        Connection::Failed(m) => (format!("✖ {}", sanitize(m)), t.error),
    };
    let room = usize::from(area.width);
    let left = format!(" stagedoor │ {} │ ", sanitize(&app.source));
    let left = truncate(&left, room / 2 + 10);
    let state = truncate(&state, room.saturating_sub(width(&left)));
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(left, t.accent),
            Span::styled(state, style),
        ])),
        top,
    );
    let crumbs_list = app.breadcrumbs();
    let last = crumbs_list.len().saturating_sub(1);
    let mut spans = vec![Span::raw(" ")];
    for (i, crumb) in crumbs_list.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", t.muted));
        }
        let style = if i == last { t.title } else { t.muted };
        spans.push(Span::styled(sanitize(crumb), style));
    }
    // Long histories keep their end: drop leading crumbs until the line fits.
    while spans.len() > 3 && spans.iter().map(|s| width(&s.content)).sum::<usize>() > room {
        spans.drain(1..3);
        spans.insert(1, Span::styled("… ", t.muted));
        if spans.len() > 2 && spans[2].content == " › " {
            spans.remove(2);
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), crumbs);
}

/// The line above the hint bar: the command or filter being typed, else the status.
pub fn line(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let room = usize::from(area.width);
    let spans = match &app.mode {
        Mode::Command(text) => {
            let mut spans = vec![
                Span::styled(":", t.accent),
                Span::styled(sanitize(text), t.base),
                Span::styled("█", t.accent),
            ];
            if !app.completions.is_empty() {
                spans.push(Span::styled(
                    format!("   {}", app.completions.join("  ")),
                    t.muted,
                ));
            } else if text.is_empty() {
                spans.push(Span::styled(
                    "   comp api sys dom res grp users tpl loc all docs REF q  (Tab completes)",
                    t.muted,
                ));
            }
            spans
        }
        Mode::Filter(text) => vec![
            Span::styled("/", t.accent),
            Span::styled(sanitize(text), t.base),
            Span::styled("█", t.accent),
            Span::styled("   enter keeps, esc clears", t.muted),
        ],
        Mode::Search(text) => {
            let counter = app
                .reader()
                .and_then(|r| r.search.as_ref())
                .filter(|s| !s.query.is_empty())
                .map(|s| match (s.current, s.matches.len()) {
                    (_, 0) => "   no match".to_string(),
                    (Some(i), n) => format!("   {}/{n}", i + 1),
                    (None, n) => format!("   {n} matches"),
                })
                .unwrap_or_default();
            vec![
                Span::styled("/", t.accent),
                Span::styled(sanitize(text), t.base),
                Span::styled("█", t.accent),
                Span::styled(counter, t.info),
                Span::styled("   enter keeps (n / N), esc closes", t.muted),
            ]
        }
        Mode::Normal => match &app.status {
            Some(Status::Error(m)) => vec![Span::styled(format!(" ✖ {}", sanitize(m)), t.error)],
            Some(Status::Info(m)) => vec![Span::styled(format!(" {}", sanitize(m)), t.info)],
            None => Vec::new(),
        },
    };
    frame.render_widget(Paragraph::new(fit(spans, room)), area);
}

/// Spans cut so their total width fits `room`.
fn fit(spans: Vec<Span<'static>>, room: usize) -> Line<'static> {
    let mut used = 0;
    let mut out = Vec::new();
    for span in spans {
        let w = width(&span.content);
        if used + w <= room {
            used += w;
            out.push(span);
        } else {
            let cut = truncate(&span.content, room - used);
            out.push(Span::styled(cut, span.style));
            break;
        }
    }
    Line::from(out)
}

/// The bottom bar: the hinted bindings of the current context, from the keymap.
pub fn hints(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let context = app.context();
    // A wizard page's form has every key and draws its own hint line: the table's keys would lie here.
    if context == Context::Wizard {
        return;
    }
    for b in app.keymap.for_context(context) {
        let Some(label) = b.hint else { continue };
        let Some(key) = b.keys.first() else { continue };
        // In the search overlay letters are typed: `q`, `?` and `:` do not do what the bar would say.
        if context == Context::SearchOverlay && key.is_text() {
            continue;
        }
        spans.push(Span::styled(format!(" {key}"), t.accent));
        spans.push(Span::styled(format!(" {label} "), t.muted));
    }
    frame.render_widget(Paragraph::new(fit(spans, usize::from(area.width))), area);
}

/// The `?` overlay: every binding of the current view (from the same table that dispatches keys) and the
/// `:` commands.
pub fn help(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    frame.render_widget(Clear, area);
    let title = format!(
        " Help: {} ({} or esc closes) ",
        app.screen().crumb(),
        app.keymap.key_label(Action::Help)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(
            truncate(&title, usize::from(area.width) - 2),
            t.title,
        ))
        .style(t.base);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [keys_area, commands_area] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(inner);
    let key_room = usize::from(keys_area.width.saturating_sub(1));
    let cmd_room = usize::from(commands_area.width);
    let key_line = |b: &super::super::keymap::Binding, room: usize| {
        let names = b.keys.iter().map(ToString::to_string).collect::<Vec<_>>();
        let names = truncate(&names.join(" "), 11);
        let pad = 12usize.saturating_sub(width(&names));
        // The search binding names the overlay's own keys, as they are mapped (help is not reachable
        // inside the overlay, whose letters are typed).
        let text = if b.action == Action::GlobalSearch {
            format!(
                "search all ({} full text, {} type)",
                app.keymap.key_label(Action::SearchMode),
                app.keymap.key_label(Action::SearchType)
            )
        } else {
            b.help.to_string()
        };
        let help = truncate(&text, room.saturating_sub(12));
        Line::from(vec![
            Span::styled(names, t.accent),
            Span::raw(" ".repeat(pad)),
            Span::styled(help, t.base),
        ])
    };
    let bindings: Vec<_> = app.keymap.for_context(app.context()).collect();
    // Keys that do not fit the left column (the reader has many) continue under the commands.
    let height = usize::from(keys_area.height);
    let fit_left = if bindings.len() + 2 > height {
        height.saturating_sub(1)
    } else {
        bindings.len()
    };
    let mut keys = vec![Line::from(Span::styled("keys", t.accent))];
    keys.extend(bindings[..fit_left].iter().map(|b| key_line(b, key_room)));
    let mouse = |room: usize| {
        Line::from(Span::styled(
            truncate("mouse: click selects, wheel scrolls", room),
            t.muted,
        ))
    };
    let mut commands = vec![Line::from(Span::styled("commands", t.accent))];
    for (name, aliases, _) in COMMANDS {
        let alias = aliases
            .iter()
            .take(1)
            .map(|a| format!(" :{a}"))
            .collect::<String>();
        commands.push(Line::from(vec![
            Span::styled(format!(":{name}"), t.base),
            Span::styled(
                truncate(&alias, cmd_room.saturating_sub(name.len() + 1)),
                t.muted,
            ),
        ]));
    }
    if fit_left < bindings.len() {
        // A gap above them when there is room for it and the mouse line.
        if commands.len() + bindings.len() - fit_left + 2 <= height {
            commands.push(Line::raw(""));
        }
        commands.extend(bindings[fit_left..].iter().map(|b| key_line(b, cmd_room)));
        commands.push(mouse(cmd_room));
    } else if keys.len() < height {
        keys.push(mouse(key_room));
    } else {
        // The keys fill their column exactly: the mouse line goes under the commands.
        commands.push(Line::raw(""));
        commands.push(mouse(cmd_room));
    }
    frame.render_widget(Paragraph::new(keys), keys_area);
    frame.render_widget(Paragraph::new(commands), commands_area);
}

/// An entity being fetched, or why it could not be.
pub fn loading_entity(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    entity_ref: &EntityRef,
    error: Option<&str>,
) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" {} ", entity_ref.canonical()),
            t.title,
        ));
    let text = match error {
        None => vec![Line::from(Span::styled(
            format!("{} loading {}…", spinner(app.tick), entity_ref.canonical()),
            t.muted,
        ))],
        Some(message) => vec![
            Line::from(Span::styled(sanitize(message), t.error)),
            Line::from(Span::styled(
                format!(
                    "{} retries, {} goes back",
                    app.keymap.key_label(Action::Refresh),
                    app.keymap.key_label(Action::Back)
                ),
                t.muted,
            )),
        ],
    };
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
