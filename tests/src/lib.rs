//! Shared helpers for stagedoor's cross-crate tests: fixture paths, portal configurations, and a tiny HTTP
//! server on 127.0.0.1 for `url` locations; [`stores`] gives fresh stores of every backend for contract tests.

pub mod pg;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use stagedoor_core::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub mod stores;

/// `../shared/fixtures`, beside the repository (CI lays it out the same way).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// Every kind the catalog knows, for rules that allow them all.
pub const ALL_KINDS: [&str; 10] = [
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
    "AiResource",
];

/// A configuration with the given locations (`(type, target)`), rules allowing every kind, and a SQLite file
/// under `data_dir`. `extra` is deep-merged over it (objects only).
pub fn config(locations: &[(&str, &str)], data_dir: &Path, extra: Value) -> Config {
    let locations: Vec<Value> = locations
        .iter()
        .map(|(t, target)| json!({"type": t, "target": target}))
        .collect();
    let mut root = json!({
        "backend": {"database": {"client": "better-sqlite3", "connection": {"directory": data_dir}}},
        "catalog": {
            "rules": [{"allow": ALL_KINDS}],
            "locations": locations,
            "orphanStrategy": "delete",
            "processingInterval": false
        }
    });
    stagedoor_core::config::loader::merge(&mut root, extra);
    Config::from_value(root, data_dir.to_path_buf())
}

/// One canned response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Response {
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn redirect(to: &str) -> Self {
        Response {
            status: 302,
            headers: vec![("Location".into(), to.into())],
            body: vec![],
        }
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 serving fixed responses by path (404 otherwise); it counts hits.
pub struct TestHttpServer {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Response>>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl TestHttpServer {
    pub async fn start() -> TestHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let routes: Arc<Mutex<HashMap<String, Response>>> = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (r, h) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut read = 0;
                    loop {
                        match socket.read(&mut buf[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                        if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..read]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    h.lock().expect("hits").push(path.clone());
                    let response =
                        r.lock()
                            .expect("routes")
                            .get(&path)
                            .cloned()
                            .unwrap_or(Response {
                                status: 404,
                                headers: vec![],
                                body: b"not found".to_vec(),
                            });
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        response.status,
                        response.body.len()
                    );
                    for (k, v) in &response.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    let _ = socket.write_all(out.as_bytes()).await;
                    let _ = socket.write_all(&response.body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        TestHttpServer {
            base: format!("http://{addr}"),
            routes,
            hits,
        }
    }

    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn route(&self, path: &str, response: Response) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), response);
    }

    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().expect("hits").clone()
    }
}

/// Copies a directory tree (a fixture a test must own, to edit it).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the fixture directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a fixture file");
        }
    }
}

/// `HttpPortal` over real HTTP to stagedoor's server serving `portal` on a loopback port, which requires
/// the static bearer `token`: what the contract suites compare the embedded portal against.
pub async fn over_http(
    portal: Arc<stagedoor_core::LocalPortal>,
    token: &str,
) -> stagedoor_server::client::HttpPortal {
    use stagedoor_server::api::{router, ApiSettings, AuthPolicy, StaticToken};
    let settings = ApiSettings {
        auth: AuthPolicy {
            disabled: false,
            tokens: vec![StaticToken {
                token: token.into(),
                subject: "test".into(),
                restrictions: None,
            }],
        },
        ..ApiSettings::default()
    };
    let app = router(portal, settings);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    stagedoor_server::client::HttpPortal::new(&format!("http://{addr}"), Some(token.into()))
        .expect("a client for the test server")
}
