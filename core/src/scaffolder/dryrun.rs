//! `POST /v2/dry-run`: runs a template sent inline with the same runner, in a throw-away workspace, with
//! `dry_run` set so actions change nothing outside it; answers the log, the files the steps produced, the
//! output and the steps.
//!
//! The template's files come from `directoryContents` (written into a temporary template directory, every
//! path checked to stay inside it) or, when none are sent, from the template's own directory (its catalog
//! location), so a catalog template can be tried as is.

use std::path::{Component, Path};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::watch;

use super::actions::TemplateBase;
use super::redact::Redactor;
use super::runner::{run_task, Engine, MemorySink, Run};
use super::template::Template;
use super::types::{DirectoryFile, DryRunLog, DryRunRequest, DryRunResult};
use super::workspace::Workspace;
use crate::entity::Entity;
use crate::error::PortalError;
use crate::portal::Portal;

/// Backstage's message for a path that leaves its directory.
pub const OUTSIDE_PARENT: &str =
    "Relative path is not allowed to refer to a directory outside its parent";

/// Runs `request` once; nothing is stored.
pub async fn dry_run(
    engine: &Engine,
    request: DryRunRequest,
    catalog: Arc<dyn Portal>,
) -> Result<DryRunResult, PortalError> {
    let entity = Entity::from_value(request.template.clone())
        .ok_or_else(|| PortalError::Input("template must be a Template entity object".into()))?;
    let template = Template::from_entity(&entity)?;
    let secrets = request.secrets.clone().unwrap_or_default();
    template.validate_values(&request.values, &secrets)?;
    let root = tempfile::Builder::new()
        .prefix("stagedoor-dry-run-")
        .tempdir_in(&engine.settings.working_directory)
        .or_else(|_| {
            tempfile::Builder::new()
                .prefix("stagedoor-dry-run-")
                .tempdir()
        })
        .map_err(|e| PortalError::Internal(format!("could not create a dry-run directory: {e}")))?;
    let contents = root.path().join("template");
    let work = root.path().join("workspace");
    for dir in [&contents, &work] {
        std::fs::create_dir_all(dir).map_err(|e| {
            PortalError::Internal(format!("could not create {}: {e}", dir.display()))
        })?;
    }
    let base = if request.directory_contents.is_empty() {
        template
            .base
            .clone()
            .unwrap_or_else(|| TemplateBase::Dir(contents.clone()))
    } else {
        for file in &request.directory_contents {
            write_input_file(&contents, &file.path, &file.base64_content)?;
        }
        TemplateBase::Dir(contents.clone())
    };
    let mut template_info = template.template_info();
    template_info.base_url = match &base {
        TemplateBase::Dir(dir) => url::Url::from_directory_path(dir)
            .ok()
            .map(|u| u.to_string()),
        TemplateBase::Url(u) => Some(u.to_string()),
    };
    let spec = template.task_spec(&request.values, template_info, request.user.clone());
    let (_switch, cancelled) = watch::channel(false);
    let sink = MemorySink::default();
    let run = Run {
        task_id: format!("dry-run-{}", uuid::Uuid::new_v4()),
        spec,
        secrets: secrets.clone(),
        template_base: base,
        workspace: Workspace::new(work.canonicalize().map_err(|e| {
            PortalError::Internal(format!("dry-run workspace {}: {e}", work.display()))
        })?),
        catalog,
        cancelled,
        dry_run: true,
    };
    let outcome = run_task(engine, run, &sink).await;
    let mut log: Vec<DryRunLog> = sink
        .0
        .lock()
        .map(|events| {
            events
                .iter()
                .map(|(_, body)| DryRunLog { body: body.clone() })
                .collect()
        })
        .unwrap_or_default();
    log.push(DryRunLog {
        body: outcome.completion.clone(),
    });
    let redactor = Redactor::new(&secrets);
    let directory_contents = read_tree(&work, &redactor)?;
    Ok(DryRunResult {
        log,
        directory_contents,
        output: outcome.output,
        steps: template.steps,
    })
}

/// Writes one `directoryContents` entry below `root`; a path that would leave it is `NotAllowed` (403).
fn write_input_file(root: &Path, path: &str, base64_content: &str) -> Result<(), PortalError> {
    let relative = Path::new(path);
    let escapes = path.is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(PortalError::NotAllowed(format!("{OUTSIDE_PARENT}: {path}")));
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(base64_content)
        .map_err(|e| PortalError::Input(format!("directoryContents {path}: not base64: {e}")))?;
    let target = root.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            PortalError::Internal(format!("could not create {}: {e}", parent.display()))
        })?;
    }
    std::fs::write(&target, body)
        .map_err(|e| PortalError::Internal(format!("could not write {}: {e}", target.display())))
}

/// Every regular file below `root` (symlinks are not followed), sorted by path, contents redacted when
/// they are text holding a secret.
fn read_tree(root: &Path, redactor: &Redactor) -> Result<Vec<DirectoryFile>, PortalError> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| PortalError::Internal(format!("reading {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let body = std::fs::read(&path).map_err(|e| {
                    PortalError::Internal(format!("reading {}: {e}", path.display()))
                })?;
                let body = match String::from_utf8(body) {
                    Ok(text) => redactor.text(&text).into_bytes(),
                    Err(e) => e.into_bytes(),
                };
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push(DirectoryFile {
                    path: relative,
                    executable: is_executable(&meta),
                    base64_content: base64::engine::general_purpose::STANDARD.encode(body),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// The body of a dry run's log entry (tests).
pub fn log_messages(result: &DryRunResult) -> Vec<String> {
    result
        .log
        .iter()
        .filter_map(|l| {
            l.body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_paths_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("hi");
        write_input_file(dir.path(), "a/b.txt", &b64).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b.txt")).unwrap(),
            "hi"
        );
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            let e = write_input_file(dir.path(), bad, &b64).unwrap_err();
            assert_eq!(e.status_code(), 403, "{bad}");
            assert!(e.to_string().contains(OUTSIDE_PARENT));
        }
    }

    #[test]
    fn tree_lists_files_with_modes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/run.sh"), "echo s3cret").unwrap();
        std::fs::write(dir.path().join("README.md"), "x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("bin/run.sh"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        let redactor = Redactor::new(&[("t".to_string(), "s3cret".to_string())].into());
        let files = read_tree(dir.path(), &redactor).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "README.md");
        assert!(!files[0].executable);
        assert_eq!(files[1].path, "bin/run.sh");
        assert_eq!(files[1].executable, cfg!(unix));
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&files[1].base64_content)
                .unwrap(),
            b"echo ***"
        );
    }
}
