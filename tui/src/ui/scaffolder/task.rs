//! The live task view: the template's steps with a status mark each, the log following its tail, and at
//! the end the output links (an entity link opens in the TUI, a URL is copied) and text. Events arrive as
//! messages from a streaming effect (`task_events` with a wait, again and again until the completion).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;
use stagedoor_core::scaffolder::{
    SerializedTask, StepStatus, TaskEvent, TaskEventType, TaskStatus,
};
use stagedoor_core::EntityRef;

use crate::ui::msg::RequestId;
use crate::ui::state::App;
use crate::ui::text::{sanitize, strip_escapes, truncate, width};
use crate::ui::views::chrome::spinner;

/// Tells a streaming effect to stop; set when its task view goes away (dropped), so leaving the view
/// stops the polling. Equal only to itself.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl PartialEq for StopFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A step's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepLine {
    pub id: String,
    pub name: String,
    pub mark: Mark,
}

/// Where an output link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    Url(String),
    Entity(EntityRef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLink {
    pub title: String,
    pub target: LinkTarget,
}

/// One task as the view shows it.
#[derive(Debug)]
pub struct TaskView {
    pub task_id: String,
    /// The streaming effect's request id.
    pub stream: RequestId,
    pub stop: StopFlag,
    /// The template's title (or ref) once the task is loaded.
    pub template: String,
    pub steps: Vec<StepLine>,
    pub log: Vec<String>,
    pub last_event: Option<i64>,
    pub status: TaskStatus,
    /// The completion arrived (or the stream ended).
    pub done: bool,
    pub error: Option<String>,
    pub links: Vec<OutputLink>,
    /// `(title, markdown)` of `output.text`.
    pub texts: Vec<(String, String)>,
    /// Log lines scrolled up from the tail; 0 follows the tail.
    pub scroll: usize,
    pub link_cursor: usize,
    /// Why the task or its events could not be read.
    pub load_error: Option<String>,
    pub cancel_request: Option<RequestId>,
    /// A cancel was asked for (a `cancelled` event may not have come yet).
    pub cancelling: bool,
}

impl Drop for TaskView {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

impl TaskView {
    pub fn new(task_id: String, stream: RequestId) -> TaskView {
        TaskView {
            task_id,
            stream,
            stop: StopFlag::default(),
            template: String::new(),
            steps: Vec::new(),
            log: Vec::new(),
            last_event: None,
            status: TaskStatus::Open,
            done: false,
            error: None,
            links: Vec::new(),
            texts: Vec::new(),
            scroll: 0,
            link_cursor: 0,
            load_error: None,
            cancel_request: None,
            cancelling: false,
        }
    }

    /// The task's steps and template, from `GET /v2/tasks/:id`.
    pub fn set_task(&mut self, task: &SerializedTask) {
        let info = &task.spec.template_info;
        let title = info
            .entity
            .as_ref()
            .and_then(|e| {
                e.pointer("/metadata/title")
                    .or_else(|| e.pointer("/metadata/name"))
            })
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| info.entity_ref.clone());
        self.template = sanitize(&title);
        if self.steps.is_empty() {
            self.steps = task
                .spec
                .steps
                .iter()
                .map(|s| StepLine {
                    id: sanitize(&s.id),
                    name: sanitize(&s.name),
                    mark: Mark::Pending,
                })
                .collect();
        }
        if !self.done {
            self.status = task.status;
        }
    }

    /// Applies events in order; ones already seen (the completion comes with every answer) are skipped.
    pub fn apply(&mut self, events: &[TaskEvent]) {
        for event in events {
            if self.last_event.is_some_and(|last| event.id <= last) {
                continue;
            }
            self.last_event = Some(event.id);
            match event.event_type {
                TaskEventType::Log => {
                    if self.status == TaskStatus::Open {
                        self.status = TaskStatus::Processing;
                    }
                    if let (Some(step), Some(status)) = (event.step_id(), event.step_status()) {
                        self.mark(step, status);
                    }
                    self.push_log(event.step_id(), event.message());
                }
                TaskEventType::Cancelled => {
                    self.cancelling = true;
                    self.push_log(None, "cancelled");
                }
                TaskEventType::Recovered => self.push_log(None, event.message()),
                TaskEventType::Completion => self.complete(event),
            }
        }
    }

    fn mark(&mut self, step: &str, status: StepStatus) {
        let mark = match status {
            StepStatus::Open => Mark::Pending,
            StepStatus::Processing => Mark::Running,
            StepStatus::Completed => Mark::Done,
            StepStatus::Skipped => Mark::Skipped,
            StepStatus::Failed => Mark::Failed,
            StepStatus::Cancelled => Mark::Cancelled,
        };
        match self.steps.iter_mut().find(|s| s.id == step) {
            Some(s) => s.mark = mark,
            None => self.steps.push(StepLine {
                id: sanitize(step),
                name: sanitize(step),
                mark,
            }),
        }
    }

    fn push_log(&mut self, step: Option<&str>, message: &str) {
        let lines = log_lines(step, message);
        if self.scroll > 0 {
            // Scrolled up: keep the same lines in view while the tail grows.
            self.scroll += lines.len();
        }
        self.log.extend(lines);
    }

    fn complete(&mut self, event: &TaskEvent) {
        self.done = true;
        let body = &event.body;
        let stated = event
            .message()
            .rsplit(": ")
            .next()
            .and_then(TaskStatus::parse)
            .filter(|s| s.is_final());
        if let Some(error) = body.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the task failed");
            self.error = Some(sanitize(message));
        }
        self.status = stated.unwrap_or(match (&self.error, self.cancelling) {
            (_, true) => TaskStatus::Cancelled,
            (Some(_), false) => TaskStatus::Failed,
            (None, false) => TaskStatus::Completed,
        });
        // Steps still running when the task ended did not finish.
        let end = match self.status {
            TaskStatus::Cancelled => Mark::Cancelled,
            _ => Mark::Failed,
        };
        for s in &mut self.steps {
            if s.mark == Mark::Running {
                s.mark = end;
            }
        }
        self.push_log(None, event.message());
        if let Some(output) = body.get("output") {
            self.set_output(output);
        }
    }

    /// `output.links` and `output.text`.
    pub fn set_output(&mut self, output: &Value) {
        self.links = output
            .get("links")
            .and_then(Value::as_array)
            .map(|links| links.iter().filter_map(output_link).collect())
            .unwrap_or_default();
        self.texts = output
            .get("text")
            .and_then(Value::as_array)
            .map(|texts| {
                texts
                    .iter()
                    .filter_map(|t| {
                        let content = t.get("content").and_then(Value::as_str)?;
                        let title = t.get("title").and_then(Value::as_str).unwrap_or("Output");
                        Some((sanitize(title), content.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.link_cursor = self.link_cursor.min(self.links.len().saturating_sub(1));
    }

    pub fn selected_link(&self) -> Option<&OutputLink> {
        self.links.get(self.link_cursor)
    }
}

fn output_link(link: &Value) -> Option<OutputLink> {
    let title = link.get("title").and_then(Value::as_str);
    let target = if let Some(r) = link.get("entityRef").and_then(Value::as_str) {
        LinkTarget::Entity(EntityRef::parse_with_defaults(r, None, "default").ok()?)
    } else {
        LinkTarget::Url(sanitize(link.get("url").and_then(Value::as_str)?))
    };
    let title = match (title, &target) {
        (Some(t), _) => sanitize(t),
        (None, LinkTarget::Url(u)) => u.clone(),
        (None, LinkTarget::Entity(r)) => r.canonical(),
    };
    Some(OutputLink { title, target })
}

/// A log message as display lines: escapes stripped (action lines carry ANSI colour prefixes), one line
/// per line of the message, the step's id in front.
pub fn log_lines(step: Option<&str>, message: &str) -> Vec<String> {
    let prefix = step
        .map(|s| format!("[{}] ", sanitize(s)))
        .unwrap_or_default();
    strip_escapes(message)
        .lines()
        .map(|l| format!("{prefix}{}", sanitize(l)))
        .collect()
}

fn mark_span(mark: Mark, app: &App) -> Span<'static> {
    let t = &app.theme;
    match mark {
        Mark::Pending => Span::styled("○", t.muted),
        Mark::Running => Span::styled(spinner(app.tick), t.warning),
        Mark::Done => Span::styled("✓", t.success),
        Mark::Skipped => Span::styled("–", t.muted),
        Mark::Failed => Span::styled("✗", t.error),
        Mark::Cancelled => Span::styled("⊘", t.warning),
    }
}

pub fn status_style(status: TaskStatus, app: &App) -> ratatui::style::Style {
    let t = &app.theme;
    match status {
        TaskStatus::Completed => t.success,
        TaskStatus::Failed => t.error,
        TaskStatus::Cancelled => t.warning,
        TaskStatus::Open | TaskStatus::Processing => t.info,
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, v: &TaskView) {
    let t = &app.theme;
    let short: String = v.task_id.chars().take(8).collect();
    let status = if v.cancelling && !v.done {
        "cancelling".to_string()
    } else {
        v.status.as_str().to_string()
    };
    let title = if v.template.is_empty() {
        format!(" Task {short} ")
    } else {
        format!(" Task {short} · {} ", v.template)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Line::from(vec![
            Span::styled(title, t.title),
            Span::styled(format!(" {status} "), status_style(v.status, app)),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let output_height =
        if v.done && (!v.links.is_empty() || !v.texts.is_empty() || v.error.is_some()) {
            (inner.height / 2).max(4)
        } else {
            0
        };
    let [top, bottom] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(output_height)]).areas(inner);
    let steps_width = v
        .steps
        .iter()
        .map(|s| width(&s.name) + 3)
        .max()
        .unwrap_or(10)
        .clamp(14, 32) as u16;
    let [steps_area, log_area] =
        Layout::horizontal([Constraint::Length(steps_width + 1), Constraint::Min(10)]).areas(top);
    let mut steps: Vec<Line> = vec![Line::from(Span::styled("steps", t.accent))];
    for s in &v.steps {
        steps.push(Line::from(vec![
            mark_span(s.mark, app),
            Span::raw(" "),
            Span::styled(
                truncate(&s.name, usize::from(steps_width).saturating_sub(2)),
                t.base,
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(steps), steps_area);
    // The log follows its tail unless scrolled up.
    let height = usize::from(log_area.height.saturating_sub(1));
    let end = v.log.len().saturating_sub(v.scroll);
    let start = end.saturating_sub(height);
    let room = usize::from(log_area.width);
    let mut lines = vec![Line::from(Span::styled(
        match (&v.load_error, v.done, v.scroll) {
            (Some(e), _, _) => format!("log: ✖ {}", sanitize(e)),
            (None, false, 0) => format!("log {} (c cancels)", spinner(app.tick)),
            (None, _, 0) => "log".to_string(),
            (None, _, n) => format!("log (↑{n}; G follows)"),
        },
        if v.load_error.is_some() {
            t.error
        } else {
            t.accent
        },
    ))];
    lines.extend(
        v.log[start..end]
            .iter()
            .map(|l| Line::from(Span::styled(truncate(l, room), t.base))),
    );
    frame.render_widget(Paragraph::new(lines), log_area);
    if output_height > 0 {
        output(frame, bottom, app, v);
    }
}

fn output(frame: &mut Frame, area: Rect, app: &App, v: &TaskView) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Span::styled(
            " output (↑↓ choose, enter opens, y copies) ",
            t.title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &v.error {
        lines.push(Line::from(Span::styled(format!("✖ {e}"), t.error)));
    }
    for (i, link) in v.links.iter().enumerate() {
        let target = match &link.target {
            LinkTarget::Url(u) => u.clone(),
            LinkTarget::Entity(r) => r.canonical(),
        };
        let style = if i == v.link_cursor {
            t.selection
        } else {
            t.link
        };
        lines.push(Line::from(vec![
            Span::styled(if i == v.link_cursor { "› " } else { "  " }, t.accent),
            Span::styled(link.title.clone(), style),
            Span::styled(format!("  {target}"), t.muted),
        ]));
    }
    for (title, content) in &v.texts {
        lines.push(Line::from(Span::styled(title.clone(), t.heading)));
        let page =
            crate::ui::docs::render::render_markdown(content, "index.md", inner.width.max(20), t);
        lines.extend(page.lines);
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: i64, event_type: TaskEventType, body: Value) -> TaskEvent {
        TaskEvent {
            id,
            task_id: "t1".into(),
            event_type,
            body,
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn view() -> TaskView {
        let mut v = TaskView::new("t1".into(), 1);
        for (id, name) in [("fetch", "Fetch"), ("log", "Log"), ("register", "Register")] {
            v.steps.push(StepLine {
                id: id.into(),
                name: name.into(),
                mark: Mark::Pending,
            });
        }
        v
    }

    #[test]
    fn step_marks_follow_the_events() {
        let mut v = view();
        v.apply(&[
            event(1, TaskEventType::Log, json!({"message": "Beginning step Fetch", "stepId": "fetch", "status": "processing"})),
            event(2, TaskEventType::Log, json!({"message": "\u{1b}[32minfo\u{1b}[39m: Fetching\nsecond line", "stepId": "fetch"})),
        ]);
        assert_eq!(v.steps[0].mark, Mark::Running);
        assert_eq!(v.status, TaskStatus::Processing);
        assert_eq!(
            v.log[1..],
            ["[fetch] info: Fetching", "[fetch] second line"]
        );
        v.apply(&[
            event(3, TaskEventType::Log, json!({"message": "Finished step Fetch", "stepId": "fetch", "status": "completed"})),
            event(4, TaskEventType::Log, json!({"message": "Skipping step log because its if condition was false", "stepId": "log", "status": "skipped"})),
            event(5, TaskEventType::Log, json!({"message": "Beginning step Register", "stepId": "register", "status": "processing"})),
            event(6, TaskEventType::Completion, json!({
                "message": "Run completed with status: completed",
                "output": {
                    "links": [{"title": "Owner", "entityRef": "group:default/infra-team"},
                              {"title": "Repo", "url": "https://example.com/r"},
                              {"title": "broken"}],
                    "text": [{"title": "Next", "content": "Run **it**"}]
                }
            })),
        ]);
        // The completion is sent with every answer; seen events are not applied twice.
        v.apply(&[event(
            6,
            TaskEventType::Completion,
            json!({"message": "Run completed with status: completed"}),
        )]);
        let marks: Vec<Mark> = v.steps.iter().map(|s| s.mark).collect();
        assert_eq!(marks, [Mark::Done, Mark::Skipped, Mark::Failed]);
        assert!(v.done);
        assert_eq!(v.status, TaskStatus::Completed);
        assert_eq!(
            v.links,
            [
                OutputLink {
                    title: "Owner".into(),
                    target: LinkTarget::Entity(EntityRef::new("group", "default", "infra-team"))
                },
                OutputLink {
                    title: "Repo".into(),
                    target: LinkTarget::Url("https://example.com/r".into())
                }
            ]
        );
        assert_eq!(v.texts, [("Next".to_string(), "Run **it**".to_string())]);
        assert_eq!(
            v.log.iter().filter(|l| l.contains("Run completed")).count(),
            1
        );
    }

    #[test]
    fn failures_and_cancels_set_the_status() {
        let mut v = view();
        v.apply(&[
            event(1, TaskEventType::Log, json!({"message": "Beginning step Fetch", "stepId": "fetch", "status": "processing"})),
            event(2, TaskEventType::Log, json!({"message": "Error: boom", "stepId": "fetch", "status": "failed"})),
            event(3, TaskEventType::Completion, json!({"message": "Run completed with status: failed", "error": {"name": "Error", "message": "boom"}})),
        ]);
        assert_eq!(v.status, TaskStatus::Failed);
        assert_eq!(v.error.as_deref(), Some("boom"));
        assert_eq!(v.steps[0].mark, Mark::Failed);
        let mut v = view();
        v.apply(&[
            event(1, TaskEventType::Log, json!({"message": "Beginning step Fetch", "stepId": "fetch", "status": "processing"})),
            event(2, TaskEventType::Cancelled, json!({"message": "cancelled"})),
            event(3, TaskEventType::Completion, json!({"message": "Run completed", "error": {"message": "cancelled"}})),
        ]);
        assert_eq!(v.status, TaskStatus::Cancelled);
        assert_eq!(v.steps[0].mark, Mark::Cancelled);
    }

    #[test]
    fn dropping_the_view_stops_its_stream() {
        let v = view();
        let flag = v.stop.clone();
        assert!(!flag.stopped());
        drop(v);
        assert!(flag.stopped());
    }
}
