//! The scaffolder part of the Portal contract: one scenario (a template's form, the action list, a task that
//! runs a `debug:log` step to completion, its events, the task list, cancelling a running task, a dry run,
//! values that fail the schema, unknown tasks) answers the same through the embedded `LocalPortal` and
//! through `HttpPortal` talking real HTTP to stagedoor's server. Each side gets its own fresh database (so
//! their task lists hold the same tasks); what differs by nature (task ids, event ids, times) is replaced by
//! placeholders before comparing. On SQLite, and on PostgreSQL when `STAGEDOOR_TEST_POSTGRES` is set.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::scaffolder::{
    DryRunInputFile, DryRunRequest, TaskQuery, TaskRequest, TaskStatus,
};
use stagedoor_core::{EntityRef, LocalPortal, Portal, PortalError};
use stagedoor_tests::pg::TestDatabase;

const TOKEN: &str = "scaffolder-contract-token";

fn hello() -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "hello", "namespace": "default", "title": "Hello", "description": "Says hello"},
        "spec": {
            "owner": "team-a",
            "type": "service",
            "parameters": [
                {"title": "Who", "required": ["name"], "properties": {
                    "name": {"type": "string", "title": "Name", "pattern": "^[a-z]+$", "ui:autofocus": true}
                }},
                {"properties": {"count": {"type": "integer", "minimum": 1}}}
            ],
            "steps": [
                {"id": "greet", "name": "Greet", "action": "debug:log",
                 "input": {"message": "${{ parameters.name }} says hi"}},
                {"id": "never", "action": "debug:log", "if": "${{ parameters.count > 100 }}",
                 "input": {"message": "not logged"}}
            ],
            "output": {"text": [{"title": "Greeted", "content": "${{ parameters.name }}"}]}
        }
    })
}

fn slow() -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "slow", "namespace": "default"},
        "spec": {
            "owner": "team-a",
            "type": "service",
            "parameters": {"properties": {}},
            "steps": [{"id": "wait", "name": "Wait", "action": "debug:wait", "input": {"seconds": 20}}]
        }
    })
}

/// Writes the two templates into `dir` (JSON documents are YAML documents).
fn write_templates(dir: &Path) -> String {
    let file = dir.join("templates.yaml");
    std::fs::write(&file, format!("{}\n---\n{}\n", hello(), slow())).unwrap();
    file.display().to_string()
}

/// A portal over the templates file `target`, on SQLite in `dir` or on `pg`; tasks work under `dir`.
async fn portal(target: &str, dir: &Path, pg: Option<&TestDatabase>) -> Arc<LocalPortal> {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut extra = json!({"scaffolder": {"workingDirectory": work}});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
    }
    let config = stagedoor_tests::config(&[("file", target)], dir, extra);
    let portal = LocalPortal::from_config(config).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let portal = Arc::new(portal);
    portal.start_task_workers();
    portal
}

fn answer<T: serde::Serialize>(result: Result<T, PortalError>) -> Value {
    match result {
        Ok(v) => serde_json::to_value(v).unwrap(),
        Err(PortalError::Validation(errors)) => json!({"validation": errors}),
        Err(e) => json!({"error": e.name()}),
    }
}

/// Replaces what differs by nature: the task's id, times, entity uids and etags, and event ids (made
/// relative to `first`).
fn normalize(value: &mut Value, task_id: &str, first_event: i64) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), &*v) {
                    ("createdAt" | "lastHeartbeatAt", Value::String(_)) => *v = json!("<time>"),
                    // Each side ingested the template into its own database.
                    ("uid" | "etag", Value::String(_)) => *v = json!("<entity>"),
                    ("id", Value::Number(n)) => {
                        *v = json!(n.as_i64().unwrap_or_default() - first_event);
                    }
                    _ => normalize(v, task_id, first_event),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| normalize(v, task_id, first_event)),
        Value::String(s) if s.contains(task_id) && !task_id.is_empty() => {
            *s = s.replace(task_id, "<task>");
        }
        _ => {}
    }
}

async fn until_final(p: &dyn Portal, id: &str) -> TaskStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task = p.task(id).await.unwrap().expect("the task exists");
        if task.status.is_final() {
            return task.status;
        }
        assert!(Instant::now() < deadline, "task {id} never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn request(template: &str, values: Value) -> TaskRequest {
    TaskRequest {
        template_ref: template.into(),
        values,
        ..TaskRequest::default()
    }
}

