//! The catalog's storage seam: the [`Store`] trait every backend (SQLite, PostgreSQL) implements,
//! and the query, write and record types that cross it.

pub mod docs;
pub mod filter;
pub mod migrations;
pub mod postgres;
pub mod query;
pub mod scratch;
pub mod search_rows;
pub mod sql;
pub mod sql_store;
pub mod sqlite;
pub mod tasks;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::entity::{Entity, EntityRef};
use crate::error::{PortalError, SerializedError};

pub use docs::StoredDocs;
pub use filter::{EntityPredicate, FieldMatch};

use crate::scaffolder::types::{
    SerializedTask, TaskEvent, TaskEventType, TaskList, TaskQuery, TaskStatus,
};
use crate::techdocs::publish::DocsFile;
pub use postgres::{PgOptions, PostgresStore};
pub use sql_store::SqlStore;
pub use sqlite::SqliteStore;
pub use tasks::{Heartbeat, NewTask, ProcessingTask};

/// A storage failure. `Conflict` and `NotFound` are user-visible outcomes; the rest are faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Input(String),
    #[error("the database at {path} has schema version {found}, newer than this stagedoor knows ({known}); upgrade stagedoor")]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for PortalError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => PortalError::NotFound(m),
            StoreError::Conflict(m) => PortalError::Conflict(m),
            StoreError::Input(m) => PortalError::Input(m),
            other => PortalError::Internal(other.to_string()),
        }
    }
}

/// One processing problem attached to an entity, output as `status.items[]` the way Backstage does:
/// `{type: "backstage.io/catalog-processing", level: "error", message: "<Name>: <msg>", error: {name, message}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingError {
    pub error: SerializedError,
}

impl ProcessingError {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        ProcessingError {
            error: SerializedError {
                name: name.to_string(),
                message: message.into(),
            },
        }
    }

    /// The `status.items[]` element for this error.
    pub fn to_status_item(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "backstage.io/catalog-processing",
            "level": "error",
            "message": format!("{}: {}", self.error.name, self.error.message),
            "error": {"name": self.error.name, "message": self.error.message},
        })
    }
}

/// A directed relation row. Both directions of a spec edge are stored as rows, each with the entity whose
/// spec produced it as its origin, so stitching an entity is `WHERE source = <its ref>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelationRow {
    /// Canonical lowercase ref.
    pub source: String,
    pub relation_type: String,
    /// Canonical lowercase ref.
    pub target: String,
}

/// An entity as processing produced it (placeholders resolved, annotations set, validated), before stitching.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedEntity {
    /// The entity without `relations` or `status`; `metadata.uid` and `etag` are assigned by the store.
    pub entity: Entity,
    /// Canonical ref.
    pub entity_ref: String,
    /// `type:target` of the file that emitted it (its `managed-by-location`).
    pub location_key: String,
    /// Canonical ref of the Location entity whose processing emitted it (none for a root location).
    pub parent_ref: Option<String>,
    /// Relation rows this entity's spec produces (forward and reverse).
    pub relations: Vec<RelationRow>,
    /// Problems found while processing it, shown in `status.items`.
    pub errors: Vec<ProcessingError>,
    /// A stable hash of everything above; an unchanged hash means nothing is written.
    pub hash: String,
}

/// What one refresh of a root location produced: written in one transaction by [`Store::apply_location`].
#[derive(Debug, Clone, Default)]
pub struct LocationIngest {
    /// `type:target` of the root location (the origin of every entity below).
    pub origin: String,
    /// Entities emitted, in processing order; a ref appears at most once.
    pub entities: Vec<ProcessedEntity>,
    /// Files (as `type:target`) that could not be read or parsed: entities they emitted before are kept.
    pub failed_location_keys: Vec<String>,
    /// Entities that failed processing this time: their stored version (if any) is kept, with these errors.
    pub failed_entities: Vec<FailedEntity>,
}

/// An entity that was emitted but refused (invalid, disallowed kind, unreadable placeholder).
#[derive(Debug, Clone, PartialEq)]
pub struct FailedEntity {
    pub entity_ref: String,
    pub location_key: String,
    pub errors: Vec<ProcessingError>,
}

/// What to do with an entity its locations no longer emit (`catalog.orphanStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    /// Keep it, annotated `backstage.io/orphan: "true"`.
    Keep,
    /// Remove it (Backstage's default since 2025).
    #[default]
    Delete,
}

