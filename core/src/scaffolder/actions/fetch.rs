//! `fetch:plain`, `fetch:plain:file`, `fetch:template` and `fetch:template:file`: copy (and render) a
//! skeleton into the workspace.
//!
//! A relative `url` resolves against the template's location: on disk it must stay inside the template's
//! directory (checked with the same confinement as the workspace, so `../../etc` or a symlink out of the
//! template is refused); at a URL single files are read through the [`crate::ingest::LocationReader`] under
//! `backend.reading.allow`. Reading a whole directory tree from a URL is not supported and is an error naming
//! the URL. An absolute `http(s)` URL is read the same way. A fetched directory is its own confinement root:
//! a link in it is copied (as a relative link) only when it resolves inside that directory; a link that leaves
//! it, directly or through a chain, or dangles fails the step before anything is written through it.
//!
//! `fetch:template` follows Backstage's `templateActionHandler`: every entry (dotfiles too) has its path
//! rendered with `{values}`; a path rendering to `""`, starting with `/` or containing `//` is skipped (the
//! conditional-file trick); binary files (not UTF-8, or holding a NUL) and links are copied raw; modes are kept;
//! existing files are left alone unless `replace`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Value};
use url::Url;

use super::{
    input_bool, input_str, required_str, Action, ActionContext, ActionError, TemplateBase,
};
use crate::scaffolder::templating::{Templater, TemplaterOptions};
use crate::scaffolder::types::ActionExample;
use crate::scaffolder::workspace::{
    check_links, normalize_relative, relative_link, EntryKind, Workspace,
};

/// Where a `url` input points.
enum Source {
    /// A file or directory inside the template's directory (canonical path).
    Dir(PathBuf),
    Url(Url),
}

fn resolve_source(ctx: &ActionContext, url: &str) -> Result<Source, ActionError> {
    if let Ok(parsed) = Url::parse(url) {
        return match parsed.scheme() {
            "http" | "https" => Ok(Source::Url(parsed)),
            other => Err(ActionError::Input(format!(
                "url {url}: the {other}: scheme is not supported; use a path relative to the template or an http(s) URL"
            ))),
        };
    }
    match &ctx.template_base {
        TemplateBase::Dir(dir) => {
            let template = Workspace::new(dir.clone());
            template
                .resolve_for_read(url)
                .map(Source::Dir)
                .map_err(|e| match e {
                    ActionError::NotFound(_) => {
                        ActionError::NotFound(format!("url {url} does not exist in the template"))
                    }
                    other => other,
                })
        }
        TemplateBase::Url(base) => base
            .join(url)
            .map(Source::Url)
            .map_err(|e| ActionError::Input(format!("url {url} is not a valid URL: {e}"))),
    }
}

fn no_tree_from_url(url: &Url) -> ActionError {
    ActionError::Input(format!(
        "cannot fetch the directory tree at {url}: only single files can be read from a URL (use fetch:plain:file or fetch:template:file)"
    ))
}

