//! The scaffolder (Software Templates): templates are catalog entities; a task renders their steps' inputs
//! with `${{ }}` expressions in a sandboxed engine, runs built-in actions in a per-task workspace nothing may
//! escape, and records its log as stored events that clients stream.
//!
//! - [`types`]: Backstage's REST shapes (tasks, events, parameter schemas, dry runs).
//! - [`templating`]: the sandboxed `${{ }}` engine and its filters.
//! - [`workspace`]: path confinement for every action.
//! - [`actions`]: the built-in actions and their registry.
//! - [`settings`]: the `scaffolder:` config section.

pub mod actions;
pub mod settings;
pub mod templating;
pub mod types;
pub mod workspace;

pub use types::*;
