//! The entity page: a header (kind badge, title, ref) over tabs: Overview (About, links, processing errors,
//! the kind's own sections, annotations), Relations (grouped by type), Definition (APIs, highlighted), YAML,
//! and Dependencies (a tree of dependency, part and API relations, one fetched level out).
//!
//! The page owns its own state and answers [`PageAction`]s, so the app only routes keys to it and acts on
//! the [`PageOutcome`]. Related entities are fetched by the app ([`EntityPage::wanted_refs`]) and handed in
//! with [`EntityPage::set_related`], so drawing never waits on the portal.

mod about;
mod deps;
pub(crate) mod highlight;
mod kinds;
mod preview;
mod relations;
mod rows;

use std::sync::atomic::{AtomicUsize, Ordering};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use serde_json::Value;
use stagedoor_core::{Entity, EntityRef};

use self::highlight::Highlighted;
use self::rows::{Related, Row};
use super::text::{sanitize, truncate, width};
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
    /// The next tab (Overview → Relations → Definition → YAML → Dependencies → Overview).
    NextPane,
    /// The previous tab.
    PrevPane,
    /// Follow the selected entity (in Overview, Relations and Dependencies).
    Open,
    /// Show the dependency tree; again to go back to the tab it was opened from.
    ToggleDeps,
}

/// What the app must do after a [`PageAction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    Nothing,
    /// Open this entity (pushes a page; Esc comes back here).
    Open(EntityRef),
}

/// The page's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Relations,
    /// An API's `spec.definition` (only for entities that have one).
    Definition,
    Yaml,
    Dependencies,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Overview,
        Tab::Relations,
        Tab::Definition,
        Tab::Yaml,
        Tab::Dependencies,
    ];

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// Whether the tab has a cursor on rows (Open follows it) rather than scrolled text.
    fn has_cursor(self) -> bool {
        !matches!(self, Tab::Definition | Tab::Yaml)
    }
}

/// Cursor and scroll offset of one tab. The offset is an atomic because drawing (`&self`) keeps the cursor
/// in view when the real height differs from the one `handle` was given.
#[derive(Debug, Default)]
struct ViewState {
    cursor: usize,
    offset: AtomicUsize,
}

impl ViewState {
    fn offset(&self) -> usize {
        self.offset.load(Ordering::Relaxed)
    }

    fn set_offset(&self, offset: usize) {
        self.offset.store(offset, Ordering::Relaxed);
    }

    /// Moves the offset so the cursor is within `height` rows of it.
    fn follow(&self, height: usize) {
        self.set_offset(crate::ui::update::offset_showing(
            self.offset(),
            self.cursor,
            height,
        ));
    }
}

pub struct EntityPage {
    entity: Entity,
    /// Fetched related entities by canonical ref: `None` when not in the catalog.
    related: Related,
    overview: Vec<Row>,
    relations: Vec<Row>,
    deps: Vec<Row>,
    definition: Option<Highlighted>,
    yaml: Highlighted,
    tab: Tab,
    /// The tab the dependency view was toggled from.
    before_deps: Tab,
    views: [ViewState; 5],
}

impl EntityPage {
    pub fn new(entity: Entity) -> Self {
        let yaml_text = serde_yaml::to_string(entity.as_map()).unwrap_or_default();
        let definition = definition_text(&entity).map(|text| {
            let api_type = entity.spec_str("type").unwrap_or("");
            Highlighted::new(&text, highlight::definition_language(api_type, &text))
        });
        let mut page = EntityPage {
            yaml: Highlighted::new(&yaml_text, Some("yaml")),
            definition,
            entity,
            related: Related::new(),
            overview: vec![],
            relations: vec![],
            deps: vec![],
            tab: Tab::Overview,
            before_deps: Tab::Overview,
            views: Default::default(),
        };
        page.rebuild();
        for tab in [Tab::Relations, Tab::Dependencies] {
            page.views[tab.index()].cursor = page
                .rows(tab)
                .iter()
                .position(|r| r.target.is_some())
                .unwrap_or(0);
        }
        page
    }

    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The breadcrumb: the entity's ref.
    pub fn title(&self) -> String {
        self.entity.entity_ref().canonical()
    }

    /// The tab shown.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The tabs this entity has (Definition only for entities with a `spec.definition`).
    pub fn tabs(&self) -> Vec<Tab> {
        Tab::ALL
            .into_iter()
            .filter(|t| *t != Tab::Definition || self.definition.is_some())
            .collect()
    }

    /// The entity the cursor is on, if any (for a preview or hint bar).
    pub fn selected(&self) -> Option<&EntityRef> {
        if !self.tab.has_cursor() {
            return None;
        }
        self.rows(self.tab)
            .get(self.views[self.tab.index()].cursor)
            .and_then(|r| r.target.as_ref())
    }