/// The bytes (and mode) of a single-file source.
async fn read_single(
    ctx: &ActionContext,
    url: &str,
) -> Result<(Vec<u8>, Option<u32>), ActionError> {
    match resolve_source(ctx, url)? {
        Source::Dir(path) => {
            if !path.is_file() {
                return Err(ActionError::Input(format!("url {url} is not a file")));
            }
            let bytes = std::fs::read(&path)
                .map_err(|e| ActionError::Failed(format!("could not read {url}: {e}")))?;
            let mode = file_mode(&path);
            Ok((bytes, mode))
        }
        Source::Url(u) => {
            ctx.log(format!("Fetching {u}"));
            Ok((ctx.reader.read_url(&u).await?, None))
        }
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// `targetPath` joined with a relative path, as a workspace-relative string (escapes are refused later by the
/// workspace; this only joins).
fn join(target: &str, rel: &str) -> String {
    Path::new(target).join(rel).to_string_lossy().into_owned()
}

fn target_path(input: &Value) -> &str {
    input_str(input, "targetPath").unwrap_or("./")
}

fn token_schema() -> Value {
    json!({"type": "string", "title": "Token", "description": "An optional token for the URL. Accepted for compatibility; reads use the portal's reading settings."})
}

/// `fetch:plain`.
pub struct FetchPlain;

#[async_trait]
impl Action for FetchPlain {
    fn id(&self) -> &'static str {
        "fetch:plain"
    }
    fn description(&self) -> &'static str {
        "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
                "targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the contents to.", "default": "./"},
                "token": token_schema(),
            }
        })
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Downloads content and places it in the workspace.".into(),
            example: "steps:\n  - action: fetch:plain\n    id: fetch-plain\n    name: Fetch plain\n    input:\n      url: ./skeleton\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let url = required_str(&ctx.input, "url")?.to_string();
        let target = target_path(&ctx.input).to_string();
        ctx.log(format!("Fetching plain content from {url}"));
        match resolve_source(ctx, &url)? {
            Source::Dir(path) if path.is_dir() => {
                let written = crate::scaffolder::workspace::copy_tree(
                    &Workspace::new(path),
                    &ctx.workspace,
                    &target,
                )?;
                ctx.log(format!("Copied {} files to {target}", written.len()));
            }
            Source::Dir(path) => {
                // A single file: into targetPath, named as in the template when targetPath is the workspace.
                let rel = if normalize_relative(&target).is_some_and(|p| p.as_os_str().is_empty()) {
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    target.clone()
                };
                let bytes = std::fs::read(&path)
                    .map_err(|e| ActionError::Failed(format!("could not read {url}: {e}")))?;
                ctx.workspace.write(&rel, &bytes, file_mode(&path))?;
            }
            Source::Url(u) => return Err(no_tree_from_url(&u)),
        }
        Ok(())
    }
}

/// `fetch:plain:file`.
pub struct FetchPlainFile;

#[async_trait]
impl Action for FetchPlainFile {
    fn id(&self) -> &'static str {
        "fetch:plain:file"
    }
    fn description(&self) -> &'static str {
        "Downloads single file and places it in the workspace."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url", "targetPath"],
            "properties": {
                "url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the single file to fetch."},
                "targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the file as."},
                "token": token_schema(),
            }
        })
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let url = required_str(&ctx.input, "url")?.to_string();
        let target = required_str(&ctx.input, "targetPath")?.to_string();
        // Check the target before fetching anything.
        ctx.workspace.resolve_for_write(&target)?;
        let (bytes, mode) = read_single(ctx, &url).await?;
        ctx.workspace.write(&target, &bytes, mode)?;
        ctx.log(format!("Wrote {target}"));
        Ok(())
    }
}

/// Options shared by the two templating fetchers, and the engine they configure.
struct RenderOptions {
    values: Value,
    cookiecutter: bool,
    replace: bool,
    /// Built per call: `cookiecutterCompat` (`{{ }}` delimiters, `jsonify`), `trimBlocks` and
    /// `lstripBlocks` change the engine, not just the context.
    templater: Templater,
}

impl RenderOptions {
    fn from_input(ctx: &ActionContext) -> RenderOptions {
        let input = &ctx.input;
        let cookiecutter = input_bool(input, "cookiecutterCompat");
        RenderOptions {
            values: input.get("values").cloned().unwrap_or_else(|| json!({})),
            cookiecutter,
            replace: input_bool(input, "replace"),
            templater: Templater::with_options(TemplaterOptions {
                cookiecutter_compat: cookiecutter,
                trim_blocks: input_bool(input, "trimBlocks"),
                lstrip_blocks: input_bool(input, "lstripBlocks"),
            }),
        }
    }

    /// Skeletons see only `values` (or `cookiecutter` in compat mode), never parameters or secrets.
    fn context(&self) -> Value {
        if self.cookiecutter {
            json!({"cookiecutter": self.values})
        } else {
            json!({"values": self.values})
        }
    }

    fn render(&self, what: &str, text: &str, context: &Value) -> Result<String, ActionError> {
        self.templater
            .render_str(text, context)
            .map_err(|e| ActionError::Input(format!("could not render {what}: {e}")))
    }
}

/// Backstage's `containsSkippedContent`.
fn skipped(path: &str) -> bool {
    path.is_empty() || path.starts_with('/') || path.contains("//")
}

