//! The one table of key bindings. Dispatch, the `?` help overlay and the bottom hint bar all read it, so
//! a binding shown to the user is always the binding that works; `stagedoor.keys` in the configuration
//! replaces an action's keys (`stagedoor: {keys: {quit: "ctrl-q", filter: ["f", "/"]}}`).

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde_json::Value;

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Command,
    Filter,
    Help,
    Back,
    Open,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Deps,
    Refresh,
    Sort,
    SortOrder,
    Toggle,
    Docs,
    NextLink,
    PrevLink,
    Toc,
    Search,
    NextMatch,
    PrevMatch,
    Copy,
    FocusNav,
    FocusPage,
    /// Opens (or closes) the global search overlay.
    GlobalSearch,
    /// In the overlay: fuzzy names or full text.
    SearchMode,
    /// In the overlay: which document types full text searches.
    SearchType,
    /// In the overlay: the previous / next result (letters type into the input, so not `j`/`k`).
    SearchUp,
    SearchDown,
    /// Opens the template list (`:templates`).
    Templates,
    /// On the wizard's review: create the task.
    Create,
    /// On the wizard's review: a dry run.
    DryRun,
    /// In the task view: cancel the running task.
    CancelTask,
}

impl Action {
    /// Every action, in the order help lists them.
    pub const ALL: [Action; 38] = [
        Action::Open,
        Action::Back,
        Action::Command,
        Action::GlobalSearch,
        Action::SearchMode,
        Action::SearchType,
        Action::SearchUp,
        Action::SearchDown,
        Action::Filter,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextPane,
        Action::PrevPane,
        Action::Deps,
        Action::Docs,
        Action::NextLink,
        Action::PrevLink,
        Action::Search,
        Action::NextMatch,
        Action::PrevMatch,
        Action::Toc,
        Action::FocusNav,
        Action::FocusPage,
        Action::Copy,
        Action::Templates,
        Action::Create,
        Action::DryRun,
        Action::CancelTask,
        Action::Toggle,
        Action::Sort,
        Action::SortOrder,
        Action::Refresh,
        Action::Help,
        Action::Quit,
    ];

    /// The name used in `stagedoor.keys`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Command => "command",
            Action::Filter => "filter",
            Action::Help => "help",
            Action::Back => "back",
            Action::Open => "open",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Deps => "dependencies",
            Action::Refresh => "refresh",
            Action::Sort => "sort",
            Action::SortOrder => "sort_order",
            Action::Toggle => "toggle",
            Action::Docs => "docs",
            Action::NextLink => "next_link",
            Action::PrevLink => "prev_link",
            Action::Toc => "toc",
            Action::Search => "search",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "prev_match",
            Action::Copy => "copy",
            Action::FocusNav => "focus_nav",
            Action::FocusPage => "focus_page",
            Action::GlobalSearch => "global_search",
            Action::SearchMode => "search_mode",
            Action::SearchType => "search_type",
            Action::SearchUp => "search_up",
            Action::SearchDown => "search_down",
            Action::Templates => "templates",
            Action::Create => "create",
            Action::DryRun => "dry_run",
            Action::CancelTask => "cancel_task",
        }
    }

    fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// Where a binding applies. `Global` applies everywhere (in normal mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    /// The catalog table has focus.
    Table,
    /// The catalog's facet panel has focus.
    Facets,
    /// An entity page.
    Entity,
    /// The docs reader, its nav tree focused.
    DocsNav,
    /// The docs reader, its page focused.
    DocsPage,
    /// The template list and the task history.
    Scaffolder,
    /// The wizard's review (and its dry run).
    Review,
    /// The task view.
    Task,
    /// A wizard page: the form has every key (none of the table's apply).
    Wizard,
    /// The global search overlay (its input has the keys: printable characters are always typed, and
    /// global bindings apply only to the other keys).
    SearchOverlay,
}

/// One key with its modifiers. Shift is part of the character (`G`), never a separate flag, because
/// terminals disagree on whether they report it for letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// The key of a crossterm event (press or repeat; releases are not keys).
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let code = match event.code {
            // Some terminals send BackTab as Shift-Tab.
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `ctrl-q`, `alt-x`, `enter`, `pgdn`, `G`, `?`, `f5`, ...
    pub fn parse(text: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                f if f.starts_with('f') => {
                    KeyCode::F(f[1..].parse().ok().filter(|n| (1..=12).contains(n))?)
                }
                _ => return None,
            },
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<Key>,
    pub contexts: &'static [Context],
    /// What help says it does.
    pub help: &'static str,
    /// The short label of the hint bar; `None` keeps it out of the bar (still in help).
    pub hint: Option<&'static str>,
}

