//! The update function: a message in, state changed, effects out. No I/O happens here, so every key
//! sequence is testable without a terminal or a portal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use stagedoor_core::portal::RefreshProgress;
use stagedoor_core::store::{EntityQuery, SortOrder};
use stagedoor_core::EntityRef;

use stagedoor_core::techdocs::service::ANNOTATION_TECHDOCS_REF;

use super::docs;
use super::entity::{EntityPage, PageAction, PageOutcome};
use super::keymap::{Action, Key};
use super::msg::{Effect, Failure, Msg, RequestId};
use super::scaffolder;
use super::search;
use super::state::{
    App, CatalogState, Command, Connection, FacetLine, Import, KindView, Load, Mode, Ownership,
    Pane, Row, Screen, Status, COMMANDS, FACETS, PAGE_SIZE,
};
use super::views;

/// The first effects: the embedded portal imports when its store is empty, then loads; a remote one loads.
pub fn start(app: &mut App) -> Vec<Effect> {
    let mut effects = load_ownership(app);
    effects.extend(start_catalog(app));
    effects
}

/// Asks for the identity's user entity (its groups are what "owned by me" also matches), when there is
/// an identity and its ownership is not known yet.
fn load_ownership(app: &mut App) -> Vec<Effect> {
    let Some(user) = app.identity.clone() else {
        return Vec::new();
    };
    if matches!(app.ownership, Ownership::Ready(_) | Ownership::Loading(_)) {
        return Vec::new();
    }
    let id = app.request_id();
    app.ownership = Ownership::Loading(id);
    vec![Effect::LoadOwnership { id, user }]
}

/// The identity's ownership refs: the user itself and every group it is a member of.
fn ownership_refs(user: &EntityRef, entity: &stagedoor_core::Entity) -> Vec<String> {
    let mut refs = vec![user.canonical()];
    for relation in entity.relations() {
        if relation.relation_type.eq_ignore_ascii_case("memberOf") {
            let target = relation.target_ref.to_lowercase();
            if !refs.contains(&target) {
                refs.push(target);
            }
        }
    }
    refs
}

fn ownership_loaded(
    app: &mut App,
    id: RequestId,
    result: Result<Option<stagedoor_core::Entity>, Failure>,
) -> Vec<Effect> {
    if app.ownership != Ownership::Loading(id) {
        return Vec::new();
    }
    let Some(user) = app.identity.clone() else {
        return Vec::new();
    };
    let shown = super::text::sanitize(&user.canonical());
    app.ownership = match result {
        Ok(Some(entity)) => Ownership::Ready(ownership_refs(&user, &entity)),
        Ok(None) => Ownership::Unavailable(format!(
            "owned by me: {shown} (stagedoor.identity) is not in the catalog"
        )),
        Err(f) => Ownership::Unavailable(format!(
            "owned by me: cannot look up {shown}: {}",
            f.message
        )),
    };
    let Ownership::Ready(refs) = app.ownership.clone() else {
        return Vec::new();
    };
    for screen in &mut app.screens {
        if let Screen::Catalog(c) = screen {
            if let Some(owned) = c.owned.as_mut() {
                owned.refs = refs.clone();
            }
        }
    }
    count_owned(app)
}

/// Counts what the identity owns of the top table's kind, once its ownership is known.
fn count_owned(app: &mut App) -> Vec<Effect> {
    let Ownership::Ready(refs) = app.ownership.clone() else {
        return Vec::new();
    };
    let id = app.next_id + 1;
    let Some(c) = app.catalog_mut() else {
        return Vec::new();
    };
    let filter = c.owned_count_predicate(&refs);
    let Some(owned) = c.owned.as_mut() else {
        return Vec::new();
    };
    owned.count_request = Some(id);
    app.next_id = id;
    vec![Effect::CountOwned { id, filter }]
}

