//! The global search overlay (`Ctrl-K`, `s`): a popup over any screen with instant fuzzy matching over every
//! entity's name, title and ref (an in-memory list loaded once through the portal's cursors), and, on
//! `Tab`, the portal's full-text search over the catalog and TechDocs with highlighted snippets. `Enter`
//! opens the entity page, or the docs reader at the page and heading of a docs hit.
//!
//! - [`state`]: the overlay, the name list and the recent searches; [`update`]: keys and replies;
//! - [`view`]: drawing from state alone.

pub mod state;
pub mod update;
pub mod view;
