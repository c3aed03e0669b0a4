//! [`SqlStore`]: the [`Store`] written once over [`SqlConn`], so SQLite and PostgreSQL share every rule of
//! writing, stitching and querying the catalog.
//!
//! A store holds one writer connection and a few readers, each behind its own mutex with the query cache
//! that belongs to it. Every call runs on tokio's blocking pool, holding one connection for its whole
//! transaction, so a long refresh never stalls the async runtime. SQLite's WAL lets readers proceed while a
//! refresh writes; PostgreSQL's MVCC does the same, and several processes may share its database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::migrations;
use super::query;
use super::search_rows::{build_search_rows, orphan_key, SearchRow};
use super::sql::{transaction, ColumnType, Dialect, Param, SqlConn, SqlRow};
use super::tasks;
use super::*;
use crate::entity::ANNOTATION_ORPHAN;
use crate::sql_params;

// The fixed statements of the store; the dynamic ones (filters, paging, facets) are built in `query`.
const SELECT_ORIGIN_STATE: &str =
    "SELECT entity_ref, id, hash, errors, location_key, orphan, uid FROM entities WHERE origin = ?1";
const SELECT_CLAIM: &str = "SELECT location_key, origin FROM entities WHERE entity_ref = ?1";
const INSERT_ENTITY: &str =
    "INSERT INTO entities (id, uid, entity_ref, body, hash, etag, location_key, \
     origin, parent_ref, errors, search_error, orphan) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)";
const SELECT_REF_ID: &str = "SELECT id FROM refs WHERE entity_ref = ?1";
// `DO NOTHING` rather than a plain insert: another process sharing the database may intern the same text
// between our select and insert; then the select is asked again.
const INSERT_REF: &str =
    "INSERT INTO refs (entity_ref) VALUES (?1) ON CONFLICT (entity_ref) DO NOTHING RETURNING id";
const UPDATE_ENTITY: &str =
    "UPDATE entities SET body = ?2, hash = ?3, etag = ?4, location_key = ?5, \
     origin = ?6, parent_ref = ?7, errors = ?8, search_error = ?9, orphan = 0 WHERE id = ?1";
const UPDATE_ERRORS: &str = "UPDATE entities SET errors = ?2, etag = ?3 WHERE id = ?1";
const MARK_ORPHAN: &str = "UPDATE entities SET orphan = 1, etag = ?2 WHERE id = ?1";
const DELETE_SEARCH: &str = "DELETE FROM search WHERE entity_id = ?1";
const DELETE_RELATIONS: &str = "DELETE FROM relations WHERE origin_id = ?1";
const DELETE_ENTITY: &str = "DELETE FROM entities WHERE id = ?1";
const SELECT_ID_BY_UID: &str = "SELECT id FROM entities WHERE uid = ?1";
const SEARCH_COLUMNS: &[(&str, ColumnType)] = &[
    ("entity_id", ColumnType::Int),
    ("seq", ColumnType::Int),
    ("key_id", ColumnType::Int),
    ("value", ColumnType::Text),
    ("original_value", ColumnType::Text),
];
const INSERT_SEARCH_LAST: &str =
    "INSERT INTO search (entity_id, seq, key_id, value, original_value) \
     VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM search WHERE entity_id = ?1), ?2, ?3, ?4)";
const INSERT_SEARCH_KEY: &str =
    "INSERT INTO search_keys (key) VALUES (?1) ON CONFLICT (key) DO NOTHING RETURNING id";
