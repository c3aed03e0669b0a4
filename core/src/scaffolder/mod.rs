//! The scaffolder (Software Templates): templates are catalog entities; a task renders their steps' inputs
//! with `${{ }}` expressions in a sandboxed engine, runs built-in actions in a per-task workspace nothing may
//! escape, and records its log as stored events that clients stream.
//!
//! - [`types`]: Backstage's REST shapes (tasks, events, parameter schemas, dry runs).
//! - [`templating`]: the sandboxed `${{ }}` engine and its filters.
//! - [`workspace`]: path confinement for every action.
//! - [`actions`]: the built-in actions and their registry.
//! - [`settings`]: the `scaffolder:` config section.
//! - [`template`]: Template entities (form pages, steps, base URL) and values validation.
//! - [`runner`]: runs a task's steps; [`redact`] masks secrets in every event; [`dryrun`]: `POST /v2/dry-run`.
//! - [`service`]: task creation, workers, heartbeats, cancellation and the stale-task sweep.

pub mod actions;
pub mod dryrun;
pub mod follow;
pub mod redact;
pub mod runner;
pub mod service;
pub mod settings;
pub mod template;
pub mod templating;
pub mod types;
pub mod workspace;

pub use types::*;
