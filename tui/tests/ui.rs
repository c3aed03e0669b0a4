//! The terminal UI without a terminal: key sequences through `update` answered by a fake portal over the
//! repository's sample catalog (`catalog/`), and insta snapshots of what `views::draw` puts on a
//! `TestBackend` at 80x24 and 120x40.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::{Effect, Failure, Msg};
use stagedoor::ui::state::{App, FacetLine, Load, Mode, Ownership, Screen};
use stagedoor::ui::theme::{ColorMode, Theme};
use stagedoor::ui::update::{start, update};
use stagedoor::ui::views;
use stagedoor_core::store::{
    EntityPage, EntityPredicate, EntityQuery, FacetCount, Facets, FieldMatch, PageInfo, SortOrder,
};
use stagedoor_core::{Entity, EntityRef};

/// The sample organisation's entities, in file order.
fn fixtures() -> Vec<Entity> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog");
    let files = [
        "components/components.yaml",
        "components/shipment-tracker/catalog-info.yaml",
        "apis/apis.yaml",
        "systems/systems.yaml",
        "domains/domains.yaml",
        "resources/resources.yaml",
        "org/groups.yaml",
        "org/users.yaml",
    ];
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
            if let Some(e) = Entity::from_value(value) {
                out.push(e);
            }
        }
    }
    out
}

/// The entities with the `relations` ingestion would stitch (both directions), for `relations.*` filters.
fn with_relations(entities: Vec<Entity>) -> Vec<Entity> {
    let mut by_source: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for e in &entities {
        for edge in stagedoor_core::entity::relations::relations_of(e).unwrap() {
            by_source
                .entry(edge.source.canonical())
                .or_default()
                .push(serde_json::json!({
                    "type": edge.relation_type,
                    "targetRef": edge.target.canonical(),
                }));
        }
    }
    entities
        .into_iter()
        .map(|mut e| {
            let relations = by_source.remove(&e.entity_ref().canonical());
            e.0.insert(
                "relations".into(),
                serde_json::Value::Array(relations.unwrap_or_default()),
            );
            e
        })
        .collect()
}

/// `count` generated components (`svc-0000`, ...), for paging.
fn many(count: usize) -> Vec<Entity> {
    (0..count)
        .map(|i| {
            Entity::from_value(serde_json::json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": format!("svc-{i:04}"), "description": format!("service number {i}")},
                "spec": {"type": "service", "lifecycle": "production", "owner": format!("team-{}", i % 7)}
            }))
            .unwrap()
        })
        .collect()
}

fn values_at(e: &Entity, key: &str) -> Vec<String> {
    match e.get_path(key) {
        Some(serde_json::Value::String(s)) => vec![s.to_lowercase()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::to_lowercase)
            .collect(),
        _ => Vec::new(),
    }
}

fn matches(p: &EntityPredicate, e: &Entity) -> bool {
    match p {
        EntityPredicate::All(ps) => ps.iter().all(|p| matches(p, e)),
        EntityPredicate::Any(ps) => ps.iter().any(|p| matches(p, e)),
        EntityPredicate::Not(p) => !matches(p, e),
        EntityPredicate::Field { key, matcher } => {
            let have = if let Some(kind) = key.strip_prefix("relations.") {
                e.relations()
                    .into_iter()
                    .filter(|r| r.relation_type.eq_ignore_ascii_case(kind))
                    .map(|r| r.target_ref.to_lowercase())
                    .collect()
            } else if key == "metadata.namespace" && e.get_path(key).is_none() {
                vec!["default".to_string()]
            } else {
                values_at(e, key)
            };
            match matcher {
                FieldMatch::In(vs) => vs.iter().any(|v| have.contains(&v.to_lowercase())),
                FieldMatch::Exists(b) => have.is_empty() != *b,
                _ => unimplemented!(),
            }
        }
    }
}

/// A portal in memory: answers effects as `LocalPortal` would, with `page` rows per cursor page.
struct Fake {
    entities: Vec<Entity>,
    /// Effects seen, for assertions.
    seen: Vec<Effect>,
    /// Keep replies instead of delivering them.
    hold: bool,
    held: Vec<Msg>,
    /// Answer every call with this failure.
    fail: Option<Failure>,
}

impl Fake {
    fn new(entities: Vec<Entity>) -> Fake {
        Fake {
            entities,
            seen: Vec::new(),
            hold: false,
            held: Vec::new(),
            fail: None,
        }
    }

