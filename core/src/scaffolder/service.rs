//! The task service behind [`crate::LocalPortal`]'s scaffolder methods: creating tasks, the workers that
//! claim and run them, heartbeats, cancellation, waiting for events, and failing tasks whose worker died.
//!
//! **Secrets are never stored.** Backstage keeps a task's secrets in its database; stagedoor keeps them only
//! in the memory of the process that created the task, until a worker of that process claims it. A task
//! claimed by another process or replica (or by this one after a restart) runs with `secrets` empty. In a
//! single-process deployment (the usual one) every task is claimed by the process that created it, because
//! `create_task` wakes this process's workers at once while others only poll every second.
//!
//! Workers: a few loops per process claim the oldest `open` task (an atomic conditional update, so
//! processes sharing a database never run one task twice), heartbeat it every second, and end it with its
//! completion event. A task left `processing` by a killed process is failed: at once when its holder
//! (`host:pid:uuid`) names a process on this host that no longer exists, and otherwise once its heartbeat
//! is older than `scaffolder.taskHeartbeatTimeoutSeconds`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

use super::actions::{Action, ActionRegistry, TemplateBase};
use super::runner::{run_task, Engine, EventSink, Run};
use super::settings::ScaffolderSettings;
use super::template::Template;
use super::templating::Templater;
use super::types::{SerializedTask, TaskEvent, TaskEventType, TaskRequest, TaskStatus, TaskUser};
use super::workspace::Workspace;
use crate::entity::EntityRef;
use crate::error::PortalError;
use crate::ingest::LocationReader;
use crate::portal::Portal;
use crate::store::{now_millis, Heartbeat, NewTask, Store};

/// How often a worker heartbeats its task (and notices a cancel from another process).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How often idle workers look for tasks other processes created.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often a waiting `task_events` call looks for events other processes wrote.
const EVENT_POLL: Duration = Duration::from_millis(250);
/// Tasks one process runs at once.
const WORKERS: usize = 4;
/// Backstage's message for a task whose heartbeat stopped.
pub const STALE_MESSAGE: &str = "This task was marked as stale as it exceeded its timeout";

/// The scaffolder's task state in one process.
pub struct TaskService {
    store: Arc<dyn Store>,
    settings: Arc<ScaffolderSettings>,
    templater: Arc<Templater>,
    reader: LocationReader,
    registry: RwLock<ActionRegistry>,
    /// `host:pid:uuid`: this service in task claims.
    holder: String,
    /// Secrets of tasks this process created and has not started yet (never stored; see the module doc).
    secrets: Mutex<HashMap<String, BTreeMap<String, String>>>,
    /// Cancel switches of the tasks this process is running.
    running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Wakes an idle worker when a task is created here.
    wake: Notify,
    /// Wakes `task_events` waiters when this process wrote an event.
    events: Notify,
    started: std::sync::atomic::AtomicBool,
    /// The portal actions read and register through, once workers started.
    catalog: std::sync::OnceLock<Weak<dyn Portal>>,
}

impl TaskService {
    pub fn new(
        store: Arc<dyn Store>,
        settings: ScaffolderSettings,
        reader: LocationReader,
    ) -> TaskService {
        TaskService {
            store,
            settings: Arc::new(settings),
            templater: Arc::new(Templater::new()),
            reader,
            registry: RwLock::new(ActionRegistry::builtin()),
            holder: format!(
                "{}:{}:{}",
                hostname(),
                std::process::id(),
                uuid::Uuid::new_v4()
            ),
            secrets: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            events: Notify::new(),
            started: std::sync::atomic::AtomicBool::new(false),
            catalog: std::sync::OnceLock::new(),
        }
    }

    /// The portal actions use, once [`TaskService::start`] was called and while it lives.
    pub fn catalog(&self) -> Option<Arc<dyn Portal>> {
        self.catalog.get()?.upgrade()
    }

    pub fn settings(&self) -> &ScaffolderSettings {
        &self.settings
    }

    /// This service's name in task claims (`host:pid:uuid`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Adds (or replaces) an action.
    pub fn register_action(&self, action: Arc<dyn Action>) {
        if let Ok(mut registry) = self.registry.write() {
            registry.register(action);
        }
    }

    /// A snapshot of the engine tasks run with.
    pub fn engine(&self) -> Engine {
        Engine {
            registry: Arc::new(self.registry.read().map(|r| r.clone()).unwrap_or_default()),
            templater: self.templater.clone(),
            settings: self.settings.clone(),
            reader: self.reader.clone(),
        }
    }

