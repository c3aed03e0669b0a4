//! Ingestion: reading locations (files, URLs, Location entities) into processed entities, and checking
//! catalog files without a database.

pub mod annotate;
pub mod documents;
pub mod placeholders;
pub mod processor;
pub mod reader;

use std::path::{Path, PathBuf};

use crate::entity::validation::validate_entity;
use crate::error::PortalError;
use crate::portal::Problem;

pub use processor::{Ingestor, RootLocation, RootOutcome};
pub use reader::LocationReader;

use documents::{find_line, parse_documents, MAX_FILE_BYTES};
use placeholders::{
    content_value, find_placeholders, replace_at, resolve_source, PlaceholderSource,
};

/// The result of checking catalog files without a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationSummary {
    pub files: usize,
    pub entities: usize,
    pub problems: Vec<Problem>,
}

/// Checks catalog files (and the `*.yaml`/`*.yml` files under directories) as ingestion would: size, text,
/// YAML, local placeholders, entity validation and relation refs. Location targets are not followed and
/// remote placeholders are not fetched.
pub fn validate_paths(paths: &[PathBuf]) -> ValidationSummary {
    let mut summary = ValidationSummary::default();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_yaml_files(path, &mut files);
            files.sort();
            for file in files {
                validate_file(&file, &mut summary);
            }
        } else {
            validate_file(path, &mut summary);
        }
    }
    summary
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            // Template skeletons hold `${{ }}` expressions, not entities.
            let skipped = ["node_modules", "target", "skeleton"];
            if !name.starts_with('.') && !skipped.contains(&name.as_ref()) {
                collect_yaml_files(&path, out);
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && looks_like_catalog_file(&path)
        {
            out.push(path);
        }
    }
}

/// Inside a directory, only files that look like catalog files are checked: mkdocs.yml, OpenAPI documents
/// and other YAML beside them are not entities. A file named on the command line is always checked.
fn looks_like_catalog_file(path: &Path) -> bool {
    if path.file_name().is_some_and(|n| n == "catalog-info.yaml") {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    let has = |key: &str| text.lines().any(|l| l.starts_with(key));
    has("apiVersion:") && has("kind:")
}

fn validate_file(path: &Path, summary: &mut ValidationSummary) {
    summary.files += 1;
    let shown = path.display().to_string();
    let mut report = |document: Option<usize>, line: Option<usize>, error: &PortalError| {
        summary.problems.push(Problem {
            location: shown.clone(),
            document,
            line,
            name: error.name().to_string(),
            message: error.message().to_string(),
        });
    };
    let bytes = match std::fs::metadata(path) {
        Ok(meta) if meta.len() as usize > MAX_FILE_BYTES => Err(PortalError::Input(format!(
            "File is {} bytes, larger than the {} byte limit for catalog files",
            meta.len(),
            MAX_FILE_BYTES
        ))),
        Ok(_) => std::fs::read(path)
            .map_err(|e| PortalError::NotFound(format!("Unable to read file {shown}, {e}"))),
        Err(e) => Err(PortalError::NotFound(format!(
            "Unable to read file {shown}, {e}"
        ))),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return report(None, None, &e),
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let key = format!("file:{}", absolute.display());
    let documents = match parse_documents(&bytes, &key) {
        Ok(d) => d,
        Err(e) => return report(None, e.line, &PortalError::Input(e.message)),
    };
    let text = String::from_utf8_lossy(&bytes);
    for doc in &documents {
        let mut raw = match &doc.value {
            Ok(v) => v.clone(),
            Err(message) => {
                report(
                    Some(doc.index),
                    Some(doc.line),
                    &PortalError::Input(message.clone()),
                );
                continue;
            }
        };
        let mut failed = None;
        for placeholder in find_placeholders(&raw) {
            let resolved = resolve_source(&placeholder, &key).and_then(|source| match source {
                PlaceholderSource::File(file) => std::fs::read(&file)
                    .map_err(|e| {
                        PortalError::NotFound(format!(
                            "Unable to read file {}, {e}",
                            file.display()
                        ))
                    })
                    .and_then(|bytes| content_value(&placeholder, &bytes)),
                // Not fetched while validating: any string stands in for remote content.
                PlaceholderSource::Url(url) => Ok(serde_json::Value::String(url.to_string())),
            });
            match resolved {
                Ok(content) => replace_at(&mut raw, &placeholder.path, content),
                Err(e) => {
                    failed = Some((e, Some(placeholder.target.clone())));
                    break;
                }
            }
        }
        let outcome = match failed {
            Some(f) => Err(f),
            None => validate_entity(&raw)
                .map_err(|e| (PortalError::Input(e.message), e.value))
                .and_then(|_| {
                    let entity = crate::entity::Entity::from_value(raw).unwrap_or_default();
                    processor::relation_rows(&entity)
                        .map(|_| ())
                        .map_err(|e| (e, None))
                }),
        };
        match outcome {
            Ok(()) => summary.entities += 1,
            Err((error, value)) => {
                let line = value
                    .as_deref()
                    .and_then(|v| find_line(&text, doc, v))
                    .or(Some(doc.line));
                report(Some(doc.index), line, &error);
            }
        }
    }
}