    /// Entities the page wants fetched: every relation target (so missing ones show as missing, the About
    /// section finds the system's domain, and the dependency tree shows one level of neighbours).
    pub fn wanted_refs(&self) -> Vec<EntityRef> {
        let mut refs: Vec<EntityRef> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in self.entity.relations() {
            if let Ok(parsed) = EntityRef::parse(&r.target_ref) {
                if seen.insert(parsed.canonical()) {
                    refs.push(parsed);
                }
            }
        }
        refs
    }

    /// Hands in fetched related entities, in the order of `refs` (`None`: not in the catalog).
    pub fn set_related(&mut self, refs: &[EntityRef], found: Vec<Option<Entity>>) {
        for (r, e) in refs.iter().zip(found) {
            self.related.insert(r.canonical(), e);
        }
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.overview = about::overview(&self.entity, &self.related);
        self.relations = relations::rows(&self.entity.relations(), &self.related);
        self.deps = deps::rows(&self.entity, &self.related);
        for tab in Tab::ALL {
            let len = self.len(tab);
            let view = &mut self.views[tab.index()];
            view.cursor = view.cursor.min(len.saturating_sub(1));
        }
    }

    fn rows(&self, tab: Tab) -> &[Row] {
        match tab {
            Tab::Overview => &self.overview,
            Tab::Relations => &self.relations,
            Tab::Dependencies => &self.deps,
            Tab::Definition | Tab::Yaml => &[],
        }
    }

    fn len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Definition => self.definition.as_ref().map_or(0, Highlighted::len),
            Tab::Yaml => self.yaml.len(),
            _ => self.rows(tab).len(),
        }
    }

    fn switch(&mut self, step: isize) {
        let tabs = self.tabs();
        let i = tabs.iter().position(|t| *t == self.tab).unwrap_or(0) as isize;
        let n = tabs.len() as isize;
        self.tab = tabs[((i + step).rem_euclid(n)) as usize];
    }

    pub fn handle(&mut self, action: PageAction, page_height: usize) -> PageOutcome {
        let step = page_height.max(1);
        match action {
            PageAction::NextPane => self.switch(1),
            PageAction::PrevPane => self.switch(-1),
            PageAction::ToggleDeps => {
                if self.tab == Tab::Dependencies {
                    self.tab = self.before_deps;
                } else {
                    self.before_deps = self.tab;
                    self.tab = Tab::Dependencies;
                }
            }
            PageAction::Open => {
                if let Some(target) = self.selected() {
                    if !matches!(self.related.get(&target.canonical()), Some(None)) {
                        return PageOutcome::Open(target.clone());
                    }
                }
            }
            _ if self.tab.has_cursor() => {
                let last = self.len(self.tab).saturating_sub(1);
                let view = &mut self.views[self.tab.index()];
                view.cursor = match action {
                    PageAction::Up => view.cursor.saturating_sub(1),
                    PageAction::Down => (view.cursor + 1).min(last),
                    PageAction::PageUp => view.cursor.saturating_sub(step),
                    PageAction::PageDown => (view.cursor + step).min(last),
                    PageAction::Top => 0,
                    PageAction::Bottom => last,
                    _ => view.cursor,
                };
                view.follow(step);
            }
            _ => {
                let max = self.len(self.tab).saturating_sub(step);
                let view = &self.views[self.tab.index()];
                let offset = view.offset();
                view.set_offset(match action {
                    PageAction::Up => offset.saturating_sub(1),
                    PageAction::Down => (offset + 1).min(max),
                    PageAction::PageUp => offset.saturating_sub(step),
                    PageAction::PageDown => (offset + step).min(max),
                    PageAction::Top => 0,
                    PageAction::Bottom => max,
                    _ => offset,
                });
            }
        }
        PageOutcome::Nothing
    }
}

/// An API's definition as text: the string itself, or a structured value as YAML.
fn definition_text(e: &Entity) -> Option<String> {
    match e.spec()?.get("definition")? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => serde_yaml::to_string(other).ok(),
    }
}

/// Tab labels, full and short (for narrow terminals).
fn tab_label(page: &EntityPage, tab: Tab, short: bool) -> String {
    let relations = page.entity.relations().len();
    match (tab, short) {
        (Tab::Overview, false) => "Overview".into(),
        (Tab::Overview, true) => "About".into(),
        (Tab::Relations, false) => format!("Relations ({relations})"),
        (Tab::Relations, true) => format!("Rel {relations}"),
        (Tab::Definition, false) => "Definition".into(),
        (Tab::Definition, true) => "Def".into(),
        (Tab::Yaml, _) => "YAML".into(),
        (Tab::Dependencies, false) => "Dependencies".into(),
        (Tab::Dependencies, true) => "Deps".into(),
    }
}

