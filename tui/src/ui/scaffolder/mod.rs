//! Software templates in the terminal: the template list (`:templates`), the wizard (one [`form`] page per
//! parameter page, then a review with a dry run), the live task view and the task history (`:tasks`).

pub mod form;
