//! The scaffolder screens' part of the update function: opening them, their keys, and the portal's
//! answers. The main update dispatches here; nothing here does I/O.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use serde_json::Value;
use stagedoor_core::scaffolder::{
    DryRunRequest, DryRunResult, ParameterSchema, SerializedTask, TaskEvent, TaskList, TaskRequest,
    TaskStatus, TaskUser,
};
use stagedoor_core::Entity;

use super::filter::catalog_filter;
use super::form::{EntityChoice, PageAction};
use super::task::{LinkTarget, TaskView};
use super::tasks::TaskHistory;
use super::templates::TemplateList;
use super::wizard::{DryRunView, Stage, Wizard};
use crate::ui::keymap::Action;
use crate::ui::msg::{Effect, Failure, RequestId};
use crate::ui::state::{App, Load, Screen, Status};
use crate::ui::update::{moved, open_entity, push_screen};
use crate::ui::views;

/// `:templates` (or `T`): the template list, loaded afresh.
pub fn open_templates(app: &mut App) -> Vec<Effect> {
    app.status = None;
    let id = app.request_id();
    match app.screen_mut() {
        Screen::Templates(list) => list.load = Load::Loading(id),
        _ => push_screen(
            app,
            Screen::Templates(Box::new(TemplateList::new(Load::Loading(id)))),
        ),
    }
    vec![Effect::LoadTemplates { id }]
}

/// `:tasks`: the task history, loaded afresh.
pub fn open_tasks(app: &mut App) -> Vec<Effect> {
    app.status = None;
    let id = app.request_id();
    match app.screen_mut() {
        Screen::Tasks(h) => h.load = Load::Loading(id),
        _ => push_screen(
            app,
            Screen::Tasks(Box::new(TaskHistory::new(Load::Loading(id)))),
        ),
    }
    vec![Effect::LoadTasks { id }]
}

/// The task view for `task_id`, streaming its events from the first.
pub fn open_task(app: &mut App, task_id: String) -> Vec<Effect> {
    let id = app.request_id();
    let view = TaskView::new(task_id.clone(), id);
    let stop = view.stop.clone();
    push_screen(app, Screen::Task(Box::new(view)));
    vec![Effect::StreamTask { id, task_id, stop }]
}

/// Starts the wizard for `template`.
pub fn open_wizard(app: &mut App, template: Entity) -> Vec<Effect> {
    let id = app.request_id();
    let user = app.identity.as_ref().map(|r| r.canonical());
    let wizard = Wizard::new(template, id, user);
    let template_ref = wizard.template_ref.clone();
    push_screen(app, Screen::Wizard(Box::new(wizard)));
    vec![Effect::LoadParameterSchema { id, template_ref }]
}

fn wizard_mut(app: &mut App) -> Option<&mut Wizard> {
    match app.screen_mut() {
        Screen::Wizard(w) => Some(w),
        _ => None,
    }
}

fn find_wizard(app: &mut App, pred: impl Fn(&Wizard) -> bool) -> Option<&mut Wizard> {
    app.screens.iter_mut().find_map(|s| match s {
        Screen::Wizard(w) if pred(w) => Some(w.as_mut()),
        _ => None,
    })
}

fn find_task(app: &mut App, stream: RequestId) -> Option<&mut TaskView> {
    app.screens.iter_mut().find_map(|s| match s {
        Screen::Task(v) if v.stream == stream => Some(v.as_mut()),
        _ => None,
    })
}

/// A key on a wizard page goes to the form, which has every key (text fields type letters); `None` when
/// the top screen is not a wizard page.
pub fn wizard_key(app: &mut App, event: KeyEvent) -> Option<Vec<Effect>> {
    let w = wizard_mut(app)?;
    if !matches!(w.stage, Stage::Page) {
        return None;
    }
    let page = w.pages.get_mut(w.page)?;
    let action = page.handle_key(event);
    Some(page_action(app, action))
}

/// Bracketed paste on a wizard page.
pub fn paste(app: &mut App, text: &str) {
    if let Some(w) = wizard_mut(app).filter(|w| matches!(w.stage, Stage::Page)) {
        if let Some(page) = w.pages.get_mut(w.page) {
            page.paste(text);
        }
    }
}

