//! The search request and its answer, as Backstage's search backend speaks them:
//! `{results: [{type, document, highlight?, rank?}], nextPageCursor?, previousPageCursor?, numberOfResults?}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The document type of catalog entities.
pub const TYPE_SOFTWARE_CATALOG: &str = "software-catalog";
/// The document type of TechDocs page sections.
pub const TYPE_TECHDOCS: &str = "techdocs";
/// Backstage's `search.maxTermLength` default.
pub const DEFAULT_MAX_TERM_LENGTH: usize = 100;
/// Backstage's `search.maxPageLimit` default.
pub const DEFAULT_MAX_PAGE_LIMIT: usize = 100;
/// Results per page when the request names no `pageLimit`.
pub const DEFAULT_PAGE_LIMIT: usize = 25;

/// A search request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// What the user typed; treated as text (query syntax in it is never interpreted).
    pub term: String,
    /// Document types to search (`software-catalog`, `techdocs`); empty means all.
    pub types: Vec<String>,
    /// `filters[field]=value`: every field must match one of its values (case-insensitively).
    pub filters: BTreeMap<String, Vec<String>>,
    /// An opaque cursor from a previous answer.
    pub page_cursor: Option<String>,
    /// Results per page; `None` means [`DEFAULT_PAGE_LIMIT`].
    pub page_limit: Option<usize>,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResultSet {
    pub results: Vec<SearchResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_results: Option<u64>,
}

/// One result: the document as indexed, where the terms matched, and its 1-based rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// `software-catalog` or `techdocs`.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// `{title, text, location, ...}`: for entities also `kind, namespace, name, type, lifecycle, owner,
    /// tags`; for docs `path, kind, namespace, name, entityTitle, componentType, lifecycle, owner`.
    pub document: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

/// Excerpts of the matched fields with the terms wrapped in `pre_tag` / `post_tag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Highlight {
    pub pre_tag: String,
    pub post_tag: String,
    pub fields: BTreeMap<String, String>,
}

impl SearchResult {
    /// A string field of the document.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.document.get(name).and_then(Value::as_str)
    }
}
