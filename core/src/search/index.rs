//! [`SearchIndex`]: the tantivy index of the catalog and TechDocs, kept in step with the store.
//!
//! **The store is the truth; the index is a cache of it.** Each process keeps its own index (on disk beside a
//! SQLite database, or in a directory of its own for PostgreSQL; in memory for `:memory:` stores and tests).
//! [`SearchIndex::sync`] brings it up to date by diffing what it holds, `(key → etag)` of every entity and
//! every docs site, against the store's cheap etag lists ([`Store::entity_etags`], [`Store::docs_etags`]):
//! changed entities and sites are deleted by key and added again, vanished ones deleted, all in one commit.
//! Because the diff is against the store and not against this process's own writes, replicas sharing a
//! PostgreSQL database each catch up with what the others wrote.
//!
//! **Generations.** On disk, an index lives in `<base>/gen-<uuid>/` with a `stagedoor-search-version` file,
//! and `<base>/CURRENT` names the generation in use (replaced by rename, so it is always whole). At open, a
//! missing, unreadable (fails to open or to list its etags) or other-version index is rebuilt from the store:
//! into a fresh generation, committed, then swapped in, then the old one deleted. Queries keep using the old
//! generation until the swap; an incremental sync is one tantivy commit, which readers see whole or not at
//! all. So no query ever sees a half-built index.
//!
//! **One writer per index directory.** tantivy locks a directory for its writer; a second process pointed at
//! the same directory (two servers on one machine sharing a PostgreSQL database) gets an in-memory index
//! instead, with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use tantivy::directory::error::LockError;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use super::documents::{
    doc_key, entity_document, site_etag, techdocs_documents, to_tantivy, IndexDoc, TYPE_SITE_MARKER,
};
use super::query::{SearchQuery, SearchResultSet, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS};
use super::schema::{self, SearchSchema, SCHEMA_VERSION};
use super::searcher;
use super::SearchError;
use crate::entity::EntityRef;
use crate::store::Store;

/// The file in a generation directory holding its schema version.
pub const VERSION_FILE: &str = "stagedoor-search-version";
/// The file in the base directory naming the generation in use.
pub const CURRENT_FILE: &str = "CURRENT";
/// The file in the base directory a process locks while it owns the index there.
pub const LOCK_FILE: &str = "LOCK";
/// Entities loaded from the store per round trip while indexing.
const LOAD_BATCH: usize = 500;
/// The incremental writer's memory budget (tantivy's minimum is 15 MB per thread).
const WRITER_BUDGET: usize = 32 << 20;
/// Per-thread budget of a full rebuild.
const REBUILD_BUDGET_PER_THREAD: usize = 64 << 20;
/// The stored docs file a site's sections come from.
const SEARCH_INDEX_FILE: &str = "search/search_index.json";

/// Where an index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    Memory,
    /// A base directory holding generations.
    Directory(PathBuf),
}

/// What one sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The index was (re)built from scratch.
    pub rebuilt: bool,
    /// Entities (re)indexed.
    pub entities: usize,
    /// Docs sites (re)indexed.
    pub sites: usize,
    /// Entities and sites removed.
    pub removed: usize,
}

/// One built index with its writer and what it holds.
struct Generation {
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    /// The generation's directory (none in memory).
    dir: Option<PathBuf>,
    /// `key → etag` of every entity document and site marker: what the index was built from.
    etags: Mutex<HashMap<String, String>>,
}

