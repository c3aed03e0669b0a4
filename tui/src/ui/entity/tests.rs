//! Unit tests of the page's model and navigation, and snapshot tests of every kind's page at 80x24 and
//! 120x40, on Backstage's example catalog ingested through the embedded portal.

use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use serde_json::json;

use super::fixtures::{entity, lookup};
use super::*;
use crate::ui::theme::ColorMode;

/// A page for `r` with its related entities fetched, as the app does.
fn page(r: &str) -> EntityPage {
    let mut page = EntityPage::new(entity(r));
    let wanted = page.wanted_refs();
    let found = lookup(&wanted);
    page.set_related(&wanted, found);
    page
}

fn theme(mode: ColorMode) -> Theme {
    Theme::built_in("dark", mode).expect("dark theme")
}

fn draw(page: &EntityPage, w: u16, h: u16, mode: ColorMode) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| render(f, f.area(), page, &theme(mode)))
        .expect("draw");
    terminal
}

fn screen(page: &EntityPage, w: u16, h: u16) -> String {
    draw(page, w, h, ColorMode::TrueColor).backend().to_string()
}

fn rows_text(rows: &[Row]) -> Vec<String> {
    rows.iter().map(Row::plain).collect()
}

fn go_to(page: &mut EntityPage, tab: Tab) {
    for _ in 0..Tab::ALL.len() {
        if page.tab() == tab {
            return;
        }
        page.handle(PageAction::NextPane, 20);
    }
    panic!("no tab {tab:?}");
}

fn snap(name: &str, page: &EntityPage) {
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(page, w, h));
    }
}

// --- snapshots ---

#[test]
fn snapshot_component() {
    snap(
        "component_artist_lookup",
        &page("component:default/artist-lookup"),
    );
}

#[test]
fn snapshot_component_relations() {
    let mut p = page("component:default/artist-lookup");
    go_to(&mut p, Tab::Relations);
    snap("component_artist_lookup_relations", &p);
}

#[test]
fn snapshot_api_definition() {
    let mut p = page("api:default/petstore");
    snap("api_petstore", &p);
    go_to(&mut p, Tab::Definition);
    snap("api_petstore_definition", &p);
}

#[test]
fn snapshot_group() {
    snap("group_team_a", &page("group:default/team-a"));
}

#[test]
fn snapshot_user() {
    snap("user_frank_tiernan", &page("user:default/frank.tiernan"));
}

#[test]
fn snapshot_system() {
    snap(
        "system_audio_playback",
        &page("system:default/audio-playback"),
    );
}

#[test]
fn snapshot_domain() {
    snap("domain_playback", &page("domain:default/playback"));
}

#[test]
fn snapshot_dependencies() {
    let mut p = page("component:default/wayback-archive");
    p.handle(PageAction::ToggleDeps, 20);
    snap("deps_wayback_archive", &p);
}

#[test]
fn snapshot_yaml() {
    let mut p = page("system:default/audio-playback");
    go_to(&mut p, Tab::Yaml);
    snap("yaml_audio_playback", &p);
}

#[test]
fn snapshot_processing_errors() {
    snap(
        "location_example_apis",
        &page("location:default/example-apis"),
    );
}

// --- model ---

fn entity_of(value: serde_json::Value) -> Entity {
    Entity::from_value(value).expect("object")
}

fn rel(t: &str, target: &str) -> stagedoor_core::entity::Relation {
    stagedoor_core::entity::Relation {
        relation_type: t.into(),
        target_ref: target.into(),
    }
}

#[test]
fn relations_group_in_reading_order_without_duplicates() {
    let groups = relations::group(&[
        rel("dependsOn", "resource:default/db"),
        rel("zzCustom", "component:default/x"),
        rel("ownedBy", "group:default/team-a"),
        rel("dependsOn", "component:default/b"),
        rel("dependsOn", "resource:default/db"),
    ]);
    let types: Vec<&str> = groups.iter().map(|g| g.relation_type.as_str()).collect();
    assert_eq!(types, ["ownedBy", "dependsOn", "zzCustom"]);
    assert_eq!(
        groups[1].targets,
        ["component:default/b", "resource:default/db"]
    );
    assert_eq!(relations::label("apiProvidedBy"), "API provided by");
    assert_eq!(relations::label("somethingElse"), "somethingElse");
}

