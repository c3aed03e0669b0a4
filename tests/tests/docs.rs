//! The docs part of the Portal contract (`docs_site`, `docs_file`, `sync_docs`), written once over
//! `&dyn Portal` and run against the embedded `LocalPortal` and against `HttpPortal` talking real HTTP to
//! stagedoor's server (behind a static token), on SQLite and on PostgreSQL (when `STAGEDOOR_TEST_POSTGRES`
//! is set). All must give the same answers. Plus `HttpPortal` against a Backstage-like backend that
//! publishes no `stagedoor_site.json`.

use std::path::{Path, PathBuf};

use stagedoor_tests::copy_dir;
use std::sync::Arc;

use serde_json::{json, Value};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal, PortalError};
use stagedoor_server::client::HttpPortal;
use stagedoor_tests::pg::TestDatabase;
use stagedoor_tests::{config, fixtures, Response, TestHttpServer};
use tokio::sync::mpsc;

fn r(text: &str) -> EntityRef {
    EntityRef::parse(text).unwrap()
}

/// A copy of the documented component fixture (sync tests change it) plus a component without docs, in a
/// catalog on SQLite or on the given PostgreSQL database, refreshed so the docs are built.
async fn seeded_on(pg: Option<&TestDatabase>) -> (tempfile::TempDir, PathBuf, Arc<LocalPortal>) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    copy_dir(
        &fixtures().join("techdocs/backstage-documented-component"),
        &site,
    );
    let plain = dir.path().join("plain.yaml");
    std::fs::write(
        &plain,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: plain\nspec:\n  type: service\n  lifecycle: production\n  owner: guest\n",
    )
    .unwrap();
    let mut extra = json!({});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
    }
    let cfg = config(
        &[
            (
                "file",
                &site.join("catalog-info.yaml").display().to_string(),
            ),
            ("file", &plain.display().to_string()),
        ],
        dir.path(),
        extra,
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    (dir, site, Arc::new(portal))
}

fn err(e: PortalError) -> Value {
    json!({"error": e.name(), "message": e.message()})
}

/// A sync with its log lines (the site's directory replaced, so transcripts of different copies compare).
async fn sync(p: &dyn Portal, entity: &str, site: &Path) -> Value {
    let (sender, mut lines) = mpsc::unbounded_channel();
    let result = p.sync_docs(&r(entity), Some(sender)).await;
    let mut logged = Vec::new();
    while let Ok(line) = lines.try_recv() {
        logged.push(line.replace(&site.display().to_string(), "<site>"));
    }
    match result {
        Ok(done) => {
            assert!(!logged.is_empty(), "a sync says what it did");
            json!({"updated": done.updated, "log": logged})
        }
        Err(e) => err(e),
    }
}

/// Reads and syncs, asserting the contract along the way; returns what was observed, without build times.
async fn docs_contract(p: &dyn Portal, site: &Path) -> Vec<Value> {
    let mut t = Vec::new();
    let documented = r("component:default/documented-component");

    let described = p
        .docs_site(&documented)
        .await
        .unwrap()
        .expect("a built site");
    assert_eq!(described.site_name, "Example Documentation");
    assert_eq!(described.home().unwrap().location, "index.md");
    assert!(described.page("sub-page.md").is_some());
    let mut site_json = json!(described);
    site_json["build_timestamp"] = json!("<time>");
    t.push(site_json);
    // Refs are case-insensitive.
    assert_eq!(
        p.docs_site(&r("Component:Default/Documented-Component"))
            .await
            .unwrap(),
        Some(described.clone())
    );
    for missing in ["component:default/plain", "component:default/nope"] {
        assert_eq!(p.docs_site(&r(missing)).await.unwrap(), None, "{missing}");
    }

    for path in [
        "index.html",
        "sub-page/index.html",
        "index.md",
        "code/code-sample.md",
        "search/search_index.json",
        "techdocs_metadata.json",
    ] {
        let file = p
            .docs_file(&documented, path)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{path}"));
        assert_eq!(file.path, path);
        let mut body = String::from_utf8(file.body).unwrap();
        if path == "techdocs_metadata.json" {
            let mut metadata: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(metadata["etag"], described.etag.as_str());
            metadata["build_timestamp"] = json!("<time>");
            body = metadata.to_string();
        }
        t.push(json!({"path": path, "type": file.content_type, "body": body}));
    }
    let mixed = p
        .docs_file(&r("Component:Default/Documented-Component"), "index.html")
        .await
        .unwrap();
    assert!(mixed.is_some());
    // Not files: a page directory, a missing file, traversal, a missing entity, an entity without docs.
    for (entity, path) in [
        ("component:default/documented-component", "sub-page"),
        ("component:default/documented-component", "sub-page/"),
        ("component:default/documented-component", "nope.html"),
        ("component:default/documented-component", "../index.html"),
        (
            "component:default/documented-component",
            "sub-page/../index.html",
        ),
        ("component:default/documented-component", "/index.html"),
        ("component:default/documented-component", "a\\b"),
        ("component:default/documented-component", ""),
        ("component:default/nope", "index.html"),
        ("component:default/plain", "index.html"),
    ] {
        assert_eq!(
            p.docs_file(&r(entity), path).await.unwrap(),
            None,
            "{entity} {path}"
        );
    }

    // Sync: up to date after the refresh's build; then a change is built once.
    t.push(sync(p, "component:default/documented-component", site).await);
    t.push(sync(p, "component:default/nope", site).await);
    t.push(sync(p, "component:default/plain", site).await);
    std::fs::write(site.join("docs/index.md"), "# Changed home\n\nNew text.\n").unwrap();
    std::fs::create_dir_all(site.join("docs/img")).unwrap();
    std::fs::write(site.join("docs/img/x.png"), [137, 80, 78, 71]).unwrap();
    let rebuilt = sync(p, "component:default/documented-component", site).await;
    assert_eq!(rebuilt["updated"], true, "{rebuilt}");
    t.push(rebuilt);
    let home = p.docs_file(&documented, "index.md").await.unwrap().unwrap();
    assert_eq!(home.body, b"# Changed home\n\nNew text.\n");
    let png = p
        .docs_file(&documented, "img/x.png")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(png.content_type, "image/png");
    assert_eq!(png.body, [137, 80, 78, 71]);
    let after = p.docs_site(&documented).await.unwrap().unwrap();
    assert_ne!(after.etag, described.etag);
    assert_eq!(after.home().unwrap().title, "Changed home");
    t.push(sync(p, "component:default/documented-component", site).await);

    // A failure after progress (sources that cannot be built) is an error with the build's message.
    std::fs::write(
        site.join("mkdocs.yml"),
        "site_name: x\ndocs_dir: ../../etc\n",
    )
    .unwrap();
    let failed = p
        .sync_docs(&documented, None)
        .await
        .expect_err("docs_dir outside the tree");
    assert!(failed.message().contains("docs_dir"), "{failed}");
    t.push(json!({"failed": failed.message().replace(&site.display().to_string(), "<site>")}));
    // The last good site stays.
    assert_eq!(p.docs_site(&documented).await.unwrap(), Some(after));
    t
}

