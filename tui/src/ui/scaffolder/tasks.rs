//! The task history (`:tasks`): past and running tasks, newest first, with their template, status, start
//! and creator; Enter opens one in the task view (its events replayed from the start).

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use serde_json::Value;
use stagedoor_core::scaffolder::{SerializedTask, TaskStatus};

use super::task::status_style;
use crate::ui::state::{App, Load};
use crate::ui::text::{sanitize, truncate};
use crate::ui::views::chrome::spinner;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub template: String,
    pub status: TaskStatus,
    pub created_at: String,
    pub created_by: String,
}

impl TaskRow {
    pub fn from_task(task: &SerializedTask) -> TaskRow {
        let info = &task.spec.template_info;
        let template = info
            .entity
            .as_ref()
            .and_then(|e| {
                e.pointer("/metadata/title")
                    .or_else(|| e.pointer("/metadata/name"))
            })
            .and_then(Value::as_str)
            .unwrap_or(&info.entity_ref);
        TaskRow {
            id: sanitize(&task.id),
            template: sanitize(template),
            status: task.status,
            // `2026-11-26T03:17:49.123Z` as `2026-11-26 03:17:49`.
            created_at: sanitize(&task.created_at)
                .replacen('T', " ", 1)
                .chars()
                .take(19)
                .collect(),
            created_by: task.created_by.as_deref().map(sanitize).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TaskHistory {
    pub load: Load,
    pub rows: Vec<TaskRow>,
    pub selected: usize,
    pub offset: usize,
}

impl TaskHistory {
    pub fn new(load: Load) -> TaskHistory {
        TaskHistory {
            load,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
        }
    }

    /// The portal's list, newest first whatever order it came in.
    pub fn set_tasks(&mut self, tasks: &[SerializedTask]) {
        let mut rows: Vec<TaskRow> = tasks.iter().map(TaskRow::from_task).collect();
        rows.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        self.rows = rows;
        self.load = Load::Ready;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    pub fn keep_visible(&mut self, height: usize) {
        self.offset = crate::ui::update::offset_showing(self.offset, self.selected, height);
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, h: &TaskHistory) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(format!(" Tasks ({}) ", h.rows.len()), t.title));
    let message = match &h.load {
        Load::Loading(_) => Some((format!("{} loading tasks…", spinner(app.tick)), t.muted)),
        Load::Failed(m) => Some((format!("cannot list tasks: {}", sanitize(m)), t.error)),
        Load::Ready if h.rows.is_empty() => {
            Some(("no tasks yet (:templates starts one)".to_string(), t.muted))
        }
        Load::Ready => None,
    };
    if let Some((text, style)) = message {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text, style))).block(block),
            area,
        );
        return;
    }
    let inner = usize::from(area.width.saturating_sub(2));
    let template_width = inner.saturating_sub(8 + 10 + 19 + 24 + 4).max(10);
    let widths = [8usize, template_width, 10, 19, 24];
    let header = Row::new(
        ["ID", "TEMPLATE", "STATUS", "CREATED AT", "CREATED BY"]
            .map(|h| Cell::from(Span::styled(h, t.accent))),
    );
    let rows = h.rows.iter().map(|r| {
        Row::new(vec![
            Cell::from(r.id.chars().take(8).collect::<String>()),
            Cell::from(truncate(&r.template, widths[1])),
            Cell::from(Span::styled(r.status.as_str(), status_style(r.status, app))),
            Cell::from(r.created_at.clone()),
            Cell::from(truncate(&r.created_by, widths[4])),
        ])
    });
    let mut state = TableState::default()
        .with_selected(Some(h.selected))
        .with_offset(h.offset);
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
