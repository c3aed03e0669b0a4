//! Two `stagedoor-server` processes on one PostgreSQL database, as replicas behind a load balancer: both
//! refresh the same roots every second and both take refresh requests, yet no root is ever processed by both
//! at once. Each process logs when it claims a root and when it starts releasing it; the test reads both logs
//! and checks that, for every root, those windows never overlap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stagedoor_core::devgen::generate_catalog;
use stagedoor_tests::pg::TestDatabase;

/// Kills the server when the test ends, even on failure.
struct Server {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(dir: &Path, name: &str, database_url: &str, roots: &[PathBuf]) -> Server {
    let port = free_port();
    let locations: String = roots
        .iter()
        .map(|r| format!("    - type: file\n      target: {}\n", r.display()))
        .collect();
    let config = format!(
        "backend:\n  listen: 127.0.0.1:{port}\n  database:\n    client: pg\n    connection: {database_url}\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: true\ncatalog:\n  rules:\n    - allow: [Component, API, Location, System, Domain, Group, User, Resource, Template]\n  processingInterval: {{seconds: 1}}\n  locations:\n{locations}"
    );
    let config_path = dir.join(format!("{name}.yaml"));
    std::fs::write(&config_path, config).unwrap();
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_stagedoor-server"))
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "info,stagedoor_core::local=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start stagedoor-server");
    Server { child, log, port }
}

/// `(timestamp, origin, claimed?)` of every claim and release a server logged.
fn claim_events(log: &Path) -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .filter_map(|line| {
            let claimed = if line.contains("refresh claimed") {
                true
            } else if line.contains("refresh releasing") {
                false
            } else {
                return None;
            };
            let timestamp = line.split_whitespace().next()?.to_string();
            let origin = line
                .split("origin=\"")
                .nth(1)?
                .split('"')
                .next()?
                .to_string();
            Some((timestamp, origin, claimed))
        })
        .collect()
}

async fn wait_listening(server: &Server, client: &reqwest::Client) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let url = format!(
        "http://127.0.0.1:{}/.backstage/health/v1/readiness",
        server.port
    );
    loop {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server never became ready: {}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_never_process_a_root_at_once() {
    let Some(db) = TestDatabase::create("the two-replica refresh test") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Six roots of 500 entities each: every entities-*.yaml file the generator writes is a root of its own.
    generate_catalog(3000, &dir.path().join("catalog")).unwrap();
    let mut roots: Vec<PathBuf> = std::fs::read_dir(dir.path().join("catalog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("entities-"))
        })
        .collect();
    roots.sort();
    assert!(roots.len() >= 5, "{roots:?}");

    let a = start(dir.path(), "a", &db.url, &roots);
    let b = start(dir.path(), "b", &db.url, &roots);
    let client = reqwest::Client::new();
    wait_listening(&a, &client).await;
    wait_listening(&b, &client).await;

    // Let both periodic loops run, and ask both servers to refresh the same entity again and again.
    let until = Instant::now() + Duration::from_secs(6);
    let mut requests = 0;
    while Instant::now() < until {
        let mut calls = Vec::new();
        for server in [&a, &b] {
            let url = format!("http://127.0.0.1:{}/api/catalog/refresh", server.port);
            let body = serde_json::json!({"entityRef": "group:default/engineering"});
            calls.push(client.post(url).json(&body).send());
        }
        for call in calls {
            let response = call.await.expect("refresh request");
            assert!(
                response.status().is_success(),
                "{}",
                response.text().await.unwrap_or_default()
            );
            requests += 1;
        }
    }
    assert!(requests >= 2);
    let count_url = format!(
        "http://127.0.0.1:{}/api/catalog/entities/by-query?limit=1",
        b.port
    );
    let page: serde_json::Value = client
        .get(count_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(a);
    drop(b);

    // Each root's claim windows, from both logs, in time order: claimed and releasing must alternate.
    let mut windows: BTreeMap<String, Vec<(String, &str, bool)>> = BTreeMap::new();
    let mut claims = BTreeMap::new();
    for name in ["a", "b"] {
        let events = claim_events(&dir.path().join(format!("{name}.log")));
        claims.insert(name, events.iter().filter(|e| e.2).count());
        for (timestamp, origin, claimed) in events {
            windows
                .entry(origin)
                .or_default()
                .push((timestamp, name, claimed));
        }
    }
    assert_eq!(windows.len(), roots.len(), "{:?}", windows.keys());
    for (origin, mut events) in windows {
        events.sort();
        let mut holder: Option<&str> = None;
        for (timestamp, name, claimed) in &events {
            match (claimed, holder) {
                (true, None) => holder = Some(name),
                (false, Some(h)) if h == *name => holder = None,
                _ => panic!(
                    "{origin}: {name} {} at {timestamp} while {holder:?} held it\n{events:#?}",
                    if *claimed { "claimed" } else { "released" }
                ),
            }
        }
    }
    // Both replicas did work, and the catalog holds every entity once.
    assert!(claims["a"] > 0 && claims["b"] > 0, "{claims:?}");
    // Every document of the roots, plus the Location generated for each root.
    let documents: usize = roots
        .iter()
        .map(|r| {
            std::fs::read_to_string(r)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("kind:"))
                .count()
        })
        .sum();
    assert_eq!(page["totalItems"], documents + roots.len(), "{page}");
}
