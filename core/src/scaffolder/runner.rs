//! The workflow runner: runs one task's steps in order in its workspace, as Backstage's
//! `NunjucksWorkflowRunner` does, and reports every step as log events.
//!
//! For each step: `if` is rendered and a falsy result skips it; otherwise its `input` is rendered (with
//! `secrets` in the context, which nothing else sees), checked against the action's input schema and run,
//! once or once per `each` item (outputs then become arrays). Step outputs flow to later steps as
//! `steps.<id>.output`. After the last step the template's `output` is rendered (without secrets). Every
//! event body passes through the task's [`Redactor`] before the sink sees it, so secrets never leave here.
//! Cancelling flips a watch: the running action sees it, and the runner drops the action if it does not stop.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch};

use super::actions::{Action, ActionContext, ActionError, ActionRegistry, TemplateBase};
use super::redact::Redactor;
use super::settings::ScaffolderSettings;
use super::templating::Templater;
use super::types::{StepSpec, TaskEventType, TaskSpec, TaskStatus};
use super::workspace::Workspace;
use crate::error::PortalError;
use crate::ingest::LocationReader;
use crate::portal::Portal;

/// What runs tasks: the actions, the templater, the settings and the URL reader. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub registry: Arc<ActionRegistry>,
    pub templater: Arc<Templater>,
    pub settings: Arc<ScaffolderSettings>,
    pub reader: LocationReader,
}

/// Where a run's events go (the store for a task, a list for a dry run). Bodies arrive redacted.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn emit(&self, event_type: TaskEventType, body: Value) -> Result<(), PortalError>;
}

/// Collects a run's events in memory (dry runs, tests).
#[derive(Default)]
pub struct MemorySink(pub std::sync::Mutex<Vec<(TaskEventType, Value)>>);

#[async_trait]
impl EventSink for MemorySink {
    async fn emit(&self, event_type: TaskEventType, body: Value) -> Result<(), PortalError> {
        if let Ok(mut events) = self.0.lock() {
            events.push((event_type, body));
        }
        Ok(())
    }
}

/// One run of a task's spec.
pub struct Run {
    pub task_id: String,
    pub spec: TaskSpec,
    /// The task's secrets: in step inputs as `secrets.<key>`, masked in every event.
    pub secrets: BTreeMap<String, String>,
    /// Where `./skeleton` and other relative URLs resolve.
    pub template_base: TemplateBase,
    pub workspace: Workspace,
    /// The portal `catalog:*` actions read and register through.
    pub catalog: Arc<dyn Portal>,
    pub cancelled: watch::Receiver<bool>,
    pub dry_run: bool,
}

/// How a run ended: its final status and the completion event's (redacted) body.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: TaskStatus,
    /// `{message: "Run completed with status: <s>", output}` or `{message, error: {name, message}}`.
    pub completion: Value,
    /// The rendered (redacted) output; `{}` when the run did not complete.
    pub output: Value,
}

/// Why a run stopped early.
struct Failure {
    name: String,
    message: String,
    cancelled: bool,
}

impl Failure {
    fn new(name: &str, message: impl Into<String>) -> Failure {
        Failure {
            name: name.to_string(),
            message: message.into(),
            cancelled: false,
        }
    }

    fn cancelled() -> Failure {
        Failure {
            name: "CancelledError".into(),
            message: "The task was cancelled".into(),
            cancelled: true,
        }
    }

    fn from_action(e: ActionError) -> Failure {
        match e {
            ActionError::Cancelled => Failure::cancelled(),
            other => Failure::new(other.name(), other.to_string()),
        }
    }
}

/// Backstage's truthiness of a rendered `if`: false, null, 0, "" and an empty array are false. A string
/// `"false"` is false too, for conditions the templater rendered to text.
pub fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