/// Counts of what one [`Store::apply_location`] changed. A refresh of unchanged files has all counts but
/// `unchanged` at zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteStats {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub orphaned: usize,
    pub deleted: usize,
    /// Conflict warnings: `Detected conflicting entityRef <ref> already referenced by <key1> and now also <key2>`.
    pub conflicts: Vec<String>,
}

impl WriteStats {
    pub fn wrote_anything(&self) -> bool {
        self.inserted + self.updated + self.orphaned + self.deleted > 0
    }

    pub fn add(&mut self, other: &WriteStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.orphaned += other.orphaned;
        self.deleted += other.deleted;
        self.conflicts.extend(other.conflicts.iter().cloned());
    }
}

/// Sort direction of an order field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderField {
    pub field: String,
    pub order: SortOrder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextFilter {
    pub term: String,
    /// Fields to match in; empty means the sort field, else `metadata.uid`, as Backstage does.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// A by-query request (GET or POST `/entities/by-query`). With `cursor` set, the cursor's own filter, order
/// and full-text filter win over the ones here, as in Backstage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityQuery {
    pub filter: Option<EntityPredicate>,
    /// Only the first field is used (Backstage's behaviour, BS#17560).
    pub order_fields: Vec<OrderField>,
    pub full_text: Option<FullTextFilter>,
    /// Page size; `None` means Backstage's default of 200.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// An opaque cursor from a previous page.
    pub cursor: Option<String>,
    /// Projection, e.g. `["metadata.name", "spec"]`; empty means whole entities.
    pub fields: Vec<String>,
    /// Whether to count all matches (`totalItems=include`, the default).
    pub skip_total_items: bool,
}

/// One page of by-query results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityPage {
    pub items: Vec<Entity>,
    #[serde(rename = "totalItems")]
    pub total_items: u64,
    #[serde(rename = "pageInfo")]
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    #[serde(
        rename = "nextCursor",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub next_cursor: Option<String>,
    #[serde(
        rename = "prevCursor",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub prev_cursor: Option<String>,
}

/// One facet value and how many entities have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// `{facets: {<facet>: [{value, count}]}}`.
pub type Facets = BTreeMap<String, Vec<FacetCount>>;

/// A location registered through the API (`POST /locations`), stored and refreshed like a config location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
}

impl LocationRecord {
    /// `type:target`, the key entities carry in `managed-by-origin-location`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.location_type, self.target)
    }
}

/// Where a stored entity came from, for ancestry and targeted refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityProvenance {
    pub entity_ref: String,
    pub location_key: String,
    pub origin: String,
    pub parent_ref: Option<String>,
}

/// The catalog's persistent state. Every method is one transaction; implementations must pass the same
/// contract tests (`store::sqlite` tests here; the cross-backend suite in `tests/`).
#[async_trait]
pub trait Store: Send + Sync {
    /// Writes what one refresh of a root location produced, in one transaction: inserts and updates changed
    /// entities (by hash), keeps entities of failed files and failed entities (attaching errors), handles
    /// entities no longer emitted per `orphans`, and refuses refs another origin already holds.
    async fn apply_location(
        &self,
        ingest: LocationIngest,
        orphans: OrphanStrategy,
    ) -> Result<WriteStats, StoreError>;

    /// Origins (`type:target`) that have stored entities.
    async fn origins(&self) -> Result<Vec<String>, StoreError>;

    async fn query_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError>;

    /// A stitched entity (relations, status, uid, etag) by ref.
    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, StoreError>;

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError>;

    /// Entities for each ref, in input order, `None` where missing; `fields` projects as in by-query.
    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, StoreError>;

    /// Value counts per facet among entities matching `filter`.
    async fn facets(
        &self,
        facets: &[String],
        filter: Option<&EntityPredicate>,
    ) -> Result<Facets, StoreError>;

    async fn provenance(
        &self,
        entity_ref: &EntityRef,
    ) -> Result<Option<EntityProvenance>, StoreError>;

    /// Removes an entity (and its relation rows); false when no such uid.
    async fn delete_entity_by_uid(&self, uid: &str) -> Result<bool, StoreError>;

