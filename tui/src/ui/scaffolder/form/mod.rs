//! One page of a template's form in the terminal: the fields a JSON Schema page describes (RJSF's widgets
//! and Backstage's field extensions), their values, inline validation and keys. The wizard
//! (`super::wizard`) strings pages together; this module knows nothing of tasks or the portal: pickers ask
//! for their choices with [`PageAction::LoadChoices`] and get them back through [`FormPage::set_choices`].
//!
//! Keys (also shown in the page's hint line):
//!
//! | Key | Does |
//! |---|---|
//! | Tab, Shift-Tab | next / previous field (a `RepoUrlPicker`'s host, owner and repo count as fields) |
//! | Down, Up | next / previous field, moving first through a field's options, list rows or lines (textarea) |
//! | typing, Left/Right, Home/End, Backspace/Delete, Ctrl-U | edit the focused text (Ctrl-U deletes to the line start) |
//! | Space | toggles a checkbox, picks a radio option; opens a select or picker |
//! | Enter | opens a select or picker list; adds the typed item to a list; a newline in a textarea; otherwise the next field, and on the last one the next page |
//! | in an open list: typing, Up/Down, Enter, Esc | fuzzy filter, move, pick (or take the typed ref when arbitrary values are allowed), close |
//! | Backspace / Delete on a list row or a picked entity | removes it |
//! | Ctrl-N / PageDown | next page, if the page validates (else the cursor jumps to the first error) |
//! | Ctrl-P / PageUp | previous page |
//! | Esc | leave the wizard |
//!
//! Submodules: [`schema`] (schema → fields, `dependencies`), [`field`] (field kinds, states, values),
//! [`validate`] (RJSF-worded checks), [`editor`] (text editing), [`list`] (fuzzy lists), [`repo_url`]
//! (`RepoUrlPicker`), [`view`] (drawing).

pub mod editor;
pub mod field;
pub mod list;
pub mod repo_url;
pub mod schema;
pub mod validate;
pub mod view;

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::Frame;
use serde_json::{Map, Value};
use stagedoor_core::entity::EntityRef;

use crate::ui::text::{sanitize, strip_escapes};
use crate::ui::theme::Theme;

use editor::Editor;
use field::{get_at, insert_at, to_value, Choices, FieldSpec, Kind, PickerSpec, State};
use list::{ListItem, ListPopup};

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
    schema: Value,
    user_ref: Option<String>,
    /// What the page started from, for fields a dependency brings in later.
    initial: Map<String, Value>,
    /// The fields shown for the current values, in order (groups and hidden fields included).
    fields: Vec<FieldSpec>,
    /// Every field's state by key, kept when a dependency hides the field (it comes back as it was).
    states: BTreeMap<String, State>,
    errors: BTreeMap<String, String>,
    /// Index into `fields` of the focused field (`fields.len()` when nothing is focusable).
    focus: usize,
    /// The focus stop inside it (an option, a list row, a repo part).
    stop: usize,
    list: Option<ListPopup>,
}

/// `kind:namespace/name` as Backstage's `stringifyEntityRef` writes it.
fn stringify(r: &EntityRef) -> String {
    format!(
        "{}:{}/{}",
        r.kind.to_lowercase(),
        r.namespace.to_lowercase(),
        r.name
    )
}

/// A ref shortened for display: the default kind and namespace left out (`humanizeEntityRef`).
pub fn humanize(entity_ref: &str, spec: &PickerSpec) -> String {
    let Ok(r) = EntityRef::parse_with_defaults(entity_ref, spec.default_kind.as_deref(), "") else {
        return entity_ref.to_string();
    };
    let ns = spec.default_namespace.as_deref().unwrap_or("default");
    let mut out = String::new();
    if !spec
        .default_kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case(&r.kind))
    {
        out.push_str(&r.kind.to_lowercase());
        out.push(':');
    }
    if !r.namespace.eq_ignore_ascii_case(ns) {
        out.push_str(&r.namespace);
        out.push('/');
    }
    out.push_str(&r.name);
    out
}

