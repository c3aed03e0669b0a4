//! The scaffolder routes under `/api/scaffolder` over a LocalPortal on SQLite: every route's status codes and
//! JSON shapes, the credentials they take, 400 `{errors}` for values that fail the template's schema, 404s,
//! malformed bodies, the event stream read raw off a socket and through `HttpPortal`, long-poll events,
//! cancel and dry runs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, Method, StatusCode};
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::scaffolder::TaskEventType;
use stagedoor_core::LocalPortal;
use stagedoor_server::api::{router, ApiSettings};
use stagedoor_server::client::HttpPortal;

/// A token whose subject names the user entity `jane`.
const USER_TOKEN: &str = "jane-user-token-0001";
/// A token restricted to starting scaffolder tasks.
const CREATE_TOKEN: &str = "scaffolder-create-only";
const SECRET: &str = "s3cret-value-never-stored";

/// `hello`: two pages (the first with a required, patterned `name`), one `debug:log` step and a text
/// output.
fn hello_template() -> Value {
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
                {"properties": {"greeting": {"type": "string", "default": "Hello"}}}
            ],
            "steps": [{"id": "greet", "name": "Greet", "action": "debug:log",
                       "input": {"message": "${{ parameters.name }} says hi"}}],
            "output": {"text": [{"title": "Greeted", "content": "${{ parameters.name }}"}]}
        }
    })
}

/// The catalog file: `hello`, `slow` (a 20 s `debug:wait`, to cancel) and the user `jane`. JSON documents
/// are YAML documents.
fn templates() -> String {
    let slow = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "slow"},
        "spec": {
            "owner": "team-a",
            "type": "service",
            "parameters": {"properties": {}},
            "steps": [{"id": "wait", "name": "Wait", "action": "debug:wait", "input": {"seconds": 20}}]
        }
    });
    let jane = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "jane"},
        "spec": {"memberOf": ["team-a"]}
    });
    [hello_template(), slow, jane]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The common catalog plus the templates, a user token, a token that may only start tasks, and a
/// scaffolder working directory, on SQLite in a temporary directory.
async fn scaffolder_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    std::fs::write(dir.path().join("templates.yaml"), templates()).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let extra = json!({
        "backend": {"auth": {"externalAccess": [
            {"type": "static", "options": {"token": TOKEN, "subject": "tests"}},
            {"type": "static", "options": {"token": READ_TOKEN, "subject": "reader"},
             "accessRestrictions": [{"plugin": "catalog", "permissionAttribute": {"action": "read"}}]},
            {"type": "static", "options": {"token": USER_TOKEN, "subject": "user:default/jane"}},
            {"type": "static", "options": {"token": CREATE_TOKEN, "subject": "ci"},
             "accessRestrictions": [{"plugin": "scaffolder", "permission": "scaffolder.task.create"}]}
        ]}},
        "catalog": {
            "rules": [{"allow": ["Component", "API", "Group", "User", "Location", "System", "Template"]}],
            "locations": [
                {"type": "file", "target": dir.path().join("catalog.yaml")},
                {"type": "file", "target": dir.path().join("templates.yaml")}
            ]
        },
        "scaffolder": {"workingDirectory": work}
    });
    let config = config(dir.path(), extra);
    let settings = ApiSettings::from_config(&config).unwrap();
    let portal = Arc::new(LocalPortal::from_config(config).unwrap());
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    portal.start_task_workers();
    let app = router(portal.clone(), settings);
    Fixture { dir, portal, app }
}

async fn serve(f: &Fixture) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = f.app.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn create(f: &Fixture, token: &str, body: Value) -> Reply {
    call_as(
        &f.app,
        Some(token),
        Method::POST,
        "/api/scaffolder/v2/tasks",
        Some(body),
    )
    .await
}

