//! Shared setup for the API tests: a small catalog in a temp directory, a LocalPortal over SQLite there, and
//! a request helper driving the router without a socket.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use stagedoor_core::config::{loader, Config};
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::LocalPortal;
use stagedoor_server::api::{router, ApiSettings};
use tower::ServiceExt as _;

pub const TOKEN: &str = "test-token-0123456789";
pub const READ_TOKEN: &str = "read-only-token-42";

pub const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-a, tags: [java]}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-b}
spec: {type: service, lifecycle: experimental, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-c}
spec: {type: website, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-d}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: api-a}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
"#;

pub const EXTRA: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: extra-svc}
spec: {type: service, lifecycle: production, owner: team-a}
"#;

/// Number of entities in [`CATALOG`].
pub const CATALOG_SIZE: usize = 6;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub portal: Arc<LocalPortal>,
    pub app: Router,
}

impl Fixture {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn config(dir: &Path, extra: Value) -> Config {
    let mut root = json!({
        "backend": {
            "database": {"client": "better-sqlite3", "connection": {"directory": dir}},
            "auth": {"externalAccess": [
                {"type": "static", "options": {"token": TOKEN, "subject": "tests"}},
                {"type": "static", "options": {"token": READ_TOKEN, "subject": "reader"},
                 "accessRestrictions": [{"plugin": "catalog", "permissionAttribute": {"action": "read"}}]}
            ]}
        },
        "catalog": {
            "rules": [{"allow": ["Component", "API", "Group", "User", "Location", "System"]}],
            "locations": [{"type": "file", "target": dir.join("catalog.yaml")}],
            "allowedLocationTypes": ["file", "url"],
            "orphanStrategy": "delete",
            "processingInterval": false
        }
    });
    loader::merge(&mut root, extra);
    Config::from_value(root, dir.to_path_buf())
}

pub async fn fixture_with(extra: Value, tweak: impl FnOnce(&mut ApiSettings)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    std::fs::write(dir.path().join("extra.yaml"), EXTRA).unwrap();
    let config = config(dir.path(), extra);
    let mut settings = ApiSettings::from_config(&config).unwrap();
    tweak(&mut settings);
    let portal = Arc::new(LocalPortal::from_config(config).unwrap());
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let app = router(portal.clone(), settings);
    Fixture { dir, portal, app }
}

pub async fn fixture() -> Fixture {
    fixture_with(json!({}), |_| {}).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts Backstage's error body and returns its message.
    pub fn error(&self, status: u16, name: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["error"]["name"], name, "{}", self.text);
        assert_eq!(self.body["response"]["statusCode"], status);
        assert!(self.body["request"]["method"].is_string());
        assert!(self.body["request"]["url"].is_string());
        self.body["error"]["message"].as_str().unwrap().to_string()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A request with [`TOKEN`]; `body` is sent as JSON.
pub async fn call(app: &Router, method: Method, uri: &str, body: Option<Value>) -> Reply {
    call_as(app, Some(TOKEN), method, uri, body).await
}

pub async fn call_as(
    app: &Router,
    token: Option<&str>,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    send(app, request).await
}

/// A request with [`TOKEN`] and a raw body and optional content type.
pub async fn call_raw(
    app: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> Reply {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    send(app, builder.body(Body::from(body.to_string())).unwrap()).await
}

pub fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}
