//! Messages into the update function and effects out of it. Every portal request carries a [`RequestId`];
//! a reply whose id is no longer the one its view waits for (the user moved on, sorted again, ...) is
//! dropped, so a slow answer never overwrites a newer one.

use std::path::PathBuf;

use crossterm::event::{KeyEvent, MouseEvent};
use stagedoor_core::portal::{RefreshProgress, RefreshReport};
use stagedoor_core::scaffolder::{
    DryRunRequest, DryRunResult, ParameterSchema, SerializedTask, TaskEvent, TaskList, TaskRequest,
    TaskStatus,
};
use stagedoor_core::search::{SearchQuery, SearchResultSet};
use stagedoor_core::store::{EntityPage, EntityPredicate, EntityQuery, Facets};
use stagedoor_core::techdocs::publish::DocsSite;
use stagedoor_core::{Entity, EntityRef};

pub type RequestId = u64;

/// A portal failure as the UI shows it: its message and whether it looks like the backend is unreachable
/// or refused us (then the header says so and `r` retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub connection: bool,
}

impl From<stagedoor_core::PortalError> for Failure {
    fn from(e: stagedoor_core::PortalError) -> Self {
        use stagedoor_core::PortalError as E;
        let connection = matches!(
            e,
            E::Unavailable(_) | E::Authentication(_) | E::NotAllowed(_)
        );
        let message = match &e {
            E::Authentication(m) => format!("the backend refused the token: {m}"),
            E::NotAllowed(m) => format!("not allowed: {m}"),
            E::Unavailable(m) => format!("the backend is unreachable: {m}"),
            other => other.to_string(),
        };
        Failure {
            message,
            connection,
        }
    }
}

pub type Reply<T> = Result<T, Failure>;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Text pasted into the terminal (bracketed paste): a wizard page's focused field takes it.
    Paste(String),
    /// Animation (the loading spinner).
    Tick,
    /// The import before the first load: is the store empty, and if so, how far along.
    ImportStarted {
        id: RequestId,
    },
    ImportProgress(RefreshProgress),
    ImportDone {
        id: RequestId,
        result: Reply<Option<RefreshReport>>,
    },
    PageLoaded {
        id: RequestId,
        result: Reply<EntityPage>,
    },
    FacetsLoaded {
        id: RequestId,
        result: Reply<Facets>,
    },
    EntityLoaded {
        id: RequestId,
        entity_ref: EntityRef,
        result: Reply<Option<Entity>>,
    },
    RelatedLoaded {
        id: RequestId,
        refs: Vec<EntityRef>,
        result: Reply<Vec<Option<Entity>>>,
    },
    /// The identity's user entity (`None`: not in the catalog).
    OwnershipLoaded {
        id: RequestId,
        result: Reply<Option<Entity>>,
    },
    /// How many of a table's entities the identity owns.
    OwnedCounted {
        id: RequestId,
        result: Reply<u64>,
    },
    /// A docs site fetched (`synced`: after `sync_docs` built it); `None`: the entity has none stored.
    DocsSiteLoaded {
        id: RequestId,
        synced: bool,
        result: Reply<Option<DocsSite>>,
    },
    /// A progress line of the docs build started for request `id`.
    DocsLog {
        id: RequestId,
        line: String,
    },
    /// A page's markdown (`None`: the site has no such file).
    DocsPageLoaded {
        id: RequestId,
        location: String,
        result: Reply<Option<String>>,
    },
    /// A full-text answer for the search overlay.
    SearchLoaded {
        id: RequestId,
        result: Reply<SearchResultSet>,
    },
    /// The recent search terms read from their file (empty when missing or unreadable).
    RecentLoaded {
        terms: Vec<String>,
    },
    /// The recent search terms were written (or why not; only logged).
    RecentSaved {
        error: Option<String>,
    },
    /// The Template entities for `:templates`.
    TemplatesLoaded {
        id: RequestId,
        result: Reply<Vec<Entity>>,
    },
    /// A template's form.
    SchemaLoaded {
        id: RequestId,
        result: Reply<ParameterSchema>,
    },
    /// A picker's entities.
    ChoicesLoaded {
        id: RequestId,
        result: Result<Vec<crate::ui::scaffolder::form::EntityChoice>, String>,
    },
    DryRunDone {
        id: RequestId,
        result: Reply<DryRunResult>,
    },
    /// `create_task` answered: the new task's id.
    TaskCreated {
        id: RequestId,
        result: Reply<String>,
    },
    /// The streamed task itself (its steps), before its events.
    TaskLoaded {
        id: RequestId,
        result: Reply<Option<Box<SerializedTask>>>,
    },
    /// A batch of the streamed task's events.
    TaskEvents {
        id: RequestId,
        events: Vec<TaskEvent>,
    },
    /// The task's stream ended: at its completion, when the view went away, or on a failure.
    TaskStreamEnded {
        id: RequestId,
        result: Reply<()>,
    },
    TaskCancelled {
        id: RequestId,
        result: Reply<TaskStatus>,
    },
    TasksLoaded {
        id: RequestId,
        result: Reply<TaskList>,
    },
    /// SIGTERM / SIGINT from outside the terminal.
    Quit,
}

