//! [`SqliteStore`]: the [`Store`] on rusqlite, WAL mode, migrations at open.
//!
//! One writer connection behind a mutex and, for a file database, a few read connections (WAL lets readers
//! proceed while a refresh writes). Every call runs on tokio's blocking pool so a long refresh transaction never
//! stalls the async runtime. An in-memory database has a single connection for everything.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};

use super::migrations::{self, db};
use super::query;
use super::search_rows::{build_search_rows, orphan_key, SearchRow};
use super::*;
use crate::entity::ANNOTATION_ORPHAN;

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

// The fixed statements of the store; the dynamic ones (filters, paging, facets) are built in `query`.
const SELECT_ORIGIN_STATE: &str =
    "SELECT entity_ref, id, hash, errors, location_key, orphan, uid FROM entities WHERE origin = ?1";
const SELECT_CLAIM: &str = "SELECT location_key, origin FROM entities WHERE entity_ref = ?1";
const INSERT_ENTITY: &str =
    "INSERT INTO entities (id, uid, entity_ref, body, hash, etag, location_key, \
     origin, parent_ref, errors, search_error, orphan) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)";
const SELECT_REF_ID: &str = "SELECT id FROM refs WHERE entity_ref = ?1";
const INSERT_REF: &str = "INSERT INTO refs (entity_ref) VALUES (?1)";
const UPDATE_ENTITY: &str =
    "UPDATE entities SET body = ?2, hash = ?3, etag = ?4, location_key = ?5, \
     origin = ?6, parent_ref = ?7, errors = ?8, search_error = ?9, orphan = 0 WHERE id = ?1";
const UPDATE_ERRORS: &str = "UPDATE entities SET errors = ?2, etag = ?3 WHERE id = ?1";
const MARK_ORPHAN: &str = "UPDATE entities SET orphan = 1, etag = ?2 WHERE id = ?1";
const DELETE_SEARCH: &str = "DELETE FROM search WHERE entity_id = ?1";
const DELETE_RELATIONS: &str = "DELETE FROM relations WHERE origin_id = ?1";
const DELETE_ENTITY: &str = "DELETE FROM entities WHERE id = ?1";
const SELECT_ID_BY_UID: &str = "SELECT id FROM entities WHERE uid = ?1";
const INSERT_SEARCH: &str = "INSERT INTO search (entity_id, seq, key_id, value, original_value) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
const INSERT_SEARCH_LAST: &str =
    "INSERT INTO search (entity_id, seq, key_id, value, original_value) \
     VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM search WHERE entity_id = ?1), ?2, ?3, ?4)";
const SELECT_SEARCH_KEY: &str = "SELECT id FROM search_keys WHERE key = ?1";
const INSERT_SEARCH_KEY: &str = "INSERT INTO search_keys (key) VALUES (?1)";
const INSERT_RELATION: &str =
    "INSERT INTO relations (origin_id, seq, source_id, type, type_key, target_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const SELECT_ENTITY_COLUMNS: &str =
    "SELECT uid, entity_ref, body, etag, errors, search_error, orphan, id FROM entities";
const SELECT_RELATIONS_OF: &str = "SELECT DISTINCT r.type, t.entity_ref FROM relations r \
     JOIN refs t ON t.id = r.target_id WHERE r.source_id = ?1 ORDER BY r.type, t.entity_ref";
const SELECT_PROVENANCE: &str =
    "SELECT entity_ref, location_key, origin, parent_ref FROM entities WHERE entity_ref = ?1";
const SELECT_ORIGINS: &str = "SELECT DISTINCT origin FROM entities ORDER BY origin";
const SELECT_DANGLING: &str =
    "SELECT DISTINCT sr.entity_ref, r.type, tr.entity_ref FROM relations r \
     JOIN refs sr ON sr.id = r.source_id JOIN refs tr ON tr.id = r.target_id \
     WHERE EXISTS (SELECT 1 FROM entities s WHERE s.id = r.source_id) \
     AND NOT EXISTS (SELECT 1 FROM entities t WHERE t.id = r.target_id) \
     ORDER BY sr.entity_ref, r.type, tr.entity_ref";
const COUNT_ENTITIES: &str = "SELECT COUNT(*) FROM entities";
const SELECT_LOCATIONS: &str = "SELECT id, type, target FROM locations ORDER BY type, target, id";
const SELECT_LOCATION: &str = "SELECT id, type, target FROM locations WHERE id = ?1";
const SELECT_LOCATION_BY_KEY: &str = "SELECT id FROM locations WHERE type = ?1 AND target = ?2";
const INSERT_LOCATION: &str = "INSERT INTO locations (id, type, target) VALUES (?1, ?2, ?3)";
const DELETE_LOCATION: &str = "DELETE FROM locations WHERE id = ?1";

/// A connection with the query cache that belongs to it.
struct Slot {
    conn: Connection,
    cache: query::QueryCache,
}

