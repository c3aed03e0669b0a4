//! Where an entity's documentation site lives and what it contains.
//!
//! - [`source_dir`] resolves the `backstage.io/techdocs-ref` annotation (`dir:PATH`, relative to the entity's
//!   catalog file, confined to that directory; `url:` is not supported yet).
//! - [`load_config`] reads `mkdocs.yml` / `mkdocs.yaml` and sanitizes it the way Backstage's techdocs-node builder
//!   does (`generate/helpers.ts`), or returns Backstage's default site when there is no file.
//!   - Refused (an error naming the key): `hooks`, `extra_javascript`, `extra_templates` (present at the top level,
//!     even with a null value, also when introduced by a `<<` merge key), duplicate `<<` merge keys (js-yaml and
//!     PyYAML disagree on them), markdown extensions named `module:Callable` (such as `subprocess:Popen`), and a
//!     `docs_dir` that is absolute or leaves the source directory.
//!   - Stripped with a warning: other top-level keys outside Backstage's allow-list, theme keys outside the theme
//!     allow-list (notably `theme.custom_dir`), and every `plantuml_cmd` key inside `markdown_extensions`.
//!   - Ignored with a warning: YAML `!!python/...` tags other than `!!python/name:` references to the emoji,
//!     fence and slugify functions. Nothing is ever executed: serde_yaml reads `!!` tags' nodes as plain values
//!     (an empty `!!python/name:` node reads as null); local `!python/...` tags become the function name
//!     (allowed) or null.
//! - [`pages`] lists every markdown file under `docs_dir` in MkDocs' order. Symlinks are followed only when their
//!   canonical target stays inside the canonical source directory; an escaping link (directly or through a
//!   chain) or a dangling link makes the listing fail with an error (Backstage rejects such trees too), so a
//!   build never silently reads host files nor silently loses a page.
//! - [`nav`] is the explicit `nav` of the config or, without one, the nav MkDocs derives from the files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

// The same lexical check the scaffolder's workspace confinement uses.
use crate::scaffolder::workspace::normalize_relative;

/// Name of the default site when the entity's name is empty (Backstage's default).
pub const DEFAULT_SITE_NAME: &str = "Documentation Site";
/// Default `docs_dir` (MkDocs' and Backstage's).
pub const DEFAULT_DOCS_DIR: &str = "docs";

/// File extensions MkDocs treats as markdown pages.
const MARKDOWN_EXTENSIONS: &[&str] = &["md", "markdown", "mdown", "mkdn", "mkd"];

/// Top-level keys Backstage's builder keeps (per source, techdocs-node `generate/helpers.ts`).
const ALLOWED_TOP_LEVEL: &[&str] = &[
    "site_name",
    "site_description",
    "site_author",
    "site_url",
    "site_dir",
    "repo_url",
    "repo_name",
    "edit_uri",
    "edit_uri_template",
    "docs_dir",
    "nav",
    "exclude_docs",
    "not_in_nav",
    "theme",
    "plugins",
    "markdown_extensions",
    "extra",
    "extra_css",
    "use_directory_urls",
    "strict",
    "dev_addr",
    "watch",
    "copyright",
    "remote_branch",
    "remote_name",
    "validation",
    "google_analytics",
];

/// Top-level keys that can run code or inject scripts: their presence refuses the whole config.
const BLOCKED_TOP_LEVEL: &[&str] = &["hooks", "extra_javascript", "extra_templates"];

/// Theme keys kept; anything else (notably `custom_dir`, which can override templates) is stripped.
const ALLOWED_THEME: &[&str] = &[
    "name",
    "locale",
    "language",
    "direction",
    "palette",
    "font",
    "features",
    "icon",
    "logo",
    "favicon",
    "static_templates",
    "highlightjs",
    "hljs_languages",
    "hljs_style",
    "navigation_depth",
    "nav_style",
    "shortcuts",
    "color_mode",
    "user_color_mode_toggle",
    "analytics",
    "include_sidebar",
    "include_search_page",
    "search_index_only",
];

/// Module prefixes a `!!python/name:` tag may reference (emoji, fence and slugify functions).
const ALLOWED_PYTHON_NAMES: &[&str] = &[
    "material.extensions.emoji.",
    "materialx.emoji.",
    "pymdownx.emoji.",
    "pymdownx.superfences.fence_",
    "pymdownx.slugs.",
    "markdown.extensions.toc.slugify",
];

