//! Scaffolder tasks end to end through `LocalPortal`, on SQLite and (when `STAGEDOOR_TEST_POSTGRES` is set)
//! PostgreSQL: templates from the catalog, test-only actions, steps in order with Backstage's log messages,
//! `if`, `each`, outputs flowing between steps, type preservation, failure, cancel, secret redaction in
//! everything stored, events after N, list filters, and recovery of tasks a killed worker left behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::scaffolder::actions::{Action, ActionContext, ActionError};
use stagedoor_core::scaffolder::{TaskEventType, TaskQuery, TaskRequest, TaskStatus, TaskUser};
use stagedoor_core::store::NewTask;
use stagedoor_core::{LocalPortal, Portal, PortalError};
use stagedoor_tests::pg::TestDatabase;

const SECRET: &str = "tok-3f9a1c77-very-secret";

/// Logs `message`, outputs `value` (any JSON) and `message`.
struct Echo;

#[async_trait]
impl Action for Echo {
    fn id(&self) -> &'static str {
        "test:echo"
    }
    fn description(&self) -> &'static str {
        "Logs its message and outputs its value"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}})
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let message = ctx.input["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        ctx.log(format!("echo: {message}"));
        let value = ctx.input.get("value").cloned().unwrap_or(Value::Null);
        ctx.output("value", value);
        ctx.output("message", json!(message));
        std::fs::write(ctx.workspace.root().join("echo.txt"), &message)
            .map_err(|e| ActionError::Failed(e.to_string()))?;
        Ok(())
    }
}

/// Waits until the task is cancelled (or 30 s).
struct Wait;

#[async_trait]
impl Action for Wait {
    fn id(&self) -> &'static str {
        "test:wait"
    }
    fn description(&self) -> &'static str {
        "Waits for a cancel"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object"})
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        ctx.log("waiting");
        let mut cancelled = ctx.cancelled.clone();
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return Ok(()),
                r = cancelled.changed() => {
                    if r.is_err() || *cancelled.borrow() {
                        return Err(ActionError::Cancelled);
                    }
                }
            }
        }
    }
}

/// Fails with `boom`.
struct Fail;

#[async_trait]
impl Action for Fail {
    fn id(&self) -> &'static str {
        "test:fail"
    }
    fn description(&self) -> &'static str {
        "Fails"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object"})
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        ctx.log("about to fail");
        Err(ActionError::Failed(format!(
            "boom {}",
            ctx.input["why"].as_str().unwrap_or_default()
        )))
    }
}

fn templates() -> String {
    let flow = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "flow", "title": "Flow"},
        "spec": {
            "owner": "team-a", "type": "service",
            "parameters": [
                {"title": "Basics", "required": ["name"], "properties": {
                    "name": {"type": "string", "pattern": "^[a-z]+$"},
                    "count": {"type": "integer"},
                    "items": {"type": "array"},
                    "skip": {"type": "boolean"},
                    "token": {"type": "string", "ui:field": "Secret"}
                }},
                {"properties": {"flags": {"type": "object"}}}
            ],
            "steps": [
                {"id": "first", "name": "First", "action": "test:echo",
                 "input": {"message": "hello ${{ parameters.name }} ${{ secrets.token }}", "value": "${{ parameters.count }}"}},
                {"id": "maybe", "name": "Maybe", "action": "test:echo", "if": "${{ parameters.skip }}",
                 "input": {"message": "not run"}},
                {"id": "many", "action": "test:echo", "each": "${{ parameters.items }}",
                 "input": {"message": "item ${{ each.key }}", "value": "${{ each.value }}"}},
                {"id": "last", "name": "Last", "action": "test:echo",
                 "input": {"message": "got ${{ steps.first.output.value }}", "value": "${{ parameters.flags }}"}}
            ],
            "output": {
                "count": "${{ steps.first.output.value }}",
                "items": "${{ steps.many.output.value }}",
                "flags": "${{ steps.last.output.value }}",
                "said": "${{ steps.first.output.message }}",
                "links": [{"title": "Repo", "url": "https://example.com/${{ parameters.name }}"}]
            }
        }
    });
    let failing = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "failing"},
        "spec": {"owner": "team-a", "type": "service",
            "parameters": {"properties": {"token": {"type": "string", "ui:field": "Secret"}}},
            "steps": [
                {"id": "ok", "name": "Ok", "action": "test:echo", "input": {"message": "fine"}},
                {"id": "bad", "name": "Bad", "action": "test:fail", "input": {"why": "because ${{ secrets.token }}"}},
                {"id": "never", "name": "Never", "action": "test:echo", "input": {"message": "unreached"}}
            ]}
    });
    let waiting = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "waiting"},
        "spec": {"owner": "team-a", "type": "service",
            "steps": [
                {"id": "wait", "name": "Wait", "action": "test:wait"},
                {"id": "after", "name": "After", "action": "test:echo", "input": {"message": "unreached"}}
            ]}
    });
    let unknown = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "unknown"},
        "spec": {"owner": "team-a", "type": "service",
            "steps": [{"id": "x", "action": "nope:nothing"}]}
    });
    format!("{flow}\n---\n{failing}\n---\n{waiting}\n---\n{unknown}")
}