fn common_render_properties() -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "values": {"type": "object", "title": "Template Values", "description": "Values to pass on to the templating engine"},
        "cookiecutterCompat": {"type": "boolean", "title": "Cookiecutter compatibility mode", "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter: {{ cookiecutter.x }} variables and the jsonify filter"},
        "replace": {"type": "boolean", "title": "Replace files", "description": "If set, replace files in targetPath instead of skipping existing ones.", "default": false},
        "trimBlocks": {"type": "boolean", "title": "Trim Blocks", "description": "If set, the first newline after a block is removed (block, not variable tag!)."},
        "lstripBlocks": {"type": "boolean", "title": "Lstrip Blocks", "description": "If set, leading spaces and tabs are stripped from the start of a line to a block."},
        "token": token_schema(),
    }) else {
        unreachable!("a json! object literal is an object")
    };
    map
}

/// `fetch:template`.
pub struct FetchTemplate;

#[async_trait]
impl Action for FetchTemplate {
    fn id(&self) -> &'static str {
        "fetch:template"
    }
    fn description(&self) -> &'static str {
        "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }
    fn input_schema(&self) -> Value {
        let mut properties = common_render_properties();
        properties.insert("url".into(), json!({"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the directory tree to fetch"}));
        properties.insert("targetPath".into(), json!({"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the contents to. Defaults to the working directory root.", "default": "./"}));
        properties.insert("copyWithoutRender".into(), json!({"type": "array", "items": {"type": "string"}, "title": "[Deprecated] Copy Without Render", "description": "An array of glob patterns. Any files or directories which match are copied without being processed as templates."}));
        properties.insert("copyWithoutTemplating".into(), json!({"type": "array", "items": {"type": "string"}, "title": "Copy Without Templating", "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering."}));
        properties.insert("templateFileExtension".into(), json!({"type": ["string", "boolean"], "title": "Template File Extension", "description": "If set, only files with the given extension will be templated. If set to `true`, the default extension `.njk` is used."}));
        json!({"type": "object", "required": ["url"], "properties": properties})
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Downloads a skeleton directory that lives alongside the template file and fills it out with values.".into(),
            example: "steps:\n  - action: fetch:template\n    id: fetch-template\n    name: Fetch template\n    input:\n      url: ./skeleton\n      values:\n        name: test-project\n        count: 1234\n        itemList:\n          - first\n          - second\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input = ctx.input.clone();
        let url = required_str(&input, "url")?;
        let target = target_path(&input);
        let without_templating = string_list(&input, "copyWithoutTemplating")?;
        let without_render = string_list(&input, "copyWithoutRender")?;
        let extension = match input.get("templateFileExtension") {
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(".njk".to_string()),
            Some(Value::String(s)) if s.starts_with('.') => Some(s.clone()),
            Some(Value::String(s)) => Some(format!(".{s}")),
            Some(_) => {
                return Err(ActionError::Input(
                    "templateFileExtension must be a string or a boolean".into(),
                ))
            }
        };
        if without_render.is_some() && without_templating.is_some() {
            return Err(ActionError::Input(
                "Fetch action input copyWithoutRender and copyWithoutTemplating can not be used at the same time".into(),
            ));
        }
        if extension.is_some()
            && (without_render.is_some()
                || without_templating.is_some()
                || input_bool(&input, "cookiecutterCompat"))
        {
            return Err(ActionError::Input(
                "Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat".into(),
            ));
        }
        if input_bool(&input, "copyWithoutRender") {
            return Err(ActionError::Input(
                "copyWithoutRender must be an array".into(),
            ));
        }
        // The target is checked before anything is read, as Backstage resolves the output directory first.
        ctx.workspace.resolve_for_write(target)?;
        let render_paths_always = without_templating.is_some();
        let patterns = compile_globs(without_templating.or(without_render).unwrap_or_default())?;
        let options = RenderOptions::from_input(ctx);
        let context = options.context();

        let source = match resolve_source(ctx, url)? {
            Source::Dir(path) if path.is_dir() => Workspace::new(path),
            Source::Dir(_) => {
                return Err(ActionError::Input(format!(
                "url {url} is a file; fetch:template needs a directory (use fetch:template:file)"
            )))
            }
            Source::Url(u) => return Err(no_tree_from_url(&u)),
        };
        let entries = source.entries("")?;
        check_links(&source, &entries)?;
        ctx.log(format!(
            "Processing {} template files/directories with input values",
            entries.len()
        ));
        for entry in entries {
            let location = if entry.kind == EntryKind::Dir {
                format!("{}/", entry.path)
            } else {
                entry.path.clone()
            };
            let (render_contents, output) = if let Some(ext) = &extension {
                let templated = location.ends_with(ext.as_str()) && entry.kind != EntryKind::Dir;
                let stripped = if templated {
                    &location[..location.len() - ext.len()]
                } else {
                    location.as_str()
                };
                (templated, options.render(&location, stripped, &context)?)
            } else {
                let raw = matches_any(&patterns, &entry.path);
                let output = if render_paths_always || !raw {
                    options.render(&location, &location, &context)?
                } else {
                    location.clone()
                };
                (!raw, output)
            };
            if skipped(&output) {
                continue;
            }
            let out_rel = join(target, &output);
            if !options.replace && ctx.workspace.exists(&out_rel)? && entry.kind != EntryKind::Dir {
                continue;
            }
            if !render_contents && extension.is_none() {
                ctx.log(format!(
                    "Copying file/directory {location} without processing."
                ));
            }
            match entry.kind {
                EntryKind::Dir => {
                    ctx.workspace.create_dir_all(&out_rel)?;
                }
                EntryKind::Symlink => {
                    let linked = source.link_target(&entry.path)?;
                    let parent = Path::new(output.trim_end_matches('/'))
                        .parent()
                        .unwrap_or(Path::new(""))
                        .to_path_buf();
                    ctx.workspace
                        .symlink(&out_rel, &relative_link(&parent, &linked))?;
                }
                EntryKind::File => {
                    let bytes = source.read(&entry.path)?;
                    let mode = source.mode(&entry.path)?;
                    if render_contents && !is_binary(&bytes) {
                        let text = String::from_utf8_lossy(&bytes);
                        let rendered = options.render(&location, &text, &context)?;
                        ctx.workspace.write(&out_rel, rendered.as_bytes(), mode)?;
                    } else {
                        ctx.workspace.write(&out_rel, &bytes, mode)?;
                    }
                }
            }
        }
        ctx.log(format!("Template result written to {target}"));
        Ok(())
    }
}

