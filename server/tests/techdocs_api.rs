//! The TechDocs routes (`/api/techdocs`) driven through the router: a catalog holding the documented
//! component fixture (whose site the refresh builds) beside components without docs.

mod common;

use std::path::{Path, PathBuf};

use stagedoor_tests::copy_dir;
use std::sync::Arc;

use axum::http::{header, Method, StatusCode};
use axum::Router;
use common::*;
use serde_json::{json, Value};
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::LocalPortal;
use stagedoor_server::api::{router, ApiSettings, DOCS_CSP};

const DOCS: &str = "/api/techdocs/static/docs/default/component/documented-component";
const OTHER_TOKEN: &str = "scaffolder-only-token";
const DOCS_TOKEN: &str = "techdocs-only-token";

/// `../shared/fixtures/techdocs/backstage-documented-component`, beside the repository.
fn documented_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/techdocs/backstage-documented-component")
}

struct Docs {
    dir: tempfile::TempDir,
    portal: Arc<LocalPortal>,
    app: Router,
}

/// The shared catalog plus the documented component from `site` (its catalog-info.yaml), refreshed so
/// its docs are built.
async fn docs_app(site: &Path) -> Docs {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    let config = config(
        dir.path(),
        json!({
            "backend": {"auth": {"externalAccess": [
                {"type": "static", "options": {"token": TOKEN, "subject": "tests"}},
                {"type": "static", "options": {"token": READ_TOKEN, "subject": "reader"},
                 "accessRestrictions": [{"plugin": "catalog", "permissionAttribute": {"action": "read"}}]},
                {"type": "static", "options": {"token": OTHER_TOKEN, "subject": "other"},
                 "accessRestrictions": [{"plugin": "scaffolder"}]},
                {"type": "static", "options": {"token": DOCS_TOKEN, "subject": "docs"},
                 "accessRestrictions": [{"plugin": "techdocs"}]}
            ]}},
            "catalog": {"locations": [
                {"type": "file", "target": dir.path().join("catalog.yaml")},
                {"type": "file", "target": site.join("catalog-info.yaml")}
            ]}
        }),
    );
    let settings = ApiSettings::from_config(&config).unwrap();
    let portal = Arc::new(LocalPortal::from_config(config).unwrap());
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let app = router(portal.clone(), settings);
    Docs { dir, portal, app }
}

async fn get(app: &Router, uri: &str) -> Reply {
    call(app, Method::GET, uri, None).await
}

