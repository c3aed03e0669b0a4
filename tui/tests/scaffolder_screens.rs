//! The scaffolder screens without a terminal: key sequences through `update`, effects run by the real loop
//! helper (`run::settle`) against an embedded portal over the repository's sample catalog (its
//! `runbook-page` template runs offline), insta snapshots of each screen.
//!
//! The first group needs only the catalog: the form's schema and a task's events are handed to the app
//! as the portal would send them, so the screens are checked whatever the engine does. The `end_to_end_*`
//! tests run the real engine: a template filled, dry-run, created, watched to completion, and its output
//! link followed.

use serde_json::{json, Value};
use stagedoor::ui::msg::Msg;
use stagedoor::ui::scaffolder::task::Mark;
use stagedoor::ui::scaffolder::update::open_wizard;
use stagedoor::ui::scaffolder::wizard::Stage;
use stagedoor::ui::state::Screen;
use stagedoor_core::scaffolder::{
    ParameterSchema, ParameterStep, SerializedTask, TaskEvent, TaskEventType, TaskList, TaskStatus,
};
use stagedoor_core::{Entity, EntityRef};

mod support;

use support::Harness;

fn runbook_ref() -> EntityRef {
    EntityRef::new("template", "default", "runbook-page")
}

fn runbook(h: &Harness) -> Entity {
    h.rt.block_on(h.portal.entity_by_ref(&runbook_ref()))
        .unwrap()
        .expect("the sample catalog has the runbook-page template")
}

/// The parameter schema as Backstage's endpoint derives it from the entity (one step per page).
fn schema_of(entity: &Entity) -> ParameterSchema {
    let pages = match entity.get_path("spec.parameters") {
        Some(Value::Array(pages)) => pages.clone(),
        Some(page) => vec![page.clone()],
        None => Vec::new(),
    };
    ParameterSchema {
        title: entity.title().unwrap_or(entity.name()).to_string(),
        description: entity.description().map(str::to_string),
        steps: pages
            .into_iter()
            .map(|p| ParameterStep {
                title: p
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("Fill in template parameters")
                    .to_string(),
                description: p
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                schema: p,
            })
            .collect(),
    }
}

/// Opens the wizard on `runbook-page` with its schema handed over as the portal would send it.
fn wizard(h: &mut Harness) {
    let entity = runbook(h);
    let schema = schema_of(&entity);
    let effects = open_wizard(&mut h.app, entity);
    assert_eq!(effects.len(), 1, "asks for the parameter schema");
    let Screen::Wizard(w) = h.app.screen() else {
        panic!("the wizard is open")
    };
    let Stage::Loading(id) = w.stage else {
        panic!("loading the schema")
    };
    h.send(Msg::SchemaLoaded {
        id,
        result: Ok(schema),
    });
}

fn stage(h: &Harness) -> String {
    match h.app.screen() {
        Screen::Wizard(w) => match &w.stage {
            Stage::Page => format!("page {}", w.page + 1),
            Stage::Review => "review".into(),
            Stage::DryRun(_) => "dry run".into(),
            Stage::Failed(m) => format!("failed: {m}"),
            other => format!("{other:?}"),
        },
        Screen::Task(_) => "task".into(),
        Screen::Templates(_) => "templates".into(),
        Screen::Entity { page, .. } => format!("entity {}", page.entity().name()),
        _ => "other".into(),
    }
}

/// Fills both pages of runbook-page: a service name, the owner picked by fuzzy search, the defaults.
fn fill_runbook(h: &mut Harness) {
    assert_eq!(stage(h), "page 1");
    // Pasted text (bracketed paste) goes into the focused field like typed text.
    h.send(Msg::Paste("depot-".into()));
    h.press("scanner<enter>");
    // Focusing the picker asked for its choices (Groups only, its catalogFilter) and they came.
    h.press("<enter>infra<enter>");
    h.press("<c-n>");
    assert_eq!(stage(h), "page 2", "{}", h.screen());
    h.press("<c-n>");
    assert_eq!(stage(h), "review", "{}", h.screen());
}

fn event(id: i64, event_type: TaskEventType, body: Value) -> TaskEvent {
    TaskEvent {
        id,
        task_id: "5b7e1c2a-0000-4000-8000-000000000001".into(),
        event_type,
        body,
        created_at: "2026-11-26T03:00:00Z".into(),
    }
}

fn task(status: TaskStatus, created_at: &str, id: &str) -> SerializedTask {
    serde_json::from_value(json!({
        "id": id,
        "status": status.as_str(),
        "createdAt": created_at,
        "createdBy": "user:default/ana.lima",
        "spec": {
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "parameters": {"service": "depot-scanner", "owner": "group:default/infra-team"},
            "steps": [
                {"id": "fetch", "name": "Write the page", "action": "fetch:template"},
                {"id": "log", "name": "Report", "action": "debug:log"}
            ],
            "output": {},
            "templateInfo": {
                "entityRef": "template:default/runbook-page",
                "entity": {"metadata": {"name": "runbook-page", "title": "Runbook page"}}
            }
        }
    }))
    .unwrap()
}