impl FormPage {
    /// The page for `schema` (one entry of `ParameterSchema.steps`), starting from `values` (what earlier
    /// visits or `--values` set) and filling the rest from schema `default`s. `user_ref` is the signed-in
    /// user, for `OwnedEntityPicker`.
    pub fn new(schema: &Value, values: &Map<String, Value>, user_ref: Option<&str>) -> FormPage {
        let mut page = FormPage {
            schema: schema.clone(),
            user_ref: user_ref.map(str::to_string),
            initial: values.clone(),
            fields: schema::fields(schema, values, user_ref),
            states: BTreeMap::new(),
            errors: BTreeMap::new(),
            focus: 0,
            stop: 0,
            list: None,
        };
        page.ensure_states();
        page.rebuild();
        page.focus = page
            .fields
            .iter()
            .position(|f| f.focusable() && f.autofocus)
            .or_else(|| page.fields.iter().position(FieldSpec::focusable))
            .unwrap_or(page.fields.len());
        page
    }

    fn ensure_states(&mut self) {
        for f in &self.fields {
            if !self.states.contains_key(&f.key) {
                let st = State::from_value(f, get_at(&self.initial, &f.path));
                self.states.insert(f.key.clone(), st);
            }
        }
    }

    /// Values of the shown fields, secrets included or not.
    fn collect(&self, with_secrets: bool) -> Map<String, Value> {
        let mut out = Map::new();
        for f in &self.fields {
            if f.kind == Kind::Group || (f.secret && !with_secrets) {
                continue;
            }
            if let Some(Ok(Some(v))) = self.states.get(&f.key).map(|s| to_value(f, s)) {
                insert_at(&mut out, &f.path, v);
            }
        }
        out
    }

    /// Recomputes the shown fields after a value changed (a `dependencies` branch may switch), keeping
    /// the focus on the same field.
    fn rebuild(&mut self) {
        let focused = self.fields.get(self.focus).map(|f| f.key.clone());
        for _ in 0..8 {
            let fields =
                schema::fields(&self.schema, &self.collect(true), self.user_ref.as_deref());
            let same = fields == self.fields;
            self.fields = fields;
            self.ensure_states();
            if same {
                break;
            }
        }
        if let Some(key) = focused {
            if let Some(i) = self.fields.iter().position(|f| f.key == key) {
                self.focus = i;
            }
        }
        if self.focus >= self.fields.len() || !self.fields[self.focus].focusable() {
            self.focus = self
                .fields
                .iter()
                .position(FieldSpec::focusable)
                .unwrap_or(self.fields.len());
            self.stop = 0;
        }
        let visible: Vec<String> = self.fields.iter().map(|f| f.key.clone()).collect();
        self.errors.retain(|k, _| visible.contains(k));
    }

    fn spec(&self) -> Option<&FieldSpec> {
        self.fields.get(self.focus)
    }

    fn state(&self) -> Option<&State> {
        self.states.get(&self.spec()?.key)
    }

    fn state_mut(&mut self) -> Option<&mut State> {
        let key = self.fields.get(self.focus)?.key.clone();
        self.states.get_mut(&key)
    }

    fn stops(&self, i: usize) -> usize {
        match (
            self.fields.get(i),
            self.fields.get(i).and_then(|f| self.states.get(&f.key)),
        ) {
            (Some(f), Some(s)) => f.stops(s),
            _ => 1,
        }
    }