fn header_of(r: &Reply, name: header::HeaderName) -> &str {
    r.headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The headers that keep a browser from running anything a docs file holds.
fn assert_script_free(r: &Reply) {
    assert_eq!(header_of(r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let csp = header_of(r, header::CONTENT_SECURITY_POLICY);
    assert_eq!(csp, DOCS_CSP);
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    assert!(directives.contains(&"default-src 'none'"), "{csp}");
    assert!(directives.contains(&"sandbox"), "{csp}");
    // Neither script-src nor a sandbox token that would let script back in.
    assert!(
        !csp.contains("script-src") && !csp.contains("allow-scripts"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-eval"), "{csp}");
}

// ---- metadata ----

#[tokio::test]
async fn techdocs_metadata_is_the_stored_json() {
    let d = docs_app(&documented_fixture()).await;
    let r = get(
        &d.app,
        "/api/techdocs/metadata/techdocs/default/component/documented-component",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("application/json"));
    assert_eq!(r.body["site_name"], "Example Documentation");
    assert!(r.body["site_description"].is_null());
    assert!(r.body["etag"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(r.body["build_timestamp"].as_i64().is_some_and(|t| t > 0));
    let files: Vec<&str> = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(files.contains(&"index.html") && files.contains(&"sub-page/index.html"));
    // Triplets are looked up case-insensitively here.
    let mixed = get(
        &d.app,
        "/api/techdocs/metadata/techdocs/Default/Component/Documented-Component",
    )
    .await;
    assert_eq!(mixed.status, StatusCode::OK);
    assert_eq!(mixed.body, r.body);
    // No such entity; an entity without a built site.
    let m = get(
        &d.app,
        "/api/techdocs/metadata/techdocs/default/component/nope",
    )
    .await
    .error(404, "NotFoundError");
    assert_eq!(m, "Unable to get metadata for 'component:default/nope'");
    get(
        &d.app,
        "/api/techdocs/metadata/techdocs/default/component/svc-a",
    )
    .await
    .error(404, "NotFoundError");
}

#[tokio::test]
async fn entity_metadata_adds_the_location_of_the_sources() {
    let d = docs_app(&documented_fixture()).await;
    let r = get(
        &d.app,
        "/api/techdocs/metadata/entity/default/component/documented-component",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["kind"], "Component");
    assert_eq!(r.body["metadata"]["name"], "documented-component");
    assert!(r.body["metadata"]["uid"].is_string());
    // `dir:.` resolved against the file location, as Backstage's getLocationForEntity does.
    assert_eq!(
        r.body["locationMetadata"],
        json!({"type": "dir", "target": std::fs::canonicalize(documented_fixture()).unwrap().display().to_string()})
    );
    let mixed = get(
        &d.app,
        "/api/techdocs/metadata/entity/DEFAULT/component/Documented-Component",
    )
    .await;
    assert_eq!(mixed.body, r.body);
    // Without a techdocs-ref: the entity's own location.
    let plain = get(
        &d.app,
        "/api/techdocs/metadata/entity/default/component/svc-a",
    )
    .await;
    assert_eq!(
        plain.body["locationMetadata"],
        json!({"type": "file", "target": d.dir.path().join("catalog.yaml").display().to_string()})
    );
    get(
        &d.app,
        "/api/techdocs/metadata/entity/default/component/nope",
    )
    .await
    .error(404, "NotFoundError");
}

// ---- static files ----

#[tokio::test]
async fn static_files_have_their_types_and_a_script_free_policy() {
    let d = docs_app(&documented_fixture()).await;
    let index = get(&d.app, &format!("{DOCS}/")).await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.text);
    assert_eq!(
        header_of(&index, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_script_free(&index);
    assert!(index.text.starts_with("<!doctype html>"));
    assert!(index.text.contains("href=\"sub-page/\""), "{}", index.text);
    assert_eq!(
        get(&d.app, &format!("{DOCS}/index.html")).await.text,
        index.text
    );

    let sub = get(&d.app, &format!("{DOCS}/sub-page/")).await;
    assert_eq!(sub.status, StatusCode::OK);
    assert_script_free(&sub);
    assert!(sub.text.contains("href=\"../\""), "{}", sub.text);

    let search = get(&d.app, &format!("{DOCS}/search/search_index.json")).await;
    assert_eq!(search.status, StatusCode::OK);
    assert_eq!(header_of(&search, header::CONTENT_TYPE), "application/json");
    assert_script_free(&search);
    let locations: Vec<&str> = search.body["docs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["location"].as_str())
        .collect();
    assert!(locations.contains(&"") && locations.contains(&"sub-page/"));

    let metadata = get(&d.app, &format!("{DOCS}/techdocs_metadata.json")).await;
    assert_eq!(metadata.body["site_name"], "Example Documentation");
    let source = get(&d.app, &format!("{DOCS}/index.md")).await;
    assert_eq!(
        header_of(&source, header::CONTENT_TYPE),
        "text/markdown; charset=utf-8"
    );
    let site = get(&d.app, &format!("{DOCS}/stagedoor_site.json")).await;
    assert_eq!(site.body["site_name"], "Example Documentation");
    assert_eq!(site.body["pages"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn page_directories_and_the_root_redirect_to_their_slash() {
    let d = docs_app(&documented_fixture()).await;
    let r = get(&d.app, &format!("{DOCS}/sub-page")).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header_of(&r, header::LOCATION), "sub-page/");
    let r = get(&d.app, &format!("{DOCS}/code/code-sample?x=1")).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header_of(&r, header::LOCATION), "code-sample/?x=1");
    let r = get(&d.app, DOCS).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header_of(&r, header::LOCATION), "documented-component/");
}

#[tokio::test]
async fn mixed_case_triplets_redirect_to_lower_case() {
    let d = docs_app(&documented_fixture()).await;
    let r = get(
        &d.app,
        "/api/techdocs/static/docs/Default/Component/Documented-Component/sub-page/index.html?v=1",
    )
    .await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header_of(&r, header::LOCATION),
        format!("{DOCS}/sub-page/index.html?v=1")
    );
    // Case is judged on the decoded names: an encoded upper-case letter is folded too, an encoded
    // lower-case one is not a reason to redirect.
    let r = get(
        &d.app,
        "/api/techdocs/static/docs/default/component/documented-%43omponent/",
    )
    .await;
    assert_eq!(header_of(&r, header::LOCATION), format!("{DOCS}/"));
    let r = get(
        &d.app,
        "/api/techdocs/static/docs/default/component/documented-%63omponent/",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The file path keeps its case: only the triplet is folded.
    let r = get(
        &d.app,
        "/api/techdocs/static/docs/default/COMPONENT/documented-component/Img/X.png",
    )
    .await;
    assert_eq!(header_of(&r, header::LOCATION), format!("{DOCS}/Img/X.png"));
}

#[tokio::test]
async fn missing_files_and_entities_are_404s() {
    let d = docs_app(&documented_fixture()).await;
    let r = get(&d.app, &format!("{DOCS}/no-such-page/")).await;
    r.error(404, "NotFoundError");
    assert_eq!(header_of(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    get(&d.app, &format!("{DOCS}/img/missing.png"))
        .await
        .error(404, "NotFoundError");
    let m = get(
        &d.app,
        "/api/techdocs/static/docs/default/component/nope/index.html",
    )
    .await
    .error(404, "NotFoundError");
    assert_eq!(m, "Entity not found for component:default/nope");
    // An entity without docs.
    get(
        &d.app,
        "/api/techdocs/static/docs/default/component/svc-a/index.html",
    )
    .await
    .error(404, "NotFoundError");
}

#[tokio::test]
async fn every_traversal_form_is_a_400() {
    let d = docs_app(&documented_fixture()).await;
    let base = "/api/techdocs/static/docs/default/component";
    let attempts = [
        format!("{DOCS}/../../../../etc/passwd"),
        format!("{DOCS}/sub-page/../index.html"),
        format!("{DOCS}/./index.html"),
        format!("{DOCS}/%2e%2e/%2e%2e/etc/passwd"),
        format!("{DOCS}/%2E%2E/index.html"),
        format!("{DOCS}/..%2f..%2fetc%2fpasswd"),
        format!("{DOCS}/sub-page%2findex.html"),
        format!("{DOCS}/%252e%252e/%252e%252e/etc/passwd"),
        format!("{DOCS}/%252fetc%252fpasswd"),
        format!("{DOCS}/..%5c..%5cetc%5cpasswd"),
        format!("{DOCS}/%5cetc%5cpasswd"),
        format!("{DOCS}/..\\..\\etc\\passwd"),
        format!("{DOCS}/\\etc\\passwd"),
        format!("{DOCS}//etc/passwd"),
        format!("{DOCS}/%2fetc/passwd"),
        format!("{DOCS}/index.html%00.png"),
        format!("{DOCS}/a//b"),
        format!("{DOCS}/%zz"),
        format!("{DOCS}/%ff%fe"),
        format!("{base}/../documented-component/index.html"),
        format!("{base}/%2e%2e/index.html"),
        format!("{base}/documented-component%2f..%2f../index.html"),
        "/api/techdocs/static/docs/..%2f..%2f/component/x/index.html".to_string(),
        "/api/techdocs/metadata/techdocs/default/component/..%2f..".to_string(),
        "/api/techdocs/metadata/entity/default/%2e%2e/x".to_string(),
        "/api/techdocs/sync/default/component/..%5cx".to_string(),
    ];
    for uri in &attempts {
        let r = get(&d.app, uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
        assert_eq!(r.body["error"]["name"], "InputError", "{uri}");
    }
}

// ---- auth ----

#[tokio::test]
async fn docs_need_the_credentials_entities_need() {
    let d = docs_app(&documented_fixture()).await;
    let routes = [
        format!("{DOCS}/index.html"),
        "/api/techdocs/metadata/techdocs/default/component/documented-component".to_string(),
        "/api/techdocs/metadata/entity/default/component/documented-component".to_string(),
        "/api/techdocs/sync/default/component/documented-component".to_string(),
    ];
    for uri in &routes {
        let r = call_as(&d.app, None, Method::GET, uri, None).await;
        r.error(401, "AuthenticationError");
        call_as(&d.app, Some("wrong-token-123"), Method::GET, uri, None)
            .await
            .error(401, "AuthenticationError");
        // A token that may read the catalog's entities may read their docs; one for techdocs too.
        for token in [READ_TOKEN, DOCS_TOKEN, TOKEN] {
            let r = call_as(&d.app, Some(token), Method::GET, uri, None).await;
            assert_eq!(r.status, StatusCode::OK, "{uri} with {token}: {}", r.text);
        }
        call_as(&d.app, Some(OTHER_TOKEN), Method::GET, uri, None)
            .await
            .error(403, "NotAllowedError");
    }
    // The same as for the entity itself.
    call_as(
        &d.app,
        None,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/documented-component",
        None,
    )
    .await
    .error(401, "AuthenticationError");
    // A techdocs-only token reads docs, not the catalog.
    call_as(
        &d.app,
        Some(DOCS_TOKEN),
        Method::GET,
        "/api/catalog/entities/by-name/component/default/documented-component",
        None,
    )
    .await
    .error(403, "NotAllowedError");
}

// ---- sync ----

/// `(event, data)` pairs of an event-stream body.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(v).unwrap());
                }
            }
            Some((name?, data?))
        })
        .collect()
}

#[tokio::test]
async fn sync_streams_logs_then_finish() {
    let site = tempfile::tempdir().unwrap();
    copy_dir(&documented_fixture(), site.path());
    let d = docs_app(site.path()).await;
    let uri = "/api/techdocs/sync/default/component/documented-component";

    // The refresh already built it.
    let r = get(&d.app, uri).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("text/event-stream"));
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
    let got = events(&r.text);
    let (last, logs) = got.split_last().unwrap();
    assert_eq!(last, &("finish".to_string(), json!({"updated": false})));
    assert!(!logs.is_empty() && logs.iter().all(|(e, d)| e == "log" && d.is_string()));
    assert!(logs
        .iter()
        .any(|(_, d)| d.as_str().unwrap().contains("up to date")));
    // Case-insensitive, like the metadata routes.
    let mixed = get(
        &d.app,
        "/api/techdocs/sync/Default/Component/Documented-Component",
    )
    .await;
    assert_eq!(
        events(&mixed.text).last().unwrap().1,
        json!({"updated": false})
    );

    // Change a page and add assets: the next sync builds and stores them.
    std::fs::write(
        site.path().join("docs/index.md"),
        "# Changed home\n\nNew text.\n",
    )
    .unwrap();
    std::fs::create_dir_all(site.path().join("docs/img")).unwrap();
    std::fs::write(site.path().join("docs/img/x.png"), [137, 80, 78, 71]).unwrap();
    std::fs::write(
        site.path().join("docs/img/y.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    )
    .unwrap();
    let r = get(&d.app, uri).await;
    let got = events(&r.text);
    assert_eq!(
        got.last().unwrap(),
        &("finish".to_string(), json!({"updated": true}))
    );
    assert!(got
        .iter()
        .any(|(e, d)| e == "log" && d.as_str().unwrap().contains("Built")));
    let index = get(&d.app, &format!("{DOCS}/")).await;
    assert!(index.text.contains("Changed home"), "{}", index.text);
    let png = get(&d.app, &format!("{DOCS}/img/x.png")).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(header_of(&png, header::CONTENT_TYPE), "image/png");
    assert_script_free(&png);
    let svg = get(&d.app, &format!("{DOCS}/img/y.svg")).await;
    assert_eq!(header_of(&svg, header::CONTENT_TYPE), "image/svg+xml");
    assert_script_free(&svg);
    assert_eq!(
        events(&get(&d.app, uri).await.text).last().unwrap().1,
        json!({"updated": false})
    );
    drop(d.portal);
}

#[tokio::test]
async fn sync_failures_before_the_stream_are_error_responses() {
    let d = docs_app(&documented_fixture()).await;
    let m = get(&d.app, "/api/techdocs/sync/default/component/nope")
        .await
        .error(404, "NotFoundError");
    assert!(m.contains("No entity named 'nope'"), "{m}");
    // An entity without docs.
    let m = get(&d.app, "/api/techdocs/sync/default/component/svc-a")
        .await
        .error(404, "NotFoundError");
    assert!(m.contains("backstage.io/techdocs-ref"), "{m}");
}

#[tokio::test]
async fn sync_failures_after_progress_are_error_events() {
    let site = tempfile::tempdir().unwrap();
    copy_dir(&documented_fixture(), site.path());
    let d = docs_app(site.path()).await;
    // Sources that cannot be built any more: docs_dir leaves the tree.
    std::fs::write(
        site.path().join("mkdocs.yml"),
        "site_name: x\ndocs_dir: ../../etc\n",
    )
    .unwrap();
    let r = get(
        &d.app,
        "/api/techdocs/sync/default/component/documented-component",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = events(&r.text);
    let (last, logs) = got.split_last().unwrap();
    assert_eq!(last.0, "error", "{}", r.text);
    assert!(last
        .1
        .as_str()
        .is_some_and(|m| m.contains("documented-component")));
    assert!(logs.iter().all(|(e, _)| e == "log") && !logs.is_empty());
    // The previous site is still served.
    assert_eq!(
        get(&d.app, &format!("{DOCS}/")).await.status,
        StatusCode::OK
    );
}
