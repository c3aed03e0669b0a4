//! Runs [`Effect`]s against the portal, each on its own tokio task, and sends the answer back to the UI
//! loop as a [`Msg`]. The loop never awaits the portal, so a slow backend or a long import never freezes
//! drawing or input.

use std::sync::Arc;

use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::scaffolder::follow::TaskFollower;
use stagedoor_core::scaffolder::TaskQuery;
use stagedoor_core::store::{EntityPredicate, EntityQuery, FieldMatch};
use stagedoor_core::Portal;
use tokio::sync::mpsc::UnboundedSender;

use super::msg::{Effect, Failure, Msg};
use super::scaffolder::form::EntityChoice;
use super::scaffolder::task::StopFlag;

/// Starts `effect`; its reply arrives on `tx` (dropped silently when the UI has gone).
pub fn spawn(effect: Effect, portal: Arc<dyn Portal>, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        if let Some(msg) = run(effect, portal.as_ref(), &tx).await {
            let _ = tx.send(msg);
        }
    });
}

/// Whether `effect` is answered by a message (everything but the terminal's own [`Effect::Copy`]).
pub fn replies(effect: &Effect) -> bool {
    !matches!(effect, Effect::Copy { .. })
}

/// The OSC 52 sequence that asks the terminal to put `text` on the system clipboard (`c`), base64 as the
/// sequence requires; terminals without OSC 52 ignore it.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

async fn run(effect: Effect, portal: &dyn Portal, tx: &UnboundedSender<Msg>) -> Option<Msg> {
    Some(match effect {
        Effect::ImportIfEmpty { id } => {
            let result = import_if_empty(portal, id, tx).await;
            Msg::ImportDone { id, result }
        }
        Effect::LoadPage { id, query } => {
            tracing::debug!(id, cursor = query.cursor.is_some(), "loading a page");
            let result = portal.query_entities(query).await.map_err(Failure::from);
            Msg::PageLoaded { id, result }
        }
        Effect::LoadFacets { id, facets, filter } => {
            let result = portal.facets(&facets, filter).await.map_err(Failure::from);
            Msg::FacetsLoaded { id, result }
        }
        Effect::LoadEntity { id, entity_ref } => {
            let result = portal
                .entity_by_ref(&entity_ref)
                .await
                .map_err(Failure::from);
            Msg::EntityLoaded {
                id,
                entity_ref,
                result,
            }
        }
        Effect::RefreshEntity { id, entity_ref } => {
            let request = RefreshRequest {
                entity_ref: Some(entity_ref.clone()),
                ..RefreshRequest::default()
            };
            let result = match portal.refresh(request).await {
                Ok(_) => portal
                    .entity_by_ref(&entity_ref)
                    .await
                    .map_err(Failure::from),
                Err(e) => Err(Failure::from(e)),
            };
            Msg::EntityLoaded {
                id,
                entity_ref,
                result,
            }
        }
        Effect::LoadRelated { id, refs } => {
            // Only whether each target exists matters to the page, so a light projection.
            let fields = [
                "kind",
                "metadata.name",
                "metadata.namespace",
                "metadata.title",
            ]
            .map(String::from);
            let result = portal
                .entities_by_refs(&refs, &fields)
                .await
                .map_err(Failure::from);
            Msg::RelatedLoaded { id, refs, result }
        }
        Effect::LoadOwnership { id, user } => {
            let result = portal.entity_by_ref(&user).await.map_err(Failure::from);
            Msg::OwnershipLoaded { id, result }
        }
        Effect::CountOwned { id, filter } => {
            let result = portal
                .query_entities(EntityQuery {
                    filter: Some(filter),
                    limit: Some(0),
                    fields: vec!["metadata.name".to_string()],
                    ..EntityQuery::default()
                })
                .await
                .map(|page| page.total_items)
                .map_err(Failure::from);
            Msg::OwnedCounted { id, result }
        }
        Effect::LoadDocsSite {
            id,
            entity_ref,
            sync,
        } => {
            let result = load_docs_site(portal, id, &entity_ref, sync, tx).await;
            Msg::DocsSiteLoaded {
                id,
                synced: sync,
                result,
            }
        }
        Effect::LoadDocsPage {
            id,
            entity_ref,
            location,
        } => {
            let result = portal
                .docs_file(&entity_ref, &location)
                .await
                .map(|file| file.map(|f| String::from_utf8_lossy(&f.body).into_owned()))
                .map_err(Failure::from);
            Msg::DocsPageLoaded {
                id,
                location,
                result,
            }
        }
        Effect::Search { id, query } => {
            let result = portal.search(query).await.map_err(Failure::from);
            Msg::SearchLoaded { id, result }
        }
        Effect::LoadRecent { path } => Msg::RecentLoaded {
            terms: load_recent(&path).await,
        },
        Effect::SaveRecent { path, terms } => {
            let error = save_recent(&path, &terms).await.err();
            if let Some(e) = &error {
                tracing::warn!(path = %path.display(), error = %e, "cannot save the recent searches");
            }
            Msg::RecentSaved { error }
        }
        Effect::LoadTemplates { id } => {
            let result = portal
                .query_entities(EntityQuery {
                    filter: Some(kind_filter("template")),
                    limit: Some(TEMPLATE_LIMIT),
                    ..EntityQuery::default()
                })
                .await
                .map(|page| page.items)
                .map_err(Failure::from);
            Msg::TemplatesLoaded { id, result }
        }
        Effect::LoadParameterSchema { id, template_ref } => {
            let result = portal
                .parameter_schema(&template_ref)
                .await
                .map_err(Failure::from);
            Msg::SchemaLoaded { id, result }
        }
        Effect::LoadChoices { id, filter } => {
            let result = load_choices(portal, filter).await;
            Msg::ChoicesLoaded { id, result }
        }
        Effect::DryRun { id, request } => {
            let result = portal.dry_run(*request).await.map_err(Failure::from);
            Msg::DryRunDone { id, result }
        }
        Effect::CreateTask { id, request } => {
            let result = portal.create_task(*request).await.map_err(Failure::from);
            Msg::TaskCreated { id, result }
        }
        Effect::StreamTask { id, task_id, stop } => {
            let result = stream_task(portal, id, &task_id, &stop, tx).await;
            Msg::TaskStreamEnded { id, result }
        }
        Effect::CancelTask { id, task_id } => {
            let result = portal.cancel_task(&task_id).await.map_err(Failure::from);
            Msg::TaskCancelled { id, result }
        }
        Effect::LoadTasks { id } => {
            let result = portal
                .list_tasks(TaskQuery {
                    limit: Some(TASK_LIMIT),
                    ..TaskQuery::default()
                })
                .await
                .map_err(Failure::from);
            Msg::TasksLoaded { id, result }
        }
        Effect::Copy { .. } => return None,
    })
}

