//! `fs:delete`, `fs:rename` and `fs:read`: file operations inside the workspace, every path confined by
//! [`crate::scaffolder::workspace::Workspace`] (a link out of the workspace is never followed nor removed).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{input_str, required_str, Action, ActionContext, ActionError};
use crate::scaffolder::workspace::normalize_relative;

/// `fs:delete`.
pub struct FsDelete;

#[async_trait]
impl Action for FsDelete {
    fn id(&self) -> &'static str {
        "fs:delete"
    }
    fn description(&self) -> &'static str {
        "Deletes files and directories from the workspace"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {"type": "array", "title": "Files", "description": "A list of files and directories that will be deleted", "items": {"type": "string"}}
            }
        })
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let files = ctx
            .input
            .get("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // Check every path first, so a refused one deletes nothing.
        let mut paths = Vec::new();
        for file in &files {
            let rel = file
                .as_str()
                .ok_or_else(|| ActionError::Input("input.files must hold strings".into()))?;
            if rel.contains(['*', '?', '[']) {
                paths.extend(glob_matches(ctx, rel)?);
            } else {
                ctx.workspace.resolve_entry(rel)?;
                paths.push(rel.to_string());
            }
        }
        for rel in paths {
            ctx.workspace.remove(&rel)?;
            ctx.log(format!("File {rel} deleted successfully"));
        }
        Ok(())
    }
}

/// The workspace entries a glob names (Backstage's `fs:delete` takes globs). The pattern itself must stay
/// inside; entries are listed without following links, so a match is never reached through one; a matched
/// link out of the workspace is still refused by the check every path gets.
fn glob_matches(ctx: &ActionContext, pattern: &str) -> Result<Vec<String>, ActionError> {
    let normalized = normalize_relative(pattern).ok_or_else(|| {
        ActionError::NotAllowed(crate::scaffolder::workspace::OUTSIDE_PARENT.to_string())
    })?;
    let normalized = normalized.to_string_lossy();
    let compiled = glob::Pattern::new(&normalized)
        .map_err(|e| ActionError::Input(format!("invalid glob pattern {pattern}: {e}")))?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut out: Vec<String> = Vec::new();
    for entry in ctx.workspace.entries("")? {
        // A directory already matched takes its contents with it.
        if out.iter().any(|m| entry.path.starts_with(&format!("{m}/"))) {
            continue;
        }
        if compiled.matches_with(&entry.path, options) {
            ctx.workspace.resolve_entry(&entry.path)?;
            out.push(entry.path);
        }
    }
    Ok(out)
}

/// `fs:rename`.
pub struct FsRename;