fn tab_bar(page: &EntityPage, theme: &Theme, max: usize) -> Line<'static> {
    let tabs = page.tabs();
    let build = |short: bool| {
        let mut spans = Vec::new();
        for (i, tab) in tabs.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled("│", theme.border));
            }
            let label = tab_label(page, *tab, short);
            if *tab == page.tab {
                spans.push(Span::styled(
                    format!("▸{label} "),
                    theme.selection.add_modifier(Modifier::BOLD),
                ));
            } else {
                spans.push(Span::styled(format!(" {label} "), theme.muted));
            }
        }
        Line::from(spans)
    };
    let full = build(false);
    if full.width() <= max {
        full
    } else {
        build(true)
    }
}

fn header(page: &EntityPage, theme: &Theme, max: usize) -> Vec<Line<'static>> {
    let e = &page.entity;
    let kind = sanitize(e.kind());
    let badge = format!(" {kind} ");
    let name = e
        .title()
        .or_else(|| {
            e.get_path("spec.profile.displayName")
                .and_then(Value::as_str)
        })
        .map(sanitize)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| sanitize(e.name()));
    let mut first = vec![
        Span::styled(
            badge.clone(),
            theme
                .kind(e.kind())
                .add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
        Span::styled(" ", theme.base),
    ];
    let mut used = width(&badge) + 1;
    let lifecycle = e.spec_str("lifecycle").map(sanitize);
    let room = max.saturating_sub(used + lifecycle.as_ref().map_or(0, |l| width(l) + 3));
    let name = truncate(&name, room);
    used += width(&name);
    first.push(Span::styled(name, theme.title));
    if let Some(l) = lifecycle {
        if used + width(&l) + 3 <= max {
            first.push(Span::styled("  ", theme.base));
            first.push(Span::styled(
                format!("[{l}]"),
                theme.lifecycle(&l).add_modifier(Modifier::BOLD),
            ));
        }
    }
    let mut second = format!("{} ", page.title());
    if let Some(t) = e.spec_str("type") {
        second.push_str(&format!("· {} ", sanitize(t)));
    }
    if let Some(o) = e.spec_str("owner") {
        second.push_str(&format!("· owner {} ", sanitize(o)));
    }
    vec![
        Line::from(first),
        Line::styled(truncate(second.trim_end(), max), theme.muted),
    ]
}

pub fn render(frame: &mut Frame, area: Rect, page: &EntityPage, theme: &Theme) {
    if area.width < 10 || area.height < 4 {
        frame.render_widget(
            Paragraph::new(truncate(&page.title(), area.width as usize)).style(theme.base),
            area,
        );
        return;
    }
    let [head, tabs, body] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let max = area.width as usize;
    frame.render_widget(
        Paragraph::new(header(page, theme, max)).style(theme.base),
        head,
    );
    frame.render_widget(
        Paragraph::new(tab_bar(page, theme, max)).style(theme.base),
        tabs,
    );
    let tab = page.tab;
    let body = if tab.has_cursor() && area.width >= preview::MIN_WIDTH {
        let [main, side] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(preview::WIDTH)])
                .areas(body);
        preview::render(frame, side, page.selected(), &page.related, theme);
        main
    } else {
        body
    };
    let view = &page.views[tab.index()];
    let height = body.height.saturating_sub(2) as usize;
    let len = page.len(tab);
    let (lines, position) = if tab.has_cursor() {
        view.follow(height);
        let offset = view.offset().min(len.saturating_sub(height));
        view.set_offset(offset);
        let lines: Vec<Line> = page
            .rows(tab)
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, row)| {
                let selected = i == view.cursor;
                let mut line = row.line(theme);
                let marker = if selected { "▶ " } else { "  " };
                line.spans.insert(0, Span::styled(marker, theme.accent));
                if selected {
                    line = line.patch_style(theme.selection);
                }
                line
            })
            .collect();
        (lines, format!(" {}/{} ", (view.cursor + 1).min(len), len))
    } else {
        let offset = view.offset().min(len.saturating_sub(height));
        view.set_offset(offset);
        let text = match tab {
            Tab::Definition => page.definition.as_ref(),
            _ => Some(&page.yaml),
        };
        let digits = len.max(1).to_string().len();
        let lines: Vec<Line> = text
            .map(|t| t.lines(theme, offset, offset + height))
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, mut line)| {
                line.spans.insert(
                    0,
                    Span::styled(format!("{:>digits$} ", offset + i + 1), theme.muted),
                );
                line
            })
            .collect();
        let end = (offset + height).min(len);
        (
            lines,
            format!(" {}-{}/{} ", (offset + 1).min(end), end, len),
        )
    };
    let mut title = format!(" {} ", tab_label(page, tab, false));
    if tab == Tab::Definition {
        let name = page
            .definition
            .as_ref()
            .and_then(|d| d.language())
            .and_then(highlight::language_name)
            .unwrap_or("plain text");
        title = format!(" Definition · {name} ");
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(title, theme.title))
        .title_top(Line::styled(position, theme.muted).right_aligned())
        .style(theme.base);
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.base), body);
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
