//! The event walker: pulldown-cmark events → lines, block by block.
//!
//! Nesting (block quotes, admonitions, list items, footnotes) is a stack of containers, each giving every line
//! inside it a prefix: `│ ` for a quote, a bar in the admonition's colour, a list item's marker on its first
//! line and as many spaces after. Inline content is gathered until its block ends, then wrapped to the width
//! left after the prefixes. Blocks are separated by one blank line, which carries only the bars of the
//! containers already open (a quote's first line is not preceded by a stray `│`).
//!
//! [`tags`] handles where blocks and spans open and close, [`leaves`] the blocks drawn whole (headings,
//! code, raw HTML, admonition titles, footnotes).
//!
//! Footnote definitions are taken out of the flow and rendered at the end, under a rule, numbered in the order
//! they are first referenced (as MkDocs does); references become `[n]` links to `#fn:n`.

mod leaves;
mod tags;

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{Event, Tag, TagEnd};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use stagedoor_core::techdocs::page::{self as core_page, Admonition};

use super::table::Table;
use super::wrap::{push_seg, truncate, wrap, Inline, Seg};
use super::{HeadingSpot, LinkSpot, RenderedPage};
use crate::ui::text::{sanitize, width as text_width};
use crate::ui::theme::Theme;

/// Bullets of unordered lists, by depth.
const BULLETS: [&str; 4] = ["•", "◦", "▪", "‣"];

/// What gives the lines inside it a prefix.
#[derive(Debug)]
enum Frame {
    Quote,
    /// An admonition, details block or GitHub alert: a bar in its kind's colour.
    Bar(Style),
    /// A list item or footnote definition: `marker` on its first line (taken when drawn), `indent` spaces on
    /// the others.
    Item {
        marker: Option<(String, Style)>,
        indent: usize,
    },
}

#[derive(Debug)]
struct Container {
    frame: Frame,
    /// Whether a line has been drawn inside it yet (blank separator lines only show open containers).
    opened: bool,
}

/// A link being read or drawn.
#[derive(Debug, Default)]
struct LinkInfo {
    href: String,
    text: String,
    /// Where it was first drawn: line, start and end columns.
    spot: Option<(usize, usize, usize)>,
}

/// A heading being read.
struct HeadingState {
    level: u8,
    /// Its text the way core's page builder collects it (text, code, inline HTML; breaks as newlines), so
    /// anchors come out identical.
    raw: String,
}

/// What the walker is inside of that takes text verbatim.
enum Verbatim {
    None,
    /// A code block: its fence's info word and text.
    Code(String, String),
    /// An HTML block, shown as text.
    Html(String),
    /// Front matter: hidden.
    Meta,
}

struct Renderer<'a> {
    width: usize,
    theme: &'a Theme,
    admonitions: &'a [Admonition],
    lines: Vec<Vec<Seg>>,
    containers: Vec<Container>,
    pending_gap: bool,
    inline: Vec<Inline>,
    styles: Vec<Style>,
    /// The next number of each open list (`None`: unordered).
    lists: Vec<Option<u64>>,
    links: Vec<LinkInfo>,
    open_links: Vec<usize>,
    heading: Option<HeadingState>,
    used_anchors: HashSet<String>,
    headings: Vec<HeadingSpot>,
    anchors: HashMap<String, usize>,
    verbatim: Verbatim,
    table: Option<Table>,
    /// Footnote label (lower-cased) → number.
    footnotes: HashMap<String, usize>,
}

/// Renders parsed `events` (from [`core_page::prepare`]d markdown) for `width` cells.
pub(super) fn render(
    events: Vec<Event<'_>>,
    admonitions: &[Admonition],
    width: usize,
    theme: &Theme,
) -> RenderedPage {
    let (main, definitions) = split_footnotes(events);
    let mut r = Renderer {
        width,
        theme,
        admonitions,
        lines: Vec::new(),
        containers: Vec::new(),
        pending_gap: false,
        inline: Vec::new(),
        styles: Vec::new(),
        lists: Vec::new(),
        links: Vec::new(),
        open_links: Vec::new(),
        heading: None,
        used_anchors: HashSet::new(),
        headings: Vec::new(),
        anchors: HashMap::new(),
        verbatim: Verbatim::None,
        table: None,
        footnotes: HashMap::new(),
    };
    r.walk(&main);
    r.flush_inline();
    r.footnote_section(definitions);
    r.finish()
}

