//! [`SqliteStore`]: the catalog store on rusqlite (bundled SQLite), WAL mode, migrations at open.
//!
//! [`SqliteConn`] adapts a rusqlite connection to [`SqlConn`]; the store's logic is [`SqlStore`]'s. A file
//! database gets one writer and a few read connections (WAL lets readers proceed while a refresh writes);
//! an in-memory database has a single connection for everything.

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};

use super::migrations::{self, db};
use super::sql::{Cell, ColumnType, Dialect, Param, SqlConn, SqlRow};
use super::sql_store::SqlStore;
use super::StoreError;

/// The SQLite catalog store.
pub type SqliteStore = SqlStore<SqliteConn>;

/// Read connections opened beside the writer for a file database.
const READERS: usize = 2;
const STATEMENT_CACHE: usize = 128;
/// Helper threads SQLite's sorter may use when it builds an index from more rows than fit the cache.
const SORTER_THREADS: i64 = 1;
/// The writer's page cache ceiling, in KiB (negative: SQLite reads it as KiB). 32 MiB holds the randomly
/// written index pages of a 100,000-entity catalog now that rows are short and big writes rebuild their
/// indexes; 128 MiB measured no faster (a 100k import: 17 s at 128 MiB, 16-17 s at 32 MiB, 17.4 s at
/// 16 MiB) and cost 200 MB more memory.
const WRITER_CACHE_KIB: i64 = -32_768;

/// A rusqlite connection as the store's [`SqlConn`]. Statements are prepared once and cached.
pub struct SqliteConn(pub(crate) Connection);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Param::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(v) => Cell::Int(v),
        ValueRef::Real(v) => Cell::Text(v.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Cell::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

impl SqlConn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let n = self
            .0
            .prepare_cached(sql)
            .map_err(db)?
            .execute(params_from_iter(params.iter()))
            .map_err(db)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<SqlRow>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(cell(row.get_ref(i).map_err(db)?));
            }
            out.push(SqlRow(cells));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.0.execute_batch(sql).map_err(db)
    }

    fn begin(&mut self, write: bool) -> Result<(), StoreError> {
        // Immediate: a writer takes the lock before it reads, so two writers never both read and then
        // deadlock upgrading.
        self.batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN" })
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if self.0.is_autocommit() {
            return Ok(());
        }
        self.batch("ROLLBACK")
    }

    fn change_stamp(&mut self) -> Result<String, StoreError> {
        // `data_version` moves on commits by other connections, `total_changes` on this one's.
        let data_version: i64 = self
            .0
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db)?;
        Ok(format!("{data_version}:{}", self.0.total_changes()))
    }

    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[(&str, ColumnType)],
        values: &[Param<'_>],
    ) -> Result<(), StoreError> {
        if columns.is_empty() || values.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            names.join(", ")
        );
        let mut stmt = self.0.prepare_cached(&sql).map_err(db)?;
        for row in values.chunks(columns.len()) {
            stmt.execute(params_from_iter(row.iter())).map_err(db)?;
        }
        Ok(())
    }
}

impl SqlStore<SqliteConn> {
    /// Opens (creating if needed) a database file, applying migrations; refuses a newer schema.
    /// `:memory:` opens a private in-memory database.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if path.as_os_str() == ":memory:" {
            return Self::open_in_memory();
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let shown = path.display().to_string();
        let open =
            || Connection::open(path).map_err(|e| StoreError::Database(format!("{shown}: {e}")));
        let writer = open()?;
        configure(&writer, false)?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        // A root's transaction can touch every index page; with SQLite's small default cache the dirty pages
        // spill into the WAL again and again mid-transaction. The cache is a ceiling, not an allocation.
        writer
            .pragma_update(None, "cache_size", WRITER_CACHE_KIB)
            .map_err(db)?;
        // A bulk write's index rebuild sorts more rows than fit the cache: SQLite's sorter then sorts runs on
        // a helper thread while this one reads the next.
        writer
            .pragma_update(None, "threads", SORTER_THREADS)
            .map_err(db)?;
        let mut writer = SqliteConn(writer);
        migrations::migrate(&mut writer, &shown)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = open()?;
            configure(&reader, true)?;
            readers.push(SqliteConn(reader));
        }
        Ok(Self::from_connections(writer, readers))
    }

    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(db)?;
        configure(&conn, false)?;
        let mut conn = SqliteConn(conn);
        migrations::migrate(&mut conn, ":memory:")?;
        Ok(Self::from_connections(conn, Vec::new()))
    }

    /// Rows changed through the writer since open (tests use it to prove a refresh wrote nothing).
    pub async fn total_changes(&self) -> Result<u64, StoreError> {
        self.write(|s| Ok(s.conn.0.total_changes())).await
    }
}

