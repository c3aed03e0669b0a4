//! `$text`, `$json` and `$yaml` placeholders: found in an entity, their targets resolved against the entity's
//! own file and confined to that file's directory tree, then replaced by the content they name.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::PortalError;

/// Which placeholder it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderKind {
    Text,
    Json,
    Yaml,
}

impl PlaceholderKind {
    fn key(self) -> &'static str {
        match self {
            PlaceholderKind::Text => "text",
            PlaceholderKind::Json => "json",
            PlaceholderKind::Yaml => "yaml",
        }
    }
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A placeholder found in an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub path: Vec<PathStep>,
    pub kind: PlaceholderKind,
    /// The written target, relative or absolute.
    pub target: String,
}

/// Where a placeholder's target is read from, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderSource {
    File(PathBuf),
    Url(Url),
}

/// Finds every placeholder: an object with exactly one key, `$text`, `$json` or `$yaml`, whose value is a
/// string. Other `$`-keys are left alone, as Backstage leaves them.
pub fn find_placeholders(value: &Value) -> Vec<Placeholder> {
    let mut found = Vec::new();
    walk(value, &mut Vec::new(), &mut found);
    found
}

fn walk(value: &Value, path: &mut Vec<PathStep>, found: &mut Vec<Placeholder>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some((key, Value::String(target))) = map.iter().next() {
                    let kind = match key.as_str() {
                        "$text" => Some(PlaceholderKind::Text),
                        "$json" => Some(PlaceholderKind::Json),
                        "$yaml" => Some(PlaceholderKind::Yaml),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        found.push(Placeholder {
                            path: path.clone(),
                            kind,
                            target: target.clone(),
                        });
                        return;
                    }
                }
            }
            for (k, v) in map {
                path.push(PathStep::Key(k.clone()));
                walk(v, path, found);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                walk(v, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Resolves a placeholder's target against the location of the file holding the entity (`file:/abs/x.yaml` or
/// `url:https://...`). Relative targets must stay inside that file's directory tree; absolute URLs are
/// allowed (the read policy decides whether they may be read).
pub fn resolve_source(
    placeholder: &Placeholder,
    location_key: &str,
) -> Result<PlaceholderSource, PortalError> {
    let target = placeholder.target.as_str();
    let key = placeholder.kind.key();
    if let Ok(url) = Url::parse(target) {
        if matches!(url.scheme(), "http" | "https") {
            return Ok(PlaceholderSource::Url(url));
        }
    }
    let escape = || {
        PortalError::NotAllowed(format!(
            "Placeholder ${key} could not read location {target}, NotAllowedError: Placeholder may only reference files from the same repository as the entity"
        ))
    };
    if let Some(file) = location_key.strip_prefix("file:") {
        let dir = Path::new(file).parent().unwrap_or(Path::new("/"));
        if Path::new(target).is_absolute() {
            return Err(escape());
        }
        let joined = dir.join(target);
        let real = joined.canonicalize().map_err(|_| {
            PortalError::NotFound(format!(
                "Placeholder ${key} could not read location {target}, NotFoundError: file {} does not exist",
                joined.display()
            ))
        })?;
        let real_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if !real.starts_with(&real_dir) {
            return Err(escape());
        }
        Ok(PlaceholderSource::File(real))
    } else if let Some(base) = location_key.strip_prefix("url:") {
        let base = Url::parse(base).map_err(|e| {
            PortalError::Input(format!(
                "Placeholder ${key} could not form a URL out of {base} and {target}, {e}"
            ))
        })?;
        let joined = base.join(target).map_err(|e| {
            PortalError::Input(format!(
                "Placeholder ${key} could not form a URL out of {base} and {target}, {e}"
            ))
        })?;
        let base_dir = base.join("./").map_err(|_| escape())?;
        if joined.origin() != base_dir.origin() || !joined.path().starts_with(base_dir.path()) {
            return Err(escape());
        }
        Ok(PlaceholderSource::Url(joined))
    } else {
        Err(PortalError::Input(format!(
            "Placeholder ${key} could not read location {target}, unsupported location {location_key}"
        )))
    }
}

/// Turns read content into the value the placeholder stands for.
pub fn content_value(placeholder: &Placeholder, content: &[u8]) -> Result<Value, PortalError> {
    let target = &placeholder.target;
    let text = String::from_utf8_lossy(content);
    match placeholder.kind {
        PlaceholderKind::Text => Ok(Value::String(text.into_owned())),
        PlaceholderKind::Json => serde_json::from_str(&text).map_err(|e| {
            PortalError::Input(format!(
                "Placeholder $json failed to parse JSON data at {target}, {e}"
            ))
        }),
        PlaceholderKind::Yaml => {
            let mut docs = Vec::new();
            for de in serde_yaml::Deserializer::from_str(&text) {
                let doc = serde_yaml::Value::deserialize(de).map_err(|e| {
                    PortalError::Input(format!(
                        "Placeholder $yaml failed to parse YAML data at {target}, {e}"
                    ))
                })?;
                docs.push(doc);
            }
            if docs.len() != 1 {
                return Err(PortalError::Input(format!(
                    "Placeholder $yaml did not find exactly one document of data at {target}"
                )));
            }
            serde_json::to_value(&docs[0]).map_err(|e| {
                PortalError::Input(format!(
                    "Placeholder $yaml failed to parse YAML data at {target}, {e}"
                ))
            })
        }
    }
}

/// Replaces the placeholder object at `path` with `replacement`.
pub fn replace_at(value: &mut Value, path: &[PathStep], replacement: Value) {
    let mut current = value;
    for step in path {
        let next = match (step, current) {
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k),
            (PathStep::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return,
        }
    }
    *current = replacement;
}

/// Prefixes a read failure with the placeholder it came from, as Backstage words it.
pub fn read_failure(placeholder: &Placeholder, error: PortalError) -> PortalError {
    let msg = format!(
        "Placeholder ${} could not read location {}, {}: {}",
        placeholder.kind.key(),
        placeholder.target,
        error.name(),
        error.message()
    );
    match error {
        PortalError::NotAllowed(_) => PortalError::NotAllowed(msg),
        PortalError::NotFound(_) => PortalError::NotFound(msg),
        _ => PortalError::Input(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_and_replaces_placeholders() {
        let mut v = json!({"spec": {"definition": {"$text": "./a.yaml"}, "list": [{"$json": "b.json"}], "other": {"$foo": "x"}}});
        let found = find_placeholders(&v);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].kind, PlaceholderKind::Text);
        replace_at(&mut v, &found[0].path, json!("content"));
        replace_at(&mut v, &found[1].path, json!({"k": 1}));
        assert_eq!(v["spec"]["definition"], json!("content"));
        assert_eq!(v["spec"]["list"][0], json!({"k": 1}));
        assert_eq!(v["spec"]["other"], json!({"$foo": "x"}));
    }

    #[test]
    fn confines_file_targets_to_the_entity_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cat/sub")).unwrap();
        std::fs::write(dir.path().join("cat/sub/api.yaml"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        let key = format!("file:{}", dir.path().join("cat/entity.yaml").display());
        let p = |t: &str| Placeholder {
            path: vec![],
            kind: PlaceholderKind::Text,
            target: t.into(),
        };
        assert!(matches!(
            resolve_source(&p("./sub/api.yaml"), &key),
            Ok(PlaceholderSource::File(_))
        ));
        let err = resolve_source(&p("../secret.txt"), &key).unwrap_err();
        assert_eq!(err.name(), "NotAllowedError");
        assert!(err.message().contains("same repository"), "{err}");
        assert!(resolve_source(&p("/etc/passwd"), &key).is_err());
        let missing = resolve_source(&p("./nope.yaml"), &key).unwrap_err();
        assert_eq!(missing.name(), "NotFoundError");
    }

    #[test]
    fn confines_url_targets_to_the_entity_directory() {
        let key = "url:https://example.com/org/repo/blob/main/catalog-info.yaml";
        let p = |t: &str| Placeholder {
            path: vec![],
            kind: PlaceholderKind::Text,
            target: t.into(),
        };
        assert_eq!(
            resolve_source(&p("./api/openapi.yaml"), key).unwrap(),
            PlaceholderSource::Url(
                Url::parse("https://example.com/org/repo/blob/main/api/openapi.yaml").unwrap()
            )
        );
        assert!(resolve_source(&p("../../other/x.yaml"), key).is_err());
    }

    #[test]
    fn yaml_needs_exactly_one_document() {
        let p = Placeholder {
            path: vec![],
            kind: PlaceholderKind::Yaml,
            target: "x.yaml".into(),
        };
        assert_eq!(content_value(&p, b"a: 1").unwrap(), json!({"a": 1}));
        assert!(content_value(&p, b"a: 1\n---\nb: 2").is_err());
        let j = Placeholder {
            kind: PlaceholderKind::Json,
            ..p
        };
        assert!(content_value(&j, b"{nope")
            .unwrap_err()
            .message()
            .contains("failed to parse JSON"));
    }
}