    fn answer(&self, effect: &Effect) -> Msg {
        let fail = self.fail.clone();
        match effect.clone() {
            Effect::LoadPage { id, query } => Msg::PageLoaded {
                id,
                result: fail.map_or_else(|| Ok(self.page(query)), Err),
            },
            Effect::LoadFacets { id, facets, filter } => Msg::FacetsLoaded {
                id,
                result: fail.map_or_else(|| Ok(self.facets(&facets, filter.as_ref())), Err),
            },
            Effect::LoadEntity { id, entity_ref } | Effect::RefreshEntity { id, entity_ref } => {
                Msg::EntityLoaded {
                    id,
                    result: fail.map_or_else(
                        || {
                            Ok(self
                                .entities
                                .iter()
                                .find(|e| e.entity_ref() == entity_ref)
                                .cloned())
                        },
                        Err,
                    ),
                    entity_ref,
                }
            }
            Effect::LoadRelated { id, refs } => Msg::RelatedLoaded {
                id,
                result: Ok(refs
                    .iter()
                    .map(|r| self.entities.iter().find(|e| e.entity_ref() == *r).cloned())
                    .collect()),
                refs,
            },
            Effect::ImportIfEmpty { id } => Msg::ImportDone {
                id,
                result: Ok(None),
            },
            Effect::LoadOwnership { id, user } => Msg::OwnershipLoaded {
                id,
                result: fail.map_or_else(
                    || {
                        Ok(self
                            .entities
                            .iter()
                            .find(|e| e.entity_ref() == user)
                            .cloned())
                    },
                    Err,
                ),
            },
            // The fake has no docs; the reader's tests (`tests/docs_reader.rs`) use a real portal.
            Effect::LoadDocsSite { id, sync, .. } => Msg::DocsSiteLoaded {
                id,
                synced: sync,
                result: Ok(None),
            },
            Effect::LoadDocsPage { id, location, .. } => Msg::DocsPageLoaded {
                id,
                location,
                result: Ok(None),
            },
            Effect::Copy { .. } => Msg::Tick,
            // The scaffolder screens' tests (`tests/scaffolder_screens.rs`) use a real portal.
            Effect::LoadTemplates { .. }
            | Effect::LoadParameterSchema { .. }
            | Effect::LoadChoices { .. }
            | Effect::DryRun { .. }
            | Effect::CreateTask { .. }
            | Effect::StreamTask { .. }
            | Effect::CancelTask { .. }
            | Effect::LoadTasks { .. } => panic!("no catalog test asks for {effect:?}"),
            // The search overlay's tests (`tests/search_overlay.rs`) use a real portal.
            Effect::Search { id, .. } => Msg::SearchLoaded {
                id,
                result: Ok(Default::default()),
            },
            Effect::LoadRecent { .. } => Msg::RecentLoaded { terms: Vec::new() },
            Effect::SaveRecent { .. } => Msg::RecentSaved { error: None },
            Effect::CountOwned { id, filter } => Msg::OwnedCounted {
                id,
                result: fail.map_or_else(
                    || Ok(self.entities.iter().filter(|e| matches(&filter, e)).count() as u64),
                    Err,
                ),
            },
        }
    }