    pub fn actions(&self) -> Vec<super::types::ActionInfo> {
        self.registry.read().map(|r| r.list()).unwrap_or_default()
    }

    /// Reads the Template entity `template_ref` names from the catalog.
    pub async fn template(&self, template_ref: &EntityRef) -> Result<Template, PortalError> {
        let entity = self
            .store
            .entity_by_ref(template_ref)
            .await?
            .ok_or_else(|| PortalError::entity_not_found(template_ref))?;
        Template::from_entity(&entity)
    }

    /// `user` with its User entity from the catalog (`user.entity` in templates), when the caller named
    /// only the ref.
    pub async fn user_with_entity(
        &self,
        user: Option<TaskUser>,
    ) -> Result<Option<TaskUser>, PortalError> {
        let Some(mut user) = user else {
            return Ok(None);
        };
        if user.entity.is_none() {
            if let Some(user_ref) = user.user_ref.as_deref() {
                if let Ok(parsed) = EntityRef::parse(user_ref) {
                    if let Some(entity) = self.store.entity_by_ref(&parsed).await? {
                        user.entity = Some(entity.into_value());
                    }
                }
            }
        }
        Ok(Some(user))
    }

    /// Checks the values and stores the task `open`; its id. Wakes this process's workers.
    pub async fn create(&self, request: TaskRequest) -> Result<String, PortalError> {
        let template_ref =
            EntityRef::parse_with_defaults(&request.template_ref, Some("template"), "default")
                .map_err(|e| {
                    PortalError::Input(format!(
                        "invalid templateRef {:?}: {e}",
                        request.template_ref
                    ))
                })?;
        let template = self.template(&template_ref).await?;
        let secrets = request.secrets.clone().unwrap_or_default();
        template.validate_values(&request.values, &secrets)?;
        let user = self.user_with_entity(request.user.clone()).await?;
        let spec = template.task_spec(&request.values, template.template_info(), user);
        let id = uuid::Uuid::new_v4().to_string();
        if !secrets.is_empty() {
            if let Ok(mut map) = self.secrets.lock() {
                map.insert(id.clone(), secrets);
            }
        }
        let task = NewTask {
            id: id.clone(),
            spec: serde_json::to_value(&spec)
                .map_err(|e| PortalError::Internal(format!("task spec: {e}")))?,
            created_by: request.user.as_ref().and_then(|u| u.user_ref.clone()),
        };
        if let Err(e) = self.store.create_task(task).await {
            if let Ok(mut map) = self.secrets.lock() {
                map.remove(&id);
            }
            return Err(e.into());
        }
        if !self.started.load(std::sync::atomic::Ordering::Acquire) {
            tracing::warn!(
                task = %id,
                "task stored, but this portal runs no task workers (start_task_workers was not called)"
            );
        }
        self.wake.notify_one();
        Ok(id)
    }

    pub async fn task(&self, id: &str) -> Result<Option<SerializedTask>, PortalError> {
        Ok(self.store.task(id).await?)
    }

    /// Asks a task to stop; its status after the request.
    pub async fn cancel(&self, id: &str) -> Result<TaskStatus, PortalError> {
        let status = self
            .store
            .cancel_task(id)
            .await?
            .ok_or_else(|| PortalError::NotFound(format!("No task with id {id} found")))?;
        if let Ok(running) = self.running.lock() {
            if let Some(switch) = running.get(id) {
                let _ = switch.send(true);
            }
        }
        if status.is_final() {
            if let Ok(mut map) = self.secrets.lock() {
                map.remove(id);
            }
        }
        self.events.notify_waiters();
        Ok(status)
    }