fn page_action(app: &mut App, action: PageAction) -> Vec<Effect> {
    match action {
        PageAction::None => Vec::new(),
        PageAction::Next => {
            if let Some(w) = wizard_mut(app) {
                if w.page + 1 < w.page_count() {
                    w.open_page(w.page + 1);
                } else {
                    w.stage = Stage::Review;
                    w.review_offset = 0;
                    w.error = None;
                }
            }
            Vec::new()
        }
        PageAction::Back => match wizard_mut(app) {
            Some(w) if w.page > 0 => {
                w.page -= 1;
                Vec::new()
            }
            _ => leave_wizard(app),
        },
        PageAction::Cancel => leave_wizard(app),
        PageAction::LoadChoices { field, filter } => match catalog_filter(filter.as_ref()) {
            Ok(predicate) => {
                let id = app.request_id();
                let Some(w) = wizard_mut(app) else {
                    return Vec::new();
                };
                w.choice_requests.push((id, w.page, field));
                vec![Effect::LoadChoices {
                    id,
                    filter: predicate,
                }]
            }
            Err(message) => {
                if let Some(w) = wizard_mut(app) {
                    if let Some(page) = w.pages.get_mut(w.page) {
                        page.set_choices(&field, Err(message));
                    }
                }
                Vec::new()
            }
        },
    }
}

/// Cancel asks nothing: the wizard goes, with what was typed.
fn leave_wizard(app: &mut App) -> Vec<Effect> {
    if matches!(app.screen(), Screen::Wizard(_)) && app.screens.len() > 1 {
        app.screens.pop();
    }
    Vec::new()
}

/// An action (from the keymap) on one of the scaffolder screens.
pub fn action(app: &mut App, action: Action) -> Vec<Effect> {
    let height = views::page_height(app);
    match app.screen_mut() {
        Screen::Templates(list) => match action {
            Action::Open => match list.selected_row() {
                Some(row) => {
                    let entity = row.entity.clone();
                    open_wizard(app, entity)
                }
                None => Vec::new(),
            },
            _ => {
                list.selected = moved(list.selected, list.visible.len(), action, height);
                list.keep_visible(height);
                Vec::new()
            }
        },
        Screen::Tasks(h) => match action {
            Action::Open => match h.rows.get(h.selected) {
                Some(row) => {
                    let id = row.id.clone();
                    open_task(app, id)
                }
                None => Vec::new(),
            },
            _ => {
                h.selected = moved(h.selected, h.rows.len(), action, height);
                h.keep_visible(height);
                Vec::new()
            }
        },
        Screen::Wizard(_) => review_action(app, action, height),
        Screen::Task(_) => task_action(app, action, height),
        _ => Vec::new(),
    }
}