/// Templates `:templates` lists at most; a catalog with more is far beyond what a list is for.
const TEMPLATE_LIMIT: usize = 1000;

/// Tasks `:tasks` lists at most (the newest).
const TASK_LIMIT: u64 = 200;

/// Entities a picker offers at most; it filters them as the user types.
const CHOICE_LIMIT: usize = 5000;

/// How long each `task_events` call waits for a new event.
const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

fn kind_filter(kind: &str) -> EntityPredicate {
    EntityPredicate::Field {
        key: "kind".to_string(),
        matcher: FieldMatch::In(vec![kind.to_string()]),
    }
}

/// The entities matching a picker's filter, as choices (refs, titles and kinds only).
async fn load_choices(
    portal: &dyn Portal,
    filter: Option<EntityPredicate>,
) -> Result<Vec<EntityChoice>, String> {
    let fields = [
        "kind",
        "metadata.name",
        "metadata.namespace",
        "metadata.title",
    ]
    .map(String::from)
    .to_vec();
    let page = portal
        .query_entities(EntityQuery {
            filter,
            limit: Some(CHOICE_LIMIT),
            fields,
            ..EntityQuery::default()
        })
        .await
        .map_err(|e| Failure::from(e).message)?;
    Ok(page
        .items
        .iter()
        .map(|e| EntityChoice {
            entity_ref: e.entity_ref().canonical(),
            title: e.title().map(str::to_string),
            kind: e.kind().to_string(),
        })
        .collect())
}