    /// Events after `after` plus the completion; waits up to `wait` while there are none and the task runs.
    pub async fn events(
        &self,
        id: &str,
        after: Option<i64>,
        wait: Duration,
    ) -> Result<Vec<TaskEvent>, PortalError> {
        let deadline = Instant::now() + wait;
        let mut checked = false;
        loop {
            let notified = self.events.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let events = self.store.task_events(id, after).await?;
            if !events.is_empty() {
                return Ok(events);
            }
            if !checked {
                let task = self.store.task(id).await?;
                match task {
                    None => {
                        return Err(PortalError::NotFound(format!("No task with id {id} found")))
                    }
                    Some(t) if t.status.is_final() => return Ok(events),
                    Some(_) => checked = true,
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(events);
            }
            let nap = EVENT_POLL.min(deadline - now);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Starts this process's workers (once): fails the tasks dead workers left, then claims and runs open
    /// tasks until the portal `catalog` points to is dropped.
    pub fn start(self: &Arc<Self>, catalog: Weak<dyn Portal>) {
        if self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let _ = self.catalog.set(catalog.clone());
        for n in 0..WORKERS {
            let service = self.clone();
            let catalog = catalog.clone();
            tokio::spawn(async move {
                // One sweep before the first claim, so a restarted process reports its dead tasks first.
                if n == 0 {
                    service.sweep_stale().await;
                }
                service.work(catalog, n == 0).await;
            });
        }
    }

    /// One worker's loop; the `sweeper` also fails stale tasks every heartbeat timeout.
    async fn work(self: Arc<Self>, catalog: Weak<dyn Portal>, sweeper: bool) {
        let mut last_sweep = Instant::now();
        loop {
            if catalog.strong_count() == 0 {
                break;
            }
            if sweeper
                && last_sweep.elapsed()
                    >= self.settings.heartbeat_timeout.max(Duration::from_secs(1))
            {
                last_sweep = Instant::now();
                self.sweep_stale().await;
            }
            match self.store.claim_task(&self.holder).await {
                Ok(Some(task)) => {
                    let Some(portal) = catalog.upgrade() else {
                        break;
                    };
                    self.execute(task, portal).await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a scaffolder task failed");
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
            }
        }
    }

    /// Fails `processing` tasks whose worker is gone: a holder on this host whose process no longer
    /// exists, or a heartbeat older than the timeout. Returns the ids it failed.
    pub async fn sweep_stale(&self) -> Vec<String> {
        let tasks = match self.store.processing_tasks().await {
            Ok(tasks) => tasks,
            Err(e) => {
                tracing::warn!(error = %e, "listing running scaffolder tasks failed");
                return Vec::new();
            }
        };
        let cutoff =
            now_millis().saturating_sub(crate::store::millis(self.settings.heartbeat_timeout));
        let mut failed = Vec::new();
        for task in tasks {
            let (message, before) = if let Some(pid) = dead_local_holder(&task.holder) {
                (
                    format!(
                        "This task was marked as failed because the stagedoor process running it \
                         (pid {pid} on {}) is no longer running",
                        hostname()
                    ),
                    None,
                )
            } else if task.last_heartbeat_at < cutoff {
                (
                    format!(
                        "{STALE_MESSAGE} (no heartbeat from its worker {} for over {} s)",
                        task.holder,
                        self.settings.heartbeat_timeout.as_secs()
                    ),
                    Some(cutoff),
                )
            } else {
                continue;
            };
            let body = json!({
                "message": message,
                "error": {"name": "Error", "message": message},
            });
            match self
                .store
                .finish_task(&task.id, &task.holder, TaskStatus::Failed, body, before)
                .await
            {
                Ok(true) => {
                    tracing::warn!(task = %task.id, holder = %task.holder, "{message}");
                    failed.push(task.id);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(task = %task.id, error = %e, "failing a stale task failed")
                }
            }
        }
        if !failed.is_empty() {
            self.events.notify_waiters();
        }
        failed
    }

    /// Runs one claimed task to its end.
    async fn execute(self: &Arc<Self>, task: SerializedTask, catalog: Arc<dyn Portal>) {
        let id = task.id.clone();
        let secrets = self
            .secrets
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&id))
            .unwrap_or_default();
        let (switch, cancelled) = watch::channel(false);
        if let Ok(mut running) = self.running.lock() {
            running.insert(id.clone(), switch.clone());
        }
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heartbeat = {
            let store = self.store.clone();
            let holder = self.holder.clone();
            let id = id.clone();
            let lost = lost.clone();
            let switch = switch.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT_INTERVAL).await;
                    match store.heartbeat_task(&id, &holder).await {
                        Ok(Heartbeat::Held { cancel_requested }) => {
                            if cancel_requested {
                                let _ = switch.send(true);
                            }
                        }
                        Ok(Heartbeat::Lost) => {
                            lost.store(true, std::sync::atomic::Ordering::Release);
                            let _ = switch.send(true);
                            break;
                        }
                        Err(e) => tracing::warn!(task = %id, error = %e, "task heartbeat failed"),
                    }
                }
            })
        };
        let outcome = match self.workspace(&id) {
            Ok(workspace) => {
                let dir = workspace.root().to_path_buf();
                let run = Run {
                    task_id: id.clone(),
                    template_base: base_from_url(task.spec.template_info.base_url.as_deref())
                        .unwrap_or_else(|| TemplateBase::Dir(dir.clone())),
                    spec: task.spec,
                    secrets,
                    workspace,
                    catalog,
                    cancelled,
                    dry_run: false,
                };
                let sink = StoreSink {
                    store: self.store.clone(),
                    task_id: id.clone(),
                    notify: &self.events,
                };
                let outcome = run_task(&self.engine(), run, &sink).await;
                if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
                    tracing::warn!(task = %id, dir = %dir.display(), error = %e, "could not remove a task workspace");
                }
                Some(outcome)
            }
            Err(e) => {
                let body = json!({
                    "message": "Run completed with status: failed",
                    "error": {"name": "Error", "message": e},
                });
                let _ = self
                    .store
                    .finish_task(&id, &self.holder, TaskStatus::Failed, body, None)
                    .await;
                None
            }
        };
        heartbeat.abort();
        if let Some(outcome) = outcome {
            if lost.load(std::sync::atomic::Ordering::Acquire) {
                tracing::warn!(task = %id, "task was taken from this worker (marked stale); its result is dropped");
            } else if let Err(e) = self
                .store
                .finish_task(&id, &self.holder, outcome.status, outcome.completion, None)
                .await
            {
                tracing::warn!(task = %id, error = %e, "could not store a task's completion");
            }
        }
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
        self.events.notify_waiters();
    }

    /// A fresh workspace directory for task `id` under `scaffolder.workingDirectory`.
    fn workspace(&self, id: &str) -> Result<Workspace, String> {
        let dir = self
            .settings
            .working_directory
            .join(format!("stagedoor-task-{id}"));
        std::fs::create_dir_all(&dir)
            .and_then(|_| dir.canonicalize())
            .map(Workspace::new)
            .map_err(|e| format!("could not create the task workspace {}: {e}", dir.display()))
    }
}

