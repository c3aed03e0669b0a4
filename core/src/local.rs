//! [`LocalPortal`]: the embedded portal, the catalog services over a [`Store`], used by the CLI and TUI in
//! embedded mode and behind the HTTP API.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::config::catalog::DEFAULT_PROCESSING_INTERVAL;
use crate::config::{CatalogConfig, Config, DatabaseConfig, SqliteLocation};
use crate::entity::validation::validate_entity;
use crate::entity::{Entity, EntityRef, ANNOTATION_LOCATION};
use crate::error::PortalError;
use crate::ingest::processor::relation_rows;
use crate::ingest::{Ingestor, LocationReader, RootLocation, RootOutcome};
use crate::portal::{
    AddLocationResult, Ancestry, AncestryItem, Portal, Problem, RefreshProgress, RefreshReport,
    RefreshRequest,
};
use crate::scaffolder::service::TaskService;
use crate::scaffolder::settings::ScaffolderSettings;
use crate::search::{IndexLocation, SearchIndex, SearchQuery, SearchResultSet, SyncReport};
use crate::store::{
    EntityPage, EntityPredicate, EntityQuery, Facets, LocationIngest, LocationRecord, PgOptions,
    PostgresStore, SqliteStore, Store,
};
use crate::techdocs::publish::{DocsFile, DocsSite};
use crate::techdocs::service::{stored_site, sync_docs, DocsSync, ANNOTATION_TECHDOCS_REF};
use tokio::sync::mpsc;

/// Location types `POST /locations` accepts when `catalog.allowedLocationTypes` is not set (Backstage's
/// default).
const DEFAULT_ALLOWED_LOCATION_TYPES: [&str; 1] = ["url"];

/// How long a claim on an origin's refresh lasts if its holder dies without releasing it.
const CLAIM_LEASE: Duration = Duration::from_secs(600);
/// How long a requested (not periodic) refresh waits for another process to finish the same origin.
const CLAIM_WAIT: Duration = Duration::from_secs(60);
const CLAIM_RETRY: Duration = Duration::from_millis(50);

/// The embedded portal.
pub struct LocalPortal {
    store: Arc<dyn Store>,
    catalog: CatalogConfig,
    ingestor: Ingestor,
    /// Reads docs sources at URLs under the same read policy as catalog files.
    reader: LocationReader,
    allowed_location_types: Vec<String>,
    /// One refresh at a time in this process: two walks of the same root would race on its entities.
    refresh_lock: tokio::sync::Mutex<()>,
    /// This portal's name in refresh claims, which keep other processes sharing the database off the roots
    /// it is processing.
    holder: String,
    /// The full-text index behind [`Portal::search`], synced with the store after every change this portal
    /// makes and on every periodic refresh (which also picks up what other replicas wrote).
    search: SearchIndex,
    /// Whether the index has been synced since the portal opened (the first search syncs it).
    search_synced: std::sync::atomic::AtomicBool,
    /// Scaffolder tasks: creation, workers, events (see [`LocalPortal::start_task_workers`]).
    scaffolder: Arc<TaskService>,
}

impl LocalPortal {
    /// Opens the store `backend.database` names (SQLite file or `:memory:`, or PostgreSQL) and prepares the catalog from
    /// `config`. Nothing is ingested until [`Portal::refresh`] (or [`LocalPortal::start_refresh_loop`]).
    pub fn from_config(config: Config) -> Result<LocalPortal, PortalError> {
        let store: Arc<dyn Store> = match config.database().map_err(config_error)? {
            DatabaseConfig::Sqlite(SqliteLocation::Memory) => {
                Arc::new(SqliteStore::open_in_memory()?)
            }
            DatabaseConfig::Sqlite(SqliteLocation::File(path)) => {
                Arc::new(SqliteStore::open(&path)?)
            }
            DatabaseConfig::Postgres { url } => {
                Arc::new(PostgresStore::connect(&PgOptions::new(url))?)
            }
        };
        Self::with_store(store, &config)
    }

