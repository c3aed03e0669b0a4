//! The wizard: a template's parameter pages one at a time (each a [`FormPage`]) under a progress header,
//! then a review of every page's values (secrets masked) from which the task is created or a dry run
//! shows the files it would write and its log.

use std::collections::BTreeMap;

use base64::Engine as _;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::{Map, Value};
use stagedoor_core::scaffolder::{DryRunResult, ParameterSchema};
use stagedoor_core::{Entity, EntityRef};

use super::form::FormPage;
use super::task::log_lines;
use crate::ui::msg::RequestId;
use crate::ui::state::App;
use crate::ui::text::{sanitize, truncate, width};
use crate::ui::views::chrome::spinner;

/// Where the wizard is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// The parameter schema is on its way.
    Loading(RequestId),
    /// The schema could not be loaded.
    Failed(String),
    /// Filling in page `Wizard::page`.
    Page,
    Review,
    /// A dry run is on its way, then its result.
    DryRunning(RequestId),
    DryRun(Box<DryRunView>),
    /// `create_task` is on its way.
    Creating(RequestId),
}

/// A dry run's result as shown: the files with their sizes, and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunView {
    /// `(path, bytes, executable)`, sorted by path.
    pub files: Vec<(String, usize, bool)>,
    pub log: Vec<String>,
    pub offset: usize,
}

impl DryRunView {
    pub fn new(result: &DryRunResult) -> DryRunView {
        let mut files: Vec<(String, usize, bool)> = result
            .directory_contents
            .iter()
            .map(|f| {
                let size = base64::engine::general_purpose::STANDARD
                    .decode(f.base64_content.as_bytes())
                    .map(|b| b.len())
                    .unwrap_or(0);
                (sanitize(&f.path), size, f.executable)
            })
            .collect();
        files.sort();
        let log = result
            .log
            .iter()
            .flat_map(|l| {
                let step = l.body.get("stepId").and_then(Value::as_str);
                let message = l.body.get("message").and_then(Value::as_str).unwrap_or("");
                log_lines(step, message)
            })
            .collect();
        DryRunView {
            files,
            log,
            offset: 0,
        }
    }

    /// The files as an indented tree: directories once, then their files with sizes.
    pub fn tree(&self) -> Vec<(String, Option<usize>)> {
        let mut out = Vec::new();
        let mut open: Vec<String> = Vec::new();
        for (path, size, _) in &self.files {
            let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
            let (dirs, name) = parts.split_at(parts.len().saturating_sub(1));
            let same = open
                .iter()
                .zip(dirs.iter())
                .take_while(|(a, b)| a.as_str() == **b)
                .count();
            open.truncate(same);
            for dir in &dirs[same..] {
                out.push((format!("{}{dir}/", "  ".repeat(open.len())), None));
                open.push((*dir).to_string());
            }
            let name = name.first().copied().unwrap_or_default();
            out.push((format!("{}{name}", "  ".repeat(open.len())), Some(*size)));
        }
        out
    }
}

/// One run of the wizard for one template.
#[derive(Debug)]
pub struct Wizard {
    pub template_ref: EntityRef,
    /// The template's title (its name when it has none).
    pub title: String,
    pub entity: Entity,
    pub schema: Option<ParameterSchema>,
    /// The pages visited so far; the next is created, with the values so far, when the user gets there.
    pub pages: Vec<FormPage>,
    pub page: usize,
    pub stage: Stage,
    /// Pickers waiting for their choices: request, page, field.
    pub choice_requests: Vec<(RequestId, usize, String)>,
    /// Why the last create failed (validation errors name their fields).
    pub error: Option<String>,
    /// The review's first shown line.
    pub review_offset: usize,
    /// The signed-in user, for OwnedEntityPicker.
    pub user_ref: Option<String>,
}

impl Wizard {
    pub fn new(entity: Entity, id: RequestId, user_ref: Option<String>) -> Wizard {
        Wizard {
            template_ref: entity.entity_ref(),
            title: entity
                .title()
                .map(sanitize)
                .unwrap_or_else(|| sanitize(entity.name())),
            entity,
            schema: None,
            pages: Vec::new(),
            page: 0,
            stage: Stage::Loading(id),
            choice_requests: Vec::new(),
            error: None,
            review_offset: 0,
            user_ref,
        }
    }

    pub fn page_count(&self) -> usize {
        self.schema.as_ref().map_or(0, |s| s.steps.len())
    }

