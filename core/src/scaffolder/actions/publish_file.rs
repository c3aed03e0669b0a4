//! `publish:file`: copies the workspace (or its `sourcePath`) into a new directory on this host, which must
//! lie below one of `scaffolder.publish.file.allowedDirectories` once normalised and with symlinked parents
//! resolved, and must not exist already with contents. Outputs `file://` URLs that `catalog:register` turns
//! into a `file` location.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{input_str, required_str, Action, ActionContext, ActionError};
use crate::config::catalog::resolve_against;
use crate::scaffolder::workspace::{copy_tree, Workspace};

/// `publish:file`.
pub struct PublishFile;

#[async_trait]
impl Action for PublishFile {
    fn id(&self) -> &'static str {
        "publish:file"
    }
    fn description(&self) -> &'static str {
        "Writes the contents of the workspace to a directory on the portal's host, below one of scaffolder.publish.file.allowedDirectories."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "title": "Path to the directory to publish to", "description": "An absolute path, or one relative to the first of scaffolder.publish.file.allowedDirectories. It must not exist yet (an empty directory is fine)."},
                "sourcePath": {"type": "string", "title": "Source Path", "description": "Path within the workspace to publish. Defaults to the workspace root."}
            }
        })
    }
    fn output_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "remoteUrl": {"type": "string", "description": "file:// URL of the published directory"},
                "repoContentsUrl": {"type": "string", "description": "file:// URL of the published directory, for catalog:register"}
            }
        }))
    }
    fn supports_dry_run(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let path = required_str(&ctx.input, "path")?.to_string();
        let target = allowed_target(&ctx.settings.publish_file_dirs, &path)?;
        if let Ok(meta) = std::fs::symlink_metadata(&target) {
            let empty_dir = meta.is_dir()
                && std::fs::read_dir(&target)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(false);
            if !empty_dir {
                return Err(ActionError::Input(format!(
                    "There is already a file at {path}"
                )));
            }
        }
        let source = match input_str(&ctx.input, "sourcePath") {
            Some(rel) => Workspace::new(ctx.workspace.resolve_for_read(rel)?),
            None => ctx.workspace.clone(),
        };
        std::fs::create_dir_all(&target)
            .map_err(|e| ActionError::Failed(format!("could not create {path}: {e}")))?;
        let written = copy_tree(&source, &Workspace::new(target.clone()), "")?;
        ctx.log(format!(
            "Published {} files to {}",
            written.len(),
            target.display()
        ));
        let url = url::Url::from_directory_path(&target)
            .map_err(|_| ActionError::Failed(format!("{} has no file URL", target.display())))?
            .to_string();
        ctx.output("remoteUrl", Value::String(url.clone()));
        ctx.output("repoContentsUrl", Value::String(url));
        Ok(())
    }
}

/// Where `path` lands, if that is strictly below an allowed directory (compared after resolving the symlinks
/// of every existing ancestor, so a link inside an allowed directory cannot lead out of it).
fn allowed_target(allowed: &[PathBuf], path: &str) -> Result<PathBuf, ActionError> {
    let not_allowed = || {
        ActionError::NotAllowed(format!(
            "publish:file may not write to {path}: it is not inside a directory listed in scaffolder.publish.file.allowedDirectories"
        ))
    };
    let first = allowed.first().ok_or_else(not_allowed)?;
    let joined = resolve_against(first, path);
    let resolved = resolve_existing_prefix(&joined).ok_or_else(not_allowed)?;
    let inside = allowed.iter().any(|dir| {
        let dir = resolve_existing_prefix(dir).unwrap_or_else(|| dir.clone());
        resolved.starts_with(&dir) && resolved != dir
    });
    if inside {
        Ok(resolved)
    } else {
        Err(not_allowed())
    }
}