/// Sends the task (`TaskLoaded`), then each batch of its events (`TaskEvents`) until the completion event,
/// the task ending without one, `stop`, or the UI going away.
async fn stream_task(
    portal: &dyn Portal,
    id: u64,
    task_id: &str,
    stop: &StopFlag,
    tx: &UnboundedSender<Msg>,
) -> Result<(), Failure> {
    let task = portal
        .task(task_id)
        .await
        .map(|t| t.map(Box::new))
        .map_err(Failure::from);
    let found = matches!(task, Ok(Some(_)));
    let failure = task.as_ref().err().cloned();
    let _ = tx.send(Msg::TaskLoaded { id, result: task });
    if let Some(f) = failure {
        return Err(f);
    }
    if !found {
        return Ok(());
    }
    let mut follower = TaskFollower::new(task_id, None);
    while !follower.finished() && !stop.stopped() && !tx.is_closed() {
        let events = follower
            .next(portal, EVENT_WAIT)
            .await
            .map_err(Failure::from)?;
        if !events.is_empty() && tx.send(Msg::TaskEvents { id, events }).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// The recent search terms in `path`; a missing or corrupt file is no terms (it is rewritten on the next
/// search), never an error in the user's way.
async fn load_recent(path: &std::path::Path) -> Vec<String> {
    let Ok(bytes) = tokio::fs::read(path).await else {
        return Vec::new();
    };
    match serde_json::from_slice::<Vec<String>>(&bytes) {
        Ok(terms) => terms,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable recent searches file");
            Vec::new()
        }
    }
}

/// Writes `terms` through a temporary file and a rename, so a crash mid-write never leaves half a list.
async fn save_recent(path: &std::path::Path, terms: &[String]) -> Result<(), String> {
    let body = serde_json::to_vec_pretty(terms).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| e.to_string())?;
    }
    let temp = path.with_extension("json.tmp");
    tokio::fs::write(&temp, body)
        .await
        .map_err(|e| e.to_string())?;
    tokio::fs::rename(&temp, path)
        .await
        .map_err(|e| e.to_string())
}

/// The stored site, after building it when `sync` says so (its log lines forwarded as `DocsLog`).
async fn load_docs_site(
    portal: &dyn Portal,
    id: u64,
    entity_ref: &stagedoor_core::EntityRef,
    sync: bool,
    tx: &UnboundedSender<Msg>,
) -> Result<Option<stagedoor_core::techdocs::publish::DocsSite>, Failure> {
    if sync {
        let (log_tx, mut log_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let forward = tx.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(line) = log_rx.recv().await {
                if forward.send(Msg::DocsLog { id, line }).is_err() {
                    break;
                }
            }
        });
        let result = portal.sync_docs(entity_ref, Some(log_tx)).await;
        // The log before the reply, as the import does; a portal keeping the sender must not hold us.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), forwarder).await;
        result?;
    }
    Ok(portal.docs_site(entity_ref).await?)
}

/// Counts one entity; with none, refreshes every configured location with its progress forwarded.
async fn import_if_empty(
    portal: &dyn Portal,
    id: u64,
    tx: &UnboundedSender<Msg>,
) -> Result<Option<stagedoor_core::portal::RefreshReport>, Failure> {
    let probe = portal
        .query_entities(EntityQuery {
            limit: Some(1),
            fields: vec!["metadata.name".to_string()],
            ..EntityQuery::default()
        })
        .await?;
    if !probe.items.is_empty() {
        return Ok(None);
    }
    let _ = tx.send(Msg::ImportStarted { id });
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let forward = tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(p) = progress_rx.recv().await {
            if forward.send(Msg::ImportProgress(p)).is_err() {
                break;
            }
        }
    });
    tracing::info!("the catalog is empty: importing catalog.locations");
    let result = portal
        .refresh(RefreshRequest {
            entity_ref: None,
            periodic: false,
            progress: Some(progress_tx),
        })
        .await;
    // Progress sent before the refresh returned is delivered before ImportDone: the sender is normally
    // dropped with the request; a portal that kept it must not hold the UI on the import screen.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), forwarder).await;
    let report = result?;
    tracing::info!(
        entities = report.entities,
        roots = report.roots,
        "import done"
    );
    Ok(Some(report))
}
