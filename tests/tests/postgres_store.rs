//! What only the PostgreSQL store has to get right: creating a missing database, reconnecting after the
//! server drops its sessions, and clear errors for a server it cannot reach. Skipped without
//! `STAGEDOOR_TEST_POSTGRES`.

use serde_json::json;
use stagedoor_core::store::{OrphanStrategy, PgOptions, PostgresStore, Store};
use stagedoor_core::LocalPortal;
use stagedoor_tests::pg::TestDatabase;
use stagedoor_tests::stores::{ingest, processed};

fn component(name: &str) -> serde_json::Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
           "metadata": {"name": name}, "spec": {"type": "service", "owner": "team-a"}})
}

#[tokio::test]
async fn a_missing_database_is_created_and_migrated() {
    let Some(db) = TestDatabase::create("database creation") else {
        return;
    };
    let (url, _guard) = db.sibling_url("created");
    let store = PostgresStore::connect(&PgOptions::new(url.clone())).unwrap();
    assert_eq!(store.entity_count().await.unwrap(), 0);
    // Opening it again finds the schema in place.
    drop(store);
    let again = PostgresStore::connect(&PgOptions::new(url)).unwrap();
    assert_eq!(again.entity_count().await.unwrap(), 0);
}

#[tokio::test]
async fn the_store_reconnects_after_the_server_drops_its_sessions() {
    let Some(db) = TestDatabase::create("reconnection") else {
        return;
    };
    let store = PostgresStore::connect(&PgOptions::new(db.url.clone())).unwrap();
    store
        .apply_location(
            ingest(
                "file:/a.yaml",
                vec![processed(component("a"), "file:/a.yaml", &[])],
            ),
            OrphanStrategy::Delete,
        )
        .await
        .unwrap();
    db.terminate_connections();
    // Reads and writes work again: at most the first call on each connection fails while it notices.
    let mut count = None;
    for _ in 0..10 {
        if let Ok(n) = store.entity_count().await {
            count = Some(n);
            break;
        }
    }
    assert_eq!(count, Some(1));
    let mut applied = None;
    for _ in 0..3 {
        if let Ok(stats) = store
            .apply_location(
                ingest(
                    "file:/a.yaml",
                    vec![
                        processed(component("a"), "file:/a.yaml", &[]),
                        processed(component("b"), "file:/a.yaml", &[]),
                    ],
                ),
                OrphanStrategy::Delete,
            )
            .await
        {
            applied = Some(stats);
            break;
        }
    }
    assert_eq!(applied.map(|s| s.inserted), Some(1));
    assert_eq!(store.entity_count().await.unwrap(), 2);
}

#[test]
fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = stagedoor_tests::config(
        &[],
        dir.path(),
        json!({"backend": {"database": {"client": "pg",
            "connection": {"host": "127.0.0.1", "port": 1, "user": "app", "password": "s3cret-pw", "database": "catalog"}}}}),
    );
    let err = match LocalPortal::from_config(config) {
        Ok(_) => panic!("connected to port 1"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cannot connect to PostgreSQL at"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}