    /// A portal over a store the caller opened (tests, the server with its own pool).
    pub fn with_store(store: Arc<dyn Store>, config: &Config) -> Result<LocalPortal, PortalError> {
        let catalog = config.catalog().map_err(config_error)?;
        let reader = LocationReader::new(config.read_policy().map_err(config_error)?)?;
        let allowed_location_types = match config.get("catalog.allowedLocationTypes") {
            None => DEFAULT_ALLOWED_LOCATION_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        PortalError::Input(
                            "catalog.allowedLocationTypes must be a list of strings".into(),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(PortalError::Input(
                    "catalog.allowedLocationTypes must be a list of strings".into(),
                ))
            }
        };
        let search = SearchIndex::new(search_location(config)?);
        let scaffolder_settings = ScaffolderSettings::from_config(config).map_err(config_error)?;
        Ok(LocalPortal {
            scaffolder: Arc::new(TaskService::new(
                store.clone(),
                scaffolder_settings,
                reader.clone(),
            )),
            store,
            search,
            search_synced: std::sync::atomic::AtomicBool::new(false),
            ingestor: Ingestor::new(reader.clone(), catalog.clone()),
            reader,
            catalog,
            allowed_location_types,
            refresh_lock: tokio::sync::Mutex::new(()),
            holder: uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn catalog_config(&self) -> &CatalogConfig {
        &self.catalog
    }

    /// The search index (tests, diagnostics).
    pub fn search_index(&self) -> &SearchIndex {
        &self.search
    }

    /// Brings the search index up to date with the store (building it first if needed).
    pub async fn sync_search(&self) -> Result<SyncReport, PortalError> {
        let report = self.search.sync(self.store.as_ref()).await?;
        self.search_synced
            .store(true, std::sync::atomic::Ordering::Release);
        if report != SyncReport::default() {
            tracing::debug!(?report, "search index synced");
        }
        Ok(report)
    }

    /// Rebuilds the search index from the store into a fresh one and swaps it in.
    pub async fn rebuild_search(&self) -> Result<SyncReport, PortalError> {
        let report = self.search.rebuild(self.store.as_ref()).await?;
        self.search_synced
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(report)
    }

    /// A sync after a change: a failure is logged, never the change's error (the catalog changed; the index
    /// catches up on the next sync).
    async fn after_change(&self) {
        if let Err(e) = self.sync_search().await {
            tracing::warn!(error = %e, "search index sync failed");
        }
    }

    /// Refreshes every `catalog.processingInterval` on a tokio task, until the portal is dropped.
    pub fn start_refresh_loop(self: &Arc<Self>) {
        let Some(interval) = self.catalog.processing_interval else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(portal) = weak.upgrade() else { break };
                let request = RefreshRequest {
                    periodic: true,
                    ..RefreshRequest::default()
                };
                match portal.refresh(request).await {
                    Ok(report) => tracing::debug!(
                        entities = report.entities,
                        problems = report.problems.len(),
                        "periodic refresh"
                    ),
                    Err(e) => tracing::warn!(error = %e, "periodic refresh failed"),
                }
            }
        });
    }

    /// Starts this portal's scaffolder task workers (once), until the portal is dropped: tasks that a dead
    /// worker left `processing` are failed first, then open tasks are claimed and run (woken at once by
    /// [`Portal::create_task`], and polling every second for tasks other processes created).
    pub fn start_task_workers(self: &Arc<Self>) {
        let weak: Weak<dyn Portal> = Arc::downgrade(self) as Weak<dyn Portal>;
        self.scaffolder.start(weak);
    }

    /// The scaffolder's task service (actions, settings, the stale-task sweep).
    pub fn scaffolder(&self) -> &Arc<TaskService> {
        &self.scaffolder
    }