    /// Cursors are `filter-order|offset` in this fake: only the offset matters to it.
    fn page(&self, query: EntityQuery) -> EntityPage {
        let (filter, order, offset) = match &query.cursor {
            Some(c) => {
                let (state, offset) = c.split_once('|').unwrap();
                let (filter, order): (Option<String>, Vec<(String, bool)>) =
                    serde_json::from_str(state).unwrap();
                (
                    filter.map(|f| {
                        EntityPredicate::from_json(&serde_json::from_str(&f).unwrap()).unwrap()
                    }),
                    order,
                    offset.parse::<usize>().unwrap(),
                )
            }
            None => (
                query.filter.clone(),
                query
                    .order_fields
                    .iter()
                    .map(|o| (o.field.clone(), o.order == SortOrder::Desc))
                    .collect(),
                0,
            ),
        };
        let mut hits: Vec<&Entity> = self
            .entities
            .iter()
            .filter(|e| filter.as_ref().is_none_or(|f| matches(f, e)))
            .collect();
        if let Some((field, desc)) = order.first() {
            hits.sort_by_key(|e| values_at(e, field).first().cloned().unwrap_or_default());
            if *desc {
                hits.reverse();
            }
        }
        let limit = query.limit.unwrap_or(200);
        let items: Vec<Entity> = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|e| (*e).clone())
            .collect();
        let next = (offset + limit < hits.len()).then(|| {
            let state = serde_json::to_string(&(
                filter.as_ref().map(|f| f.to_json().to_string()),
                order.clone(),
            ))
            .unwrap();
            format!("{state}|{}", offset + limit)
        });
        EntityPage {
            items,
            total_items: if query.skip_total_items {
                0
            } else {
                hits.len() as u64
            },
            page_info: PageInfo {
                next_cursor: next,
                prev_cursor: None,
            },
        }
    }

    fn facets(&self, facets: &[String], filter: Option<&EntityPredicate>) -> Facets {
        let mut out = Facets::new();
        for facet in facets {
            let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
            for e in self
                .entities
                .iter()
                .filter(|e| filter.is_none_or(|f| matches(f, e)))
            {
                let values = match e.get_path(facet) {
                    Some(serde_json::Value::String(s)) => vec![s.clone()],
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                    _ if facet == "metadata.namespace" => vec!["default".to_string()],
                    _ => Vec::new(),
                };
                for v in values {
                    *counts.entry(v).or_default() += 1;
                }
            }
            out.insert(
                facet.clone(),
                counts
                    .into_iter()
                    .map(|(value, count)| FacetCount { value, count })
                    .collect(),
            );
        }
        out
    }

    /// Delivers effects (and the effects their replies cause) until nothing is left.
    fn run(&mut self, app: &mut App, effects: Vec<Effect>) {
        let mut queue = effects;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for effect in queue {
                self.seen.push(effect.clone());
                let reply = self.answer(&effect);
                if self.hold {
                    self.held.push(reply);
                } else {
                    next.extend(update(app, reply));
                }
            }
            queue = next;
        }
    }
}

fn theme() -> Theme {
    Theme::built_in("dark", ColorMode::Ansi16).unwrap()
}

fn new_app(width: u16, height: u16, keymap: Keymap) -> App {
    let mut app = App::new(theme(), keymap, "embedded app-config.yaml".into(), false);
    app.width = width;
    app.height = height;
    app
}

/// An app showing the Components table of the sample catalog.
fn started(width: u16, height: u16) -> (App, Fake) {
    started_with(width, height, Keymap::default(), fixtures())
}

fn started_with(width: u16, height: u16, keymap: Keymap, entities: Vec<Entity>) -> (App, Fake) {
    let mut app = new_app(width, height, keymap);
    let mut fake = Fake::new(entities);
    let effects = start(&mut app);
    fake.run(&mut app, effects);
    (app, fake)
}

/// An app showing the Components table of the sample catalog (with relations) as `identity`.
fn started_as(width: u16, height: u16, identity: &str) -> (App, Fake) {
    let mut app = new_app(width, height, Keymap::default())
        .with_identity(Some(EntityRef::parse(identity).unwrap()));
    let mut fake = Fake::new(with_relations(fixtures()));
    let effects = start(&mut app);
    fake.run(&mut app, effects);
    (app, fake)
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

/// Types `keys`: characters as themselves, `<enter>`, `<esc>`, `<tab>`, `<bs>`, `<down>`, `<up>`,
/// `<ctrl-x>` as named.
fn press(app: &mut App, fake: &mut Fake, keys: &str) {
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        let msg = if c == '<' && rest.contains('>') {
            let end = rest.find('>').unwrap();
            let name = &rest[1..end];
            rest = &rest[end + 1..];
            match name {
                "enter" => key(KeyCode::Enter, KeyModifiers::NONE),
                "esc" => key(KeyCode::Esc, KeyModifiers::NONE),
                "tab" => key(KeyCode::Tab, KeyModifiers::NONE),
                "bs" => key(KeyCode::Backspace, KeyModifiers::NONE),
                "down" => key(KeyCode::Down, KeyModifiers::NONE),
                "up" => key(KeyCode::Up, KeyModifiers::NONE),
                n if n.starts_with("ctrl-") => key(
                    KeyCode::Char(n.chars().last().unwrap()),
                    KeyModifiers::CONTROL,
                ),
                other => panic!("unknown key <{other}>"),
            }
        } else {
            rest = &rest[c.len_utf8()..];
            let modifiers = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            key(KeyCode::Char(c), modifiers)
        };
        let effects = update(app, msg);
        fake.run(app, effects);
    }
}

