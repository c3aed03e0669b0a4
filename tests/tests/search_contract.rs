//! The search part of the Portal contract: `Portal::search` over the sample organisation (`catalog/`, through
//! the repository's own app-config.yaml) answers the same through the embedded `LocalPortal` and through
//! `HttpPortal` talking real HTTP to stagedoor's server: the same results in the same order, the same
//! cursors, page after page. On SQLite, and on PostgreSQL when `STAGEDOOR_TEST_POSTGRES` is set. The
//! assertions hold for any engine: which results come first is the engine's business, only that both
//! paths agree, and that a clear term finds its entity.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use stagedoor_core::config::Config;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::search::{SearchQuery, SearchResultSet};
use stagedoor_core::{LocalPortal, Portal, PortalError};
use stagedoor_server::client::HttpPortal;
use stagedoor_tests::pg::TestDatabase;

const TOKEN: &str = "search-contract-token";

/// The sample catalog on SQLite in a temporary directory, or on the given PostgreSQL database.
async fn sample(pg: Option<&TestDatabase>) -> (tempfile::TempDir, Arc<LocalPortal>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut config =
        Config::load(&[repo.join("app-config.yaml")], &repo).expect("app-config.yaml loads");
    let data = tempfile::tempdir().unwrap();
    config.root["backend"]["database"] = match pg {
        Some(db) => json!({"client": "pg", "connection": db.url}),
        None => json!({"client": "better-sqlite3", "connection": {"directory": data.path()}}),
    };
    config.root["catalog"]["processingInterval"] = json!(false);
    let portal = LocalPortal::from_config(config).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    (data, Arc::new(portal))
}

fn query(term: &str) -> SearchQuery {
    SearchQuery {
        term: term.into(),
        ..SearchQuery::default()
    }
}

fn answer(result: Result<SearchResultSet, PortalError>) -> Value {
    match result {
        Ok(set) => serde_json::to_value(set).unwrap(),
        Err(e) => json!({"error": e.name()}),
    }
}

/// Every page of `first`, following next cursors (bounded), as the answers came.
async fn pages(p: &dyn Portal, first: SearchQuery) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.clone());
    while let Some(q) = next.take() {
        let set = p.search(q.clone()).await;
        if let Ok(set) = &set {
            next = set.next_page_cursor.clone().map(|cursor| SearchQuery {
                page_cursor: Some(cursor),
                ..first.clone()
            });
        }
        out.push(answer(set));
        assert!(out.len() < 100, "the pages never end");
    }
    out
}

/// The queries both paths must answer alike.
fn queries() -> Vec<SearchQuery> {
    let mut filtered = query("shipment");
    filtered
        .filters
        .insert("kind".into(), vec!["Component".into(), "API".into()]);
    vec![
        query("shipment-tracker"),
        query("shipment"),
        SearchQuery {
            types: vec!["software-catalog".into()],
            ..query("shipment-tracker")
        },
        SearchQuery {
            types: vec!["techdocs".into()],
            ..query("shipment-tracker")
        },
        filtered,
        SearchQuery {
            page_limit: Some(2),
            ..query("shipment")
        },
        SearchQuery {
            page_limit: Some(1),
            ..query("tracker")
        },
        query(""),
        query("no-such-thing-anywhere"),
        query("\"unbalanced AND title: *"),
    ]
}

/// Asserts what any engine must do on the sample catalog, then returns every answer.
async fn contract(p: &dyn Portal) -> Vec<Value> {
    let found = p.search(query("shipment-tracker")).await.unwrap();
    assert!(
        found
            .results
            .iter()
            .any(|r| r.doc_type == "software-catalog"
                && r.field("location") == Some("/catalog/default/Component/shipment-tracker")),
        "{found:#?}"
    );
    let mut all = Vec::new();
    for q in queries() {
        let answers = pages(p, q.clone()).await;
        all.push(json!({"query": format!("{q:?}"), "pages": answers}));
    }
    all
}

async fn compare(pg: Option<&TestDatabase>) {
    let (_data, portal) = sample(pg).await;
    let local = contract(portal.as_ref()).await;
    let http = stagedoor_tests::over_http(portal, TOKEN).await;
    let remote = contract(&http).await;
    for (l, r) in local.iter().zip(&remote) {
        assert_eq!(l, r, "embedded and over HTTP differ");
    }
    assert_eq!(local.len(), remote.len());
}

#[tokio::test]
async fn sqlite_embedded_and_over_http_search_alike() {
    compare(None).await;
}

#[tokio::test]
async fn postgres_embedded_and_over_http_search_alike() {
    let Some(db) = TestDatabase::create("the search contract") else {
        return;
    };
    compare(Some(&db)).await;
}

#[tokio::test]
async fn the_server_refuses_what_backstage_refuses() {
    let (_data, portal) = sample(None).await;
    let http = stagedoor_tests::over_http(portal, TOKEN).await;
    let long = http.search(query(&"x".repeat(101))).await.unwrap_err();
    assert!(matches!(long, PortalError::Input(_)), "{long:?}");
    assert!(long.message().contains("\"100\""), "{long}");
    assert!(http.search(query(&"x".repeat(100))).await.is_ok());
    let limit = http
        .search(SearchQuery {
            page_limit: Some(101),
            ..query("shipment")
        })
        .await
        .unwrap_err();
    assert!(matches!(limit, PortalError::Input(_)), "{limit:?}");
    let unknown = http
        .search(SearchQuery {
            types: vec!["tools".into()],
            ..query("shipment")
        })
        .await
        .unwrap_err();
    assert!(unknown.message().contains("tools"), "{unknown}");
    let anonymous = HttpPortal::new(http.catalog_url().as_str(), None).unwrap();
    let denied = anonymous.search(query("shipment")).await.unwrap_err();
    assert!(
        matches!(denied, PortalError::Authentication(_)),
        "{denied:?}"
    );
}
