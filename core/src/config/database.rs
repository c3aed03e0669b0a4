//! `backend.database`: which store to open.

use std::path::PathBuf;

use super::{Config, ConfigError};

#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseConfig {
    Sqlite(SqliteLocation),
    /// `client: pg`; the connection as a URL (an object form is turned into one).
    Postgres { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    Memory,
    File(PathBuf),
}

pub fn from_config(config: &Config) -> Result<DatabaseConfig, ConfigError> {
    let _ = config;
    todo!("helper B")
}
