//! `app-config.yaml` as Backstage loads it: several files deep-merged in order, `${VAR}` substitution,
//! `$env` / `$file` / `$include`, and typed views of the keys stagedoor honours.

pub mod catalog;
pub mod database;
pub mod loader;
pub mod reading;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use catalog::{AllowKind, CatalogConfig, CatalogRule, ConfigLocation, LocationMatcher};
pub use database::{DatabaseConfig, SqliteLocation};
pub use reading::{ReadPolicy, ReadingAllowRule};

/// A configuration problem, naming the file and the key.
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
    /// The directory relative paths in the config resolve against (see docs/architecture.md).
    pub base_dir: PathBuf,
}

impl Config {
    /// Loads `files` in order (later deep-merge over earlier). With no files: `app-config.yaml` then
    /// `app-config.local.yaml` from `dir`, the local one only when present.
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

    pub fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        database::from_config(self)
    }

    pub fn catalog(&self) -> Result<CatalogConfig, ConfigError> {
        catalog::from_config(self)
    }

    pub fn read_policy(&self) -> Result<ReadPolicy, ConfigError> {
        reading::from_config(self)
    }
}
