//! Software templates in the terminal: the template list (`:templates`), the wizard (one [`form`] page per
//! parameter page, then a review with a dry run), the live task view and the task history (`:tasks`).
//!
//! - [`templates`]: the template list; [`wizard`]: pages, progress header, review and dry run;
//! - [`task`]: one task's live view; [`tasks`]: the history;
//! - [`filter`]: pickers' `catalogFilter` as store predicates; [`update`]: keys and portal answers.

pub mod filter;
pub mod form;
pub mod task;
pub mod tasks;
pub mod templates;
pub mod update;
pub mod wizard;
