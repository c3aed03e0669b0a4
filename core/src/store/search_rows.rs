//! Flattens an entity into lowercase `(key, value)` search rows, as Backstage's `buildEntitySearch` does.
//!
//! Relations are deliberately not flattened here: `relations.<type>` filters and facets are answered from the
//! relations table, so a change to another entity's relations never forces this entity's rows to be rebuilt.

use std::collections::HashSet;

use serde_json::Value;

use crate::entity::reference::DEFAULT_NAMESPACE;
use crate::entity::{Entity, ANNOTATION_ORPHAN};

/// Keys and values longer than this are not indexed (Backstage: indexed columns dislike huge values).
const MAX_KEY_LENGTH: usize = 200;
const MAX_VALUE_LENGTH: usize = 200;

/// Paths the generic walk leaves out: not worth indexing, or added explicitly below.
const SPECIAL_KEYS: [&str; 7] = [
    "attachments",
    "relations",
    "status",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.etag",
];

/// One row of the search table. `value` is the lowercased original value; `original_value` is set only when
/// it differs from `value` (readers take `COALESCE(original_value, value)`), which keeps the `(key, value)`
/// index small: most values are already lowercase. Both are `None` for a null leaf or a value too long to
/// index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    pub key: String,
    pub value: Option<String>,
    pub original_value: Option<String>,
}

/// The search key of the orphan annotation, added when the store marks an entity orphaned.
pub fn orphan_key() -> String {
    format!("metadata.annotations.{ANNOTATION_ORPHAN}")
}