#[async_trait]
impl Action for FsRename {
    fn id(&self) -> &'static str {
        "fs:rename"
    }
    fn description(&self) -> &'static str {
        "Renames files and directories within the workspace"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "type": "array",
                    "title": "Files",
                    "description": "A list of file and directory names that will be renamed",
                    "items": {
                        "type": "object",
                        "required": ["from", "to"],
                        "properties": {
                            "from": {"type": "string", "title": "The source location of the file to be renamed"},
                            "to": {"type": "string", "title": "The destination of the new file"},
                            "overwrite": {"type": "boolean", "title": "Overwrite existing file or directory, default is false"}
                        }
                    }
                }
            }
        })
    }
    fn examples(&self) -> Vec<super::super::types::ActionExample> {
        vec![super::super::types::ActionExample {
            description: "Rename specified files".into(),
            example: "steps:\n  - action: fs:rename\n    id: renameFiles\n    name: Rename files\n    input:\n      files:\n        - from: file1.txt\n          to: file1Renamed.txt\n        - from: file2.txt\n          to: file2Renamed.txt\n          overwrite: true\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let files = ctx
            .input
            .get("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for file in &files {
            let from = required_str(file, "from")?;
            let to = required_str(file, "to")?;
            let overwrite = file
                .get("overwrite")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            ctx.workspace.rename(from, to, overwrite)?;
            ctx.log(format!("File {from} renamed to {to} successfully"));
        }
        Ok(())
    }
}

/// `fs:read`.
pub struct FsRead;

#[async_trait]
impl Action for FsRead {
    fn id(&self) -> &'static str {
        "fs:read"
    }
    fn description(&self) -> &'static str {
        "Reads a file from the workspace and outputs its content"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "title": "Path", "description": "The path of the file to read, relative to the workspace"},
                "encoding": {"type": "string", "title": "Encoding", "description": "utf-8 (default) or base64", "enum": ["utf-8", "utf8", "base64"]}
            }
        })
    }
    fn output_schema(&self) -> Option<Value> {
        Some(
            json!({"type": "object", "properties": {"content": {"type": "string", "title": "The file's content"}}}),
        )
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        use base64::Engine as _;
        let path = required_str(&ctx.input, "path")?.to_string();
        let bytes = ctx.workspace.read(&path)?;
        let content = match input_str(&ctx.input, "encoding") {
            Some("base64") => base64::engine::general_purpose::STANDARD.encode(&bytes),
            _ => String::from_utf8(bytes).map_err(|_| {
                ActionError::Input(format!("{path} is not UTF-8 text; use encoding: base64"))
            })?,
        };
        ctx.output("content", Value::String(content));
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::{assert_not_allowed, Harness};
    use super::*;
    use std::os::unix::fs::symlink;

    #[tokio::test]
    async fn delete_removes_inside_and_refuses_escapes() {
        let h = Harness::new();
        std::fs::create_dir_all(h.workspace.join("d/e")).unwrap();
        std::fs::write(h.workspace.join("d/e/f.txt"), "x").unwrap();
        std::fs::write(h.workspace.join("a.txt"), "x").unwrap();
        h.run("fs:delete", json!({"files": ["a.txt", "d", "never-there"]}))
            .await
            .unwrap();
        assert!(!h.workspace.join("a.txt").exists());
        assert!(!h.workspace.join("d").exists());

        symlink(&h.outside, h.workspace.join("out")).unwrap();
        symlink(h.outside.join("secret.txt"), h.workspace.join("secret")).unwrap();
        symlink(h.workspace.join("out"), h.workspace.join("chain")).unwrap();
        symlink(h.workspace.join("gone"), h.workspace.join("dangling")).unwrap();
        std::fs::write(h.workspace.join("keep.txt"), "k").unwrap();
        for path in [
            "*",
            "../outside/secret.txt",
            "/etc/passwd",
            "a/../../outside/secret.txt",
            "out/secret.txt",
            "chain/secret.txt",
            "secret",
            "out",
            "dangling",
        ] {
            // A refused path anywhere in the list deletes nothing.
            assert_not_allowed(
                h.run("fs:delete", json!({"files": ["keep.txt", path]}))
                    .await,
            );
            assert!(h.workspace.join("keep.txt").exists(), "{path}");
        }
        h.assert_outside_intact();
    }

    #[tokio::test]
    async fn rename_moves_and_refuses() {
        let h = Harness::new();
        std::fs::write(h.workspace.join("a.txt"), "a").unwrap();
        std::fs::write(h.workspace.join("b.txt"), "b").unwrap();
        let e = h
            .run(
                "fs:rename",
                json!({"files": [{"from": "a.txt", "to": "b.txt"}]}),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, ActionError::Input(ref m) if m.contains("b.txt")),
            "{e:?}"
        );
        h.run(
            "fs:rename",
            json!({"files": [{"from": "a.txt", "to": "b.txt", "overwrite": true}]}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("b.txt")).unwrap(),
            "a"
        );
        symlink(&h.outside, h.workspace.join("out")).unwrap();
        for (from, to) in [
            ("b.txt", "../moved"),
            ("b.txt", "/tmp/moved"),
            ("b.txt", "out/moved"),
            ("../outside/secret.txt", "stolen"),
            ("out/secret.txt", "stolen"),
        ] {
            assert_not_allowed(
                h.run("fs:rename", json!({"files": [{"from": from, "to": to}]}))
                    .await,
            );
        }
        h.assert_outside_intact();
        assert!(h.workspace.join("b.txt").exists());
    }

    #[tokio::test]
    async fn read_outputs_content_and_refuses_links_out() {
        let h = Harness::new();
        std::fs::write(h.workspace.join("a.txt"), "hello").unwrap();
        let ctx = h.run("fs:read", json!({"path": "a.txt"})).await.unwrap();
        assert_eq!(ctx.outputs["content"], "hello");
        let ctx = h
            .run("fs:read", json!({"path": "a.txt", "encoding": "base64"}))
            .await
            .unwrap();
        assert_eq!(ctx.outputs["content"], "aGVsbG8=");
        symlink(h.outside.join("secret.txt"), h.workspace.join("s")).unwrap();
        assert_not_allowed(h.run("fs:read", json!({"path": "s"})).await);
        assert_not_allowed(
            h.run("fs:read", json!({"path": "../outside/secret.txt"}))
                .await,
        );
    }
}