/// The search index of one portal.
pub struct SearchIndex {
    schema: SearchSchema,
    location: IndexLocation,
    /// Backstage's Lunr engine tags highlights with a random `<uuid>`/`</uuid>` pair per engine, so no
    /// document text can pass for a highlight; so do we.
    tags: (String, String),
    current: RwLock<Option<Arc<Generation>>>,
    /// Where this process actually keeps the index, decided at the first sync: `location`, or memory when
    /// another process holds the directory.
    effective: Mutex<Option<IndexLocation>>,
    /// This process's lock on the base directory (`LOCK`), held for the index's lifetime, so no two
    /// processes swap generations in one directory.
    _dir_lock: Mutex<Option<std::fs::File>>,
    /// Syncs and rebuilds run one at a time.
    writing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn lock_err<T>(_: T) -> SearchError {
    SearchError::Index("search index lock poisoned".into())
}

impl SearchIndex {
    /// An index at `location`, opened (or built) by the first [`SearchIndex::sync`].
    pub fn new(location: IndexLocation) -> SearchIndex {
        let tag = uuid::Uuid::new_v4();
        SearchIndex {
            schema: SearchSchema::new(),
            location,
            tags: (format!("<{tag}>"), format!("</{tag}>")),
            current: RwLock::new(None),
            effective: Mutex::new(None),
            _dir_lock: Mutex::new(None),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// The configured location.
    pub fn location(&self) -> &IndexLocation {
        &self.location
    }

    /// Where the index is kept: the configured location, or memory when its directory is another
    /// process's (known after the first sync).
    pub fn effective_location(&self) -> Option<IndexLocation> {
        self.effective.lock().ok().and_then(|l| l.clone())
    }

    /// Decides (once) where this process keeps its index, taking the directory's lock.
    fn claim_location(&self) -> Result<IndexLocation, SearchError> {
        let mut effective = self.effective.lock().map_err(lock_err)?;
        if let Some(location) = effective.as_ref() {
            return Ok(location.clone());
        }
        let location = match &self.location {
            IndexLocation::Memory => IndexLocation::Memory,
            IndexLocation::Directory(base) => {
                std::fs::create_dir_all(base)?;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(base.join(LOCK_FILE))?;
                match file.try_lock() {
                    Ok(()) => {
                        *self._dir_lock.lock().map_err(lock_err)? = Some(file);
                        IndexLocation::Directory(base.clone())
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        tracing::warn!(
                            dir = %base.display(),
                            "search index directory is in use by another process; keeping this process's index in memory"
                        );
                        IndexLocation::Memory
                    }
                    Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
                }
            }
        };
        *effective = Some(location.clone());
        Ok(location)
    }

    /// The directory of the generation in use, if on disk and opened.
    pub fn generation_dir(&self) -> Option<PathBuf> {
        self.current
            .read()
            .ok()
            .and_then(|c| c.as_ref().and_then(|g| g.dir.clone()))
    }

    /// Whether an index has been opened or built.
    pub fn is_open(&self) -> bool {
        self.current.read().map(|c| c.is_some()).unwrap_or(false)
    }

    fn generation(&self) -> Result<Option<Arc<Generation>>, SearchError> {
        Ok(self.current.read().map_err(lock_err)?.clone())
    }

    /// Answers a query from the index as it is (see [`SearchIndex::sync`] to bring it up to date first). An
    /// index never opened answers nothing.
    pub async fn search(&self, query: SearchQuery) -> Result<SearchResultSet, SearchError> {
        let Some(generation) = self.generation()? else {
            // Still validate the cursor, so a bad one is an error whatever the index's state.
            searcher::decode_cursor(query.page_cursor.as_deref())?;
            return Ok(SearchResultSet {
                number_of_results: Some(0),
                ..SearchResultSet::default()
            });
        };
        let schema = self.schema.clone();
        let tags = self.tags.clone();
        tokio::task::spawn_blocking(move || {
            let searcher = generation.reader.searcher();
            searcher::search(&searcher, &schema, &query, (&tags.0, &tags.1))
        })
        .await
        .map_err(|e| SearchError::Index(format!("search task failed: {e}")))?
    }

    /// Brings the index up to date with `store`: opens it (rebuilding it if missing, unreadable or of another
    /// schema version), then reindexes what changed since.
    pub async fn sync(&self, store: &dyn Store) -> Result<SyncReport, SearchError> {
        let _writing = self.writing.lock().await;
        if self.generation()?.is_none() {
            if let Some(generation) = self.open_existing()? {
                *self.current.write().map_err(lock_err)? = Some(Arc::new(generation));
            } else {
                return self.rebuild_locked(store).await;
            }
        }
        let generation = self
            .generation()?
            .ok_or_else(|| SearchError::Index("search index not open".into()))?;
        fill(&self.schema, &generation, store).await
    }

    /// Rebuilds the whole index from `store` into a fresh generation and swaps it in.
    pub async fn rebuild(&self, store: &dyn Store) -> Result<SyncReport, SearchError> {
        let _writing = self.writing.lock().await;
        self.rebuild_locked(store).await
    }

    async fn rebuild_locked(&self, store: &dyn Store) -> Result<SyncReport, SearchError> {
        let location = self.claim_location()?;
        let fresh = Arc::new(self.create_generation(&location)?);
        let mut report = fill(&self.schema, &fresh, store).await?;
        report.rebuilt = true;
        if let (IndexLocation::Directory(base), Some(dir)) = (&location, &fresh.dir) {
            std::fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION.to_string())?;
            point_current(base, dir)?;
        }
        let old = self.current.write().map_err(lock_err)?.replace(fresh);
        drop(old);
        if let IndexLocation::Directory(base) = &location {
            remove_other_generations(base, self.generation_dir().as_deref());
        }
        Ok(report)
    }

    /// The generation `CURRENT` names, if it opens, has this schema version and lists its etags. `None`
    /// means rebuild.
    fn open_existing(&self) -> Result<Option<Generation>, SearchError> {
        let IndexLocation::Directory(base) = self.claim_location()? else {
            return Ok(None);
        };
        let Ok(name) = std::fs::read_to_string(base.join(CURRENT_FILE)) else {
            return Ok(None);
        };
        let name = name.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Ok(None);
        }
        let dir = base.join(name);
        let version = std::fs::read_to_string(dir.join(VERSION_FILE)).unwrap_or_default();
        if version.trim() != SCHEMA_VERSION.to_string() {
            tracing::info!(dir = %dir.display(), found = version.trim(), "search index has another schema version; rebuilding");
            return Ok(None);
        }
        match open_generation(&self.schema, &dir) {
            Ok(generation) => Ok(Some(generation)),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding");
                Ok(None)
            }
        }
    }