fn start_catalog(app: &mut App) -> Vec<Effect> {
    if app.embedded {
        let id = app.request_id();
        app.import = Some(Import {
            id,
            importing: false,
            roots: None,
            done: 0,
            entities: 0,
            last: None,
        });
        vec![Effect::ImportIfEmpty { id }]
    } else {
        load_catalog(app)
    }
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(event) => match Key::from_event(&event) {
            Some(key) => on_key(app, key, event),
            None => Vec::new(),
        },
        Msg::Mouse(event) => on_mouse(app, event),
        Msg::Paste(text) => {
            scaffolder::update::paste(app, &text);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.width = w;
            app.height = h;
            let height = views::page_height(app);
            if let Some(c) = app.catalog_mut() {
                keep_visible(c, height);
            }
            docs::update::reflow(app);
            more_rows(app)
        }
        Msg::Tick => {
            app.tick = app.tick.wrapping_add(1);
            Vec::new()
        }
        Msg::Quit => {
            app.quit = true;
            Vec::new()
        }
        Msg::ImportStarted { id } => {
            if let Some(import) = app.import.as_mut().filter(|i| i.id == id) {
                import.importing = true;
            }
            Vec::new()
        }
        Msg::ImportProgress(progress) => {
            if let Some(import) = app.import.as_mut() {
                match progress {
                    RefreshProgress::Started { roots } => import.roots = Some(roots),
                    RefreshProgress::RootDone { origin, entities } => {
                        import.done += 1;
                        import.entities += entities;
                        import.last = Some(super::text::sanitize(&origin));
                    }
                }
            }
            Vec::new()
        }
        Msg::ImportDone { id, result } => {
            if app.import.as_ref().is_none_or(|i| i.id != id) {
                return Vec::new();
            }
            app.import = None;
            match result {
                Ok(Some(report)) => {
                    let mut text = format!(
                        "imported {} entities from {} locations",
                        report.entities, report.roots
                    );
                    if !report.problems.is_empty() {
                        text.push_str(&format!(
                            "; {} problems (stagedoor catalog import lists them)",
                            report.problems.len()
                        ));
                    }
                    app.status = Some(Status::Info(text));
                }
                Ok(None) => {}
                Err(f) => app.status = Some(Status::Error(format!("import failed: {}", f.message))),
            }
            // Names listed for the overlay during the import are a part of the catalog at best.
            let mut effects = search::update::forget_names(app);
            effects.extend(load_catalog(app));
            effects
        }
        Msg::PageLoaded { id, result } => match search::update::names_loaded(app, id, &result) {
            Some(effects) => effects,
            None => page_loaded(app, id, result),
        },
        Msg::SearchLoaded { id, result } => search::update::search_loaded(app, id, result),
        Msg::RecentLoaded { terms } => {
            search::update::recent_loaded(app, terms);
            Vec::new()
        }
        // A failed write was logged by the effect; the terms are still in memory for this run.
        Msg::RecentSaved { .. } => Vec::new(),
        Msg::DocsSiteLoaded { id, synced, result } => {
            docs::update::site_loaded(app, id, synced, result)
        }
        Msg::DocsLog { id, line } => {
            docs::update::log(app, id, line);
            Vec::new()
        }
        Msg::DocsPageLoaded {
            id,
            location,
            result,
        } => docs::update::page_loaded(app, id, location, result),
        Msg::OwnershipLoaded { id, result } => ownership_loaded(app, id, result),
        Msg::OwnedCounted { id, result } => {
            let wanted = |c: &CatalogState| {
                c.owned
                    .as_ref()
                    .is_some_and(|o| o.count_request == Some(id))
            };
            if let Some(owned) = find_catalog(app, wanted).and_then(|c| c.owned.as_mut()) {
                owned.count_request = None;
                // Without a count the entry simply shows none; the table reports real failures.
                owned.count = result.ok();
            }
            Vec::new()
        }
        Msg::FacetsLoaded { id, result } => {
            let Some(c) = find_catalog(app, |c| c.facets_request == Some(id)) else {
                return Vec::new();
            };
            c.facets_request = None;
            match result {
                Ok(facets) => {
                    for group in &mut c.facets {
                        let mut values: Vec<(String, u64)> = facets
                            .get(group.field)
                            .map(|v| {
                                v.iter()
                                    .map(|f| (super::text::sanitize(&f.value), f.count))
                                    .collect()
                            })
                            .unwrap_or_default();
                        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                        group.values = values;
                    }
                    let n = c.facet_values().len();
                    c.facet_cursor = c.facet_cursor.min(n.saturating_sub(1));
                }
                Err(f) => {
                    // A connection failure is already on the header and in the table.
                    if !f.connection {
                        let message = format!("cannot count facets: {}", f.message);
                        app.status = Some(Status::Error(message));
                    }
                }
            }
            Vec::new()
        }
        Msg::EntityLoaded {
            id,
            entity_ref,
            result,
        } => {
            let Some(pos) = app
                .screens
                .iter()
                .position(|s| matches!(s, Screen::Loading { id: i, .. } if *i == id))
            else {
                return Vec::new();
            };
            match result {
                Ok(Some(entity)) => {
                    app.connection = Connection::Connected;
                    let page = EntityPage::new(entity);
                    let refs = page.wanted_refs();
                    let related_request = (!refs.is_empty()).then(|| app.request_id());
                    app.screens[pos] = Screen::Entity {
                        page: Box::new(page),
                        related_request,
                    };
                    related_request
                        .map(|id| vec![Effect::LoadRelated { id, refs }])
                        .unwrap_or_default()
                }
                Ok(None) => {
                    let message = format!("{} is not in the catalog", entity_ref.canonical());
                    set_loading_error(app, pos, message);
                    Vec::new()
                }
                Err(f) => {
                    note_failure(app, &f);
                    set_loading_error(app, pos, f.message);
                    Vec::new()
                }
            }
        }
        Msg::TemplatesLoaded { id, result } => {
            scaffolder::update::templates_loaded(app, id, result);
            Vec::new()
        }
        Msg::SchemaLoaded { id, result } => {
            scaffolder::update::schema_loaded(app, id, result);
            Vec::new()
        }
        Msg::ChoicesLoaded { id, result } => {
            scaffolder::update::choices_loaded(app, id, result);
            Vec::new()
        }
        Msg::DryRunDone { id, result } => {
            scaffolder::update::dry_run_done(app, id, result);
            Vec::new()
        }
        Msg::TaskCreated { id, result } => scaffolder::update::task_created(app, id, result),
        Msg::TaskLoaded { id, result } => {
            scaffolder::update::task_loaded(app, id, result);
            Vec::new()
        }
        Msg::TaskEvents { id, events } => {
            scaffolder::update::task_events(app, id, &events);
            Vec::new()
        }
        Msg::TaskStreamEnded { id, result } => {
            scaffolder::update::stream_ended(app, id, result);
            Vec::new()
        }
        Msg::TaskCancelled { id, result } => {
            scaffolder::update::task_cancelled(app, id, result);
            Vec::new()
        }
        Msg::TasksLoaded { id, result } => {
            scaffolder::update::tasks_loaded(app, id, result);
            Vec::new()
        }
        Msg::RelatedLoaded { id, refs, result } => {
            for screen in &mut app.screens {
                if let Screen::Entity {
                    page,
                    related_request,
                } = screen
                {
                    if *related_request == Some(id) {
                        *related_request = None;
                        if let Ok(found) = result {
                            page.set_related(&refs, found);
                        }
                        break;
                    }
                }
            }
            Vec::new()
        }
    }
}