    /// Adds an action tasks may use (or replaces the one with its id).
    pub fn register_action(&self, action: Arc<dyn crate::scaffolder::actions::Action>) {
        self.scaffolder.register_action(action);
    }

    /// Configured roots, then registered ones.
    async fn roots(&self) -> Result<Vec<RootLocation>, PortalError> {
        let mut roots: Vec<RootLocation> = self
            .catalog
            .locations
            .iter()
            .map(|l| RootLocation {
                location_type: l.location_type.clone(),
                target: l.target.clone(),
            })
            .collect();
        for record in self.store.locations().await? {
            let root = RootLocation {
                location_type: record.location_type,
                target: record.target,
            };
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        Ok(roots)
    }

    async fn refresh_roots(
        &self,
        roots: &[RootLocation],
        request: &RefreshRequest,
        sweep_stale: bool,
    ) -> Result<RefreshReport, PortalError> {
        let _guard = self.refresh_lock.lock().await;
        let progress = |event: RefreshProgress| {
            if let Some(tx) = &request.progress {
                let _ = tx.send(event);
            }
        };
        progress(RefreshProgress::Started { roots: roots.len() });
        let mut report = RefreshReport {
            roots: roots.len(),
            ..RefreshReport::default()
        };
        for root in roots {
            let origin = root.key();
            let done = self
                .claimed(&origin, request.periodic, || async {
                    let RootOutcome {
                        ingest,
                        mut problems,
                    } = self.ingestor.ingest_root(root).await;
                    let documented = documented_entities(&ingest);
                    let emitted = ingest.entities.len();
                    let locations = ingest
                        .entities
                        .iter()
                        .filter(|e| e.entity.kind().eq_ignore_ascii_case("location"))
                        .count();
                    let stats = self
                        .store
                        .apply_location(ingest, self.catalog.orphan_strategy)
                        .await?;
                    problems.extend(self.build_docs(&documented).await);
                    Ok((emitted, locations, problems, stats))
                })
                .await?;
            // None: another process refreshed this root moments ago, or is refreshing it now.
            let emitted = match done {
                Some((emitted, locations, problems, stats)) => {
                    report.entities += emitted;
                    report.locations += locations;
                    report.problems.extend(problems);
                    report.stats.add(&stats);
                    emitted
                }
                None => 0,
            };
            progress(RefreshProgress::RootDone {
                origin,
                entities: emitted,
            });
        }
        if sweep_stale {
            let live: HashSet<String> = roots.iter().map(RootLocation::key).collect();
            for origin in self.store.origins().await? {
                if !live.contains(&origin) {
                    if let Some(stats) = self.remove_origin(&origin, request.periodic).await? {
                        report.stats.add(&stats);
                    }
                }
            }
        }
        // Sites of entities this refresh deleted go with them.
        self.store.prune_docs().await?;
        self.after_change().await;
        report.dangling_relations = self
            .store
            .dangling_relations()
            .await?
            .into_iter()
            .map(|r| (r.source, r.relation_type, r.target))
            .collect();
        Ok(report)
    }

    /// Runs `work` on root `origin` under this process's claim on it, so no other process sharing the
    /// database processes it at the same time. A periodic refresh skips (`None`) an origin that is claimed or
    /// not due; a requested one waits for the other holder, up to [`CLAIM_WAIT`].
    async fn claimed<T, F, Fut>(
        &self,
        origin: &str,
        periodic: bool,
        work: F,
    ) -> Result<Option<T>, PortalError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, PortalError>>,
    {
        let deadline = Instant::now() + CLAIM_WAIT;
        while !self
            .store
            .claim_origin(origin, &self.holder, CLAIM_LEASE, periodic)
            .await?
        {
            if periodic {
                tracing::debug!(origin, "refresh skipped: claimed elsewhere or not due");
                return Ok(None);
            }
            if Instant::now() >= deadline {
                return Err(PortalError::Conflict(format!(
                    "{origin} is being refreshed by another stagedoor server; try again later"
                )));
            }
            tokio::time::sleep(CLAIM_RETRY).await;
        }
        tracing::debug!(origin, holder = %self.holder, "refresh claimed");
        let outcome = work().await;
        tracing::debug!(origin, holder = %self.holder, "refresh releasing");
        let next_in = self
            .catalog
            .processing_interval
            .unwrap_or(DEFAULT_PROCESSING_INTERVAL);
        let released = self
            .store
            .release_origin(origin, &self.holder, next_in)
            .await;
        let value = outcome?;
        released?;
        Ok(Some(value))
    }

    /// Applies an empty ingest to `origin` (its root is gone): its entities are orphaned or deleted.
    async fn remove_origin(
        &self,
        origin: &str,
        periodic: bool,
    ) -> Result<Option<crate::store::WriteStats>, PortalError> {
        self.claimed(origin, periodic, || async {
            Ok(self
                .store
                .apply_location(
                    LocationIngest {
                        origin: origin.to_string(),
                        ..LocationIngest::default()
                    },
                    self.catalog.orphan_strategy,
                )
                .await?)
        })
        .await
    }

    /// Rebuilds the docs of `entities` whose sources changed since their stored build (each is hashed; an
    /// unchanged site costs reading its sources, no rendering). Failures become problems of the refresh.
    async fn build_docs(&self, entities: &[Entity]) -> Vec<Problem> {
        let mut problems = Vec::new();
        for entity in entities {
            let quiet = |_line: String| {};
            if let Err(e) = sync_docs(self.store.as_ref(), &self.reader, entity, &quiet).await {
                problems.push(Problem {
                    location: entity
                        .annotation(ANNOTATION_LOCATION)
                        .unwrap_or_default()
                        .split_once(':')
                        .map_or_else(String::new, |(_, target)| target.to_string()),
                    document: None,
                    line: None,
                    name: e.name().to_string(),
                    message: e.to_string(),
                });
            }
        }
        problems
    }

    fn ensure_writable(&self) -> Result<(), PortalError> {
        if self.catalog.readonly {
            return Err(PortalError::NotAllowed(
                "This operation not allowed in readonly mode".into(),
            ));
        }
        Ok(())
    }

    /// Normalises a registration request, refusing types the catalog does not accept.
    fn registration_root(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<RootLocation, PortalError> {
        let allowed = self
            .allowed_location_types
            .iter()
            .any(|t| t == location_type)
            || (location_type == "file" && self.is_published_file(target));
        if !allowed {
            return Err(PortalError::Input(format!(
                "Registered locations must be of an allowed type {}",
                serde_json::to_string(&self.allowed_location_types).unwrap_or_default()
            )));
        }
        if target.trim().is_empty() {
            return Err(PortalError::Input(
                "Location target must not be empty".into(),
            ));
        }
        let target = match location_type {
            "file" => {
                let path = std::path::Path::new(target);
                if !path.is_absolute() {
                    return Err(PortalError::Input(format!(
                        "A file location target must be an absolute path, got {target}"
                    )));
                }
                crate::config::catalog::resolve_against(std::path::Path::new("/"), target)
                    .display()
                    .to_string()
            }
            "url" => url::Url::parse(target)
                .map_err(|e| PortalError::Input(format!("Invalid url {target}, {e}")))?
                .to_string(),
            _ => target.to_string(),
        };
        Ok(RootLocation {
            location_type: location_type.to_string(),
            target,
        })
    }
}

impl LocalPortal {
    /// Whether `target` is a file `publish:file` may have written: below one of
    /// `scaffolder.publish.file.allowedDirectories` once symlinks are resolved. Such files may be registered
    /// as `file` locations (`catalog:register` after `publish:file`) even when `catalog.allowedLocationTypes`
    /// has only `url`, since the configuration already opened those directories to the scaffolder.
    fn is_published_file(&self, target: &str) -> bool {
        let path = std::path::Path::new(target);
        if !path.is_absolute() {
            return false;
        }
        let Ok(real) = std::fs::canonicalize(path) else {
            return false;
        };
        self.scaffolder
            .settings()
            .publish_file_dirs
            .iter()
            .filter_map(|dir| std::fs::canonicalize(dir).ok())
            .any(|dir| real.starts_with(&dir) && real != dir)
    }
}

/// Entities of an ingest that have docs (a `backstage.io/techdocs-ref`).
fn documented_entities(ingest: &LocationIngest) -> Vec<Entity> {
    ingest
        .entities
        .iter()
        .filter(|p| p.entity.annotation(ANNOTATION_TECHDOCS_REF).is_some())
        .map(|p| p.entity.clone())
        .collect()
}

/// Where the search index lives: `search.index.directory` when set (relative to the config's directory);
/// else beside a SQLite file as `<file>-search/` (as SQLite keeps its `-wal` and `-shm` files); in memory
/// for `:memory:`; for PostgreSQL, `stagedoor-search-<hash of the database URL>` in the system temp
/// directory: the index is a cache of the store, rebuilt when missing, so temp is good enough and needs no
/// setup (set the directory to keep it across reboots).
fn search_location(config: &Config) -> Result<IndexLocation, PortalError> {
    if let Some(dir) = config
        .get("search.index.directory")
        .filter(|v| !v.is_null())
    {
        let dir = dir
            .as_str()
            .ok_or_else(|| PortalError::Input("search.index.directory must be a string".into()))?;
        return Ok(IndexLocation::Directory(
            crate::config::catalog::resolve_against(&config.base_dir, dir),
        ));
    }
    Ok(match config.database().map_err(config_error)? {
        DatabaseConfig::Sqlite(SqliteLocation::Memory) => IndexLocation::Memory,
        DatabaseConfig::Sqlite(SqliteLocation::File(path)) => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push("-search");
            IndexLocation::Directory(path.with_file_name(name))
        }
        DatabaseConfig::Postgres { url } => {
            use sha2::Digest;
            // The password is part of the hash only through the URL as configured; the hash is all that shows.
            let digest = sha2::Sha256::digest(url.as_bytes());
            IndexLocation::Directory(
                std::env::temp_dir()
                    .join(format!("stagedoor-search-{}", &hex::encode(digest)[..16])),
            )
        }
    })
}

fn config_error(e: crate::config::ConfigError) -> PortalError {
    PortalError::Input(e.message)
}

#[async_trait]
impl Portal for LocalPortal {
    async fn query_entities(&self, query: EntityQuery) -> Result<EntityPage, PortalError> {
        Ok(self.store.query_entities(&query).await?)
    }

    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, PortalError> {
        Ok(self.store.entity_by_ref(entity_ref).await?)
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, PortalError> {
        Ok(self.store.entity_by_uid(uid).await?)
    }

    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, PortalError> {
        Ok(self.store.entities_by_refs(refs, fields).await?)
    }

    async fn facets(
        &self,
        facets: &[String],
        filter: Option<EntityPredicate>,
    ) -> Result<Facets, PortalError> {
        if facets.is_empty() {
            return Err(PortalError::Input("Missing facet parameter".into()));
        }
        Ok(self.store.facets(facets, filter.as_ref()).await?)
    }

    async fn ancestry(&self, entity_ref: &EntityRef) -> Result<Ancestry, PortalError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut current = Some(entity_ref.clone());
        while let Some(r) = current.take() {
            if !seen.insert(r.canonical()) {
                break;
            }
            let Some(entity) = self.store.entity_by_ref(&r).await? else {
                if items.is_empty() {
                    return Err(PortalError::entity_not_found(entity_ref));
                }
                break;
            };
            let parent = self.store.provenance(&r).await?.and_then(|p| p.parent_ref);
            items.push(AncestryItem {
                entity,
                parent_entity_refs: parent.iter().cloned().collect(),
            });
            current = parent.and_then(|p| EntityRef::parse(&p).ok());
        }
        Ok(Ancestry {
            root_entity_ref: entity_ref.canonical(),
            items,
        })
    }