const RELATION_COLUMNS: &[(&str, ColumnType)] = &[
    ("origin_id", ColumnType::Int),
    ("seq", ColumnType::Int),
    ("source_id", ColumnType::Int),
    ("type", ColumnType::Text),
    ("type_key", ColumnType::Text),
    ("target_id", ColumnType::Int),
];
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
const SELECT_ENTITY_ETAGS: &str = "SELECT entity_ref, etag FROM entities ORDER BY entity_ref";
const SELECT_DOCS_ETAGS: &str = "SELECT entity_ref, etag FROM docs_sites ORDER BY entity_ref";
const COUNT_ENTITIES: &str = "SELECT COUNT(*) FROM entities";
const SELECT_LOCATIONS: &str = "SELECT id, type, target FROM locations ORDER BY type, target, id";
const SELECT_LOCATION: &str = "SELECT id, type, target FROM locations WHERE id = ?1";
const SELECT_LOCATION_BY_KEY: &str = "SELECT id FROM locations WHERE type = ?1 AND target = ?2";
const INSERT_LOCATION: &str = "INSERT INTO locations (id, type, target) VALUES (?1, ?2, ?3)";
const DELETE_LOCATION: &str = "DELETE FROM locations WHERE id = ?1";
// One statement, so the check and the claim are atomic: on PostgreSQL the upsert holds the claim row's lock,
// and a second process's upsert waits for it and then sees the live claim.
const CLAIM_ORIGIN: &str =
    "INSERT INTO refresh_claims (origin, holder, claimed_until, next_due) VALUES (?1, ?2, ?3, 0) \
     ON CONFLICT (origin) DO UPDATE SET holder = excluded.holder, claimed_until = excluded.claimed_until \
     WHERE refresh_claims.claimed_until <= ?4 AND (?5 = 0 OR refresh_claims.next_due <= ?4) \
     RETURNING holder";
const RELEASE_ORIGIN: &str = "UPDATE refresh_claims SET claimed_until = 0, next_due = ?3 \
     WHERE origin = ?1 AND holder = ?2";

/// A connection with the query cache that belongs to it.
pub struct Slot<C> {
    pub(crate) conn: C,
    pub(crate) cache: query::QueryCache,
}

impl<C> Slot<C> {
    pub(crate) fn new(conn: C) -> Self {
        Slot {
            conn,
            cache: query::QueryCache::default(),
        }
    }
}

type Shared<C> = Arc<Mutex<Slot<C>>>;

/// The catalog store over connections of type `C`. Cheap to share behind an `Arc`.
pub struct SqlStore<C> {
    writer: Shared<C>,
    readers: Vec<Shared<C>>,
    next_reader: AtomicUsize,
}

impl<C: SqlConn> std::fmt::Debug for SqlStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl<C: SqlConn + 'static> SqlStore<C> {
    /// A store over a migrated writer and its readers (none: the writer reads too).
    pub(crate) fn from_connections(writer: C, readers: Vec<C>) -> Self {
        SqlStore {
            writer: Arc::new(Mutex::new(Slot::new(writer))),
            readers: readers
                .into_iter()
                .map(|c| Arc::new(Mutex::new(Slot::new(c))))
                .collect(),
            next_reader: AtomicUsize::new(0),
        }
    }

    fn reader(&self) -> Shared<C> {
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

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Slot<C>) -> Result<T, StoreError> + Send + 'static,
    {
        run(self.reader(), f).await
    }

    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Slot<C>) -> Result<T, StoreError> + Send + 'static,
    {
        run(self.writer.clone(), f).await
    }
}

async fn run<C, T, F>(conn: Shared<C>, f: F) -> Result<T, StoreError>
where
    C: SqlConn + 'static,
    T: Send + 'static,
    F: FnOnce(&mut Slot<C>) -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        // A panic while holding the lock may leave a transaction open: it is rolled back here and the cache
        // dropped, so a poisoned lock is recovered rather than failing every later call.
        let mut guard = match conn.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                let _ = guard.conn.rollback();
                guard.cache = query::QueryCache::default();
                conn.clear_poison();
                guard
            }
        };
        f(&mut guard)
    })
    .await
    .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
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
            select: query::SELECT_SEARCH_KEY,
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

    fn id(&mut self, conn: &mut dyn SqlConn, text: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.ids.get(text) {
            return Ok(*id);
        }
        let id = intern(conn, self.select, self.insert, text)?;
        self.ids.insert(text.to_string(), id);
        Ok(id)
    }
}