/// Footnote definitions (label, events inside) taken out of the flow, in the order they are written.
type Definitions<'e> = Vec<(String, Vec<Event<'e>>)>;

fn split_footnotes(events: Vec<Event<'_>>) -> (Vec<Event<'_>>, Definitions<'_>) {
    let mut main = Vec::with_capacity(events.len());
    let mut definitions: Definitions = Vec::new();
    let mut current: Option<(String, Vec<Event>)> = None;
    for event in events {
        match event {
            Event::Start(Tag::FootnoteDefinition(label)) => {
                if let Some(done) = current.take() {
                    definitions.push(done);
                }
                current = Some((label.to_lowercase(), Vec::new()));
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                if let Some(done) = current.take() {
                    definitions.push(done);
                }
            }
            other => match &mut current {
                Some((_, inside)) => inside.push(other),
                None => main.push(other),
            },
        }
    }
    if let Some(done) = current {
        definitions.push(done);
    }
    (main, definitions)
}

impl Renderer<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or(self.theme.base)
    }

    fn push_style(&mut self, patch: Style) {
        let style = self.style().patch(patch);
        self.styles.push(style);
    }

    fn muted(&self) -> Style {
        self.theme.base.patch(self.theme.muted)
    }

    /// Cells taken by the containers' prefixes.
    fn prefix_width(&self) -> usize {
        self.containers
            .iter()
            .map(|c| match &c.frame {
                Frame::Quote | Frame::Bar(_) => 2,
                Frame::Item { indent, .. } => *indent,
            })
            .sum()
    }

    /// Cells left for content (at least one, so deep nesting in a narrow pane still makes progress).
    fn available(&self) -> usize {
        self.width.saturating_sub(self.prefix_width()).max(1)
    }

    /// The prefix of the next line; `blank` for a separator line (only open containers, markers kept).
    fn prefix(&mut self, blank: bool) -> Vec<Seg> {
        let quote = self.theme.base.patch(self.theme.quote);
        let base = self.theme.base;
        let mut out = Vec::new();
        for container in &mut self.containers {
            if blank && !container.opened {
                break;
            }
            match &mut container.frame {
                Frame::Quote => push_seg(&mut out, Seg::new("│ ", quote)),
                Frame::Bar(style) => push_seg(&mut out, Seg::new("┃ ", *style)),
                Frame::Item { marker, indent } => match marker.take().filter(|_| !blank) {
                    Some((text, style)) => {
                        let pad = indent.saturating_sub(text_width(&text));
                        push_seg(&mut out, Seg::new(text, style));
                        push_seg(&mut out, Seg::new(" ".repeat(pad), base));
                    }
                    None => push_seg(&mut out, Seg::new(" ".repeat(*indent), base)),
                },
            }
            if !blank {
                container.opened = true;
            }
        }
        out
    }

    /// Draws the blank line owed between two blocks, if any.
    fn gap(&mut self) {
        if !self.pending_gap {
            return;
        }
        self.pending_gap = false;
        if self.lines.is_empty() {
            return;
        }
        let mut line = self.prefix(true);
        // Trailing spaces of a blank line are noise in search and copy.
        while let Some(last) = line.last_mut() {
            let kept = last.text.trim_end().len();
            last.text.truncate(kept);
            if !last.text.is_empty() {
                break;
            }
            line.pop();
        }
        self.lines.push(truncate(line, self.width));
    }

    /// Draws one line of `content` inside the current containers; returns its index.
    fn emit(&mut self, content: Vec<Seg>) -> usize {
        self.gap();
        let mut line = self.prefix(false);
        for seg in content {
            push_seg(&mut line, seg);
        }
        let line = truncate(line, self.width);
        let index = self.lines.len();
        let mut column = 0;
        for seg in &line {
            let w = seg.width();
            if let Some(info) = seg.link.and_then(|id| self.links.get_mut(id)) {
                match &mut info.spot {
                    None => info.spot = Some((index, column, column + w)),
                    Some((l, _, end)) if *l == index => *end = column + w,
                    Some(_) => {}
                }
            }
            column += w;
        }
        self.lines.push(line);
        index
    }

    /// Ends the block being read: its inline content, wrapped, if there is any.
    fn flush_inline(&mut self) -> Option<usize> {
        if self.inline.is_empty() {
            return None;
        }
        let inline = std::mem::take(&mut self.inline);
        let mut first = None;
        for line in wrap(&inline, self.available()) {
            let index = self.emit(line);
            first.get_or_insert(index);
        }
        first
    }

    /// A block starts: text gathered so far (a tight list item's) is a block of its own.
    fn block_start(&mut self) {
        self.flush_inline();
    }

    fn block_end(&mut self) {
        self.flush_inline();
        self.pending_gap = true;
    }

    fn push_text(&mut self, text: &str, style: Style) {
        let text = sanitize(text);
        if let Some(&id) = self.open_links.last() {
            if let Some(info) = self.links.get_mut(id) {
                info.text.push_str(&text);
            }
        }
        self.inline.push(Inline::Text(Seg {
            text,
            style,
            link: self.open_links.last().copied(),
        }));
    }

    fn walk(&mut self, events: &[Event<'_>]) {
        let mut i = 0;
        while i < events.len() {
            // A marker paragraph written by the admonition pre-pass.
            if let (
                Event::Start(Tag::Paragraph),
                Some(Event::Text(t)),
                Some(Event::End(TagEnd::Paragraph)),
            ) = (&events[i], events.get(i + 1), events.get(i + 2))
            {
                if let Some(marker) = core_page::admonition_marker(t) {
                    self.marker(marker);
                    i += 3;
                    continue;
                }
            }
            self.event(&events[i]);
            i += 1;
        }
    }

    fn close_container(&mut self) {
        self.flush_inline();
        self.containers.pop();
        self.pending_gap = true;
    }

    fn event(&mut self, event: &Event<'_>) {
        // Text inside code, HTML blocks and front matter is taken verbatim (or dropped).
        match (&mut self.verbatim, event) {
            (Verbatim::Meta, Event::End(TagEnd::MetadataBlock(_))) => {
                self.verbatim = Verbatim::None;
                return;
            }
            (Verbatim::Meta, _) => return,
            (Verbatim::Code(_, text), Event::Text(t)) => {
                text.push_str(t);
                return;
            }
            (Verbatim::Html(text), Event::Html(t) | Event::Text(t)) => {
                text.push_str(t);
                return;
            }
            _ => {}
        }
        let replaced;
        let event = match event {
            Event::Text(t) => {
                replaced = Event::Text(core_page::emoji_shortcodes(t.clone()));
                &replaced
            }
            other => other,
        };
        if let Some(heading) = &mut self.heading {
            match event {
                Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) | Event::Html(t) => {
                    heading.raw.push_str(t)
                }
                Event::SoftBreak | Event::HardBreak => heading.raw.push('\n'),
                _ => {}
            }
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(*tag),
            Event::Text(t) => {
                if let Some(marker) = core_page::admonition_marker(t) {
                    // A marker the pre-pass left where markdown gives no paragraph (a tight list item).
                    self.marker(marker);
                } else {
                    self.push_text(t, self.style());
                }
            }
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                let style = self.style().patch(self.theme.code);
                self.push_text(t, style);
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                let style = self.style().patch(self.theme.muted);
                self.push_text(t, style);
            }
            Event::SoftBreak => self.push_text(" ", self.style()),
            Event::HardBreak => self.inline.push(Inline::Break),
            Event::Rule => {
                self.block_start();
                let rule = "─".repeat(self.available());
                let style = self.theme.base.patch(self.theme.border);
                self.emit(vec![Seg::new(rule, style)]);
                self.pending_gap = true;
            }
            Event::FootnoteReference(label) => self.footnote_reference(label),
            Event::TaskListMarker(checked) => self.task_marker(*checked),
        }
    }

    fn finish(self) -> RenderedPage {
        let plain = self
            .lines
            .iter()
            .map(|l| l.iter().map(|s| s.text.as_str()).collect())
            .collect();
        let lines = self
            .lines
            .into_iter()
            .map(|l| {
                Line::from(
                    l.into_iter()
                        .map(|s| Span::styled(s.text, s.style))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let links = self
            .links
            .into_iter()
            .filter_map(|info| {
                let (line, start, end) = info.spot?;
                Some(LinkSpot {
                    line,
                    start: u16::try_from(start).unwrap_or(u16::MAX),
                    end: u16::try_from(end).unwrap_or(u16::MAX),
                    href: info.href,
                    text: info.text,
                })
            })
            .collect();
        RenderedPage {
            width: 0,
            lines,
            plain,
            links,
            headings: self.headings,
            anchors: self.anchors,
        }
    }
}