/// Runs `run` to its end, reporting to `sink`. Never fails: a failure is the outcome's status and error.
pub async fn run_task(engine: &Engine, run: Run, sink: &dyn EventSink) -> RunOutcome {
    let redactor = Redactor::new(&run.secrets);
    let mut runner = Runner {
        engine,
        run: &run,
        sink,
        redactor: &redactor,
        steps: Map::new(),
    };
    let result = runner.steps().await;
    let (status, completion, output) = match result {
        Ok(()) => match runner.output() {
            Ok(output) => (
                TaskStatus::Completed,
                json!({"message": "Run completed with status: completed", "output": output}),
                output,
            ),
            Err(f) => failed(f),
        },
        Err(f) => failed(f),
    };
    RunOutcome {
        status,
        completion: redactor.value(&completion),
        output: redactor.value(&output),
    }
}

fn failed(f: Failure) -> (TaskStatus, Value, Value) {
    let status = if f.cancelled {
        TaskStatus::Cancelled
    } else {
        TaskStatus::Failed
    };
    (
        status,
        json!({
            "message": format!("Run completed with status: {}", status.as_str()),
            "error": {"name": f.name, "message": f.message},
        }),
        json!({}),
    )
}

struct Runner<'a> {
    engine: &'a Engine,
    run: &'a Run,
    sink: &'a dyn EventSink,
    redactor: &'a Redactor,
    /// `steps.<id>.output` so far.
    steps: Map<String, Value>,
}

