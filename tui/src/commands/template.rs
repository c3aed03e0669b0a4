//! `stagedoor template run REF`: creates a task from a template (embedded, or on `--server`), prints its
//! log as it arrives (`[step-id] message`) and then its output links and text; `--dry-run` prints the
//! files the template would create and the dry run's log instead. Values come from `--values FILE` and
//! `--set key=value` (YAML scalars, dotted keys nest); secrets from `--secret key=value`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Map, Value};
use stagedoor_core::scaffolder::follow::TaskFollower;
use stagedoor_core::scaffolder::{
    DryRunRequest, DryRunResult, TaskEvent, TaskEventType, TaskRequest, TaskStatus, TaskUser,
};
use stagedoor_core::{EntityRef, Portal, PortalError};

use crate::cli::{RunFormat, TemplateRunArgs, UsageError};
use crate::setup;
use stagedoor::ui::scaffolder::wizard::DryRunView;
use stagedoor::ui::text::strip_escapes;
use stagedoor_core::config::Config;

/// How long each `task_events` call waits for a new event.
const EVENT_WAIT: Duration = Duration::from_secs(1);

/// The values: `--values FILE` (a mapping), then each `--set` on top.
pub fn build_values(
    file: Option<&Path>,
    sets: &[String],
) -> Result<Map<String, Value>, UsageError> {
    let mut values = match file {
        None => Map::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("cannot read --values {}: {e}", path.display())))?;
            let parsed: Value = serde_yaml::from_str(&text).map_err(|e| {
                UsageError(format!(
                    "--values {}: not YAML or JSON: {e}",
                    path.display()
                ))
            })?;
            match parsed {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                other => {
                    return Err(UsageError(format!(
                        "--values {}: expected a mapping of parameter names to values, got {}",
                        path.display(),
                        kind(&other)
                    )))
                }
            }
        }
    };
    for set in sets {
        let (key, value) = split_pair("--set", set)?;
        insert_path(&mut values, key, scalar(value))
            .map_err(|m| UsageError(format!("--set {set}: {m}")))?;
    }
    Ok(values)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn split_pair<'a>(option: &str, text: &'a str) -> Result<(&'a str, &'a str), UsageError> {
    text.split_once('=')
        .map(|(k, v)| (k.trim(), v))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| UsageError(format!("invalid {option} '{text}': expected KEY=VALUE")))
}

/// A `--set` value read as YAML, so `8080` is a number and `true` a boolean; text YAML cannot read (or
/// an empty value) stays text.
fn scalar(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::String(text.to_string());
    }
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Null) if !matches!(text.trim(), "null" | "~") => Value::String(text.to_string()),
        Ok(v) => v,
        Err(_) => Value::String(text.to_string()),
    }
}

/// Sets `a.b.c` in `values`, making the mappings on the way.
fn insert_path(values: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("'{key}' is not a parameter name"));
    }
    let last = parts.pop().unwrap_or_default();
    let mut map = values;
    for (i, part) in parts.iter().enumerate() {
        let entry = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        map = match entry {
            Value::Object(m) => m,
            _ => {
                return Err(format!(
                    "'{}' is already set to a value that is not a mapping",
                    parts[..=i].join(".")
                ))
            }
        };
    }
    map.insert(last.to_string(), value);
    Ok(())
}

/// Inserts each top-level property's `default` of a page that `values` lacks (`Secret` fields excepted:
/// they are secrets, not values).
pub fn fill_defaults(values: &mut Map<String, Value>, page: &Value) {
    let Some(properties) = page.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, property) in properties {
        let secret = property.get("ui:field").and_then(Value::as_str) == Some("Secret");
        if let (Some(default), false) = (property.get("default"), secret) {
            if !values.contains_key(key) {
                values.insert(key.clone(), default.clone());
            }
        }
    }
}