/// Writes a task's events to the store and wakes waiters in this process.
struct StoreSink<'a> {
    store: Arc<dyn Store>,
    task_id: String,
    notify: &'a Notify,
}

#[async_trait]
impl EventSink for StoreSink<'_> {
    async fn emit(&self, event_type: TaskEventType, body: Value) -> Result<(), PortalError> {
        self.store
            .append_task_event(&self.task_id, event_type, body)
            .await?;
        self.notify.notify_waiters();
        Ok(())
    }
}

/// `file:///dir/` → the directory; `https://…/` → the URL.
pub fn base_from_url(base_url: Option<&str>) -> Option<TemplateBase> {
    let url = url::Url::parse(base_url?).ok()?;
    if url.scheme() == "file" {
        url.to_file_path().ok().map(TemplateBase::Dir)
    } else {
        Some(TemplateBase::Url(url))
    }
}

/// This machine's name, as holders carry it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The pid of `holder` (`host:pid:uuid`) when it names a process on this host that no longer exists. Only
/// where `/proc` tells (Linux); elsewhere the heartbeat timeout decides.
fn dead_local_holder(holder: &str) -> Option<u32> {
    let mut parts = holder.rsplitn(3, ':');
    let _uuid = parts.next()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if host != hostname()
        || pid == std::process::id()
        || !std::path::Path::new("/proc/self").exists()
    {
        return None;
    }
    (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_of_dead_local_processes() {
        let host = hostname();
        assert_eq!(
            dead_local_holder(&format!("{host}:{}:x", std::process::id())),
            None
        );
        assert_eq!(dead_local_holder("elsewhere:1:x"), None);
        assert_eq!(dead_local_holder("garbage"), None);
        // pid_max is at most 2^22 on Linux.
        assert_eq!(
            dead_local_holder(&format!("{host}:4999999:x")),
            Some(4_999_999)
        );
    }

    #[test]
    fn base_urls_back_to_bases() {
        assert_eq!(
            base_from_url(Some("file:///srv/t/")),
            Some(TemplateBase::Dir("/srv/t/".into()))
        );
        assert!(matches!(
            base_from_url(Some("https://h/x/")),
            Some(TemplateBase::Url(_))
        ));
        assert_eq!(base_from_url(None), None);
    }
}