/// A bad `stagedoor.keys` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("stagedoor.keys.{action}: '{key}' is not a key (examples: \"q\", \"ctrl-q\", \"alt-x\", \"enter\", \"esc\", \"tab\", \"pgdn\", \"f1\")")]
    BadKey { action: String, key: String },
    #[error("stagedoor.keys: '{0}' is not an action (actions: {list})", list = action_list())]
    UnknownAction(String),
    #[error("stagedoor.keys.{0}: expected a key or a list of keys")]
    BadValue(String),
    #[error("stagedoor.keys: expected a map of action to key(s)")]
    NotAMap,
}

fn action_list() -> String {
    Action::ALL.map(Action::name).join(", ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Context::*;
        use KeyCode as K;
        let b = |action, keys: Vec<Key>, contexts, help, hint| Binding {
            action,
            keys,
            contexts,
            help,
            hint,
        };
        const LISTS: &[Context] = &[
            Table, Facets, Entity, DocsNav, DocsPage, Scaffolder, Review, Task,
        ];
        const DOCS: &[Context] = &[DocsNav, DocsPage];
        Keymap {
            bindings: vec![
                b(
                    Action::Open,
                    vec![Key::plain(K::Enter)],
                    &[
                        Table,
                        Facets,
                        Entity,
                        DocsNav,
                        DocsPage,
                        SearchOverlay,
                        Scaffolder,
                        Task,
                    ],
                    "open the selection / follow the link",
                    Some("open"),
                ),
                b(
                    Action::Back,
                    vec![Key::plain(K::Esc)],
                    &[Global],
                    "back (clears the filter first)",
                    Some("back"),
                ),
                b(
                    Action::Command,
                    vec![Key::char(':')],
                    &[Global],
                    "command mode (:comp, :api, :sys, ... Tab completes)",
                    Some("cmd"),
                ),
                b(
                    Action::GlobalSearch,
                    // `s` is a character the overlay's input types; Ctrl-K works everywhere.
                    vec![Key::ctrl('k'), Key::char('s')],
                    &[Global],
                    "search everything: fuzzy names, tab for full text (catalog and docs)",
                    None,
                ),
                b(
                    Action::SearchMode,
                    vec![Key::plain(K::Tab)],
                    &[SearchOverlay],
                    "search: fuzzy names / full text",
                    // The overlay's own footer shows its keys, with what they do in the current mode.
                    None,
                ),
                b(
                    Action::SearchType,
                    vec![Key::ctrl('t')],
                    &[SearchOverlay],
                    "search: full text over all / catalog / docs",
                    None,
                ),
                b(
                    Action::SearchUp,
                    vec![Key::plain(K::Up), Key::ctrl('p')],
                    &[SearchOverlay],
                    "search: previous result",
                    None,
                ),
                b(
                    Action::SearchDown,
                    vec![Key::plain(K::Down), Key::ctrl('n')],
                    &[SearchOverlay],
                    "search: next result",
                    None,
                ),
                b(
                    Action::Filter,
                    vec![Key::char('/')],
                    &[Table, Scaffolder],
                    "fuzzy filter over name, title, description and tags",
                    Some("filter"),
                ),
                b(
                    Action::Up,
                    vec![Key::char('k'), Key::plain(K::Up)],
                    LISTS,
                    "move up",
                    None,
                ),
                b(
                    Action::Down,
                    vec![Key::char('j'), Key::plain(K::Down)],
                    LISTS,
                    "move down",
                    None,
                ),
                b(
                    Action::PageUp,
                    vec![Key::plain(K::PageUp), Key::ctrl('b')],
                    LISTS,
                    "page up",
                    None,
                ),
                b(
                    Action::PageDown,
                    vec![Key::plain(K::PageDown), Key::ctrl('f')],
                    LISTS,
                    "page down",
                    None,
                ),
                b(
                    Action::Top,
                    vec![Key::char('g'), Key::plain(K::Home)],
                    LISTS,
                    "first row",
                    None,
                ),
                b(
                    Action::Bottom,
                    vec![Key::char('G'), Key::plain(K::End)],
                    LISTS,
                    "last row (loads more)",
                    None,
                ),
                b(
                    Action::NextPane,
                    vec![Key::plain(K::Tab)],
                    &[Table, Facets, Entity, DocsNav],
                    "next pane (facets, entity tab, docs page)",
                    Some("pane"),
                ),
                b(
                    Action::PrevPane,
                    vec![Key::plain(K::BackTab)],
                    &[Entity],
                    "previous tab of the entity page",
                    None,
                ),
                b(
                    Action::Deps,
                    // `d` opens the docs (issue 5), so the dependency tree moved to `D`.
                    vec![Key::char('D')],
                    &[Entity],
                    "dependency tree around the entity (again: back to the tab)",
                    Some("deps"),
                ),
                b(
                    Action::Docs,
                    vec![Key::char('d')],
                    &[Entity],
                    "read the entity's TechDocs (:docs REF opens any entity's)",
                    Some("docs"),
                ),
                b(
                    Action::NextLink,
                    vec![Key::plain(K::Tab)],
                    &[DocsPage],
                    "next link in the page (enter follows)",
                    Some("link"),
                ),
                b(
                    Action::PrevLink,
                    vec![Key::plain(K::BackTab)],
                    &[DocsPage],
                    "previous link in the page",
                    None,
                ),
                b(
                    Action::Search,
                    vec![Key::char('/')],
                    DOCS,
                    "search in the page (n / N: next / previous match)",
                    Some("search"),
                ),
                b(
                    Action::NextMatch,
                    vec![Key::char('n')],
                    &[DocsPage],
                    "next search match",
                    None,
                ),
                b(
                    Action::PrevMatch,
                    vec![Key::char('N')],
                    &[DocsPage],
                    "previous search match",
                    None,
                ),
                b(
                    Action::Toc,
                    vec![Key::char('t')],
                    DOCS,
                    "table of contents: show and focus it, then hide it",
                    Some("toc"),
                ),
                b(
                    Action::FocusNav,
                    vec![Key::char('h'), Key::plain(K::Left)],
                    DOCS,
                    "focus the docs nav tree",
                    None,
                ),
                b(
                    Action::FocusPage,
                    vec![Key::char('l'), Key::plain(K::Right)],
                    DOCS,
                    "focus the docs page",
                    None,
                ),
                b(
                    Action::Copy,
                    vec![Key::char('y')],
                    &[DocsNav, DocsPage, Task],
                    "copy the link's URL to the clipboard (OSC 52)",
                    Some("copy"),
                ),
                b(
                    Action::Templates,
                    vec![Key::char('T')],
                    &[Table, Facets, Entity, Scaffolder],
                    "software templates (:templates; :tasks lists their runs)",
                    None,
                ),
                b(
                    Action::Create,
                    vec![Key::plain(K::Enter)],
                    &[Review],
                    "create the task with these values",
                    Some("create"),
                ),
                b(
                    Action::DryRun,
                    vec![Key::char('d')],
                    &[Review],
                    "dry run: the files it would create, and its log",
                    Some("dry run"),
                ),
                b(
                    Action::CancelTask,
                    vec![Key::char('c')],
                    &[Task],
                    "cancel the running task",
                    Some("cancel"),
                ),
                b(
                    Action::Toggle,
                    vec![Key::char(' '), Key::char('x')],
                    &[Facets, DocsNav],
                    "toggle the facet value / fold the nav section",
                    Some("toggle"),
                ),
                b(
                    Action::Sort,
                    // `o`rder: `s` opens the search overlay (issue 6).
                    vec![Key::char('o')],
                    &[Table],
                    "sort by the next column",
                    Some("sort"),
                ),
                b(
                    Action::SortOrder,
                    vec![Key::char('O')],
                    &[Table],
                    "flip the sort order",
                    None,
                ),
                b(
                    Action::Refresh,
                    vec![Key::char('r')],
                    &[Global],
                    "reload, retry, refresh entity",
                    // Out of the bar to keep it within 80 columns; error states name the key themselves.
                    None,
                ),
                b(
                    Action::Help,
                    vec![Key::char('?')],
                    &[Global],
                    "this help",
                    Some("help"),
                ),
                b(
                    Action::Quit,
                    vec![Key::char('q')],
                    &[Global],
                    "quit",
                    Some("quit"),
                ),
            ],
        }
    }
}