fn set_loading_error(app: &mut App, pos: usize, message: String) {
    if let Screen::Loading { error, .. } = &mut app.screens[pos] {
        *error = Some(message);
    }
}

fn note_failure(app: &mut App, f: &Failure) {
    if f.connection {
        app.connection = Connection::Failed(f.message.clone());
    }
}

fn find_catalog(app: &mut App, pred: impl Fn(&CatalogState) -> bool) -> Option<&mut CatalogState> {
    app.screens.iter_mut().find_map(|s| match s {
        Screen::Catalog(c) if pred(c) => Some(c.as_mut()),
        _ => None,
    })
}

fn page_loaded(
    app: &mut App,
    id: RequestId,
    result: Result<stagedoor_core::store::EntityPage, Failure>,
) -> Vec<Effect> {
    let fuzzy = std::mem::take(&mut app.fuzzy);
    let mut failure = None;
    if let Some(c) = find_catalog(app, |c| c.page_request == Some(id)) {
        let first = c.load == Load::Loading(id);
        c.page_request = None;
        match result {
            Ok(page) => {
                let columns = c.columns();
                let rows = page.items.iter().map(|e| Row::from_entity(e, columns));
                if first {
                    c.rows = rows.collect();
                    c.total = page.total_items;
                    c.selected = 0;
                    c.offset = 0;
                } else {
                    c.rows.extend(rows);
                }
                // A portal that does not count (or counts only the first page) never shows fewer than loaded.
                c.total = c.total.max(c.rows.len() as u64);
                c.next_cursor = page.page_info.next_cursor;
                c.load = Load::Ready;
                c.refilter(&fuzzy);
            }
            Err(f) => {
                if first {
                    c.load = Load::Failed(f.message.clone());
                }
                failure = Some((f, first));
            }
        }
    } else {
        app.fuzzy = fuzzy;
        return Vec::new();
    }
    app.fuzzy = fuzzy;
    match failure {
        Some((f, first)) => {
            note_failure(app, &f);
            // A failed first page is shown in the table itself; a later page's failure on the status line.
            if !first {
                app.status = Some(Status::Error(format!(
                    "cannot load more rows: {}",
                    f.message
                )));
            }
            Vec::new()
        }
        None => {
            app.connection = Connection::Connected;
            more_rows(app)
        }
    }
}

