//! The page's text model: rows of cells tagged with a [`Role`] (resolved to a style only when drawing, so
//! the model is built once, theme-free, and tested without a terminal), each row optionally pointing at an
//! entity that Open follows.

use std::collections::HashMap;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use stagedoor_core::{Entity, EntityRef};
use unicode_width::UnicodeWidthChar;

use super::super::text::{sanitize, truncate, width};
use super::super::theme::Theme;

/// What a piece of text is, for the theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    Base,
    Muted,
    Heading,
    Label,
    Accent,
    Error,
    Link,
    /// An entity kind, drawn in the kind's colour.
    Kind(String),
    /// A lifecycle value, coloured by meaning.
    Lifecycle(String),
}

impl Role {
    pub(crate) fn style(&self, theme: &Theme) -> Style {
        match self {
            Role::Base => theme.base,
            Role::Muted => theme.muted,
            Role::Heading => theme.heading,
            Role::Label => theme.muted,
            Role::Accent => theme.accent,
            Role::Error => theme.error,
            Role::Link => theme.link,
            Role::Kind(k) => theme.kind(k),
            Role::Lifecycle(l) => theme.lifecycle(l).add_modifier(Modifier::BOLD),
        }
    }
}

/// One line of a pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub cells: Vec<(String, Role)>,
    /// The entity Open follows from this row.
    pub target: Option<EntityRef>,
}

impl Row {
    pub(crate) fn new(cells: Vec<(String, Role)>) -> Row {
        Row {
            cells,
            target: None,
        }
    }

    pub(crate) fn text(text: impl Into<String>, role: Role) -> Row {
        Row::new(vec![(text.into(), role)])
    }

    pub(crate) fn blank() -> Row {
        Row::new(vec![])
    }

    pub(crate) fn heading(text: impl Into<String>) -> Row {
        Row::text(text, Role::Heading)
    }

    /// The row's plain text (tests).
    #[cfg(test)]
    pub(crate) fn plain(&self) -> String {
        self.cells.iter().map(|(t, _)| t.as_str()).collect()
    }

    pub(crate) fn line(&self, theme: &Theme) -> Line<'static> {
        Line::from(
            self.cells
                .iter()
                .map(|(t, r)| Span::styled(t.clone(), r.style(theme)))
                .collect::<Vec<_>>(),
        )
    }
}

/// What the page knows about related entities: fetched (`Some`), not in the catalog (`None`), or not asked
/// yet (absent).
pub(crate) type Related = HashMap<String, Option<Entity>>;

/// The width kind names are padded to, so names line up.
const KIND_WIDTH: usize = 10;

/// `name` or `namespace/name` (the namespace only when it is not `default`).
pub(crate) fn short_name(r: &EntityRef) -> String {
    if r.namespace.eq_ignore_ascii_case("default") {
        sanitize(&r.name)
    } else {
        sanitize(&format!("{}/{}", r.namespace, r.name))
    }
}

/// The cells naming an entity: its kind (in the kind colour), its name, then what the catalog says about
/// it: its title or description when fetched, `✗ missing` when it is not in the catalog.
pub(crate) fn entity_cells(r: &EntityRef, related: &Related) -> Vec<(String, Role)> {
    let kind = r.kind.to_ascii_lowercase();
    let mut cells = vec![
        (
            format!("{:<KIND_WIDTH$} ", sanitize(&kind)),
            Role::Kind(kind),
        ),
        (short_name(r), Role::Base),
    ];
    match related.get(&r.canonical()) {
        Some(None) => cells.push(("  ✗ missing".into(), Role::Error)),
        Some(Some(e)) => {
            let about = e
                .title()
                .filter(|t| !t.eq_ignore_ascii_case(e.name()))
                .or_else(|| {
                    e.get_path("spec.profile.displayName")
                        .and_then(serde_json::Value::as_str)
                })
                .or(e.description())
                .map(sanitize)
                .unwrap_or_default();
            if !about.trim().is_empty() {
                cells.push((format!("  {}", truncate(about.trim(), 48)), Role::Muted));
            }
        }
        None => {}
    }
    cells
}

/// A row naming the entity `target` (a ref string as relations carry them), which Open follows.
pub(crate) fn entity_row(indent: &str, target: &str, related: &Related) -> Row {
    match EntityRef::parse(target) {
        Ok(r) => {
            let mut cells = vec![(indent.to_string(), Role::Base)];
            cells.extend(entity_cells(&r, related));
            Row {
                cells,
                target: Some(r),
            }
        }
        Err(_) => Row::new(vec![
            (indent.to_string(), Role::Base),
            (sanitize(target), Role::Base),
            ("  ✗ bad reference".into(), Role::Error),
        ]),
    }
}

/// `text` broken at spaces into lines of at most `max` cells; words longer than a line are split.
pub(crate) fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(8);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !current.is_empty() && width(&current) + 1 + width(word) > max {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        for c in word.chars() {
            if width(&current) + UnicodeWidthChar::width(c).unwrap_or(0) > max {
                lines.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}