fn names(app: &App) -> Vec<String> {
    let c = app.catalog().expect("a catalog view");
    c.visible.iter().map(|&i| c.rows[i].name.clone()).collect()
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    terminal.draw(|f| views::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn the_first_view_is_the_components_table() {
    let (app, _) = started(120, 40);
    let c = app.catalog().unwrap();
    assert_eq!(c.view.title(), "Components");
    assert_eq!(c.load, Load::Ready);
    assert_eq!(c.total, 11);
    assert!(c.rows.iter().all(|r| r.kind == "Component"));
    assert_eq!(names(&app)[0], "carrier-gateway", "sorted by name");
    assert!(c
        .facets
        .iter()
        .any(|g| g.title == "owner" && !g.values.is_empty()));
}

#[test]
fn api_command_loads_the_api_table() {
    let (mut app, mut fake) = started(120, 40);
    press(&mut app, &mut fake, ":api<enter>");
    let c = app.catalog().unwrap();
    assert_eq!(c.view.title(), "APIs");
    assert!(!c.rows.is_empty());
    assert!(c.rows.iter().all(|r| r.kind == "API"));
    assert_eq!(app.mode, Mode::Normal);
    assert!(fake.seen.iter().any(|e| matches!(e, Effect::LoadPage { query, .. }
        if query.filter == Some(EntityPredicate::Field { key: "kind".into(), matcher: FieldMatch::In(vec!["API".into()]) }))));
    // Aliases and full names reach the same tables.
    for (cmd, title) in [
        (":sys", "Systems"),
        (":groups", "Groups"),
        (":res", "Resources"),
        (":comp", "Components"),
    ] {
        press(&mut app, &mut fake, &format!("{cmd}<enter>"));
        assert_eq!(app.catalog().unwrap().view.title(), title, "{cmd}");
    }
    press(&mut app, &mut fake, ":nope<enter>");
    assert!(
        matches!(&app.status, Some(stagedoor::ui::state::Status::Error(m)) if m.contains("unknown command :nope"))
    );
}

#[test]
fn table_rows_are_projected_and_paged() {
    let (mut app, mut fake) = started_with(120, 40, Keymap::default(), many(1200));
    let first = fake.seen.iter().find_map(|e| match e {
        Effect::LoadPage { query, .. } => Some(query.clone()),
        _ => None,
    });
    let first = first.unwrap();
    assert_eq!(first.limit, Some(500));
    assert!(first.fields.contains(&"metadata.name".to_string()));
    assert!(
        !first.fields.is_empty(),
        "never whole entities for the table"
    );
    let c = app.catalog().unwrap();
    assert_eq!((c.rows.len(), c.total), (500, 1200));
    // G goes to the last loaded row, which asks for the next page through the cursor.
    press(&mut app, &mut fake, "G");
    let c = app.catalog().unwrap();
    assert_eq!(c.rows.len(), 1000);
    assert_eq!(c.total, 1200);
    assert!(fake
        .seen
        .iter()
        .any(|e| matches!(e, Effect::LoadPage { query, .. } if query.cursor.is_some())));
    press(&mut app, &mut fake, "G");
    assert_eq!(app.catalog().unwrap().rows.len(), 1200);
    assert!(app.catalog().unwrap().next_cursor.is_none());
}

#[test]
fn slash_filters_live_and_esc_clears() {
    let (mut app, mut fake) = started(120, 40);
    press(&mut app, &mut fake, "/invoice");
    assert_eq!(app.mode, Mode::Filter("invoice".into()));
    let hits = names(&app);
    assert_eq!(hits[0], "invoice-service", "best match first");
    assert!(
        hits.len() < 11 && !hits.contains(&"larkspur-geo".to_string()),
        "{hits:?}"
    );
    press(&mut app, &mut fake, "<enter>");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(names(&app), hits, "Enter keeps the filter");
    // Tags and descriptions are searched too.
    press(&mut app, &mut fake, "<esc>/kotlin<enter>");
    assert!(names(&app).contains(&"shipment-tracker-worker".to_string()));
    press(&mut app, &mut fake, "<esc>");
    assert_eq!(names(&app).len(), 11);
}

#[test]
fn typing_a_filter_selects_the_best_match() {
    // carrier-gateway, the first row, matches `tracker` too (through its description), but lower.
    let (mut app, mut fake) = started(120, 40);
    assert_eq!(
        app.catalog().unwrap().selected_row().unwrap().name,
        "carrier-gateway"
    );
    press(&mut app, &mut fake, "/tracker");
    assert!(names(&app).contains(&"carrier-gateway".to_string()));
    assert_eq!(
        app.catalog().unwrap().selected_row().unwrap().name,
        "shipment-tracker"
    );
    press(&mut app, &mut fake, "<enter><enter>");
    assert!(
        matches!(fake.seen.last(), Some(Effect::LoadEntity { entity_ref, .. }) if entity_ref.canonical() == "component:default/shipment-tracker")
    );
    // Clearing the filter keeps the cursor on that row.
    press(&mut app, &mut fake, "<esc>");
    assert_eq!(app.screens.len(), 1);
    press(&mut app, &mut fake, "<esc>");
    assert_eq!(names(&app).len(), 11);
    assert_eq!(
        app.catalog().unwrap().selected_row().unwrap().name,
        "shipment-tracker"
    );
}

#[test]
fn r_on_an_entity_refreshes_it_from_its_location() {
    let (mut app, mut fake) = started(120, 40);
    let expected = app.catalog().unwrap().selected_row().unwrap().entity_ref();
    press(&mut app, &mut fake, "<enter>");
    assert!(matches!(app.screen(), Screen::Entity { .. }));
    press(&mut app, &mut fake, "r");
    assert!(
        matches!(fake.seen.last(), Some(Effect::RefreshEntity { entity_ref, .. }) if *entity_ref == expected)
    );
    // The page comes back, in the same place in the history.
    assert!(matches!(app.screen(), Screen::Entity { .. }));
    assert_eq!(app.screens.len(), 2);
    // On the table, `r` reloads it.
    press(&mut app, &mut fake, "<esc>r");
    assert!(matches!(
        fake.seen.last(),
        Some(Effect::LoadPage { .. } | Effect::LoadFacets { .. })
    ));
}

#[test]
fn enter_opens_the_entity_and_esc_comes_back() {
    let (mut app, mut fake) = started(120, 40);
    press(&mut app, &mut fake, "j");
    let expected = app.catalog().unwrap().selected_row().unwrap().entity_ref();
    fake.hold = true;
    press(&mut app, &mut fake, "<enter>");
    assert!(
        matches!(fake.seen.last(), Some(Effect::LoadEntity { entity_ref, .. }) if *entity_ref == expected)
    );
    assert!(matches!(app.screen(), Screen::Loading { .. }));
    assert_eq!(
        app.breadcrumbs(),
        vec!["Components".to_string(), expected.canonical()]
    );
    fake.hold = false;
    for msg in std::mem::take(&mut fake.held) {
        let effects = update(&mut app, msg);
        fake.run(&mut app, effects);
    }
    assert!(matches!(app.screen(), Screen::Entity { .. }));
    press(&mut app, &mut fake, "<esc>");
    assert_eq!(app.screens.len(), 1);
    assert_eq!(
        app.catalog().unwrap().selected,
        1,
        "the cursor is where it was"
    );
    press(&mut app, &mut fake, "<esc>");
    assert_eq!(app.screens.len(), 1, "Esc on the first view stays");
    assert!(!app.quit);
}

#[test]
fn help_toggles_and_is_modal() {
    let (mut app, mut fake) = started(80, 24);
    press(&mut app, &mut fake, "?");
    assert!(app.help);
    press(&mut app, &mut fake, "j");
    assert_eq!(
        app.catalog().unwrap().selected,
        0,
        "keys wait while help is open"
    );
    press(&mut app, &mut fake, "?");
    assert!(!app.help);
    press(&mut app, &mut fake, "?<esc>");
    assert!(!app.help);
}

#[test]
fn remapped_keys_work() {
    let keys = serde_json::json!({"quit": "ctrl-q", "filter": "f"});
    let keymap = Keymap::from_config(Some(&keys)).unwrap();
    let (mut app, mut fake) = started_with(80, 24, keymap, fixtures());
    press(&mut app, &mut fake, "q");
    assert!(!app.quit, "q is no longer quit");
    press(&mut app, &mut fake, "froute<enter>");
    assert!(names(&app).contains(&"route-planner".to_string()));
    assert!(
        screen(&app).contains("ctrl-q quit"),
        "the hint bar shows the new key"
    );
    press(&mut app, &mut fake, "<ctrl-q>");
    assert!(app.quit);
}

#[test]
fn ctrl_c_and_quit_command_quit() {
    let (mut app, mut fake) = started(80, 24);
    press(&mut app, &mut fake, "<ctrl-c>");
    assert!(app.quit);
    let (mut app, mut fake) = started(80, 24);
    press(&mut app, &mut fake, ":q<enter>");
    assert!(app.quit);
}

#[test]
fn tab_completes_commands() {
    let (mut app, mut fake) = started(80, 24);
    press(&mut app, &mut fake, ":comp<tab>");
    assert_eq!(app.mode, Mode::Command("components".into()));
    press(&mut app, &mut fake, "<esc>:a<tab>");
    assert_eq!(app.mode, Mode::Command("a".into()));
    assert_eq!(app.completions, vec!["apis".to_string(), "all".to_string()]);
    press(&mut app, &mut fake, "p<tab><enter>");
    assert_eq!(app.catalog().unwrap().view.title(), "APIs");
}

#[test]
fn facets_filter_server_side_and_sort_cycles() {
    let (mut app, mut fake) = started(120, 40);
    // Tab to the facet panel; the first value is the owner with the most components.
    press(&mut app, &mut fake, "<tab>");
    let first_owner = app.catalog().unwrap().facets[0].values[0].0.clone();
    press(&mut app, &mut fake, " ");
    let c = app.catalog().unwrap();
    assert!(c.facets[0].selected.contains(&first_owner));
    let last_query = fake.seen.iter().rev().find_map(|e| match e {
        Effect::LoadPage { query, .. } => Some(query.clone()),
        _ => None,
    });
    let filter = last_query.unwrap().filter.unwrap();
    assert!(
        filter.to_json().to_string().contains("spec.owner"),
        "{filter:?}"
    );
    assert!(
        c.rows.iter().all(|r| r.cells[2] == first_owner),
        "OWNER column"
    );
    assert_eq!(c.total as usize, c.rows.len());
    // Toggling it off brings everything back.
    press(&mut app, &mut fake, " <tab>");
    assert_eq!(app.catalog().unwrap().rows.len(), 11);
    // o: next column (system); O: descending.
    press(&mut app, &mut fake, "o");
    assert_eq!(app.catalog().unwrap().sort_column().title, "SYSTEM");
    press(&mut app, &mut fake, "O");
    let c = app.catalog().unwrap();
    assert_eq!(c.order, SortOrder::Desc);
    assert_eq!(c.rows[0].cells[1], "shipment-tracking");
}

#[test]
fn owned_by_me_narrows_the_table_to_what_the_identitys_groups_own() {
    // Diego is a member of tracking-team, which owns three of the eleven components.
    let (mut app, mut fake) = started_as(120, 40, "user:default/diego.navarro");
    assert_eq!(
        app.ownership,
        Ownership::Ready(vec![
            "user:default/diego.navarro".to_string(),
            "group:default/tracking-team".to_string(),
        ])
    );
    let c = app.catalog().unwrap();
    assert_eq!(c.facet_lines()[0], FacetLine::Owned, "at the top");
    assert_eq!(c.owned.as_ref().unwrap().count, Some(3));
    assert_eq!(c.rows.len(), 11);
    let mut expected: Vec<String> = fixtures()
        .iter()
        .filter(|e| e.kind() == "Component" && e.spec_str("owner") == Some("tracking-team"))
        .map(|e| e.name().to_string())
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3);
    // Tab to the panel: the cursor is on "owned by me"; space turns it on.
    press(&mut app, &mut fake, "<tab> ");
    let mut shown = names(&app);
    shown.sort();
    assert_eq!(shown, expected);
    let c = app.catalog().unwrap();
    assert!(c.owned.as_ref().unwrap().on);
    assert_eq!(c.total, 3);
    let query = fake
        .seen
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::LoadPage { query, .. } => Some(query.clone()),
            _ => None,
        })
        .unwrap();
    let filter = query.filter.unwrap().to_json().to_string();
    assert!(filter.contains("relations.ownedBy"), "{filter}");
    assert!(filter.contains("group:default/tracking-team"), "{filter}");
    assert!(filter.contains("Component"), "the kind stays: {filter}");
    assert!(screen(&app).contains("Filters (1)"));
    // Combined with a facet value (ANDed): type library leaves none of tracking-team's services.
    let library = c
        .facet_values()
        .iter()
        .position(|l| matches!(l, FacetLine::Value(g, v) if c.facets[*g].values[*v].0 == "library"))
        .unwrap();
    for _ in 0..library {
        press(&mut app, &mut fake, "<down>");
    }
    press(&mut app, &mut fake, " ");
    assert!(names(&app).is_empty());
    press(&mut app, &mut fake, " ");
    assert_eq!(names(&app).len(), 3);
    // Off again: everything.
    press(&mut app, &mut fake, "g ");
    assert_eq!(names(&app).len(), 11);
    assert!(!app.catalog().unwrap().owned.as_ref().unwrap().on);
}

