//! The Portal seam: every capability of the portal behind one trait, so the CLI and the TUI run the same code
//! over the embedded [`LocalPortal`] and over HTTP.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::entity::{Entity, EntityRef};
use crate::error::PortalError;
use crate::scaffolder::{
    ActionInfo, DryRunRequest, DryRunResult, ParameterSchema, SerializedTask, TaskEvent, TaskList,
    TaskQuery, TaskRequest, TaskStatus,
};
use crate::search::{SearchQuery, SearchResultSet};
use crate::store::{EntityPage, EntityPredicate, EntityQuery, Facets, LocationRecord, WriteStats};
use crate::techdocs::publish::{DocsFile, DocsSite};
use crate::techdocs::service::DocsSync;

pub use crate::local::LocalPortal;

/// A problem found while reading a location or processing an entity, pointing at where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file or URL (without the `file:` / `url:` prefix).
    pub location: String,
    /// Index of the YAML document in the file, from 0, when the problem is in one document.
    pub document: Option<usize>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Backstage's error name (`InputError`, `NotFoundError`, ...).
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.location, line, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Progress of a refresh, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshProgress {
    /// About to process this many root locations.
    Started { roots: usize },
    /// A root location was read and written.
    RootDone { origin: String, entities: usize },
}

/// What to refresh: everything, or the root location that holds one entity.
#[derive(Debug, Clone, Default)]
pub struct RefreshRequest {
    pub entity_ref: Option<EntityRef>,
    /// The background loop's refresh: roots another process refreshed within the processing interval, or is
    /// refreshing now, are skipped instead of waited for.
    pub periodic: bool,
    pub progress: Option<mpsc::UnboundedSender<RefreshProgress>>,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RefreshReport {
    /// Root locations processed.
    pub roots: usize,
    /// Entities emitted (valid and stored or unchanged).
    pub entities: usize,
    /// Location entities among them.
    pub locations: usize,
    pub stats: WriteStats,
    pub problems: Vec<Problem>,
    /// Relations whose target entity is not in the catalog, as `(source, type, target)` canonical refs.
    pub dangling_relations: Vec<(String, String, String)>,
}

/// The chain of locations that emitted an entity (`GET .../ancestry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ancestry {
    #[serde(rename = "rootEntityRef")]
    pub root_entity_ref: String,
    pub items: Vec<AncestryItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AncestryItem {
    pub entity: Entity,
    #[serde(rename = "parentEntityRefs")]
    pub parent_entity_refs: Vec<String>,
}

/// The result of registering a location (`POST /locations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddLocationResult {
    pub location: LocationRecord,
    pub entities: Vec<Entity>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exists: Option<bool>,
}

/// Every capability of the portal. Implemented by [`LocalPortal`] (embedded) and by the HTTP client.
#[async_trait]
pub trait Portal: Send + Sync {
    async fn query_entities(&self, query: EntityQuery) -> Result<EntityPage, PortalError>;

    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, PortalError>;

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, PortalError>;

    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, PortalError>;

    async fn facets(
        &self,
        facets: &[String],
        filter: Option<EntityPredicate>,
    ) -> Result<Facets, PortalError>;

    async fn ancestry(&self, entity_ref: &EntityRef) -> Result<Ancestry, PortalError>;

    async fn delete_entity_by_uid(&self, uid: &str) -> Result<(), PortalError>;

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshReport, PortalError>;

    async fn locations(&self) -> Result<Vec<LocationRecord>, PortalError>;

    async fn location(&self, id: &str) -> Result<LocationRecord, PortalError>;

    async fn add_location(
        &self,
        location_type: &str,
        target: &str,
        dry_run: bool,
    ) -> Result<AddLocationResult, PortalError>;

    async fn delete_location(&self, id: &str) -> Result<(), PortalError>;

    /// Checks an entity as ingestion would, without storing it.
    async fn validate_entity(&self, entity: serde_json::Value) -> Result<(), PortalError>;

    /// The entity's built docs site (nav, pages, headings); `None` when it has none built yet.
    async fn docs_site(&self, entity_ref: &EntityRef) -> Result<Option<DocsSite>, PortalError>;

    /// One file of the entity's built docs site, by its path from the site root (`index.md`,
    /// `sub-page/index.html`, `search/search_index.json`); `None` when there is no such file.
    async fn docs_file(
        &self,
        entity_ref: &EntityRef,
        path: &str,
    ) -> Result<Option<DocsFile>, PortalError>;

    /// Full-text search over the catalog and TechDocs (`GET /api/search/query`).
    async fn search(&self, query: SearchQuery) -> Result<SearchResultSet, PortalError>;

    /// Backstage's sync: builds the entity's docs if their sources changed, sending progress lines to `log`.
    async fn sync_docs(
        &self,
        entity_ref: &EntityRef,
        log: Option<mpsc::UnboundedSender<String>>,
    ) -> Result<DocsSync, PortalError>;

    /// The form of a Template entity (`GET /v2/templates/:namespace/:kind/:name/parameter-schema`); an
    /// unsupported apiVersion is an `InputError`.
    async fn parameter_schema(
        &self,
        template_ref: &EntityRef,
    ) -> Result<ParameterSchema, PortalError>;

    /// The actions templates may use (`GET /v2/actions`).
    async fn scaffolder_actions(&self) -> Result<Vec<ActionInfo>, PortalError>;

    /// Starts a task (`POST /v2/tasks`): `values` are checked against every parameter page
    /// ([`PortalError::Validation`] when they fail); returns the task id.
    async fn create_task(&self, request: TaskRequest) -> Result<String, PortalError>;

    /// One task, secrets removed; `None` when there is no such task.
    async fn task(&self, id: &str) -> Result<Option<SerializedTask>, PortalError>;

    async fn list_tasks(&self, query: TaskQuery) -> Result<TaskList, PortalError>;

    /// Asks the task to stop; returns its status after the request.
    async fn cancel_task(&self, id: &str) -> Result<TaskStatus, PortalError>;

    /// The task's events with ids above `after` (all when `None`), and its completion event always. When
    /// there are none yet and the task is still running, waits up to `wait` for one (`wait` zero: never).
    async fn task_events(
        &self,
        id: &str,
        after: Option<i64>,
        wait: std::time::Duration,
    ) -> Result<Vec<TaskEvent>, PortalError>;

    /// Runs a template in a throw-away workspace with actions that change nothing outside it
    /// (`POST /v2/dry-run`).
    async fn dry_run(&self, request: DryRunRequest) -> Result<DryRunResult, PortalError>;
}
