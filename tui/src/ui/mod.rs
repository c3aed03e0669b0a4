//! The terminal UI.
//!
//! An Elm-style loop: the app state holds everything a frame is drawn from; an update function turns each
//! message (a key, a mouse event, a portal reply) into state changes and effects; effects run on tokio tasks
//! against `dyn Portal` and come back as messages; views draw from state alone, so they are snapshot-tested
//! with ratatui's `TestBackend`.
//!
//! - [`state`]: the [`state::App`]; [`msg`]: messages and effects; [`update`]: the pure update function;
//! - [`effects`]: effects on tokio tasks; [`run`]: the terminal loop;
//! - [`keymap`]: the one binding table; [`views`]: drawing; [`entity`]: the entity page;
//! - [`docs`]: the TechDocs reader; [`search`]: the global search overlay.

pub mod docs;
pub mod effects;
pub mod entity;
pub mod fuzzy;
pub mod keymap;
pub mod msg;
pub mod run;
pub mod scaffolder;
pub mod search;
pub mod state;
pub mod text;
pub mod theme;
pub mod update;
pub mod views;