/// Why a site cannot be located, configured or listed.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The techdocs-ref form is valid but not implemented (`url:`).
    #[error("techdocs-ref {0:?} is a URL, not a directory (URL sources are downloaded first: techdocs::remote)")]
    Unsupported(String),
    /// The techdocs-ref is neither `dir:` nor `url:`.
    #[error("invalid techdocs-ref {0:?}: expected dir:PATH or url:URL")]
    InvalidRef(String),
    /// A path leaves the directory it must stay in (`..`, absolute path, or symlink).
    #[error("{what} {path:?} leaves {root:?}")]
    Escapes {
        /// What the path is (`techdocs-ref`, `docs_dir`, `symlink`).
        what: &'static str,
        /// The offending path.
        path: PathBuf,
        /// The directory it must stay in.
        root: PathBuf,
    },
    /// A symlink whose target does not exist.
    #[error("dangling symlink {0:?}")]
    DanglingSymlink(PathBuf),
    /// A required directory does not exist.
    #[error("{what} {path:?} does not exist")]
    Missing {
        /// What the directory is (`source directory`, `docs_dir`).
        what: &'static str,
        /// The missing path.
        path: PathBuf,
    },
    /// mkdocs.yml holds a key Backstage refuses.
    #[error("mkdocs config {file:?}: key {key:?} is not allowed ({reason})")]
    Forbidden {
        /// The config file.
        file: PathBuf,
        /// The refused key (or extension name).
        key: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// mkdocs.yml is not valid YAML or not a mapping.
    #[error("mkdocs config {file:?}: {message}")]
    Invalid {
        /// The config file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An I/O error while reading the source tree.
    #[error("{path:?}: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An entry of a site's navigation, in MkDocs' forms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NavItem {
    /// `- page.md` (title from the page) or `- Title: page.md`; `path` is relative to docs_dir, `/` separated.
    Page {
        /// Explicit title, if any.
        title: Option<String>,
        /// The page's location relative to docs_dir.
        path: String,
    },
    /// `- Section: [ ... ]`, or a directory in a derived nav.
    Section {
        /// The section title.
        title: String,
        /// Its entries.
        items: Vec<NavItem>,
    },
    /// `- Title: https://...` (an external link).
    Link {
        /// Explicit title, if any.
        title: Option<String>,
        /// The URL.
        url: String,
    },
}

/// The sanitized site configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    /// `site_name`.
    pub site_name: String,
    /// `site_description`.
    pub site_description: Option<String>,
    /// `docs_dir`, relative to the source directory, `/` separated, never escaping it.
    pub docs_dir: String,
    /// The explicit `nav`, if any (see [`nav`] for the effective one).
    pub nav: Option<Vec<NavItem>>,
    /// What was stripped while sanitizing.
    pub warnings: Vec<String>,
}

/// One markdown page of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePage {
    /// Location relative to docs_dir, `/` separated (`index.md`, `code/code-sample.md`).
    pub location: String,
    /// The file to read: its canonical path, checked to be inside the source directory.
    pub path: PathBuf,
}