    fn create_generation(&self, location: &IndexLocation) -> Result<Generation, SearchError> {
        match location {
            IndexLocation::Memory => memory_generation(&self.schema),
            IndexLocation::Directory(base) => {
                let dir = base.join(format!("gen-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir)?;
                let index = Index::create_in_dir(&dir, self.schema.schema.clone())?;
                generation_of(index, Some(dir), rebuild_threads())
            }
        }
    }
}

fn rebuild_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

fn memory_generation(schema: &SearchSchema) -> Result<Generation, SearchError> {
    let index = Index::create_in_ram(schema.schema.clone());
    generation_of(index, None, 1)
}

fn open_generation(schema: &SearchSchema, dir: &Path) -> Result<Generation, SearchError> {
    let index = Index::open_in_dir(dir)?;
    if index.schema() != schema.schema {
        return Err(SearchError::Index("schema differs".into()));
    }
    let generation = generation_of(index, Some(dir.to_path_buf()), 1)?;
    let etags = indexed_etags(&generation.reader)?;
    *generation.etags.lock().map_err(lock_err)? = etags;
    Ok(generation)
}

fn generation_of(
    index: Index,
    dir: Option<PathBuf>,
    threads: usize,
) -> Result<Generation, SearchError> {
    schema::register(&index);
    let budget = if threads > 1 {
        REBUILD_BUDGET_PER_THREAD * threads
    } else {
        WRITER_BUDGET
    };
    let writer = match index.writer_with_num_threads(threads, budget) {
        Ok(writer) => writer,
        Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
            return Err(SearchError::Busy(dir.unwrap_or_default()))
        }
        Err(e) => return Err(e.into()),
    };
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Generation {
        reader,
        writer: Mutex::new(writer),
        dir,
        etags: Mutex::new(HashMap::new()),
    })
}