    /// `Step 2 of 3 · <page title>`, or what the wizard is doing.
    pub fn progress(&self) -> String {
        let n = self.page_count();
        match &self.stage {
            Stage::Page => {
                let title = self
                    .schema
                    .as_ref()
                    .and_then(|s| s.steps.get(self.page))
                    .map(|s| sanitize(&s.title))
                    .unwrap_or_default();
                format!("Step {} of {n} · {title}", self.page + 1)
            }
            Stage::Review | Stage::Creating(_) => "Review".to_string(),
            Stage::DryRunning(_) | Stage::DryRun(_) => "Review · dry run".to_string(),
            Stage::Loading(_) => "Loading".to_string(),
            Stage::Failed(_) => "The form could not be loaded".to_string(),
        }
    }

    /// Every visited page's values merged in page order (a later page wins on a shared key).
    pub fn values(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for page in &self.pages {
            out.extend(page.values());
        }
        out
    }

    pub fn secrets(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for page in &self.pages {
            out.extend(page.secrets());
        }
        out
    }

    /// Opens page `index`, creating it from the values so far when it is visited for the first time.
    pub fn open_page(&mut self, index: usize) {
        if index >= self.pages.len() {
            let values = self.values();
            if let Some(step) = self.schema.as_ref().and_then(|s| s.steps.get(index)) {
                let page = FormPage::new(&step.schema, &values, self.user_ref.as_deref());
                self.pages.push(page);
            }
        }
        self.page = index.min(self.pages.len().saturating_sub(1));
        self.stage = Stage::Page;
    }

    /// The review's lines: each page's title, then its rows.
    pub fn review_lines(&self) -> Vec<(Option<String>, String)> {
        let mut out = Vec::new();
        for (i, page) in self.pages.iter().enumerate() {
            let title = self
                .schema
                .as_ref()
                .and_then(|s| s.steps.get(i))
                .map(|s| sanitize(&s.title))
                .unwrap_or_default();
            out.push((None, title));
            for (label, value) in page.review_rows() {
                out.push((Some(sanitize(&label)), sanitize(&value)));
            }
        }
        out
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, w: &Wizard) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(format!(" {} ", w.title), t.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [header, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(w.progress(), t.accent)),
            Line::from(Span::styled(
                truncate(&description(w), usize::from(header.width)),
                t.muted,
            )),
        ]),
        header,
    );
    match &w.stage {
        Stage::Loading(_) => message(
            frame,
            body,
            format!("{} loading the template's form…", spinner(app.tick)),
            t.muted,
        ),
        Stage::Failed(m) => message(
            frame,
            body,
            format!(
                "cannot load the form: {} ({} retries, {} goes back)",
                sanitize(m),
                app.keymap.key_label(crate::ui::keymap::Action::Refresh),
                app.keymap.key_label(crate::ui::keymap::Action::Back)
            ),
            t.error,
        ),
        Stage::Page => {
            if let Some(page) = w.pages.get(w.page) {
                page.render(frame, body, t);
            }
        }
        Stage::Review | Stage::Creating(_) => review(frame, body, app, w),
        Stage::DryRunning(_) => message(
            frame,
            body,
            format!("{} dry run…", spinner(app.tick)),
            t.muted,
        ),
        Stage::DryRun(view) => dry_run(frame, body, app, view),
    }
}

fn description(w: &Wizard) -> String {
    match w.stage {
        Stage::Page => w
            .schema
            .as_ref()
            .and_then(|s| s.steps.get(w.page))
            .and_then(|s| s.description.as_deref())
            .map(sanitize)
            .unwrap_or_default(),
        Stage::Review | Stage::Creating(_) => {
            "Check the values; nothing has been created yet.".to_string()
        }
        Stage::DryRun(_) | Stage::DryRunning(_) => {
            "What the template would create; nothing was written or published.".to_string()
        }
        _ => w.template_ref.canonical(),
    }
}

fn message(frame: &mut Frame, area: Rect, text: String, style: ratatui::style::Style) {
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(text, style))).wrap(Wrap { trim: true }),
        area,
    );
}