/// Asks for the top catalog's first page and its facet counts, dropping what was loaded.
pub fn load_catalog(app: &mut App) -> Vec<Effect> {
    let page_id = app.request_id();
    let facets_id = app.request_id();
    let Some(c) = app.catalog_mut() else {
        return Vec::new();
    };
    c.rows.clear();
    c.visible.clear();
    c.total = 0;
    c.next_cursor = None;
    c.selected = 0;
    c.offset = 0;
    c.load = Load::Loading(page_id);
    c.page_request = Some(page_id);
    c.facets_request = Some(facets_id);
    let mut effects = vec![
        Effect::LoadPage {
            id: page_id,
            query: EntityQuery {
                filter: c.predicate(),
                order_fields: vec![c.order_field()],
                limit: Some(PAGE_SIZE),
                fields: c.projection(),
                ..EntityQuery::default()
            },
        },
        Effect::LoadFacets {
            id: facets_id,
            facets: FACETS.iter().map(|(_, f)| f.to_string()).collect(),
            filter: c.kind_predicate(),
        },
    ];
    effects.extend(count_owned(app));
    effects
}

/// Only the rows: after a sort or a facet change (facet counts stay those of the kind).
fn reload_rows(app: &mut App) -> Vec<Effect> {
    let mut effects = load_catalog(app);
    if let Some(c) = app.catalog_mut() {
        c.facets_request = None;
        if let Some(owned) = c.owned.as_mut() {
            owned.count_request = None;
        }
    }
    effects.retain(|e| matches!(e, Effect::LoadPage { .. }));
    effects
}

/// The next page of the top catalog when the cursor nears the end of what is loaded.
fn more_rows(app: &mut App) -> Vec<Effect> {
    let height = views::page_height(app);
    let id = app.next_id + 1;
    let Some(c) = app.catalog_mut() else {
        return Vec::new();
    };
    if c.load != Load::Ready || !c.wants_more(height) {
        return Vec::new();
    }
    let Some(cursor) = c.next_cursor.clone() else {
        return Vec::new();
    };
    c.page_request = Some(id);
    let query = EntityQuery {
        cursor: Some(cursor),
        limit: Some(PAGE_SIZE),
        fields: c.projection(),
        skip_total_items: true,
        ..EntityQuery::default()
    };
    app.next_id = id;
    vec![Effect::LoadPage { id, query }]
}

fn on_key(app: &mut App, key: Key, event: KeyEvent) -> Vec<Effect> {
    // Ctrl-C always quits, whatever the keymap and mode say: raw mode turned it into a key.
    if key == Key::ctrl('c') {
        app.quit = true;
        return Vec::new();
    }
    if app.search.open {
        return search::update::key(app, key);
    }
    // Ctrl-K opens the search from anywhere, typing a filter or a command included; a plain letter
    // binding (`s`) only outside text input, through the normal keys.
    if !key.is_text() && app.keymap.binds(Action::GlobalSearch, key) {
        app.help = false;
        return search::update::open(app);
    }
    // A wizard page's form has every key (its text fields type letters), but never over the help.
    if app.mode == Mode::Normal && !app.help {
        if let Some(effects) = scaffolder::update::wizard_key(app, event) {
            return effects;
        }
    }
    match app.mode.clone() {
        Mode::Command(line) => command_key(app, line, key),
        Mode::Filter(line) => filter_key(app, line, key, event),
        Mode::Search(line) => docs::update::search_key(app, line, key),
        Mode::Normal => normal_key(app, key),
    }
}

fn command_key(app: &mut App, mut line: String, key: Key) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            app.completions.clear();
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            app.completions.clear();
            return run_command(app, &line);
        }
        KeyCode::Backspace => {
            app.completions.clear();
            if line.pop().is_none() {
                app.mode = Mode::Normal;
            } else {
                app.mode = Mode::Command(line);
            }
        }
        KeyCode::Tab => {
            let (completed, candidates) = complete(&line);
            app.completions = if candidates.len() > 1 {
                candidates
            } else {
                Vec::new()
            };
            app.mode = Mode::Command(completed);
        }
        KeyCode::Char(c) if !key.ctrl => {
            app.completions.clear();
            line.push(c);
            app.mode = Mode::Command(line);
        }
        _ => {}
    }
    Vec::new()
}