/// `key → etag` of the live documents that carry an etag (entity documents and site markers), read from
/// the fast fields.
fn indexed_etags(reader: &IndexReader) -> Result<HashMap<String, String>, SearchError> {
    let searcher = reader.searcher();
    let mut out = HashMap::new();
    let (mut key, mut etag) = (String::new(), String::new());
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let (Some(keys), Some(etags)) = (fast.str("key")?, fast.str("etag")?) else {
            continue;
        };
        let alive = segment.alive_bitset();
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let (Some(e), Some(k)) = (etags.term_ords(doc).next(), keys.term_ords(doc).next())
            else {
                continue;
            };
            if etags.ord_to_str(e, &mut etag)? && keys.ord_to_str(k, &mut key)? {
                out.insert(key.clone(), etag.clone());
            }
        }
    }
    Ok(out)
}

/// Writes `CURRENT` naming `dir`, through a rename so it is never seen half-written.
fn point_current(base: &Path, dir: &Path) -> Result<(), SearchError> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SearchError::Index("generation directory has no name".into()))?;
    let tmp = base.join(format!(
        "{CURRENT_FILE}.tmp-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&tmp, name)?;
    std::fs::rename(&tmp, base.join(CURRENT_FILE))?;
    Ok(())
}

/// Deletes generations other than `keep` (best effort: a directory another process still has open is
/// left for the next rebuild).
fn remove_other_generations(base: &Path, keep: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_generation = entry.file_name().to_string_lossy().starts_with("gen-");
        if is_generation && Some(path.as_path()) != keep {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::debug!(dir = %path.display(), error = %e, "old search index generation not removed");
            }
        }
    }
}

/// One reindexing step for the writer.
enum Change {
    Delete(String),
    Add(Box<IndexDoc>),
}

/// Diffs `generation` against the store and applies the difference in one commit; on failure, what was
/// handed to the writer is rolled back, so the next sync starts from the committed index.
async fn fill(
    schema: &SearchSchema,
    generation: &Arc<Generation>,
    store: &dyn Store,
) -> Result<SyncReport, SearchError> {
    let outcome = fill_uncommitted(schema, generation, store).await;
    if outcome.is_err() {
        if let Ok(mut writer) = generation.writer.lock() {
            let _ = writer.rollback();
        }
    }
    outcome
}

