//! The Portal contract, written once over `&dyn Portal` and run against the embedded `LocalPortal` and
//! against `HttpPortal` talking real HTTP to stagedoor's own server (`stagedoor_server::api::router` on
//! 127.0.0.1:0, behind a static token), each on SQLite and on PostgreSQL (when `STAGEDOOR_TEST_POSTGRES` is
//! set). All must give identical results.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::store::{EntityPredicate, EntityQuery, FieldMatch, OrderField, SortOrder};
use stagedoor_core::{EntityRef, LocalPortal, Portal, PortalError};
use stagedoor_server::client::HttpPortal;
use stagedoor_tests::config;
use stagedoor_tests::pg::TestDatabase;

fn r(text: &str) -> EntityRef {
    EntityRef::parse(text).unwrap()
}

fn component(name: &str, kind_type: &str, owner: &str, extra: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  tags: [{kind_type}]\nspec:\n  type: {kind_type}\n  lifecycle: production\n  owner: {owner}\n  system: shop\n{extra}"
    )
}

/// A small catalog: a root Location pointing at files of groups, a system, components and APIs.
fn write_catalog(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("catalog-info.yaml");
    std::fs::write(
        &root,
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets:\n    - ./groups.yaml\n    - ./components.yaml\n    - ./apis.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("groups.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: [team-b]\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-b\nspec:\n  type: team\n  parent: team-a\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  owner: team-a\n",
    )
    .unwrap();
    let components = [
        component(
            "svc-a",
            "service",
            "team-a",
            "  providesApis: [api-a]\n  consumesApis: [api-b]\n",
        ),
        component("svc-b", "service", "team-b", "  providesApis: [api-b]\n"),
        component("web-c", "website", "team-a", "  consumesApis: [api-a]\n"),
        component("lib-d", "library", "team-b", ""),
    ];
    std::fs::write(dir.join("components.yaml"), components.join("---\n")).unwrap();
    std::fs::write(
        dir.join("apis.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-a\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  system: shop\n  definition: \"openapi: 3.0.0\"\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-b\nspec:\n  type: grpc\n  lifecycle: experimental\n  owner: team-b\n  definition: \"syntax = proto3;\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("extra.yaml"),
        component("extra-e", "service", "team-a", ""),
    )
    .unwrap();
    root
}

async fn seeded() -> (tempfile::TempDir, Arc<LocalPortal>) {
    seeded_on(None).await
}

/// The seeded catalog on SQLite, or on the given PostgreSQL database.
async fn seeded_on(pg: Option<&TestDatabase>) -> (tempfile::TempDir, Arc<LocalPortal>) {
    let dir = tempfile::tempdir().unwrap();
    let root = write_catalog(dir.path());
    let mut extra = json!({"catalog": {"allowedLocationTypes": ["file", "url"]}});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
    }
    let cfg = config(&[("file", &root.display().to_string())], dir.path(), extra);
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    (dir, Arc::new(portal))
}

fn err(e: PortalError) -> Value {
    json!({"error": e.name(), "message": e.message()})
}

fn names(items: &[stagedoor_core::Entity]) -> Vec<String> {
    items
        .iter()
        .map(|e| e.as_map()["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// A page for the transcript. Cursors are opaque and may encode the filter in whichever equivalent form the
/// route parsed (GET `kind=component` becomes `{"$any":[{"$all":[...]}]}`), so only their presence counts;
/// the paging assertions check that they work.
fn page_json(p: &stagedoor_core::store::EntityPage) -> Value {
    let mut v = json!(p);
    for key in ["nextCursor", "prevCursor"] {
        if v["pageInfo"].get(key).is_some() {
            v["pageInfo"][key] = json!("<cursor>");
        }
    }
    v
}

fn kind_is(kind: &str) -> EntityPredicate {
    EntityPredicate::Field {
        key: "kind".into(),
        matcher: FieldMatch::In(vec![kind.into()]),
    }
}

/// Reads only: returns a transcript of everything observed, asserting the contract along the way.
async fn read_contract(p: &dyn Portal, dir: &Path) -> Vec<Value> {
    let mut t = Vec::new();

    // By ref: found and missing.
    let svc_a = p
        .entity_by_ref(&r("component:default/svc-a"))
        .await
        .unwrap()
        .expect("svc-a");
    assert_eq!(svc_a.as_map()["kind"], "Component");
    assert!(svc_a.as_map()["relations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|rel| rel["type"] == "providesApi" && rel["targetRef"] == "api:default/api-a"));
    t.push(json!(svc_a));
    assert!(p
        .entity_by_ref(&r("component:default/nope"))
        .await
        .unwrap()
        .is_none());
    // Case-insensitive refs and odd characters in path segments.
    assert!(p
        .entity_by_ref(&r("Component:Default/SVC-A"))
        .await
        .unwrap()
        .is_some());
    assert!(p
        .entity_by_ref(&EntityRef::new("component", "default", "a b/c?d"))
        .await
        .unwrap()
        .is_none());

    // By uid.
    let uid = svc_a.as_map()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(p.entity_by_uid(&uid).await.unwrap().as_ref(), Some(&svc_a));
    assert!(p.entity_by_uid("no-such-uid").await.unwrap().is_none());

    // By refs, in order, a missing one as None; then projected.
    let refs = [
        r("component:default/svc-b"),
        r("component:default/missing"),
        r("api:default/api-a"),
    ];
    let got = p.entities_by_refs(&refs, &[]).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(got[1].is_none());
    assert_eq!(
        got[0].as_ref().unwrap().as_map()["metadata"]["name"],
        "svc-b"
    );
    assert_eq!(got[2].as_ref().unwrap().as_map()["kind"], "API");
    t.push(json!(got));
    let projected = p
        .entities_by_refs(&refs, &["metadata.name".into(), "kind".into()])
        .await
        .unwrap();
    assert_eq!(
        json!(projected[0]),
        json!({"kind": "Component", "metadata": {"name": "svc-b"}})
    );
    t.push(json!(projected));

    // Query: filter, order, limit, cursor paging with totalItems.
    let first = p
        .query_entities(EntityQuery {
            filter: Some(kind_is("component")),
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Desc,
            }],
            limit: Some(3),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.total_items, 4);
    assert_eq!(names(&first.items), ["web-c", "svc-b", "svc-a"]);
    let next = first.page_info.next_cursor.clone().expect("a next page");
    t.push(page_json(&first));
    let second = p
        .query_entities(EntityQuery {
            cursor: Some(next),
            limit: Some(3),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&second.items), ["lib-d"]);
    assert_eq!(second.total_items, 4);
    assert!(second.page_info.next_cursor.is_none());
    let prev = second
        .page_info
        .prev_cursor
        .clone()
        .expect("a previous page");
    t.push(page_json(&second));
    let back = p
        .query_entities(EntityQuery {
            cursor: Some(prev),
            limit: Some(3),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&back.items), ["web-c", "svc-b", "svc-a"]);
    t.push(page_json(&back));

    // Offset paging, an OR filter, full text and totalItems excluded.
    let page = p
        .query_entities(EntityQuery {
            filter: Some(EntityPredicate::Any(vec![kind_is("api"), kind_is("group")])),
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Asc,
            }],
            offset: Some(1),
            limit: Some(2),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_items, 4);
    assert_eq!(names(&page.items), ["api-b", "team-a"]);
    t.push(page_json(&page));
    let page = p
        .query_entities(EntityQuery {
            filter: Some(EntityPredicate::Not(Box::new(kind_is("component")))),
            full_text: Some(stagedoor_core::store::FullTextFilter {
                term: "TEAM".into(),
                fields: vec!["metadata.name".into()],
            }),
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Asc,
            }],
            skip_total_items: true,
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&page.items), ["team-a", "team-b"]);
    t.push(page_json(&page));

    // Cursor paging with a filter only the predicate form carries (POST over HTTP).
    let mut query = EntityQuery {
        filter: Some(EntityPredicate::Not(Box::new(kind_is("component")))),
        order_fields: vec![OrderField {
            field: "metadata.name".into(),
            order: SortOrder::Asc,
        }],
        limit: Some(4),
        ..EntityQuery::default()
    };
    let mut seen = Vec::new();
    let mut total = None;
    loop {
        let page = p.query_entities(query.clone()).await.unwrap();
        assert_eq!(*total.get_or_insert(page.total_items), page.total_items);
        seen.extend(names(&page.items));
        t.push(page_json(&page));
        match page.page_info.next_cursor {
            Some(cursor) => {
                query = EntityQuery {
                    cursor: Some(cursor),
                    limit: Some(4),
                    ..EntityQuery::default()
                }
            }
            None => break,
        }
    }
    assert_eq!(Some(seen.len() as u64), total);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    for n in ["api-a", "api-b", "root", "shop", "team-a", "team-b"] {
        assert!(seen.iter().any(|s| s == n), "{seen:?}");
    }
    assert!(!seen.iter().any(|s| s.starts_with("svc-")), "{seen:?}");

    // Projection via fields.
    let page = p
        .query_entities(EntityQuery {
            filter: Some(kind_is("api")),
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Asc,
            }],
            fields: vec!["metadata.name".into(), "spec.type".into()],
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        json!(page.items),
        json!([{"metadata": {"name": "api-a"}, "spec": {"type": "openapi"}},
               {"metadata": {"name": "api-b"}, "spec": {"type": "grpc"}}])
    );
    t.push(page_json(&page));

    // Facets: with a GET-expressible filter, with one only POST can carry, and without.
    let facets = p
        .facets(&["spec.type".into()], Some(kind_is("component")))
        .await
        .unwrap();
    let counts: Vec<(String, u64)> = facets["spec.type"]
        .iter()
        .map(|c| (c.value.clone(), c.count))
        .collect();
    assert!(counts.contains(&("service".into(), 2)), "{counts:?}");
    assert!(counts.contains(&("website".into(), 1)), "{counts:?}");
    assert!(counts.contains(&("library".into(), 1)), "{counts:?}");
    t.push(json!(facets));
    let facets = p
        .facets(
            &["kind".into(), "spec.owner".into()],
            Some(EntityPredicate::Not(Box::new(kind_is("component")))),
        )
        .await
        .unwrap();
    assert!(!facets["kind"].iter().any(|c| c.value == "Component"));
    t.push(json!(facets));
    let facets = p.facets(&["kind".into()], None).await.unwrap();
    t.push(json!(facets));
    t.push(err(p.facets(&[], None).await.unwrap_err()));

    // Ancestry: the chain of locations, and a missing entity.
    let ancestry = p.ancestry(&r("component:default/svc-a")).await.unwrap();
    assert_eq!(ancestry.root_entity_ref, "component:default/svc-a");
    assert_eq!(
        ancestry.items[0].entity.as_map()["metadata"]["name"],
        "svc-a"
    );
    assert!(ancestry.items.len() >= 2, "{ancestry:#?}");
    assert_eq!(
        ancestry.items[0].parent_entity_refs,
        ["location:default/root"]
    );
    t.push(json!(ancestry));
    let e = p.ancestry(&r("component:default/nope")).await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    t.push(err(e));

    // Dry-run registration reads the target but stores nothing.
    let target = dir.join("extra.yaml").display().to_string();
    let dry = p.add_location("file", &target, true).await.unwrap();
    assert_eq!(dry.exists, Some(false));
    // As in Backstage, registration emits a generated Location entity before what it points at.
    assert_eq!(dry.entities.len(), 2);
    assert_eq!(dry.entities[0].as_map()["kind"], "Location");
    assert_eq!(names(&dry.entities)[1], "extra-e");
    assert!(p.locations().await.unwrap().is_empty());
    assert!(p
        .entity_by_ref(&r("component:default/extra-e"))
        .await
        .unwrap()
        .is_none());
    t.push(json!(dry));
    let e = p.add_location("git", "x", true).await.unwrap_err();
    assert_eq!(e.name(), "InputError");
    t.push(err(e));

    // Validation: ok, and the same error name and message on both sides.
    p.validate_entity(json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "ok"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
    }))
    .await
    .unwrap();
    let e = p
        .validate_entity(json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "bad name!"}, "spec": {}
        }))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "InputError");
    t.push(err(e));

    // A missing location id.
    let e = p.location("no-such-id").await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    t.push(err(e));
    t
}