#[test]
fn without_an_identity_there_is_no_owned_by_me() {
    let (mut app, mut fake) = started(120, 40);
    let c = app.catalog().unwrap();
    assert!(c.owned.is_none());
    assert!(!c.facet_lines().contains(&FacetLine::Owned));
    assert!(!fake
        .seen
        .iter()
        .any(|e| matches!(e, Effect::LoadOwnership { .. } | Effect::CountOwned { .. })));
    press(&mut app, &mut fake, "<tab>");
    assert!(!screen(&app).contains("owned by me"));
    // The first line is still the first owner value.
    press(&mut app, &mut fake, " ");
    assert_eq!(app.catalog().unwrap().facets[0].selected.len(), 1);
}

#[test]
fn an_identity_missing_from_the_catalog_disables_owned_by_me() {
    let (mut app, mut fake) = started_as(120, 40, "user:default/nobody");
    assert!(matches!(app.ownership, Ownership::Unavailable(_)));
    press(&mut app, &mut fake, "<tab> ");
    let c = app.catalog().unwrap();
    assert!(!c.owned.as_ref().unwrap().on);
    assert_eq!(c.rows.len(), 11);
    match &app.status {
        Some(stagedoor::ui::state::Status::Error(m)) => {
            assert!(
                m.contains("user:default/nobody") && m.contains("not in the catalog"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(screen(&app).contains("[-] owned by me"));
    // :apis keeps the entry (disabled) on the new table.
    press(&mut app, &mut fake, ":apis<enter>");
    assert!(app.catalog().unwrap().owned.is_some());
}

#[test]
fn stale_replies_are_dropped() {
    let (mut app, mut fake) = started(120, 40);
    fake.hold = true;
    press(&mut app, &mut fake, ":api<enter>");
    let stale = std::mem::take(&mut fake.held);
    press(&mut app, &mut fake, ":sys<enter>");
    let fresh = std::mem::take(&mut fake.held);
    fake.hold = false;
    // The fresh answers come first, then the APIs page arrives late and must not replace them.
    for msg in fresh.into_iter().chain(stale) {
        let effects = update(&mut app, msg);
        fake.run(&mut app, effects);
    }
    let c = app.catalog().unwrap();
    assert_eq!(c.view.title(), "Systems");
    assert!(c.rows.iter().all(|r| r.kind == "System"));
    // Two reloads of one table: the first answer arrives last and is dropped.
    fake.hold = true;
    press(&mut app, &mut fake, "r");
    let first = std::mem::take(&mut fake.held);
    fake.entities.retain(|e| e.name() != "route-planning");
    press(&mut app, &mut fake, "r");
    let second = std::mem::take(&mut fake.held);
    fake.hold = false;
    for msg in second.into_iter().chain(first) {
        let effects = update(&mut app, msg);
        fake.run(&mut app, effects);
    }
    let names = names(&app);
    assert!(!names.contains(&"route-planning".to_string()), "{names:?}");
    assert_eq!(app.catalog().unwrap().load, Load::Ready);
}

#[test]
fn commands_push_history_and_esc_returns() {
    let (mut app, mut fake) = started(120, 40);
    press(&mut app, &mut fake, ":api<enter>:sys<enter>");
    assert_eq!(app.breadcrumbs(), vec!["Components", "APIs", "Systems"]);
    press(&mut app, &mut fake, ":sys<enter>");
    assert_eq!(app.screens.len(), 3, "the same table reloads in place");
    press(&mut app, &mut fake, "<esc><esc>");
    assert_eq!(app.catalog().unwrap().view.title(), "Components");
    assert_eq!(app.catalog().unwrap().rows.len(), 11, "kept its rows");
}

#[test]
fn an_unreachable_backend_shows_an_error_and_r_retries() {
    let mut app = new_app(80, 24, Keymap::default());
    let mut fake = Fake::new(fixtures());
    fake.fail = Some(Failure {
        message: "the backend is unreachable: connection refused".into(),
        connection: true,
    });
    let effects = start(&mut app);
    fake.run(&mut app, effects);
    assert!(matches!(&app.catalog().unwrap().load, Load::Failed(m) if m.contains("unreachable")));
    assert!(screen(&app).contains("press r to retry"));
    fake.fail = None;
    press(&mut app, &mut fake, "r");
    assert_eq!(app.catalog().unwrap().load, Load::Ready);
    assert_eq!(app.catalog().unwrap().rows.len(), 11);
    assert_eq!(app.connection, stagedoor::ui::state::Connection::Connected);
}

#[test]
fn a_click_selects_a_row_and_the_wheel_scrolls() {
    let (mut app, mut fake) = started(120, 40);
    // Header 2 lines, table border, column header: the fourth row of the table is on line 2+1+1+3.
    let click = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 60,
        row: 7,
        modifiers: KeyModifiers::NONE,
    });
    let effects = update(&mut app, click);
    fake.run(&mut app, effects);
    assert_eq!(app.catalog().unwrap().selected, 3);
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 60,
        row: 7,
        modifiers: KeyModifiers::NONE,
    });
    update(&mut app, wheel);
    assert_eq!(app.catalog().unwrap().selected, 6);
}

