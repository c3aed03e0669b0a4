//! The template list (`:templates`): every Template entity with its title, type, owner, description and
//! tags, a fuzzy `/` filter, and Enter to start its wizard.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use stagedoor_core::{Entity, EntityRef};

use crate::ui::fuzzy::FuzzyFilter;
use crate::ui::state::{App, Load};
use crate::ui::text::{sanitize, truncate};
use crate::ui::views::chrome::spinner;

/// One template, sanitized once when it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    pub entity_ref: EntityRef,
    pub name: String,
    /// `metadata.title`, else the name.
    pub title: String,
    pub template_type: String,
    pub owner: String,
    pub description: String,
    pub tags: String,
    /// What `/` matches against.
    pub haystack: String,
    /// The whole entity: the wizard's title and the dry run's `template`.
    pub entity: Entity,
}

impl TemplateRow {
    pub fn from_entity(entity: Entity) -> TemplateRow {
        let text = |path: &str| {
            entity
                .get_path(path)
                .and_then(|v| v.as_str())
                .map(sanitize)
                .unwrap_or_default()
        };
        let name = sanitize(entity.name());
        let title = entity.title().map(sanitize).unwrap_or_else(|| name.clone());
        let description = entity.description().map(sanitize).unwrap_or_default();
        let tags = sanitize(&entity.tags().join(", "));
        TemplateRow {
            entity_ref: entity.entity_ref(),
            haystack: format!("{name} {title} {description} {tags}"),
            template_type: text("spec.type"),
            owner: text("spec.owner"),
            name,
            title,
            description,
            tags,
            entity,
        }
    }
}

/// The list's rows, filter and cursor.
#[derive(Debug, Clone)]
pub struct TemplateList {
    pub rows: Vec<TemplateRow>,
    pub load: Load,
    pub filter: String,
    /// Indices into `rows` the filter lets through, best first.
    pub visible: Vec<usize>,
    pub selected: usize,
    pub offset: usize,
}

impl TemplateList {
    pub fn new(load: Load) -> TemplateList {
        TemplateList {
            rows: Vec::new(),
            load,
            filter: String::new(),
            visible: Vec::new(),
            selected: 0,
            offset: 0,
        }
    }

    /// The portal's answer, sorted by title.
    pub fn set_entities(&mut self, entities: Vec<Entity>, fuzzy: &FuzzyFilter) {
        let mut rows: Vec<TemplateRow> =
            entities.into_iter().map(TemplateRow::from_entity).collect();
        rows.sort_by(|a, b| {
            a.title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then_with(|| a.name.cmp(&b.name))
        });
        self.rows = rows;
        self.load = Load::Ready;
        self.selected = 0;
        self.offset = 0;
        self.refilter(fuzzy);
    }

    pub fn refilter(&mut self, fuzzy: &FuzzyFilter) {
        let rows = &self.rows;
        self.visible = fuzzy.rank(
            &self.filter,
            (0..rows.len()).map(|i| (i, rows[i].name.as_str(), rows[i].haystack.as_str())),
        );
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    pub fn selected_row(&self) -> Option<&TemplateRow> {
        self.visible.get(self.selected).map(|&i| &self.rows[i])
    }

    /// Keeps the cursor among the `height` lines shown.
    pub fn keep_visible(&mut self, height: usize) {
        self.offset = crate::ui::update::offset_showing(self.offset, self.selected, height);
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, list: &TemplateList) {
    let t = &app.theme;
    let count = if list.filter.is_empty() {
        format!(" Templates ({}) ", list.rows.len())
    } else {
        format!(
            " Templates ({} of {}) /{} ",
            list.visible.len(),
            list.rows.len(),
            sanitize(&list.filter)
        )
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(count, t.title));
    let message = match &list.load {
        Load::Loading(_) => Some((format!("{} loading templates…", spinner(app.tick)), t.muted)),
        Load::Failed(m) => Some((format!("cannot list templates: {}", sanitize(m)), t.error)),
        Load::Ready if list.rows.is_empty() => Some((
            "no templates in the catalog (Template entities, scaffolder.backstage.io/v1beta3)"
                .to_string(),
            t.muted,
        )),
        Load::Ready if list.visible.is_empty() => {
            Some(("no template matches the filter".to_string(), t.muted))
        }
        Load::Ready => None,
    };
    if let Some((text, style)) = message {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text, style)))
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let inner = usize::from(area.width.saturating_sub(2));
    // Title, type, owner and tags sized to their room; the description takes what is left.
    let widths = if inner >= 110 {
        [26usize, 14, 20, 0, 20]
    } else {
        [20usize, 13, 14, 0, 12]
    };
    let fixed: usize = widths.iter().sum::<usize>() + 4;
    let description = inner.saturating_sub(fixed).max(10);
    let widths = [widths[0], widths[1], widths[2], description, widths[4]];
    let header = Row::new(
        ["TITLE", "TYPE", "OWNER", "DESCRIPTION", "TAGS"]
            .map(|h| Cell::from(Span::styled(h, t.accent))),
    );
    let rows = list.visible.iter().map(|&i| {
        let r = &list.rows[i];
        let cells = [
            &r.title,
            &r.template_type,
            &r.owner,
            &r.description,
            &r.tags,
        ];
        Row::new(
            cells
                .iter()
                .zip(widths)
                .map(|(text, w)| Cell::from(truncate(text, w))),
        )
    });
    let mut state = TableState::default()
        .with_selected(Some(list.selected))
        .with_offset(list.offset);
    frame.render_stateful_widget(
        Table::new(rows, widths.map(|w| Constraint::Length(w as u16)))
            .header(header)
            .block(block)
            .column_spacing(1)
            .row_highlight_style(t.selection),
        area,
        &mut state,
    );
}
