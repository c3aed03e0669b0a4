//! Collating: what the index holds for an entity (`software-catalog`) and for a stored docs site
//! (`techdocs`, one document per page and per heading of MkDocs' `search/search_index.json`), shaped as
//! Backstage's catalog and TechDocs collators shape them.
//!
//! - Catalog: `{title (metadata.title or name), text (description), location /catalog/:namespace/:kind/:name,
//!   kind, namespace, name, type, componentType, lifecycle, owner, tags}`. The location keeps the entity's own
//!   casing, as Backstage's catalog collator fills its template from the entity as given.
//! - TechDocs: `{title, text, location /docs/:namespace/:kind/:name/:path, path, kind, namespace, name,
//!   entityTitle, componentType, lifecycle, owner}`, with namespace, kind and name lower-cased as Backstage's
//!   TechDocs collator does (its non-legacy path casing).
//!
//! Besides its sections, every site gets one internal marker document carrying the site's etag, so a site
//! whose search index is empty is still known to be indexed.

use serde_json::{Map, Value};
use tantivy::TantivyDocument;

use super::query::{TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS};
use super::schema::SearchSchema;
use crate::entity::Entity;

/// The doc type of a site's marker document (never returned: queries only ask for public types).
pub const TYPE_SITE_MARKER: &str = "_techdocs-site";

/// Document fields that are not offered as filters (long free text).
const UNFILTERED: [&str; 1] = ["text"];

/// One document to index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    pub doc_type: &'static str,
    /// The canonical ref of the entity it belongs to.
    pub entity_ref: String,
    pub etag: String,
    /// Lower-cased whole entity name, only on catalog documents (the exact-name boost).
    pub name_key: Option<String>,
    /// Entity name as words (catalog documents).
    pub name: String,
    pub context: String,
    /// The Backstage document: `title`, `text`, `location`, ...
    pub document: Map<String, Value>,
}

/// The key updates delete by: one per (type, entity), so an entity's docs sections go together.
pub fn doc_key(doc_type: &str, entity_ref: &str) -> String {
    format!("{doc_type}:{entity_ref}")
}

fn text(value: &str) -> Value {
    Value::String(value.to_string())
}

/// The catalog document of a stored entity (`etag` is its stored etag).
pub fn entity_document(entity: &Entity, etag: &str) -> IndexDoc {
    let name = entity.name();
    let mut document = Map::new();
    document.insert("title".into(), text(entity.title().unwrap_or(name)));
    document.insert("text".into(), text(entity.description().unwrap_or("")));
    document.insert(
        "location".into(),
        Value::String(format!(
            "/catalog/{}/{}/{}",
            entity.namespace(),
            entity.kind(),
            name
        )),
    );
    document.insert("kind".into(), text(entity.kind()));
    document.insert("namespace".into(), text(entity.namespace()));
    document.insert("name".into(), text(name));
    let spec_type = entity.spec_str("type").unwrap_or("");
    document.insert("type".into(), text(spec_type));
    document.insert("componentType".into(), text(spec_type));
    document.insert(
        "lifecycle".into(),
        text(entity.spec_str("lifecycle").unwrap_or("")),
    );
    document.insert("owner".into(), text(entity.spec_str("owner").unwrap_or("")));
    let tags = entity.tags();
    document.insert(
        "tags".into(),
        Value::Array(tags.iter().map(|t| text(t)).collect()),
    );
    let mut context = tags.join(" ");
    context.push(' ');
    context.push_str(entity.kind());
    context.push(' ');
    context.push_str(spec_type);
    IndexDoc {
        doc_type: TYPE_SOFTWARE_CATALOG,
        entity_ref: entity.entity_ref().canonical(),
        etag: etag.to_string(),
        name_key: Some(name.to_lowercase()),
        name: name.to_string(),
        context,
        document,
    }
}

/// The etag a site's documents are built from: its own and its entity's (sections carry the entity's title,
/// owner and lifecycle, so a change to either rebuilds them).
pub fn site_etag(entity_etag: &str, docs_etag: &str) -> String {
    format!("{entity_etag}/{docs_etag}")
}