async fn fill_uncommitted(
    schema: &SearchSchema,
    generation: &Arc<Generation>,
    store: &dyn Store,
) -> Result<SyncReport, SearchError> {
    let entity_etags = store.entity_etags().await?;
    let docs_etags = store.docs_etags().await?;
    let mut want: HashMap<String, String> =
        HashMap::with_capacity(entity_etags.len() + docs_etags.len());
    let by_ref: HashMap<&str, &str> = entity_etags
        .iter()
        .map(|(r, e)| (r.as_str(), e.as_str()))
        .collect();
    for (entity_ref, etag) in &entity_etags {
        want.insert(doc_key(TYPE_SOFTWARE_CATALOG, entity_ref), etag.clone());
    }
    for (entity_ref, docs_etag) in &docs_etags {
        // A site whose entity is gone is pruned from the store soon; it is not searchable meanwhile.
        if let Some(entity_etag) = by_ref.get(entity_ref.as_str()) {
            want.insert(
                doc_key(TYPE_SITE_MARKER, entity_ref),
                site_etag(entity_etag, docs_etag),
            );
        }
    }
    let have = generation.etags.lock().map_err(lock_err)?.clone();
    let mut report = SyncReport::default();
    let mut changes: Vec<Change> = Vec::new();
    for key in have.keys().filter(|k| !want.contains_key(*k)) {
        report.removed += 1;
        changes.push(Change::Delete(key.clone()));
        if let Some(entity_ref) = key.strip_prefix(&format!("{TYPE_SITE_MARKER}:")) {
            changes.push(Change::Delete(doc_key(TYPE_TECHDOCS, entity_ref)));
        }
    }
    let stale = |key: &String| have.get(key) != want.get(key);
    let entity_refs: Vec<&str> = entity_etags
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| stale(&doc_key(TYPE_SOFTWARE_CATALOG, r)))
        .collect();
    let site_refs: Vec<&str> = docs_etags
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| {
            let key = doc_key(TYPE_SITE_MARKER, r);
            want.contains_key(&key) && stale(&key)
        })
        .collect();
    let docs_etag_of: HashMap<&str, &str> = docs_etags
        .iter()
        .map(|(r, e)| (r.as_str(), e.as_str()))
        .collect();

    // Entities, a batch at a time, handed to the writer as they are collated so a full build never holds the
    // whole catalog in memory.
    for batch in entity_refs.chunks(LOAD_BATCH) {
        let refs: Vec<EntityRef> = batch
            .iter()
            .filter_map(|r| EntityRef::parse(r).ok())
            .collect();
        let entities = store.entities_by_refs(&refs, &[]).await?;
        for entity in entities.into_iter().flatten() {
            let entity_ref = entity.entity_ref().canonical();
            let etag = by_ref.get(entity_ref.as_str()).copied().unwrap_or("");
            changes.push(Change::Delete(doc_key(TYPE_SOFTWARE_CATALOG, &entity_ref)));
            changes.push(Change::Add(Box::new(entity_document(&entity, etag))));
            report.entities += 1;
        }
        write(schema, generation, std::mem::take(&mut changes)).await?;
    }
    for batch in site_refs.chunks(LOAD_BATCH) {
        let refs: Vec<EntityRef> = batch
            .iter()
            .filter_map(|r| EntityRef::parse(r).ok())
            .collect();
        let entities = store.entities_by_refs(&refs, &[]).await?;
        for entity in entities.into_iter().flatten() {
            let entity_ref = entity.entity_ref().canonical();
            let entity_etag = by_ref.get(entity_ref.as_str()).copied().unwrap_or("");
            let docs_etag = docs_etag_of.get(entity_ref.as_str()).copied().unwrap_or("");
            let file = store.docs_file(&entity_ref, SEARCH_INDEX_FILE).await?;
            changes.push(Change::Delete(doc_key(TYPE_SITE_MARKER, &entity_ref)));
            changes.push(Change::Delete(doc_key(TYPE_TECHDOCS, &entity_ref)));
            for doc in techdocs_documents(
                &entity,
                &site_etag(entity_etag, docs_etag),
                file.as_ref().map(|f| f.body.as_slice()),
            ) {
                changes.push(Change::Add(Box::new(doc)));
            }
            report.sites += 1;
        }
        write(schema, generation, std::mem::take(&mut changes)).await?;
    }
    write(schema, generation, changes).await?;

    if report.entities + report.sites + report.removed > 0 || have.is_empty() {
        let committing = generation.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            committing.writer.lock().map_err(lock_err)?.commit()?;
            committing.reader.reload()?;
            Ok(())
        })
        .await
        .map_err(|e| SearchError::Index(format!("index task failed: {e}")))??;
        // Only after the commit: a failed sync leaves the map as the index is, and the next one retries.
        *generation.etags.lock().map_err(lock_err)? = want;
    }
    Ok(report)
}

