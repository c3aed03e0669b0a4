//! What keys and replies do to the search overlay. Called from the app's `update`, pure like it: the name
//! list, full-text answers and the recent searches file all come and go through effects.
//!
//! Full text is asked for at every keystroke, each request with a new id; an answer for anything but the
//! last request is dropped, so a slow answer never replaces a newer one. The fuzzy list needs no request.

use crossterm::event::KeyCode;
use stagedoor_core::search::{SearchQuery, SearchResultSet, DEFAULT_MAX_TERM_LENGTH};
use stagedoor_core::store::{EntityQuery, OrderField, SortOrder};

use super::super::docs;
use super::super::keymap::{Action, Key};
use super::super::msg::{Effect, Failure, RequestId};
use super::super::state::{App, Mode, Status};
use super::super::update::open_entity;
use super::state::{NameEntry, NamesLoad, SearchMode, Target, TextHit};

/// Entities per name-list page: only four short fields each, so far more than a table page.
pub const NAMES_PAGE: usize = 5_000;

/// Results asked of full-text search.
pub const TEXT_RESULTS: usize = 50;

/// The fields the name list needs, never whole entities.
pub fn name_fields() -> Vec<String> {
    [
        "kind",
        "metadata.name",
        "metadata.namespace",
        "metadata.title",
    ]
    .map(String::from)
    .to_vec()
}

/// Opens the overlay with an empty input (recent searches listed), asking for the name list and the recent
/// searches the first time.
pub fn open(app: &mut App) -> Vec<Effect> {
    // A `/` filter or `:` line being typed is left as it was typed (the overlay has the keys now).
    app.mode = Mode::Normal;
    app.completions.clear();
    let s = &mut app.search;
    s.open = true;
    s.input.clear();
    s.selected = 0;
    s.clear_hits();
    s.full = Default::default();
    let mut effects = Vec::new();
    if matches!(s.names.load, NamesLoad::Idle | NamesLoad::Failed(_)) {
        effects.extend(load_names(app, None));
    }
    let recent = &mut app.search.recent;
    if !recent.requested {
        if let Some(path) = recent.path.clone() {
            recent.requested = true;
            effects.push(Effect::LoadRecent { path });
        }
    }
    effects
}

/// The catalog changed (an import finished, `r` reloaded): the name list is fetched again, now if the
/// overlay is open, else when it next opens. A page still on its way for the old list is dropped.
pub fn forget_names(app: &mut App) -> Vec<Effect> {
    app.search.names.request = None;
    if app.search.open {
        return load_names(app, None);
    }
    app.search.names.load = NamesLoad::Idle;
    Vec::new()
}

fn load_names(app: &mut App, cursor: Option<String>) -> Vec<Effect> {
    let id = app.request_id();
    let names = &mut app.search.names;
    if cursor.is_none() {
        names.entries.clear();
    }
    names.load = NamesLoad::Loading;
    names.request = Some(id);
    vec![Effect::LoadPage {
        id,
        query: EntityQuery {
            cursor,
            limit: Some(NAMES_PAGE),
            fields: name_fields(),
            // A fixed order, so equal matches list the same way on every run.
            order_fields: vec![OrderField {
                field: "metadata.name".to_string(),
                order: SortOrder::Asc,
            }],
            skip_total_items: true,
            ..EntityQuery::default()
        },
    }]
}

