//! The event walker: pulldown-cmark events → lines, block by block.
//!
//! Nesting (block quotes, admonitions, list items, footnotes) is a stack of containers, each giving every line
//! inside it a prefix: `│ ` for a quote, a bar in the admonition's colour, a list item's marker on its first
//! line and as many spaces after. Inline content is gathered until its block ends, then wrapped to the width
//! left after the prefixes. Blocks are separated by one blank line, which carries only the bars of the
//! containers already open (a quote's first line is not preceded by a stray `│`).
//!
//! Footnote definitions are taken out of the flow and rendered at the end, under a rule, numbered in the order
//! they are first referenced (as MkDocs does); references become `[n]` links to `#fn:n`.

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use stagedoor_core::techdocs::page::{self as core_page, Admonition, AdmonitionMarker};

use super::super::super::entity::highlight::highlight_code;
use super::super::super::text::{sanitize, width as text_width};
use super::super::super::theme::Theme;
use super::table::{self, Table};
use super::wrap::{line_width, push_seg, truncate, wrap, Inline, Seg};
use super::{HeadingSpot, LinkSpot, RenderedPage};

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

fn heading_style(theme: &Theme, level: u8) -> Style {
    let style = theme.base.patch(theme.heading);
    match level {
        1 => style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        2 | 3 => style.add_modifier(Modifier::BOLD),
        _ => style.add_modifier(Modifier::ITALIC),
    }
}

/// The colour of an admonition kind, as Material for MkDocs groups them.
fn kind_style(theme: &Theme, kind: &str) -> Style {
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

    fn marker(&mut self, marker: AdmonitionMarker) {
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
    fn open_admonition(&mut self, kind: &str, title: &str, details: Option<bool>) {
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

    fn start(&mut self, tag: &Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                let level = heading_number(*level);
                self.heading = Some(HeadingState {
                    level,
                    raw: String::new(),
                });
                self.styles.push(heading_style(self.theme, level));
            }
            Tag::BlockQuote(None) => {
                self.block_start();
                self.containers.push(Container {
                    frame: Frame::Quote,
                    opened: false,
                });
            }
            Tag::BlockQuote(Some(kind)) => {
                let (class, title) = core_page::alert_kind(*kind);
                self.open_admonition(class, title, None);
            }
            Tag::CodeBlock(kind) => {
                self.block_start();
                let fence = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.verbatim = Verbatim::Code(fence, String::new());
            }
            Tag::HtmlBlock => {
                self.block_start();
                self.verbatim = Verbatim::Html(String::new());
            }
            Tag::MetadataBlock(_) => self.verbatim = Verbatim::Meta,
            Tag::List(first) => {
                self.block_start();
                self.lists.push(*first);
            }
            Tag::Item => {
                self.block_start();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let text = format!("{n}. ");
                        *n = n.saturating_add(1);
                        text
                    }
                    _ => format!("{} ", BULLETS[depth % BULLETS.len()]),
                };
                let indent = text_width(&marker);
                let style = self.theme.base.patch(self.theme.accent);
                self.containers.push(Container {
                    frame: Frame::Item {
                        marker: Some((marker, style)),
                        indent,
                    },
                    opened: false,
                });
            }
            Tag::DefinitionList => self.block_start(),
            Tag::DefinitionListTitle => {
                self.block_start();
                self.styles.push(self.style().add_modifier(Modifier::BOLD));
            }
            Tag::DefinitionListDefinition => {
                self.block_start();
                self.containers.push(Container {
                    frame: Frame::Item {
                        marker: None,
                        indent: 4,
                    },
                    opened: false,
                });
            }
            Tag::FootnoteDefinition(_) => self.block_start(),
            Tag::Table(aligns) => {
                self.block_start();
                self.table = Some(Table {
                    aligns: aligns.clone(),
                    ..Table::default()
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.row.clear();
                }
            }
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Superscript | Tag::Subscript => self.push_style(Style::new()),
            Tag::Link { dest_url, .. } => {
                self.links.push(LinkInfo {
                    href: sanitize(dest_url),
                    ..LinkInfo::default()
                });
                self.open_links.push(self.links.len() - 1);
                self.push_style(self.theme.link.add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { .. } => {
                let style = self.muted().add_modifier(Modifier::ITALIC);
                self.push_text("[image: ", style);
                self.styles.push(style);
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.block_end(),
            TagEnd::Heading(_) => self.end_heading(),
            TagEnd::BlockQuote(_) => self.close_container(),
            TagEnd::CodeBlock => self.end_code(),
            TagEnd::HtmlBlock => self.end_html(),
            TagEnd::MetadataBlock(_) => self.verbatim = Verbatim::None,
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                // A nested list inside a tight item is part of the item: no blank line after it.
                let nested = self
                    .containers
                    .iter()
                    .any(|c| matches!(c.frame, Frame::Item { .. }));
                if !nested {
                    self.pending_gap = true;
                }
            }
            TagEnd::Item | TagEnd::DefinitionListDefinition => {
                self.flush_inline();
                let pending = matches!(
                    self.containers.last(),
                    Some(Container {
                        frame: Frame::Item {
                            marker: Some(_),
                            ..
                        },
                        ..
                    })
                );
                if pending {
                    self.emit(Vec::new());
                }
                self.containers.pop();
            }
            TagEnd::DefinitionListTitle => {
                self.styles.pop();
                self.flush_inline();
            }
            TagEnd::DefinitionList | TagEnd::FootnoteDefinition => self.block_end(),
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    let border = self.theme.base.patch(self.theme.border);
                    for line in table::layout(&table, self.available(), self.theme.base, border) {
                        self.emit(line);
                    }
                }
                self.pending_gap = true;
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    table.head = std::mem::take(&mut table.row);
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                if let Some(table) = &mut self.table {
                    table.row.push(cell);
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {
                self.styles.pop();
            }
            TagEnd::Link => {
                self.styles.pop();
                if let Some(id) = self.open_links.last().copied() {
                    // A link with no text shows its target, so it can still be seen and followed.
                    let empty = self.links.get(id).is_some_and(|l| l.text.trim().is_empty());
                    if empty {
                        let href = self.links[id].href.clone();
                        let style = self.theme.link.add_modifier(Modifier::UNDERLINED);
                        self.push_text(&href, self.theme.base.patch(style));
                    }
                    if let Some(info) = self.links.get_mut(id) {
                        info.text = info.text.trim().to_string();
                    }
                }
                self.open_links.pop();
            }
            TagEnd::Image => {
                self.styles.pop();
                let style = self.muted().add_modifier(Modifier::ITALIC);
                // `![](x)` has no alt text: `[image]`, not `[image: ]`.
                match self.inline.last_mut() {
                    Some(Inline::Text(seg)) if seg.text == "[image: " => {
                        seg.text = "[image]".to_string()
                    }
                    _ => self.push_text("]", style),
                }
            }
        }
    }

    fn end_heading(&mut self) {
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
    fn end_code(&mut self) {
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
    fn end_html(&mut self) {
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

    fn task_marker(&mut self, checked: bool) {
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

    fn footnote_number(&mut self, label: &str) -> usize {
        let next = self.footnotes.len() + 1;
        *self.footnotes.entry(label.to_lowercase()).or_insert(next)
    }

    fn footnote_reference(&mut self, label: &str) {
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
    fn footnote_section(&mut self, definitions: Definitions<'_>) {
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

fn heading_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