impl Slot {
    fn new(conn: Connection) -> Self {
        Slot {
            conn,
            cache: query::QueryCache::default(),
        }
    }
}

type Shared = Arc<Mutex<Slot>>;

/// The SQLite catalog store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writer: Shared,
    readers: Vec<Shared>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
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
        let mut writer = open()?;
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
        migrations::migrate(&mut writer, &shown)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = open()?;
            configure(&reader, true)?;
            readers.push(Arc::new(Mutex::new(Slot::new(reader))));
        }
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(Slot::new(writer))),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory().map_err(db)?;
        configure(&conn, false)?;
        migrations::migrate(&mut conn, ":memory:")?;
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(Slot::new(conn))),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    fn reader(&self) -> Shared {
        if self.readers.is_empty() {
            return self.writer.clone();
        }
        // Prefer an idle reader; otherwise queue on the next one in turn.
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                drop(guard);
                return r.clone();
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].clone()
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Slot) -> Result<T, StoreError> + Send + 'static,
    {
        run(self.reader(), f).await
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Slot) -> Result<T, StoreError> + Send + 'static,
    {
        run(self.writer.clone(), f).await
    }

    /// Rows changed through the writer since open (tests use it to prove a refresh wrote nothing).
    pub async fn total_changes(&self) -> Result<u64, StoreError> {
        self.write(|s| Ok(s.conn.total_changes())).await
    }
}

async fn run<T, F>(conn: Shared, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Slot) -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        // A panic while holding the lock leaves nothing half-done: an open transaction rolled back when it
        // was dropped. So a poisoned lock is recovered rather than failing every later call.
        let mut guard = match conn.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.cache = query::QueryCache::default();
                guard
            }
        };
        f(&mut guard)
    })
    .await
    .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
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

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn errors_json(errors: &[ProcessingError]) -> String {
    serde_json::to_string(errors).unwrap_or_else(|_| "[]".into())
}

/// Ids of interned texts met in one write transaction: search keys (shared by many rows, which carry the
/// small integer instead of the path) or entity refs (named by many relation rows). A miss reads the table and
/// interns the text if it is new.
struct Interned {
    select: &'static str,
    insert: &'static str,
    ids: HashMap<String, i64>,
}

impl Interned {
    fn search_keys() -> Self {
        Interned {
            select: SELECT_SEARCH_KEY,
            insert: INSERT_SEARCH_KEY,
            ids: HashMap::new(),
        }
    }

    fn refs() -> Self {
        Interned {
            select: SELECT_REF_ID,
            insert: INSERT_REF,
            ids: HashMap::new(),
        }
    }

    fn id(&mut self, conn: &Connection, text: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.ids.get(text) {
            return Ok(*id);
        }
        let id = intern(conn, self.select, self.insert, text)?;
        self.ids.insert(text.to_string(), id);
        Ok(id)
    }
}

