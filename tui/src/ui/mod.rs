//! The terminal UI.
//!
//! An Elm-style loop: the app state holds everything a frame is drawn from; an update function turns each
//! message (a key, a mouse event, a portal reply) into state changes and effects; effects run on tokio tasks
//! against `dyn Portal` and come back as messages; views draw from state alone, so they are snapshot-tested
//! with ratatui's `TestBackend`.

pub mod entity;
pub mod fuzzy;
pub mod text;
pub mod theme;