/// The id of `text` in a `(id INTEGER PRIMARY KEY, <text> UNIQUE)` table, inserting it when missing.
fn intern(
    conn: &mut dyn SqlConn,
    select: &str,
    insert: &str,
    text: &str,
) -> Result<i64, StoreError> {
    if let Some(row) = conn.query_opt(select, sql_params![text])? {
        return row.int(0);
    }
    if let Some(row) = conn.query_opt(insert, sql_params![text])? {
        return row.int(0);
    }
    // Another connection interned it after our select.
    conn.query_int(select, sql_params![text])
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

/// The fewest new entities for which `apply` rebuilds the secondary indexes instead of growing them.
const BULK_MIN_ENTITIES: usize = 2000;

/// Entities prepared ahead of the writer (see `apply`).
const PIPELINE_DEPTH: usize = 256;

fn apply(
    conn: &mut dyn SqlConn,
    ingest: LocationIngest,
    orphans: OrphanStrategy,
) -> Result<WriteStats, StoreError> {
    let stats = transaction(conn, true, |tx| apply_in(tx, &ingest, orphans))?;
    // PostgreSQL plans from table statistics, which a big import leaves stale until autovacuum gets there;
    // until then filters are planned as if tables were nearly empty. SQLite plans from its indexes alone.
    if conn.dialect() == Dialect::Postgres
        && stats.inserted + stats.updated + stats.deleted >= ANALYZE_AFTER_ROWS
    {
        conn.batch("ANALYZE refs, entities, relations, search_keys, search")?;
    }
    Ok(stats)
}

/// Entities written in one apply after which PostgreSQL's statistics are refreshed.
const ANALYZE_AFTER_ROWS: usize = 1000;

fn apply_in(
    tx: &mut dyn SqlConn,
    ingest: &LocationIngest,
    orphans: OrphanStrategy,
) -> Result<WriteStats, StoreError> {
    let mut stats = WriteStats::default();
    let mut keys = Interned::search_keys();
    let mut refs = Interned::refs();
    let mut stored: HashMap<String, StoredState> = HashMap::new();
    for row in tx.query(SELECT_ORIGIN_STATE, sql_params![&ingest.origin])? {
        stored.insert(
            row.text(0)?,
            StoredState {
                id: row.int(1)?,
                hash: row.text(2)?,
                errors: row.text(3)?,
                location_key: row.text(4)?,
                orphan: row.int(5)? != 0,
                uid: row.text(6)?,
            },
        );
    }

    // A large write into a small SQLite catalog (a first import, a new big root) drops the secondary indexes
    // and builds them again from sorted rows at the end; readers keep their snapshot meanwhile. Not on
    // PostgreSQL: dropping an index locks its table against readers until the transaction ends.
    let new_entities = ingest
        .entities
        .iter()
        .filter(|pe| !stored.contains_key(&pe.entity_ref.to_lowercase()))
        .count();
    let bulk = tx.dialect() == Dialect::Sqlite
        && new_entities >= BULK_MIN_ENTITIES
        && new_entities as i64 >= tx.query_int(COUNT_ENTITIES, &[])?;
    if bulk {
        for (name, _) in migrations::BULK_INDEXES {
            tx.batch(&format!("DROP INDEX {name}"))?;
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
        // Owned here, so an early error return drops it and unblocks the preparing thread's `send`, which
        // `scope` then joins; left outside, the two would wait on each other forever.
        let receive = receive;
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
            let Some(prepared) = prepared else {
                stats.unchanged += 1;
                continue;
            };
            let prepared = prepared?;
            let mut write = EntityWrite {
                keys: &mut keys,
                refs: &mut refs,
                entity_ref: &entity_ref,
                pe,
                origin: &ingest.origin,
                errors: &errors,
            };
            if let Some(s) = stored.get(&entity_ref) {
                write.run(tx, Some(s.id), prepared)?;
                stats.updated += 1;
                continue;
            }
            match tx.query_opt(SELECT_CLAIM, sql_params![&entity_ref])? {
                Some(claim) => stats.conflicts.push(conflict_message(
                    &entity_ref,
                    &claim.text(0)?,
                    &pe.location_key,
                )),
                None => {
                    write.run(tx, None, prepared)?;
                    stats.inserted += 1;
                }
            }
        }
        Ok(())
    })?;
    if bulk {
        for (_, create) in migrations::BULK_INDEXES {
            tx.batch(create)?;
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
                tx.execute(UPDATE_ERRORS, sql_params![s.id, &errors, &new_etag()])?;
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
                tx.execute(MARK_ORPHAN, sql_params![s.id, &new_etag()])?;
                let key_id = keys.id(tx, &orphan_key())?;
                tx.execute(
                    INSERT_SEARCH_LAST,
                    sql_params![s.id, key_id, "true", None::<&str>],
                )?;
                stats.orphaned += 1;
            }
            OrphanStrategy::Delete => {
                delete_entity(tx, s.id)?;
                stats.deleted += 1;
            }
        }
    }
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

