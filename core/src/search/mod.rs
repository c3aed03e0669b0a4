//! Search: Backstage's search query contract (`GET /api/search/query`) and the documents it returns, over
//! the catalog (`software-catalog`) and TechDocs pages (`techdocs`), answered from a tantivy full-text index.
//!
//! - [`query`]: the request and response types, shaped as Backstage's JSON.
//! - [`schema`]: the index's fields and text analyzer, and its schema version.
//! - [`documents`]: entity → document and docs site → documents, as Backstage's collators make them.
//! - [`index`]: the index's lifecycle: open or rebuild, incremental sync against the store, atomic swaps.
//! - [`searcher`]: query building from the user's words, ranking, filters, paging and highlights.
//!
//! Visibility: the embedded portal has no per-entity permissions, so every indexed document is returned to
//! whoever may call [`crate::Portal::search`]; a front end with permissions must filter (Backstage filters by
//! each document's resource ref against `catalog.entity.read`).

pub mod documents;
pub mod index;
pub mod query;
pub mod schema;
pub mod searcher;

use std::path::PathBuf;

use crate::error::PortalError;
use crate::store::StoreError;

pub use index::{IndexLocation, SearchIndex, SyncReport};
pub use query::{
    Highlight, SearchQuery, SearchResult, SearchResultSet, DEFAULT_MAX_PAGE_LIMIT,
    DEFAULT_MAX_TERM_LENGTH, DEFAULT_PAGE_LIMIT, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS,
};

/// A search failure: a bad request (`Input`), or a fault of the index or the store beneath it.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Input(String),
    #[error("search index: {0}")]
    Index(String),
    #[error("search index directory {} is in use by another process", .0.display())]
    Busy(PathBuf),
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SearchError> for PortalError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Input(m) => PortalError::Input(m),
            SearchError::Store(e) => e.into(),
            other => PortalError::Internal(other.to_string()),
        }
    }
}