fn string_list(input: &Value, key: &str) -> Result<Option<Vec<String>>, ActionError> {
    match input.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ActionError::Input(format!("{key} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ActionError::Input(format!("{key} must be an array"))),
    }
}

fn compile_globs(patterns: Vec<String>) -> Result<Vec<glob::Pattern>, ActionError> {
    patterns
        .iter()
        .map(|p| {
            let p = p.trim_start_matches("./");
            glob::Pattern::new(p.trim_end_matches('/'))
                .map_err(|e| ActionError::Input(format!("invalid glob pattern {p}: {e}")))
        })
        .collect()
}

/// Whether `path` or one of its parent directories matches a pattern (a matched directory's contents are
/// copied as they are, as Backstage's docs describe).
fn matches_any(patterns: &[glob::Pattern], path: &str) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut current = Some(Path::new(path));
    while let Some(p) = current {
        if p.as_os_str().is_empty() {
            break;
        }
        let s = p.to_string_lossy();
        if patterns.iter().any(|pat| pat.matches_with(&s, options)) {
            return true;
        }
        current = p.parent();
    }
    false
}

/// `fetch:template:file`.
pub struct FetchTemplateFile;

#[async_trait]
impl Action for FetchTemplateFile {
    fn id(&self) -> &'static str {
        "fetch:template:file"
    }
    fn description(&self) -> &'static str {
        "Downloads single file and places it in the workspace."
    }
    fn input_schema(&self) -> Value {
        let mut properties = common_render_properties();
        properties.insert("url".into(), json!({"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the single file to fetch."}));
        properties.insert("targetPath".into(), json!({"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the file as."}));
        json!({"type": "object", "required": ["url", "targetPath"], "properties": properties})
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let url = required_str(&ctx.input, "url")?.to_string();
        let target = required_str(&ctx.input, "targetPath")?.to_string();
        let options = RenderOptions::from_input(ctx);
        ctx.workspace.resolve_for_write(&target)?;
        if !options.replace && ctx.workspace.exists(&target)? {
            ctx.log(format!(
                "File {target} already exists in workspace, not replacing."
            ));
            return Ok(());
        }
        let (bytes, mode) = read_single(ctx, &url).await?;
        if is_binary(&bytes) {
            ctx.workspace.write(&target, &bytes, mode)?;
        } else {
            let text = String::from_utf8_lossy(&bytes);
            let rendered = options.render(&url, &text, &options.context())?;
            ctx.workspace.write(&target, rendered.as_bytes(), mode)?;
        }
        ctx.log(format!("Wrote {target}"));
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::{assert_not_allowed, local_reader, serve, Harness};
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn skeleton(h: &Harness) {
        let t = h.template.join("skeleton");
        write(&t, "README.md", "# ${{ values.name }}\n");
        write(&t, ".github/workflows/ci.yml", "run: ${{ github.sha }}\n");
        write(
            &t,
            "${{ values.name }}/main.rs",
            "fn main() {} // ${{ values.name }}\n",
        );
        write(&t, "{% if values.docs %}docs.md{% endif %}", "docs\n");
        write(
            &t,
            "{% if values.docs %}docsdir{% endif %}/index.md",
            "docs\n",
        );
        std::fs::write(t.join("logo.bin"), [0u8, 159, 146, 150, b'$', b'{', b'{']).unwrap();
        write(&t, "run.sh", "#!/bin/sh\necho ${{ values.name }}\n");
        std::fs::set_permissions(t.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        symlink("README.md", t.join("README.link")).unwrap();
        write(&t, "docs/index.md", "${{ values.name }} docs\n");
        symlink("docs", t.join("docs-alias")).unwrap();
    }

    #[tokio::test]
    async fn template_renders_paths_contents_and_keeps_raw_files() {
        let h = Harness::new();
        skeleton(&h);
        h.run(
            "fetch:template",
            json!({"url": "./skeleton", "targetPath": "out", "values": {"name": "svc"},
                   "copyWithoutTemplating": [".github/workflows/*"]}),
        )
        .await
        .unwrap();
        let out = h.workspace.join("out");
        assert_eq!(
            std::fs::read_to_string(out.join("README.md")).unwrap(),
            "# svc\n"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("svc/main.rs")).unwrap(),
            "fn main() {} // svc\n"
        );
        assert_eq!(
            std::fs::read_to_string(out.join(".github/workflows/ci.yml")).unwrap(),
            "run: ${{ github.sha }}\n"
        );
        assert!(!out.join("docs.md").exists());
        assert!(!out.join("docsdir").exists());
        assert_eq!(
            std::fs::read(out.join("logo.bin")).unwrap(),
            vec![0u8, 159, 146, 150, b'$', b'{', b'{']
        );
        let mode = std::fs::metadata(out.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(out.join("README.link")).unwrap(),
            PathBuf::from("README.md")
        );
        assert_eq!(
            std::fs::read_to_string(out.join("README.link")).unwrap(),
            "# svc\n"
        );
    }

    #[tokio::test]
    async fn template_skips_existing_unless_replace_and_extension_mode() {
        let h = Harness::new();
        let t = h.template.join("sk");
        write(&t, "a.txt.njk", "${{ values.x }}");
        write(&t, "b.txt", "${{ values.x }}");
        std::fs::write(h.workspace.join("a.txt"), "old").unwrap();
        h.run(
            "fetch:template",
            json!({"url": "sk", "values": {"x": "new"}, "templateFileExtension": true}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("a.txt")).unwrap(),
            "old"
        );
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("b.txt")).unwrap(),
            "${{ values.x }}"
        );
        h.run(
            "fetch:template",
            json!({"url": "sk", "values": {"x": "new"}, "templateFileExtension": ".njk", "replace": true}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("a.txt")).unwrap(),
            "new"
        );
        let e = h
            .run(
                "fetch:template",
                json!({"url": "sk", "templateFileExtension": true, "copyWithoutTemplating": ["x"]}),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
        let e = h
            .run(
                "fetch:template",
                json!({"url": "sk", "copyWithoutRender": ["x"], "copyWithoutTemplating": ["x"]}),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
    }

    #[tokio::test]
    async fn url_templates_fetch_single_files_under_the_read_policy() {
        let h = Harness::new();
        skeleton(&h);
        let port = serve(h.template.clone()).await;
        let base = Url::parse(&format!("http://127.0.0.1:{port}/template.yaml")).unwrap();
        let run = |input: Value| {
            let mut ctx = h.ctx(input);
            ctx.template_base = TemplateBase::Url(base.clone());
            ctx.reader = local_reader(port);
            ctx
        };
        let mut ctx = run(
            json!({"url": "./skeleton/README.md", "targetPath": "R.md", "values": {"name": "web"}}),
        );
        h.run_ctx("fetch:template:file", &mut ctx).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("R.md")).unwrap(),
            "# web\n"
        );
        let absolute = format!("http://127.0.0.1:{port}/skeleton/run.sh");
        let mut ctx = run(json!({"url": absolute, "targetPath": "run.sh"}));
        h.run_ctx("fetch:plain:file", &mut ctx).await.unwrap();
        assert!(std::fs::read_to_string(h.workspace.join("run.sh"))
            .unwrap()
            .starts_with("#!/bin/sh"));
        // A directory tree cannot be read from a URL: the error names it.
        for id in ["fetch:plain", "fetch:template"] {
            let mut ctx = run(json!({"url": "./skeleton"}));
            let e = h.run_ctx(id, &mut ctx).await.unwrap_err();
            assert!(
                matches!(e, ActionError::Input(ref m) if m.contains(&format!("127.0.0.1:{port}/skeleton"))),
                "{e:?}"
            );
        }
        // Hosts outside backend.reading.allow are refused by the reader.
        let mut ctx =
            run(json!({"url": "http://169.254.169.254/latest/meta-data", "targetPath": "m"}));
        let e = h.run_ctx("fetch:plain:file", &mut ctx).await.unwrap_err();
        assert_eq!(e.name(), "NotAllowedError", "{e:?}");
        let mut ctx = run(json!({"url": "missing.txt", "targetPath": "m"}));
        let e = h.run_ctx("fetch:plain:file", &mut ctx).await.unwrap_err();
        assert_eq!(e.name(), "NotFoundError", "{e:?}");
        assert!(!h.workspace.join("m").exists());
    }

    #[tokio::test]
    async fn template_engine_options_apply() {
        let h = Harness::new();
        let t = h.template.join("cc");
        write(
            &t,
            "{{ cookiecutter.name }}.txt",
            "{{ cookiecutter.name }} ${{ kept }}\n",
        );
        h.run(
            "fetch:template",
            json!({"url": "cc", "values": {"name": "svc"}, "cookiecutterCompat": true}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("svc.txt")).unwrap(),
            "svc $\n"
        );
        let t = h.template.join("tb");
        write(
            &t,
            "f.txt",
            "  {% if values.on %}\nyes\n  {% endif %}\nend\n",
        );
        h.run(
            "fetch:template",
            json!({"url": "tb", "targetPath": "plain", "values": {"on": true}}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("plain/f.txt")).unwrap(),
            "  \nyes\n  \nend\n"
        );
        h.run(
            "fetch:template",
            json!({"url": "tb", "targetPath": "trimmed", "values": {"on": true}, "trimBlocks": true, "lstripBlocks": true}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("trimmed/f.txt")).unwrap(),
            "yes\nend\n"
        );
    }

    #[tokio::test]
    async fn template_paths_that_escape_are_refused() {
        let h = Harness::new();
        let t = h.template.join("sk");
        write(&t, "${{ values.p }}", "pwned");
        for p in ["../../outside/secret.txt", "../x", "a/../../x"] {
            let e = h
                .run("fetch:template", json!({"url": "sk", "values": {"p": p}}))
                .await;
            assert_not_allowed(e);
        }
        // A rendered absolute path is skipped, as Backstage skips paths starting with `/`.
        h.run(
            "fetch:template",
            json!({"url": "sk", "values": {"p": "/etc/passwd"}}),
        )
        .await
        .unwrap();
        assert_not_allowed(
            h.run(
                "fetch:template",
                json!({"url": "sk", "targetPath": "../outside"}),
            )
            .await,
        );
        h.assert_outside_intact();
    }

    #[tokio::test]
    async fn template_dir_links_that_leave_are_refused() {
        for link in ["out", "chain", "dangling", "dirlink"] {
            let h = Harness::new();
            let t = h.template.join("sk");
            write(&t, "ok.txt", "ok");
            match link {
                "out" => symlink(h.outside.join("secret.txt"), t.join("leak")).unwrap(),
                "chain" => {
                    symlink(h.template.join("hop"), t.join("leak")).unwrap();
                    symlink(h.outside.join("secret.txt"), h.template.join("hop")).unwrap();
                }
                "dangling" => symlink(t.join("missing"), t.join("leak")).unwrap(),
                _ => symlink(&h.outside, t.join("leak")).unwrap(),
            }
            for id in ["fetch:template", "fetch:plain"] {
                assert_not_allowed(h.run(id, json!({"url": "sk", "values": {}})).await);
            }
            // The whole tree is refused before anything is written.
            assert!(h.workspace.read_dir().unwrap().next().is_none(), "{link}");
            h.assert_outside_intact();
        }
    }

    #[tokio::test]
    async fn url_inputs_that_leave_the_template_are_refused() {
        let h = Harness::new();
        symlink(&h.outside, h.template.join("outlink")).unwrap();
        for url in [
            "../outside",
            "../../etc",
            "/etc",
            "outlink",
            "outlink/secret.txt",
        ] {
            assert_not_allowed(h.run("fetch:plain", json!({"url": url})).await);
            assert_not_allowed(
                h.run("fetch:plain:file", json!({"url": url, "targetPath": "x"}))
                    .await,
            );
            assert_not_allowed(h.run("fetch:template", json!({"url": url})).await);
            assert_not_allowed(
                h.run(
                    "fetch:template:file",
                    json!({"url": url, "targetPath": "x"}),
                )
                .await,
            );
        }
        assert!(h.workspace.read_dir().unwrap().next().is_none());
        let e = h
            .run("fetch:plain", json!({"url": "file:///etc"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
    }

    #[tokio::test]
    async fn plain_copies_and_file_variants_write_targets() {
        let h = Harness::new();
        skeleton(&h);
        h.run(
            "fetch:plain",
            json!({"url": "./skeleton", "targetPath": "raw"}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("raw/README.md")).unwrap(),
            "# ${{ values.name }}\n"
        );
        assert!(h.workspace.join("raw/${{ values.name }}/main.rs").exists());
        h.run(
            "fetch:plain:file",
            json!({"url": "skeleton/run.sh", "targetPath": "bin/run.sh"}),
        )
        .await
        .unwrap();
        let mode = std::fs::metadata(h.workspace.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        h.run(
            "fetch:template:file",
            json!({"url": "skeleton/README.md", "targetPath": "R.md", "values": {"name": "x"}}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(h.workspace.join("R.md")).unwrap(),
            "# x\n"
        );
        for target in ["../x", "/etc/passwd", "a/../../x"] {
            assert_not_allowed(
                h.run(
                    "fetch:plain:file",
                    json!({"url": "skeleton/README.md", "targetPath": target}),
                )
                .await,
            );
            assert_not_allowed(
                h.run(
                    "fetch:template:file",
                    json!({"url": "skeleton/README.md", "targetPath": target}),
                )
                .await,
            );
            assert_not_allowed(
                h.run(
                    "fetch:plain",
                    json!({"url": "skeleton", "targetPath": target}),
                )
                .await,
            );
        }
        symlink(&h.outside, h.workspace.join("out")).unwrap();
        assert_not_allowed(
            h.run(
                "fetch:plain:file",
                json!({"url": "skeleton/README.md", "targetPath": "out/x"}),
            )
            .await,
        );
        assert_not_allowed(
            h.run(
                "fetch:plain",
                json!({"url": "skeleton", "targetPath": "out"}),
            )
            .await,
        );
        h.assert_outside_intact();
        let e = h
            .run("fetch:plain", json!({"url": "missing"}))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ActionError::NotFound(ref m) if m.contains("missing")),
            "{e:?}"
        );
    }
}