async fn run(pg: Option<&TestDatabase>, over: bool) -> Vec<Value> {
    let (_dir, site, portal) = seeded_on(pg).await;
    if over {
        let http = stagedoor_tests::over_http(portal, "test-token").await;
        docs_contract(&http, &site).await
    } else {
        docs_contract(portal.as_ref(), &site).await
    }
}

#[tokio::test]
async fn sqlite_embedded_and_over_http_give_the_same_docs() {
    let expected = run(None, false).await;
    let remote = run(None, true).await;
    assert_eq!(expected, remote);
}

#[tokio::test]
async fn postgres_embedded_and_over_http_give_the_same_docs_as_sqlite() {
    let Some(db) = TestDatabase::create("the docs contract") else {
        return;
    };
    let expected = run(None, false).await;
    let direct = run(Some(&db), false).await;
    assert_eq!(expected, direct);
    let Some(db) = TestDatabase::create("the docs contract over HTTP") else {
        return;
    };
    let remote = run(Some(&db), true).await;
    assert_eq!(expected, remote);
}

#[tokio::test]
async fn a_backstage_backend_without_stagedoor_site_gets_a_derived_site() {
    let server = TestHttpServer::start().await;
    let root = "/api/techdocs/static/docs/default/component/svc";
    server.route(
        &format!("{root}/techdocs_metadata.json"),
        Response::ok(
            json!({"site_name": "Svc docs", "site_description": "About svc", "etag": "abc",
                   "build_timestamp": 1700000000000_i64, "files": ["index.html"]})
            .to_string(),
        ),
    );
    server.route(
        &format!("{root}/search/search_index.json"),
        Response::ok(
            json!({"config": {"lang": ["en"]}, "docs": [
                {"location": "", "title": "Home", "text": "hi"},
                {"location": "#intro", "title": "Intro", "text": "x"},
                {"location": "guide/", "title": "Guide", "text": "g"},
                {"location": "guide/#setup", "title": "Setup", "text": "s"},
                {"location": "deeper/nav/", "title": "Deeper", "text": "d"}
            ]})
            .to_string(),
        ),
    );
    // Backstage serves HTML as text/plain on purpose; the client gives the file its own type back.
    server.route(
        &format!("{root}/index.html"),
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: b"<h1>Home</h1>".to_vec(),
        },
    );
    let http = HttpPortal::new(&server.base, None).unwrap();
    assert_eq!(
        http.techdocs_url().as_str(),
        format!("{}/api/techdocs", server.base)
    );
    let site = http
        .docs_site(&r("Component:default/Svc"))
        .await
        .unwrap()
        .expect("derived from the metadata");
    assert_eq!(site.site_name, "Svc docs");
    assert_eq!(site.site_description.as_deref(), Some("About svc"));
    assert_eq!(site.etag, "abc");
    assert_eq!(site.build_timestamp, 1_700_000_000_000);
    let pages: Vec<(&str, &str, &str)> = site
        .pages
        .iter()
        .map(|p| (p.location.as_str(), p.url.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        pages,
        [
            ("index.md", "", "Home"),
            ("guide.md", "guide/", "Guide"),
            ("deeper/nav.md", "deeper/nav/", "Deeper")
        ]
    );
    assert_eq!(site.pages[0].headings[0].anchor, "intro");
    assert_eq!(site.pages[1].headings[0].title, "Setup");
    assert_eq!(site.nav.len(), 3);
    assert_eq!(site.home().unwrap().title, "Home");
    let index = http
        .docs_file(&r("component:default/svc"), "index.html")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(index.content_type, "text/html; charset=utf-8");
    // The site file was asked for first, lower-cased.
    assert!(server
        .hits()
        .contains(&format!("{root}/stagedoor_site.json")));
    // No metadata at all: no site.
    assert_eq!(
        http.docs_site(&r("component:default/other")).await.unwrap(),
        None
    );
}