pub fn parse_secrets(secrets: &[String]) -> Result<BTreeMap<String, String>, UsageError> {
    secrets
        .iter()
        .map(|s| split_pair("--secret", s).map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// A validation error as one line naming its field.
pub fn describe_validation(error: &Value) -> String {
    let text = |k: &str| error.get(k).and_then(Value::as_str);
    let field = text("property")
        .or_else(|| text("path"))
        .or_else(|| text("field"))
        .map(|p| p.trim_start_matches("instance").trim_start_matches('.'))
        .filter(|p| !p.is_empty());
    match (text("stack"), field, text("message")) {
        (Some(stack), _, _) => stack.to_string(),
        (None, Some(field), Some(message)) => format!("{field}: {message}"),
        (None, None, Some(message)) => message.to_string(),
        _ => error.to_string(),
    }
}

/// One log event as printed lines: `[step-id] message`, escapes stripped, one per line of the message.
pub fn event_lines(event: &TaskEvent) -> Vec<String> {
    let prefix = event
        .step_id()
        .map(|s| format!("[{s}] "))
        .unwrap_or_default();
    strip_escapes(event.message())
        .lines()
        .map(|l| format!("{prefix}{l}"))
        .collect()
}

/// The output's links and text, for the end of a run.
pub fn output_text(output: &Value) -> String {
    let mut out = String::new();
    if let Some(links) = output.get("links").and_then(Value::as_array) {
        if !links.is_empty() {
            out.push_str("Links:\n");
        }
        for link in links {
            let target = link
                .get("url")
                .or_else(|| link.get("entityRef"))
                .and_then(Value::as_str)
                .unwrap_or("");
            match link.get("title").and_then(Value::as_str) {
                Some(title) => out.push_str(&format!("  {title}: {target}\n")),
                None => out.push_str(&format!("  {target}\n")),
            }
        }
    }
    if let Some(texts) = output.get("text").and_then(Value::as_array) {
        for text in texts {
            if let Some(title) = text.get("title").and_then(Value::as_str) {
                out.push_str(&format!("{title}:\n"));
            }
            if let Some(content) = text.get("content").and_then(Value::as_str) {
                out.push_str(&strip_escapes(content));
                if !content.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// The dry run as text: the files with their sizes, then the log.
pub fn dry_run_text(result: &DryRunResult) -> String {
    let view = DryRunView::new(result);
    let mut out = format!("Files ({}):\n", view.files.len());
    let width = view
        .files
        .iter()
        .map(|(_, size, _)| size.to_string().len())
        .max()
        .unwrap_or(1);
    for (path, size, _) in &view.files {
        out.push_str(&format!("  {size:>width$}  {path}\n"));
    }
    out.push_str("Log:\n");
    for line in &view.log {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

pub async fn run(
    source: &setup::Source,
    args: &TemplateRunArgs,
    as_user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // Embedded, the task runs for `--as` / `stagedoor.identity`; a server decides from the token.
    let config = match &source.server {
        Some(_) => None,
        None => Some(setup::load_config(&source.config)?),
    };
    let user = setup::identity(as_user, config.as_ref())?.map(|r| TaskUser {
        entity: None,
        user_ref: Some(r.canonical()),
    });
    let values = build_values(args.values.as_deref(), &args.set)?;
    let secrets = parse_secrets(&args.secret)?;
    let template_ref = EntityRef::parse_with_defaults(&args.template, Some("template"), "default")
        .map_err(|e| {
            UsageError(format!(
                "invalid template reference '{}': {e}",
                args.template
            ))
        })?;
    let portal = portal(source, config).await?;
    let shown = template_ref.canonical();
    let entity = portal
        .entity_by_ref(&template_ref)
        .await
        .with_context(|| format!("cannot look up {shown}"))?
        .filter(|e| e.kind().eq_ignore_ascii_case("template"))
        .ok_or_else(|| UsageError(format!("unknown template {shown}")))?;
    let secrets = (!secrets.is_empty()).then_some(secrets);
    // As the form does, schema defaults fill what was not given (the server takes values as sent).
    let mut values = values;
    match portal.parameter_schema(&template_ref).await {
        Ok(schema) => {
            for step in &schema.steps {
                fill_defaults(&mut values, &step.schema);
            }
        }
        Err(PortalError::Input(message)) => return Err(UsageError(message).into()),
        Err(e) => return Err(e).with_context(|| format!("cannot read the form of {shown}")),
    }
    if args.dry_run {
        let request = DryRunRequest {
            template: entity.into_value(),
            values: Value::Object(values),
            secrets,
            directory_contents: Vec::new(),
            user: user.clone(),
        };
        let result = match portal.dry_run(request).await {
            Ok(r) => r,
            Err(e) => return refused(e, "the dry run failed"),
        };
        let text = match args.output {
            RunFormat::Text => dry_run_text(&result),
            RunFormat::Json => crate::output::to_json(&result)?,
        };
        crate::output::emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let request = TaskRequest {
        template_ref: shown.clone(),
        values: Value::Object(values),
        secrets,
        user,
    };
    let id = match portal.create_task(request).await {
        Ok(id) => id,
        Err(e) => return refused(e, "cannot create the task"),
    };
    follow(portal.as_ref(), &id, args.output).await
}

/// With `--server` (no `config`), the backend over HTTP (its workers run the task); embedded, the catalog
/// of `config` (imported first if it never was) with task workers in this process.
async fn portal(source: &setup::Source, config: Option<Config>) -> anyhow::Result<Arc<dyn Portal>> {
    let Some(config) = config else {
        return Ok(Arc::from(setup::reading_portal(source).await?));
    };
    let portal = Arc::new(setup::embedded_portal(config).await?);
    portal.start_task_workers();
    Ok(portal)
}

/// A refusal of the values (exit 2, each error naming its field) or another failure.
fn refused(e: PortalError, what: &str) -> anyhow::Result<ExitCode> {
    match e {
        PortalError::Validation(errors) => {
            for error in &errors {
                eprintln!("error: {}", describe_validation(error));
            }
            Ok(ExitCode::from(2))
        }
        PortalError::Input(message) => Err(UsageError(message).into()),
        other => Err(other).context(what.to_string()),
    }
}

/// Prints the task's events until its completion; the exit code is its outcome.
async fn follow(portal: &dyn Portal, id: &str, format: RunFormat) -> anyhow::Result<ExitCode> {
    let mut follower = TaskFollower::new(id, None);
    let mut log = Vec::new();
    if format == RunFormat::Text {
        println!("task {id}");
    }
    let mut completion = None;
    while !follower.finished() {
        let events = follower
            .next(portal, EVENT_WAIT)
            .await
            .with_context(|| format!("cannot read the events of task {id}"))?;
        for event in events {
            match event.event_type {
                TaskEventType::Completion => completion = Some(event),
                _ => {
                    if format == RunFormat::Text {
                        for line in event_lines(&event) {
                            println!("{line}");
                        }
                    }
                    log.push(event);
                }
            }
        }
    }
    let task = portal.task(id).await.context("cannot read the task")?;
    let status = task
        .as_ref()
        .map(|t| t.status)
        .unwrap_or(TaskStatus::Failed);
    let body = completion
        .as_ref()
        .map(|c| c.body.clone())
        .unwrap_or(Value::Null);
    let output = body.get("output").cloned().unwrap_or(Value::Null);
    let error = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string);
    match format {
        RunFormat::Text => {
            let text = output_text(&output);
            if !text.is_empty() {
                print!("{text}");
            }
            if let Some(e) = &error {
                eprintln!("error: {}", strip_escapes(e));
            }
            println!("{}", status.as_str());
        }
        RunFormat::Json => {
            let doc = json!({
                "id": id,
                "status": status.as_str(),
                "output": output,
                "error": error,
                "log": log,
            });
            crate::output::emit(&crate::output::to_json(&doc)?)?;
        }
    }
    Ok(if status == TaskStatus::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn pairs_without_a_key_name_their_option() {
        for bad in ["no-equals", "=value"] {
            let e = build_values(None, &[bad.into()]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid --set '{bad}': expected KEY=VALUE")
            );
            let e = parse_secrets(&[bad.into()]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid --secret '{bad}': expected KEY=VALUE")
            );
        }
    }

    #[test]
    fn sets_keep_yaml_types_and_nest() {
        let v = build_values(
            None,
            &[
                "port=8080".into(),
                "ok=true".into(),
                "name=depot-scanner".into(),
                "a.b=c".into(),
                "a.d=1.5".into(),
                "empty=".into(),
                "url=github.com?owner=o&repo=r".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            Value::Object(v),
            json!({"port": 8080, "ok": true, "name": "depot-scanner", "a": {"b": "c", "d": 1.5},
                   "empty": "", "url": "github.com?owner=o&repo=r"})
        );
        assert!(build_values(None, &["=x".into()]).is_err());
        assert!(build_values(None, &["noequals".into()]).is_err());
        let err = build_values(None, &["a=1".into(), "a.b=2".into()]).unwrap_err();
        assert!(err.0.contains("'a' is already set"), "{err}");
    }

    #[test]
    fn values_files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.yaml");
        std::fs::write(&file, "name: x\nport: 1\n").unwrap();
        let v = build_values(Some(&file), &["port=2".into()]).unwrap();
        assert_eq!(Value::Object(v), json!({"name": "x", "port": 2}));
        std::fs::write(&file, "- a\n").unwrap();
        let err = build_values(Some(&file), &[]).unwrap_err().0;
        assert!(err.contains("v.yaml") && err.contains("a list"), "{err}");
        std::fs::write(&file, "a: [").unwrap();
        assert!(build_values(Some(&file), &[])
            .unwrap_err()
            .0
            .contains("v.yaml"));
        let missing = dir.path().join("missing.json");
        assert!(build_values(Some(&missing), &[])
            .unwrap_err()
            .0
            .contains("missing.json"));
    }

    #[test]
    fn defaults_fill_what_was_not_given() {
        let mut values = build_values(None, &["port=9000".into()]).unwrap();
        fill_defaults(
            &mut values,
            &json!({"properties": {
                "port": {"type": "integer", "default": 8080},
                "lifecycle": {"type": "string", "default": "experimental"},
                "token": {"type": "string", "ui:field": "Secret", "default": "x"},
                "name": {"type": "string"}
            }}),
        );
        assert_eq!(
            Value::Object(values),
            json!({"port": 9000, "lifecycle": "experimental"})
        );
    }

    #[test]
    fn validation_errors_name_their_field() {
        assert_eq!(
            describe_validation(&json!({"stack": "instance requires property \"name\""})),
            "instance requires property \"name\""
        );
        assert_eq!(
            describe_validation(
                &json!({"property": "instance.port", "message": "must be >= 1024"})
            ),
            "port: must be >= 1024"
        );
    }

    #[test]
    fn output_and_dry_runs_print_plainly() {
        let text = output_text(&json!({
            "links": [{"title": "Repo", "url": "https://e/r"}, {"entityRef": "component:default/x"}],
            "text": [{"title": "Next", "content": "Run \u{1b}[31mit"}]
        }));
        assert_eq!(
            text,
            "Links:\n  Repo: https://e/r\n  component:default/x\nNext:\nRun it\n"
        );
        let result = DryRunResult {
            log: vec![stagedoor_core::scaffolder::DryRunLog {
                body: json!({"message": "Beginning step Fetch", "stepId": "fetch"}),
            }],
            directory_contents: vec![stagedoor_core::scaffolder::DirectoryFile {
                path: "README.md".into(),
                executable: false,
                base64_content: base64::engine::general_purpose::STANDARD.encode("hello"),
            }],
            output: Value::Null,
            steps: Vec::new(),
        };
        assert_eq!(
            dry_run_text(&result),
            "Files (1):\n  5  README.md\nLog:\n  [fetch] Beginning step Fetch\n"
        );
    }
}