/// One entity's write within `apply`: its row, search rows and relation rows.
struct EntityWrite<'a> {
    keys: &'a mut Interned,
    refs: &'a mut Interned,
    entity_ref: &'a str,
    pe: &'a ProcessedEntity,
    origin: &'a str,
    errors: &'a str,
}

impl EntityWrite<'_> {
    fn run(
        &mut self,
        tx: &mut dyn SqlConn,
        existing_id: Option<i64>,
        prepared: Prepared,
    ) -> Result<(), StoreError> {
        let Prepared {
            uid,
            body_text,
            rows,
            search_error,
        } = prepared;
        let pe = self.pe;
        let etag = new_etag();
        let id = match existing_id {
            Some(id) => {
                tx.execute(DELETE_SEARCH, sql_params![id])?;
                tx.execute(DELETE_RELATIONS, sql_params![id])?;
                tx.execute(
                    UPDATE_ENTITY,
                    sql_params![
                        id,
                        &body_text,
                        &pe.hash,
                        &etag,
                        &pe.location_key,
                        self.origin,
                        &pe.parent_ref,
                        self.errors,
                        &search_error
                    ],
                )?;
                id
            }
            None => {
                let id = self.refs.id(tx, self.entity_ref)?;
                tx.execute(
                    INSERT_ENTITY,
                    sql_params![
                        id,
                        &uid,
                        self.entity_ref,
                        &body_text,
                        &pe.hash,
                        &etag,
                        &pe.location_key,
                        self.origin,
                        &pe.parent_ref,
                        self.errors,
                        &search_error
                    ],
                )?;
                id
            }
        };

        let mut key_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            key_ids.push(self.keys.id(tx, &row.key)?);
        }
        let mut values = Vec::with_capacity(rows.len() * SEARCH_COLUMNS.len());
        for (seq, (row, key_id)) in rows.iter().zip(&key_ids).enumerate() {
            values.extend([
                Param::Int(id),
                Param::Int(seq as i64),
                Param::Int(*key_id),
                Param::from(&row.value),
                Param::from(&row.original_value),
            ]);
        }
        tx.insert_rows("search", SEARCH_COLUMNS, &values)?;

        let mut ends = Vec::with_capacity(pe.relations.len());
        let mut type_keys = Vec::with_capacity(pe.relations.len());
        for rel in &pe.relations {
            let source = self.refs.id(tx, &lowercase(&rel.source))?;
            let target = self.refs.id(tx, &lowercase(&rel.target))?;
            ends.push((source, target));
            type_keys.push(lowercase(&rel.relation_type));
        }
        let mut values = Vec::with_capacity(pe.relations.len() * RELATION_COLUMNS.len());
        for (seq, ((rel, (source, target)), type_key)) in
            pe.relations.iter().zip(&ends).zip(&type_keys).enumerate()
        {
            values.extend([
                Param::Int(id),
                Param::Int(seq as i64),
                Param::Int(*source),
                Param::Text(&rel.relation_type),
                Param::Text(type_key),
                Param::Int(*target),
            ]);
        }
        tx.insert_rows("relations", RELATION_COLUMNS, &values)
    }
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