    async fn delete_entity_by_uid(&self, uid: &str) -> Result<(), PortalError> {
        if self.store.delete_entity_by_uid(uid).await? {
            self.store.prune_docs().await?;
            self.after_change().await;
            Ok(())
        } else {
            Err(PortalError::NotFound(format!("No entity with uid {uid}")))
        }
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshReport, PortalError> {
        let all = self.roots().await?;
        match &request.entity_ref {
            None => self.refresh_roots(&all, &request, true).await,
            Some(entity_ref) => {
                let provenance = self
                    .store
                    .provenance(entity_ref)
                    .await?
                    .ok_or_else(|| PortalError::entity_not_found(entity_ref))?;
                let roots: Vec<RootLocation> = all
                    .into_iter()
                    .filter(|r| r.key() == provenance.origin)
                    .collect();
                // An entity whose root is gone is swept by a full refresh.
                let sweep = roots.is_empty();
                let roots = if sweep { self.roots().await? } else { roots };
                self.refresh_roots(&roots, &request, sweep).await
            }
        }
    }

    async fn locations(&self) -> Result<Vec<LocationRecord>, PortalError> {
        Ok(self.store.locations().await?)
    }

    async fn location(&self, id: &str) -> Result<LocationRecord, PortalError> {
        self.store
            .location(id)
            .await?
            .ok_or_else(|| PortalError::NotFound(format!("Found no location with ID {id}")))
    }

    async fn add_location(
        &self,
        location_type: &str,
        target: &str,
        dry_run: bool,
    ) -> Result<AddLocationResult, PortalError> {
        let root = self.registration_root(location_type, target)?;
        let existing = self
            .store
            .locations()
            .await?
            .into_iter()
            .find(|l| l.location_type == root.location_type && l.target == root.target);
        if dry_run {
            let outcome = self.ingestor.ingest_root(&root).await;
            return Ok(AddLocationResult {
                location: existing.clone().unwrap_or(LocationRecord {
                    id: String::new(),
                    location_type: root.location_type.clone(),
                    target: root.target.clone(),
                }),
                entities: outcome
                    .ingest
                    .entities
                    .into_iter()
                    .map(|p| p.entity)
                    .collect(),
                exists: Some(existing.is_some()),
            });
        }
        self.ensure_writable()?;
        if existing.is_some() {
            return Err(PortalError::Conflict(format!(
                "Location {} already exists",
                root.key()
            )));
        }
        let location = self
            .store
            .add_location(&root.location_type, &root.target)
            .await?;
        let refs: Vec<EntityRef> = {
            let _guard = self.refresh_lock.lock().await;
            self.claimed(&root.key(), false, || async {
                let outcome = self.ingestor.ingest_root(&root).await;
                let refs = outcome
                    .ingest
                    .entities
                    .iter()
                    .map(|p| p.entity.entity_ref())
                    .collect();
                self.store
                    .apply_location(outcome.ingest, self.catalog.orphan_strategy)
                    .await?;
                Ok(refs)
            })
            .await?
            .unwrap_or_default()
        };
        self.after_change().await;
        let entities = self
            .store
            .entities_by_refs(&refs, &[])
            .await?
            .into_iter()
            .flatten()
            .collect();
        Ok(AddLocationResult {
            location,
            entities,
            exists: None,
        })
    }

    async fn delete_location(&self, id: &str) -> Result<(), PortalError> {
        self.ensure_writable()?;
        let location = self.location(id).await?;
        self.store.delete_location(id).await?;
        let _guard = self.refresh_lock.lock().await;
        self.remove_origin(&location.key(), false).await?;
        self.store.prune_docs().await?;
        self.after_change().await;
        Ok(())
    }

    async fn validate_entity(&self, entity: serde_json::Value) -> Result<(), PortalError> {
        validate_entity(&entity).map_err(|e| PortalError::Input(e.message))?;
        let entity = Entity::from_value(entity)
            .ok_or_else(|| PortalError::Input("Expected body to be a JSON object".into()))?;
        relation_rows(&entity)?;
        Ok(())
    }

    async fn search(&self, query: SearchQuery) -> Result<SearchResultSet, PortalError> {
        if !self
            .search_synced
            .load(std::sync::atomic::Ordering::Acquire)
        {
            self.sync_search().await?;
        }
        Ok(self.search.search(query).await?)
    }

    async fn docs_site(&self, entity_ref: &EntityRef) -> Result<Option<DocsSite>, PortalError> {
        stored_site(self.store.as_ref(), entity_ref).await
    }

    async fn docs_file(
        &self,
        entity_ref: &EntityRef,
        path: &str,
    ) -> Result<Option<DocsFile>, PortalError> {
        Ok(self.store.docs_file(&entity_ref.canonical(), path).await?)
    }

    async fn sync_docs(
        &self,
        entity_ref: &EntityRef,
        log: Option<mpsc::UnboundedSender<String>>,
    ) -> Result<DocsSync, PortalError> {
        let entity = self
            .store
            .entity_by_ref(entity_ref)
            .await?
            .ok_or_else(|| PortalError::entity_not_found(entity_ref))?;
        let send = move |line: String| {
            if let Some(tx) = &log {
                let _ = tx.send(line);
            }
        };
        let outcome = sync_docs(self.store.as_ref(), &self.reader, &entity, &send).await?;
        self.after_change().await;
        Ok(outcome)
    }

    async fn parameter_schema(
        &self,
        template_ref: &EntityRef,
    ) -> Result<crate::scaffolder::ParameterSchema, PortalError> {
        Ok(self
            .scaffolder
            .template(template_ref)
            .await?
            .parameter_schema())
    }

    async fn scaffolder_actions(&self) -> Result<Vec<crate::scaffolder::ActionInfo>, PortalError> {
        Ok(self.scaffolder.actions())
    }

    async fn create_task(
        &self,
        request: crate::scaffolder::TaskRequest,
    ) -> Result<String, PortalError> {
        self.scaffolder.create(request).await
    }

    async fn task(
        &self,
        id: &str,
    ) -> Result<Option<crate::scaffolder::SerializedTask>, PortalError> {
        self.scaffolder.task(id).await
    }

    async fn list_tasks(
        &self,
        query: crate::scaffolder::TaskQuery,
    ) -> Result<crate::scaffolder::TaskList, PortalError> {
        Ok(self.store.list_tasks(&query).await?)
    }

    async fn cancel_task(&self, id: &str) -> Result<crate::scaffolder::TaskStatus, PortalError> {
        self.scaffolder.cancel(id).await
    }

    async fn task_events(
        &self,
        id: &str,
        after: Option<i64>,
        wait: Duration,
    ) -> Result<Vec<crate::scaffolder::TaskEvent>, PortalError> {
        self.scaffolder.events(id, after, wait).await
    }

    async fn dry_run(
        &self,
        request: crate::scaffolder::DryRunRequest,
    ) -> Result<crate::scaffolder::DryRunResult, PortalError> {
        let catalog = self.scaffolder.catalog().ok_or_else(|| {
            PortalError::Unavailable(
                "the scaffolder is not running in this portal (start_task_workers was not called)"
                    .into(),
            )
        })?;
        let mut request = request;
        request.user = self
            .scaffolder
            .user_with_entity(request.user.take())
            .await?;
        crate::scaffolder::dryrun::dry_run(&self.scaffolder.engine(), request, catalog).await
    }
}