/// Canonicalizes the longest existing ancestor of `path` and appends the rest; `None` when a component is a
/// dangling symlink (its eventual target is unknown).
fn resolve_existing_prefix(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(canon) => {
                let mut out = canon;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Some(out);
            }
            Err(_) => {
                if std::fs::symlink_metadata(&existing).is_ok() {
                    return None;
                }
                rest.push(existing.file_name()?.to_os_string());
                existing = existing.parent()?.to_path_buf();
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::{assert_not_allowed, Harness};
    use super::*;
    use std::os::unix::fs::symlink;

    fn harness() -> (Harness, PathBuf) {
        let mut h = Harness::new();
        let dir = h.tmp.path().join("published");
        std::fs::create_dir_all(&dir).unwrap();
        h.settings.publish_file_dirs = vec![dir.clone()];
        std::fs::create_dir_all(h.workspace.join("src")).unwrap();
        std::fs::write(h.workspace.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(h.workspace.join("catalog-info.yaml"), "kind: Component").unwrap();
        (h, dir)
    }

    #[tokio::test]
    async fn publishes_inside_an_allowed_directory() {
        let (h, dir) = harness();
        assert!(!PublishFile.supports_dry_run());
        let ctx = h.run("publish:file", json!({"path": "svc"})).await.unwrap();
        let canon = dir.canonicalize().unwrap().join("svc");
        assert_eq!(
            std::fs::read_to_string(canon.join("src/main.rs")).unwrap(),
            "fn main() {}"
        );
        let url = url::Url::from_directory_path(&canon).unwrap().to_string();
        assert_eq!(ctx.outputs["remoteUrl"], url);
        assert_eq!(ctx.outputs["repoContentsUrl"], url);
        // Not again over a directory with contents.
        let e = h
            .run("publish:file", json!({"path": canon.display().to_string()}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
        // sourcePath publishes a subdirectory.
        h.run(
            "publish:file",
            json!({"path": "only-src", "sourcePath": "src"}),
        )
        .await
        .unwrap();
        assert!(canon.parent().unwrap().join("only-src/main.rs").exists());
    }

    #[tokio::test]
    async fn refuses_targets_outside_allowed_directories() {
        let (h, dir) = harness();
        symlink(&h.outside, dir.join("link-out")).unwrap();
        for path in [
            "../outside/new".to_string(),
            "/etc/stagedoor-test".to_string(),
            "a/../../x".to_string(),
            "link-out/new".to_string(),
            ".".to_string(),
            h.outside.join("new").display().to_string(),
        ] {
            let e = h
                .run("publish:file", json!({"path": path}))
                .await
                .unwrap_err();
            assert!(
                matches!(e, ActionError::NotAllowed(ref m) if m.contains("allowedDirectories")),
                "{path}: {e:?}"
            );
        }
        h.assert_outside_intact();
        assert_not_allowed(
            h.run(
                "publish:file",
                json!({"path": "x", "sourcePath": "../outside"}),
            )
            .await,
        );
        let none = Harness::new();
        let e = none
            .run("publish:file", json!({"path": "/tmp/x"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::NotAllowed(_)), "{e:?}");
    }
}

/// The sample Go template from the fixtures, run the way its steps chain: fetch:template, publish:file
/// (instead of publish:github), then catalog:register of the published `file:` URL.
#[cfg(all(test, unix))]
mod flow_tests {
    use super::super::test_support::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn fixture_skeleton_is_rendered_published_and_registered() {
        let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../shared/fixtures/templates/sample-templates/local-template/gin-golan-template",
        );
        if !template.is_dir() {
            eprintln!("skipped: fixtures not found at {}", template.display());
            return;
        }
        let mut h = Harness::new();
        let published = h.tmp.path().join("published");
        std::fs::create_dir_all(&published).unwrap();
        h.settings.publish_file_dirs = vec![published.clone()];
        h.template = template;
        h.run(
            "fetch:template",
            json!({"url": "./skeleton", "copyWithoutRender": [".github/workflows/*"], "values": {
                "component_id": "payments", "module": "example.com/payments", "go_version": "1.22",
                "description": "Takes money", "owner": "group:default/team-a", "port": 8080,
                // The skeleton reads values.destination, which the sample's steps never pass; Nunjucks would
                // print `undefined/undefined` there, this engine refuses `undefined + "/"`.
                "destination": {"owner": "team-a", "repo": "payments"}}}),
        )
        .await
        .unwrap();
        let catalog = std::fs::read_to_string(h.workspace.join("catalog-info.yaml")).unwrap();
        let entity: serde_yaml::Value = serde_yaml::from_str(&catalog).unwrap();
        assert_eq!(entity["metadata"]["name"], "payments", "{catalog}");
        assert_eq!(
            entity["metadata"]["description"], "Takes money",
            "{catalog}"
        );
        assert_eq!(entity["spec"]["owner"], "group:default/team-a", "{catalog}");
        assert_eq!(
            entity["metadata"]["annotations"]["github.com/project-slug"],
            "team-a/payments"
        );
        let go_mod = std::fs::read_to_string(h.workspace.join("go.mod")).unwrap();
        assert!(
            go_mod.starts_with("module example.com/payments\n\ngo 1.22\n"),
            "{go_mod}"
        );

        let ran = h
            .run("publish:file", json!({"path": "payments"}))
            .await
            .unwrap();
        let contents = ran.outputs["repoContentsUrl"].as_str().unwrap().to_string();
        let ran = h
            .run(
                "catalog:register",
                json!({"repoContentsUrl": contents, "catalogInfoPath": "/catalog-info.yaml"}),
            )
            .await
            .unwrap();
        assert_eq!(ran.outputs["entityRef"], "component:default/payments");
        use crate::portal::Portal;
        let found = h
            .portal
            .entity_by_ref(&crate::EntityRef::parse("component:payments").unwrap())
            .await
            .unwrap();
        assert!(found.is_some());
    }
}
