//! What most commands need first: logging, the merged configuration and the embedded portal.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use stagedoor_core::config::Config;
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::{EntityRef, LocalPortal};
use stagedoor_server::client::HttpPortal;

/// Logs go to stderr, and only when asked for (`-v` or `RUST_LOG`), so stdout stays the command's output.
pub fn init_tracing(verbose: u8) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    let directives = match (from_env, verbose) {
        (Some(env), _) => env,
        (None, 0) => return,
        (None, 1) => "stagedoor=info,stagedoor_core=info".to_string(),
        (None, 2) => "stagedoor=debug,stagedoor_core=debug".to_string(),
        (None, _) => "trace".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The terminal UI's logging: info and up (more with -v or RUST_LOG) appended to
/// [`stagedoor::ui::run::log_file`]; nothing at all when that file cannot be opened, never the screen.
pub fn init_file_tracing(verbose: u8) {
    let Some(path) = stagedoor::ui::run::log_file() else {
        return;
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    else {
        return;
    };
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    let directives = match (from_env, verbose) {
        (Some(env), _) => env,
        (None, 0) => "stagedoor=info,stagedoor_core=info,stagedoor_server=info".to_string(),
        (None, 1) => "stagedoor=debug,stagedoor_core=debug,stagedoor_server=debug".to_string(),
        (None, _) => "trace".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.contains("://"))
}

/// Loads `--config` files in order, or `app-config.yaml` (+ `app-config.local.yaml`) from the current
/// directory. A missing file is named in the error.
pub fn load_config(files: &[PathBuf]) -> anyhow::Result<Config> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if files.is_empty() {
        let default = cwd.join("app-config.yaml");
        if !default.is_file() {
            bail!(
                "no configuration: {} not found (run stagedoor where your app-config.yaml is, or pass --config FILE)",
                default.display()
            );
        }
    }
    for file in files {
        if !is_url(file) && !file.is_file() {
            bail!("config file {} not found", file.display());
        }
    }
    let described = if files.is_empty() {
        "app-config.yaml".to_string()
    } else {
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = Config::load(files, &cwd)
        .with_context(|| format!("cannot load configuration from {described}"))?;
    tracing::debug!(files = ?config.files, "configuration loaded");
    Ok(config)
}

/// Opens the database `backend.database` names; nothing is ingested yet.
pub fn open_portal(config: Config) -> anyhow::Result<LocalPortal> {
    LocalPortal::from_config(config).context("cannot open the catalog")
}

/// Both of the above, for the commands that read or refresh the catalog.
pub fn portal_from_args(files: &[PathBuf]) -> anyhow::Result<LocalPortal> {
    open_portal(load_config(files)?)
}

/// Where a command reads the catalog: the embedded database of the configuration, or a backend over HTTP.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub config: Vec<PathBuf>,
    pub server: Option<String>,
    pub token: Option<String>,
}

impl Source {
    /// Refuses `--server` for commands that work on the embedded database only.
    pub fn local_only(&self, command: &str) -> anyhow::Result<&[PathBuf]> {
        if let Some(server) = &self.server {
            bail!(crate::cli::UsageError(format!(
                "{command} works on the embedded catalog; it cannot run against --server {server}"
            )));
        }
        Ok(&self.config)
    }
}

/// The portal for commands that only read: with `--server`, the backend over HTTP; otherwise the embedded
/// catalog, imported first if it never was, so a new checkout's `stagedoor catalog list` shows the sample
/// organisation rather than nothing.
pub async fn reading_portal(source: &Source) -> anyhow::Result<Box<dyn Portal>> {
    if let Some(server) = &source.server {
        let portal = HttpPortal::new(server, source.token.clone())
            .with_context(|| format!("cannot use --server {server}"))?;
        return Ok(Box::new(portal));
    }
    Ok(Box::new(
        embedded_portal(load_config(&source.config)?).await?,
    ))
}

/// The embedded portal of `config`, its catalog imported first if it never was.
pub async fn embedded_portal(config: Config) -> anyhow::Result<LocalPortal> {
    let portal = open_portal(config)?;
    let stored = portal
        .store()
        .entity_count()
        .await
        .context("cannot read the catalog")?;
    if stored == 0 {
        portal
            .refresh(RefreshRequest::default())
            .await
            .context("cannot import the catalog")?;
    }
    Ok(portal)
}

/// Who the user is: `--as`, else `stagedoor.identity`, else nobody.
pub fn identity(
    as_user: Option<&str>,
    config: Option<&Config>,
) -> anyhow::Result<Option<EntityRef>> {
    match as_user {
        Some(text) => {
            Ok(Some(parse_identity(text).map_err(|e| {
                crate::cli::UsageError(format!("--as: {e}"))
            })?))
        }
        None => identity_from_config(config),
    }
}

/// `stagedoor.identity`: the user "owned by me" means in the catalog's facet panel.
pub(crate) fn identity_from_config(config: Option<&Config>) -> anyhow::Result<Option<EntityRef>> {
    let Some(value) = config.and_then(|c| c.get("stagedoor.identity")) else {
        return Ok(None);
    };
    let parsed = match value.as_str() {
        Some(text) => parse_identity(text),
        None => Err("expected a user entity ref such as user:default/jane".to_string()),
    };
    parsed
        .map(Some)
        .map_err(|e| anyhow::anyhow!("invalid configuration: stagedoor.identity: {e}"))
}

/// A user entity ref (`user:default/jane`; `jane` and `default/jane` mean the same).
pub(crate) fn parse_identity(text: &str) -> Result<EntityRef, String> {
    let r = EntityRef::parse_with_defaults(text.trim(), Some("user"), "default")
        .map_err(|e| e.to_string())?;
    if !r.kind.eq_ignore_ascii_case("user") {
        return Err(format!(
            "'{text}' is not a user entity ref (expected e.g. user:default/jane)"
        ));
    }
    Ok(r)
}
