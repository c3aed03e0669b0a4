//! Built-in scaffolder actions: the [`Action`] trait each implements, the context a step runs with, and the
//! [`ActionRegistry`] that lists them (`GET /v2/actions`) and checks a step's input against the action's
//! schema before it runs.
//!
//! One module per action family: [`fetch`] (`fetch:plain`, `fetch:plain:file`, `fetch:template`,
//! `fetch:template:file`), [`fs`] (`fs:delete`, `fs:rename`, `fs:read`), [`debug`] (`debug:log`,
//! `debug:wait`), [`catalog`] (`catalog:write`, `catalog:fetch`, `catalog:register`), [`publish_file`]
//! (`publish:file`) and [`publish_git`] (`publish:git`); [`schema`] checks inputs against their schemas.

pub mod catalog;
pub mod debug;
pub mod fetch;
pub mod fs;
pub mod publish_file;
pub mod publish_git;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

use super::settings::ScaffolderSettings;
use super::templating::Templater;
use super::types::{ActionExample, ActionInfo, ActionSchema, TaskUser};
use super::workspace::Workspace;
use crate::error::PortalError;
use crate::ingest::LocationReader;
use crate::portal::Portal;

/// Why an action failed. The runner logs `"<name>: <message>"` and fails the task with it.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The input does not match the action's schema, or is contradictory.
    #[error("{0}")]
    Input(String),
    /// A path would leave the workspace (or an allowed directory), or the config forbids the operation.
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    NotFound(String),
    /// The task was cancelled while the action ran.
    #[error("the task was cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Portal(#[from] PortalError),
}

impl ActionError {
    /// Backstage's error name (`InputError`, `NotAllowedError`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ActionError::Input(_) => "InputError",
            ActionError::NotAllowed(_) => "NotAllowedError",
            ActionError::NotFound(_) => "NotFoundError",
            ActionError::Cancelled => "CancelledError",
            ActionError::Failed(_) => "Error",
            ActionError::Portal(e) => e.name(),
        }
    }
}

impl From<ActionError> for PortalError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Input(m) => PortalError::Input(m),
            ActionError::NotAllowed(m) => PortalError::NotAllowed(m),
            ActionError::NotFound(m) => PortalError::NotFound(m),
            ActionError::Cancelled => PortalError::Input("the task was cancelled".into()),
            ActionError::Failed(m) => PortalError::Internal(m),
            ActionError::Portal(p) => p,
        }
    }
}

/// Where a template's relative URLs (`./skeleton`) resolve: its directory on disk or at a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateBase {
    Dir(std::path::PathBuf),
    Url(url::Url),
}

/// Everything one step's action runs with.
pub struct ActionContext {
    pub task_id: String,
    /// The step's input, rendered and checked against the action's input schema.
    pub input: Value,
    pub workspace: Workspace,
    pub template_base: TemplateBase,
    pub templater: Arc<Templater>,
    /// The portal the task runs in: `catalog:*` actions read and register through it.
    pub catalog: Arc<dyn Portal>,
    pub settings: Arc<ScaffolderSettings>,
    /// Reads `url:` sources under `backend.reading.allow`.
    pub reader: LocationReader,
    /// Log lines for the step (redacted by the runner before they are stored).
    pub log: mpsc::UnboundedSender<String>,
    /// Becomes `true` when the task is cancelled; long actions watch it.
    pub cancelled: watch::Receiver<bool>,
    /// A dry run: actions that change anything outside the workspace must not.
    pub dry_run: bool,
    pub user: Option<TaskUser>,
    /// The step's outputs, set with [`ActionContext::output`].
    pub outputs: Map<String, Value>,
}

impl ActionContext {
    pub fn log(&self, line: impl Into<String>) {
        let _ = self.log.send(line.into());
    }

    pub fn output(&mut self, key: &str, value: Value) {
        self.outputs.insert(key.to_string(), value);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
}

/// A built-in action.
#[async_trait]
pub trait Action: Send + Sync {
    fn id(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// JSON Schema of the step's `input`.
    fn input_schema(&self) -> Value;
    /// JSON Schema of what the action outputs.
    fn output_schema(&self) -> Option<Value> {
        None
    }
    fn examples(&self) -> Vec<ActionExample> {
        Vec::new()
    }
    /// Whether it runs in a dry run (false: the runner logs that it skipped it).
    fn supports_dry_run(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError>;
}

/// The actions a portal offers, by id.
#[derive(Clone, Default)]
pub struct ActionRegistry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl ActionRegistry {
    /// Every built-in action.
    pub fn builtin() -> ActionRegistry {
        let mut registry = ActionRegistry::default();
        let all: Vec<Arc<dyn Action>> = vec![
            Arc::new(fetch::FetchPlain),
            Arc::new(fetch::FetchPlainFile),
            Arc::new(fetch::FetchTemplate),
            Arc::new(fetch::FetchTemplateFile),
            Arc::new(fs::FsDelete),
            Arc::new(fs::FsRename),
            Arc::new(fs::FsRead),
            Arc::new(debug::DebugLog),
            Arc::new(debug::DebugWait),
            Arc::new(catalog::CatalogWrite),
            Arc::new(catalog::CatalogFetch),
            Arc::new(catalog::CatalogRegister),
            Arc::new(publish_file::PublishFile),
            Arc::new(publish_git::PublishGit),
        ];
        for action in all {
            registry.register(action);
        }
        registry
    }

    /// Checks a step's rendered `input` against the schema of the action `id`. Each error names the field
    /// (`input.url: is a required property`); an unknown id is an InputError naming it.
    pub fn validate_input(&self, id: &str, input: &Value) -> Result<(), PortalError> {
        let action = self.get(id).ok_or_else(|| {
            PortalError::Input(format!("Template action with ID '{id}' is not registered."))
        })?;
        schema::validate(id, &action.input_schema(), input)
    }

    /// The registered ids, sorted.
    pub fn ids(&self) -> Vec<&'static str> {
        self.actions.keys().copied().collect()
    }

    pub fn register(&mut self, action: Arc<dyn Action>) {
        self.actions.insert(action.id(), action);
    }

    pub fn get(&self, id: &str) -> Option<Arc<dyn Action>> {
        self.actions.get(id).cloned()
    }

    /// `GET /v2/actions`, sorted by id.
    pub fn list(&self) -> Vec<ActionInfo> {
        self.actions
            .values()
            .map(|a| ActionInfo {
                id: a.id().to_string(),
                description: Some(a.description().to_string()),
                examples: a.examples(),
                schema: ActionSchema {
                    input: a.input_schema(),
                    output: a.output_schema(),
                },
            })
            .collect()
    }
}

/// The string input `key`, if present and a string.
pub(crate) fn input_str<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// The required string input `key` (the schema check normally catches its absence first).
pub(crate) fn required_str<'a>(input: &'a Value, key: &str) -> Result<&'a str, ActionError> {
    input_str(input, key).ok_or_else(|| ActionError::Input(format!("input.{key} is required")))
}

pub(crate) fn input_bool(input: &Value, key: &str) -> bool {
    input.get(key).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
pub(crate) mod test_support;