#[test]
fn catalog_text_is_sanitized() {
    let evil = Entity::from_value(serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "evil", "description": "a\u{1b}[31mred\u{1b}[0m\u{1b}]0;pwned\u{7} text"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "x"}
    }))
    .unwrap();
    let (app, _) = started_with(120, 40, Keymap::default(), vec![evil]);
    let drawn = screen(&app);
    assert!(drawn.contains("ared text"), "{drawn}");
    assert!(!drawn.contains('\u{1b}'));
}

// Snapshots: each view at the minimum size and at a roomy one.

fn snap(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_{}x{}", app.width, app.height), screen(app));
}

#[test]
fn snapshot_catalog() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (app, _) = started(w, h);
        snap("catalog", &app);
    }
}

#[test]
fn snapshot_catalog_filtered_with_facets_focused() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut fake) = started(w, h);
        press(&mut app, &mut fake, "/ship<enter><tab><down>");
        snap("catalog_filtered_facets", &app);
    }
}

#[test]
fn snapshot_catalog_owned_by_me() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut fake) = started_as(w, h, "user:default/diego.navarro");
        press(&mut app, &mut fake, "<tab> ");
        snap("catalog_owned_by_me", &app);
    }
}

#[test]
fn snapshot_help() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut fake) = started(w, h);
        press(&mut app, &mut fake, "?");
        snap("help", &app);
    }
}