fn canonical(path: &Path, what: &'static str) -> Result<PathBuf, SiteError> {
    path.canonicalize().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SiteError::Missing {
                what,
                path: path.to_path_buf(),
            }
        } else {
            SiteError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Resolves a `backstage.io/techdocs-ref` annotation against the directory of the entity's catalog file.
///
/// `dir:PATH` must stay inside `entity_file_dir`, lexically and after resolving symlinks; the directory must
/// exist. `url:` references are [`SiteError::Unsupported`].
pub fn source_dir(entity_file_dir: &Path, techdocs_ref: &str) -> Result<PathBuf, SiteError> {
    let techdocs_ref = techdocs_ref.trim();
    if techdocs_ref.starts_with("url:") {
        return Err(SiteError::Unsupported(techdocs_ref.to_string()));
    }
    let Some(rel) = techdocs_ref.strip_prefix("dir:") else {
        return Err(SiteError::InvalidRef(techdocs_ref.to_string()));
    };
    let escapes = || SiteError::Escapes {
        what: "techdocs-ref",
        path: PathBuf::from(rel),
        root: entity_file_dir.to_path_buf(),
    };
    let normalized = normalize_relative(rel).ok_or_else(escapes)?;
    let joined = entity_file_dir.join(&normalized);
    let root = canonical(entity_file_dir, "entity directory")?;
    let target = canonical(&joined, "source directory")?;
    if !target.starts_with(&root) {
        return Err(escapes());
    }
    Ok(joined)
}

/// Backstage's default site for an entity without mkdocs.yml.
pub fn default_config(entity_name: &str) -> SiteConfig {
    let site_name = if entity_name.trim().is_empty() {
        DEFAULT_SITE_NAME.to_string()
    } else {
        entity_name.to_string()
    };
    SiteConfig {
        site_name,
        site_description: None,
        docs_dir: DEFAULT_DOCS_DIR.to_string(),
        nav: None,
        warnings: Vec::new(),
    }
}

/// Reads and sanitizes `mkdocs.yml` (or `mkdocs.yaml`) in `source_dir`; without one, [`default_config`].
pub fn load_config(source_dir: &Path, entity_name: &str) -> Result<SiteConfig, SiteError> {
    for name in ["mkdocs.yml", "mkdocs.yaml"] {
        let file = source_dir.join(name);
        match std::fs::symlink_metadata(&file) {
            Ok(_) => {
                // The config itself may be a symlink: it must stay inside the source directory.
                let root = canonical(source_dir, "source directory")?;
                let target = file
                    .canonicalize()
                    .map_err(|_| SiteError::DanglingSymlink(file.clone()))?;
                if !target.starts_with(&root) {
                    return Err(SiteError::Escapes {
                        what: "symlink",
                        path: file,
                        root,
                    });
                }
                let text = std::fs::read_to_string(&target).map_err(io_err(&file))?;
                return parse_config(&text, &file, source_dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(SiteError::Io { path: file, source }),
        }
    }
    let mut config = default_config(entity_name);
    if !source_dir.join(DEFAULT_DOCS_DIR).is_dir() {
        // Without mkdocs.yml and without docs/, Backstage's build fails; the markdown of the whole tree is a
        // more useful site (a repository documented by its README files).
        config.docs_dir = ".".to_string();
        config.warnings.push(format!(
            "no mkdocs.yml and no {DEFAULT_DOCS_DIR}/ directory: the markdown files of the whole source tree make the site"
        ));
    }
    Ok(config)
}

/// Parses and sanitizes mkdocs config text; `file` names it in errors, `source_dir` confines `docs_dir`.
pub fn parse_config(text: &str, file: &Path, source_dir: &Path) -> Result<SiteConfig, SiteError> {
    let invalid = |message: String| SiteError::Invalid {
        file: file.to_path_buf(),
        message,
    };
    let forbidden = |key: &str, reason: &'static str| SiteError::Forbidden {
        file: file.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(e) if e.to_string().contains("duplicate entry with key \"<<\"") => {
            return Err(forbidden(
                "<<",
                "duplicate merge keys are read differently by YAML parsers",
            ));
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    let mut warnings = Vec::new();
    scan_python_tags(text, &mut warnings);
    strip_python_tags(&mut value);
    // Merge keys are resolved before checking, so a `<<` cannot smuggle a blocked key in.
    value.apply_merge().map_err(|e| invalid(e.to_string()))?;
    let Value::Mapping(mut map) = value else {
        return Err(invalid("the config is not a mapping".to_string()));
    };

    for key in BLOCKED_TOP_LEVEL {
        if map.contains_key(*key) {
            return Err(forbidden(key, "it can run code or inject scripts"));
        }
    }
    let unknown: Vec<String> = map
        .keys()
        .map(|k| {
            k.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{k:?}"))
        })
        .filter(|k| !ALLOWED_TOP_LEVEL.contains(&k.as_str()))
        .collect();
    for key in unknown {
        map.remove(key.as_str());
        warnings.push(format!(
            "stripped top-level key {key:?} (not in the allow-list)"
        ));
    }
    if let Some(Value::Mapping(theme)) = map.get_mut("theme") {
        let unknown: Vec<Value> = theme
            .keys()
            .filter(|k| !k.as_str().is_some_and(|k| ALLOWED_THEME.contains(&k)))
            .cloned()
            .collect();
        for key in unknown {
            theme.remove(&key);
            let name = key
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{key:?}"));
            warnings.push(format!(
                "stripped theme.{name} (not in the theme allow-list)"
            ));
        }
    }
    if let Some(extensions) = map.get_mut("markdown_extensions") {
        check_extensions(extensions, file)?;
        strip_key(
            extensions,
            "plantuml_cmd",
            "markdown_extensions",
            &mut warnings,
        );
    }

    let site_name = match map.get("site_name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(invalid(
                "site_name is required and must be a string".to_string(),
            ))
        }
    };
    let site_description = match map.get("site_description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("site_description must be a string".to_string())),
    };
    let docs_dir = docs_dir(&map, file, source_dir)?;
    let nav = match map.get("nav") {
        None | Some(Value::Null) => None,
        Some(Value::Sequence(items)) => Some(parse_nav(items, &mut warnings)),
        Some(_) => return Err(invalid("nav must be a list".to_string())),
    };
    Ok(SiteConfig {
        site_name,
        site_description,
        docs_dir,
        nav,
        warnings,
    })
}

fn docs_dir(map: &Mapping, file: &Path, source_dir: &Path) -> Result<String, SiteError> {
    let raw = match map.get("docs_dir") {
        None | Some(Value::Null) => return Ok(DEFAULT_DOCS_DIR.to_string()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(SiteError::Invalid {
                file: file.to_path_buf(),
                message: "docs_dir must be a string".to_string(),
            })
        }
    };
    let escapes = || SiteError::Escapes {
        what: "docs_dir",
        path: PathBuf::from(&raw),
        root: source_dir.to_path_buf(),
    };
    let normalized = normalize_relative(&raw).ok_or_else(escapes)?;
    // A symlinked docs_dir must resolve inside the source directory too (checked again by `pages`).
    if let (Ok(root), Ok(target)) = (
        source_dir.canonicalize(),
        source_dir.join(&normalized).canonicalize(),
    ) {
        if !target.starts_with(&root) {
            return Err(escapes());
        }
    }
    let parts: Vec<String> = normalized
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

/// Refuses markdown extensions loaded as `module:Callable` (Python-Markdown imports and calls them).
fn check_extensions(extensions: &Value, file: &Path) -> Result<(), SiteError> {
    let Value::Sequence(items) = extensions else {
        return Ok(());
    };
    let names = items.iter().filter_map(|item| match item {
        Value::String(name) => Some(name.as_str()),
        Value::Mapping(m) => m.keys().next().and_then(Value::as_str),
        _ => None,
    });
    for name in names {
        if name.contains(':') {
            return Err(SiteError::Forbidden {
                file: file.to_path_buf(),
                key: format!("markdown_extensions.{name}"),
                reason: "module:callable extensions can run arbitrary code",
            });
        }
    }
    Ok(())
}

/// Removes every mapping entry named `key` anywhere under `value`, with a warning each.
fn strip_key(value: &mut Value, key: &str, at: &str, warnings: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            if map.remove(key).is_some() {
                warnings.push(format!("stripped {at}.{key}"));
            }
            for (k, v) in map.iter_mut() {
                let name = k.as_str().unwrap_or("?");
                strip_key(v, key, &format!("{at}.{name}"), warnings);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                strip_key(item, key, at, warnings);
            }
        }
        Value::Tagged(tagged) => strip_key(&mut tagged.value, key, at, warnings),
        _ => {}
    }
}