#[test]
fn templates_list_filters_and_opens_the_wizard() {
    for (w, hgt) in [(80, 24), (120, 40)] {
        let mut h = Harness::new(w, hgt);
        h.press(":templates<enter>");
        let Screen::Templates(list) = h.app.screen() else {
            panic!("the template list is open")
        };
        let names: Vec<&str> = list.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["python-service", "runbook-page"], "sorted by title");
        insta::assert_snapshot!(format!("templates_{w}x{hgt}"), h.screen());
    }
    let mut h = Harness::new(120, 40);
    // `T` opens the list from the catalog too; `/` narrows it.
    h.press("T/runbk");
    let Screen::Templates(list) = h.app.screen() else {
        panic!("the template list is open")
    };
    assert_eq!(list.visible.len(), 1);
    assert_eq!(list.selected_row().unwrap().name, "runbook-page");
    h.press("<enter><enter>");
    let Screen::Wizard(w) = h.app.screen() else {
        panic!("the wizard is open")
    };
    assert_eq!(w.template_ref, runbook_ref());
    assert_eq!(w.title, "Runbook page");
    // Esc on the list clears its filter before leaving it.
    h.press("<esc>");
    h.press("<esc>");
    assert!(matches!(h.app.screen(), Screen::Templates(l) if l.filter.is_empty()));
    h.press("<esc>");
    assert!(matches!(h.app.screen(), Screen::Catalog(_)));
}

#[test]
fn the_wizard_carries_values_across_pages_and_reviews_them() {
    let mut h = Harness::new(120, 40);
    h.press(":templates<enter>");
    wizard(&mut h);
    let header = h.screen();
    assert!(
        header.contains("Step 1 of 2 · About the runbook"),
        "{header}"
    );
    insta::assert_snapshot!("wizard_page_120x40", header);
    fill_runbook(&mut h);
    let Screen::Wizard(w) = h.app.screen() else {
        panic!()
    };
    assert_eq!(
        Value::Object(w.values()),
        json!({"service": "depot-scanner", "owner": "group:default/infra-team",
               "severity": "sev3", "pager": true})
    );
    let review = h.screen();
    for text in [
        "Review",
        "depot-scanner",
        "group:default/infra-team",
        "sev3",
        "create",
        "dry run",
    ] {
        assert!(review.contains(text), "{text}: {review}");
    }
    insta::assert_snapshot!("review_120x40", review);
    // Esc edits again: the last page, with its values.
    h.press("<esc>");
    assert_eq!(stage(&h), "page 2");
    h.press("<c-p>");
    assert_eq!(stage(&h), "page 1");
    let Screen::Wizard(w) = h.app.screen() else {
        panic!()
    };
    assert_eq!(w.values()["service"], "depot-scanner");
    // Esc on a page leaves the wizard, asking nothing.
    h.press("<esc>");
    assert_eq!(stage(&h), "templates");
}

