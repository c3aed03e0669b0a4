//! The TechDocs reader: a site's nav tree beside a rendered page, with links, a table of contents,
//! in-page search and per-page scroll positions.
//!
//! - [`render`]: markdown → styled terminal lines, with link, heading and anchor positions;
//! - [`nav`]: the site's nav flattened into the nav pane's rows, sections foldable;
//! - [`state`]: the reader's state ([`state::Reader`]);
//! - [`update`]: what keys and portal replies do to it (called from the app's update);
//! - [`view`]: drawing it, only the visible lines of a page.

pub mod nav;
pub mod render;
pub mod state;
pub mod update;
pub mod view;
