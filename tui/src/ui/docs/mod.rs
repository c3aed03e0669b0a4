//! The TechDocs reader: a site's nav tree beside a rendered page, with links, a table of contents,
//! in-page search and per-page scroll positions.
//!
//! - [`render`]: markdown → styled terminal lines, with link, heading and anchor positions.

pub mod render;
