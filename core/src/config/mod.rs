//! `app-config.yaml` as Backstage loads it: several files deep-merged in order, `${VAR}` substitution,
//! `$env` / `$file` / `$include`, and typed views of the keys stagedoor honours.
//!
//! Relative paths in the configuration (file locations, SQLite files and directories) resolve against
//! [`Config::base_dir`], the directory of the first configuration file. Backstage resolves them against the
//! backend's working directory; stagedoor's choice makes a config behave the same wherever it is run from.

pub mod catalog;
pub mod database;
pub mod loader;
pub mod reading;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use catalog::{AllowKind, CatalogConfig, CatalogRule, ConfigLocation, LocationMatcher};
pub use database::{DatabaseConfig, SqliteLocation};
pub use reading::{ReadPolicy, ReadingAllowRule};

/// A configuration problem, naming the file and the key: `app-config.yaml: backend.auth.secret: ...` while
/// loading, `catalog.locations[2].type: ...` for the typed views (which read the merged tree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }
}

/// The merged configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The merged tree, substitutions and includes resolved.
    pub root: Value,
    /// The files it was read from, in merge order.
    pub files: Vec<PathBuf>,
    /// The directory relative paths in the config resolve against (see docs/architecture.md): the
    /// canonicalised directory of the first file, or whatever [`Config::from_value`] was given.
    pub base_dir: PathBuf,
}

impl Config {
    /// Loads `files` in order (later deep-merge over earlier). With no files: `app-config.yaml` then
    /// `app-config.local.yaml` from `dir`, the local one only when present (a missing `app-config.yaml` is an
    /// error). Each file's `${VAR}` substitutions and `$env`/`$file`/`$include` are resolved before merging;
    /// a string referring to an unset variable makes its key disappear.
    pub fn load(files: &[PathBuf], dir: &Path) -> Result<Config, ConfigError> {
        loader::load(files, dir)
    }

    /// A configuration from an in-memory tree (tests, embedded defaults).
    pub fn from_value(root: Value, base_dir: PathBuf) -> Config {
        Config {
            root,
            files: Vec::new(),
            base_dir,
        }
    }

    /// The value at a dotted path (`backend.database.client`).
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.')
            .try_fold(&self.root, |v, part| v.as_object()?.get(part))
    }

    /// `backend.database`: SQLite (`<base_dir>/.stagedoor/catalog.sqlite` by default) or PostgreSQL.
    pub fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        database::from_config(self)
    }

    /// The `catalog` section with Backstage's defaults (rules `[Component, API, Location]`, orphan strategy
    /// delete, processing interval 100 s).
    pub fn catalog(&self) -> Result<CatalogConfig, ConfigError> {
        catalog::from_config(self)
    }

    /// Which URLs may be read: `backend.reading.allow` plus the hosts of configured integrations.
    pub fn read_policy(&self) -> Result<ReadPolicy, ConfigError> {
        reading::from_config(self)
    }
}