#[test]
fn snapshot_command_line_with_completion() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut fake) = started(w, h);
        press(&mut app, &mut fake, ":a<tab>");
        snap("command_completion", &app);
    }
}

#[test]
fn snapshot_loading() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = new_app(w, h, Keymap::default());
        let _ = start(&mut app);
        snap("loading", &app);
    }
}

#[test]
fn snapshot_import_progress() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = new_app(w, h, Keymap::default());
        app.embedded = true;
        let effects = start(&mut app);
        let Some(Effect::ImportIfEmpty { id }) = effects.first().cloned() else {
            panic!("{effects:?}")
        };
        update(&mut app, Msg::ImportStarted { id });
        update(
            &mut app,
            Msg::ImportProgress(stagedoor_core::portal::RefreshProgress::Started { roots: 4 }),
        );
        update(
            &mut app,
            Msg::ImportProgress(stagedoor_core::portal::RefreshProgress::RootDone {
                origin: "file:./catalog/all.yaml".into(),
                entities: 49,
            }),
        );
        snap("import", &app);
    }
}

#[test]
fn snapshot_error() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = new_app(w, h, Keymap::default());
        app.source = "https://backstage.example.com".into();
        let mut fake = Fake::new(Vec::new());
        fake.fail = Some(Failure {
            message: "the backend refused the token: Missing credentials".into(),
            connection: true,
        });
        let effects = start(&mut app);
        fake.run(&mut app, effects);
        snap("error", &app);
    }
}