/// Builds the search rows of an entity stored under `uid`; `orphan` adds the orphan annotation the store
/// stitches in. Fails, like Backstage, when two keys differ only in case.
pub fn build_search_rows(
    entity: &Entity,
    uid: &str,
    orphan: bool,
) -> Result<Vec<SearchRow>, String> {
    let mut raw: Vec<(String, Option<String>)> = Vec::new();
    let mut seen_item_keys: HashSet<String> = HashSet::new();
    for (key, value) in entity.as_map() {
        visit(key, value, &mut raw, &mut seen_item_keys);
    }

    let meta = entity.metadata();
    let meta_str = |k: &str| meta.and_then(|m| m.get(k)).and_then(scalar_string);
    raw.push(("metadata.name".into(), meta_str("name")));
    let namespace = meta_str("namespace");
    let namespace_missing = !matches!(namespace.as_deref(), Some(ns) if !ns.is_empty());
    raw.push(("metadata.namespace".into(), namespace));
    raw.push(("metadata.uid".into(), Some(uid.to_string())));
    if namespace_missing {
        raw.push(("metadata.namespace".into(), Some(DEFAULT_NAMESPACE.into())));
    }
    if orphan && entity.annotation(ANNOTATION_ORPHAN).is_none() {
        raw.push((orphan_key(), Some("true".into())));
    }

    check_case_duplicates(&raw)?;

    let mut rows = Vec::with_capacity(raw.len());
    let mut seen: HashSet<(String, Option<String>)> = HashSet::with_capacity(raw.len());
    for (raw_key, raw_value) in raw {
        let key = raw_key.to_lowercase();
        if js_len(&key) > MAX_KEY_LENGTH {
            continue;
        }
        let row = match raw_value {
            Some(original) => {
                let value = original.to_lowercase();
                if js_len(&value) <= MAX_VALUE_LENGTH {
                    let original_value = (value != original).then_some(original);
                    SearchRow {
                        key,
                        value: Some(value),
                        original_value,
                    }
                } else {
                    SearchRow {
                        key,
                        value: None,
                        original_value: None,
                    }
                }
            }
            None => SearchRow {
                key,
                value: None,
                original_value: None,
            },
        };
        if seen.insert((row.key.clone(), row.value.clone())) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Length as JavaScript counts it (UTF-16 units), so the 200 limit cuts where Backstage's does.
fn js_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn visit(
    path: &str,
    current: &Value,
    out: &mut Vec<(String, Option<String>)>,
    seen_item_keys: &mut HashSet<String>,
) {
    if SPECIAL_KEYS.contains(&path) {
        return;
    }
    match current {
        Value::Null => out.push((path.to_string(), None)),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push((path.to_string(), scalar_string(current)))
        }
        Value::Array(items) => {
            for item in items {
                visit(path, item, out, seen_item_keys);
                if let Value::String(s) = item {
                    // `path.<item> = true` lets one filter require several items of a list at once.
                    let item_key = format!("{path}.{s}");
                    if seen_item_keys.insert(item_key.to_lowercase()) {
                        out.push((item_key, Some("true".into())));
                    }
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                visit(&format!("{path}.{k}"), v, out, seen_item_keys);
            }
        }
    }
}

/// A scalar as JavaScript's `String(value)` prints it; `None` for null and containers.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

fn check_case_duplicates(raw: &[(String, Option<String>)]) -> Result<(), String> {
    let keys: HashSet<&str> = raw.iter().map(|(k, _)| k.as_str()).collect();
    let mut lower: HashSet<String> = keys.iter().map(|k| k.to_lowercase()).collect();
    if keys.len() == lower.len() {
        return Ok(());
    }
    // Report in first-seen order so the message is stable.
    let mut ordered: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for (k, _) in raw {
        if seen.insert(k.as_str()) {
            ordered.push(k);
        }
    }
    let mut bad: Vec<String> = Vec::new();
    for k in ordered {
        let l = k.to_lowercase();
        if !lower.remove(&l) && !bad.contains(&l) {
            bad.push(l);
        }
    }
    Err(format!(
        "Entity has duplicate keys that vary only in casing, '{}'",
        bad.join("', '")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: Value) -> Entity {
        Entity::from_value(v).unwrap()
    }

    fn has(rows: &[SearchRow], key: &str, value: Option<&str>) -> bool {
        rows.iter()
            .any(|r| r.key == key && r.value.as_deref() == value)
    }

    #[test]
    fn flattens_like_backstage() {
        let e = entity(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "Artist-Lookup", "tags": ["Java", "data"], "annotations": {"a.b/C": "X"},
                         "uid": "ignored", "etag": "ignored"},
            "spec": {"type": "service", "n": 3, "f": 1.5, "b": true, "nothing": null,
                     "list": [{"i": 1}, {"i": 2}]},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/x"}],
            "status": {"items": []}
        }));
        let rows = build_search_rows(&e, "U1", false).unwrap();
        assert!(has(&rows, "kind", Some("component")));
        assert!(has(&rows, "metadata.name", Some("artist-lookup")));
        assert!(has(&rows, "metadata.namespace", None));
        assert!(has(&rows, "metadata.namespace", Some("default")));
        assert!(has(&rows, "metadata.uid", Some("u1")));
        assert!(has(&rows, "metadata.tags", Some("java")));
        assert!(has(&rows, "metadata.tags.java", Some("true")));
        assert!(has(&rows, "metadata.tags.data", Some("true")));
        assert!(has(&rows, "metadata.annotations.a.b/c", Some("x")));
        assert!(has(&rows, "spec.n", Some("3")));
        assert!(has(&rows, "spec.f", Some("1.5")));
        assert!(has(&rows, "spec.b", Some("true")));
        assert!(has(&rows, "spec.nothing", None));
        assert!(has(&rows, "spec.list.i", Some("1")));
        assert!(has(&rows, "spec.list.i", Some("2")));
        assert!(!rows.iter().any(|r| r.key.starts_with("relations")));
        assert!(!rows.iter().any(|r| r.key.starts_with("status")));
        assert!(!rows.iter().any(|r| r.key == "metadata.etag"));
        assert_eq!(rows.iter().filter(|r| r.key == "metadata.uid").count(), 1);
        let name = rows.iter().find(|r| r.key == "metadata.name").unwrap();
        assert_eq!(name.original_value.as_deref(), Some("Artist-Lookup"));
        let lifecycle_free = rows.iter().find(|r| r.key == "spec.type").unwrap();
        assert_eq!(lifecycle_free.original_value, None, "same as the value");
    }

    #[test]
    fn long_values_are_nulled_and_long_keys_skipped() {
        let long = "x".repeat(201);
        let e = entity(json!({"kind": "A", "metadata": {"name": "a"},
            "spec": {"v": long.clone(), "ok": "x".repeat(200)}}));
        let rows = build_search_rows(&e, "u", false).unwrap();
        assert!(has(&rows, "spec.v", None));
        assert!(rows.iter().any(|r| r.key == "spec.ok" && r.value.is_some()));
        let e =
            entity(json!({"kind": "A", "metadata": {"name": "a"}, "spec": {long.clone(): "v"}}));
        let rows = build_search_rows(&e, "u", false).unwrap();
        assert!(!rows.iter().any(|r| r.key.contains(&long)));
    }

    #[test]
    fn duplicate_array_items_give_one_row() {
        let e = entity(json!({"kind": "A", "metadata": {"name": "a", "tags": ["java", "Java"]}}));
        let rows = build_search_rows(&e, "u", false).unwrap();
        assert_eq!(rows.iter().filter(|r| r.key == "metadata.tags").count(), 1);
        assert_eq!(
            rows.iter()
                .filter(|r| r.key == "metadata.tags.java")
                .count(),
            1
        );
    }

    #[test]
    fn case_duplicate_keys_fail() {
        let e =
            entity(json!({"kind": "A", "metadata": {"name": "a"}, "spec": {"foo": 1, "Foo": 2}}));
        let err = build_search_rows(&e, "u", false).unwrap_err();
        assert_eq!(
            err,
            "Entity has duplicate keys that vary only in casing, 'spec.foo'"
        );
    }

    #[test]
    fn orphan_adds_the_annotation_row() {
        let e = entity(json!({"kind": "A", "metadata": {"name": "a"}}));
        let rows = build_search_rows(&e, "u", true).unwrap();
        assert!(has(
            &rows,
            "metadata.annotations.backstage.io/orphan",
            Some("true")
        ));
    }
}