fn review_action(app: &mut App, action: Action, height: usize) -> Vec<Effect> {
    let id = app.next_id + 1;
    let user = app.identity.as_ref().map(|r| TaskUser {
        entity: None,
        user_ref: Some(r.canonical()),
    });
    let Some(w) = wizard_mut(app) else {
        return Vec::new();
    };
    match (&w.stage, action) {
        (Stage::Review, Action::Create) => {
            let secrets = w.secrets();
            let request = TaskRequest {
                template_ref: w.template_ref.canonical(),
                values: Value::Object(w.values()),
                secrets: (!secrets.is_empty()).then_some(secrets),
                user,
            };
            w.stage = Stage::Creating(id);
            w.error = None;
            app.next_id = id;
            vec![Effect::CreateTask {
                id,
                request: Box::new(request),
            }]
        }
        (Stage::Review, Action::DryRun) => {
            let secrets: BTreeMap<String, String> = w.secrets();
            let request = DryRunRequest {
                template: w.entity.clone().into_value(),
                values: Value::Object(w.values()),
                secrets: (!secrets.is_empty()).then_some(secrets),
                // Empty: stagedoor reads the template's own directory.
                directory_contents: Vec::new(),
                user,
            };
            w.stage = Stage::DryRunning(id);
            w.error = None;
            app.next_id = id;
            vec![Effect::DryRun {
                id,
                request: Box::new(request),
            }]
        }
        (Stage::Review, _) => {
            let n = w.review_lines().len();
            w.review_offset = moved(w.review_offset, n, action, height);
            Vec::new()
        }
        (Stage::DryRun(_), _) => {
            if let Stage::DryRun(view) = &mut w.stage {
                let n = view.tree().len();
                view.offset = moved(view.offset, n, action, height);
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn task_action(app: &mut App, action: Action, height: usize) -> Vec<Effect> {
    let id = app.next_id + 1;
    let Screen::Task(v) = app.screen_mut() else {
        return Vec::new();
    };
    let choosing = v.done && !v.links.is_empty();
    match action {
        Action::Up | Action::Down if choosing => {
            v.link_cursor = moved(v.link_cursor, v.links.len(), action, height);
            Vec::new()
        }
        Action::Up => {
            v.scroll = (v.scroll + 1).min(v.log.len().saturating_sub(1));
            Vec::new()
        }
        Action::Down => {
            v.scroll = v.scroll.saturating_sub(1);
            Vec::new()
        }
        Action::PageUp => {
            v.scroll = (v.scroll + height).min(v.log.len().saturating_sub(1));
            Vec::new()
        }
        Action::PageDown => {
            v.scroll = v.scroll.saturating_sub(height);
            Vec::new()
        }
        Action::Top => {
            v.scroll = v.log.len().saturating_sub(1);
            Vec::new()
        }
        Action::Bottom => {
            v.scroll = 0;
            Vec::new()
        }
        Action::CancelTask if !v.done && v.cancel_request.is_none() => {
            v.cancel_request = Some(id);
            v.cancelling = true;
            let task_id = v.task_id.clone();
            app.next_id = id;
            vec![Effect::CancelTask { id, task_id }]
        }
        Action::Open => match v.selected_link().map(|l| l.target.clone()) {
            Some(LinkTarget::Entity(r)) => open_entity(app, r),
            Some(LinkTarget::Url(url)) => copy(app, url),
            None => Vec::new(),
        },
        Action::Copy => match v.selected_link().map(|l| l.target.clone()) {
            Some(LinkTarget::Url(url)) => copy(app, url),
            Some(LinkTarget::Entity(r)) => copy(app, r.canonical()),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn copy(app: &mut App, text: String) -> Vec<Effect> {
    app.status = Some(Status::Info(format!(
        "copied {} (OSC 52)",
        crate::ui::text::sanitize(&text)
    )));
    vec![Effect::Copy { text }]
}

/// Esc on a scaffolder screen when it means more than leaving it: the dry run back to the review, the
/// review back to the last page, a filter cleared. `None`: the screen goes.
pub fn back(app: &mut App) -> Option<Vec<Effect>> {
    let fuzzy = std::mem::take(&mut app.fuzzy);
    let result = match app.screen_mut() {
        Screen::Templates(list) if !list.filter.is_empty() => {
            list.filter.clear();
            list.refilter(&fuzzy);
            Some(Vec::new())
        }
        Screen::Wizard(w) => match w.stage {
            Stage::DryRun(_) | Stage::DryRunning(_) => {
                w.stage = Stage::Review;
                Some(Vec::new())
            }
            Stage::Review if !w.pages.is_empty() => {
                let last = w.pages.len() - 1;
                w.page = last;
                w.stage = Stage::Page;
                Some(Vec::new())
            }
            _ => None,
        },
        _ => None,
    };
    app.fuzzy = fuzzy;
    result
}

/// `r` on a scaffolder screen: the lists reload, the task view streams again from the start.
pub fn refresh(app: &mut App) -> Option<Vec<Effect>> {
    match app.screen() {
        Screen::Templates(_) => Some(open_templates(app)),
        Screen::Tasks(_) => Some(open_tasks(app)),
        Screen::Task(v) => {
            let task_id = v.task_id.clone();
            app.screens.pop();
            Some(open_task(app, task_id))
        }
        Screen::Wizard(w) if matches!(w.stage, Stage::Failed(_)) => {
            let entity = w.entity.clone();
            app.screens.pop();
            Some(open_wizard(app, entity))
        }
        Screen::Wizard(_) => Some(Vec::new()),
        _ => None,
    }
}

/// Whether `/` filters the top screen here (the template list).
pub fn filters(app: &App) -> bool {
    matches!(app.screen(), Screen::Templates(_))
}

pub fn filter_text(app: &App) -> Option<String> {
    match app.screen() {
        Screen::Templates(list) => Some(list.filter.clone()),
        _ => None,
    }
}

/// The template list's filter typed to `query`: the cursor goes to the best match.
pub fn set_filter(app: &mut App, query: String) {
    let fuzzy = std::mem::take(&mut app.fuzzy);
    let height = views::page_height(app);
    if let Screen::Templates(list) = app.screen_mut() {
        list.filter = query;
        list.refilter(&fuzzy);
        list.selected = 0;
        list.offset = 0;
        list.keep_visible(height);
    }
    app.fuzzy = fuzzy;
}

pub fn templates_loaded(app: &mut App, id: RequestId, result: Result<Vec<Entity>, Failure>) {
    let fuzzy = std::mem::take(&mut app.fuzzy);
    for screen in &mut app.screens {
        if let Screen::Templates(list) = screen {
            if list.load == Load::Loading(id) {
                match result {
                    Ok(entities) => list.set_entities(entities, &fuzzy),
                    Err(f) => list.load = Load::Failed(f.message),
                }
                break;
            }
        }
    }
    app.fuzzy = fuzzy;
}

pub fn schema_loaded(app: &mut App, id: RequestId, result: Result<ParameterSchema, Failure>) {
    let Some(w) = find_wizard(app, |w| matches!(w.stage, Stage::Loading(i) if i == id)) else {
        return;
    };
    match result {
        Ok(schema) => {
            let pages = schema.steps.len();
            w.schema = Some(schema);
            if pages == 0 {
                w.stage = Stage::Review;
            } else {
                w.open_page(0);
            }
        }
        Err(f) => w.stage = Stage::Failed(f.message),
    }
}

pub fn choices_loaded(app: &mut App, id: RequestId, result: Result<Vec<EntityChoice>, String>) {
    let Some(w) = find_wizard(app, |w| w.choice_requests.iter().any(|(i, ..)| *i == id)) else {
        return;
    };
    let Some(pos) = w.choice_requests.iter().position(|(i, ..)| *i == id) else {
        return;
    };
    let (_, page, field) = w.choice_requests.remove(pos);
    if let Some(page) = w.pages.get_mut(page) {
        page.set_choices(&field, result);
    }
}

pub fn dry_run_done(app: &mut App, id: RequestId, result: Result<DryRunResult, Failure>) {
    let Some(w) = find_wizard(app, |w| matches!(w.stage, Stage::DryRunning(i) if i == id)) else {
        return;
    };
    match result {
        Ok(result) => w.stage = Stage::DryRun(Box::new(DryRunView::new(&result))),
        Err(f) => {
            w.stage = Stage::Review;
            w.error = Some(format!("dry run failed: {}", f.message));
        }
    }
}

/// The task exists: its view replaces the wizard (Esc goes back to the template list).
pub fn task_created(app: &mut App, id: RequestId, result: Result<String, Failure>) -> Vec<Effect> {
    let Some(pos) = app.screens.iter().position(
        |s| matches!(s, Screen::Wizard(w) if matches!(w.stage, Stage::Creating(i) if i == id)),
    ) else {
        return Vec::new();
    };
    match result {
        Ok(task_id) => {
            let stream = app.request_id();
            let view = TaskView::new(task_id.clone(), stream);
            let stop = view.stop.clone();
            app.screens[pos] = Screen::Task(Box::new(view));
            vec![Effect::StreamTask {
                id: stream,
                task_id,
                stop,
            }]
        }
        Err(f) => {
            if let Screen::Wizard(w) = &mut app.screens[pos] {
                w.stage = Stage::Review;
                w.error = Some(format!("cannot create the task: {}", f.message));
            }
            Vec::new()
        }
    }
}

pub fn task_loaded(
    app: &mut App,
    id: RequestId,
    result: Result<Option<Box<SerializedTask>>, Failure>,
) {
    let Some(v) = find_task(app, id) else { return };
    match result {
        Ok(Some(task)) => v.set_task(&task),
        Ok(None) => v.load_error = Some(format!("there is no task {}", v.task_id)),
        Err(f) => v.load_error = Some(f.message),
    }
}

pub fn task_events(app: &mut App, id: RequestId, events: &[TaskEvent]) {
    if let Some(v) = find_task(app, id) {
        v.apply(events);
    }
}

pub fn stream_ended(app: &mut App, id: RequestId, result: Result<(), Failure>) {
    if let (Some(v), Err(f)) = (find_task(app, id), result) {
        v.load_error = Some(f.message);
    }
}

pub fn task_cancelled(app: &mut App, id: RequestId, result: Result<TaskStatus, Failure>) {
    let Some(v) = app.screens.iter_mut().find_map(|s| match s {
        Screen::Task(v) if v.cancel_request == Some(id) => Some(v.as_mut()),
        _ => None,
    }) else {
        return;
    };
    v.cancel_request = None;
    if let Err(f) = result {
        v.cancelling = false;
        app.status = Some(Status::Error(format!("cannot cancel: {}", f.message)));
    }
}

pub fn tasks_loaded(app: &mut App, id: RequestId, result: Result<TaskList, Failure>) {
    for screen in &mut app.screens {
        if let Screen::Tasks(h) = screen {
            if h.load == Load::Loading(id) {
                match result {
                    Ok(list) => h.set_tasks(&list.tasks),
                    Err(f) => h.load = Load::Failed(f.message),
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};
    use serde_json::json;
    use stagedoor_core::scaffolder::ParameterStep;
    use stagedoor_core::EntityRef;

    use super::*;
    use crate::ui::keymap::Keymap;
    use crate::ui::msg::Msg;
    use crate::ui::theme::{ColorMode, Theme};
    use crate::ui::update::update;

    fn app() -> App {
        let theme = Theme::built_in("dark", ColorMode::Ansi16).unwrap();
        App::new(theme, Keymap::default(), "test".into(), false)
            .with_identity(Some(EntityRef::new("user", "default", "ana")))
    }

    fn keys(app: &mut App, text: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for c in text.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\u{e}' => KeyCode::Char('n'),
                c => KeyCode::Char(c),
            };
            let modifiers = if c == '\u{e}' {
                KeyModifiers::CONTROL
            } else {
                KeyModifiers::NONE
            };
            effects.extend(update(app, Msg::Key(KeyEvent::new(code, modifiers))));
        }
        effects
    }

    /// A one-page template with a secret: the review's Enter creates the task with the values, the
    /// secret apart, and the identity as the user; `d` asks for a dry run of the whole entity.
    #[test]
    fn the_review_creates_the_task_with_values_and_secrets_apart() {
        let mut app = app();
        let entity = Entity::from_value(json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {"type": "service", "steps": []}
        }))
        .unwrap();
        let effects = open_wizard(&mut app, entity);
        let Some(Effect::LoadParameterSchema { id, template_ref }) = effects.first().cloned()
        else {
            panic!("{effects:?}")
        };
        assert_eq!(template_ref.canonical(), "template:default/t");
        let page = json!({
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "title": "Name"},
                "token": {"type": "string", "title": "Token", "ui:field": "Secret"}
            }
        });
        update(
            &mut app,
            Msg::SchemaLoaded {
                id,
                result: Ok(ParameterSchema {
                    title: "T".into(),
                    description: None,
                    steps: vec![ParameterStep {
                        title: "Page".into(),
                        description: None,
                        schema: page,
                    }],
                }),
            },
        );
        assert_eq!(app.context(), crate::ui::keymap::Context::Wizard);
        // Letters a table would take (`q`, `d`) are typed into the form.
        keys(&mut app, "qd\ns3cret\u{e}");
        assert_eq!(
            app.context(),
            crate::ui::keymap::Context::Review,
            "on the review"
        );
        assert!(!app.quit);
        let effects = keys(&mut app, "d");
        let Some(Effect::DryRun { id, request }) = effects.first().cloned() else {
            panic!("{effects:?}")
        };
        assert_eq!(request.template["metadata"]["name"], "t");
        assert_eq!(request.values, json!({"name": "qd"}));
        assert!(request.directory_contents.is_empty());
        update(
            &mut app,
            Msg::DryRunDone {
                id,
                result: Err(Failure {
                    message: "boom".into(),
                    connection: false,
                }),
            },
        );
        let effects = keys(&mut app, "\n");
        let Some(Effect::CreateTask { id, request }) = effects.first().cloned() else {
            panic!("{effects:?}")
        };
        assert_eq!(request.template_ref, "template:default/t");
        assert_eq!(request.values, json!({"name": "qd"}));
        assert_eq!(
            request.secrets,
            Some([("token".to_string(), "s3cret".to_string())].into())
        );
        assert_eq!(
            request.user.and_then(|u| u.user_ref).as_deref(),
            Some("user:default/ana")
        );
        // A refused create stays on the review with the reason; a created one becomes the task view.
        update(
            &mut app,
            Msg::TaskCreated {
                id,
                result: Err(Failure {
                    message: "name: does not match pattern".into(),
                    connection: false,
                }),
            },
        );
        let Screen::Wizard(w) = app.screen() else {
            panic!()
        };
        assert!(w.error.as_deref().unwrap().contains("name: does not match"));
        let Some(Effect::CreateTask { id, .. }) = keys(&mut app, "\n").first().cloned() else {
            panic!()
        };
        let effects = update(
            &mut app,
            Msg::TaskCreated {
                id,
                result: Ok("task-1".into()),
            },
        );
        assert!(matches!(
            effects.as_slice(),
            [Effect::StreamTask { task_id, .. }] if task_id == "task-1"
        ));
        assert!(matches!(app.screen(), Screen::Task(v) if v.task_id == "task-1"));
        assert_eq!(app.screens.len(), 2, "the task view replaced the wizard");
    }
}
