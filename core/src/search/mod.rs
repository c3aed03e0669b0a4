//! Search: Backstage's search query contract (`GET /api/search/query`) and the documents it returns, over
//! the catalog (`software-catalog`) and TechDocs pages (`techdocs`).
//!
//! - [`query`]: the request and response types, shaped as Backstage's JSON.

pub mod query;

pub use query::{
    Highlight, SearchQuery, SearchResult, SearchResultSet, DEFAULT_MAX_PAGE_LIMIT,
    DEFAULT_MAX_TERM_LENGTH, DEFAULT_PAGE_LIMIT, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS,
};
