//! One form field: what the schema says about it ([`FieldSpec`], [`Kind`]) and what the user has entered
//! ([`State`]), with the conversions between a state and the JSON value it stands for.

use serde_json::{Map, Value};

use super::editor::Editor;
use super::repo_url;
use super::EntityChoice;

/// One option of a select, radio group or checkbox group.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub label: String,
    pub value: Value,
}

/// How an entity picker finds and writes its refs.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerSpec {
    pub multi: bool,
    /// The catalog filter sent with [`super::PageAction::LoadChoices`].
    pub filter: Option<Value>,
    pub default_kind: Option<String>,
    pub default_namespace: Option<String>,
    /// A typed ref not in the list is accepted (`allowArbitraryValues`, default true).
    pub arbitrary: bool,
}

/// The `allowed*` lists of a `RepoUrlPicker`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepoSpec {
    pub hosts: Vec<String>,
    pub owners: Vec<String>,
    pub organizations: Vec<String>,
    pub projects: Vec<String>,
    pub repos: Vec<String>,
}

/// What kind of widget a field is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A string: plain, `textarea` (`rows`), password or `Secret` (`mask`), `EntityNamePicker`.
    Text {
        rows: Option<u16>,
        mask: bool,
        format: Option<String>,
        pattern: Option<String>,
        min_len: Option<u64>,
        max_len: Option<u64>,
        entity_name: bool,
    },
    Number {
        integer: bool,
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    /// `enum` (+ `enumNames`) or `oneOf: [{const, title}]`; `radio` draws every option.
    Select {
        options: Vec<Opt>,
        radio: bool,
    },
    /// An array of `enum` items with `uniqueItems`: one checkbox per option.
    Checkboxes {
        options: Vec<Opt>,
    },
    /// An array of strings: add/remove rows; `tags` checks each as an entity tag (`EntityTagsPicker`).
    List {
        tags: bool,
        unique: bool,
    },
    Picker(PickerSpec),
    RepoUrl(RepoSpec),
    /// Anything the form cannot draw as a widget (arrays of objects): edited as JSON text.
    Json,
    /// A nested object's heading; its properties follow as their own fields.
    Group,
}

/// A field as the schema describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Where the value sits in `parameters` (more than one part inside nested objects).
    pub path: Vec<String>,
    /// `path` joined with `.`: the field's name in [`super::PageAction::LoadChoices`] and errors.
    pub key: String,
    pub label: String,
    pub required: bool,
    pub help: Option<String>,
    /// Why the field is not drawn as its schema asks (an unknown `ui:field`).
    pub note: Option<String>,
    pub placeholder: Option<String>,
    pub default: Option<Value>,
    pub kind: Kind,
    /// `ui:widget: hidden`: kept in the values, never drawn.
    pub hidden: bool,
    /// `ui:field: Secret`: the value goes to `secrets`.
    pub secret: bool,
    pub autofocus: bool,
    /// `ui:backstage.review.show`.
    pub review_show: bool,
    /// `ui:backstage.review.mask`.
    pub review_mask: Option<String>,
    /// Nesting level (0 on the page, 1 inside an object, ...).
    pub depth: usize,
    /// An array's `minItems` / `maxItems`.
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
}

impl FieldSpec {
    /// Whether the cursor can land on it.
    pub fn focusable(&self) -> bool {
        !self.hidden && self.kind != Kind::Group
    }

    /// How many focus stops the field has (an option, a list row, a RepoUrlPicker part).
    pub fn stops(&self, state: &State) -> usize {
        match (&self.kind, state) {
            (
                Kind::Select {
                    options,
                    radio: true,
                },
                _,
            )
            | (Kind::Checkboxes { options }, _) => options.len().max(1),
            (Kind::List { .. }, State::List { items, .. }) => items.len() + 1,
            (Kind::Picker(p), State::Picker { items, .. }) if p.multi => items.len() + 1,
            (Kind::RepoUrl(_), State::Repo(r)) => 1 + r.parts().len(),
            _ => 1,
        }
    }
}

/// Choices of a picker: asked for once, then kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Choices {
    NotLoaded,
    Loading,
    Loaded(Vec<EntityChoice>),
    Failed(String),
}

/// What the user has entered into a field.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Text, textarea, number and JSON fields.
    Text(Editor),
    /// `None` until set (no default): left out of the values.
    Bool(Option<bool>),
    /// Index into the options.
    Select(Option<usize>),
    Checks(Vec<bool>),
    List {
        items: Vec<String>,
        input: Editor,
    },
    /// Picked refs (at most one for a single picker).
    Picker {
        items: Vec<String>,
        choices: Choices,
    },
    Repo(repo_url::RepoState),
    None,
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().map(as_text).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