#[test]
fn kind_sections_split_and_name_relations() {
    let system = kinds::fill(
        "System",
        &[
            rel("hasPart", "component:default/a"),
            rel("hasPart", "api:default/b"),
            rel("hasPart", "resource:default/c"),
            rel("ownedBy", "group:default/t"),
        ],
    );
    let titles: Vec<(&str, usize)> = system.iter().map(|s| (s.title, s.targets.len())).collect();
    assert_eq!(titles, [("Components", 1), ("APIs", 1), ("Resources", 1)]);
    let group = kinds::fill("group", &[rel("hasMember", "user:default/u")]);
    let titles: Vec<&str> = group.iter().map(|s| s.title).collect();
    assert_eq!(titles, ["Parent", "Children", "Members", "Owned entities"]);
    assert_eq!(group[2].targets, ["user:default/u"]);
    let user: Vec<&str> = kinds::sections("User").iter().map(|s| s.title).collect();
    assert_eq!(user, ["Groups", "Owned entities"]);
    let domain: Vec<&str> = kinds::sections("Domain").iter().map(|s| s.title).collect();
    assert_eq!(domain, ["Systems", "Subdomains"]);
    assert!(kinds::sections("Location").is_empty());
}

#[test]
fn about_finds_the_domain_through_the_fetched_system() {
    let mut p = EntityPage::new(entity("component:default/artist-lookup"));
    let about = |p: &EntityPage| rows_text(&about::about(&p.entity, &p.related));
    let before = about(&p);
    assert!(
        before
            .iter()
            .any(|l| l.contains("Domain") && l.contains('—')),
        "{before:#?}"
    );
    let wanted = p.wanted_refs();
    p.set_related(&wanted, lookup(&wanted));
    let after = about(&p);
    assert!(
        after
            .iter()
            .any(|l| l.contains("Domain") && l.contains("artists")),
        "{after:#?}"
    );
    assert!(after
        .iter()
        .any(|l| l.contains("Lifecycle") && l.contains("experimental")));
    assert!(after
        .iter()
        .any(|l| l.contains("Tags") && l.contains("java · data")));
}

#[test]
fn wanted_refs_are_every_relation_target_once() {
    let p = EntityPage::new(entity("group:default/team-a"));
    let wanted: Vec<String> = p.wanted_refs().iter().map(EntityRef::canonical).collect();
    assert_eq!(wanted.len(), 18);
    assert!(wanted.contains(&"group:default/backstage".to_string()));
    assert!(wanted.contains(&"user:development/guest".to_string()));
}

#[test]
fn missing_targets_show_as_missing_and_do_not_open() {
    let e = entity_of(json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "c"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "ghosts"},
        "relations": [{"type": "ownedBy", "targetRef": "group:default/ghosts"}]
    }));
    let mut p = EntityPage::new(e);
    let wanted = p.wanted_refs();
    p.set_related(&wanted, vec![None]);
    go_to(&mut p, Tab::Relations);
    assert_eq!(
        p.selected().map(EntityRef::canonical).as_deref(),
        Some("group:default/ghosts")
    );
    assert!(rows_text(&p.relations)
        .iter()
        .any(|l| l.contains("ghosts  ✗ missing")));
    assert_eq!(p.handle(PageAction::Open, 10), PageOutcome::Nothing);
    let text = screen(&p, 80, 24);
    assert!(text.contains("✗ missing"), "{text}");
    assert!(!text.contains("Preview"), "{text}");
    // Wide terminals preview the selection.
    let text = screen(&p, 120, 40);
    assert!(text.contains("✗ Not in the catalog."), "{text}");
}

#[test]
fn open_follows_the_selected_relation() {
    let mut p = page("component:default/artist-lookup");
    go_to(&mut p, Tab::Relations);
    assert_eq!(
        p.handle(PageAction::Open, 10),
        PageOutcome::Open(EntityRef::parse("group:default/team-a").unwrap())
    );
    p.handle(PageAction::Bottom, 10);
    assert_eq!(
        p.handle(PageAction::Open, 10),
        PageOutcome::Open(EntityRef::parse("resource:default/artists-db").unwrap())
    );
    // Headings and blank lines open nothing.
    p.handle(PageAction::Top, 10);
    assert_eq!(p.handle(PageAction::Open, 10), PageOutcome::Nothing);
}