/// The id of `text` in a `(id INTEGER PRIMARY KEY, <text> UNIQUE)` table, inserting it when missing.
fn intern(conn: &Connection, select: &str, insert: &str, text: &str) -> Result<i64, StoreError> {
    let found = conn
        .prepare_cached(select)
        .map_err(db)?
        .query_row(params![text], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(db)?;
    match found {
        Some(id) => Ok(id),
        None => {
            conn.prepare_cached(insert)
                .map_err(db)?
                .execute(params![text])
                .map_err(db)?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// What the store knows about an entity of the origin being applied.
struct StoredState {
    id: i64,
    uid: String,
    hash: String,
    errors: String,
    location_key: String,
    orphan: bool,
}

impl StoredState {
    /// Nothing to write: same hash, same errors, and not marked orphaned.
    fn unchanged(&self, pe: &ProcessedEntity) -> bool {
        self.hash == pe.hash && !self.orphan && self.errors == errors_json(&pe.errors)
    }
}

fn apply(
    conn: &mut Connection,
    ingest: LocationIngest,
    orphans: OrphanStrategy,
) -> Result<WriteStats, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let mut stats = WriteStats::default();
    let mut keys = Interned::search_keys();
    let mut refs = Interned::refs();
    let mut stored: HashMap<String, StoredState> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(SELECT_ORIGIN_STATE).map_err(db)?;
        let rows = stmt
            .query_map(params![ingest.origin], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    StoredState {
                        id: r.get(1)?,
                        hash: r.get(2)?,
                        errors: r.get(3)?,
                        location_key: r.get(4)?,
                        orphan: r.get::<_, i64>(5)? != 0,
                        uid: r.get(6)?,
                    },
                ))
            })
            .map_err(db)?;
        for row in rows {
            let (entity_ref, state) = row.map_err(db)?;
            stored.insert(entity_ref, state);
        }
    }

    // A large write into a small catalog (a first import, a new big root) drops the secondary indexes and
    // builds them again from sorted rows at the end; readers keep their snapshot meanwhile.
    let new_entities = ingest
        .entities
        .iter()
        .filter(|pe| !stored.contains_key(&pe.entity_ref.to_lowercase()))
        .count();
    let bulk = new_entities >= BULK_MIN_ENTITIES && {
        let existing: i64 = tx
            .prepare_cached(COUNT_ENTITIES)
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        new_entities as i64 >= existing
    };
    if bulk {
        for (name, _) in migrations::BULK_INDEXES {
            tx.execute_batch(&format!("DROP INDEX {name}"))
                .map_err(db)?;
        }
    }

    // Serialising bodies and flattening search rows is about as costly as writing them: a second thread
    // prepares entity N+1.. while this one writes entity N. It sends one item per entity, in order.
    let (send, receive) =
        mpsc::sync_channel::<Option<Result<Prepared, StoreError>>>(PIPELINE_DEPTH);
    let stored_ref = &stored;
    let entities = &ingest.entities;
    let mut emitted: HashMap<String, String> = HashMap::new();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        scope.spawn(move || {
            let mut seen: HashSet<String> = HashSet::with_capacity(entities.len());
            for pe in entities {
                let entity_ref = pe.entity_ref.to_lowercase();
                let item = if seen.contains(&entity_ref) {
                    None
                } else {
                    let prepared = match stored_ref.get(&entity_ref) {
                        Some(s) if s.unchanged(pe) => None,
                        Some(s) => Some(prepare(pe, &entity_ref, s.uid.clone())),
                        None => Some(prepare(pe, &entity_ref, new_id())),
                    };
                    seen.insert(entity_ref);
                    prepared
                };
                if send.send(item).is_err() {
                    return; // the writer stopped on an error
                }
            }
        });
        for pe in entities {
            let prepared = receive.recv().map_err(|_| {
                StoreError::Database("the entity preparation thread stopped".into())
            })?;
            let entity_ref = pe.entity_ref.to_lowercase();
            if let Some(first_key) = emitted.get(&entity_ref) {
                stats
                    .conflicts
                    .push(conflict_message(&entity_ref, first_key, &pe.location_key));
                continue;
            }
            emitted.insert(entity_ref.clone(), pe.location_key.clone());
            let errors = errors_json(&pe.errors);
            let stored_state = stored.get(&entity_ref);
            let Some(prepared) = prepared else {
                stats.unchanged += 1;
                continue;
            };
            let prepared = prepared?;
            if let Some(s) = stored_state {
                write_entity(
                    &tx,
                    &mut keys,
                    &mut refs,
                    Some(s.id),
                    &entity_ref,
                    pe,
                    prepared,
                    &ingest.origin,
                    &errors,
                )?;
                stats.updated += 1;
                continue;
            }
            let claim = tx
                .prepare_cached(SELECT_CLAIM)
                .map_err(db)?
                .query_row(params![entity_ref], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()
                .map_err(db)?;
            match claim {
                Some((other_key, _other_origin)) => stats.conflicts.push(conflict_message(
                    &entity_ref,
                    &other_key,
                    &pe.location_key,
                )),
                None => {
                    write_entity(
                        &tx,
                        &mut keys,
                        &mut refs,
                        None,
                        &entity_ref,
                        pe,
                        prepared,
                        &ingest.origin,
                        &errors,
                    )?;
                    stats.inserted += 1;
                }
            }
        }
        Ok(())
    })?;
    if bulk {
        for (_, create) in migrations::BULK_INDEXES {
            tx.execute_batch(create).map_err(db)?;
        }
    }

    let failed_keys: HashSet<&str> = ingest
        .failed_location_keys
        .iter()
        .map(String::as_str)
        .collect();
    let failed_entities: HashMap<String, &FailedEntity> = ingest
        .failed_entities
        .iter()
        .map(|f| (f.entity_ref.to_lowercase(), f))
        .collect();
    let mut gone: Vec<(&String, &StoredState)> = stored
        .iter()
        .filter(|(r, _)| !emitted.contains_key(*r))
        .collect();
    // A stable order keeps the transaction's effects deterministic.
    gone.sort_by(|a, b| a.0.cmp(b.0));
    for (entity_ref, s) in gone {
        // A failed entity keeps its stored version and shows why; checked before the failed-file rule
        // because a failing document also marks its whole file as failed.
        if let Some(failed) = failed_entities.get(entity_ref) {
            let errors = errors_json(&failed.errors);
            if errors != s.errors {
                tx.prepare_cached(UPDATE_ERRORS)
                    .map_err(db)?
                    .execute(params![s.id, errors, new_etag()])
                    .map_err(db)?;
                stats.updated += 1;
            }
            continue;
        }
        if failed_keys.contains(s.location_key.as_str()) {
            continue;
        }
        match orphans {
            OrphanStrategy::Keep if s.orphan => {}
            OrphanStrategy::Keep => {
                tx.prepare_cached(MARK_ORPHAN)
                    .map_err(db)?
                    .execute(params![s.id, new_etag()])
                    .map_err(db)?;
                let key_id = keys.id(&tx, &orphan_key())?;
                tx.prepare_cached(INSERT_SEARCH_LAST)
                    .map_err(db)?
                    .execute(params![s.id, key_id, "true", None::<&str>])
                    .map_err(db)?;
                stats.orphaned += 1;
            }
            OrphanStrategy::Delete => {
                delete_entity(&tx, s.id)?;
                stats.deleted += 1;
            }
        }
    }
    tx.commit().map_err(db)?;
    Ok(stats)
}