struct Fixture {
    dir: tempfile::TempDir,
    portal: Arc<LocalPortal>,
}

async fn fixture(pg: Option<&TestDatabase>, heartbeat_timeout: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("templates.yaml");
    std::fs::write(&file, templates()).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut extra = json!({"scaffolder": {
        "workingDirectory": work,
        "taskHeartbeatTimeoutSeconds": heartbeat_timeout,
    }});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
    }
    let config =
        stagedoor_tests::config(&[("file", &file.display().to_string())], dir.path(), extra);
    let portal = Arc::new(LocalPortal::from_config(config).unwrap());
    portal.refresh(RefreshRequest::default()).await.unwrap();
    portal.register_action(Arc::new(Echo));
    portal.register_action(Arc::new(Wait));
    portal.register_action(Arc::new(Fail));
    Fixture { dir, portal }
}

fn request(template: &str, values: Value, token: Option<&str>) -> TaskRequest {
    TaskRequest {
        template_ref: format!("template:default/{template}"),
        values,
        secrets: token.map(|t| BTreeMap::from([("token".to_string(), t.to_string())])),
        user: Some(TaskUser {
            entity: None,
            user_ref: Some("user:default/alice".into()),
        }),
    }
}

async fn until_final(p: &LocalPortal, id: &str) -> TaskStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task = p.task(id).await.unwrap().expect("the task exists");
        if task.status.is_final() {
            return task.status;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} still {:?}",
            task.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn messages(events: &[stagedoor_core::scaffolder::TaskEvent]) -> Vec<String> {
    events.iter().map(|e| e.message().to_string()).collect()
}