/// Warns about every `!!python/...` tag (also `!python/...`, `!<tag:yaml.org,2002:python/...>` and `%TAG`
/// shorthands) except allowed `python/name:` functions.
///
/// serde_yaml drops `tag:yaml.org,2002:` tags and reads the node as a plain value, so the tags are found in the
/// text; nothing is ever constructed or called either way.
fn scan_python_tags(text: &str, warnings: &mut Vec<String>) {
    static TAG: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(tag) =
        TAG.get_or_init(|| regex::Regex::new(r"![^\s,\[\]{}]*python/[^\s,\[\]{}>]*").ok())
    else {
        return;
    };
    for found in tag.find_iter(text) {
        let found = found.as_str();
        let function = found.split_once("python/").map_or("", |(_, rest)| rest);
        if !allowed_python_name(function) {
            warnings.push(format!(
                "ignored YAML tag {found} (read as a plain value, never executed)"
            ));
        }
    }
}

fn allowed_python_name(tag_rest: &str) -> bool {
    tag_rest.strip_prefix("name:").is_some_and(|function| {
        ALLOWED_PYTHON_NAMES
            .iter()
            .any(|prefix| function.starts_with(prefix))
    })
}

/// Local `!python/...` tags, which serde_yaml keeps: allowed function names become plain strings, the rest
/// null (the warnings come from [`scan_python_tags`]).
fn strip_python_tags(value: &mut Value) {
    match value {
        Value::Mapping(map) => map.iter_mut().for_each(|(_, v)| strip_python_tags(v)),
        Value::Sequence(items) => items.iter_mut().for_each(strip_python_tags),
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match tag.trim_start_matches('!').strip_prefix("python/") {
                Some(rest) if allowed_python_name(rest) => {
                    *value = Value::String(rest.trim_start_matches("name:").to_string())
                }
                Some(_) => *value = Value::Null,
                None => strip_python_tags(&mut tagged.value),
            }
        }
        _ => {}
    }
}

fn is_url(s: &str) -> bool {
    s.contains("://") || s.starts_with("mailto:")
}