fn conflict_message(entity_ref: &str, existing_key: &str, new_key: &str) -> String {
    format!(
        "Detected conflicting entityRef {entity_ref} already referenced by {existing_key} and now also {new_key}"
    )
}

/// The body as stored: the processed entity without what the store stitches in.
fn body_of(entity: &Entity) -> Entity {
    let mut body = entity.clone();
    body.0.remove("relations");
    body.0.remove("status");
    if let Some(Value::Object(meta)) = body.0.get_mut("metadata") {
        meta.remove("uid");
        meta.remove("etag");
    }
    body
}

/// The fewest new entities for which `apply` rebuilds the secondary indexes instead of growing them.
const BULK_MIN_ENTITIES: usize = 2000;

/// Entities prepared ahead of the writer (see `apply`).
const PIPELINE_DEPTH: usize = 256;

/// What writing an entity needs beyond the processed entity, computed off the writer's thread.
struct Prepared {
    uid: String,
    body_text: String,
    rows: Vec<SearchRow>,
    search_error: Option<String>,
}

fn prepare(pe: &ProcessedEntity, entity_ref: &str, uid: String) -> Result<Prepared, StoreError> {
    let body = body_of(&pe.entity);
    let (rows, search_error) = match build_search_rows(&body, &uid, false) {
        Ok(rows) => (rows, None),
        Err(message) => {
            // Index what identifies the entity so it stays findable, and show why the rest is missing.
            let mut minimal = Map::new();
            minimal.insert("kind".into(), Value::String(body.kind().to_string()));
            minimal.insert(
                "metadata".into(),
                serde_json::json!({"name": body.name(), "namespace": body.namespace()}),
            );
            let rows = build_search_rows(&Entity(minimal), &uid, false).unwrap_or_default();
            let err = ProcessingError::new("InputError", message);
            (rows, Some(errors_json(std::slice::from_ref(&err))))
        }
    };
    let body_text = serde_json::to_string(&body)
        .map_err(|e| StoreError::Database(format!("cannot serialise {entity_ref}: {e}")))?;
    Ok(Prepared {
        uid,
        body_text,
        rows,
        search_error,
    })
}

#[allow(clippy::too_many_arguments)]
fn write_entity(
    tx: &rusqlite::Transaction<'_>,
    keys: &mut Interned,
    refs: &mut Interned,
    existing_id: Option<i64>,
    entity_ref: &str,
    pe: &ProcessedEntity,
    prepared: Prepared,
    origin: &str,
    errors: &str,
) -> Result<(), StoreError> {
    let Prepared {
        uid,
        body_text,
        rows,
        search_error,
    } = prepared;
    let id = match existing_id {
        Some(id) => {
            tx.prepare_cached(DELETE_SEARCH)
                .map_err(db)?
                .execute(params![id])
                .map_err(db)?;
            tx.prepare_cached(DELETE_RELATIONS)
                .map_err(db)?
                .execute(params![id])
                .map_err(db)?;
            tx.prepare_cached(UPDATE_ENTITY)
                .map_err(db)?
                .execute(params![
                    id,
                    body_text,
                    pe.hash,
                    new_etag(),
                    pe.location_key,
                    origin,
                    pe.parent_ref,
                    errors,
                    search_error
                ])
                .map_err(db)?;
            id
        }
        None => {
            let id = refs.id(tx, entity_ref)?;
            tx.prepare_cached(INSERT_ENTITY)
                .map_err(db)?
                .execute(params![
                    id,
                    uid,
                    entity_ref,
                    body_text,
                    pe.hash,
                    new_etag(),
                    pe.location_key,
                    origin,
                    pe.parent_ref,
                    errors,
                    search_error
                ])
                .map_err(db)?;
            id
        }
    };
    insert_search_rows(tx, keys, id, &rows)?;
    let mut stmt = tx.prepare_cached(INSERT_RELATION).map_err(db)?;
    for (seq, rel) in pe.relations.iter().enumerate() {
        let source = refs.id(tx, &lowercase(&rel.source))?;
        let target = refs.id(tx, &lowercase(&rel.target))?;
        stmt.execute(params![
            id,
            seq as i64,
            source,
            rel.relation_type,
            lowercase(&rel.relation_type),
            target
        ])
        .map_err(db)?;
    }
    Ok(())
}