/// Every byte the database holds (SQLite files, WAL included) or, on PostgreSQL, every stored event and
/// spec, must not contain the secret.
async fn assert_secret_not_stored(f: &Fixture, ids: &[String]) {
    for entry in walk(f.dir.path()) {
        if entry.extension().is_some_and(|e| e == "yaml") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret is in {}",
            entry.display()
        );
    }
    for id in ids {
        let events = f.portal.store().task_events(id, None).await.unwrap();
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(SECRET), "{text}");
        let task = f.portal.store().task(id).await.unwrap().unwrap();
        assert!(!serde_json::to_string(&task).unwrap().contains(SECRET));
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn scenario(pg: Option<&TestDatabase>) {
    let f = fixture(pg, 30).await;
    let p = &f.portal;
    p.start_task_workers();

    // The form; an unknown template is NotFound (the apiVersion check is a unit test in core: the catalog
    // does not take v1beta2 templates in the first place).
    let schema = p
        .parameter_schema(&"template:default/flow".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(schema.title, "Flow");
    assert_eq!(schema.steps.len(), 2);
    assert_eq!(schema.steps[1].title, "Fill in template parameters");
    assert!(matches!(
        p.parameter_schema(&"template:default/missing".parse().unwrap())
            .await
            .unwrap_err(),
        PortalError::NotFound(_)
    ));
    let ids: Vec<String> = p
        .scaffolder_actions()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(ids.contains(&"test:echo".to_string()), "{ids:?}");

    // Values that fail the schema of either page.
    match p
        .create_task(request("flow", json!({"name": "BAD", "flags": 3}), None))
        .await
    {
        Err(PortalError::Validation(errors)) => {
            let stacks: Vec<&str> = errors.iter().filter_map(|e| e["stack"].as_str()).collect();
            assert_eq!(errors.len(), 2, "{errors:?}");
            assert!(
                stacks.iter().any(|s| s.starts_with("instance.name")),
                "{stacks:?}"
            );
            assert!(
                stacks.iter().any(|s| s.starts_with("instance.flags")),
                "{stacks:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // The happy path.
    let values = json!({"name": "demo", "count": 3, "items": ["a", {"b": 1}], "skip": false, "flags": {"x": true}});
    let id = p
        .create_task(request("flow", values.clone(), Some(SECRET)))
        .await
        .unwrap();
    assert_eq!(until_final(p, &id).await, TaskStatus::Completed);
    let task = p.task(&id).await.unwrap().unwrap();
    assert_eq!(task.spec.parameters, values, "values as submitted");
    assert_eq!(task.spec.steps[2].name, "test:echo");
    assert_eq!(task.created_by.as_deref(), Some("user:default/alice"));
    assert_eq!(task.spec.template_info.entity_ref, "template:default/flow");
    assert!(task
        .spec
        .template_info
        .base_url
        .as_deref()
        .is_some_and(|u| u.starts_with("file:///") && u.ends_with('/')));
    let events = p.task_events(&id, None, Duration::ZERO).await.unwrap();
    let logs = messages(&events);
    let expected_order = [
        "Beginning step First",
        "echo: hello demo ***",
        "Finished step First",
        "Skipping step maybe because its if condition was false",
        "Beginning step test:echo",
        "echo: item 0",
        "echo: item 1",
        "Finished step test:echo",
        "Beginning step Last",
        "echo: got 3",
        "Finished step Last",
        "Run completed with status: completed",
    ];
    let mut at = 0;
    for want in expected_order {
        let found = logs[at..].iter().position(|m| m == want);
        assert!(found.is_some(), "{want:?} missing after {at} in {logs:#?}");
        at += found.unwrap_or(0) + 1;
    }
    let skipped = events
        .iter()
        .find(|e| e.message().starts_with("Skipping"))
        .unwrap();
    assert_eq!(skipped.step_id(), Some("maybe"));
    assert_eq!(skipped.body["status"], "skipped");
    let begin = events
        .iter()
        .find(|e| e.message() == "Beginning step First")
        .unwrap();
    assert_eq!(begin.body["status"], "processing");
    let completion = events.last().unwrap();
    assert_eq!(completion.event_type, TaskEventType::Completion);
    // Type preservation: numbers, arrays and objects survive the templates; the output holds no secret.
    assert_eq!(
        completion.body["output"],
        json!({
            "count": 3,
            "items": ["a", {"b": 1}],
            "flags": {"x": true},
            "said": "hello demo ***",
            "links": [{"title": "Repo", "url": "https://example.com/demo"}]
        })
    );
    // Events after N hold only later ones, plus the completion always.
    let middle = events[events.len() / 2].id;
    let later = p
        .task_events(&id, Some(middle), Duration::ZERO)
        .await
        .unwrap();
    assert!(later.iter().all(|e| e.id > middle));
    let last = completion.id;
    let after_all = p
        .task_events(&id, Some(last + 100), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(after_all.len(), 1);
    assert_eq!(after_all[0].event_type, TaskEventType::Completion);
    // The workspace is gone.
    assert!(!f
        .dir
        .path()
        .join("work")
        .join(format!("stagedoor-task-{id}"))
        .exists());

    // Failure: the failing step's error, the completion's error, later steps never run.
    let failed = p
        .create_task(request("failing", json!({}), Some(SECRET)))
        .await
        .unwrap();
    assert_eq!(until_final(p, &failed).await, TaskStatus::Failed);
    let events = p.task_events(&failed, None, Duration::ZERO).await.unwrap();
    let logs = messages(&events);
    assert!(
        logs.contains(&"Error: boom because ***".to_string()),
        "{logs:#?}"
    );
    assert!(!logs.iter().any(|m| m.contains("Never")), "{logs:#?}");
    let failure = events
        .iter()
        .find(|e| e.body["status"] == "failed")
        .unwrap();
    assert_eq!(failure.step_id(), Some("bad"));
    let completion = events.last().unwrap();
    assert_eq!(
        completion.body,
        json!({"message": "Run completed with status: failed",
               "error": {"name": "Error", "message": "boom because ***"}})
    );

    // An action that is not registered fails the task.
    let unknown = p
        .create_task(request("unknown", json!({}), None))
        .await
        .unwrap();
    assert_eq!(until_final(p, &unknown).await, TaskStatus::Failed);
    let events = p.task_events(&unknown, None, Duration::ZERO).await.unwrap();
    assert_eq!(
        events.last().unwrap().body["error"]["name"],
        "NotFoundError"
    );

    // Cancel during a waiting step.
    let waiting = p
        .create_task(request("waiting", json!({}), None))
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let events = p
            .task_events(&waiting, None, Duration::from_secs(5))
            .await
            .unwrap();
        if messages(&events).contains(&"waiting".to_string()) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never started waiting"
        );
    }
    assert_eq!(
        p.cancel_task(&waiting).await.unwrap(),
        TaskStatus::Processing
    );
    assert_eq!(until_final(p, &waiting).await, TaskStatus::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(20));
    let events = p.task_events(&waiting, None, Duration::ZERO).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.event_type == TaskEventType::Cancelled));
    assert!(!messages(&events).contains(&"Beginning step After".to_string()));
    assert_eq!(
        events.last().unwrap().body["message"],
        "Run completed with status: cancelled"
    );
    // Cancelling a finished task changes nothing.
    assert_eq!(p.cancel_task(&id).await.unwrap(), TaskStatus::Completed);
    assert!(matches!(
        p.cancel_task("no-such-task").await,
        Err(PortalError::NotFound(_))
    ));

    // A long poll returns as soon as there is an event.
    let polled = p
        .create_task(request("flow", json!({"name": "poll"}), None))
        .await
        .unwrap();
    let events = p
        .task_events(&polled, None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!events.is_empty());
    until_final(p, &polled).await;

    // List filters, order, paging and totals.
    let all = p.list_tasks(TaskQuery::default()).await.unwrap();
    assert_eq!(all.total_tasks, Some(5));
    let failed_only = p
        .list_tasks(TaskQuery {
            status: vec![TaskStatus::Failed],
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed_only.total_tasks, Some(2));
    assert!(failed_only
        .tasks
        .iter()
        .all(|t| t.status == TaskStatus::Failed));
    let page = p
        .list_tasks(TaskQuery {
            created_by: Some("user:default/alice".into()),
            limit: Some(2),
            offset: Some(1),
            order: Some("asc:created_at".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_tasks, Some(5));
    assert_eq!(page.tasks.len(), 2);
    assert_eq!(page.tasks[0].id, failed);
    let nobody = p
        .list_tasks(TaskQuery {
            created_by: Some("user:default/bob".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(nobody.total_tasks, Some(0));

    assert_secret_not_stored(&f, &[id, failed]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_on_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_on_postgres() {
    let Some(db) = TestDatabase::create("tasks_run_on_postgres") else {
        return;
    };
    scenario(Some(&db)).await;
}

/// A task left `processing` by a killed process: failed at the next start, with a message naming why.
async fn recovery(pg: Option<&TestDatabase>) {
    let f = fixture(pg, 2).await;
    let store = f.portal.store();
    let spec = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "parameters": {},
        "steps": [],
        "output": {},
        "templateInfo": {"entityRef": "template:default/flow"},
    });
    for id in ["dead-pid", "silent"] {
        store
            .create_task(NewTask {
                id: id.into(),
                spec: spec.clone(),
                created_by: None,
            })
            .await
            .unwrap();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    // A pid above Linux's pid_max: that process cannot exist.
    let dead = format!("{host}:4999999:0000");
    assert_eq!(
        store.claim_task(&dead).await.unwrap().unwrap().id,
        "dead-pid"
    );
    // Another replica that stopped heartbeating.
    let silent = "other-host:1:1111";
    assert_eq!(
        store.claim_task(silent).await.unwrap().unwrap().id,
        "silent"
    );

    // The dead process is noticed at once, before any timeout.
    let failed = f.portal.scaffolder().sweep_stale().await;
    assert_eq!(failed, vec!["dead-pid".to_string()]);
    let task = store.task("dead-pid").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    let events = store.task_events("dead-pid", None).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(
        events[0].message().contains("pid 4999999")
            && events[0].message().contains("no longer running"),
        "{}",
        events[0].message()
    );
    assert_eq!(
        store.task("silent").await.unwrap().unwrap().status,
        TaskStatus::Processing
    );

    // After the heartbeat timeout, the workers' start-up sweep fails the silent one.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    f.portal.start_task_workers();
    assert_eq!(until_final(&f.portal, "silent").await, TaskStatus::Failed);
    let events = store.task_events("silent", None).await.unwrap();
    assert!(
        events[0]
            .message()
            .starts_with("This task was marked as stale as it exceeded its timeout"),
        "{}",
        events[0].message()
    );
    assert!(events[0].message().contains(silent));
    // A live worker's heartbeat keeps its task.
    store
        .create_task(NewTask {
            id: "alive".into(),
            spec,
            created_by: None,
        })
        .await
        .unwrap();
    // The portal's workers may claim it; either way it is not marked stale while heartbeating.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let task = store.task("alive").await.unwrap().unwrap();
    assert_ne!(task.status, TaskStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_tasks_fail_on_sqlite() {
    recovery(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_tasks_fail_on_postgres() {
    let Some(db) = TestDatabase::create("killed_workers_tasks_fail_on_postgres") else {
        return;
    };
    recovery(Some(&db)).await;
}

/// Swaps the `publish` step for `publish:file` into the directory named by parameter `name_param` and
/// drops `register` (stagedoor has no GitHub publisher; publishing there is out of reach of tests).
fn publish_to_files(template: &mut Value, name_param: &str) {
    let steps = template["spec"]["steps"].as_array_mut().unwrap();
    steps.retain(|s| s["id"] != "register");
    for step in steps.iter_mut() {
        if step["id"] == "publish" {
            *step = json!({"id": "publish", "name": "Publish", "action": "publish:file",
                           "input": {"path": format!("${{{{ parameters.{name_param} }}}}")}});
        }
    }
    template["spec"]["output"] =
        json!({"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}]});
}

/// A copy of a fixture template directory whose `publish` step is swapped for `publish:file` into
/// `<dir>/published/<name>` and whose `register` step is dropped, in a catalog on SQLite or PostgreSQL.
async fn real_template(
    pg: Option<&TestDatabase>,
    fixture_dir: &str,
    name_param: &str,
) -> (tempfile::TempDir, Arc<LocalPortal>) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("template");
    stagedoor_tests::copy_dir(
        &stagedoor_tests::fixtures()
            .join("templates")
            .join(fixture_dir),
        &copy,
    );
    let file = copy.join("template.yaml");
    let mut template: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    publish_to_files(&mut template, name_param);
    std::fs::write(&file, serde_yaml::to_string(&template).unwrap()).unwrap();
    let published = dir.path().join("published");
    std::fs::create_dir_all(&published).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut extra = json!({"scaffolder": {
        "workingDirectory": work,
        "publish": {"file": {"allowedDirectories": [published]}},
    }});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
    }
    let config =
        stagedoor_tests::config(&[("file", &file.display().to_string())], dir.path(), extra);
    let portal = Arc::new(LocalPortal::from_config(config).unwrap());
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    portal.start_task_workers();
    (dir, portal)
}

async fn completed(p: &LocalPortal, id: &str) -> Value {
    let status = until_final(p, id).await;
    let events = p.task_events(id, None, Duration::ZERO).await.unwrap();
    assert_eq!(status, TaskStatus::Completed, "{:#?}", messages(&events));
    events.last().unwrap().body.clone()
}

async fn gin_template(pg: Option<&TestDatabase>) {
    let (dir, p) = real_template(
        pg,
        "sample-templates/local-template/gin-golan-template",
        "component_id",
    )
    .await;
    let id = p
        .create_task(request(
            "golang-template",
            json!({"component_id": "orders", "module": "example.com/orders", "go_version": 1.22,
                   "owner": "group:default/team-a", "port": ":8080", "description": "Order service",
                   "repoUrl": "github.com?owner=acme&repo=orders"}),
            None,
        ))
        .await
        .unwrap();
    let completion = completed(&p, &id).await;
    let out = dir.path().join("published/orders");
    let go_mod = std::fs::read_to_string(out.join("go.mod")).unwrap();
    assert!(go_mod.contains("module example.com/orders"), "{go_mod}");
    assert!(go_mod.contains("go 1.22"), "{go_mod}");
    let catalog_info = std::fs::read_to_string(out.join("catalog-info.yaml")).unwrap();
    assert!(catalog_info.contains("orders"), "{catalog_info}");
    assert!(!catalog_info.contains("${{"), "{catalog_info}");
    let url = completion["output"]["links"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("file://") && url.trim_end_matches('/').ends_with("/published/orders"),
        "{url}"
    );
}

async fn docs_template(pg: Option<&TestDatabase>) {
    let (dir, p) = real_template(
        pg,
        "software-templates/scaffolder-templates/docs-template",
        "name",
    )
    .await;
    let id = p
        .create_task(request(
            "docs-template",
            json!({"name": "handbook", "description": "The \"team\" handbook", "owner": "group:default/team-a",
                   "repoUrl": "github.com?owner=acme&repo=handbook"}),
            None,
        ))
        .await
        .unwrap();
    completed(&p, &id).await;
    let out = dir.path().join("published/handbook");
    let info: Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("catalog-info.yaml")).unwrap())
            .unwrap();
    assert_eq!(info["metadata"]["name"], "handbook");
    assert_eq!(info["metadata"]["description"], "The \"team\" handbook");
    assert_eq!(
        info["metadata"]["annotations"]["github.com/project-slug"],
        "acme/handbook"
    );
    assert_eq!(info["spec"]["owner"], "group:default/team-a");
    assert!(out.join("mkdocs.yml").exists());
    assert!(out.join("docs").is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_templates_run_on_sqlite() {
    gin_template(None).await;
    docs_template(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_templates_run_on_postgres() {
    let Some(db) = TestDatabase::create("fixture_templates_run_on_postgres") else {
        return;
    };
    gin_template(Some(&db)).await;
    let Some(db) = TestDatabase::create("fixture_templates_run_on_postgres") else {
        return;
    };
    docs_template(Some(&db)).await;
}

/// A dry run of the gin template as sent inline: the skeleton from `directoryContents`, the files the steps
/// produced, publishing skipped; a path leaving the template directory is refused with 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_returns_files_and_log() {
    let f = fixture(None, 30).await;
    f.portal.start_task_workers();
    let root = stagedoor_tests::fixtures()
        .join("templates/sample-templates/local-template/gin-golan-template");
    let mut template: Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("template.yaml")).unwrap())
            .unwrap();
    publish_to_files(&mut template, "component_id");
    let b64 = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    let files: Vec<stagedoor_core::scaffolder::DryRunInputFile> =
        ["go.mod", "readme.md", "catalog-info.yaml"]
            .iter()
            .map(|name| stagedoor_core::scaffolder::DryRunInputFile {
                path: format!("skeleton/{name}"),
                base64_content: b64(
                    &std::fs::read_to_string(root.join("skeleton").join(name)).unwrap()
                ),
            })
            .collect();
    let values = json!({"component_id": "orders", "module": "example.com/orders", "go_version": 1.23,
                        "owner": "group:default/team-a", "repoUrl": "github.com?owner=acme&repo=orders"});
    let result = f
        .portal
        .dry_run(stagedoor_core::scaffolder::DryRunRequest {
            template: template.clone(),
            values: values.clone(),
            secrets: None,
            directory_contents: files.clone(),
            user: None,
        })
        .await
        .unwrap();
    let paths: Vec<&str> = result
        .directory_contents
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(paths, ["catalog-info.yaml", "go.mod", "readme.md"]);
    let logs = stagedoor_core::scaffolder::dryrun::log_messages(&result);
    assert!(
        logs.contains(&"Beginning step Fetch Skeleton + Template".to_string()),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|m| m.contains("does not support dry-run")),
        "{logs:#?}"
    );
    assert_eq!(result.steps.len(), 2);

    let mut escaping = files;
    escaping.push(stagedoor_core::scaffolder::DryRunInputFile {
        path: "../outside.txt".into(),
        base64_content: b64("x"),
    });
    let e = f
        .portal
        .dry_run(stagedoor_core::scaffolder::DryRunRequest {
            template,
            values,
            secrets: None,
            directory_contents: escaping,
            user: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.status_code(), 403, "{e}");
}