fn nav_target(title: Option<String>, target: &str, warnings: &mut Vec<String>) -> Option<NavItem> {
    if is_url(target) {
        return Some(NavItem::Link {
            title,
            url: target.to_string(),
        });
    }
    match normalize_relative(target) {
        Some(path) if !path.as_os_str().is_empty() => {
            let parts: Vec<String> = path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some(NavItem::Page {
                title,
                path: parts.join("/"),
            })
        }
        _ => {
            warnings.push(format!("dropped nav entry {target:?} (outside docs_dir)"));
            None
        }
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_nav(items: &[Value], warnings: &mut Vec<String>) -> Vec<NavItem> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(target) => out.extend(nav_target(None, target, warnings)),
            Value::Mapping(map) if map.len() == 1 => {
                let Some((key, value)) = map.iter().next() else {
                    continue;
                };
                let Some(title) = scalar_string(key) else {
                    warnings.push("dropped nav entry with a non-string title".to_string());
                    continue;
                };
                match value {
                    Value::Sequence(children) => out.push(NavItem::Section {
                        title,
                        items: parse_nav(children, warnings),
                    }),
                    Value::String(target) => out.extend(nav_target(Some(title), target, warnings)),
                    _ => warnings.push(format!("dropped nav entry {title:?} (unsupported value)")),
                }
            }
            _ => warnings.push(
                "dropped nav entry (expected `page.md`, `Title: page.md` or `Section: [...]`)"
                    .into(),
            ),
        }
    }
    out
}

/// MkDocs' page order: by directory, then the directory's index (`index.md` or `README.md`), then by name.
fn sort_key(location: &str) -> (Vec<String>, bool, String) {
    let mut parts: Vec<String> = location.split('/').map(str::to_string).collect();
    let name = parts.pop().unwrap_or_default();
    let stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem);
    (parts, !(stem == "index" || stem == "README"), name)
}

/// Lists every markdown page under `config.docs_dir`, in MkDocs' order (see the module doc for symlinks).
///
/// Hidden files and directories (`.name`) are skipped, as MkDocs' default `exclude_docs` does.
pub fn pages(source_dir: &Path, config: &SiteConfig) -> Result<Vec<SitePage>, SiteError> {
    let mut out = docs_files(source_dir, config, &|name| {
        has_extension(name, MARKDOWN_EXTENSIONS)
    })?;
    out.sort_by_cached_key(|page| sort_key(&page.location));
    Ok(out)
}

/// Files a page may show or link to besides markdown: images and downloads a browser can take as they are.
pub const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "pdf", "txt", "csv",
];

/// Lists the static assets under `config.docs_dir` ([`ASSET_EXTENSIONS`]), confined as [`pages`] is,
/// sorted by location.
pub fn assets(source_dir: &Path, config: &SiteConfig) -> Result<Vec<SitePage>, SiteError> {
    let mut out = docs_files(source_dir, config, &|name| {
        has_extension(name, ASSET_EXTENSIONS)
    })?;
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

fn has_extension(name: &str, extensions: &[&str]) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every file under docs_dir whose name `wanted` accepts, each checked to stay inside the source tree.
fn docs_files(
    source_dir: &Path,
    config: &SiteConfig,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<SitePage>, SiteError> {
    let root = canonical(source_dir, "source directory")?;
    let rel = normalize_relative(&config.docs_dir).ok_or_else(|| SiteError::Escapes {
        what: "docs_dir",
        path: PathBuf::from(&config.docs_dir),
        root: source_dir.to_path_buf(),
    })?;
    let docs = source_dir.join(rel);
    let docs_canon = canonical(&docs, "docs_dir")?;
    if !docs_canon.starts_with(&root) {
        return Err(SiteError::Escapes {
            what: "docs_dir",
            path: docs,
            root,
        });
    }
    let mut out = Vec::new();
    let mut visited = HashSet::from([docs_canon.clone()]);
    walk(&docs_canon, "", &root, wanted, &mut visited, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    prefix: &str,
    root: &Path,
    wanted: &dyn Fn(&str) -> bool,
    visited: &mut HashSet<PathBuf>,
    out: &mut Vec<SitePage>,
) -> Result<(), SiteError> {
    let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err(&path))?;
        let target = if kind.is_symlink() {
            let target = path
                .canonicalize()
                .map_err(|_| SiteError::DanglingSymlink(path.clone()))?;
            if !target.starts_with(root) {
                return Err(SiteError::Escapes {
                    what: "symlink",
                    path,
                    root: root.to_path_buf(),
                });
            }
            target
        } else {
            path.clone()
        };
        let meta = std::fs::metadata(&target).map_err(io_err(&target))?;
        let location = format!("{prefix}{name}");
        if meta.is_dir() {
            // A directory reached twice (symlink loop or alias) is listed once.
            if visited.insert(target.canonicalize().map_err(io_err(&target))?) {
                walk(&target, &format!("{location}/"), root, wanted, visited, out)?;
            }
        } else if meta.is_file() && wanted(&name) {
            out.push(SitePage {
                location,
                path: target,
            });
        }
    }
    Ok(())
}

/// MkDocs' title for a directory section (and a page named by its file): `-`/`_` become spaces, an
/// all-lowercase name is capitalized.
pub(crate) fn dirname_to_title(dirname: &str) -> String {
    let title = dirname.replace(['-', '_'], " ");
    if title.to_lowercase() == title {
        let mut chars = title.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => title,
        }
    } else {
        title
    }
}