#[test]
fn tabs_cycle_and_definition_is_for_apis_only() {
    let mut p = page("component:default/artist-lookup");
    assert_eq!(
        p.tabs(),
        [Tab::Overview, Tab::Relations, Tab::Yaml, Tab::Dependencies]
    );
    let mut seen = vec![p.tab()];
    for _ in 0..4 {
        p.handle(PageAction::NextPane, 10);
        seen.push(p.tab());
    }
    assert_eq!(
        seen,
        [
            Tab::Overview,
            Tab::Relations,
            Tab::Yaml,
            Tab::Dependencies,
            Tab::Overview
        ]
    );
    p.handle(PageAction::PrevPane, 10);
    assert_eq!(p.tab(), Tab::Dependencies);
    let api = page("api:default/petstore");
    assert!(api.tabs().contains(&Tab::Definition));
}

#[test]
fn toggle_deps_returns_to_the_tab_it_came_from() {
    let mut p = page("component:default/wayback-archive");
    go_to(&mut p, Tab::Yaml);
    p.handle(PageAction::ToggleDeps, 10);
    assert_eq!(p.tab(), Tab::Dependencies);
    // The cursor starts on the first entity of the tree.
    assert_eq!(
        p.selected().map(EntityRef::canonical).as_deref(),
        Some("component:default/wayback-archive-ingestion")
    );
    p.handle(PageAction::Bottom, 10);
    assert_eq!(
        p.selected().map(EntityRef::canonical).as_deref(),
        Some("api:default/wayback-archive")
    );
    // Missing in the catalog: not followed.
    assert_eq!(p.handle(PageAction::Open, 10), PageOutcome::Nothing);
    p.handle(PageAction::Up, 10);
    p.handle(PageAction::Up, 10);
    assert_eq!(
        p.handle(PageAction::Open, 10),
        PageOutcome::Open(EntityRef::parse("component:default/wayback-archive-storage").unwrap())
    );
    p.handle(PageAction::ToggleDeps, 10);
    assert_eq!(p.tab(), Tab::Yaml);
}

#[test]
fn the_tree_reaches_one_level_past_the_neighbours() {
    let p = page("component:default/www-artist");
    let text = rows_text(&p.deps);
    // www-artist → part of the portal system → which has artist-lookup as a part too.
    assert!(text.iter().any(|l| l.contains("Part of (1)")), "{text:#?}");
    assert!(
        text.iter()
            .any(|l| l.contains("has part → ") && l.contains("artist-lookup")),
        "{text:#?}"
    );
    // Never back to the root.
    assert!(!text.iter().skip(1).any(|l| l.ends_with("www-artist")));
}

#[test]
fn cursor_and_scroll_are_clamped() {
    let mut p = page("group:default/team-a");
    p.handle(PageAction::Up, 10);
    assert_eq!(p.views[0].cursor, 0);
    p.handle(PageAction::PageDown, 10);
    assert_eq!(p.views[0].cursor, 10);
    assert_eq!(p.views[0].offset(), 1);
    p.handle(PageAction::Bottom, 10);
    assert_eq!(p.views[0].cursor, p.overview.len() - 1);
    p.handle(PageAction::Down, 10);
    assert_eq!(p.views[0].cursor, p.overview.len() - 1);
    p.handle(PageAction::Top, 10);
    assert_eq!((p.views[0].cursor, p.views[0].offset()), (0, 0));

    let mut api = page("api:default/petstore");
    go_to(&mut api, Tab::Definition);
    let len = api.definition.as_ref().unwrap().len();
    api.handle(PageAction::Bottom, 20);
    let view = Tab::Definition.index();
    assert_eq!(api.views[view].offset(), len - 20);
    api.handle(PageAction::PageDown, 20);
    assert_eq!(api.views[view].offset(), len - 20);
    api.handle(PageAction::PageUp, 20);
    assert_eq!(api.views[view].offset(), len - 40);
    let text = screen(&api, 80, 24);
    assert!(text.contains(&format!("/{len} ")), "{text}");
}