    /// Registers a location; `Conflict` if the same type and target exist.
    async fn add_location(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<LocationRecord, StoreError>;

    async fn locations(&self) -> Result<Vec<LocationRecord>, StoreError>;

    async fn location(&self, id: &str) -> Result<Option<LocationRecord>, StoreError>;

    /// Removes a registered location; false when no such id.
    async fn delete_location(&self, id: &str) -> Result<bool, StoreError>;

    /// Number of stored entities.
    async fn entity_count(&self) -> Result<u64, StoreError>;

    /// Relation rows from a stored entity to one that is not stored, sorted.
    async fn dangling_relations(&self) -> Result<Vec<RelationRow>, StoreError>;

    /// Claims the refresh of root `origin` for `holder` (one per process) for `lease`, so processes sharing
    /// the database never process one origin at once. Refused (false) while another holder's claim is live,
    /// and, with `due_only` (periodic refreshes), while the origin is not due again after its last refresh.
    async fn claim_origin(
        &self,
        origin: &str,
        holder: &str,
        lease: Duration,
        due_only: bool,
    ) -> Result<bool, StoreError>;

    /// Ends `holder`'s claim on `origin`; a periodic refresh is due again after `next_in`.
    async fn release_origin(
        &self,
        origin: &str,
        holder: &str,
        next_in: Duration,
    ) -> Result<(), StoreError>;

    /// Stores a built docs site, replacing the entity's previous one in one transaction.
    async fn put_docs(&self, docs: StoredDocs) -> Result<(), StoreError>;

    /// The etag of the entity's stored docs site (`entity_ref` lower-cased), if it has one.
    async fn docs_etag(&self, entity_ref: &str) -> Result<Option<String>, StoreError>;

    /// One file of the entity's stored docs site.
    async fn docs_file(&self, entity_ref: &str, path: &str)
        -> Result<Option<DocsFile>, StoreError>;

    /// Removes the entity's docs site; false when it had none.
    async fn delete_docs(&self, entity_ref: &str) -> Result<bool, StoreError>;

    /// Removes the docs sites of entities that are no longer stored; how many.
    async fn prune_docs(&self) -> Result<u64, StoreError>;

    /// `(entity ref, etag)` of every stored entity, sorted by ref: the cheap list a search index diffs
    /// against its own to find what changed, also when another process sharing the database wrote it.
    async fn entity_etags(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// `(entity ref, etag)` of every stored docs site, sorted by ref.
    async fn docs_etags(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Stores a new scaffolder task, `open` (secrets are never stored).
    async fn create_task(&self, task: NewTask) -> Result<(), StoreError>;

    /// One task; `None` when there is none with that id.
    async fn task(&self, id: &str) -> Result<Option<SerializedTask>, StoreError>;

    /// Tasks filtered, ordered and paged as `GET /v2/tasks` asks, with the total before paging.
    async fn list_tasks(&self, query: &TaskQuery) -> Result<TaskList, StoreError>;

    /// Atomically marks the oldest open task `processing` for `holder` and returns it.
    async fn claim_task(&self, holder: &str) -> Result<Option<SerializedTask>, StoreError>;

    /// `holder` is still running task `id`: refreshes its heartbeat and says whether it was asked to stop.
    async fn heartbeat_task(&self, id: &str, holder: &str) -> Result<Heartbeat, StoreError>;

    /// Ends `holder`'s processing task with `status` and writes the completion event `body` in one
    /// transaction; with `heartbeat_before` (epoch ms) only when its last heartbeat is older. False when the
    /// task was not (any more) `holder`'s processing task.
    async fn finish_task(
        &self,
        id: &str,
        holder: &str,
        status: TaskStatus,
        body: serde_json::Value,
        heartbeat_before: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Appends an event (already redacted) to a task's log; its id.
    async fn append_task_event(
        &self,
        id: &str,
        event_type: TaskEventType,
        body: serde_json::Value,
    ) -> Result<i64, StoreError>;

    /// A task's events with ids above `after` (all when `None`), plus its completion event always.
    async fn task_events(&self, id: &str, after: Option<i64>)
        -> Result<Vec<TaskEvent>, StoreError>;

    /// Asks a task to stop (a `cancelled` event; an open task ends `cancelled` at once). Its status after
    /// the request; `None` when there is no such task.
    async fn cancel_task(&self, id: &str) -> Result<Option<TaskStatus>, StoreError>;

    /// Every `processing` task with its holder and last heartbeat, for the stale-task sweep.
    async fn processing_tasks(&self) -> Result<Vec<ProcessingTask>, StoreError>;
}

/// Milliseconds since the Unix epoch, the clock refresh claims are kept in.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