fn review(frame: &mut Frame, area: Rect, app: &App, w: &Wizard) {
    let t = &app.theme;
    let room = usize::from(area.width);
    let lines = w.review_lines();
    let label_width = lines
        .iter()
        .filter_map(|(l, _)| l.as_ref().map(|l| width(l)))
        .max()
        .unwrap_or(0)
        .min(room / 3);
    let mut out: Vec<Line> = Vec::new();
    for (label, value) in &lines {
        match label {
            None => out.push(Line::from(Span::styled(value.clone(), t.heading))),
            Some(label) => {
                let label = truncate(label, label_width);
                let pad = label_width.saturating_sub(width(&label));
                out.push(Line::from(vec![
                    Span::styled(format!("  {label}{}  ", " ".repeat(pad)), t.muted),
                    Span::styled(
                        truncate(value, room.saturating_sub(label_width + 4)),
                        t.base,
                    ),
                ]));
            }
        }
    }
    let height = usize::from(area.height).saturating_sub(3);
    let mut shown: Vec<Line> = out.into_iter().skip(w.review_offset).take(height).collect();
    shown.push(Line::raw(""));
    match (&w.stage, &w.error) {
        (Stage::Creating(_), _) => shown.push(Line::from(Span::styled(
            format!("{} creating the task…", spinner(app.tick)),
            t.muted,
        ))),
        (_, Some(error)) => shown.push(Line::from(Span::styled(
            format!("✖ {}", sanitize(error)),
            t.error,
        ))),
        _ => {}
    }
    shown.push(Line::from(vec![
        Span::styled("enter", t.accent),
        Span::styled(" create  ", t.muted),
        Span::styled(
            app.keymap.key_label(crate::ui::keymap::Action::DryRun),
            t.accent,
        ),
        Span::styled(" dry run  ", t.muted),
        Span::styled("esc", t.accent),
        Span::styled(" edit", t.muted),
    ]));
    frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }), area);
}

fn dry_run(frame: &mut Frame, area: Rect, app: &App, view: &DryRunView) {
    let t = &app.theme;
    let [files, log] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let tree = view.tree();
    let room = usize::from(files.width.saturating_sub(2));
    let lines: Vec<Line> = tree
        .iter()
        .skip(view.offset)
        .map(|(name, size)| match size {
            None => Line::from(Span::styled(truncate(name, room), t.accent)),
            Some(size) => {
                let size = human_size(*size);
                let name = truncate(name, room.saturating_sub(size.len() + 1));
                let pad = room.saturating_sub(width(&name) + size.len());
                Line::from(vec![
                    Span::styled(name, t.base),
                    Span::raw(" ".repeat(pad)),
                    Span::styled(size, t.muted),
                ])
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(
                    format!(" Files ({}) ", view.files.len()),
                    t.title,
                )),
        ),
        files,
    );
    let height = usize::from(log.height.saturating_sub(2));
    let start = view.log.len().saturating_sub(height);
    let lines: Vec<Line> = view.log[start..]
        .iter()
        .map(|l| Line::from(Span::styled(l.clone(), t.base)))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(" Log (esc: back to the review) ", t.title)),
        ),
        log,
    );
}

/// `512 B`, `1.2 KiB`, `3.4 MiB`.
pub fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagedoor_core::scaffolder::{DirectoryFile, DryRunLog};

    fn file(path: &str, content: &str) -> DirectoryFile {
        DirectoryFile {
            path: path.into(),
            executable: false,
            base64_content: base64::engine::general_purpose::STANDARD.encode(content),
        }
    }

    #[test]
    fn dry_runs_show_a_tree_with_sizes_and_the_log() {
        let result = DryRunResult {
            log: vec![DryRunLog {
                body: serde_json::json!({"message": "\u{1b}[32minfo\u{1b}[39m: Fetching", "stepId": "fetch"}),
            }],
            directory_contents: vec![
                file("src/app.py", "print()\n"),
                file("README.md", "# x\n"),
                file("src/pkg/mod.py", ""),
                file("catalog-info.yaml", &"x".repeat(2048)),
            ],
            output: Value::Null,
            steps: Vec::new(),
        };
        let view = DryRunView::new(&result);
        let tree: Vec<String> = view
            .tree()
            .into_iter()
            .map(|(n, s)| match s {
                Some(s) => format!("{n} {}", human_size(s)),
                None => n,
            })
            .collect();
        assert_eq!(
            tree,
            [
                "README.md 4 B",
                "catalog-info.yaml 2.0 KiB",
                "src/",
                "  app.py 8 B",
                "  pkg/",
                "    mod.py 0 B"
            ]
        );
        assert_eq!(view.log, ["[fetch] info: Fetching"]);
    }
}
