//! TechDocs: documentation sites read from mkdocs sources (no Python, no Docker), built into pages, a
//! table of contents, a search index and metadata in MkDocs' and Backstage's shapes.
//!
//! - [`site`]: where an entity's site lives (`backstage.io/techdocs-ref`), its `mkdocs.yml` (allow-listed
//!   keys) or Backstage's default site, the nav, and confinement of every path to the entity's source tree.
//! - [`page`]: one markdown page: title, headings with their anchors, plain text for search, safe HTML.
//! - [`index`]: `search/search_index.json` and `techdocs_metadata.json`.
//! - [`build`]: all of it for one site, with an etag hashing the sources.
//! - [`service`]: an entity's sources, and sync (build when changed, store).
//! - [`remote`]: the prepare stage for sources at a URL (downloaded, then built like a local tree).
//! - [`publish`]: the files a built site stores and serves, and the reader's description of it.

pub mod build;
pub mod index;
pub mod page;
pub mod publish;
pub mod remote;
pub mod service;
pub mod site;