/// Writes: run on a fresh catalog per backend; the transcript leaves out generated ids.
async fn write_contract(p: &dyn Portal, dir: &Path) -> Vec<Value> {
    let mut t = Vec::new();
    let target = dir.join("extra.yaml").display().to_string();

    // Register, list, get, refuse a duplicate, delete, then the id is gone.
    let added = p.add_location("file", &target, false).await.unwrap();
    assert_eq!(added.location.location_type, "file");
    assert_eq!(added.location.target, target);
    assert_eq!(names(&added.entities)[1..], ["extra-e"]);
    let id = added.location.id.clone();
    assert!(!id.is_empty());
    assert_eq!(
        p.locations().await.unwrap(),
        std::slice::from_ref(&added.location)
    );
    assert_eq!(p.location(&id).await.unwrap(), added.location);
    assert!(p
        .entity_by_ref(&r("component:default/extra-e"))
        .await
        .unwrap()
        .is_some());
    let e = p.add_location("file", &target, false).await.unwrap_err();
    assert_eq!(e.name(), "ConflictError");
    t.push(err(e));
    p.delete_location(&id).await.unwrap();
    assert!(p.locations().await.unwrap().is_empty());
    assert!(p
        .entity_by_ref(&r("component:default/extra-e"))
        .await
        .unwrap()
        .is_none());
    let e = p.location(&id).await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    assert_eq!(e.message(), format!("Found no location with ID {id}"));
    let e = p.delete_location(&id).await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    t.push(err(PortalError::from_name(
        e.name(),
        e.message().replace(&id, "<id>"),
    )));

    // Delete an entity by uid; its root's refresh brings it back.
    let svc_b = p
        .entity_by_ref(&r("component:default/svc-b"))
        .await
        .unwrap()
        .unwrap();
    let uid = svc_b.as_map()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    p.delete_entity_by_uid(&uid).await.unwrap();
    assert!(p.entity_by_uid(&uid).await.unwrap().is_none());
    let e = p.delete_entity_by_uid(&uid).await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    t.push(err(PortalError::from_name(
        e.name(),
        e.message().replace(&uid, "<uid>"),
    )));
    p.refresh(RefreshRequest {
        entity_ref: Some(r("component:default/svc-a")),
        progress: None,
        periodic: false,
    })
    .await
    .unwrap();
    assert!(p
        .entity_by_ref(&r("component:default/svc-b"))
        .await
        .unwrap()
        .is_some());
    let e = p
        .refresh(RefreshRequest {
            entity_ref: Some(r("component:default/nope")),
            progress: None,
            periodic: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    t.push(err(e));
    t
}

#[tokio::test]
async fn local_and_http_read_the_same() {
    let (dir, local) = seeded().await;
    let direct = read_contract(local.as_ref(), dir.path()).await;
    let http = stagedoor_tests::over_http(local.clone(), "test-token").await;
    let remote = read_contract(&http, dir.path()).await;
    assert_eq!(direct.len(), remote.len());
    for (a, b) in direct.iter().zip(&remote) {
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn local_and_http_write_the_same() {
    let (dir_a, local_a) = seeded().await;
    let direct = write_contract(local_a.as_ref(), dir_a.path()).await;
    let (dir_b, local_b) = seeded().await;
    let http = stagedoor_tests::over_http(local_b, "test-token").await;
    let remote = write_contract(&http, dir_b.path()).await;
    // Targets differ by tempdir: compare with each side's directory masked.
    let mask = |t: Vec<Value>, dir: &Path| -> String {
        serde_json::to_string(&t)
            .unwrap()
            .replace(&dir.display().to_string(), "<dir>")
    };
    assert_eq!(mask(direct, dir_a.path()), mask(remote, dir_b.path()));
}

/// A transcript without what differs between two stores holding the same catalog: uids, etags and the
/// temporary directory.
fn comparable(t: &[Value], dir: &Path, uids: &[(String, String)]) -> String {
    let mut text = serde_json::to_string(t)
        .unwrap()
        .replace(&dir.display().to_string(), "<dir>");
    for (uid, name) in uids {
        text = text.replace(uid, name);
    }
    let text = regex::Regex::new(r#""etag":"[0-9a-f]{32}""#)
        .unwrap()
        .replace_all(&text, r#""etag":"<etag>""#)
        .into_owned();
    // Generated Location names hash their target, which holds the temporary directory.
    regex::Regex::new("generated-[0-9a-f]{40}")
        .unwrap()
        .replace_all(&text, "generated-<hash>")
        .into_owned()
}

/// `(uid, ref)` of every stored entity, so transcripts name entities by ref instead of by random uid.
async fn uid_names(p: &dyn Portal) -> Vec<(String, String)> {
    let page = p
        .query_entities(EntityQuery {
            limit: Some(1000),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    page.items
        .iter()
        .map(|e| {
            (
                e.uid().unwrap_or_default().to_string(),
                e.entity_ref().canonical(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_read_the_same_embedded_and_over_http() {
    let Some(db) = TestDatabase::create("the portal read contract") else {
        return;
    };
    let (dir_a, sqlite) = seeded().await;
    let expected = read_contract(sqlite.as_ref(), dir_a.path()).await;
    let expected = comparable(&expected, dir_a.path(), &uid_names(sqlite.as_ref()).await);
    let (dir_b, postgres) = seeded_on(Some(&db)).await;
    let uids = uid_names(postgres.as_ref()).await;
    let direct = read_contract(postgres.as_ref(), dir_b.path()).await;
    assert_eq!(expected, comparable(&direct, dir_b.path(), &uids));
    let http = stagedoor_tests::over_http(postgres.clone(), "test-token").await;
    let remote = read_contract(&http, dir_b.path()).await;
    assert_eq!(expected, comparable(&remote, dir_b.path(), &uids));
}

#[tokio::test]
async fn sqlite_and_postgres_write_the_same() {
    let Some(db) = TestDatabase::create("the portal write contract") else {
        return;
    };
    let (dir_a, sqlite) = seeded().await;
    let expected = write_contract(sqlite.as_ref(), dir_a.path()).await;
    let expected = comparable(&expected, dir_a.path(), &[]);
    let (dir_b, postgres) = seeded_on(Some(&db)).await;
    let http = stagedoor_tests::over_http(postgres, "test-token").await;
    let remote = write_contract(&http, dir_b.path()).await;
    assert_eq!(expected, comparable(&remote, dir_b.path(), &[]));
}

#[tokio::test]
async fn whole_catalog_refresh_is_refused_over_http() {
    let (_dir, local) = seeded().await;
    let http = stagedoor_tests::over_http(local, "test-token").await;
    let e = http.refresh(RefreshRequest::default()).await.unwrap_err();
    assert_eq!(e.name(), "InputError");
}

#[tokio::test]
async fn http_errors_without_backstage_bodies_are_clear() {
    // A server that is not a catalog: every route 404s with a plain body; a by-ref lookup reads as missing,
    // other calls name the URL and status.
    let server = stagedoor_tests::TestHttpServer::start().await;
    let http = HttpPortal::new(&server.base, None).unwrap();
    assert!(http
        .entity_by_ref(&r("component:default/a"))
        .await
        .unwrap()
        .is_none());
    let e = http.locations().await.unwrap_err();
    assert_eq!(e.name(), "NotFoundError");
    assert!(e
        .message()
        .contains(&format!("{}/api/catalog/locations", server.base)));
    assert!(e.message().contains("404"), "{e}");
    server.route(
        "/api/catalog/locations",
        stagedoor_tests::Response::ok("<html>not json</html>"),
    );
    let e = http.locations().await.unwrap_err();
    assert_eq!(e.name(), "Error");
    assert!(e.message().contains("not json"), "{e}");
}
