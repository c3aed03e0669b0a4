//! The entity page: one entity's header, its relations (Enter follows one) and its raw YAML.
//!
//! The page owns its own state and answers [`PageAction`]s, so the app only routes keys to it and acts on
//! the [`PageOutcome`]. Related entities are fetched by the app ([`EntityPage::wanted_refs`]) and handed in
//! with [`EntityPage::set_related`], so drawing never waits on the portal.

use std::collections::HashMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use stagedoor_core::{Entity, EntityRef};

use super::text::sanitize;
use super::theme::Theme;

/// What the page is asked to do (mapped from the keymap by the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAction {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Next pane (relations ↔ YAML).
    NextPane,
    /// Follow the selected relation.
    Open,
}

/// What the app must do after a [`PageAction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    Nothing,
    /// Open this entity (pushes a page; Esc comes back here).
    Open(EntityRef),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pane {
    Relations,
    Yaml,
}

/// One relation as listed: type and target ref.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RelationItem {
    relation_type: String,
    target: String,
}

pub struct EntityPage {
    entity: Entity,
    relations: Vec<RelationItem>,
    yaml: Vec<String>,
    /// Targets fetched so far: `None` when the target is not in the catalog.
    related: HashMap<String, Option<Entity>>,
    pane: Pane,
    selected: usize,
    scroll: usize,
}

impl EntityPage {
    pub fn new(entity: Entity) -> Self {
        let mut relations: Vec<RelationItem> = entity
            .relations()
            .iter()
            .map(|r| RelationItem {
                relation_type: r.relation_type.clone(),
                target: r.target_ref.clone(),
            })
            .collect();
        relations.sort_by(|a, b| (&a.relation_type, &a.target).cmp(&(&b.relation_type, &b.target)));
        let yaml = serde_yaml::to_string(&entity.as_map())
            .unwrap_or_default()
            .lines()
            .map(sanitize)
            .collect();
        EntityPage {
            entity,
            relations,
            yaml,
            related: HashMap::new(),
            pane: Pane::Relations,
            selected: 0,
            scroll: 0,
        }
    }

    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The breadcrumb: the entity's ref.
    pub fn title(&self) -> String {
        self.entity.entity_ref().canonical()
    }

    /// Entities the page wants fetched (relation targets), so missing ones can be shown as missing.
    pub fn wanted_refs(&self) -> Vec<EntityRef> {
        self.relations
            .iter()
            .filter_map(|r| EntityRef::parse(&r.target).ok())
            .collect()
    }

    /// Hands in fetched related entities, in the order of `refs`.
    pub fn set_related(&mut self, refs: &[EntityRef], found: Vec<Option<Entity>>) {
        for (r, e) in refs.iter().zip(found) {
            self.related.insert(r.canonical(), e);
        }
    }

    pub fn handle(&mut self, action: PageAction, page_height: usize) -> PageOutcome {
        let (len, pos) = match self.pane {
            Pane::Relations => (self.relations.len(), &mut self.selected),
            Pane::Yaml => (self.yaml.len(), &mut self.scroll),
        };
        let last = len.saturating_sub(1);
        let step = page_height.max(1);
        match action {
            PageAction::Up => *pos = pos.saturating_sub(1),
            PageAction::Down => *pos = (*pos + 1).min(last),
            PageAction::PageUp => *pos = pos.saturating_sub(step),
            PageAction::PageDown => *pos = (*pos + step).min(last),
            PageAction::Top => *pos = 0,
            PageAction::Bottom => *pos = last,
            PageAction::NextPane => {
                self.pane = match self.pane {
                    Pane::Relations => Pane::Yaml,
                    Pane::Yaml => Pane::Relations,
                }
            }
            PageAction::Open => {
                if self.pane == Pane::Relations {
                    if let Some(item) = self.relations.get(self.selected) {
                        if let Ok(r) = EntityRef::parse(&item.target) {
                            return PageOutcome::Open(r);
                        }
                    }
                }
            }
        }
        PageOutcome::Nothing
    }
}

pub fn render(frame: &mut Frame, area: Rect, page: &EntityPage, theme: &Theme) {
    let [header, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
    let e = &page.entity;
    let title = e
        .get_path("metadata.title")
        .and_then(|v| v.as_str())
        .map(sanitize)
        .unwrap_or_else(|| sanitize(e.name()));
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(format!("{} ", e.kind()), theme.kind(e.kind())),
                Span::styled(title, theme.title),
            ]),
            Line::from(Span::styled(page.title(), theme.muted)),
        ])
        .style(theme.base),
        header,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let border = |focused: bool| {
        if focused {
            theme.border_focused
        } else {
            theme.border
        }
    };
    let items: Vec<ListItem> = page
        .relations
        .iter()
        .map(|r| {
            let missing = matches!(page.related.get(&r.target.to_lowercase()), Some(None));
            let mut spans = vec![
                Span::styled(format!("{:<14} ", r.relation_type), theme.muted),
                Span::styled(sanitize(&r.target), theme.base),
            ];
            if missing {
                spans.push(Span::styled(" (missing)", theme.error));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(page.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(border(page.pane == Pane::Relations))
                    .title(Span::styled(" Relations ", theme.title)),
            )
            .highlight_style(theme.selection)
            .highlight_symbol("▶ ")
            .style(theme.base),
        left,
        &mut state,
    );
    let visible: Vec<Line> = page
        .yaml
        .iter()
        .skip(page.scroll)
        .map(|l| Line::from(l.as_str()))
        .collect();
    frame.render_widget(
        Paragraph::new(visible)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(border(page.pane == Pane::Yaml))
                    .title(Span::styled(" YAML ", theme.title)),
            )
            .style(theme.base),
        right,
    );
}
