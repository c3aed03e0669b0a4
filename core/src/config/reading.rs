//! Which URLs the catalog may read: `backend.reading.allow` plus configured integration hosts.

use url::Url;

use super::{Config, ConfigError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingAllowRule {
    /// `example.com`, `example.com:8080` or `*.example.com`.
    pub host: String,
    /// Path prefixes matched on segment boundaries; empty allows every path.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadPolicy {
    pub rules: Vec<ReadingAllowRule>,
}

impl ReadPolicy {
    /// `Err` with Backstage's NotAllowed message when `url` may not be read.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let _ = url;
        todo!("helper B")
    }
}

pub fn from_config(config: &Config) -> Result<ReadPolicy, ConfigError> {
    let _ = config;
    todo!("helper B")
}