/// Lowercases without allocating when the text is already lowercase ASCII (refs and relation types nearly
/// always are).
fn lowercase(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .bytes()
        .any(|b| !b.is_ascii() || b.is_ascii_uppercase())
    {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn insert_search_rows(
    conn: &Connection,
    keys: &mut Interned,
    id: i64,
    rows: &[SearchRow],
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(INSERT_SEARCH).map_err(db)?;
    for (seq, row) in rows.iter().enumerate() {
        let key_id = keys.id(conn, &row.key)?;
        stmt.execute(params![
            id,
            seq as i64,
            key_id,
            row.value,
            row.original_value
        ])
        .map_err(db)?;
    }
    Ok(())
}

fn delete_entity(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    conn.prepare_cached(DELETE_SEARCH)
        .map_err(db)?
        .execute(params![id])
        .map_err(db)?;
    conn.prepare_cached(DELETE_RELATIONS)
        .map_err(db)?
        .execute(params![id])
        .map_err(db)?;
    let n = conn
        .prepare_cached(DELETE_ENTITY)
        .map_err(db)?
        .execute(params![id])
        .map_err(db)?;
    Ok(n > 0)
}

/// A stored entity row before stitching.
struct StoredEntity {
    id: i64,
    uid: String,
    entity_ref: String,
    body: String,
    etag: String,
    errors: String,
    search_error: Option<String>,
    orphan: bool,
}

fn load_where(
    conn: &Connection,
    column: &str,
    value: impl rusqlite::ToSql,
) -> Result<Option<Entity>, StoreError> {
    let sql = format!("{SELECT_ENTITY_COLUMNS} WHERE {column} = ?1");
    let row = conn
        .prepare_cached(&sql)
        .map_err(db)?
        .query_row(params![value], |r| {
            Ok(StoredEntity {
                uid: r.get(0)?,
                entity_ref: r.get(1)?,
                body: r.get(2)?,
                etag: r.get(3)?,
                errors: r.get(4)?,
                search_error: r.get(5)?,
                orphan: r.get::<_, i64>(6)? != 0,
                id: r.get(7)?,
            })
        })
        .optional()
        .map_err(db)?;
    row.map(|row| stitch(conn, row)).transpose()
}

pub(crate) fn load_by_uid(conn: &Connection, uid: &str) -> Result<Option<Entity>, StoreError> {
    load_where(conn, "uid", uid)
}

/// Loads by the internal row id (the by-query read path).
pub(crate) fn load_by_id(conn: &Connection, id: i64) -> Result<Option<Entity>, StoreError> {
    load_where(conn, "id", id)
}

fn load_by_ref(conn: &Connection, entity_ref: &str) -> Result<Option<Entity>, StoreError> {
    load_where(conn, "entity_ref", entity_ref)
}

/// The final entity: body + uid/etag + relations (always, possibly empty) + status (only with errors) +
/// the orphan annotation, as Backstage's stitcher outputs it.
fn stitch(conn: &Connection, row: StoredEntity) -> Result<Entity, StoreError> {
    let corrupt = |what: &str, e: serde_json::Error| {
        StoreError::Database(format!(
            "stored {what} of {} is corrupt: {e}",
            row.entity_ref
        ))
    };
    let body: Value = serde_json::from_str(&row.body).map_err(|e| corrupt("body", e))?;
    let mut entity = Entity::from_value(body).ok_or_else(|| {
        StoreError::Database(format!(
            "stored body of {} is not an object",
            row.entity_ref
        ))
    })?;
    {
        let meta = entity.metadata_mut();
        meta.insert("uid".into(), Value::String(row.uid.clone()));
        meta.insert("etag".into(), Value::String(row.etag.clone()));
    }
    if row.orphan {
        entity.set_annotation(ANNOTATION_ORPHAN, "true");
    }
    let mut stmt = conn.prepare_cached(SELECT_RELATIONS_OF).map_err(db)?;
    let relations = stmt
        .query_map(params![row.id], |r| {
            Ok(serde_json::json!({"type": r.get::<_, String>(0)?, "targetRef": r.get::<_, String>(1)?}))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    entity.0.insert("relations".into(), Value::Array(relations));
    let mut errors: Vec<ProcessingError> =
        serde_json::from_str(&row.errors).map_err(|e| corrupt("errors", e))?;
    if let Some(extra) = &row.search_error {
        let extra: Vec<ProcessingError> =
            serde_json::from_str(extra).map_err(|e| corrupt("errors", e))?;
        errors.extend(extra);
    }
    if !errors.is_empty() {
        let items: Vec<Value> = errors.iter().map(ProcessingError::to_status_item).collect();
        entity
            .0
            .insert("status".into(), serde_json::json!({"items": items}));
    }
    Ok(entity)
}

fn location_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LocationRecord> {
    Ok(LocationRecord {
        id: r.get(0)?,
        location_type: r.get(1)?,
        target: r.get(2)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply_location(
        &self,
        ingest: LocationIngest,
        orphans: OrphanStrategy,
    ) -> Result<WriteStats, StoreError> {
        self.write(move |s| apply(&mut s.conn, ingest, orphans))
            .await
    }

    async fn origins(&self) -> Result<Vec<String>, StoreError> {
        self.read(|s| {
            let mut stmt = s.conn.prepare_cached(SELECT_ORIGINS).map_err(db)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(rows)
        })
        .await
    }

    async fn query_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError> {
        let query = query.clone();
        self.read(move |s| query::query_entities(&s.conn, &mut s.cache, &query, &load_by_id))
            .await
    }

    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, StoreError> {
        let key = entity_ref.canonical();
        self.read(move |s| load_by_ref(&s.conn, &key)).await
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError> {
        let uid = uid.to_string();
        self.read(move |s| load_by_uid(&s.conn, &uid)).await
    }

    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        let fields = query::parse_fields(fields)?;
        let keys: Vec<String> = refs.iter().map(EntityRef::canonical).collect();
        self.read(move |s| {
            keys.iter()
                .map(|k| Ok(load_by_ref(&s.conn, k)?.map(|e| query::project(e, &fields))))
                .collect()
        })
        .await
    }

    async fn facets(
        &self,
        facets: &[String],
        filter: Option<&EntityPredicate>,
    ) -> Result<Facets, StoreError> {
        let facets = facets.to_vec();
        let filter = filter.cloned();
        self.read(move |s| query::facets(&s.conn, &mut s.cache, &facets, filter.as_ref()))
            .await
    }

    async fn provenance(
        &self,
        entity_ref: &EntityRef,
    ) -> Result<Option<EntityProvenance>, StoreError> {
        let key = entity_ref.canonical();
        self.read(move |s| {
            s.conn
                .prepare_cached(SELECT_PROVENANCE)
                .map_err(db)?
                .query_row(params![key], |r| {
                    Ok(EntityProvenance {
                        entity_ref: r.get(0)?,
                        location_key: r.get(1)?,
                        origin: r.get(2)?,
                        parent_ref: r.get(3)?,
                    })
                })
                .optional()
                .map_err(db)
        })
        .await
    }

    async fn delete_entity_by_uid(&self, uid: &str) -> Result<bool, StoreError> {
        let uid = uid.to_string();
        self.write(move |s| {
            let tx = s.conn.transaction().map_err(db)?;
            let id = tx
                .prepare_cached(SELECT_ID_BY_UID)
                .map_err(db)?
                .query_row(params![uid], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(db)?;
            let deleted = match id {
                Some(id) => delete_entity(&tx, id)?,
                None => false,
            };
            tx.commit().map_err(db)?;
            Ok(deleted)
        })
        .await
    }

    async fn add_location(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<LocationRecord, StoreError> {
        let location_type = location_type.to_string();
        let target = target.to_string();
        self.write(move |s| {
            let tx = s.conn.transaction().map_err(db)?;
            let existing = tx
                .prepare_cached(SELECT_LOCATION_BY_KEY)
                .map_err(db)?
                .query_row(params![location_type, target], |r| r.get::<_, String>(0))
                .optional()
                .map_err(db)?;
            if existing.is_some() {
                return Err(StoreError::Conflict(format!(
                    "Location {location_type}:{target} already exists"
                )));
            }
            let record = LocationRecord {
                id: new_id(),
                location_type,
                target,
            };
            tx.prepare_cached(INSERT_LOCATION)
                .map_err(db)?
                .execute(params![record.id, record.location_type, record.target])
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(record)
        })
        .await
    }

    async fn locations(&self) -> Result<Vec<LocationRecord>, StoreError> {
        self.read(|s| {
            let mut stmt = s.conn.prepare_cached(SELECT_LOCATIONS).map_err(db)?;
            let rows = stmt
                .query_map([], location_row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(rows)
        })
        .await
    }

    async fn location(&self, id: &str) -> Result<Option<LocationRecord>, StoreError> {
        let id = id.to_string();
        self.read(move |s| {
            s.conn
                .prepare_cached(SELECT_LOCATION)
                .map_err(db)?
                .query_row(params![id], location_row)
                .optional()
                .map_err(db)
        })
        .await
    }

    async fn delete_location(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write(move |s| {
            let n = s
                .conn
                .prepare_cached(DELETE_LOCATION)
                .map_err(db)?
                .execute(params![id])
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn entity_count(&self) -> Result<u64, StoreError> {
        self.read(|s| {
            let n: i64 = s
                .conn
                .prepare_cached(COUNT_ENTITIES)
                .map_err(db)?
                .query_row([], |r| r.get(0))
                .map_err(db)?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn dangling_relations(&self) -> Result<Vec<RelationRow>, StoreError> {
        self.read(|s| {
            let mut stmt = s.conn.prepare_cached(SELECT_DANGLING).map_err(db)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(RelationRow {
                        source: r.get(0)?,
                        relation_type: r.get(1)?,
                        target: r.get(2)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    async fn another_origin_cannot_take_a_ref() {
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        let other = vec![pe(
            component("a", json!({"type": "other"})),
            "url:https://x/y.yaml",
            &[],
        )];
        let stats = store
            .apply_location(
                ingest("url:https://x/y.yaml", other),
                OrphanStrategy::Delete,
            )
            .await
            .unwrap();
        assert_eq!(stats.inserted + stats.updated, 0);
        assert_eq!(
            stats.conflicts,
            vec![format!(
                "Detected conflicting entityRef component:default/a already referenced by {FILE_A} and now also url:https://x/y.yaml"
            )]
        );
        let a = get(&store, "component:default/a").await.unwrap();
        assert_eq!(a.spec_str("type"), Some("service"));
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
    async fn stitching_adds_relations_status_uid_and_etag() {
        let store = SqliteStore::open_in_memory().unwrap();
        let mut a = pe(
            component("a", json!({"owner": "team-a"})),
            FILE_A,
            &[
                ("component:default/a", "ownedBy", "group:default/team-a"),
                ("group:default/team-a", "ownerOf", "component:default/a"),
                ("component:default/a", "dependsOn", "resource:default/db"),
            ],
        );
        a.errors = vec![ProcessingError::new("NotFoundError", "x")];
        let group = pe(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                   "metadata": {"name": "team-a"}, "spec": {"type": "team", "children": []}}),
            FILE_B,
            &[],
        );
        // A second origin emitting the same reverse row must not duplicate it in the output.
        let c = pe(
            component("c", json!({})),
            "file:/other.yaml",
            &[("group:default/team-a", "ownerOf", "component:default/a")],
        );
        store
            .apply_location(ingest(ORIGIN, vec![a, group]), OrphanStrategy::Delete)
            .await
            .unwrap();
        store
            .apply_location(ingest("file:/other.yaml", vec![c]), OrphanStrategy::Delete)
            .await
            .unwrap();
        let a = get(&store, "component:default/a").await.unwrap();
        assert_eq!(
            a.get_path("relations").unwrap(),
            &json!([
                {"type": "dependsOn", "targetRef": "resource:default/db"},
                {"type": "ownedBy", "targetRef": "group:default/team-a"}
            ])
        );
        assert_eq!(
            a.get_path("status.items")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(a.uid().is_some());
        assert!(a.get_path("metadata.etag").is_some());
        let g = get(&store, "group:default/team-a").await.unwrap();
        assert_eq!(
            g.get_path("relations").unwrap(),
            &json!([{"type": "ownerOf", "targetRef": "component:default/a"}])
        );
        assert!(g.get_path("status").is_none());
        let c = get(&store, "component:default/c").await.unwrap();
        assert_eq!(c.get_path("relations").unwrap(), &json!([]));
    }

    #[tokio::test]
    async fn case_duplicate_keys_are_recorded_not_fatal() {
        let store = SqliteStore::open_in_memory().unwrap();
        let bad = pe(component("dup", json!({"foo": 1, "Foo": 2})), FILE_A, &[]);
        let stats = store
            .apply_location(ingest(ORIGIN, vec![bad.clone()]), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.inserted, 1);
        let e = get(&store, "component:default/dup").await.unwrap();
        let items = e.get_path("status.items").unwrap().as_array().unwrap();
        assert_eq!(
            items[0]["error"]["message"],
            json!("Entity has duplicate keys that vary only in casing, 'spec.foo'")
        );
        // Still findable by kind and name, and a refresh writes nothing.
        let f = EntityPredicate::from_filter_params(&["kind=component,metadata.name=dup".into()])
            .unwrap();
        let page = store
            .query_entities(&EntityQuery {
                filter: f,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let stats = store
            .apply_location(ingest(ORIGIN, vec![bad]), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.unchanged, 1);
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

    #[tokio::test]
    async fn locations_crud_and_delete_by_uid() {
        let store = SqliteStore::open_in_memory().unwrap();
        let loc = store.add_location("url", "https://x/a.yaml").await.unwrap();
        assert_eq!(loc.key(), "url:https://x/a.yaml");
        match store.add_location("url", "https://x/a.yaml").await {
            Err(StoreError::Conflict(m)) => {
                assert_eq!(m, "Location url:https://x/a.yaml already exists")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.location(&loc.id).await.unwrap(), Some(loc.clone()));
        assert_eq!(store.locations().await.unwrap(), vec![loc.clone()]);
        assert!(store.delete_location(&loc.id).await.unwrap());
        assert!(!store.delete_location(&loc.id).await.unwrap());
        assert_eq!(store.location(&loc.id).await.unwrap(), None);

        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        let a = get(&store, "component:default/a").await.unwrap();
        let uid = a.uid().unwrap().to_string();
        assert!(store.delete_entity_by_uid(&uid).await.unwrap());
        assert!(!store.delete_entity_by_uid(&uid).await.unwrap());
        assert!(store.entity_by_uid(&uid).await.unwrap().is_none());
        // It comes back on the next refresh, as in Backstage.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .unwrap();
        assert_eq!(stats.inserted, 1);
    }

    /// The Backstage example catalog: every document stores, indexes cleanly and pages back whole.
    #[tokio::test]
    async fn backstage_examples_round_trip() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/backstage/examples"
        );
        let mut entities = Vec::new();
        let mut by_kind: HashMap<String, u64> = HashMap::new();
        for dir in [
            "components",
            "apis",
            "acme",
            "systems",
            "domains",
            "resources",
        ] {
            let Ok(read) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            let mut files: Vec<_> = read.map(|e| e.unwrap().path()).collect();
            files.sort();
            for file in files {
                if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap();
                for doc in serde_yaml::Deserializer::from_str(&text) {
                    let value: Value = match serde::Deserialize::deserialize(doc) {
                        Ok(v) => v,
                        Err(_) => continue,
                    };
                    if value.get("kind").is_none() || value.get("apiVersion").is_none() {
                        continue; // OpenAPI documents and the like
                    }
                    let key = format!("file:{}", file.display());
                    let mut p = pe(value, &key, &[]);
                    if let Some(owner) = p.entity.spec_str("owner") {
                        let target =
                            EntityRef::parse_with_defaults(owner, Some("group"), "default")
                                .unwrap()
                                .canonical();
                        p.relations = vec![
                            RelationRow {
                                source: p.entity_ref.clone(),
                                relation_type: "ownedBy".into(),
                                target: target.clone(),
                            },
                            RelationRow {
                                source: target,
                                relation_type: "ownerOf".into(),
                                target: p.entity_ref.clone(),
                            },
                        ];
                    }
                    *by_kind.entry(p.entity.kind().to_string()).or_default() += 1;
                    entities.push(p);
                }
            }
        }
        assert!(entities.len() > 30, "fixtures not found under {root}");
        let total = entities.len() as u64;
        let store = SqliteStore::open_in_memory().unwrap();
        let stats = store
            .apply_location(
                ingest("file:examples/all.yaml", entities),
                OrphanStrategy::Delete,
            )
            .await
            .unwrap();
        assert_eq!(stats.inserted as u64, total);
        assert!(stats.conflicts.is_empty(), "{:?}", stats.conflicts);

        let facets = store.facets(&["kind".into()], None).await.unwrap();
        let counted: HashMap<String, u64> = facets["kind"]
            .iter()
            .map(|c| (c.value.clone(), c.count))
            .collect();
        assert_eq!(counted, by_kind);

        let artist = get(&store, "component:default/artist-lookup")
            .await
            .unwrap();
        assert!(
            artist.get_path("status").is_none(),
            "indexing failed: {artist:?}"
        );
        assert_eq!(
            artist.relations(),
            vec![crate::entity::Relation {
                relation_type: "ownedBy".into(),
                target_ref: "group:default/team-a".into(),
            }]
        );
        let team_a = get(&store, "group:default/team-a").await.unwrap();
        assert!(team_a
            .relations()
            .iter()
            .any(|r| r.relation_type == "ownerOf"
                && r.target_ref == "component:default/artist-lookup"));

        let mut seen = Vec::new();
        let mut query = EntityQuery {
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Asc,
            }],
            limit: Some(7),
            ..Default::default()
        };
        loop {
            let page = store.query_entities(&query).await.unwrap();
            assert_eq!(page.total_items, total);
            seen.extend(page.items.iter().map(|e| e.entity_ref().canonical()));
            match page.page_info.next_cursor {
                Some(c) => {
                    query = EntityQuery {
                        cursor: Some(c),
                        limit: Some(7),
                        ..Default::default()
                    }
                }
                None => break,
            }
        }
        assert_eq!(seen.len() as u64, total);
        let names: Vec<String> = seen
            .iter()
            .map(|r| r.rsplit('/').next().unwrap().to_string())
            .collect();
        let mut sorted_names = names.clone();
        sorted_names.sort();
        assert_eq!(names, sorted_names);

        let java =
            EntityPredicate::from_filter_params(&["kind=component,metadata.tags.java".into()])
                .unwrap();
        let page = store
            .query_entities(&EntityQuery {
                filter: java,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.items.iter().any(|e| e.name() == "artist-lookup"));
        assert!(page.items.iter().all(|e| e.tags().contains(&"java")));
    }

    #[tokio::test]
    async fn a_panic_inside_a_call_does_not_break_the_store() {
        let store = SqliteStore::open_in_memory().unwrap();
        let failed = store
            .write(|s| -> Result<(), StoreError> {
                let _tx = s.conn.transaction().map_err(db)?;
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
