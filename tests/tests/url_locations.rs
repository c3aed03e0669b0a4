//! `url` locations read over HTTP from a server on 127.0.0.1, under `backend.reading.allow`.

use stagedoor_core::entity::{
    ANNOTATION_EDIT_URL, ANNOTATION_SOURCE_LOCATION, ANNOTATION_VIEW_URL,
};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::{config, Response, TestHttpServer};

/// A portal whose only location is `<server>/repo/catalog-info.yaml`, with that server's host allowed.
fn allowed_portal(server: &TestHttpServer) -> (String, tempfile::TempDir, LocalPortal) {
    let target = format!("{}/repo/catalog-info.yaml", server.base);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &[("url", &target)],
        dir.path(),
        serde_json::json!({"backend": {"reading": {"allow": [{"host": server.host()}]}}}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    (target, dir, portal)
}

const API: &str = "apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders
spec:
  type: openapi
  lifecycle: production
  owner: team
  definition:
    $text: ./specs/orders.yaml
";

#[tokio::test]
async fn url_locations_are_read_annotated_and_placeholders_resolved() {
    let server = TestHttpServer::start().await;
    server.route("/repo/catalog-info.yaml", Response::ok(API));
    server.route(
        "/repo/specs/orders.yaml",
        Response::ok("openapi: 3.0.0\ninfo: {title: Orders}\n"),
    );
    let (target, _dir, portal) = allowed_portal(&server);
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let api = portal
        .entity_by_ref(&EntityRef::parse("api:default/orders").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(api
        .spec_str("definition")
        .unwrap()
        .contains("title: Orders"));
    assert_eq!(api.annotation(ANNOTATION_VIEW_URL), Some(target.as_str()));
    assert_eq!(
        api.annotation(ANNOTATION_SOURCE_LOCATION),
        Some(format!("url:{}/repo/", server.base).as_str())
    );
    assert_eq!(api.annotation(ANNOTATION_EDIT_URL), None);
}

#[tokio::test]
async fn hosts_not_allowed_are_never_contacted() {
    let server = TestHttpServer::start().await;
    server.route("/repo/catalog-info.yaml", Response::ok(API));
    let target = format!("{}/repo/catalog-info.yaml", server.base);
    let dir = tempfile::tempdir().unwrap();
    let portal = LocalPortal::from_config(config(
        &[("url", &target)],
        dir.path(),
        serde_json::json!({}),
    ))
    .unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    let problem = report.problems.first().expect("refused");
    assert_eq!(problem.name, "NotAllowedError");
    assert!(
        problem
            .message
            .starts_with(&format!("Reading from '{target}' is not allowed")),
        "{problem:?}"
    );
    assert!(server.hits().is_empty());
}

#[tokio::test]
async fn redirects_to_other_hosts_are_checked_again() {
    let allowed = TestHttpServer::start().await;
    let other = TestHttpServer::start().await;
    other.route("/x.yaml", Response::ok(API));
    allowed.route(
        "/repo/catalog-info.yaml",
        Response::redirect(&format!("{}/x.yaml", other.base)),
    );
    let (_target, _dir, portal) = allowed_portal(&allowed);
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(!report.problems.is_empty());
    assert!(other.hits().is_empty(), "the other host was contacted");
    assert!(portal
        .entity_by_ref(&EntityRef::parse("api:default/orders").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_unreachable_url_keeps_what_was_stored() {
    let server = TestHttpServer::start().await;
    server.route("/repo/catalog-info.yaml", Response::ok(API));
    server.route("/repo/specs/orders.yaml", Response::ok("openapi: 3.0.0\n"));
    let (_target, _dir, portal) = allowed_portal(&server);
    portal.refresh(RefreshRequest::default()).await.unwrap();
    server.route(
        "/repo/catalog-info.yaml",
        Response {
            status: 500,
            headers: vec![],
            body: b"down".to_vec(),
        },
    );
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.message.contains("500")),
        "{:?}",
        report.problems
    );
    assert!(portal
        .entity_by_ref(&EntityRef::parse("api:default/orders").unwrap())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_url_catalog_cannot_point_at_local_files() {
    let server = TestHttpServer::start().await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        secret.path(),
        API.replace("name: orders", "name: local-secret"),
    )
    .unwrap();
    let location = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: sneaky\nspec:\n  type: file\n  targets:\n    - {}\n    - ./relative.yaml\n",
        secret.path().display()
    );
    server.route("/repo/catalog-info.yaml", Response::ok(location));
    let (_target, _dir, portal) = allowed_portal(&server);
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    let refused: Vec<_> = report
        .problems
        .iter()
        .filter(|p| {
            p.message
                .starts_with("A url location may not point at the local file")
        })
        .collect();
    assert_eq!(refused.len(), 2, "{:#?}", report.problems);
    assert!(refused.iter().all(|p| p.name == "NotAllowedError"));
    assert!(portal
        .entity_by_ref(&EntityRef::parse("api:default/local-secret").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn host_names_are_resolved_through_the_guarded_resolver() {
    let server = TestHttpServer::start().await;
    server.route("/repo/catalog-info.yaml", Response::ok(API));
    server.route("/repo/specs/orders.yaml", Response::ok("openapi: 3.0.0\n"));
    let port = server.host().rsplit_once(':').unwrap().1.to_string();
    let target = format!("http://localhost:{port}/repo/catalog-info.yaml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &[("url", &target)],
        dir.path(),
        serde_json::json!({"backend": {"reading": {"allow": [{"host": format!("localhost:{port}")}]}}}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(portal
        .entity_by_ref(&EntityRef::parse("api:default/orders").unwrap())
        .await
        .unwrap()
        .is_some());
}
