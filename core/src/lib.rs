//! stagedoor-core: the portal's domain, with no HTTP and no terminal.
//!
//! - [`entity`]: Backstage's entity model (envelope, refs, validation, relations).
//! - [`config`]: `app-config.yaml` loading as Backstage does it.
//! - [`ingest`]: reading locations into processed entities.
//! - [`store`]: the [`store::Store`] seam and its SQLite implementation.
//! - [`portal`]: the [`portal::Portal`] seam every client (CLI, TUI, HTTP) uses, and [`portal::LocalPortal`].
//! - [`devgen`]: deterministic generated catalogs for benchmarks and tests.

pub mod config;
pub mod devgen;
pub mod entity;
pub mod error;
pub mod ingest;
mod local;
pub mod portal;
pub mod scaffolder;
pub mod search;
pub mod store;
pub mod techdocs;
#[cfg(test)]
mod test_http;

pub use entity::{Entity, EntityRef};
pub use error::PortalError;
pub use portal::{LocalPortal, Portal};