impl Runner<'_> {
    async fn log(&self, body: Value) {
        let body = self.redactor.value(&body);
        if let Err(e) = self.sink.emit(TaskEventType::Log, body).await {
            tracing::warn!(task = %self.run.task_id, error = %e, "could not store a task event");
        }
    }

    async fn step_log(&self, step: &StepSpec, message: &str, status: &str) {
        self.log(json!({"message": message, "stepId": step.id, "status": status}))
            .await;
    }

    fn is_cancelled(&self) -> bool {
        *self.run.cancelled.borrow()
    }

    /// The context step inputs render with; `secrets` only when `with_secrets`.
    fn context(&self, with_secrets: bool, each: Option<&Value>) -> Value {
        let user = self.run.spec.user.clone().unwrap_or_default();
        let mut ctx = json!({
            "parameters": self.run.spec.parameters,
            "steps": self.steps,
            "user": {"entity": user.entity, "ref": user.user_ref},
            "context": {"task": {"id": self.run.task_id}},
        });
        if with_secrets {
            ctx["secrets"] = json!(self.run.secrets);
        }
        if let Some(each) = each {
            ctx["each"] = each.clone();
        }
        ctx
    }

    fn render(&self, value: &Value, ctx: &Value, what: &str) -> Result<Option<Value>, Failure> {
        self.engine
            .templater
            .render_value(value, ctx)
            .map_err(|e| Failure::new("Error", format!("{what}: {e}")))
    }

    async fn steps(&mut self) -> Result<(), Failure> {
        for step in &self.run.spec.steps {
            if self.is_cancelled() {
                return Err(Failure::cancelled());
            }
            if let Err(f) = self.step(step).await {
                let status = if f.cancelled { "cancelled" } else { "failed" };
                let message = if f.cancelled {
                    format!("Step {} has been cancelled.", step.name)
                } else {
                    format!("{}: {}", f.name, f.message)
                };
                self.step_log(step, &message, status).await;
                return Err(f);
            }
        }
        Ok(())
    }

    async fn step(&mut self, step: &StepSpec) -> Result<(), Failure> {
        if let Some(condition) = &step.if_condition {
            let ctx = self.context(false, None);
            let rendered = match condition {
                Value::String(_) => {
                    self.render(condition, &ctx, &format!("step {} if", step.id))?
                }
                other => Some(other.clone()),
            };
            if !is_truthy(rendered.as_ref()) {
                let message = format!(
                    "Skipping step {} because its if condition was false",
                    step.id
                );
                self.step_log(step, &message, "skipped").await;
                return Ok(());
            }
        }
        self.step_log(step, &format!("Beginning step {}", step.name), "processing")
            .await;
        let action = self.engine.registry.get(&step.action).ok_or_else(|| {
            Failure::new(
                "NotFoundError",
                format!(
                    "Template action with ID '{}' is not registered.",
                    step.action
                ),
            )
        })?;
        let iterations = match &step.each {
            None => None,
            Some(each) => {
                let ctx = self.context(false, None);
                let rendered = self
                    .render(each, &ctx, &format!("step {} each", step.id))?
                    .unwrap_or(Value::Array(Vec::new()));
                Some(match rendered {
                    Value::Array(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| json!({"key": i.to_string(), "value": v}))
                        .collect::<Vec<_>>(),
                    Value::Object(map) => map
                        .into_iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect(),
                    other => {
                        return Err(Failure::new(
                            "InputError",
                            format!(
                            "Invalid value on action {} each parameter, \"{}\" cannot be iterated",
                            step.action, other
                        ),
                        ))
                    }
                })
            }
        };
        let mut outputs = Map::new();
        match iterations {
            None => {
                outputs = self.invoke(step, &action, None).await?;
            }
            Some(items) => {
                for each in items {
                    self.log(json!({
                        "message": format!("Running step each: {each}"),
                        "stepId": step.id,
                        "status": "processing",
                    }))
                    .await;
                    for (k, v) in self.invoke(step, &action, Some(&each)).await? {
                        match outputs.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
                            Value::Array(list) => list.push(v),
                            slot => *slot = Value::Array(vec![v]),
                        }
                    }
                }
            }
        }
        self.steps
            .insert(step.id.clone(), json!({ "output": outputs }));
        self.step_log(step, &format!("Finished step {}", step.name), "completed")
            .await;
        Ok(())
    }

    /// Renders the step's input (for one `each` item), checks it and runs the action; its outputs.
    async fn invoke(
        &self,
        step: &StepSpec,
        action: &Arc<dyn Action>,
        each: Option<&Value>,
    ) -> Result<Map<String, Value>, Failure> {
        let ctx = self.context(true, each);
        let input = self
            .render(&step.input, &ctx, &format!("step {} input", step.id))?
            .unwrap_or(Value::Object(Map::new()));
        self.engine
            .registry
            .validate_input(&step.action, &input)
            .map_err(|e| match e {
                PortalError::Validation(_) => Failure::new(
                    "InputError",
                    format!(
                        "Invalid input passed to action {}, {}",
                        step.action,
                        e.message()
                    ),
                ),
                other => Failure::new(other.name(), other.to_string()),
            })?;
        if self.run.dry_run && !action.supports_dry_run() {
            self.log(json!({
                "message": format!("Skipping because {} does not support dry-run", action.id()),
                "stepId": step.id,
                "status": "skipped",
            }))
            .await;
            return Ok(Map::new());
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let mut ctx = ActionContext {
            task_id: self.run.task_id.clone(),
            input,
            workspace: self.run.workspace.clone(),
            template_base: self.run.template_base.clone(),
            templater: self.engine.templater.clone(),
            catalog: self.run.catalog.clone(),
            settings: self.engine.settings.clone(),
            reader: self.engine.reader.clone(),
            log: tx,
            cancelled: self.run.cancelled.clone(),
            dry_run: self.run.dry_run,
            user: self.run.spec.user.clone(),
            outputs: Map::new(),
        };
        let mut cancelled = self.run.cancelled.clone();
        let result = {
            let running = action.run(&mut ctx);
            tokio::pin!(running);
            loop {
                tokio::select! {
                    result = &mut running => break result,
                    Some(line) = rx.recv() => {
                        self.log(json!({"message": line, "stepId": step.id})).await;
                    }
                    changed = cancelled.changed() => {
                        // The action saw the flag too; one that ignores it is dropped here.
                        if changed.is_err() || *cancelled.borrow() {
                            break Err(ActionError::Cancelled);
                        }
                    }
                }
            }
        };
        // Lines logged just before the action returned.
        drop(ctx.log);
        while let Ok(line) = rx.try_recv() {
            self.log(json!({"message": line, "stepId": step.id})).await;
        }
        result.map_err(Failure::from_action)?;
        if self.is_cancelled() {
            return Err(Failure::cancelled());
        }
        Ok(ctx.outputs)
    }

    /// The template's `output`, rendered without secrets.
    fn output(&self) -> Result<Value, Failure> {
        let ctx = self.context(false, None);
        Ok(self
            .render(&self.run.spec.output, &ctx, "output")?
            .filter(|v| !v.is_null())
            .unwrap_or_else(|| json!({})))
    }
}