/// Hands `changes` to the writer (uncommitted) off the async runtime.
async fn write(
    schema: &SearchSchema,
    generation: &Arc<Generation>,
    changes: Vec<Change>,
) -> Result<(), SearchError> {
    if changes.is_empty() {
        return Ok(());
    }
    let generation = generation.clone();
    let schema = schema.clone();
    tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
        let writer = generation.writer.lock().map_err(lock_err)?;
        for change in changes {
            match change {
                Change::Delete(key) => {
                    writer.delete_term(Term::from_field_text(schema.key, &key));
                }
                Change::Add(doc) => {
                    writer.add_document(to_tantivy(&schema, &doc))?;
                }
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| SearchError::Index(format!("index task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::store::{LocationIngest, OrphanStrategy, ProcessedEntity, SqliteStore};
    use serde_json::json;

    fn ingest(entities: &[(&str, &str)]) -> LocationIngest {
        LocationIngest {
            origin: "file:/x.yaml".into(),
            entities: entities
                .iter()
                .map(|(name, description)| ProcessedEntity {
                    entity: Entity::from_value(json!({
                        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                        "metadata": {"name": name, "description": description},
                        "spec": {"type": "service", "lifecycle": "production", "owner": "team"}
                    }))
                    .unwrap(),
                    entity_ref: format!("component:default/{name}"),
                    location_key: "file:/x.yaml".into(),
                    parent_ref: None,
                    relations: vec![],
                    errors: vec![],
                    hash: format!("{name}/{description}"),
                })
                .collect(),
            ..LocationIngest::default()
        }
    }

    async fn hits(index: &SearchIndex, term: &str) -> Vec<String> {
        let set = index
            .search(SearchQuery {
                term: term.into(),
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        set.results
            .iter()
            .map(|r| r.field("name").unwrap_or("").to_string())
            .collect()
    }

    #[tokio::test]
    async fn syncs_reindex_exactly_what_changed() {
        let store = SqliteStore::open_in_memory().unwrap();
        let index = SearchIndex::new(IndexLocation::Memory);
        assert!(hits(&index, "alpha").await.is_empty(), "never opened");
        store
            .apply_location(
                ingest(&[("alpha", "red"), ("beta", "blue")]),
                OrphanStrategy::Delete,
            )
            .await
            .unwrap();
        let first = index.sync(&store).await.unwrap();
        assert!(first.rebuilt);
        assert_eq!(first.entities, 2);
        assert_eq!(hits(&index, "alpha").await, ["alpha"]);
        assert_eq!(index.sync(&store).await.unwrap(), SyncReport::default());

        store
            .apply_location(ingest(&[("alpha", "green")]), OrphanStrategy::Delete)
            .await
            .unwrap();
        let report = index.sync(&store).await.unwrap();
        assert_eq!((report.entities, report.removed), (1, 1));
        assert_eq!(hits(&index, "green").await, ["alpha"]);
        assert!(hits(&index, "red").await.is_empty());
        assert!(hits(&index, "beta").await.is_empty());
    }

    #[tokio::test]
    async fn a_directory_index_is_reopened_or_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("idx");
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .apply_location(ingest(&[("alpha", "red")]), OrphanStrategy::Delete)
            .await
            .unwrap();
        let generation = {
            let index = SearchIndex::new(IndexLocation::Directory(base.clone()));
            assert!(index.sync(&store).await.unwrap().rebuilt);
            // The directory is this index's: a second one keeps its own in memory.
            let other = SearchIndex::new(IndexLocation::Directory(base.clone()));
            other.sync(&store).await.unwrap();
            assert_eq!(other.effective_location(), Some(IndexLocation::Memory));
            assert_eq!(hits(&other, "alpha").await, ["alpha"]);
            index.generation_dir().unwrap()
        };
        let index = SearchIndex::new(IndexLocation::Directory(base.clone()));
        assert_eq!(index.sync(&store).await.unwrap(), SyncReport::default());
        assert_eq!(index.generation_dir(), Some(generation.clone()));
        drop(index);
        std::fs::write(generation.join(VERSION_FILE), "0").unwrap();
        let index = SearchIndex::new(IndexLocation::Directory(base.clone()));
        assert!(index.sync(&store).await.unwrap().rebuilt);
        assert_ne!(index.generation_dir(), Some(generation.clone()));
        assert!(!generation.exists(), "the old generation is deleted");
        assert_eq!(hits(&index, "alpha").await, ["alpha"]);
    }
}