#[test]
fn snapshot_too_small() {
    for (w, h) in [(79, 24), (60, 20)] {
        let (app, _) = started(w, h);
        snap("too_small", &app);
    }
}

/// `run::settle` drives the real effects against an embedded portal over the sample catalog: the empty
/// store is imported, then the first complete frame (rows and facets) is on the backend.
#[test]
fn settle_reaches_the_first_complete_frame_on_an_embedded_portal() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/all.yaml");
    let config = stagedoor_core::devgen::catalog_config(&root, dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let portal: std::sync::Arc<dyn stagedoor_core::Portal> =
        std::sync::Arc::new(stagedoor_core::LocalPortal::from_config(config).unwrap());
    let mut app = App::new(theme(), Keymap::default(), "embedded".into(), true);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let effects = start(&mut app);
    runtime
        .block_on(stagedoor::ui::run::settle(
            &mut terminal,
            portal,
            &mut app,
            effects,
        ))
        .unwrap();
    let c = app.catalog().unwrap();
    assert_eq!((c.load.clone(), c.total), (Load::Ready, 11));
    assert!(c.page_request.is_none() && c.facets_request.is_none());
    assert!(c.facets.iter().all(|g| !g.values.is_empty()));
    let frame = terminal.backend().to_string();
    assert!(frame.contains("Components [11/11]"), "{frame}");
    assert!(frame.contains("imported"), "{frame}");
}