    /// Whether the focused stop is a free-text editor (as opposed to a list-only choice).
    fn editor_mut(&mut self) -> Option<&mut Editor> {
        let stop = self.stop;
        let spec = self.fields.get(self.focus)?.clone();
        match (&spec.kind, self.state_mut()?) {
            (Kind::Text { .. } | Kind::Number { .. } | Kind::Json, State::Text(e)) => Some(e),
            (Kind::List { .. }, State::List { items, input }) if stop == items.len() => Some(input),
            (Kind::RepoUrl(r), State::Repo(st)) => {
                let free = if stop == 0 {
                    r.hosts.is_empty()
                } else {
                    st.parts()
                        .get(stop - 1)
                        .is_some_and(|p| repo_url::allowed(r, p).is_empty())
                };
                if free {
                    st.editor_mut(stop)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn multiline(&self) -> bool {
        matches!(
            self.spec().map(|f| &f.kind),
            Some(Kind::Text { rows: Some(_), .. } | Kind::Json)
        )
    }

    /// After the focused field's value changed: its error is rechecked, dependencies re-resolved.
    fn changed(&mut self) {
        if let Some(f) = self.spec().cloned() {
            if self.errors.contains_key(&f.key) {
                self.check_field(&f);
            }
        }
        self.rebuild();
    }

    fn check_field(&mut self, f: &FieldSpec) {
        match self.states.get(&f.key).and_then(|s| validate::check(f, s)) {
            Some(e) => {
                self.errors.insert(f.key.clone(), e);
            }
            None => {
                self.errors.remove(&f.key);
            }
        }
    }

    /// Focus moves to field `i` (stop `stop`): the field left is checked if something was entered, a
    /// picker entered for the first time asks for its choices.
    fn focus_field(&mut self, i: usize, stop: usize) -> PageAction {
        if i != self.focus {
            if let Some(f) = self.spec().cloned() {
                if let Some(Ok(Some(_))) = self.state().map(|s| to_value(&f, s)) {
                    self.check_field(&f);
                }
            }
        }
        self.focus = i;
        self.stop = stop;
        self.load_choices_if_needed()
    }

    fn load_choices_if_needed(&mut self) -> PageAction {
        let Some(f) = self.spec().cloned() else {
            return PageAction::None;
        };
        let Kind::Picker(p) = &f.kind else {
            return PageAction::None;
        };
        match self.state_mut() {
            Some(State::Picker { choices, .. }) if *choices == Choices::NotLoaded => {
                *choices = Choices::Loading;
                PageAction::LoadChoices {
                    field: f.key.clone(),
                    filter: p.filter.clone(),
                }
            }
            _ => PageAction::None,
        }
    }

    /// One stop forward or back; `false` when there is nowhere to go.
    fn step(&mut self, forward: bool) -> (bool, PageAction) {
        if self.focus >= self.fields.len() {
            return (false, PageAction::None);
        }
        if forward {
            if self.stop + 1 < self.stops(self.focus) {
                self.stop += 1;
                return (true, PageAction::None);
            }
            match (self.focus + 1..self.fields.len()).find(|&i| self.fields[i].focusable()) {
                Some(i) => (true, self.focus_field(i, 0)),
                None => (false, PageAction::None),
            }
        } else {
            if self.stop > 0 {
                self.stop -= 1;
                return (true, PageAction::None);
            }
            match (0..self.focus).rev().find(|&i| self.fields[i].focusable()) {
                Some(i) => {
                    let last = self.stops(i) - 1;
                    (true, self.focus_field(i, last))
                }
                None => (false, PageAction::None),
            }
        }
    }

    /// Tab / Shift-Tab: the next or previous field, landing on the stop typing goes to (a list's input
    /// row); a `RepoUrlPicker`'s parts count as fields here.
    fn jump(&mut self, forward: bool) -> (bool, PageAction) {
        if matches!(self.spec().map(|f| &f.kind), Some(Kind::RepoUrl(_))) {
            let last = self.stops(self.focus) - 1;
            if (forward && self.stop < last) || (!forward && self.stop > 0) {
                return self.step(forward);
            }
        }
        let next = if forward {
            (self.focus + 1..self.fields.len()).find(|&i| self.fields[i].focusable())
        } else {
            (0..self.focus.min(self.fields.len()))
                .rev()
                .find(|&i| self.fields[i].focusable())
        };
        let Some(i) = next else {
            return (false, PageAction::None);
        };
        let last = self.stops(i) - 1;
        let stop = match &self.fields[i].kind {
            Kind::List { .. } | Kind::Picker(PickerSpec { multi: true, .. }) => last,
            Kind::RepoUrl(_) if !forward => last,
            _ => 0,
        };
        (true, self.focus_field(i, stop))
    }

    /// Enter on an ordinary field: the next one, or the next page from the last.
    fn advance(&mut self) -> PageAction {
        match self.jump(true) {
            (true, action) => action,
            (false, _) => self.try_next(),
        }
    }

    fn try_next(&mut self) -> PageAction {
        if self.validate() {
            return PageAction::Next;
        }
        if let Some(i) = self
            .fields
            .iter()
            .position(|f| self.errors.contains_key(&f.key) && f.focusable())
        {
            return self.focus_field(i, 0);
        }
        PageAction::None
    }

    /// Opens the focused field's list, if it has one.
    fn open_list(&mut self, query: Option<char>) -> Option<PageAction> {
        let f = self.spec()?.clone();
        let stop = self.stop;
        let mut action = PageAction::None;
        let (items, arbitrary, status) = match (&f.kind, self.state()?) {
            (
                Kind::Select {
                    options,
                    radio: false,
                },
                _,
            ) => (
                options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ListItem {
                        label: o.label.clone(),
                        detail: None,
                        value: i.to_string(),
                    })
                    .collect(),
                false,
                None,
            ),
            (Kind::Picker(p), State::Picker { items, .. }) if !p.multi || stop == items.len() => {
                action = self.load_choices_if_needed();
                let Some(State::Picker { choices, .. }) = self.state() else {
                    return None;
                };
                let (items, status) = picker_items(p, choices);
                (items, p.arbitrary, status)
            }
            (Kind::RepoUrl(r), State::Repo(st)) => {
                let allowed: &[String] = if stop == 0 {
                    &r.hosts
                } else {
                    repo_url::allowed(r, st.parts().get(stop - 1)?)
                };
                // No list, or a single allowed value that is already filled in.
                if allowed.len() < 2 {
                    return None;
                }
                (
                    allowed
                        .iter()
                        .map(|a| ListItem {
                            label: a.clone(),
                            detail: None,
                            value: a.clone(),
                        })
                        .collect(),
                    false,
                    None,
                )
            }
            _ => return None,
        };
        let mut list = ListPopup::new(self.focus, stop, items, arbitrary);
        list.status = status;
        if let Some(c) = query {
            list.query.insert(&c.to_string());
            list.refilter();
        }
        self.list = Some(list);
        Some(action)
    }

    /// The open list's pick, stored into its field.
    fn pick(&mut self, value: String) {
        let Some(list) = self.list.take() else {
            return;
        };
        let Some(f) = self.fields.get(list.field).cloned() else {
            return;
        };
        let Some(state) = self.states.get_mut(&f.key) else {
            return;
        };
        match (&f.kind, state) {
            (Kind::Select { .. }, State::Select(sel)) => *sel = value.parse().ok(),
            (Kind::Picker(p), State::Picker { items, .. }) => {
                // A typed ref is completed with the default kind and namespace, as Backstage does.
                let value = match EntityRef::parse_with_defaults(
                    &value,
                    p.default_kind.as_deref(),
                    p.default_namespace.as_deref().unwrap_or(""),
                ) {
                    Ok(r) if !list.items.iter().any(|i| i.value == value) => stringify(&r),
                    _ => value,
                };
                if p.multi {
                    if !items.contains(&value) {
                        items.push(value);
                    }
                    // Stay on the "add" row for the next one.
                    self.stop = items.len();
                } else {
                    *items = vec![value];
                }
            }
            (Kind::RepoUrl(_), State::Repo(st)) => {
                if let Some(e) = st.editor_mut(list.stop) {
                    e.set(&value);
                }
            }
            _ => {}
        }
        self.changed();
    }

    fn list_key(&mut self, key: KeyEvent) -> PageAction {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(list) = self.list.as_mut() else {
            return PageAction::None;
        };
        match key.code {
            KeyCode::Esc => self.list = None,
            // Nothing to take (no match, arbitrary values not allowed): the list stays open.
            KeyCode::Enter => {
                if let Some(v) = list.picked() {
                    self.pick(v);
                }
            }
            KeyCode::Up => list.up(),
            KeyCode::Down => list.down(),
            KeyCode::Char('p') if ctrl => list.up(),
            KeyCode::Char('n') if ctrl => list.down(),
            KeyCode::Char('u') if ctrl => {
                list.query.clear_before();
                list.refilter();
            }
            KeyCode::Char(c) if !ctrl => {
                list.query.insert(&c.to_string());
                list.refilter();
            }
            KeyCode::Backspace => {
                list.query.backspace();
                list.refilter();
            }
            KeyCode::Delete => {
                list.query.delete();
                list.refilter();
            }
            KeyCode::Left => list.query.left(),
            KeyCode::Right => list.query.right(),
            KeyCode::Home => list.query.home(),
            KeyCode::End => list.query.end(),
            _ => {}
        }
        PageAction::None
    }

    /// Backspace/Delete outside a text: removes a list row or a picked entity, clears a select.
    fn remove_at_stop(&mut self) -> bool {
        let stop = self.stop;
        let removed = match self.state_mut() {
            Some(State::List { items, .. }) | Some(State::Picker { items, .. })
                if stop < items.len() =>
            {
                items.remove(stop);
                true
            }
            _ => false,
        };
        if removed {
            self.changed();
            return true;
        }
        let single = matches!(
            self.spec().map(|f| &f.kind),
            Some(Kind::Picker(PickerSpec { multi: false, .. }))
                | Some(Kind::Select { radio: false, .. })
        );
        if single {
            match self.state_mut() {
                Some(State::Picker { items, .. }) => items.clear(),
                Some(State::Select(sel)) => *sel = None,
                _ => {}
            }
            self.changed();
            return true;
        }
        false
    }

    /// Space or Enter on a toggle: checkbox, boolean, radio option.
    fn toggle(&mut self) -> bool {
        let stop = self.stop;
        let toggled = match self.state_mut() {
            Some(State::Bool(b)) => {
                *b = Some(!b.unwrap_or(false));
                true
            }
            Some(State::Checks(c)) => {
                if let Some(x) = c.get_mut(stop) {
                    *x = !*x;
                }
                true
            }
            Some(State::Select(sel)) => {
                *sel = Some(stop);
                true
            }
            _ => false,
        };
        if toggled {
            self.changed();
        }
        toggled
    }

    /// What the page needs once shown: the choices of a picker that has `ui:autofocus` (call it after
    /// [`FormPage::new`]; later pickers ask when they get the focus).
    pub fn start(&mut self) -> PageAction {
        self.load_choices_if_needed()
    }

    /// Whether a select or picker list is open (Esc then closes the list, not the wizard).
    pub fn list_open(&self) -> bool {
        self.list.is_some()
    }

    /// See the module doc for the keys.
    pub fn handle_key(&mut self, key: KeyEvent) -> PageAction {
        if key.kind == KeyEventKind::Release {
            return PageAction::None;
        }
        if self.list.is_some() {
            return self.list_key(key);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let radio = matches!(
            self.spec().map(|f| &f.kind),
            Some(Kind::Select { radio: true, .. } | Kind::Checkboxes { .. } | Kind::Boolean)
        );
        match key.code {
            KeyCode::Esc => return PageAction::Cancel,
            KeyCode::PageDown => return self.try_next(),
            KeyCode::PageUp => return PageAction::Back,
            KeyCode::Char('n') if ctrl => return self.try_next(),
            KeyCode::Char('p') if ctrl => return PageAction::Back,
            KeyCode::Tab if key.modifiers.contains(KeyModifiers::SHIFT) => {
                return self.jump(false).1
            }
            KeyCode::Tab => return self.jump(true).1,
            KeyCode::BackTab => return self.jump(false).1,
            KeyCode::Down | KeyCode::Up => {
                let up = key.code == KeyCode::Up;
                if self.multiline() {
                    if let Some(e) = self.editor_mut() {
                        if e.vertical(up) {
                            return PageAction::None;
                        }
                    }
                }
                return self.step(!up).1;
            }
            KeyCode::Enter => {
                if self.multiline() {
                    if let Some(e) = self.editor_mut() {
                        e.insert("\n");
                        self.changed();
                        return PageAction::None;
                    }
                }
                // A list's input row with text: the text becomes a row.
                let stop = self.stop;
                if let Some(State::List { items, input }) = self.state_mut() {
                    if stop == items.len() && !input.text.trim().is_empty() {
                        items.push(input.text.trim().to_string());
                        input.set("");
                        self.stop += 1;
                        self.changed();
                        return PageAction::None;
                    }
                }
                if let Some(action) = self.open_list(None) {
                    return action;
                }
                return self.advance();
            }
            KeyCode::Char(' ') if radio && !ctrl => {
                self.toggle();
                return PageAction::None;
            }
            KeyCode::Backspace | KeyCode::Delete if self.editor_mut().is_none() => {
                self.remove_at_stop();
                return PageAction::None;
            }
            _ => {}
        }
        let Some(e) = self.editor_mut() else {
            // A select or picker opens on Space or on the first typed character.
            if let KeyCode::Char(c) = key.code {
                if !ctrl && !alt {
                    let query = (c != ' ').then_some(c);
                    if let Some(action) = self.open_list(query) {
                        return action;
                    }
                }
            }
            return PageAction::None;
        };
        let edited = match key.code {
            KeyCode::Char('u') if ctrl => {
                e.clear_before();
                true
            }
            KeyCode::Char('a') if ctrl => {
                e.home();
                false
            }
            KeyCode::Char('e') if ctrl => {
                e.end();
                false
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                e.insert(&c.to_string());
                true
            }
            KeyCode::Backspace => {
                e.backspace();
                true
            }
            KeyCode::Delete => {
                e.delete();
                true
            }
            KeyCode::Left => {
                e.left();
                false
            }
            KeyCode::Right => {
                e.right();
                false
            }
            KeyCode::Home => {
                e.home();
                false
            }
            KeyCode::End => {
                e.end();
                false
            }
            _ => false,
        };
        if edited {
            self.changed();
        }
        PageAction::None
    }

    /// Pastes text into the focused text field.
    pub fn paste(&mut self, text: &str) {
        if let Some(list) = self.list.as_mut() {
            list.query.insert(&sanitize(text));
            list.refilter();
            return;
        }
        let multiline = self.multiline();
        if let Some(e) = self.editor_mut() {
            let clean = if multiline {
                strip_escapes(text).replace('\t', "    ")
            } else {
                sanitize(text)
            };
            e.insert(&clean);
            self.changed();
        }
    }

    /// A picker's choices arrived (or failed: `Err` is shown under the field).
    pub fn set_choices(&mut self, field: &str, choices: Result<Vec<EntityChoice>, String>) {
        let Some(State::Picker { choices: slot, .. }) = self.states.get_mut(field) else {
            return;
        };
        *slot = match choices {
            Ok(list) => Choices::Loaded(list),
            Err(e) => Choices::Failed(e),
        };
        let slot = slot.clone();
        let spec = self.fields.iter().position(|f| f.key == field);
        if let (Some(list), Some(i)) = (self.list.as_mut(), spec) {
            if list.field == i {
                if let Kind::Picker(p) = &self.fields[i].kind {
                    let (items, status) = picker_items(p, &slot);
                    list.set_items(items);
                    list.status = status;
                }
            }
        }
    }

    /// Checks every visible field, marks the errors in place, and says whether the page may be left.
    pub fn validate(&mut self) -> bool {
        self.errors.clear();
        for f in self.fields.clone() {
            if f.kind != Kind::Group {
                self.check_field(&f);
            }
        }
        self.errors.is_empty()
    }

    /// The page's values for `parameters`: visible fields only (hidden `dependencies` branches dropped),
    /// `Secret` fields excluded, empty optional fields left out.
    pub fn values(&self) -> Map<String, Value> {
        self.collect(false)
    }

    /// `Secret` fields' values, by key (they go to the task's `secrets`).
    pub fn secrets(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter(|f| f.secret)
            .filter_map(|f| match self.states.get(&f.key)?.editor() {
                Some(e) if !e.text.is_empty() => Some((f.key.clone(), e.text.clone())),
                _ => None,
            })
            .collect()
    }

    /// `(label, shown value)` rows for the review screen: secrets and `ui:widget: password` masked,
    /// `ui:backstage.review.show: false` left out, `review.mask` applied. Empty fields and
    /// `ui:widget: hidden` ones (never shown to the user) are left out too; text is sanitised.
    pub fn review_rows(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        for f in &self.fields {
            if f.kind == Kind::Group || f.hidden || !f.review_show {
                continue;
            }
            let Some(state) = self.states.get(&f.key) else {
                continue;
            };
            let Ok(Some(value)) = to_value(f, state) else {
                continue;
            };
            let masked = f.secret || matches!(f.kind, Kind::Text { mask: true, .. });
            let shown = match (&f.review_mask, masked) {
                (Some(mask), _) => mask.clone(),
                (None, true) => "******".to_string(),
                (None, false) => display(f, &value),
            };
            rows.push((sanitize(&self.label_path(f)), sanitize(&shown)));
        }
        rows
    }

    /// A nested field's label with its groups' labels in front (`Owner profile › Display name`).
    fn label_path(&self, f: &FieldSpec) -> String {
        let mut parts = Vec::new();
        for n in 1..f.path.len() {
            let key = f.path[..n].join(".");
            let label = self
                .fields
                .iter()
                .find(|g| g.key == key)
                .map_or(key.clone(), |g| g.label.clone());
            parts.push(label);
        }
        parts.push(f.label.clone());
        parts.join(" › ")
    }

    /// The key hints for the focused field, `(keys, what)`: the wizard may draw them; [`FormPage::render`]
    /// draws them on its last line.
    pub fn hints(&self) -> Vec<(&'static str, &'static str)> {
        if self.list.is_some() {
            return vec![
                ("type", "filter"),
                ("↑↓", "move"),
                ("enter", "pick"),
                ("esc", "close"),
            ];
        }
        let mut out = vec![("tab ⇧tab", "field")];
        match self.spec().map(|f| &f.kind) {
            Some(Kind::Text { rows: Some(_), .. } | Kind::Json) => out.push(("enter", "newline")),
            Some(Kind::Boolean | Kind::Checkboxes { .. } | Kind::Select { radio: true, .. }) => {
                out.push(("space", "toggle"))
            }
            Some(Kind::Select { .. } | Kind::Picker(_) | Kind::RepoUrl(_)) => {
                out.push(("enter", "choose"))
            }
            Some(Kind::List { .. }) => {
                out.push(("↑↓", "rows"));
                out.push(("enter", "add"));
                out.push(("del", "remove"));
            }
            _ => {}
        }
        out.extend([("ctrl-n", "next"), ("ctrl-p", "back"), ("esc", "cancel")]);
        out
    }

    /// Draws the page's fields into `area` (the wizard draws the progress header and hints around it).
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        view::render(self, frame, area, theme);
    }
}

/// A value as the review shows it: option labels for selects, lists joined with commas.
fn display(f: &FieldSpec, value: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (&f.kind, value) {
        (Kind::Select { options, .. }, v) => options
            .iter()
            .find(|o| field::same(&o.value, v))
            .map_or_else(|| text(v), |o| o.label.clone()),
        (Kind::Checkboxes { options }, Value::Array(items)) => items
            .iter()
            .map(|v| {
                options
                    .iter()
                    .find(|o| field::same(&o.value, v))
                    .map_or_else(|| text(v), |o| o.label.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Kind::Json, v) => v.to_string(),
        (_, Value::Array(items)) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        (_, v) => text(v),
    }
}

/// A picker's list items and status for its choices.
fn picker_items(p: &PickerSpec, choices: &Choices) -> (Vec<ListItem>, Option<String>) {
    match choices {
        Choices::Loaded(list) => (
            list.iter()
                .map(|c| ListItem {
                    label: humanize(&c.entity_ref, p),
                    detail: c.title.clone(),
                    value: c.entity_ref.clone(),
                })
                .collect(),
            None,
        ),
        Choices::Failed(e) => (Vec::new(), Some(format!("could not load entities: {e}"))),
        Choices::NotLoaded | Choices::Loading => (Vec::new(), Some("loading entities…".into())),
    }
}

#[cfg(test)]
mod tests;