/// A page of the name list; `None` when `id` is not the overlay's (a catalog table's page).
pub fn names_loaded(
    app: &mut App,
    id: RequestId,
    result: &Result<stagedoor_core::store::EntityPage, Failure>,
) -> Option<Vec<Effect>> {
    if app.search.names.request != Some(id) {
        return None;
    }
    app.search.names.request = None;
    let page = match result {
        Ok(page) => page,
        Err(f) => {
            app.search.names.load = NamesLoad::Failed(f.message.clone());
            return Some(Vec::new());
        }
    };
    let names = &mut app.search.names;
    names
        .entries
        .extend(page.items.iter().map(NameEntry::from_entity));
    let effects = match page.page_info.next_cursor.clone() {
        Some(cursor) => load_names(app, Some(cursor)),
        None => {
            app.search.names.load = NamesLoad::Ready;
            Vec::new()
        }
    };
    // Names that arrive while something is typed join the results at once.
    if app.search.open && app.search.mode == SearchMode::Fuzzy {
        let fuzzy = std::mem::take(&mut app.fuzzy);
        app.search.refilter(&fuzzy);
        app.fuzzy = fuzzy;
        clamp(app);
    }
    Some(effects)
}

/// A key while the overlay is open.
pub fn key(app: &mut App, key: Key) -> Vec<Effect> {
    match app.keymap.overlay_action(key) {
        Some(Action::Back | Action::GlobalSearch) => {
            app.search.open = false;
            Vec::new()
        }
        Some(Action::Open) => enter(app),
        Some(Action::SearchMode) => {
            app.search.mode = match app.search.mode {
                SearchMode::Fuzzy => SearchMode::FullText,
                SearchMode::FullText => SearchMode::Fuzzy,
            };
            app.search.selected = 0;
            input_changed(app)
        }
        Some(Action::SearchType) => {
            app.search.types = app.search.types.next();
            app.search.selected = 0;
            if app.search.mode == SearchMode::FullText {
                input_changed(app)
            } else {
                Vec::new()
            }
        }
        Some(Action::SearchUp) => {
            app.search.selected = app.search.selected.saturating_sub(1);
            Vec::new()
        }
        Some(Action::SearchDown) => {
            app.search.selected = (app.search.selected + 1).min(app.search.len().saturating_sub(1));
            Vec::new()
        }
        // Other bindings (help, refresh, ...) wait for the overlay to close.
        Some(_) => Vec::new(),
        None => match key.code {
            KeyCode::Backspace => {
                if app.search.input.pop().is_some() {
                    app.search.selected = 0;
                    input_changed(app)
                } else {
                    Vec::new()
                }
            }
            KeyCode::Char(c) if key.is_text() => {
                app.search.input.push(c);
                app.search.selected = 0;
                input_changed(app)
            }
            _ => Vec::new(),
        },
    }
}

/// The input or the mode changed: fuzzy results are recomputed here and now; full text is asked for.
fn input_changed(app: &mut App) -> Vec<Effect> {
    match app.search.mode {
        SearchMode::Fuzzy => {
            let fuzzy = std::mem::take(&mut app.fuzzy);
            app.search.refilter(&fuzzy);
            app.fuzzy = fuzzy;
            clamp(app);
            Vec::new()
        }
        SearchMode::FullText => full_text(app),
    }
}

/// Asks the portal for full-text results for the input (nothing typed: no request, and any in flight is
/// forgotten).
fn full_text(app: &mut App) -> Vec<Effect> {
    let term: String = app
        .search
        .input
        .trim()
        .chars()
        .take(DEFAULT_MAX_TERM_LENGTH)
        .collect();
    if term.is_empty() {
        app.search.full = Default::default();
        return Vec::new();
    }
    let id = app.request_id();
    app.search.full.request = Some(id);
    vec![Effect::Search {
        id,
        query: SearchQuery {
            term,
            types: app.search.types.types(),
            page_limit: Some(TEXT_RESULTS),
            ..SearchQuery::default()
        },
    }]
}

/// A full-text answer: kept only when it answers the last request.
pub fn search_loaded(
    app: &mut App,
    id: RequestId,
    result: Result<SearchResultSet, Failure>,
) -> Vec<Effect> {
    let full = &mut app.search.full;
    if full.request != Some(id) {
        return Vec::new();
    }
    full.request = None;
    match result {
        Ok(set) => {
            full.term = app.search.input.trim().to_string();
            full.hits = set.results.iter().map(TextHit::from_result).collect();
            full.more = set.next_page_cursor.is_some();
            full.error = None;
        }
        Err(f) => {
            full.error = Some(f.message);
        }
    }
    clamp(app);
    Vec::new()
}

