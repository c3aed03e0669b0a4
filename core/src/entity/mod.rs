//! Backstage's entity model: the envelope ([`Entity`]), references ([`EntityRef`]), validation and relations.

pub mod reference;
pub mod relations;
pub mod validation;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use reference::EntityRef;

/// `backstage.io/managed-by-location`: the `type:target` of the file that emitted the entity.
pub const ANNOTATION_LOCATION: &str = "backstage.io/managed-by-location";
/// `backstage.io/managed-by-origin-location`: the registered root location.
pub const ANNOTATION_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
pub const ANNOTATION_SOURCE_LOCATION: &str = "backstage.io/source-location";
pub const ANNOTATION_VIEW_URL: &str = "backstage.io/view-url";
pub const ANNOTATION_EDIT_URL: &str = "backstage.io/edit-url";
pub const ANNOTATION_ORPHAN: &str = "backstage.io/orphan";
/// What Backstage puts in place of a `javascript:` view or edit URL.
pub const REJECTED_URL: &str = "https://backstage.io/annotation-rejected-for-security-reasons";

/// An entity exactly as Backstage's JSON has it. Kept as a JSON object so that unknown spec fields,
/// projections (`fields=`) and round trips lose nothing; accessors give typed views of the well-known parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Entity(pub Map<String, Value>);

/// One stitched relation, as output in `relations[]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Relation {
    #[serde(rename = "type")]
    pub relation_type: String,
    #[serde(rename = "targetRef")]
    pub target_ref: String,
}

impl Entity {
    /// Wraps a JSON value; `None` unless it is an object.
    pub fn from_value(value: Value) -> Option<Entity> {
        match value {
            Value::Object(map) => Some(Entity(map)),
            _ => None,
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn api_version(&self) -> &str {
        self.0
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.0.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.0.get("metadata").and_then(Value::as_object)
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let slot = self
            .0
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(m) => m,
            _ => unreachable!("metadata was just made an object"),
        }
    }

    fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata()?.get(key)?.as_str()
    }

    pub fn name(&self) -> &str {
        self.metadata_str("name").unwrap_or("")
    }

    /// The namespace, `default` when absent.
    pub fn namespace(&self) -> &str {
        self.metadata_str("namespace").unwrap_or("default")
    }

    pub fn title(&self) -> Option<&str> {
        self.metadata_str("title")
    }

    pub fn description(&self) -> Option<&str> {
        self.metadata_str("description")
    }

    pub fn uid(&self) -> Option<&str> {
        self.metadata_str("uid")
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata()?
            .get("annotations")?
            .as_object()?
            .get(key)?
            .as_str()
    }

    /// Sets an annotation, creating `metadata.annotations` when needed.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        let meta = self.metadata_mut();
        let slot = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(ann) = slot {
            ann.insert(key.to_string(), Value::String(value.to_string()));
        }
    }

    pub fn tags(&self) -> Vec<&str> {
        self.metadata()
            .and_then(|m| m.get("tags"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub fn spec(&self) -> Option<&Map<String, Value>> {
        self.0.get("spec").and_then(Value::as_object)
    }

    /// A string field of `spec`.
    pub fn spec_str(&self, key: &str) -> Option<&str> {
        self.spec()?.get(key)?.as_str()
    }

    pub fn relations(&self) -> Vec<Relation> {
        self.0
            .get("relations")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The reference of this entity (kind, namespace and name, as written).
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef::new(self.kind(), self.namespace(), self.name())
    }

    /// A value at a dotted path such as `metadata.name` or `spec.type`. Annotation and label keys contain dots
    /// and slashes, so after `metadata.annotations.` / `metadata.labels.` the rest of the path is one key.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        for prefix in ["metadata.annotations.", "metadata.labels."] {
            if let Some(key) = path.strip_prefix(prefix) {
                let container = &prefix["metadata.".len()..prefix.len() - 1];
                return self.metadata()?.get(container)?.as_object()?.get(key);
            }
        }
        let mut parts = path.split('.');
        let mut current = self.0.get(parts.next()?)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Entity {
        Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "a", "annotations": {"backstage.io/x.y": "1"}, "tags": ["java"]},
            "spec": {"type": "service", "owner": "team-a"}
        }))
        .expect("object")
    }

    #[test]
    fn accessors_read_the_envelope() {
        let e = sample();
        assert_eq!(e.kind(), "Component");
        assert_eq!(e.namespace(), "default");
        assert_eq!(e.spec_str("owner"), Some("team-a"));
        assert_eq!(e.tags(), vec!["java"]);
        assert_eq!(e.entity_ref().to_string(), "component:default/a");
        assert_eq!(
            e.get_path("metadata.annotations.backstage.io/x.y"),
            Some(&json!("1"))
        );
        assert_eq!(e.get_path("spec.type"), Some(&json!("service")));
        assert_eq!(e.get_path("spec.nope"), None);
    }

    #[test]
    fn set_annotation_creates_the_map() {
        let mut e =
            Entity::from_value(json!({"kind": "Group", "metadata": {"name": "g"}})).unwrap();
        e.set_annotation(ANNOTATION_ORPHAN, "true");
        assert_eq!(e.annotation(ANNOTATION_ORPHAN), Some("true"));
    }
}