/// Work for the portal, run off the UI loop by `effects`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Import the configured locations when the store is empty (embedded portal only).
    ImportIfEmpty {
        id: RequestId,
    },
    /// One page of a table (the query carries the cursor, projection and order).
    LoadPage {
        id: RequestId,
        query: EntityQuery,
    },
    LoadFacets {
        id: RequestId,
        facets: Vec<String>,
        filter: Option<EntityPredicate>,
    },
    LoadEntity {
        id: RequestId,
        entity_ref: EntityRef,
    },
    /// Asks the portal to process the entity's location again (Backstage's "refresh entity"), then loads it:
    /// the reply is an `EntityLoaded`, or the refresh's failure.
    RefreshEntity {
        id: RequestId,
        entity_ref: EntityRef,
    },
    LoadRelated {
        id: RequestId,
        refs: Vec<EntityRef>,
    },
    /// The identity's user entity, for its groups.
    LoadOwnership {
        id: RequestId,
        user: EntityRef,
    },
    /// Counts the entities matching `filter` (no rows).
    CountOwned {
        id: RequestId,
        filter: EntityPredicate,
    },
    /// The entity's docs site; with `sync`, builds it first (`sync_docs`, its log sent as `DocsLog`).
    LoadDocsSite {
        id: RequestId,
        entity_ref: EntityRef,
        sync: bool,
    },
    /// A page's markdown source, stored at its location in the site.
    LoadDocsPage {
        id: RequestId,
        entity_ref: EntityRef,
        location: String,
    },
    /// Full-text search for the search overlay.
    Search {
        id: RequestId,
        query: SearchQuery,
    },
    /// Reads the recent search terms (a JSON list of strings) from `path`.
    LoadRecent {
        path: PathBuf,
    },
    /// Writes the recent search terms to `path` (creating its directory).
    SaveRecent {
        path: PathBuf,
        terms: Vec<String>,
    },
    /// Every Template entity (whole: the wizard needs them).
    LoadTemplates {
        id: RequestId,
    },
    LoadParameterSchema {
        id: RequestId,
        template_ref: EntityRef,
    },
    /// A picker's choices: the entities matching its `catalogFilter`.
    LoadChoices {
        id: RequestId,
        filter: Option<EntityPredicate>,
    },
    DryRun {
        id: RequestId,
        request: Box<DryRunRequest>,
    },
    CreateTask {
        id: RequestId,
        request: Box<TaskRequest>,
    },
    /// Loads the task, then sends its events as they come (`task_events` waiting up to a second each
    /// time) until its completion or until `stop` is set.
    StreamTask {
        id: RequestId,
        task_id: String,
        stop: crate::ui::scaffolder::task::StopFlag,
    },
    CancelTask {
        id: RequestId,
        task_id: String,
    },
    LoadTasks {
        id: RequestId,
    },
    /// Puts `text` on the clipboard with OSC 52. Not a portal call: the loop writes it to the terminal
    /// itself, and nothing replies.
    Copy {
        text: String,
    },
}