/// The scenario; asserts what either side must do and returns every answer, normalized.
async fn contract(p: &dyn Portal) -> Vec<Value> {
    let mut out = Vec::new();
    let hello_ref = EntityRef::new("Template", "default", "hello");
    out.push(answer(p.parameter_schema(&hello_ref).await));
    out.push(answer(
        p.parameter_schema(&EntityRef::new("Template", "default", "nope"))
            .await,
    ));
    let actions = p.scaffolder_actions().await.unwrap();
    assert!(actions.iter().any(|a| a.id == "debug:log"));
    out.push(answer(Ok::<_, PortalError>(actions)));

    // Refused before anything runs.
    let invalid = p
        .create_task(request("template:default/hello", json!({"name": "UPPER"})))
        .await;
    assert!(
        matches!(invalid, Err(PortalError::Validation(_))),
        "{invalid:?}"
    );
    out.push(answer(invalid));
    out.push(answer(
        p.create_task(request("template:default/hello", json!({})))
            .await,
    ));
    out.push(answer(
        p.create_task(request("template:default/nope", json!({})))
            .await,
    ));

    // A task to its completion.
    let id = p
        .create_task(request(
            "template:default/hello",
            json!({"name": "ada", "count": 2}),
        ))
        .await
        .unwrap();
    assert_eq!(until_final(p, &id).await, TaskStatus::Completed);
    let events = p.task_events(&id, None, Duration::ZERO).await.unwrap();
    let first = events.first().map_or(0, |e| e.id);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    let last = events.last().expect("events were logged");
    assert_eq!(last.event_type.as_str(), "completion");
    let before_last = events[events.len() - 2].id;
    let tail = p
        .task_events(&id, Some(before_last), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(tail.len(), 1, "{tail:?}");
    let mut task = answer(p.task(&id).await);
    let mut events = answer(Ok::<_, PortalError>(events));
    let mut tail = answer(Ok::<_, PortalError>(tail));
    let mut list = answer(p.list_tasks(TaskQuery::default()).await);
    let mut completed = answer(
        p.list_tasks(TaskQuery {
            status: vec![TaskStatus::Completed],
            limit: Some(5),
            ..TaskQuery::default()
        })
        .await,
    );
    for v in [&mut task, &mut events, &mut tail, &mut list, &mut completed] {
        normalize(v, &id, first);
        out.push(v.clone());
    }

    // Cancelling a running task.
    let slow_id = p
        .create_task(request("template:default/slow", json!({})))
        .await
        .unwrap();
    // Cancelled once its step has begun, so both sides cancel the same thing (an open task ends with no
    // step logged).
    let deadline = Instant::now() + Duration::from_secs(30);
    while p
        .task_events(&slow_id, None, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the slow task never began");
    }
    let status = p.cancel_task(&slow_id).await.unwrap();
    assert!(!matches!(
        status,
        TaskStatus::Completed | TaskStatus::Failed
    ));
    assert_eq!(until_final(p, &slow_id).await, TaskStatus::Cancelled);
    let types: Vec<&str> = p
        .task_events(&slow_id, None, Duration::ZERO)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert!(types.contains(&"cancelled"), "{types:?}");
    out.push(json!(types));

    // Unknown tasks.
    out.push(answer(p.task("no-such-task").await));
    out.push(answer(p.cancel_task("no-such-task").await));
    out.push(answer(
        p.task_events("no-such-task", None, Duration::ZERO).await,
    ));

    // A dry run, and one with values that fail.
    // "hello file".
    let content = "aGVsbG8gZmlsZQ==".to_string();
    let dry = p
        .dry_run(DryRunRequest {
            template: hello(),
            values: json!({"name": "ada"}),
            directory_contents: vec![DryRunInputFile {
                path: "notes/a.txt".into(),
                base64_content: content,
            }],
            ..DryRunRequest::default()
        })
        .await;
    let mut dry = answer(dry);
    if let Some(files) = dry["directoryContents"].as_array_mut() {
        files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    }
    normalize(&mut dry, "", 0);
    out.push(dry);
    out.push(answer(
        p.dry_run(DryRunRequest {
            template: hello(),
            values: json!({}),
            ..DryRunRequest::default()
        })
        .await,
    ));
    out
}

async fn compare(local_db: Option<&TestDatabase>, remote_db: Option<&TestDatabase>) {
    // One templates file for both, so `templateInfo.baseUrl` is the same; a data directory each.
    let templates = tempfile::tempdir().unwrap();
    let target = write_templates(templates.path());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let local = contract(portal(&target, a.path(), local_db).await.as_ref()).await;
    let http = stagedoor_tests::over_http(portal(&target, b.path(), remote_db).await, TOKEN).await;
    let remote = contract(&http).await;
    for (i, (l, r)) in local.iter().zip(&remote).enumerate() {
        assert_eq!(l, r, "answer {i}: embedded and over HTTP differ");
    }
    assert_eq!(local.len(), remote.len());
}

#[tokio::test]
async fn sqlite_embedded_and_over_http_scaffold_alike() {
    compare(None, None).await;
}

#[tokio::test]
async fn postgres_embedded_and_over_http_scaffold_alike() {
    let Some(local) = TestDatabase::create("the scaffolder contract") else {
        return;
    };
    let Some(remote) = TestDatabase::create("the scaffolder contract") else {
        return;
    };
    compare(Some(&local), Some(&remote)).await;
}