impl State {
    /// The state showing `value` (what was set before, else the default).
    pub fn from_value(spec: &FieldSpec, value: Option<&Value>) -> State {
        let value = value.or(spec.default.as_ref());
        match &spec.kind {
            Kind::Text { .. } | Kind::Number { .. } => {
                State::Text(Editor::new(&value.map(as_text).unwrap_or_default()))
            }
            Kind::Json => State::Text(Editor::new(
                &value
                    .and_then(|v| serde_json::to_string_pretty(v).ok())
                    .unwrap_or_default(),
            )),
            Kind::Boolean => State::Bool(value.and_then(Value::as_bool)),
            Kind::Select { options, .. } => {
                State::Select(value.and_then(|v| options.iter().position(|o| same(&o.value, v))))
            }
            Kind::Checkboxes { options } => {
                let picked = match value {
                    Some(Value::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                State::Checks(
                    options
                        .iter()
                        .map(|o| picked.iter().any(|v| same(&o.value, v)))
                        .collect(),
                )
            }
            Kind::List { .. } => State::List {
                items: strings(value),
                input: Editor::default(),
            },
            Kind::Picker(_) => State::Picker {
                items: strings(value),
                choices: Choices::NotLoaded,
            },
            Kind::RepoUrl(spec) => State::Repo(repo_url::RepoState::new(
                spec,
                value.and_then(Value::as_str).unwrap_or(""),
            )),
            Kind::Group => State::None,
        }
    }

    /// The text editor of a text-like field.
    pub fn editor(&self) -> Option<&Editor> {
        match self {
            State::Text(e) => Some(e),
            _ => None,
        }
    }
}

/// Equal as JSON, with numbers compared by value (`1.0` is `1`).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Why a text could not become the field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bad {
    NotNumber { integer: bool },
    NotJson(String),
}

/// The value `state` stands for; `Ok(None)` when empty (left out of the values).
pub fn to_value(spec: &FieldSpec, state: &State) -> Result<Option<Value>, Bad> {
    Ok(match (&spec.kind, state) {
        (Kind::Text { .. }, State::Text(e)) => {
            (!e.text.is_empty()).then(|| Value::String(e.text.clone()))
        }
        (Kind::Number { integer, .. }, State::Text(e)) => {
            let t = e.text.trim();
            if t.is_empty() {
                None
            } else if let Ok(i) = t.parse::<i64>() {
                Some(Value::from(i))
            } else {
                match t.parse::<f64>() {
                    Ok(f) if f.is_finite() && !*integer => Some(Value::from(f)),
                    _ => return Err(Bad::NotNumber { integer: *integer }),
                }
            }
        }
        (Kind::Json, State::Text(e)) => {
            if e.text.trim().is_empty() {
                None
            } else {
                Some(serde_json::from_str(&e.text).map_err(|err| Bad::NotJson(err.to_string()))?)
            }
        }
        (Kind::Boolean, State::Bool(b)) => b.map(Value::Bool),
        (Kind::Select { options, .. }, State::Select(i)) => {
            i.and_then(|i| options.get(i)).map(|o| o.value.clone())
        }
        (Kind::Checkboxes { options }, State::Checks(checks)) => Some(Value::Array(
            options
                .iter()
                .zip(checks)
                .filter(|(_, c)| **c)
                .map(|(o, _)| o.value.clone())
                .collect(),
        ))
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty())),
        (Kind::List { .. }, State::List { items, .. }) => (!items.is_empty())
            .then(|| Value::Array(items.iter().cloned().map(Value::String).collect())),
        (Kind::Picker(p), State::Picker { items, .. }) => {
            if p.multi {
                (!items.is_empty())
                    .then(|| Value::Array(items.iter().cloned().map(Value::String).collect()))
            } else {
                items.first().cloned().map(Value::String)
            }
        }
        (Kind::RepoUrl(_), State::Repo(r)) => r.value().map(Value::String),
        _ => None,
    })
}

/// Puts `value` at `path` in `map`, creating the objects on the way.
pub fn insert_at(map: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_at(inner, rest, value);
            }
        }
    }
}

/// The value at `path` in `map`.
pub fn get_at<'a>(map: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = map.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        get_at(v.as_object()?, rest)
    }
}