/// The recent terms from their file, after any remembered since the overlay opened.
pub fn recent_loaded(app: &mut App, terms: Vec<String>) {
    let recent = &mut app.search.recent;
    let newer = std::mem::take(&mut recent.terms);
    for term in terms.iter().rev() {
        recent.remember(term);
    }
    for term in newer.iter().rev() {
        recent.remember(term);
    }
    clamp(app);
}

fn clamp(app: &mut App) {
    let n = app.search.len();
    app.search.selected = app.search.selected.min(n.saturating_sub(1));
}

/// Enter: a recent term is typed in again; a result opens its entity page or docs page, and the term is
/// remembered.
fn enter(app: &mut App) -> Vec<Effect> {
    let s = &app.search;
    if s.showing_recent() {
        let Some(term) = s.recent.terms.get(s.selected).cloned() else {
            return Vec::new();
        };
        app.search.input = term;
        app.search.selected = 0;
        return input_changed(app);
    }
    let target = match s.mode {
        SearchMode::Fuzzy => s
            .selected_entry()
            .map(|e| Target::Entity(e.entity_ref.clone())),
        SearchMode::FullText => s.full.hits.get(s.selected).map(|h| h.target.clone()),
    };
    let Some(target) = target else {
        return Vec::new();
    };
    let mut effects = remember(app);
    app.search.open = false;
    effects.extend(match target {
        Target::Entity(r) => open_entity(app, r),
        Target::Docs {
            entity_ref,
            url,
            anchor,
        } => docs::update::open_at(app, entity_ref, &url, anchor),
        Target::Nowhere => {
            app.status = Some(Status::Error(
                "this result has no catalog or docs location to open".to_string(),
            ));
            Vec::new()
        }
    });
    effects
}