/// The TechDocs documents of `entity`'s site from its `search/search_index.json` (`None` or unreadable JSON
/// gives only the marker), plus the site's marker document carrying `etag` (see [`site_etag`]).
pub fn techdocs_documents(
    entity: &Entity,
    etag: &str,
    search_index: Option<&[u8]>,
) -> Vec<IndexDoc> {
    let entity_ref = entity.entity_ref().canonical();
    let namespace = entity.namespace().to_lowercase();
    let kind = entity.kind().to_lowercase();
    let name = entity.name().to_lowercase();
    let entity_title = entity.title().unwrap_or(entity.name());
    let context = format!("{} {}", entity.name(), entity.title().unwrap_or(""));
    let mut out = vec![IndexDoc {
        doc_type: TYPE_SITE_MARKER,
        entity_ref: entity_ref.clone(),
        etag: etag.to_string(),
        name_key: None,
        name: String::new(),
        context: String::new(),
        document: Map::new(),
    }];
    let entries = search_index
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .and_then(|v| v.get("docs").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    for entry in entries {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
        let path = field("location");
        let mut document = Map::new();
        document.insert("title".into(), text(field("title")));
        document.insert("text".into(), text(field("text")));
        document.insert(
            "location".into(),
            Value::String(format!("/docs/{namespace}/{kind}/{name}/{path}")),
        );
        document.insert("path".into(), text(path));
        document.insert("kind".into(), text(&kind));
        document.insert("namespace".into(), text(&namespace));
        document.insert("name".into(), text(&name));
        document.insert("entityTitle".into(), text(entity_title));
        document.insert(
            "componentType".into(),
            text(entity.spec_str("type").unwrap_or("")),
        );
        document.insert(
            "lifecycle".into(),
            text(entity.spec_str("lifecycle").unwrap_or("")),
        );
        document.insert("owner".into(), text(entity.spec_str("owner").unwrap_or("")));
        out.push(IndexDoc {
            doc_type: TYPE_TECHDOCS,
            entity_ref: entity_ref.clone(),
            // The marker carries the site's etag; sections go with it.
            etag: String::new(),
            name_key: None,
            name: String::new(),
            context: context.clone(),
            document,
        });
    }
    out
}

/// `field=value` facet terms of a document: every string (or list of strings) field but the free text.
pub fn facets(document: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (field, value) in document {
        if UNFILTERED.contains(&field.as_str()) {
            continue;
        }
        match value {
            Value::String(s) => out.push(facet_term(field, s)),
            Value::Array(items) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| facet_term(field, s)),
            ),
            _ => {}
        }
    }
    out
}

/// The indexed term of filter `field=value`: the field as named, the value lower-cased (filters match
/// values case-insensitively).
pub fn facet_term(field: &str, value: &str) -> String {
    format!("{field}={}", value.to_lowercase())
}

/// The tantivy document for `doc`.
pub fn to_tantivy(schema: &SearchSchema, doc: &IndexDoc) -> TantivyDocument {
    let mut out = TantivyDocument::new();
    out.add_text(schema.doc_type, doc.doc_type);
    out.add_text(schema.key, doc_key(doc.doc_type, &doc.entity_ref));
    if !doc.etag.is_empty() {
        out.add_text(schema.etag, &doc.etag);
    }
    if let Some(name_key) = &doc.name_key {
        out.add_text(schema.name_key, name_key);
    }
    for facet in facets(&doc.document) {
        out.add_text(schema.facet, facet);
    }
    let field = |k: &str| doc.document.get(k).and_then(Value::as_str).unwrap_or("");
    out.add_text(schema.name, &doc.name);
    out.add_text(schema.title, field("title"));
    out.add_text(schema.text, field("text"));
    out.add_text(schema.context, &doc.context);
    if doc.doc_type != TYPE_SITE_MARKER {
        out.add_text(
            schema.document,
            serde_json::to_string(&doc.document).unwrap_or_default(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity() -> Entity {
        Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "Shipment-Tracker", "title": "Shipment Tracker",
                         "description": "Tracks shipments.", "tags": ["kotlin", "rest"]},
            "spec": {"type": "service", "lifecycle": "production", "owner": "tracking-team"}
        }))
        .unwrap()
    }

    #[test]
    fn entity_documents_are_backstage_shaped() {
        let doc = entity_document(&entity(), "e1");
        assert_eq!(doc.doc_type, TYPE_SOFTWARE_CATALOG);
        assert_eq!(doc.entity_ref, "component:default/shipment-tracker");
        assert_eq!(doc.name_key.as_deref(), Some("shipment-tracker"));
        let d = &doc.document;
        assert_eq!(d["title"], "Shipment Tracker");
        assert_eq!(d["text"], "Tracks shipments.");
        assert_eq!(d["location"], "/catalog/default/Component/Shipment-Tracker");
        assert_eq!(d["type"], "service");
        assert_eq!(d["owner"], "tracking-team");
        assert_eq!(d["tags"], json!(["kotlin", "rest"]));
        let facets = facets(d);
        assert!(facets.contains(&"kind=component".to_string()));
        assert!(facets.contains(&"tags=kotlin".to_string()));
        assert!(!facets.iter().any(|f| f.starts_with("text=")));
    }

    #[test]
    fn a_site_gives_one_document_per_entry_and_a_marker() {
        let index = json!({"config": {}, "docs": [
            {"location": "", "title": "Home", "text": "Welcome"},
            {"location": "ops/#alerts", "title": "Alerts", "text": "Pages"},
            {"bogus": 1}
        ]})
        .to_string();
        let docs = techdocs_documents(&entity(), "e1/d1", Some(index.as_bytes()));
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[0].doc_type, TYPE_SITE_MARKER);
        assert_eq!(docs[0].etag, "e1/d1");
        let alerts = &docs[2].document;
        assert_eq!(
            alerts["location"],
            "/docs/default/component/shipment-tracker/ops/#alerts"
        );
        assert_eq!(alerts["path"], "ops/#alerts");
        assert_eq!(alerts["entityTitle"], "Shipment Tracker");
        assert_eq!(docs[3].document["title"], "");
        // Unreadable JSON: only the marker, so the site still counts as indexed.
        assert_eq!(techdocs_documents(&entity(), "x", Some(b"{")).len(), 1);
    }
}
