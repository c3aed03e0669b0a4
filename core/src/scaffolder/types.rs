//! The scaffolder's data as Backstage's REST API shapes it (`/api/scaffolder/v2`): parameter schemas, action
//! descriptions, tasks, their events and dry runs. Shared by the engine, the HTTP API, the client and the TUI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /v2/templates/:namespace/:kind/:name/parameter-schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterSchema {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<ParameterStep>,
}

/// One page of a template's form: its JSON Schema as written, `ui:*` keys included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterStep {
    /// The page's `title`, or Backstage's "Fill in template parameters".
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub schema: Value,
}

/// One entry of `GET /v2/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionInfo {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<ActionExample>,
    pub schema: ActionSchema,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionExample {
    pub description: String,
    /// The example as a YAML document (Backstage sends a string).
    pub example: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSchema {
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
}

/// A task's state. `skipped` exists for steps only ([`StepStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Open,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Processing => "processing",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        Some(match s {
            "open" => TaskStatus::Open,
            "processing" => TaskStatus::Processing,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            _ => return None,
        })
    }

    /// Whether the task has ended and will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// A step's state, as carried in log event bodies (`body.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Open,
    Processing,
    Completed,
    Failed,
    Cancelled,
    Skipped,
}

/// `SerializedTask`: `{id, spec, status, createdAt, lastHeartbeatAt?, createdBy?, state?}`, secrets never included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedTask {
    pub id: String,
    pub spec: TaskSpec,
    pub status: TaskStatus,
    /// ISO 8601.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(
        rename = "lastHeartbeatAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_heartbeat_at: Option<String>,
    #[serde(rename = "createdBy", default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
}

/// What a task runs: the template's steps and output with the submitted values (`spec.parameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The submitted values, exactly as sent (no schema defaults applied).
    #[serde(default)]
    pub parameters: Value,
    pub steps: Vec<StepSpec>,
    #[serde(default)]
    pub output: Value,
    #[serde(rename = "templateInfo")]
    pub template_info: TemplateInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<TaskUser>,
}

/// One step: `id` defaults to `step-<n>` (1-based) and `name` to the action id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    pub id: String,
    pub name: String,
    pub action: String,
    #[serde(default)]
    pub input: Value,
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub if_condition: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<Value>,
}

/// Where the template came from: `baseUrl` is its directory (`file:///…/` or `https://…/`), against which
/// `./skeleton` resolves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateInfo {
    #[serde(rename = "entityRef")]
    pub entity_ref: String,
    #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `{metadata}` of the template entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Value>,
}

/// The user a task runs for: `user.entity` (the User entity, when known) and `user.ref`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Value>,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<String>,
}

/// `POST /v2/tasks` body. `user` is not part of the body: the server fills it from the caller's credentials,
/// embedded callers from their configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskRequest {
    #[serde(rename = "templateRef")]
    pub template_ref: String,
    #[serde(default)]
    pub values: Value,
    /// Go to `secrets.<key>` in step inputs; never stored, redacted from every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BTreeMap<String, String>>,
    #[serde(skip)]
    pub user: Option<TaskUser>,
}

/// `GET /v2/tasks` query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskQuery {
    pub created_by: Option<String>,
    pub status: Vec<TaskStatus>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// Backstage's `order=desc:created_at`: field and direction; newest first when absent.
    pub order: Option<String>,
}

/// `GET /v2/tasks` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    pub tasks: Vec<SerializedTask>,
    #[serde(
        rename = "totalTasks",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub total_tasks: Option<u64>,
}

/// An event's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskEventType {
    Log,
    Completion,
    Cancelled,
    Recovered,
}

impl TaskEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEventType::Log => "log",
            TaskEventType::Completion => "completion",
            TaskEventType::Cancelled => "cancelled",
            TaskEventType::Recovered => "recovered",
        }
    }
}

/// `{id, taskId, type, body, createdAt}`; `body` ⊇ `{message, stepId?, status?}`, and a completion's body
/// carries `output` or `error: {name, message}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub id: i64,
    #[serde(rename = "taskId")]
    pub task_id: String,
    #[serde(rename = "type")]
    pub event_type: TaskEventType,
    pub body: Value,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

impl TaskEvent {
    pub fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn step_id(&self) -> Option<&str> {
        self.body.get("stepId").and_then(Value::as_str)
    }

    pub fn step_status(&self) -> Option<StepStatus> {
        self.body
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
    }
}

/// `POST /v2/dry-run` body. With no `directoryContents`, stagedoor reads the template's own directory (from
/// its catalog location), so a catalog template can be tried as is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DryRunRequest {
    /// The Template entity.
    pub template: Value,
    #[serde(default)]
    pub values: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BTreeMap<String, String>>,
    #[serde(rename = "directoryContents", default)]
    pub directory_contents: Vec<DryRunInputFile>,
    #[serde(skip)]
    pub user: Option<TaskUser>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunInputFile {
    pub path: String,
    #[serde(rename = "base64Content")]
    pub base64_content: String,
}

/// `POST /v2/dry-run` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunResult {
    pub log: Vec<DryRunLog>,
    #[serde(rename = "directoryContents")]
    pub directory_contents: Vec<DirectoryFile>,
    pub output: Value,
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunLog {
    pub body: Value,
}

/// A file the dry run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryFile {
    pub path: String,
    pub executable: bool,
    #[serde(rename = "base64Content")]
    pub base64_content: String,
}
