//! Opening and closing tags: where each block and inline span starts and ends, and what it does to the
//! container stack, the style stack, lists, links and tables.

use pulldown_cmark::{CodeBlockKind, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use stagedoor_core::techdocs::page as core_page;

use super::super::table::{self, Table};
use super::super::wrap::Inline;
use super::leaves::heading_style;
use super::{Container, Frame, HeadingState, LinkInfo, Renderer, Verbatim, BULLETS};
use crate::ui::text::{sanitize, width as text_width};
use stagedoor_core::techdocs::page::heading_level;

impl Renderer<'_> {
    pub(super) fn start(&mut self, tag: &Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                let level = heading_level(*level);
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

    pub(super) fn end(&mut self, tag: TagEnd) {
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
}
