//! The renderer's leaf blocks and extras: headings (with core's anchors), highlighted code, raw HTML shown as
//! text, admonitions and details, task-list boxes, and footnotes gathered at the end of the page.

use pulldown_cmark::{Event, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use stagedoor_core::techdocs::page::{self as core_page, AdmonitionMarker};

use super::super::wrap::{line_width, truncate, wrap, Inline, Seg};
use super::super::HeadingSpot;
use super::{Container, Definitions, Frame, LinkInfo, Renderer, Verbatim};
use crate::ui::entity::highlight::highlight_code;
use crate::ui::text::{sanitize, width as text_width};
use crate::ui::theme::Theme;

pub(super) fn heading_style(theme: &Theme, level: u8) -> Style {
    let style = theme.base.patch(theme.heading);
    match level {
        1 => style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        2 | 3 => style.add_modifier(Modifier::BOLD),
        _ => style.add_modifier(Modifier::ITALIC),
    }
}

/// The colour of an admonition kind, as Material for MkDocs groups them.
pub(super) fn kind_style(theme: &Theme, kind: &str) -> Style {
    let style = match kind.to_ascii_lowercase().as_str() {
        "warning" | "warn" | "caution" | "attention" => theme.warning,
        "danger" | "error" | "failure" | "fail" | "missing" | "bug" => theme.error,
        "tip" | "hint" | "important" | "success" | "check" | "done" => theme.success,
        "quote" | "cite" | "example" => theme.quote,
        _ => theme.info,
    };
    theme.base.patch(style)
}

impl Renderer<'_> {
    pub(super) fn marker(&mut self, marker: AdmonitionMarker) {
        match marker {
            AdmonitionMarker::Open(n) => {
                let (kind, title, details) = match self.admonitions.get(n) {
                    Some(a) => (a.kind().to_string(), a.title(), a.details),
                    None => ("note".to_string(), String::new(), None),
                };
                self.open_admonition(&kind, &title, details);
            }
            AdmonitionMarker::Close(_) => self.close_container(),
        }
    }

    /// An admonition: its title line (unless titled `""`), then its body beside a bar. Collapsed details are
    /// shown open, marked `▸` (the reader has no way to open them), open ones `▾`.
    pub(super) fn open_admonition(&mut self, kind: &str, title: &str, details: Option<bool>) {
        self.block_start();
        let style = kind_style(self.theme, kind);
        self.containers.push(Container {
            frame: Frame::Bar(style),
            opened: false,
        });
        let arrow = match details {
            Some(false) => "▸ ",
            Some(true) => "▾ ",
            None => "",
        };
        let title = sanitize(title);
        if !title.is_empty() || !arrow.is_empty() {
            // A long title wraps under itself, not under the arrow, so it does not read as the body.
            let indent = text_width(arrow);
            let bold = style.add_modifier(Modifier::BOLD);
            let inline = [Inline::Text(Seg::new(title, bold))];
            let room = self.available().saturating_sub(indent);
            for (i, line) in wrap(&inline, room).into_iter().enumerate() {
                let lead = if i == 0 {
                    arrow.to_string()
                } else {
                    " ".repeat(indent)
                };
                let mut content = vec![Seg::new(lead, bold)];
                content.extend(line);
                self.emit(content);
            }
        }
    }

    pub(super) fn end_heading(&mut self) {
        self.styles.pop();
        let Some(heading) = self.heading.take() else {
            return;
        };
        let raw = heading.raw.trim();
        let anchor = core_page::unique(core_page::slugify(raw), &mut self.used_anchors);
        self.gap();
        let line = self.lines.len();
        let inline = std::mem::take(&mut self.inline);
        let wrapped = wrap(&inline, self.available());
        let widest = wrapped.iter().map(|l| line_width(l)).max().unwrap_or(0);
        for content in wrapped {
            self.emit(content);
        }
        let rule = match heading.level {
            1 => Some("═"),
            2 => Some("─"),
            _ => None,
        };
        if let Some(rule) = rule.filter(|_| widest > 0) {
            let style = self.theme.base.patch(self.theme.heading);
            self.emit(vec![Seg::new(rule.repeat(widest), style)]);
        }
        self.anchors.entry(anchor.clone()).or_insert(line);
        self.headings.push(HeadingSpot {
            line,
            level: heading.level,
            title: sanitize(raw),
            anchor,
        });
        self.pending_gap = true;
    }

    /// Code is highlighted, never wrapped: each line cut at the width, beside a gutter.
    pub(super) fn end_code(&mut self) {
        let Verbatim::Code(fence, text) = std::mem::replace(&mut self.verbatim, Verbatim::None)
        else {
            return;
        };
        let gutter = Seg::new("▎ ", self.muted());
        let room = self.available().saturating_sub(2);
        let mut lines = highlight_code(&text, &fence, self.theme);
        if lines.is_empty() {
            lines.push(Line::default());
        }
        for line in lines {
            let mut content = vec![gutter.clone()];
            let code: Vec<Seg> = line
                .spans
                .into_iter()
                .map(|s| Seg::new(s.content.into_owned(), s.style))
                .collect();
            content.extend(truncate(code, room));
            self.emit(content);
        }
        self.pending_gap = true;
    }

    /// Raw HTML is shown as the text it is, line by line, muted.
    pub(super) fn end_html(&mut self) {
        let Verbatim::Html(text) = std::mem::replace(&mut self.verbatim, Verbatim::None) else {
            return;
        };
        let style = self.muted();
        for source_line in text.lines() {
            // Its indentation is kept (wrapping drops leading spaces), continuation lines under it.
            let source_line = sanitize(source_line);
            let text = source_line.trim_start();
            let indent = (source_line.len() - text.len()).min(self.available() / 2);
            let inline = [Inline::Text(Seg::new(text, style))];
            for line in wrap(&inline, self.available() - indent) {
                let mut content = vec![Seg::new(" ".repeat(indent), self.theme.base)];
                content.extend(line);
                self.emit(content);
            }
        }
        self.pending_gap = true;
    }

    pub(super) fn task_marker(&mut self, checked: bool) {
        let (glyph, style) = if checked {
            ("☑ ", self.theme.success)
        } else {
            ("☐ ", self.theme.muted)
        };
        let style = self.theme.base.patch(style);
        let item = self
            .containers
            .iter_mut()
            .rev()
            .find(|c| matches!(c.frame, Frame::Item { .. }));
        if let Some(Container {
            frame:
                Frame::Item {
                    marker: Some(marker),
                    ..
                },
            ..
        }) = item
        {
            *marker = (glyph.to_string(), style);
        }
    }

    pub(super) fn footnote_number(&mut self, label: &str) -> usize {
        let next = self.footnotes.len() + 1;
        *self.footnotes.entry(label.to_lowercase()).or_insert(next)
    }

    pub(super) fn footnote_reference(&mut self, label: &str) {
        let n = self.footnote_number(label);
        self.links.push(LinkInfo {
            href: format!("#fn:{n}"),
            text: format!("[{n}]"),
            spot: None,
        });
        let style = self.theme.base.patch(self.theme.link);
        self.inline.push(Inline::Text(Seg {
            text: format!("[{n}]"),
            style,
            link: Some(self.links.len() - 1),
        }));
    }

    /// The definitions under a rule, in reference order (unreferenced ones last, as written).
    pub(super) fn footnote_section(&mut self, definitions: Definitions<'_>) {
        if definitions.is_empty() {
            return;
        }
        let mut numbered: Vec<(usize, Vec<Event>)> = definitions
            .into_iter()
            .map(|(label, events)| (self.footnote_number(&label), events))
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        self.containers.clear();
        self.pending_gap = true;
        self.event(&Event::Rule);
        for (n, events) in numbered {
            self.block_start();
            self.gap();
            self.anchors
                .entry(format!("fn:{n}"))
                .or_insert(self.lines.len());
            let marker = format!("[{n}] ");
            let indent = text_width(&marker);
            self.containers.push(Container {
                frame: Frame::Item {
                    marker: Some((marker, self.theme.base.patch(self.theme.link))),
                    indent,
                },
                opened: false,
            });
            self.walk(&events);
            self.end(TagEnd::Item);
            self.pending_gap = true;
        }
    }
}