/// Puts the input on the recent searches and asks for the file to be written.
fn remember(app: &mut App) -> Vec<Effect> {
    let input = app.search.input.clone();
    let recent = &mut app.search.recent;
    recent.remember(&input);
    match recent.path.clone() {
        Some(path) => vec![Effect::SaveRecent {
            path,
            terms: recent.terms.clone(),
        }],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::TypeFilter;
    use super::*;
    use crate::ui::keymap::Keymap;
    use crate::ui::theme::{ColorMode, Theme};
    use stagedoor_core::search::{Highlight, SearchResult};
    use stagedoor_core::Entity;

    fn app() -> App {
        let theme = Theme::built_in("dark", ColorMode::Ansi16).expect("a built-in theme");
        App::new(theme, Keymap::default(), "test".into(), false)
    }

    fn typed(app: &mut App, text: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for c in text.chars() {
            effects.extend(key(app, Key::char(c)));
        }
        effects
    }

    fn result(doc_type: &str, location: &str, title: &str) -> SearchResult {
        let mut document = serde_json::Map::new();
        document.insert("title".into(), title.into());
        document.insert("text".into(), "worker lag is growing".into());
        document.insert("location".into(), location.into());
        SearchResult {
            doc_type: doc_type.to_string(),
            document,
            highlight: Some(Highlight {
                pre_tag: "<m>".into(),
                post_tag: "</m>".into(),
                fields: [(
                    "text".to_string(),
                    "worker <m>lag</m> is growing".to_string(),
                )]
                .into_iter()
                .collect(),
            }),
            rank: Some(1),
        }
    }

    #[test]
    fn full_text_asks_each_keystroke_and_drops_stale_answers() {
        let mut app = app();
        let _ = open(&mut app);
        let _ = key(&mut app, Key::plain(KeyCode::Tab));
        let first = typed(&mut app, "la");
        let ids: Vec<RequestId> = first
            .iter()
            .filter_map(|e| match e {
                Effect::Search { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 2);
        let answer = |t: &str| SearchResultSet {
            results: vec![result("techdocs", "/docs/default/component/a/x/#y", t)],
            ..SearchResultSet::default()
        };
        // The answer to the first keystroke arrives after the second was sent: dropped.
        search_loaded(&mut app, ids[0], Ok(answer("stale")));
        assert!(app.search.full.hits.is_empty());
        search_loaded(&mut app, ids[1], Ok(answer("fresh")));
        assert_eq!(app.search.full.hits[0].title[0].text, "fresh");
        assert!(app.search.full.hits[0]
            .snippet
            .iter()
            .any(|s| s.hit && s.text == "lag"));
    }

    #[test]
    fn the_type_filter_cycles_and_goes_into_the_query() {
        let mut app = app();
        let _ = open(&mut app);
        let _ = key(&mut app, Key::plain(KeyCode::Tab));
        let _ = typed(&mut app, "x");
        let effects = key(&mut app, Key::ctrl('t'));
        assert_eq!(app.search.types, TypeFilter::Catalog);
        assert!(
            matches!(&effects[..], [Effect::Search { query, .. }] if query.types == ["software-catalog"])
        );
        let _ = key(&mut app, Key::ctrl('t'));
        assert_eq!(app.search.types, TypeFilter::Docs);
        let _ = key(&mut app, Key::ctrl('t'));
        assert_eq!(app.search.types, TypeFilter::All);
    }

    #[test]
    fn letters_type_even_when_bound_elsewhere() {
        let mut app = app();
        let _ = open(&mut app);
        let _ = typed(&mut app, "q?rs");
        assert!(!app.quit && !app.help && app.search.open);
        assert_eq!(app.search.input, "q?rs");
        let _ = key(&mut app, Key::plain(KeyCode::Esc));
        assert!(!app.search.open);
    }

    #[test]
    fn reopening_matches_the_first_key_against_every_name() {
        let mut app = app();
        let names = ["shipment-tracker", "billing"];
        app.search.names.entries = names
            .iter()
            .map(|n| {
                let e = Entity::from_value(serde_json::json!({
                    "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                    "metadata": {"name": n}, "spec": {}
                }))
                .expect("an entity");
                NameEntry::from_entity(&e)
            })
            .collect();
        // Loaded already, so opening does not ask for (and clear) the list.
        app.search.names.load = NamesLoad::Ready;
        let _ = open(&mut app);
        let _ = typed(&mut app, "s");
        assert!(!app.search.fuzzy_hits.is_empty());
        let _ = key(&mut app, Key::plain(KeyCode::Esc));
        // The same first key in a new session: the hits cleared on opening must not be narrowed from.
        let _ = open(&mut app);
        let _ = typed(&mut app, "s");
        assert!(!app.search.fuzzy_hits.is_empty());
    }

    #[test]
    fn a_changed_catalog_lists_the_names_again() {
        let mut app = app();
        app.search.names.load = NamesLoad::Ready;
        assert!(
            forget_names(&mut app).is_empty(),
            "closed: on the next opening"
        );
        assert_eq!(app.search.names.load, NamesLoad::Idle);
        assert!(matches!(&open(&mut app)[..], [Effect::LoadPage { .. }]));
        // Open: at once, and the page the old list waited for is no longer wanted.
        let old = app.search.names.request;
        assert!(matches!(
            &forget_names(&mut app)[..],
            [Effect::LoadPage { .. }]
        ));
        assert_ne!(app.search.names.request, old);
    }

    #[test]
    fn recent_terms_from_the_file_go_after_newer_ones() {
        let mut app = app();
        app.search.recent.remember("new");
        recent_loaded(&mut app, vec!["old".into(), "new".into()]);
        assert_eq!(app.search.recent.terms, ["new", "old"]);
    }
}