impl Keymap {
    /// The default table with `stagedoor.keys` applied: each listed action gets exactly the given keys.
    pub fn from_config(keys: Option<&Value>) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        let Some(keys) = keys else {
            return Ok(map);
        };
        let Value::Object(entries) = keys else {
            return Err(KeymapError::NotAMap);
        };
        for (name, value) in entries {
            let action =
                Action::from_name(name).ok_or_else(|| KeymapError::UnknownAction(name.clone()))?;
            let texts: Vec<&str> = match value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or_else(|| KeymapError::BadValue(name.clone()))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(KeymapError::BadValue(name.clone())),
            };
            let parsed = texts
                .iter()
                .map(|t| {
                    Key::parse(t).ok_or_else(|| KeymapError::BadKey {
                        action: name.clone(),
                        key: (*t).to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(binding) = map.bindings.iter_mut().find(|b| b.action == action) {
                binding.keys = parsed;
            }
        }
        Ok(map)
    }

    /// The action `key` means in `context` (global bindings apply everywhere). A context binding wins over a
    /// global one, so a remapped key can shadow a global key inside one view.
    pub fn action(&self, key: Key, context: Context) -> Option<Action> {
        let hit = |b: &&Binding| b.keys.iter().any(|k| k.matches(key));
        self.bindings
            .iter()
            .filter(|b| b.contexts.contains(&context))
            .find(hit)
            .or_else(|| {
                self.bindings
                    .iter()
                    .filter(|b| b.contexts.contains(&Context::Global))
                    .find(hit)
            })
            .map(|b| b.action)
    }

    /// Whether `key` is one of `action`'s keys.
    pub fn binds(&self, action: Action, key: Key) -> bool {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .any(|b| b.keys.iter().any(|k| k.matches(key)))
    }

    /// The action `key` means in the search overlay: its own bindings, then global ones for keys that are
    /// not plain characters (Esc, Ctrl-K); a plain character is text for the input, never `q` or `?`.
    pub fn overlay_action(&self, key: Key) -> Option<Action> {
        let hit = |b: &&Binding| b.keys.iter().any(|k| k.matches(key));
        if let Some(b) = self
            .bindings
            .iter()
            .filter(|b| b.contexts.contains(&Context::SearchOverlay))
            .find(hit)
        {
            return Some(b.action);
        }
        if key.is_text() {
            return None;
        }
        self.bindings
            .iter()
            .filter(|b| b.contexts.contains(&Context::Global))
            .find(hit)
            .map(|b| b.action)
    }

    /// Bindings that apply in `context`, in table order.
    pub fn for_context(&self, context: Context) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.contexts.contains(&context) || b.contexts.contains(&Context::Global))
    }

