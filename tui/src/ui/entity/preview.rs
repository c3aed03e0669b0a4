//! The preview beside the cursor panes on wide terminals: what the catalog says about the entity under the
//! cursor (already fetched with [`super::EntityPage::set_related`]), so following it is an informed choice.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use stagedoor_core::EntityRef;

use super::super::text::{sanitize, truncate};
use super::super::theme::Theme;
use super::rows::{short_name, wrap, Related};

/// Terminals at least this wide get the preview.
pub(crate) const MIN_WIDTH: u16 = 110;
/// The preview's width.
pub(crate) const WIDTH: u16 = 42;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    selected: Option<&EntityRef>,
    related: &Related,
    theme: &Theme,
) {
    let inner = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    match selected {
        None => lines.push(Line::styled("Nothing selected.", theme.muted)),
        Some(r) => {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", sanitize(&r.kind)),
                    theme
                        .kind(&r.kind)
                        .add_modifier(Modifier::REVERSED | Modifier::BOLD),
                ),
                Span::styled(" ", theme.base),
                Span::styled(
                    truncate(&short_name(r), inner.saturating_sub(12)),
                    theme.title,
                ),
            ]));
            lines.push(Line::styled(truncate(&r.canonical(), inner), theme.muted));
            lines.push(Line::default());
            match related.get(&r.canonical()) {
                None => lines.push(Line::styled("Not fetched yet.", theme.muted)),
                Some(None) => {
                    lines.push(Line::styled("✗ Not in the catalog.", theme.error));
                    lines.push(Line::styled(
                        "A relation points here, but no such entity exists.",
                        theme.muted,
                    ));
                }
                Some(Some(e)) => {
                    if let Some(t) = e.title() {
                        lines.push(Line::styled(truncate(&sanitize(t), inner), theme.heading));
                    }
                    let description = e.description().map(sanitize).unwrap_or_default();
                    for l in wrap(&description, inner).into_iter().take(6) {
                        lines.push(Line::styled(l, theme.base));
                    }
                    lines.push(Line::default());
                    let field = |name: &str, value: &str, style| {
                        Line::from(vec![
                            Span::styled(format!("{name:<10}"), theme.muted),
                            Span::styled(
                                truncate(&sanitize(value), inner.saturating_sub(10)),
                                style,
                            ),
                        ])
                    };
                    for (name, key) in [("Owner", "owner"), ("System", "system"), ("Type", "type")]
                    {
                        if let Some(v) = e.spec_str(key) {
                            lines.push(field(name, v, theme.base));
                        }
                    }
                    if let Some(l) = e.spec_str("lifecycle") {
                        lines.push(field("Lifecycle", l, theme.lifecycle(l)));
                    }
                    let tags = e.tags();
                    if !tags.is_empty() {
                        lines.push(field("Tags", &tags.join(" · "), theme.accent));
                    }
                    lines.push(field(
                        "Relations",
                        &e.relations().len().to_string(),
                        theme.base,
                    ));
                }
            }
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(" Preview ", theme.title))
        .style(theme.base);
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.base), area);
}
