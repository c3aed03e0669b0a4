//! Fresh, empty [`Store`]s of every backend, for the cross-backend contract suite (`tests/store_contract.rs`),
//! and builders for what ingest hands a store.
//!
//! Backends: `sqlite-memory` and `sqlite-file` always; `postgres` when `STAGEDOOR_TEST_POSTGRES` is set.

use std::sync::Arc;

use serde_json::Value;
use stagedoor_core::store::{
    LocationIngest, PgOptions, PostgresStore, ProcessedEntity, RelationRow, SqliteStore, Store,
};
use stagedoor_core::Entity;

use crate::pg::TestDatabase;

/// One fresh, empty store. `name` goes into every assertion message so a failure names its backend.
pub struct TestStore {
    pub name: String,
    pub store: Arc<dyn Store>,
    /// Whatever must outlive the store (the directory of a file database, a test database); dropped after it.
    pub _guard: Option<Box<dyn std::any::Any + Send>>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A fresh, empty store of every backend available here: `sqlite-memory`, `sqlite-file`, then `postgres`
/// when [`postgres_store`] gives one.
pub async fn fresh_stores() -> Vec<TestStore> {
    let mut stores = vec![sqlite_memory(), sqlite_file()];
    if let Some(pg) = postgres_store().await {
        stores.push(pg);
    }
    stores
}

/// A private in-memory SQLite database (one connection for reads and writes).
pub fn sqlite_memory() -> TestStore {
    TestStore {
        name: "sqlite-memory".into(),
        store: Arc::new(SqliteStore::open_in_memory().expect("open in-memory sqlite")),
        _guard: None,
    }
}

/// A SQLite file in a new temporary directory (WAL, a writer and separate read connections).
pub fn sqlite_file() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir for sqlite-file");
    let store = SqliteStore::open(&dir.path().join("catalog.sqlite")).expect("open sqlite file");
    TestStore {
        name: "sqlite-file".into(),
        store: Arc::new(store),
        _guard: Some(Box::new(dir)),
    }
}

/// A fresh, empty PostgreSQL store in a database of its own (tests run in parallel and each expects an empty
/// store), dropped with the returned guard; `None`, with a note on stderr, when `STAGEDOOR_TEST_POSTGRES` is
/// not set.
pub async fn postgres_store() -> Option<TestStore> {
    let db = TestDatabase::create("the store contract")?;
    let store = PostgresStore::connect(&PgOptions::new(db.url.clone()))
        .unwrap_or_else(|e| panic!("open the PostgreSQL store: {e}"));
    Some(TestStore {
        name: "postgres".into(),
        store: Arc::new(store),
        _guard: Some(Box::new(db)),
    })
}

/// A processed entity as ingest hands it over: its ref from the entity, `location_key` as given, the relation
/// rows `(source, type, target)`, no parent, no errors, and a hash covering all of it.
pub fn processed(
    value: Value,
    location_key: &str,
    relations: &[(&str, &str, &str)],
) -> ProcessedEntity {
    let entity = Entity::from_value(value).expect("an entity is a JSON object");
    let entity_ref = entity.entity_ref().canonical();
    let relations = relations
        .iter()
        .map(|(s, t, d)| RelationRow {
            source: s.to_string(),
            relation_type: t.to_string(),
            target: d.to_string(),
        })
        .collect();
    let mut p = ProcessedEntity {
        entity,
        entity_ref,
        location_key: location_key.into(),
        parent_ref: None,
        relations,
        errors: Vec::new(),
        hash: String::new(),
    };
    rehash(&mut p);
    p
}

/// Recomputes `hash` after a field of `p` was changed by hand.
pub fn rehash(p: &mut ProcessedEntity) {
    p.hash = format!(
        "{}|{}|{:?}|{:?}|{:?}",
        serde_json::to_string(&p.entity).expect("entity serializes"),
        p.location_key,
        p.parent_ref,
        p.relations,
        p.errors
    );
}

/// A refresh of `origin` that emitted `entities` and had no failures.
pub fn ingest(origin: &str, entities: Vec<ProcessedEntity>) -> LocationIngest {
    LocationIngest {
        origin: origin.into(),
        entities,
        ..Default::default()
    }
}