    /// The first key of `action`, as shown to the user.
    pub fn key_label(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
            .map_or_else(|| "-".to_string(), ToString::to_string)
    }
}

impl Key {
    /// A printable character without Ctrl or Alt: what a text input takes.
    pub fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl && !self.alt
    }

    fn matches(&self, pressed: Key) -> bool {
        self.code == pressed.code && self.ctrl == pressed.ctrl && self.alt == pressed.alt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        assert_eq!(Key::parse("ctrl-q"), Some(Key::ctrl('q')));
        assert_eq!(Key::parse("G"), Some(Key::char('G')));
        assert_eq!(Key::parse("pgdn"), Some(Key::plain(KeyCode::PageDown)));
        assert_eq!(Key::parse("f5"), Some(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("-"), Some(Key::char('-')));
        assert_eq!(Key::parse("ctrl-"), None);
        assert_eq!(Key::parse("hyper-x"), None);
        assert_eq!(Key::ctrl('q').to_string(), "ctrl-q");
    }

    #[test]
    fn config_remaps_and_names_bad_keys() {
        let v = serde_json::json!({"quit": "ctrl-q", "filter": ["f", "/"]});
        let map = Keymap::from_config(Some(&v)).unwrap();
        assert_eq!(
            map.action(Key::ctrl('q'), Context::Table),
            Some(Action::Quit)
        );
        assert_eq!(map.action(Key::char('q'), Context::Table), None);
        assert_eq!(
            map.action(Key::char('f'), Context::Table),
            Some(Action::Filter)
        );
        let bad = serde_json::json!({"filter": "hyper-f"});
        let err = Keymap::from_config(Some(&bad)).unwrap_err().to_string();
        assert!(
            err.starts_with("stagedoor.keys.filter: 'hyper-f' is not a key"),
            "{err}"
        );
        let err = Keymap::from_config(Some(&serde_json::json!({"fly": "x"})))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'fly' is not an action"), "{err}");
    }

    #[test]
    fn every_action_has_a_binding() {
        let map = Keymap::default();
        for a in Action::ALL {
            assert!(map.bindings.iter().any(|b| b.action == a), "{a:?}");
        }
    }
}