#[test]
fn definitions_are_highlighted_by_type() {
    assert_eq!(
        highlight::definition_language("openapi", "openapi: 3.0.0"),
        Some("yaml")
    );
    assert_eq!(
        highlight::definition_language("asyncapi", " {\"asyncapi\": 1}"),
        Some("json")
    );
    assert_eq!(highlight::definition_language("unknown", "hello"), None);
    // GraphQL and protobuf only when syntect has them; plain text otherwise, never a panic.
    for t in ["graphql", "grpc", "trpc"] {
        let language = highlight::definition_language(t, "type Query { a: Int }");
        assert_eq!(
            language.is_some(),
            language.and_then(highlight::language_name).is_some()
        );
    }
    let mut p = page("api:default/petstore");
    go_to(&mut p, Tab::Definition);
    let d = p.definition.as_ref().unwrap();
    assert_eq!(d.language(), Some("yaml"));
    assert_eq!(d.plain(0), Some("openapi: 3.1.0"));
    let colours = |mode| {
        let t = theme(mode);
        d.lines(&t, 0, 3)
            .iter()
            .flat_map(|l| l.spans.iter().filter_map(|s| s.style.fg))
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(colours(ColorMode::TrueColor) >= 2);
    assert!(colours(ColorMode::Ansi16) >= 2);
    assert_eq!(colours(ColorMode::None), 0);
}

#[test]
fn no_color_marks_the_selection_with_a_symbol_and_reverse_video() {
    let mut p = page("group:default/team-a");
    p.handle(PageAction::Down, 10);
    let terminal = draw(&p, 80, 24, ColorMode::None);
    let buffer = terminal.backend().buffer();
    // Row 4 is the body's first line; the cursor is on the second.
    let cell = &buffer[(1, 5)];
    assert_eq!(cell.symbol(), "▶");
    assert!(buffer[(10, 5)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(10, 6)].modifier.contains(Modifier::REVERSED));
    for cell in buffer.content() {
        assert!(cell.fg == ratatui::style::Color::Reset && cell.bg == ratatui::style::Color::Reset);
    }
}

#[test]
fn catalog_text_is_sanitized() {
    let e = entity_of(json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "API",
        "metadata": {"name": "evil", "title": "x\u{1b}[2Jy", "description": "a\u{1b}]0;pwned\u{7}b\nc",
                     "annotations": {"k\u{1b}[31m": "v\u{9b}1m"}},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "t",
                 "definition": "openapi: 3.0.0\n\u{1b}[31mred: 1\n"}
    }));
    let mut p = EntityPage::new(e);
    for _ in 0..5 {
        let text = screen(&p, 80, 24);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'));
        p.handle(PageAction::NextPane, 10);
    }
    assert!(screen(&p, 80, 24).contains("xy"));
}

#[test]
fn tiny_areas_do_not_panic() {
    let mut p = page("api:default/petstore");
    for (w, h) in [(1, 1), (9, 3), (20, 5), (30, 6)] {
        for _ in 0..5 {
            screen(&p, w, h);
            p.handle(PageAction::NextPane, 1);
        }
    }
}

#[test]
fn wrap_breaks_words_and_long_tokens() {
    assert_eq!(rows::wrap("aaaa bbbb cccc", 9), ["aaaa bbbb", "cccc"]);
    assert_eq!(rows::wrap("abcdefghijkl", 8), ["abcdefgh", "ijkl"]);
    assert!(rows::wrap("", 10).is_empty());
}

#[test]
fn snapshot_dependencies_two_levels() {
    let mut p = page("component:default/www-artist");
    p.handle(PageAction::ToggleDeps, 20);
    snap("deps_www_artist", &p);
}

#[test]
fn snapshot_grpc_and_graphql_definitions() {
    for (r, name) in [
        ("api:default/hello-world", "api_hello_world_grpc_definition"),
        (
            "api:default/starwars-graphql",
            "api_starwars_graphql_definition",
        ),
    ] {
        let mut p = page(r);
        go_to(&mut p, Tab::Definition);
        snap(name, &p);
    }
}