/// The effective navigation: the config's `nav`, or the one MkDocs derives from the (sorted) pages, with
/// directories as sections and titles left to the pages.
pub fn nav(config: &SiteConfig, pages: &[SitePage]) -> Vec<NavItem> {
    if let Some(nav) = &config.nav {
        return nav.clone();
    }
    let mut root = Vec::new();
    for page in pages {
        let mut items = &mut root;
        let dirs: Vec<&str> = page.location.split('/').collect();
        for dir in &dirs[..dirs.len().saturating_sub(1)] {
            let title = dirname_to_title(dir);
            let existing = items
                .iter()
                .position(|item| matches!(item, NavItem::Section { title: t, .. } if *t == title));
            let index = match existing {
                Some(index) => index,
                None => {
                    items.push(NavItem::Section {
                        title,
                        items: Vec::new(),
                    });
                    items.len() - 1
                }
            };
            items = match &mut items[index] {
                NavItem::Section { items, .. } => items,
                _ => unreachable!("position matched a section"),
            };
        }
        items.push(NavItem::Page {
            title: None,
            path: page.location.clone(),
        });
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/techdocs")
    }

    fn security(name: &str) -> Result<SiteConfig, SiteError> {
        let file = fixtures()
            .join("backstage-techdocs-node-mkdocs-security-fixtures")
            .join(name);
        let text = std::fs::read_to_string(&file).expect("fixture");
        let dir = tempfile::tempdir().expect("tempdir");
        parse_config(&text, &file, dir.path())
    }

    fn page(title: Option<&str>, path: &str) -> NavItem {
        NavItem::Page {
            title: title.map(str::to_string),
            path: path.to_string(),
        }
    }

    #[test]
    fn documented_component_loads() {
        let entity_dir = fixtures().join("backstage-documented-component");
        let source = source_dir(&entity_dir, "dir:.").expect("source");
        let config = load_config(&source, "documented-component").expect("config");
        assert_eq!(config.site_name, "Example Documentation");
        assert_eq!(config.docs_dir, "docs");
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(
            config.nav,
            Some(vec![
                page(Some("Home"), "index.md"),
                page(Some("Subpage"), "sub-page.md"),
                page(Some("Code Sample"), "code/code-sample.md"),
                page(Some("Extensions"), "extensions.md"),
            ])
        );
        let pages = pages(&source, &config).expect("pages");
        let locations: Vec<&str> = pages.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "index.md",
                "extensions.md",
                "sub-page.md",
                "code/code-sample.md",
                "deeper-nav/index.md"
            ]
        );
        assert!(pages.iter().all(|p| p.path.is_file()));
        let derived = nav(
            &SiteConfig {
                nav: None,
                ..config
            },
            &pages,
        );
        assert_eq!(
            derived,
            vec![
                page(None, "index.md"),
                page(None, "extensions.md"),
                page(None, "sub-page.md"),
                NavItem::Section {
                    title: "Code".into(),
                    items: vec![page(None, "code/code-sample.md")]
                },
                NavItem::Section {
                    title: "Deeper nav".into(),
                    items: vec![page(None, "deeper-nav/index.md")]
                },
            ]
        );
    }

    #[test]
    fn default_mkdocs_gives_default_site() {
        let entity_dir = fixtures().join("backstage-documented-component-default-mkdocs");
        let source = source_dir(&entity_dir, "dir:.").expect("source");
        let config = load_config(&source, "documented-component-default-mkdocs").expect("config");
        assert_eq!(config.site_name, "documented-component-default-mkdocs");
        assert_eq!(config.nav, None);
        assert_eq!(default_config("").site_name, DEFAULT_SITE_NAME);
        assert_eq!(default_config("x").docs_dir, "docs");
        // The fixture keeps its page in `documentation/`, not `docs/`: the whole tree is the site.
        assert_eq!(config.docs_dir, ".");
        assert!(
            config.warnings[0].contains("no mkdocs.yml"),
            "{:?}",
            config.warnings
        );
        let found = pages(&source, &config).expect("pages");
        let locations: Vec<&str> = found.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(locations, ["documentation/README.md"]);
        // With a docs/ directory, the default docs_dir is kept.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        assert_eq!(load_config(dir.path(), "x").unwrap(), default_config("x"));
    }

    #[test]
    fn security_invalid_docs_dir_refused() {
        let err = security("mkdocs_invalid_doc_dir.yml").expect_err("refused");
        assert!(matches!(
            err,
            SiteError::Escapes {
                what: "docs_dir",
                ..
            }
        ));
        assert!(err.to_string().contains("docs_dir"));
        let dir = tempfile::tempdir().expect("tempdir");
        let err = parse_config(
            "site_name: x\ndocs_dir: ../x\n",
            Path::new("m.yml"),
            dir.path(),
        )
        .expect_err("refused");
        assert!(err.to_string().contains("docs_dir"));
    }

    #[test]
    fn security_hooks_refused() {
        let err = security("mkdocs_with_hooks.yml").expect_err("refused");
        assert!(
            matches!(&err, SiteError::Forbidden { key, .. } if key == "hooks"),
            "{err}"
        );
        let err = security("mkdocs_with_parser_differential_hooks.yml").expect_err("refused");
        assert!(
            matches!(&err, SiteError::Forbidden { key, .. } if key == "<<"),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        for key in ["extra_javascript", "extra_templates"] {
            let text = format!("site_name: x\n{key}: [a.js]\n");
            let err = parse_config(&text, Path::new("m.yml"), dir.path()).expect_err("refused");
            assert!(
                matches!(&err, SiteError::Forbidden { key: k, .. } if k == key),
                "{err}"
            );
        }
        // A single merge key bringing `hooks` in is caught after merging.
        let text = "site_name: x\nextra:\n  h: &h\n    hooks: [a.py]\n<<: *h\n";
        let err = parse_config(text, Path::new("m.yml"), dir.path()).expect_err("refused");
        assert!(err.to_string().contains("hooks"), "{err}");
    }

    #[test]
    fn security_dangerous_extensions_refused() {
        let err = security("mkdocs_with_dangerous_extensions.yml").expect_err("refused");
        assert!(err.to_string().contains("subprocess:Popen"), "{err}");
    }

    #[test]
    fn security_plantuml_cmd_and_custom_dir_stripped() {
        let config = security("mkdocs_with_plantuml_cmd.yml").expect("stripped");
        assert_eq!(
            config.warnings,
            ["stripped markdown_extensions.plantuml_markdown.plantuml_cmd"]
        );
        let config = security("mkdocs_with_theme_custom_dir.yml").expect("stripped");
        assert_eq!(
            config.warnings,
            ["stripped theme.custom_dir (not in the theme allow-list)"]
        );
        let config = security("mkdocs_with_safe_extensions.yml").expect("safe");
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.site_name, "Test");
    }

    #[test]
    fn python_tags_are_not_executed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "site_name: x\nmarkdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n  - pymdownx.x:\n      f: !!python/object/apply:os.system ['id']\n      g: !python/name:os.system\nfoo: 1\n";
        let config = parse_config(text, Path::new("m.yml"), dir.path()).expect("config");
        assert_eq!(config.warnings.len(), 3, "{:?}", config.warnings);
        assert!(
            config.warnings[0].contains("!!python/object/apply:os.system"),
            "{:?}",
            config.warnings
        );
        assert!(
            config.warnings[1].contains("!python/name:os.system"),
            "{:?}",
            config.warnings
        );
        assert!(
            config.warnings[2].contains("\"foo\""),
            "{:?}",
            config.warnings
        );
    }

    #[test]
    fn nav_forms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "site_name: x\nnav:\n  - index.md\n  - Guide:\n    - Intro: guide/intro.md\n    - guide/more.md\n  - GitHub: https://github.com/x\n  - Bad: ../../etc/passwd\n";
        let config = parse_config(text, Path::new("m.yml"), dir.path()).expect("config");
        assert_eq!(
            config.nav,
            Some(vec![
                page(None, "index.md"),
                NavItem::Section {
                    title: "Guide".into(),
                    items: vec![
                        page(Some("Intro"), "guide/intro.md"),
                        page(None, "guide/more.md")
                    ],
                },
                NavItem::Link {
                    title: Some("GitHub".into()),
                    url: "https://github.com/x".into()
                },
            ])
        );
        assert_eq!(config.warnings.len(), 1);
    }

    #[test]
    fn techdocs_ref_confined() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entity = dir.path().join("a/b");
        std::fs::create_dir_all(entity.join("sub")).expect("mkdir");
        assert!(matches!(
            source_dir(&entity, "dir:../.."),
            Err(SiteError::Escapes { .. })
        ));
        assert!(matches!(
            source_dir(&entity, "dir:/etc"),
            Err(SiteError::Escapes { .. })
        ));
        assert!(matches!(
            source_dir(&entity, "url:https://github.com/o/r"),
            Err(SiteError::Unsupported(_))
        ));
        assert!(matches!(
            source_dir(&entity, "git:x"),
            Err(SiteError::InvalidRef(_))
        ));
        assert_eq!(
            source_dir(&entity, "dir:./sub/../sub").expect("ok"),
            entity.join("sub")
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path(), entity.join("up")).expect("symlink");
            assert!(matches!(
                source_dir(&entity, "dir:up"),
                Err(SiteError::Escapes { .. })
            ));
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_confined() {
        use std::os::unix::fs::symlink;
        let outer = tempfile::tempdir().expect("tempdir");
        let outside = outer.path().join("outside");
        let source = outer.path().join("src");
        let docs = source.join("docs");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::create_dir_all(docs.join("real")).expect("mkdir");
        std::fs::create_dir_all(source.join("shared")).expect("mkdir");
        std::fs::write(outside.join("secret.md"), "# secret").expect("write");
        std::fs::write(docs.join("index.md"), "# home").expect("write");
        std::fs::write(source.join("shared/common.md"), "# common").expect("write");
        let config = default_config("x");

        // Inside: a file and a directory elsewhere in the source tree.
        symlink(source.join("shared/common.md"), docs.join("common.md")).expect("symlink");
        symlink(source.join("shared"), docs.join("linked")).expect("symlink");
        let listed = pages(&source, &config).expect("inside ok");
        let locations: Vec<&str> = listed.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(locations, ["index.md", "common.md", "linked/common.md"]);

        // Outside.
        symlink(outside.join("secret.md"), docs.join("real/secret.md")).expect("symlink");
        assert!(matches!(
            pages(&source, &config),
            Err(SiteError::Escapes {
                what: "symlink",
                ..
            })
        ));
        std::fs::remove_file(docs.join("real/secret.md")).expect("rm");

        // A chain: inside link -> inside link -> outside.
        symlink(outside.join("secret.md"), source.join("hop2")).expect("symlink");
        symlink(source.join("hop2"), source.join("hop1")).expect("symlink");
        symlink(source.join("hop1"), docs.join("chain.md")).expect("symlink");
        assert!(matches!(
            pages(&source, &config),
            Err(SiteError::Escapes {
                what: "symlink",
                ..
            })
        ));
        std::fs::remove_file(docs.join("chain.md")).expect("rm");

        // Dangling.
        symlink(source.join("nowhere.md"), docs.join("dangling.md")).expect("symlink");
        assert!(matches!(
            pages(&source, &config),
            Err(SiteError::DanglingSymlink(_))
        ));
        std::fs::remove_file(docs.join("dangling.md")).expect("rm");

        // A loop back to docs is listed once; a docs_dir symlinked outside is refused.
        symlink(&docs, docs.join("real/loop")).expect("symlink");
        assert_eq!(pages(&source, &config).expect("loop ok").len(), 3);
        let escaped = outer.path().join("src2");
        std::fs::create_dir_all(&escaped).expect("mkdir");
        symlink(&outside, escaped.join("docs")).expect("symlink");
        assert!(matches!(
            pages(&escaped, &config),
            Err(SiteError::Escapes {
                what: "docs_dir",
                ..
            })
        ));
        std::fs::write(escaped.join("mkdocs.yml"), "site_name: x\n").expect("write");
        let loaded = load_config(&escaped, "x").expect("config");
        assert!(matches!(
            pages(&escaped, &loaded),
            Err(SiteError::Escapes {
                what: "docs_dir",
                ..
            })
        ));
        std::fs::write(escaped.join("mkdocs.yml"), "site_name: x\ndocs_dir: docs\n")
            .expect("write");
        assert!(matches!(
            load_config(&escaped, "x"),
            Err(SiteError::Escapes {
                what: "docs_dir",
                ..
            })
        ));
    }
}
