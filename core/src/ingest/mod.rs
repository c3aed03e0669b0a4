//! Ingestion: reading locations (files, URLs, Location entities) into processed entities.

use std::path::PathBuf;

use crate::portal::Problem;

/// The result of checking catalog files without a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationSummary {
    pub files: usize,
    pub entities: usize,
    pub problems: Vec<Problem>,
}

/// Checks catalog files (and the directories' `*.yaml`/`*.yml` files) as ingestion would: YAML, placeholders,
/// entity validation. Location targets are not followed.
pub fn validate_paths(paths: &[PathBuf]) -> ValidationSummary {
    let _ = paths;
    todo!("lead")
}