async fn start_hello(f: &Fixture, token: &str) -> String {
    let r = create(
        f,
        token,
        json!({"templateRef": "template:default/hello", "values": {"name": "ada"},
               "secrets": {"apiKey": SECRET}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

/// The task once it has ended, polling its route.
async fn finished(f: &Fixture, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = call(
            &f.app,
            Method::GET,
            &format!("/api/scaffolder/v2/tasks/{id}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if matches!(
            r.body["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} never ended: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(events: &Value) -> Vec<i64> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn parameter_schema_and_actions() {
    let f = scaffolder_fixture().await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/scaffolder/v2/templates/default/template/hello/parameter-schema",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Hello");
    assert_eq!(r.body["description"], "Says hello");
    assert_eq!(r.body["steps"][0]["title"], "Who");
    assert_eq!(r.body["steps"][1]["title"], "Fill in template parameters");
    assert_eq!(
        r.body["steps"][0]["schema"]["properties"]["name"]["ui:autofocus"],
        true
    );
    let r = call(
        &f.app,
        Method::GET,
        "/api/scaffolder/v2/templates/default/template/nope/parameter-schema",
        None,
    )
    .await;
    r.error(404, "NotFoundError");

    let r = call(&f.app, Method::GET, "/api/scaffolder/v2/actions", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let actions = r.body.as_array().unwrap();
    let log = actions
        .iter()
        .find(|a| a["id"] == "debug:log")
        .expect("debug:log is listed");
    assert!(log["schema"]["input"].is_object(), "{log}");
    assert!(actions.iter().any(|a| a["id"] == "debug:wait"));
}

#[tokio::test]
async fn credentials_are_required_and_restrictions_apply() {
    let f = scaffolder_fixture().await;
    for (method, uri) in [
        (Method::GET, "/api/scaffolder/v2/actions"),
        (
            Method::GET,
            "/api/scaffolder/v2/templates/default/template/hello/parameter-schema",
        ),
        (Method::GET, "/api/scaffolder/v2/tasks"),
        (Method::POST, "/api/scaffolder/v2/tasks"),
        (Method::GET, "/api/scaffolder/v2/tasks/x"),
        (Method::POST, "/api/scaffolder/v2/tasks/x/cancel"),
        (Method::GET, "/api/scaffolder/v2/tasks/x/events"),
        (Method::GET, "/api/scaffolder/v2/tasks/x/eventstream"),
        (Method::POST, "/api/scaffolder/v2/dry-run"),
    ] {
        let r = call_as(&f.app, None, method.clone(), uri, None).await;
        r.error(401, "AuthenticationError");
        let r = call_as(&f.app, Some("not-a-known-token"), method, uri, None).await;
        r.error(401, "AuthenticationError");
    }
    // A catalog reader reads templates and tasks but starts nothing.
    let r = call_as(
        &f.app,
        Some(READ_TOKEN),
        Method::GET,
        "/api/scaffolder/v2/actions",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let hello = json!({"templateRef": "template:default/hello", "values": {"name": "ada"}});
    let m = create(&f, READ_TOKEN, hello.clone())
        .await
        .error(403, "NotAllowedError");
    assert!(m.contains("scaffolder.task.create"), "{m}");
    let r = call_as(
        &f.app,
        Some(READ_TOKEN),
        Method::POST,
        "/api/scaffolder/v2/dry-run",
        Some(json!({"template": {}, "values": {}})),
    )
    .await;
    r.error(403, "NotAllowedError");
    // A token allowed only to start tasks does that, and nothing else.
    let r = create(&f, CREATE_TOKEN, hello).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = call_as(
        &f.app,
        Some(CREATE_TOKEN),
        Method::GET,
        "/api/scaffolder/v2/tasks",
        None,
    )
    .await;
    r.error(403, "NotAllowedError");
}

#[tokio::test]
async fn values_are_validated_and_bodies_checked() {
    let f = scaffolder_fixture().await;
    // Values failing the schema: Backstage's bare 400 {errors}.
    for values in [json!({}), json!({"name": "NOT-LOWER"}), json!({"name": 3})] {
        let r = create(
            &f,
            TOKEN,
            json!({"templateRef": "template:default/hello", "values": values}),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        let body = r.body.as_object().unwrap();
        assert_eq!(body.keys().collect::<Vec<_>>(), ["errors"], "{}", r.text);
        assert!(!body["errors"].as_array().unwrap().is_empty(), "{}", r.text);
    }
    // A templateRef that is not one, or names no template.
    for bad in [json!(""), json!(7), json!("component:default/svc-a")] {
        let m = create(&f, TOKEN, json!({"templateRef": bad, "values": {}}))
            .await
            .error(400, "InputError");
        assert!(m.contains("templateRef"), "{bad}: {m}");
    }
    let m = create(&f, TOKEN, json!({"values": {}}))
        .await
        .error(400, "InputError");
    assert!(m.contains("templateRef"), "{m}");
    create(
        &f,
        TOKEN,
        json!({"templateRef": "template:default/nope", "values": {}}),
    )
    .await
    .error(404, "NotFoundError");
    // Wrong types name their field.
    for (body, field) in [
        (
            json!({"templateRef": "template:default/hello", "values": [1]}),
            "values",
        ),
        (
            json!({"templateRef": "template:default/hello", "values": {"name": "a"}, "secrets": {"k": 1}}),
            "secrets.k",
        ),
        (
            json!({"templateRef": "template:default/hello", "values": {"name": "a"}, "secrets": "x"}),
            "secrets",
        ),
    ] {
        let m = create(&f, TOKEN, body).await.error(400, "InputError");
        assert!(m.contains(field), "{field}: {m}");
    }
    // Not JSON, not an object, no content type, too big: 4xx, never 5xx.
    for (ct, text) in [
        (Some("application/json"), "{"),
        (Some("application/json"), "[1]"),
        (Some("application/json"), ""),
        (None, "{}"),
        (Some("text/plain"), "{}"),
    ] {
        let r = call_raw(&f.app, Method::POST, "/api/scaffolder/v2/tasks", ct, text).await;
        r.error(400, "InputError");
        let r = call_raw(&f.app, Method::POST, "/api/scaffolder/v2/dry-run", ct, text).await;
        r.error(400, "InputError");
    }
    let huge = format!(
        r#"{{"templateRef": "template:default/hello", "values": {{"name": "{}"}}}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let r = call_raw(
        &f.app,
        Method::POST,
        "/api/scaffolder/v2/tasks",
        Some("application/json"),
        &huge,
    )
    .await;
    r.error(413, "PayloadTooLargeError");
}

#[tokio::test]
async fn a_task_runs_and_is_listed_with_its_events() {
    let f = scaffolder_fixture().await;
    let id = start_hello(&f, USER_TOKEN).await;
    let task = finished(&f, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["id"], id.as_str());
    assert_eq!(task["spec"]["parameters"], json!({"name": "ada"}));
    assert_eq!(task["spec"]["user"]["ref"], "user:default/jane");
    assert_eq!(task["spec"]["user"]["entity"]["metadata"]["name"], "jane");
    assert_eq!(task["createdBy"], "user:default/jane");
    assert_eq!(
        task["spec"]["templateInfo"]["entityRef"],
        "template:default/hello"
    );
    assert!(task["createdAt"].is_string());
    assert!(!task.to_string().contains(SECRET));

    // Events: ids increasing, the step's log, the completion last with the output.
    let events_uri = format!("/api/scaffolder/v2/tasks/{id}/events");
    let r = call(&f.app, Method::GET, &events_uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let all = ids(&r.body);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    let events = r.body.as_array().unwrap();
    assert!(events.iter().all(|e| e["taskId"] == id.as_str()));
    assert!(
        events.iter().any(|e| e["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ada says hi"))),
        "{}",
        r.text
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "completion", "{last}");
    assert_eq!(last["body"]["output"]["text"][0]["content"], "ada");
    assert!(!r.text.contains(SECRET));
    // After the last id: only the completion, which is always listed.
    let after = all[all.len() - 2];
    let r = call(
        &f.app,
        Method::GET,
        &format!("{events_uri}?after={after}"),
        None,
    )
    .await;
    assert_eq!(ids(&r.body), [*all.last().unwrap()], "{}", r.text);
    let m = call(&f.app, Method::GET, &format!("{events_uri}?after=x"), None)
        .await
        .error(400, "InputError");
    assert!(m.contains("after"), "{m}");

    // The list and its filters.
    let list = |q: &str| {
        let uri = format!("/api/scaffolder/v2/tasks{q}");
        let app = f.app.clone();
        async move { call(&app, Method::GET, &uri, None).await }
    };
    let other = start_hello(&f, TOKEN).await;
    finished(&f, &other).await;
    let r = list("").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalTasks"], 2, "{}", r.text);
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 2);
    let r = list("?createdBy=user%3Adefault%2Fjane").await;
    let tasks = r.body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{}", r.text);
    assert_eq!(tasks[0]["id"], id.as_str());
    let r = list("?status=completed&status=failed").await;
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 2, "{}", r.text);
    let r = list("?status=open").await;
    assert!(r.body["tasks"].as_array().unwrap().is_empty(), "{}", r.text);
    let r = list("?limit=1&order=desc:created_at").await;
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["totalTasks"], 2, "{}", r.text);
    for (q, named) in [
        ("?limit=ten", "limit"),
        ("?offset=-2", "offset"),
        ("?status=done", "status"),
    ] {
        let m = list(q).await.error(400, "InputError");
        assert!(m.contains(named), "{q}: {m}");
    }
}

#[tokio::test]
async fn unknown_tasks_are_404() {
    let f = scaffolder_fixture().await;
    for (method, uri) in [
        (Method::GET, "/api/scaffolder/v2/tasks/no-such-task"),
        (Method::POST, "/api/scaffolder/v2/tasks/no-such-task/cancel"),
        (Method::GET, "/api/scaffolder/v2/tasks/no-such-task/events"),
        (
            Method::GET,
            "/api/scaffolder/v2/tasks/no-such-task/eventstream",
        ),
    ] {
        let m = call(&f.app, method, uri, None)
            .await
            .error(404, "NotFoundError");
        assert!(m.contains("no-such-task"), "{m}");
    }
}

#[tokio::test]
async fn a_running_task_is_cancelled() {
    let f = scaffolder_fixture().await;
    let r = create(
        &f,
        TOKEN,
        json!({"templateRef": "template:default/slow", "values": {}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    let r = call(
        &f.app,
        Method::POST,
        &format!("/api/scaffolder/v2/tasks/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        matches!(
            r.body["status"].as_str(),
            Some("open" | "processing" | "cancelled")
        ),
        "{}",
        r.text
    );
    let task = finished(&f, &id).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "debug:wait did not stop on cancel"
    );
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/scaffolder/v2/tasks/{id}/events"),
        None,
    )
    .await;
    let types: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"cancelled"), "{types:?}");
    assert_eq!(types.last(), Some(&"completion"), "{types:?}");
}

/// The raw event stream: `event: <type>` and `data: <event JSON>` blocks, ids increasing, ending after the
/// completion; `after` leaves out what was seen.
#[tokio::test]
async fn the_event_stream_is_server_sent_events() {
    let f = scaffolder_fixture().await;
    let base = serve(&f).await;
    let id = start_hello(&f, TOKEN).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/scaffolder/v2/tasks/{id}/eventstream");
    let read = |after: Option<i64>| {
        let mut request = client.get(&url).bearer_auth(TOKEN);
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        async move {
            let response = tokio::time::timeout(Duration::from_secs(30), request.send())
                .await
                .expect("the stream answers")
                .unwrap();
            let headers = response.headers().clone();
            // The body ends only because the server ends the stream after the completion.
            let text = tokio::time::timeout(Duration::from_secs(30), response.text())
                .await
                .expect("the stream ends after the completion")
                .unwrap();
            (headers, text)
        }
    };
    let (headers, text) = read(None).await;
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let lines: Vec<&str> = block.lines().filter(|l| !l.starts_with(':')).collect();
        if lines.is_empty() {
            continue; // a keep-alive comment
        }
        let name = lines[0].strip_prefix("event: ").expect(block);
        let data = lines[1].strip_prefix("data: ").expect(block);
        assert_eq!(lines.len(), 2, "{block}");
        let event: Value = serde_json::from_str(data).unwrap();
        assert_eq!(event["type"], name, "{block}");
        events.push(event);
    }
    let all = ids(&Value::Array(events.clone()));
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    assert_eq!(events.last().unwrap()["type"], "completion", "{text}");
    assert!(events.len() >= 3, "{text}");
    assert!(!text.contains(SECRET));

    let (_, again) = read(Some(all[0])).await;
    let later: Vec<i64> = again
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| {
            serde_json::from_str::<Value>(d).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(later, all[1..], "{again}");

    // The same through the client.
    let portal = HttpPortal::new(&base, Some(TOKEN.into())).unwrap();
    let mut stream = portal.task_event_stream(&id, None);
    let mut got = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(30), stream.recv())
        .await
        .expect("events arrive")
    {
        got.push(event.unwrap());
    }
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), all);
    assert_eq!(got.last().unwrap().event_type, TaskEventType::Completion);
    let mut missing = portal.task_event_stream("no-such-task", None);
    let e = missing.recv().await.unwrap().unwrap_err();
    assert_eq!(e.name(), "NotFoundError", "{e:?}");
    assert!(missing.recv().await.is_none());
}

/// A client leaving a live stream stops it; the server goes on serving.
#[tokio::test]
async fn a_client_leaving_the_stream_is_fine() {
    let f = scaffolder_fixture().await;
    let base = serve(&f).await;
    let portal = HttpPortal::new(&base, Some(TOKEN.into())).unwrap();
    let id = portal
        .create_task(stagedoor_core::scaffolder::TaskRequest {
            template_ref: "template:default/slow".into(),
            values: json!({}),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut stream = portal.task_event_stream(&id, None);
    let first = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("the first event arrives")
        .unwrap()
        .unwrap();
    assert_eq!(first.task_id, id);
    drop(stream);
    // Long poll with a short wait while the task still runs: nothing new, answered quickly.
    let started = Instant::now();
    let events = portal
        .task_events(&id, Some(i64::MAX - 1), Duration::from_millis(200))
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    portal.cancel_task(&id).await.unwrap();
    let task = finished(&f, &id).await;
    assert_eq!(task["status"], "cancelled");
}

#[tokio::test]
async fn dry_runs_answer_files_log_and_output() {
    let f = scaffolder_fixture().await;
    // `hello` plus a step copying the sent `skeleton/` into the workspace.
    let mut template = hello_template();
    template["spec"]["steps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "fetch", "action": "fetch:plain",
                     "input": {"url": "./skeleton", "targetPath": "out"}}));
    let content = base64::engine::general_purpose::STANDARD.encode("hi there");
    let r = call(
        &f.app,
        Method::POST,
        "/api/scaffolder/v2/dry-run",
        Some(json!({
            "template": template,
            "values": {"name": "ada"},
            "secrets": {"apiKey": SECRET},
            "directoryContents": [{"path": "skeleton/notes/a.txt", "base64Content": content}]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["log"].as_array().is_some_and(|l| !l.is_empty()),
        "{}",
        r.text
    );
    assert!(r.body["log"][0]["body"].is_object(), "{}", r.text);
    assert!(r.text.contains("ada says hi"), "{}", r.text);
    let files = r.body["directoryContents"].as_array().unwrap();
    let a = files
        .iter()
        .find(|f| f["path"] == "out/notes/a.txt")
        .unwrap_or_else(|| panic!("the fetched file is in the answer: {}", r.text));
    assert_eq!(a["base64Content"], content.as_str());
    assert_eq!(a["executable"], false);
    assert_eq!(r.body["output"]["text"][0]["content"], "ada");
    assert_eq!(r.body["steps"][0]["id"], "greet");
    assert_eq!(r.body["steps"][1]["id"], "fetch");
    assert!(!r.text.contains(SECRET));

    // Values failing the schema, paths leaving the workspace, bad fields.
    let r = call(
        &f.app,
        Method::POST,
        "/api/scaffolder/v2/dry-run",
        Some(json!({"template": template, "values": {}, "directoryContents": []})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.body["errors"].is_array(), "{}", r.text);
    for path in ["../escape.txt", "/etc/passwd", "a/../../b"] {
        let r = call(
            &f.app,
            Method::POST,
            "/api/scaffolder/v2/dry-run",
            Some(json!({"template": template, "values": {"name": "ada"},
                        "directoryContents": [{"path": path, "base64Content": content}]})),
        )
        .await;
        r.error(403, "NotAllowedError");
    }
    for (body, field) in [
        (json!({"values": {}}), "template"),
        (json!({"template": "x", "values": {}}), "template"),
        (
            json!({"template": template, "values": {"name": "ada"}, "directoryContents": {}}),
            "directoryContents",
        ),
        (
            json!({"template": template, "values": {"name": "ada"},
                   "directoryContents": [{"path": "a", "base64Content": "@@@"}]}),
            "directoryContents[0].base64Content",
        ),
    ] {
        let m = call(
            &f.app,
            Method::POST,
            "/api/scaffolder/v2/dry-run",
            Some(body),
        )
        .await
        .error(400, "InputError");
        assert!(m.contains(field), "{field}: {m}");
    }
}