/// Tab on the command line: the longest completion every candidate shares, and the commands that match
/// (by name or alias), by their names.
pub fn complete(line: &str) -> (String, Vec<String>) {
    let typed = line.trim().to_ascii_lowercase();
    let mut names: Vec<&str> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for (name, aliases, _) in COMMANDS {
        let hits: Vec<&str> = std::iter::once(name)
            .chain(aliases.iter().copied())
            .filter(|w| w.starts_with(&typed))
            .collect();
        if !hits.is_empty() {
            names.push(name);
            words.extend(hits);
        }
    }
    match names.len() {
        0 => (line.to_string(), Vec::new()),
        1 => (names[0].to_string(), vec![names[0].to_string()]),
        _ => {
            let common = names.iter().skip(1).fold(names[0].to_string(), |acc, w| {
                acc.chars()
                    .zip(w.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            let completed = if common.len() > typed.len() {
                common
            } else {
                line.to_string()
            };
            (completed, names.iter().map(|s| s.to_string()).collect())
        }
    }
}

fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let word = words.next().unwrap_or("").to_ascii_lowercase();
    let argument = words.next();
    if word.is_empty() {
        return Vec::new();
    }
    let Some((_, _, target)) = COMMANDS
        .iter()
        .find(|(name, aliases, _)| *name == word || aliases.contains(&word.as_str()))
    else {
        app.status = Some(Status::Error(format!(
            "unknown command :{} (Tab completes; ? lists the commands)",
            super::text::sanitize(&word)
        )));
        return Vec::new();
    };
    match target {
        Command::Quit => {
            app.quit = true;
            Vec::new()
        }
        Command::View(view) => open_view(app, *view),
        Command::Docs => docs_command(app, argument),
        Command::Templates => scaffolder::update::open_templates(app),
        Command::Tasks => scaffolder::update::open_tasks(app),
    }
}

/// `:docs REF` reads that entity's docs (a bare name means a component, as Backstage's ref parsing with
/// a default kind does); `:docs` alone reads the docs of the entity on screen.
fn docs_command(app: &mut App, argument: Option<&str>) -> Vec<Effect> {
    let parsed = match argument {
        Some(text) => EntityRef::parse_with_defaults(text, Some("component"), "default")
            .map_err(|e| super::text::sanitize(&e.to_string())),
        None => match app.screen() {
            Screen::Entity { page, .. } => Ok(page.entity().entity_ref()),
            Screen::Docs(reader) => Ok(reader.entity_ref.clone()),
            _ => Err("usage: :docs KIND:NAMESPACE/NAME (or :docs on an entity page)".to_string()),
        },
    };
    match parsed {
        Ok(r) => docs::update::open(app, r),
        Err(message) => {
            app.status = Some(Status::Error(message));
            Vec::new()
        }
    }
}

/// How many screens the history keeps; the oldest go first.
const HISTORY: usize = 32;

/// A `:kind` command pushes that table, so Esc comes back to where the user was; the same table again
/// just reloads.
pub fn open_view(app: &mut App, view: KindView) -> Vec<Effect> {
    app.status = None;
    if app.catalog().is_none_or(|c| c.view != view) {
        let c = app.new_catalog(view);
        push_screen(app, Screen::Catalog(Box::new(c)));
    }
    load_catalog(app)
}

/// Pushes `screen` on the history, dropping the oldest beyond [`HISTORY`].
pub fn push_screen(app: &mut App, screen: Screen) {
    app.screens.push(screen);
    if app.screens.len() > HISTORY {
        app.screens.remove(0);
    }
}

fn filter_key(app: &mut App, mut line: String, key: Key, event: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            line.clear();
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Backspace => {
            line.pop();
            app.mode = Mode::Filter(line.clone());
        }
        KeyCode::Up | KeyCode::Down => {
            let action = if key.code == KeyCode::Up {
                Action::Up
            } else {
                Action::Down
            };
            if scaffolder::update::filters(app) {
                return scaffolder::update::action(app, action);
            }
            return move_in_catalog(app, action);
        }
        KeyCode::Char(c) if !key.ctrl && !event.modifiers.contains(KeyModifiers::CONTROL) => {
            line.push(c);
            app.mode = Mode::Filter(line.clone());
        }
        _ => return Vec::new(),
    }
    set_filter(app, line)
}

fn set_filter(app: &mut App, query: String) -> Vec<Effect> {
    if scaffolder::update::filters(app) {
        scaffolder::update::set_filter(app, query);
        return Vec::new();
    }
    let fuzzy = std::mem::take(&mut app.fuzzy);
    let height = views::page_height(app);
    if let Some(c) = app.catalog_mut() {
        c.filter = query;
        c.refilter(&fuzzy);
        // Typing puts the cursor on the best match (as fzf and k9s do), so `/name` Enter Enter opens it; a
        // cleared filter keeps the row the cursor was on.
        if !c.filter.trim().is_empty() {
            c.selected = 0;
        }
        keep_visible(c, height);
    }
    app.fuzzy = fuzzy;
    more_rows(app)
}

fn normal_key(app: &mut App, key: Key) -> Vec<Effect> {
    let action = app.keymap.action(key, app.context());
    if app.help {
        // The overlay is modal: its own key or Back closes it, quit still quits, the rest waits.
        match action {
            Some(Action::Help | Action::Back) => app.help = false,
            Some(Action::Quit) => app.quit = true,
            _ => {}
        }
        return Vec::new();
    }
    let Some(action) = action else {
        return Vec::new();
    };
    // A key press clears the last notice; errors stay until the next action that could fix them.
    if matches!(app.status, Some(Status::Info(_))) {
        app.status = None;
    }
    match action {
        Action::Quit => {
            app.quit = true;
            Vec::new()
        }
        Action::Help => {
            app.help = true;
            Vec::new()
        }
        Action::Command => {
            app.mode = Mode::Command(String::new());
            app.completions.clear();
            Vec::new()
        }
        Action::Filter => {
            if let Some(filter) = scaffolder::update::filter_text(app) {
                app.mode = Mode::Filter(filter);
            } else if let Some(c) = app.catalog_mut() {
                c.pane = Pane::Table;
                let filter = c.filter.clone();
                app.mode = Mode::Filter(filter);
            }
            Vec::new()
        }
        Action::Back => back(app),
        Action::Refresh => refresh(app),
        Action::GlobalSearch => search::update::open(app),
        Action::Templates => scaffolder::update::open_templates(app),
        _ => match app.screen() {
            Screen::Catalog(_) => catalog_action(app, action),
            Screen::Entity { page, .. } if action == Action::Docs => {
                let entity = page.entity();
                let r = entity.entity_ref();
                if entity.annotation(ANNOTATION_TECHDOCS_REF).is_some() {
                    docs::update::open(app, r)
                } else {
                    app.status = Some(Status::Info(format!(
                        "{} has no TechDocs (no {ANNOTATION_TECHDOCS_REF} annotation)",
                        super::text::sanitize(&r.canonical())
                    )));
                    Vec::new()
                }
            }
            Screen::Docs(_) => docs::update::action(app, action),
            Screen::Entity { .. } => {
                let height = views::page_height(app);
                match page_action(action).map(|a| page_handle(app, a, height)) {
                    Some(PageOutcome::Open(r)) => open_entity(app, r),
                    _ => Vec::new(),
                }
            }
            Screen::Loading { .. } => Vec::new(),
            Screen::Templates(_) | Screen::Wizard(_) | Screen::Task(_) | Screen::Tasks(_) => {
                scaffolder::update::action(app, action)
            }
        },
    }
}

fn page_handle(app: &mut App, action: PageAction, height: usize) -> PageOutcome {
    match app.screen_mut() {
        Screen::Entity { page, .. } => page.handle(action, height),
        _ => PageOutcome::Nothing,
    }
}

fn page_action(action: Action) -> Option<PageAction> {
    Some(match action {
        Action::Up => PageAction::Up,
        Action::Down => PageAction::Down,
        Action::PageUp => PageAction::PageUp,
        Action::PageDown => PageAction::PageDown,
        Action::Top => PageAction::Top,
        Action::Bottom => PageAction::Bottom,
        Action::NextPane => PageAction::NextPane,
        Action::PrevPane => PageAction::PrevPane,
        Action::Deps => PageAction::ToggleDeps,
        Action::Open => PageAction::Open,
        _ => return None,
    })
}

fn back(app: &mut App) -> Vec<Effect> {
    if let Some(effects) = scaffolder::update::back(app) {
        return effects;
    }
    if app.reader().is_some() {
        if let Some(effects) = docs::update::back(app) {
            return effects;
        }
    }
    if let Some(c) = app.catalog_mut() {
        if !c.filter.is_empty() {
            return set_filter(app, String::new());
        }
        if c.pane == Pane::Facets {
            c.pane = Pane::Table;
            return Vec::new();
        }
    }
    if app.screens.len() > 1 {
        app.screens.pop();
        app.status = None;
        // A reader under the popped screen may have been left at another terminal size.
        docs::update::reflow(app);
        return more_rows(app);
    }
    Vec::new()
}

fn refresh(app: &mut App) -> Vec<Effect> {
    app.status = None;
    if matches!(app.connection, Connection::Failed(_)) {
        app.connection = Connection::Connecting;
    }
    if let Some(effects) = scaffolder::update::refresh(app) {
        return effects;
    }
    match app.screen() {
        Screen::Catalog(_) => {
            // An identity that could not be looked up is tried again with the table.
            if matches!(app.ownership, Ownership::Unavailable(_)) {
                app.ownership = Ownership::Unknown;
            }
            let mut effects = search::update::forget_names(app);
            effects.extend(load_ownership(app));
            effects.extend(load_catalog(app));
            effects
        }
        Screen::Loading { entity_ref, .. } => {
            let r = entity_ref.clone();
            app.screens.pop();
            open_entity(app, r)
        }
        // On the reader, `r` opens the docs again (fetch, and build when nothing is stored).
        Screen::Docs(reader) => {
            let r = reader.entity_ref.clone();
            app.screens.pop();
            docs::update::open(app, r)
        }
        // On an entity, `r` is Backstage's "refresh entity": its location is processed again, then it reloads.
        Screen::Entity { page, .. } => {
            let r = page.entity().entity_ref();
            app.screens.pop();
            match open_entity(app, r).pop() {
                Some(Effect::LoadEntity { id, entity_ref }) => {
                    vec![Effect::RefreshEntity { id, entity_ref }]
                }
                other => other.into_iter().collect(),
            }
        }
        // Answered by `scaffolder::update::refresh` above.
        Screen::Templates(_) | Screen::Wizard(_) | Screen::Task(_) | Screen::Tasks(_) => Vec::new(),
    }
}

/// Pushes a loading screen for `r` (its breadcrumb shows at once) and asks for the entity.
pub fn open_entity(app: &mut App, entity_ref: EntityRef) -> Vec<Effect> {
    let id = app.request_id();
    app.screens.push(Screen::Loading {
        entity_ref: entity_ref.clone(),
        id,
        error: None,
    });
    if app.screens.len() > HISTORY {
        app.screens.remove(0);
    }
    vec![Effect::LoadEntity { id, entity_ref }]
}

fn catalog_action(app: &mut App, action: Action) -> Vec<Effect> {
    let Some(c) = app.catalog_mut() else {
        return Vec::new();
    };
    match (c.pane, action) {
        (_, Action::NextPane) => {
            c.pane = match c.pane {
                Pane::Table => Pane::Facets,
                Pane::Facets => Pane::Table,
            };
            Vec::new()
        }
        (Pane::Table, Action::Open) => match c.selected_row() {
            Some(row) => {
                let r = row.entity_ref();
                open_entity(app, r)
            }
            None => Vec::new(),
        },
        (Pane::Table, Action::Sort) => {
            c.sort = (c.sort + 1) % c.sortable().len();
            c.order = SortOrder::Asc;
            reload_rows(app)
        }
        (Pane::Table, Action::SortOrder) => {
            c.order = match c.order {
                SortOrder::Asc => SortOrder::Desc,
                SortOrder::Desc => SortOrder::Asc,
            };
            reload_rows(app)
        }
        (Pane::Facets, Action::Open | Action::Toggle) => {
            let values = c.facet_values();
            let (g, v) = match values.get(c.facet_cursor) {
                Some(FacetLine::Value(g, v)) => (*g, *v),
                Some(FacetLine::Owned) => return toggle_owned(app),
                _ => return Vec::new(),
            };
            let value = c.facets[g].values[v].0.clone();
            let selected = &mut c.facets[g].selected;
            if !selected.remove(&value) {
                selected.insert(value);
            }
            reload_rows(app)
        }
        (Pane::Table, _) => move_in_catalog(app, action),
        (Pane::Facets, _) => {
            let height = views::page_height(app);
            if let Some(c) = app.catalog_mut() {
                let n = c.facet_values().len();
                c.facet_cursor = moved(c.facet_cursor, n, action, height);
                let line = views::catalog::facet_line_of_value(c, c.facet_cursor);
                // The panel shows `height + 1` lines (no header row), keep the cursor's line among them.
                if line < c.facet_offset + 1 {
                    c.facet_offset = line.saturating_sub(1);
                } else if line > c.facet_offset + height {
                    c.facet_offset = line - height;
                }
            }
            Vec::new()
        }
    }
}

/// Space on "owned by me": on or off once the identity's groups are known; otherwise why not.
fn toggle_owned(app: &mut App) -> Vec<Effect> {
    match app.ownership.clone() {
        Ownership::Ready(_) => {
            if let Some(owned) = app.catalog_mut().and_then(|c| c.owned.as_mut()) {
                owned.on = !owned.on;
            }
            reload_rows(app)
        }
        Ownership::Loading(_) => {
            app.status = Some(Status::Info(
                "owned by me: still looking up stagedoor.identity".to_string(),
            ));
            Vec::new()
        }
        Ownership::Unavailable(reason) => {
            app.status = Some(Status::Error(reason));
            Vec::new()
        }
        Ownership::Unknown => Vec::new(),
    }
}

/// The scroll offset nearest `offset` that shows `cursor` among `height` rows (at least one).
pub(crate) fn offset_showing(offset: usize, cursor: usize, height: usize) -> usize {
    let height = height.max(1);
    if cursor < offset {
        cursor
    } else if cursor >= offset + height {
        cursor + 1 - height
    } else {
        offset
    }
}

/// A cursor position after a movement, clamped to `len` rows.
pub(crate) fn moved(pos: usize, len: usize, action: Action, height: usize) -> usize {
    let last = len.saturating_sub(1);
    match action {
        Action::Up => pos.saturating_sub(1),
        Action::Down => (pos + 1).min(last),
        Action::PageUp => pos.saturating_sub(height),
        Action::PageDown => (pos + height).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => pos,
    }
}

fn move_in_catalog(app: &mut App, action: Action) -> Vec<Effect> {
    let height = views::page_height(app);
    if let Some(c) = app.catalog_mut() {
        c.selected = moved(c.selected, c.visible.len(), action, height);
        keep_visible(c, height);
    }
    more_rows(app)
}

/// Scrolls the table so the cursor stays on screen (ratatui would too, but the mouse needs the offset).
fn keep_visible(c: &mut CatalogState, height: usize) {
    if c.selected < c.offset {
        c.offset = c.selected;
    } else if c.selected >= c.offset + height {
        c.offset = c.selected + 1 - height;
    }
    c.offset = c.offset.min(c.visible.len().saturating_sub(1));
}

fn on_mouse(app: &mut App, event: MouseEvent) -> Vec<Effect> {
    if app.help || app.search.open || app.too_small() {
        return Vec::new();
    }
    let body = views::areas(app.width, app.height).body;
    let height = views::page_height(app);
    match event.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let action = if event.kind == MouseEventKind::ScrollDown {
                Action::Down
            } else {
                Action::Up
            };
            let mut effects = Vec::new();
            for _ in 0..3 {
                effects.extend(match app.screen() {
                    Screen::Catalog(_) => catalog_action(app, action),
                    Screen::Entity { .. } => {
                        page_handle(app, page_action(action).expect("a movement"), height);
                        Vec::new()
                    }
                    Screen::Docs(_) => {
                        docs::update::wheel(app, action == Action::Down);
                        Vec::new()
                    }
                    Screen::Loading { .. } => Vec::new(),
                    Screen::Templates(_) | Screen::Tasks(_) | Screen::Task(_) => {
                        scaffolder::update::action(app, action)
                    }
                    Screen::Wizard(_) => Vec::new(),
                });
            }
            effects
        }
        MouseEventKind::Down(MouseButton::Left) if app.reader().is_some() => {
            docs::update::click(app, event.column, event.row);
            Vec::new()
        }
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(c) = app.catalog_mut() else {
                return Vec::new();
            };
            let (table, facets) = views::catalog::panes(body, c);
            let inside = |r: ratatui::layout::Rect| {
                event.column >= r.x
                    && event.column < r.x + r.width
                    && event.row > r.y
                    && event.row + 1 < r.y + r.height
            };
            if inside(table) && event.row >= table.y + 2 {
                let index = c.offset + usize::from(event.row - table.y - 2);
                if index < c.visible.len() {
                    c.pane = Pane::Table;
                    c.selected = index;
                }
            } else if inside(facets) {
                let line = c.facet_offset + usize::from(event.row - facets.y - 1);
                if let Some(v) = views::catalog::facet_value_at_line(c, line) {
                    c.pane = Pane::Facets;
                    c.facet_cursor = v;
                }
            }
            more_rows(app)
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod scroll_tests {
    use super::offset_showing;

    #[test]
    fn the_offset_moves_only_as_far_as_the_cursor_needs() {
        assert_eq!(offset_showing(5, 7, 10), 5);
        assert_eq!(offset_showing(5, 3, 10), 3);
        assert_eq!(offset_showing(5, 15, 10), 6);
        assert_eq!(offset_showing(0, 4, 0), 4);
    }
}