fn delete_entity(conn: &mut dyn SqlConn, id: i64) -> Result<bool, StoreError> {
    conn.execute(DELETE_SEARCH, sql_params![id])?;
    conn.execute(DELETE_RELATIONS, sql_params![id])?;
    Ok(conn.execute(DELETE_ENTITY, sql_params![id])? > 0)
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

fn stored_entity(r: &SqlRow) -> Result<StoredEntity, StoreError> {
    Ok(StoredEntity {
        uid: r.text(0)?,
        entity_ref: r.text(1)?,
        body: r.text(2)?,
        etag: r.text(3)?,
        errors: r.text(4)?,
        search_error: r.opt_text(5)?,
        orphan: r.int(6)? != 0,
        id: r.int(7)?,
    })
}

fn relation_json(r: &SqlRow, first: usize) -> Result<Value, StoreError> {
    Ok(serde_json::json!({"type": r.text(first)?, "targetRef": r.text(first + 1)?}))
}

fn load_where(
    conn: &mut dyn SqlConn,
    column: &str,
    value: Param<'_>,
) -> Result<Option<Entity>, StoreError> {
    let sql = format!("{SELECT_ENTITY_COLUMNS} WHERE {column} = ?1");
    let Some(r) = conn.query_opt(&sql, &[value])? else {
        return Ok(None);
    };
    let row = stored_entity(&r)?;
    let relations = conn
        .query(SELECT_RELATIONS_OF, sql_params![row.id])?
        .iter()
        .map(|r| relation_json(r, 0))
        .collect::<Result<Vec<_>, StoreError>>()?;
    stitch(row, relations).map(Some)
}

fn load_by_uid(conn: &mut dyn SqlConn, uid: &str) -> Result<Option<Entity>, StoreError> {
    load_where(conn, "uid", Param::Text(uid))
}

/// Ids loaded per statement by [`load_by_ids`].
const LOAD_CHUNK: usize = 500;

/// Loads a page of entities by row id, in order, with two statements per chunk of ids (entities, then all
/// their relations) rather than two per entity: on PostgreSQL each statement is a round trip.
fn load_by_ids(conn: &mut dyn SqlConn, ids: &[i64]) -> Result<Vec<Option<Entity>>, StoreError> {
    let mut rows: HashMap<i64, StoredEntity> = HashMap::with_capacity(ids.len());
    let mut relations: HashMap<i64, Vec<Value>> = HashMap::new();
    for chunk in ids.chunks(LOAD_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let params: Vec<Param<'_>> = chunk.iter().map(|id| Param::Int(*id)).collect();
        for r in conn.query(
            &format!("{SELECT_ENTITY_COLUMNS} WHERE id IN ({marks})"),
            &params,
        )? {
            let row = stored_entity(&r)?;
            rows.insert(row.id, row);
        }
        let sql = format!(
            "SELECT DISTINCT r.source_id, r.type, t.entity_ref FROM relations r \
             JOIN refs t ON t.id = r.target_id WHERE r.source_id IN ({marks}) \
             ORDER BY r.source_id, r.type, t.entity_ref"
        );
        for r in conn.query(&sql, &params)? {
            relations
                .entry(r.int(0)?)
                .or_default()
                .push(relation_json(&r, 1)?);
        }
    }
    ids.iter()
        .map(|id| {
            rows.remove(id)
                .map(|row| {
                    let rels = relations.remove(&row.id).unwrap_or_default();
                    stitch(row, rels)
                })
                .transpose()
        })
        .collect()
}

/// Loads entities by canonical ref, in order (`None` where missing): their ids in one statement per chunk,
/// then [`load_by_ids`], rather than two statements per ref.
fn load_by_refs(
    conn: &mut dyn SqlConn,
    refs: &[String],
) -> Result<Vec<Option<Entity>>, StoreError> {
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(refs.len());
    for chunk in refs.chunks(LOAD_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let params: Vec<Param<'_>> = chunk.iter().map(Param::from).collect();
        let sql = format!("SELECT entity_ref, id FROM entities WHERE entity_ref IN ({marks})");
        for r in conn.query(&sql, &params)? {
            ids.insert(r.text(0)?, r.int(1)?);
        }
    }
    // Each id once: a ref asked for twice gets the same entity twice.
    let mut wanted: Vec<i64> = ids.values().copied().collect();
    wanted.sort_unstable();
    let loaded: HashMap<i64, Entity> = wanted
        .iter()
        .copied()
        .zip(load_by_ids(conn, &wanted)?)
        .filter_map(|(id, e)| e.map(|e| (id, e)))
        .collect();
    Ok(refs
        .iter()
        .map(|r| ids.get(r).and_then(|id| loaded.get(id).cloned()))
        .collect())
}

fn load_by_ref(conn: &mut dyn SqlConn, entity_ref: &str) -> Result<Option<Entity>, StoreError> {
    load_where(conn, "entity_ref", Param::Text(entity_ref))
}

/// The final entity: body + uid/etag + relations (always, possibly empty) + status (only with errors) +
/// the orphan annotation, as Backstage's stitcher outputs it.
fn stitch(row: StoredEntity, relations: Vec<Value>) -> Result<Entity, StoreError> {
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

/// `(ref, etag)` rows of one of the etag listings.
fn ref_etag_pairs(conn: &mut dyn SqlConn, sql: &str) -> Result<Vec<(String, String)>, StoreError> {
    conn.query(sql, &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect()
}

fn location_row(r: &SqlRow) -> Result<LocationRecord, StoreError> {
    Ok(LocationRecord {
        id: r.text(0)?,
        location_type: r.text(1)?,
        target: r.text(2)?,
    })
}

#[async_trait]
impl<C: SqlConn + 'static> Store for SqlStore<C> {
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
            s.conn
                .query(SELECT_ORIGINS, &[])?
                .iter()
                .map(|r| r.text(0))
                .collect()
        })
        .await
    }

    async fn query_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError> {
        let query = query.clone();
        self.read(move |s| query::query_entities(&mut s.conn, &mut s.cache, &query, &load_by_ids))
            .await
    }

    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, StoreError> {
        let key = entity_ref.canonical();
        self.read(move |s| load_by_ref(&mut s.conn, &key)).await
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError> {
        let uid = uid.to_string();
        self.read(move |s| load_by_uid(&mut s.conn, &uid)).await
    }

    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        let fields = query::parse_fields(fields)?;
        let keys: Vec<String> = refs.iter().map(EntityRef::canonical).collect();
        self.read(move |s| {
            Ok(load_by_refs(&mut s.conn, &keys)?
                .into_iter()
                .map(|e| e.map(|e| query::project(e, &fields)))
                .collect())
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
        self.read(move |s| query::facets(&mut s.conn, &mut s.cache, &facets, filter.as_ref()))
            .await
    }

    async fn provenance(
        &self,
        entity_ref: &EntityRef,
    ) -> Result<Option<EntityProvenance>, StoreError> {
        let key = entity_ref.canonical();
        self.read(move |s| {
            s.conn
                .query_opt(SELECT_PROVENANCE, sql_params![&key])?
                .map(|r| {
                    Ok(EntityProvenance {
                        entity_ref: r.text(0)?,
                        location_key: r.text(1)?,
                        origin: r.text(2)?,
                        parent_ref: r.opt_text(3)?,
                    })
                })
                .transpose()
        })
        .await
    }

    async fn delete_entity_by_uid(&self, uid: &str) -> Result<bool, StoreError> {
        let uid = uid.to_string();
        self.write(move |s| {
            transaction(&mut s.conn, true, |tx| {
                match tx.query_opt(SELECT_ID_BY_UID, sql_params![&uid])? {
                    Some(row) => delete_entity(tx, row.int(0)?),
                    None => Ok(false),
                }
            })
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
            transaction(&mut s.conn, true, |tx| {
                let existing =
                    tx.query_opt(SELECT_LOCATION_BY_KEY, sql_params![&location_type, &target])?;
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
                tx.execute(
                    INSERT_LOCATION,
                    sql_params![&record.id, &record.location_type, &record.target],
                )?;
                Ok(record)
            })
        })
        .await
    }

    async fn locations(&self) -> Result<Vec<LocationRecord>, StoreError> {
        self.read(|s| {
            s.conn
                .query(SELECT_LOCATIONS, &[])?
                .iter()
                .map(location_row)
                .collect()
        })
        .await
    }

    async fn location(&self, id: &str) -> Result<Option<LocationRecord>, StoreError> {
        let id = id.to_string();
        self.read(move |s| {
            s.conn
                .query_opt(SELECT_LOCATION, sql_params![&id])?
                .as_ref()
                .map(location_row)
                .transpose()
        })
        .await
    }

    async fn delete_location(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write(move |s| Ok(s.conn.execute(DELETE_LOCATION, sql_params![&id])? > 0))
            .await
    }

    async fn entity_count(&self) -> Result<u64, StoreError> {
        self.read(|s| Ok(s.conn.query_int(COUNT_ENTITIES, &[])?.max(0) as u64))
            .await
    }

    async fn claim_origin(
        &self,
        origin: &str,
        holder: &str,
        lease: Duration,
        due_only: bool,
    ) -> Result<bool, StoreError> {
        let origin = origin.to_string();
        let holder = holder.to_string();
        self.write(move |s| {
            let now = now_millis();
            let until = now.saturating_add(millis(lease));
            let claimed = s.conn.query_opt(
                CLAIM_ORIGIN,
                sql_params![&origin, &holder, until, now, i64::from(due_only)],
            )?;
            Ok(claimed.is_some())
        })
        .await
    }

    async fn release_origin(
        &self,
        origin: &str,
        holder: &str,
        next_in: Duration,
    ) -> Result<(), StoreError> {
        let origin = origin.to_string();
        let holder = holder.to_string();
        self.write(move |s| {
            let next_due = now_millis().saturating_add(millis(next_in));
            s.conn
                .execute(RELEASE_ORIGIN, sql_params![&origin, &holder, next_due])?;
            Ok(())
        })
        .await
    }

    async fn put_docs(&self, docs: StoredDocs) -> Result<(), StoreError> {
        self.write(move |s| docs::put(&mut s.conn, &docs)).await
    }

    async fn docs_etag(&self, entity_ref: &str) -> Result<Option<String>, StoreError> {
        let entity_ref = entity_ref.to_string();
        self.read(move |s| docs::etag(&mut s.conn, &entity_ref))
            .await
    }

    async fn docs_file(
        &self,
        entity_ref: &str,
        path: &str,
    ) -> Result<Option<DocsFile>, StoreError> {
        let entity_ref = entity_ref.to_string();
        let path = path.to_string();
        self.read(move |s| docs::file(&mut s.conn, &entity_ref, &path))
            .await
    }

    async fn delete_docs(&self, entity_ref: &str) -> Result<bool, StoreError> {
        let entity_ref = entity_ref.to_string();
        self.write(move |s| docs::delete(&mut s.conn, &entity_ref))
            .await
    }

    async fn prune_docs(&self) -> Result<u64, StoreError> {
        self.write(|s| docs::prune(&mut s.conn)).await
    }

    async fn entity_etags(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|s| ref_etag_pairs(&mut s.conn, SELECT_ENTITY_ETAGS))
            .await
    }

    async fn docs_etags(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|s| ref_etag_pairs(&mut s.conn, SELECT_DOCS_ETAGS))
            .await
    }

    async fn create_task(&self, task: NewTask) -> Result<(), StoreError> {
        self.write(move |s| tasks::create(&mut s.conn, &task)).await
    }

    async fn task(&self, id: &str) -> Result<Option<SerializedTask>, StoreError> {
        let id = id.to_string();
        self.read(move |s| tasks::get(&mut s.conn, &id)).await
    }

    async fn list_tasks(&self, query: &TaskQuery) -> Result<TaskList, StoreError> {
        let query = query.clone();
        self.read(move |s| tasks::list(&mut s.conn, &query)).await
    }

    async fn claim_task(&self, holder: &str) -> Result<Option<SerializedTask>, StoreError> {
        let holder = holder.to_string();
        self.write(move |s| tasks::claim(&mut s.conn, &holder))
            .await
    }

    async fn heartbeat_task(&self, id: &str, holder: &str) -> Result<Heartbeat, StoreError> {
        let id = id.to_string();
        let holder = holder.to_string();
        self.write(move |s| tasks::heartbeat(&mut s.conn, &id, &holder))
            .await
    }

    async fn finish_task(
        &self,
        id: &str,
        holder: &str,
        status: TaskStatus,
        body: Value,
        heartbeat_before: Option<i64>,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let holder = holder.to_string();
        self.write(move |s| {
            tasks::finish(&mut s.conn, &id, &holder, status, &body, heartbeat_before)
        })
        .await
    }

    async fn append_task_event(
        &self,
        id: &str,
        event_type: TaskEventType,
        body: Value,
    ) -> Result<i64, StoreError> {
        let id = id.to_string();
        self.write(move |s| tasks::append_event(&mut s.conn, &id, event_type, &body))
            .await
    }

    async fn task_events(
        &self,
        id: &str,
        after: Option<i64>,
    ) -> Result<Vec<TaskEvent>, StoreError> {
        let id = id.to_string();
        self.read(move |s| tasks::events(&mut s.conn, &id, after))
            .await
    }

    async fn cancel_task(&self, id: &str) -> Result<Option<TaskStatus>, StoreError> {
        let id = id.to_string();
        self.write(move |s| tasks::cancel(&mut s.conn, &id)).await
    }

    async fn processing_tasks(&self) -> Result<Vec<ProcessingTask>, StoreError> {
        self.read(|s| tasks::processing(&mut s.conn)).await
    }

    async fn dangling_relations(&self) -> Result<Vec<RelationRow>, StoreError> {
        self.read(|s| {
            s.conn
                .query(SELECT_DANGLING, &[])?
                .iter()
                .map(|r| {
                    Ok(RelationRow {
                        source: r.text(0)?,
                        relation_type: r.text(1)?,
                        target: r.text(2)?,
                    })
                })
                .collect()
        })
        .await
    }
}
