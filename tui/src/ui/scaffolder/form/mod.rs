//! One page of a template's form in the terminal: the fields a JSON Schema page describes (RJSF's widgets
//! and Backstage's field extensions), their values, inline validation and keys. The wizard
//! (`super::wizard`) strings pages together; this module knows nothing of tasks or the portal: pickers ask
//! for their choices with [`PageAction::LoadChoices`] and get them back through [`FormPage::set_choices`].

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use serde_json::{Map, Value};

use crate::ui::theme::Theme;

/// An entity a picker offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityChoice {
    /// `kind:namespace/name` as the catalog spells it.
    pub entity_ref: String,
    /// `metadata.title`, when set.
    pub title: Option<String>,
    pub kind: String,
}

/// What the wizard must do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum PageAction {
    /// Nothing beyond redrawing.
    None,
    /// The page is valid and the user asked for the next page (or the review after the last).
    Next,
    /// The user asked for the previous page.
    Back,
    /// The user left the wizard.
    Cancel,
    /// A picker needs the entities matching `filter` (its `catalogFilter`, in Backstage's catalog filter
    /// syntax: an object or a list of objects; `None` = every entity); answer with
    /// [`FormPage::set_choices`] using the same `field`.
    LoadChoices {
        field: String,
        filter: Option<Value>,
    },
}

/// One wizard page: its fields, values and focus.
#[derive(Debug, Clone)]
pub struct FormPage {
    _private: (),
}

impl FormPage {
    /// The page for `schema` (one entry of `ParameterSchema.steps`), starting from `values` (what earlier
    /// visits or `--values` set) and filling the rest from schema `default`s. `user_ref` is the signed-in
    /// user, for `OwnedEntityPicker`.
    pub fn new(schema: &Value, values: &Map<String, Value>, user_ref: Option<&str>) -> FormPage {
        let _ = (schema, values, user_ref);
        todo!("form: issue 7")
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> PageAction {
        let _ = key;
        todo!("form: issue 7")
    }

    /// Pastes text into the focused text field.
    pub fn paste(&mut self, text: &str) {
        let _ = text;
        todo!("form: issue 7")
    }

    /// A picker's choices arrived (or failed: `Err` is shown under the field).
    pub fn set_choices(&mut self, field: &str, choices: Result<Vec<EntityChoice>, String>) {
        let _ = (field, choices);
        todo!("form: issue 7")
    }

    /// Checks every visible field, marks the errors in place, and says whether the page may be left.
    pub fn validate(&mut self) -> bool {
        todo!("form: issue 7")
    }

    /// The page's values for `parameters`: visible fields only (hidden `dependencies` branches dropped),
    /// `Secret` fields excluded, empty optional fields left out.
    pub fn values(&self) -> Map<String, Value> {
        todo!("form: issue 7")
    }

    /// `Secret` fields' values, by key (they go to the task's `secrets`).
    pub fn secrets(&self) -> BTreeMap<String, String> {
        todo!("form: issue 7")
    }

    /// `(label, shown value)` rows for the review screen: secrets and `ui:widget: password` masked,
    /// `ui:backstage.review.show: false` left out, `review.mask` applied.
    pub fn review_rows(&self) -> Vec<(String, String)> {
        todo!("form: issue 7")
    }

    /// Draws the page's fields into `area` (the wizard draws the progress header and hints around it).
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let _ = (frame, area, theme);
        todo!("form: issue 7")
    }
}