#[test]
fn the_task_view_shows_steps_log_and_output_and_opens_the_entity_link() {
    let mut h = Harness::new(120, 40);
    let task_id = "5b7e1c2a-0000-4000-8000-000000000001".to_string();
    // The view as the stream fills it: the task, then its events (delivered by hand, so nothing here
    // depends on the engine's timing).
    let stream = 777_777;
    h.app.screens.push(Screen::Task(Box::new(
        stagedoor::ui::scaffolder::task::TaskView::new(task_id.clone(), stream),
    )));
    h.send(Msg::TaskLoaded {
        id: stream,
        result: Ok(Some(Box::new(task(
            TaskStatus::Processing,
            "2026-11-26T03:00:00Z",
            &task_id,
        )))),
    });
    h.send(Msg::TaskEvents {
        id: stream,
        events: vec![
            event(1, TaskEventType::Log, json!({"message": "Beginning step Write the page", "stepId": "fetch", "status": "processing"})),
            event(2, TaskEventType::Log, json!({"message": "\u{1b}[32minfo\u{1b}[39m: Fetching template content from remote URL", "stepId": "fetch"})),
            event(3, TaskEventType::Log, json!({"message": "Finished step Write the page", "stepId": "fetch", "status": "completed"})),
            event(4, TaskEventType::Log, json!({"message": "Beginning step Report", "stepId": "log", "status": "processing"})),
        ],
    });
    let running = h.screen();
    assert!(
        running.contains("info: Fetching template content"),
        "{running}"
    );
    assert!(!running.contains("\u{1b}"), "escapes stripped");
    insta::assert_snapshot!("task_running_120x40", running);
    // `c` asks the portal to cancel; this task is not the portal's, so it refuses, and says so.
    h.press("c");
    let Screen::Task(v) = h.app.screen() else {
        panic!()
    };
    assert!(v.cancel_request.is_none() && !v.cancelling);
    assert!(
        matches!(&h.app.status, Some(stagedoor::ui::state::Status::Error(m)) if m.starts_with("cannot cancel")),
        "{:?}",
        h.app.status
    );
    h.app.status = None;
    h.send(Msg::TaskEvents {
        id: stream,
        events: vec![
            event(5, TaskEventType::Log, json!({"message": "Runbook for depot-scanner written for group:default/infra-team", "stepId": "log"})),
            event(6, TaskEventType::Log, json!({"message": "Finished step Report", "stepId": "log", "status": "completed"})),
            event(7, TaskEventType::Completion, json!({
                "message": "Run completed with status: completed",
                "output": {
                    "links": [
                        {"title": "Owning team", "entityRef": "group:default/infra-team"},
                        {"title": "Wiki", "url": "https://wiki.larkspur.example/runbooks"}
                    ],
                    "text": [{"title": "Next steps", "content": "Review `docs/runbook.md` for **depot-scanner**."}]
                }
            })),
        ],
    });
    let Screen::Task(v) = h.app.screen() else {
        panic!()
    };
    assert_eq!(v.status, TaskStatus::Completed);
    assert_eq!(
        v.steps.iter().map(|s| s.mark).collect::<Vec<_>>(),
        [Mark::Done, Mark::Done]
    );
    let done = h.screen();
    assert!(
        done.contains("completed") && done.contains("Owning team"),
        "{done}"
    );
    insta::assert_snapshot!("task_completed_120x40", done);
    // `y` on the URL link copies it; Enter on the entity link opens the entity page.
    h.press("jy");
    assert_eq!(h.copied, ["https://wiki.larkspur.example/runbooks"]);
    h.press("k<enter>");
    assert_eq!(stage(&h), "entity infra-team");
    // Back to the task view, unchanged.
    h.press("<esc>");
    assert_eq!(stage(&h), "task");
}

#[test]
fn the_tasks_list_is_newest_first() {
    let mut h = Harness::new(120, 40);
    h.press(":tasks<enter>");
    assert!(matches!(h.app.screen(), Screen::Tasks(_)));
    let Screen::Tasks(history) = h.app.screen_mut() else {
        panic!()
    };
    let id = 888_888;
    history.load = stagedoor::ui::state::Load::Loading(id);
    h.send(Msg::TasksLoaded {
        id,
        result: Ok(TaskList {
            tasks: vec![
                task(
                    TaskStatus::Completed,
                    "2026-11-25T09:12:00Z",
                    "0c1d2e3f-older",
                ),
                task(TaskStatus::Failed, "2026-11-26T08:30:00Z", "9a8b7c6d-newer"),
            ],
            total_tasks: Some(2),
        }),
    });
    let Screen::Tasks(history) = h.app.screen() else {
        panic!()
    };
    assert_eq!(history.rows[0].id, "9a8b7c6d-newer");
    insta::assert_snapshot!("tasks_120x40", h.screen());
}

/// Waits (delivering the stream's messages) until the task view says the task ended.
fn wait_for_completion(h: &mut Harness) -> TaskStatus {
    for _ in 0..300 {
        if let Screen::Task(v) = h.app.screen() {
            if v.done {
                return v.status;
            }
        }
        h.deliver(Vec::new());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the task did not complete: {}", h.screen());
}

#[test]
fn end_to_end_fill_dry_run_create_and_follow_the_output_link() {
    let mut h = Harness::new(120, 40);
    h.press(":templates<enter>/runbook<enter><enter>");
    assert_eq!(stage(&h), "page 1", "{}", h.screen());
    fill_runbook(&mut h);
    h.press("d");
    assert_eq!(stage(&h), "dry run", "{}", h.screen());
    let dry = h.screen();
    assert!(dry.contains("runbook.md"), "{dry}");
    insta::assert_snapshot!("dry_run_120x40", dry);
    h.press("<esc>");
    assert_eq!(stage(&h), "review");
    // Enter creates the task; the settle loop streams it to its end.
    h.press("<enter>");
    assert_eq!(stage(&h), "task", "{}", h.screen());
    assert_eq!(
        wait_for_completion(&mut h),
        TaskStatus::Completed,
        "{}",
        h.screen()
    );
    let done = h.screen();
    assert!(done.contains("completed"), "{done}");
    assert!(done.contains("Runbook for depot-scanner written"), "{done}");
    h.press("<enter>");
    assert_eq!(stage(&h), "entity infra-team");
    // `:tasks` lists it; Enter replays its events.
    h.press(":tasks<enter>");
    let Screen::Tasks(history) = h.app.screen() else {
        panic!()
    };
    assert_eq!(history.rows.len(), 1);
    assert_eq!(history.rows[0].status, TaskStatus::Completed);
    h.press("<enter>");
    assert_eq!(wait_for_completion(&mut h), TaskStatus::Completed);
}