fn configure(conn: &Connection, read_only: bool) -> Result<(), StoreError> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    if read_only {
        conn.pragma_update(None, "query_only", "ON").map_err(db)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::entity::{Entity, EntityRef, ANNOTATION_ORPHAN};
    use serde_json::{json, Value};

    /// A processed entity as ingest would hand it over; the hash covers everything the store compares.
    fn pe(value: Value, location_key: &str, relations: &[(&str, &str, &str)]) -> ProcessedEntity {
        let entity = Entity::from_value(value).unwrap();
        let entity_ref = entity.entity_ref().canonical();
        let relations: Vec<RelationRow> = relations
            .iter()
            .map(|(s, t, d)| RelationRow {
                source: s.to_string(),
                relation_type: t.to_string(),
                target: d.to_string(),
            })
            .collect();
        let hash = format!(
            "{}|{location_key}|{relations:?}",
            serde_json::to_string(&entity).unwrap()
        );
        ProcessedEntity {
            entity,
            entity_ref,
            location_key: location_key.into(),
            parent_ref: None,
            relations,
            errors: Vec::new(),
            hash,
        }
    }

    fn component(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": name}, "spec": spec})
    }

    fn ingest(origin: &str, entities: Vec<ProcessedEntity>) -> LocationIngest {
        LocationIngest {
            origin: origin.into(),
            entities,
            ..Default::default()
        }
    }

    fn r(text: &str) -> EntityRef {
        EntityRef::parse(text).unwrap()
    }

    async fn get(store: &SqliteStore, text: &str) -> Option<Entity> {
        store.entity_by_ref(&r(text)).await.unwrap()
    }

    const ORIGIN: &str = "file:/cat/all.yaml";
    const FILE_A: &str = "file:/cat/a.yaml";
    const FILE_B: &str = "file:/cat/b.yaml";

    fn two() -> Vec<ProcessedEntity> {
        vec![
            pe(component("a", json!({"type": "service"})), FILE_A, &[]),
            pe(component("b", json!({"type": "website"})), FILE_B, &[]),
        ]
    }

    #[tokio::test]
    async fn insert_update_and_unchanged() {
        let store = SqliteStore::open_in_memory().unwrap();
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!((stats.inserted, stats.updated, stats.unchanged), (2, 0, 0));
        let a1 = get(&store, "component:default/a").await.unwrap();
        let uid = a1.uid().unwrap().to_string();
        let etag1 = a1.get_path("metadata.etag").cloned().unwrap();

        let before = store.total_changes().await.unwrap();
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(
            stats,
            WriteStats {
                unchanged: 2,
                ..Default::default()
            }
        );
        assert!(!stats.wrote_anything());
        assert_eq!(store.total_changes().await.unwrap(), before);

        let mut changed = two();
        changed[0] = pe(component("a", json!({"type": "library"})), FILE_A, &[]);
        let stats = store
            .apply_location(ingest(ORIGIN, changed), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!((stats.updated, stats.unchanged), (1, 1));
        let a2 = get(&store, "Component:default/A").await.unwrap();
        assert_eq!(a2.uid(), Some(uid.as_str()));
        assert_ne!(a2.get_path("metadata.etag").cloned().unwrap(), etag1);
        assert_eq!(a2.spec_str("type"), Some("library"));
        assert_eq!(store.entity_count().await.unwrap(), 2);
        assert_eq!(store.origins().await.unwrap(), vec![ORIGIN.to_string()]);
        let prov = store
            .provenance(&r("component:default/a"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prov.location_key, FILE_A);
        assert_eq!(prov.origin, ORIGIN);
        let by_uid = store.entity_by_uid(&uid).await.unwrap().unwrap();
        assert_eq!(by_uid, a2);
        // The old search rows are gone: the old type no longer matches.
        let old = EntityPredicate::from_filter_params(&["spec.type=service".into()]).unwrap();
        let page = store
            .query_entities(&EntityQuery {
                filter: old,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total_items, 0);
    }

    #[tokio::test]
    async fn orphans_are_kept_and_marked_or_deleted() {
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Keep)
            .await
            .unwrap();
        let only_a = || ingest(ORIGIN, two().into_iter().take(1).collect());
        let stats = store
            .apply_location(only_a(), OrphanStrategy::Keep)
            .await
            .unwrap();
        assert_eq!((stats.orphaned, stats.unchanged), (1, 1));
        let b = get(&store, "component:default/b").await.unwrap();
        assert_eq!(b.annotation(ANNOTATION_ORPHAN), Some("true"));
        let orphan_filter = EntityPredicate::from_filter_params(&[
            "metadata.annotations.backstage.io/orphan=true".into(),
        ])
        .unwrap();
        let page = store
            .query_entities(&EntityQuery {
                filter: orphan_filter.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].name(), "b");

        let before = store.total_changes().await.unwrap();
        let stats = store
            .apply_location(only_a(), OrphanStrategy::Keep)
            .await
            .unwrap();
        assert_eq!(stats.orphaned, 0);
        assert_eq!(store.total_changes().await.unwrap(), before);

        // Emitted again: no longer an orphan.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Keep)
            .await
            .unwrap();
        assert_eq!((stats.updated, stats.unchanged), (1, 1));
        let b = get(&store, "component:default/b").await.unwrap();
        assert_eq!(b.annotation(ANNOTATION_ORPHAN), None);
        let page = store
            .query_entities(&EntityQuery {
                filter: orphan_filter,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.total_items), (0, 0));

        let stats = store
            .apply_location(only_a(), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.deleted, 1);
        assert!(get(&store, "component:default/b").await.is_none());
        assert_eq!(store.entity_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn failed_files_and_entities_keep_what_was_stored() {
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        // b.yaml could not be read: b stays.
        let mut failed_file = ingest(ORIGIN, two().into_iter().take(1).collect());
        failed_file.failed_location_keys = vec![FILE_B.into()];
        let stats = store
            .apply_location(failed_file, OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.deleted, 0);
        assert!(get(&store, "component:default/b").await.is_some());

        // b failed processing: its old version stays, with the new errors in status.items.
        let failed_entity = || {
            let mut i = ingest(ORIGIN, two().into_iter().take(1).collect());
            i.failed_entities = vec![
                FailedEntity {
                    entity_ref: "component:default/b".into(),
                    location_key: FILE_B.into(),
                    errors: vec![ProcessingError::new("InputError", "spec.type is bad")],
                },
                FailedEntity {
                    entity_ref: "component:default/never".into(),
                    location_key: FILE_B.into(),
                    errors: vec![ProcessingError::new("InputError", "nope")],
                },
            ];
            i
        };
        let stats = store
            .apply_location(failed_entity(), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!((stats.updated, stats.deleted, stats.inserted), (1, 0, 0));
        let b = get(&store, "component:default/b").await.unwrap();
        assert_eq!(b.spec_str("type"), Some("website"));
        assert_eq!(
            b.get_path("status").unwrap(),
            &json!({"items": [{
                "type": "backstage.io/catalog-processing",
                "level": "error",
                "message": "InputError: spec.type is bad",
                "error": {"name": "InputError", "message": "spec.type is bad"}
            }]})
        );
        assert!(get(&store, "component:default/never").await.is_none());
        let before = store.total_changes().await.unwrap();
        let stats = store
            .apply_location(failed_entity(), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert!(!stats.wrote_anything());
        assert_eq!(store.total_changes().await.unwrap(), before);
        // Fixed again: the errors go away.
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        let b = get(&store, "component:default/b").await.unwrap();
        assert!(b.get_path("status").is_none());
    }

    #[tokio::test]
    async fn a_file_database_persists_and_refuses_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/catalog.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store
                .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
                .await
                .unwrap();
            store
                .add_location("url", "https://x/catalog-info.yaml")
                .await
                .unwrap();
        }
        {
            let store = SqliteStore::open(&path).unwrap();
            assert_eq!(store.entity_count().await.unwrap(), 2);
            assert_eq!(store.locations().await.unwrap().len(), 1);
            let before = store.total_changes().await.unwrap();
            let stats = store
                .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
                .await
                .unwrap();
            assert_eq!(stats.unchanged, 2);
            assert!(!stats.wrote_anything());
            assert_eq!(store.total_changes().await.unwrap(), before);
            assert!(get(&store, "component:default/a").await.is_some());
            // Counts and facets are cached per read connection; a commit must invalidate them.
            let q = EntityQuery {
                filter: EntityPredicate::from_filter_params(&["kind=component".into()]).unwrap(),
                ..Default::default()
            };
            let facet = vec!["spec.type".to_string()];
            for _ in 0..3 {
                assert_eq!(store.query_entities(&q).await.unwrap().total_items, 2);
                assert_eq!(
                    store.facets(&facet, None).await.unwrap()["spec.type"].len(),
                    2
                );
            }
            store
                .apply_location(
                    ingest(ORIGIN, two().into_iter().take(1).collect()),
                    OrphanStrategy::Delete,
                )
                .await
                .unwrap();
            for _ in 0..3 {
                assert_eq!(store.query_entities(&q).await.unwrap().total_items, 1);
                assert_eq!(
                    store.facets(&facet, None).await.unwrap()["spec.type"].len(),
                    1
                );
            }
            store
                .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
                .await
                .unwrap();
        }
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute("INSERT INTO schema_version (version) VALUES (9999)", [])
                .unwrap();
        }
        match SqliteStore::open(&path) {
            Err(StoreError::SchemaTooNew { path: p, found, .. }) => {
                assert_eq!(found, 9999);
                assert!(p.ends_with("catalog.db"), "{p}");
            }
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("a newer schema was accepted"),
        }
    }

    /// The Backstage example catalog: every document stores, indexes cleanly and pages back whole.

    #[test]
    fn a_write_failing_mid_refresh_rolls_back_and_returns() {
        // A runtime of the test's own, shut down with a timeout: a hung apply then fails the test instead of
        // hanging it (the blocking thread is abandoned).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
        let applied = runtime.block_on({
            let store = store.clone();
            async move {
                // Fails the 10th of 1000 inserts, while the preparing thread is far ahead (its channel full).
                store
                    .write(|s| {
                        s.conn.batch(
                            "CREATE TRIGGER boom BEFORE INSERT ON entities \
                             WHEN NEW.entity_ref = 'component:default/c-9' \
                             BEGIN SELECT RAISE(ABORT, 'boom'); END",
                        )
                    })
                    .await
                    .unwrap();
                let many: Vec<ProcessedEntity> = (0..1000)
                    .map(|i| pe(component(&format!("c-{i}"), json!({})), FILE_A, &[]))
                    .collect();
                tokio::time::timeout(
                    std::time::Duration::from_secs(30),
                    store.apply_location(ingest(ORIGIN, many), OrphanStrategy::Delete),
                )
                .await
            }
        });
        let Ok(applied) = applied else {
            runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            panic!("apply hung after a failed write");
        };
        match applied {
            Err(StoreError::Database(message)) => assert!(message.contains("boom"), "{message}"),
            other => panic!("{other:?}"),
        }
        runtime.block_on(async {
            assert_eq!(store.entity_count().await.unwrap(), 0);
            let stats = store
                .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
                .await
                .unwrap();
            assert_eq!(stats.inserted, 2);
        });
    }

    #[tokio::test]
    async fn a_panic_inside_a_call_does_not_break_the_store() {
        let store = SqliteStore::open_in_memory().unwrap();
        let failed = store
            .write(|s| -> Result<(), StoreError> {
                // Left open by the panic: the next call must roll it back, not fail on a nested BEGIN.
                s.conn.begin(true)?;
                s.conn.execute("DELETE FROM locations", &[])?;
                panic!("boom")
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Database(_))));
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.inserted, 2);
        assert_eq!(store.entity_count().await.unwrap(), 2);
    }

    /// Entity number `i` of the synthetic scale catalog: every tenth an API, owners over 50 groups.
    fn synthetic(i: usize, origin: &str) -> ProcessedEntity {
        let kind = if i.is_multiple_of(10) {
            "API"
        } else {
            "Component"
        };
        let owner = format!("group:default/g{}", i % 50);
        let me = format!("{}:default/e{i}", kind.to_lowercase());
        pe(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind,
                   "metadata": {"name": format!("e{i}"), "tags": [format!("t{}", i % 20), "common"],
                                "annotations": {"backstage.io/techdocs-ref": "dir:."},
                                "description": format!("entity number {i}")},
                   "spec": {"type": format!("type{}", i % 5), "owner": owner, "lifecycle": "production"}}),
            origin,
            &[
                (me.as_str(), "ownedBy", owner.as_str()),
                (owner.as_str(), "ownerOf", me.as_str()),
            ],
        )
    }

    /// Timings at 100k entities; prints, never asserts on time. `cargo test -p stagedoor-core --release
    /// store::sqlite::tests::scale -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore]
    async fn scale() {
        use std::time::Instant;
        let n: usize = std::env::var("STAGEDOOR_SCALE_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let dir = tempfile::tempdir().unwrap();
        let db_path = std::env::var("STAGEDOOR_SCALE_DB")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| dir.path().join("scale.db"));
        let _ = std::fs::remove_file(&db_path);
        let store = SqliteStore::open(&db_path).unwrap();
        let t = Instant::now();
        let per_origin = 10_000;
        for o in 0..n.div_ceil(per_origin) {
            let origin = format!("file:/scale/{o}.yaml");
            let entities = (o * per_origin..((o + 1) * per_origin).min(n))
                .map(|i| synthetic(i, &origin))
                .collect();
            store
                .apply_location(ingest(&origin, entities), OrphanStrategy::Delete)
                .await
                .unwrap();
        }
        println!("insert {n}: {:?}", t.elapsed());
        let origin = "file:/scale/0.yaml".to_string();

        async fn time<F, Fut, T>(label: &str, runs: usize, f: F)
        where
            F: Fn() -> Fut,
            Fut: std::future::Future<Output = T>,
        {
            let mut v = Vec::with_capacity(runs);
            for _ in 0..runs {
                let t = Instant::now();
                let _ = f().await;
                v.push(t.elapsed());
            }
            v.sort();
            println!("{label}: p50 {:?} p90 {:?}", v[runs / 2], v[runs * 9 / 10]);
        }
        let filter =
            EntityPredicate::from_filter_params(&["kind=component,spec.type=type3".into()])
                .unwrap();
        let q_filter = EntityQuery {
            filter: filter.clone(),
            limit: Some(50),
            ..Default::default()
        };
        let q_nocount = EntityQuery {
            skip_total_items: true,
            ..q_filter.clone()
        };
        let owned =
            EntityPredicate::from_filter_params(&["relations.ownedBy=group:default/g7".into()])
                .unwrap();
        let q_owned = EntityQuery {
            filter: owned,
            limit: Some(50),
            ..Default::default()
        };
        let q_name = EntityQuery {
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Asc,
            }],
            ..q_filter.clone()
        };
        let q_all = EntityQuery {
            limit: Some(50),
            ..Default::default()
        };
        time("by-query page 50 filter", 50, || {
            store.query_entities(&q_filter)
        })
        .await;
        time("by-query page 50 filter no count", 50, || {
            store.query_entities(&q_nocount)
        })
        .await;
        time("by-query page 50 owned", 50, || {
            store.query_entities(&q_owned)
        })
        .await;
        time("by-query page 50 order by name", 10, || {
            store.query_entities(&q_name)
        })
        .await;
        time("by-query page 50 no filter", 50, || {
            store.query_entities(&q_all)
        })
        .await;
        let e = r("component:default/e12345");
        time("get by ref", 200, || store.entity_by_ref(&e)).await;
        let kind_type: Vec<String> = vec!["kind".into(), "spec.type".into()];
        let lifecycle: Vec<String> = vec!["spec.lifecycle".into()];
        time("facets kind+spec.type", 10, || {
            store.facets(&kind_type, None)
        })
        .await;
        time("facets with filter", 10, || {
            store.facets(&lifecycle, filter.as_ref())
        })
        .await;
        let t = Instant::now();
        let entities: Vec<ProcessedEntity> = (0..10_000).map(|i| synthetic(i, &origin)).collect();
        let stats = store
            .apply_location(ingest(&origin, entities), OrphanStrategy::Delete)
            .await
            .unwrap();
        println!("reapply 10k unchanged: {:?} {stats:?}", t.elapsed());
    }
}
