//! The TechDocs reader without a terminal: key sequences through `update`, the effects run by the real
//! loop helper (`run::settle`) against an embedded portal over the repository's sample catalog (whose
//! `shipment-tracker` has a TechDocs site with a nested nav), plus hand-built reader states for link
//! following (so those tests do not depend on what the markdown renderer makes of a page), and insta
//! snapshots at 80x24 and 120x40.

use std::collections::HashMap;

use crossterm::event::{KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::text::Line;
use ratatui::Terminal;
use stagedoor::ui::docs::render::{HeadingSpot, LinkSpot, RenderedPage};
use stagedoor::ui::docs::state::{Focus, PageLoad, Reader, SiteLoad};
use stagedoor::ui::docs::update::map_position;
use stagedoor::ui::docs::view::text_size;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::{Effect, Failure, Msg};
use stagedoor::ui::state::{App, Mode, Screen, Status};
use stagedoor::ui::update::update;
use stagedoor::ui::views;
use stagedoor_core::techdocs::publish::{DocsPage, DocsSite};
use stagedoor_core::techdocs::site::NavItem;
use stagedoor_core::EntityRef;

const TRACKER: &str = "component:default/shipment-tracker";

mod support;

use support::{parse_keys, theme, Harness};

trait ReaderHarness {
    fn reader(&self) -> &Reader;
    fn open_tracker(&mut self);
}

impl ReaderHarness for Harness {
    fn reader(&self) -> &Reader {
        self.app.reader().expect("the reader is on screen")
    }

    fn open_tracker(&mut self) {
        self.press(&format!(":docs {TRACKER}<enter>"));
        assert_eq!(self.reader().site_load, SiteLoad::Ready);
        assert_eq!(self.reader().page_load, PageLoad::Ready);
    }
}

fn status(app: &App) -> String {
    match &app.status {
        Some(Status::Info(m)) | Some(Status::Error(m)) => m.clone(),
        None => String::new(),
    }
}

#[test]
fn d_opens_the_reader_from_a_documented_entity_and_says_so_otherwise() {
    let mut h = Harness::new(120, 40);
    // A component without the annotation: a notice, no reader.
    h.press("/carrier-gateway<enter><enter>");
    assert!(matches!(h.app.screen(), Screen::Entity { .. }));
    h.press("d");
    assert!(h.app.reader().is_none());
    assert!(
        status(&h.app).contains("has no TechDocs"),
        "{}",
        status(&h.app)
    );
    // Back to the table, then the documented one.
    h.press("<esc><esc>/shipment-tracker<enter><enter>");
    h.press("d");
    let r = h.reader();
    assert_eq!(r.entity_ref.canonical(), TRACKER);
    assert_eq!(r.site_load, SiteLoad::Ready);
    assert_eq!(r.current.as_deref(), Some("index.md"));
    assert_eq!(r.page_load, PageLoad::Ready);
    let screen = h.screen();
    for title in [
        "Shipment Tracker",
        "Getting started",
        "Operations",
        "Runbook",
        "Alerts",
    ] {
        assert!(screen.contains(title), "{title}: {screen}");
    }
    assert!(
        screen
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("docs: Shipment Tracker")),
        "breadcrumb: {screen}"
    );
    // Esc goes back to the entity page.
    h.press("<esc>");
    assert!(matches!(h.app.screen(), Screen::Entity { .. }));
}

#[test]
fn the_nav_opens_pages_folds_sections_and_esc_walks_back_with_positions_kept() {
    // Small, so the home page is longer than the pane.
    let mut h = Harness::new(80, 24);
    h.open_tracker();
    // Scroll the home page a little; it is remembered.
    h.press("jjj");
    let home_scroll = h.reader().scroll;
    assert!(home_scroll > 0, "the home page scrolls");
    // `h` focuses the nav; down to Runbook (Overview, Getting started, Architecture, Operations, Runbook).
    h.press("h");
    assert_eq!(h.reader().focus, Focus::Nav);
    h.press("gjjjj<enter>");
    assert_eq!(h.reader().current.as_deref(), Some("operations/runbook.md"));
    assert_eq!(h.reader().focus, Focus::Page);
    assert_eq!(h.reader().scroll, 0);
    let screen = h.screen();
    assert!(
        screen.contains("● Runbook"),
        "current page marked: {screen}"
    );
    // Fold Operations: its pages leave the nav.
    let nav_titles = |h: &Harness| -> Vec<String> {
        h.reader().nav_rows().into_iter().map(|r| r.title).collect()
    };
    h.press("hk<enter>");
    assert_eq!(
        nav_titles(&h),
        ["Overview", "Getting started", "Architecture", "Operations"]
    );
    assert!(h.screen().contains("▸ Operations"));
    h.press("<enter>");
    assert_eq!(nav_titles(&h).len(), 6);
    // Esc: back to the home page where it was left, then to the catalog.
    h.press("l<esc>");
    assert_eq!(h.reader().current.as_deref(), Some("index.md"));
    assert_eq!(h.reader().scroll, home_scroll);
    h.press("<esc>");
    assert!(h.app.reader().is_none());
}

#[test]
fn search_counts_matches_and_n_walks_them() {
    let mut h = Harness::new(120, 40);
    h.open_tracker();
    h.press("/shipment");
    assert_eq!(h.app.mode, Mode::Search("shipment".into()));
    let search = h.reader().search.clone().unwrap();
    assert!(search.matches.len() >= 3, "{search:?}");
    assert_eq!(search.current, Some(0));
    let line = h.screen();
    assert!(
        line.contains(&format!("1/{}", search.matches.len())),
        "{line}"
    );
    h.press("<enter>nn");
    assert_eq!(h.app.mode, Mode::Normal);
    assert_eq!(h.reader().search.as_ref().unwrap().current, Some(2));
    h.press("N");
    assert_eq!(h.reader().search.as_ref().unwrap().current, Some(1));
    assert!(h
        .screen()
        .contains(&format!("/shipment 2/{}", search.matches.len())));
    // Case does not matter.
    h.press("<esc>/SHIPMENT");
    assert_eq!(
        h.reader().search.as_ref().unwrap().matches.len(),
        search.matches.len()
    );
    // Esc closes the search first, then leaves the reader.
    h.press("<esc>");
    assert!(h.reader().search.is_none());
    h.press("<esc>");
    assert!(h.app.reader().is_none());
}

#[test]
fn an_unknown_entity_shows_the_error_in_the_pane() {
    let mut h = Harness::new(120, 40);
    h.press(":docs component:default/nope<enter>");
    let r = h.reader();
    assert!(r.synced, "a missing site is built first");
    assert!(
        matches!(r.site_load, SiteLoad::Failed(_)),
        "{:?}",
        r.site_load
    );
    let screen = h.screen();
    assert!(screen.contains("nope"), "{screen}");
    assert!(screen.contains("r retries"), "{screen}");
    h.press(":docs<enter>");
    // `:docs` on the reader opens the same docs again.
    assert_eq!(h.reader().entity_ref.canonical(), "component:default/nope");
    h.press(":docs not a ref!<enter>");
}

#[test]
fn resize_reflows_and_keeps_the_reading_position() {
    let mut h = Harness::new(120, 40);
    h.open_tracker();
    h.press("jjjjj");
    let before = h.reader().scroll;
    let width = h.reader().width;
    h.terminal.backend_mut().resize(100, 30);
    h.send(Msg::Resize(100, 30));
    let r = h.reader();
    assert_ne!(r.width, width);
    assert!(r.page().is_some(), "rendered at the new width");
    // The interim and the full renderers both keep this in the same section, near the same place.
    assert!(
        r.scroll.abs_diff(before) <= before.max(4),
        "{} vs {before}",
        r.scroll
    );
    // The TOC pane narrows the text too.
    let w = h.reader().width;
    h.press("t");
    assert!(h.reader().toc);
    assert!(h.reader().width < w);
    assert!(h.screen().contains("Contents"));
}

#[test]
fn the_wheel_scrolls_the_page_and_clicks_pick_nav_rows() {
    let mut h = Harness::new(120, 40);
    h.open_tracker();
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 60,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    let max = h.reader().max_scroll(text_size(120, 40, false).1);
    assert_eq!(h.reader().scroll, 9.min(max));
    // A click on a nav row (the third: the pane's border is on row 2) puts the cursor there.
    let click = |column, row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    h.send(click(5, 5));
    assert_eq!((h.reader().focus, h.reader().nav_cursor), (Focus::Nav, 2));
    h.press("<enter>");
    assert_eq!(h.reader().current.as_deref(), Some("architecture.md"));
    h.send(click(5, 4));
    h.send(click(60, 10));
    assert_eq!((h.reader().focus, h.reader().nav_cursor), (Focus::Page, 1));
}

// Link following, on hand-built pages: a reader state as the update leaves it after loading, with
// rendered pages whose links are where the test says.

fn page(location: &str, title: &str) -> DocsPage {
    DocsPage {
        location: location.into(),
        url: String::new(),
        title: title.into(),
        headings: Vec::new(),
    }
}

/// `lines` plain lines, links on the given lines, headings `(line, anchor)`.
fn rendered(
    width: u16,
    lines: usize,
    links: &[(usize, &str)],
    headings: &[(usize, &str)],
) -> RenderedPage {
    let plain: Vec<String> = (0..lines).map(|i| format!("line {i}")).collect();
    RenderedPage {
        width,
        lines: plain.iter().map(|l| Line::raw(l.clone())).collect(),
        plain,
        links: links
            .iter()
            .map(|(line, href)| LinkSpot {
                line: *line,
                start: 0,
                end: 4,
                href: href.to_string(),
                text: "link".into(),
            })
            .collect(),
        headings: headings
            .iter()
            .map(|(line, anchor)| HeadingSpot {
                line: *line,
                level: 2,
                title: anchor.to_string(),
                anchor: anchor.to_string(),
            })
            .collect(),
        anchors: headings
            .iter()
            .map(|(line, anchor)| (anchor.to_string(), *line))
            .collect::<HashMap<_, _>>(),
    }
}

/// An app at 120x40 showing a reader on `index.md`, with `guide.md` fetched and rendered too.
fn linked_app() -> App {
    let mut app = App::new(theme(), Keymap::default(), "embedded".into(), false);
    app.width = 120;
    app.height = 40;
    let (width, _) = text_size(120, 40, false);
    let mut r = Reader::new(EntityRef::parse(TRACKER).unwrap());
    r.site = Some(DocsSite {
        site_name: "Linked".into(),
        site_description: None,
        etag: String::new(),
        build_timestamp: 0,
        nav: vec![
            NavItem::Page {
                title: None,
                path: "index.md".into(),
            },
            NavItem::Page {
                title: None,
                path: "guide.md".into(),
            },
            NavItem::Link {
                title: Some("Status".into()),
                url: "https://status.example".into(),
            },
        ],
        pages: vec![page("index.md", "Home"), page("guide.md", "Guide")],
        warnings: Vec::new(),
    });
    r.site_load = SiteLoad::Ready;
    r.page_load = PageLoad::Ready;
    r.current = Some("index.md".into());
    r.width = width;
    for (location, page) in [
        (
            "index.md",
            rendered(
                width,
                200,
                &[
                    (5, "guide.md#setup"),
                    (10, "#usage"),
                    (20, "https://example.com/x"),
                    (150, "missing.md"),
                ],
                &[(0, "home"), (120, "usage")],
            ),
        ),
        (
            "guide.md",
            rendered(width, 300, &[], &[(0, "guide"), (90, "setup")]),
        ),
    ] {
        r.sources.insert(location.to_string(), String::new());
        r.rendered.insert((location.to_string(), width), page);
    }
    app.screens.push(Screen::Docs(Box::new(r)));
    app
}

fn press_pure(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for msg in parse_keys(keys) {
        effects.extend(update(app, msg));
    }
    effects
}

#[test]
fn tab_cycles_links_and_enter_follows_them() {
    let mut app = linked_app();
    // Tab: the first link, its target on the status line.
    press_pure(&mut app, "<tab>");
    assert_eq!(app.reader().unwrap().link, Some(0));
    assert!(status(&app).contains("guide.md#setup"), "{}", status(&app));
    // Enter: the other page, at the anchor.
    let effects = press_pure(&mut app, "<enter>");
    assert!(
        effects.is_empty(),
        "guide.md was fetched already: {effects:?}"
    );
    let r = app.reader().unwrap();
    assert_eq!(r.current.as_deref(), Some("guide.md"));
    assert_eq!(r.scroll, 90);
    // Esc: back on the home page, where it was.
    press_pure(&mut app, "<esc>");
    let r = app.reader().unwrap();
    assert_eq!((r.current.as_deref(), r.scroll), (Some("index.md"), 0));
    // An anchor in the page scrolls to it.
    press_pure(&mut app, "<tab><tab><enter>");
    assert_eq!(app.reader().unwrap().scroll, 120);
    // An external link: the URL on the status line; `y` copies it with OSC 52.
    press_pure(&mut app, "<tab>");
    let effects = press_pure(&mut app, "<enter>");
    assert!(effects.is_empty());
    assert!(
        status(&app).contains("https://example.com/x"),
        "{}",
        status(&app)
    );
    let effects = press_pure(&mut app, "y");
    assert_eq!(
        effects,
        [Effect::Copy {
            text: "https://example.com/x".into()
        }]
    );
    assert_eq!(
        stagedoor::ui::effects::osc52("https://example.com/x"),
        "\u{1b}]52;c;aHR0cHM6Ly9leGFtcGxlLmNvbS94\u{7}"
    );
    // A page the site does not have: an error, no fetch.
    let effects = press_pure(&mut app, "<tab><enter>");
    assert!(effects.is_empty());
    assert!(status(&app).contains("missing.md"), "{}", status(&app));
    // Shift-Tab wraps backwards; the view follows the link.
    press_pure(&mut app, "<tab><backtab>");
    let r = app.reader().unwrap();
    assert_eq!(r.link, Some(3));
    assert!(r.scroll <= 150 && 150 < r.scroll + text_size(120, 40, false).1);
}

#[test]
fn following_to_a_page_not_fetched_asks_for_it_and_stale_replies_are_dropped() {
    let mut app = linked_app();
    if let Some(r) = app.reader_mut() {
        r.sources.remove("guide.md");
        r.rendered.retain(|(l, _), _| l != "guide.md");
    }
    let effects = press_pure(&mut app, "<tab><enter>");
    let [Effect::LoadDocsPage { id, location, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(location, "guide.md");
    assert_eq!(app.reader().unwrap().page_load, PageLoad::Loading);
    // A reply to an older request changes nothing.
    update(
        &mut app,
        Msg::DocsPageLoaded {
            id: id - 1,
            location: "guide.md".into(),
            result: Ok(Some("# Old".into())),
        },
    );
    assert_eq!(app.reader().unwrap().page_load, PageLoad::Loading);
    // The real one: rendered, placed at the anchor when the renderer has it (else the top).
    update(
        &mut app,
        Msg::DocsPageLoaded {
            id: *id,
            location: "guide.md".into(),
            result: Ok(Some("# Guide\n\n## Setup\n\ntext".into())),
        },
    );
    let r = app.reader().unwrap();
    assert_eq!(r.page_load, PageLoad::Ready);
    assert!(r.page().is_some());
    // A failed page shows in the pane.
    press_pure(&mut app, "<esc>");
    if let Some(r) = app.reader_mut() {
        r.sources.clear();
        r.rendered.clear();
    }
    let effects = press_pure(&mut app, "hj<enter>");
    let [Effect::LoadDocsPage { id, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    update(
        &mut app,
        Msg::DocsPageLoaded {
            id: *id,
            location: "guide.md".into(),
            result: Err(Failure {
                message: "boom".into(),
                connection: false,
            }),
        },
    );
    assert_eq!(
        app.reader().unwrap().page_load,
        PageLoad::Failed("boom".into())
    );
}

#[test]
fn a_site_not_built_yet_is_synced_with_its_log_shown() {
    let mut app = App::new(theme(), Keymap::default(), "embedded".into(), false);
    app.width = 120;
    app.height = 40;
    let effects = stagedoor::ui::docs::update::open(&mut app, EntityRef::parse(TRACKER).unwrap());
    let [Effect::LoadDocsSite {
        id, sync: false, ..
    }] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    let effects = update(
        &mut app,
        Msg::DocsSiteLoaded {
            id: *id,
            synced: false,
            result: Ok(None),
        },
    );
    let [Effect::LoadDocsSite { id, sync: true, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(app.reader().unwrap().site_load, SiteLoad::Syncing);
    update(
        &mut app,
        Msg::DocsLog {
            id: *id,
            line: "building 5 pages".into(),
        },
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| views::draw(f, &app)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("building the docs of"), "{screen}");
    assert!(screen.contains("building 5 pages"), "{screen}");
    // Still nothing after the build: an error, not another build.
    let effects = update(
        &mut app,
        Msg::DocsSiteLoaded {
            id: *id,
            synced: true,
            result: Ok(None),
        },
    );
    assert!(effects.is_empty());
    assert!(matches!(
        app.reader().unwrap().site_load,
        SiteLoad::Failed(_)
    ));
}

#[test]
fn positions_map_by_the_heading_above() {
    let old = rendered(80, 100, &[], &[(0, "a"), (40, "b"), (60, "c")]);
    let new = rendered(60, 150, &[], &[(0, "a"), (50, "b"), (90, "c")]);
    // Halfway through section b (40..60) → halfway through it at the new width (50..90).
    assert_eq!(map_position(&old, &new, 50), 70);
    assert_eq!(map_position(&old, &new, 0), 0);
    // No headings: by proportion of the page.
    let old = rendered(80, 100, &[], &[]);
    let new = rendered(60, 200, &[], &[]);
    assert_eq!(map_position(&old, &new, 30), 60);
}

// Snapshots of the reader on the sample site. The page text comes from the markdown renderer, so these are
// re-accepted when it changes; the nav, title, TOC and status line are the reader's own.

fn snap(name: &str, h: &mut Harness) {
    let (w, hgt) = (h.app.width, h.app.height);
    let screen = h.screen();
    insta::assert_snapshot!(format!("{name}_{w}x{hgt}"), screen);
}

#[test]
fn snapshot_reader() {
    for (w, hgt) in [(80, 24), (120, 40)] {
        let mut h = Harness::new(w, hgt);
        h.open_tracker();
        snap("reader", &mut h);
        h.press("t");
        snap("reader_toc", &mut h);
        h.press("t/kafka");
        snap("reader_search", &mut h);
        h.press("<enter>hjjj");
        snap("reader_nav_focused", &mut h);
        h.press("l?");
        snap("reader_help", &mut h);
    }
}

#[test]
fn the_table_of_contents_takes_focus_and_jumps_to_headings() {
    let mut h = Harness::new(120, 40);
    h.open_tracker();
    h.press("t");
    assert!(h.reader().toc);
    assert_eq!(h.reader().focus, Focus::Toc);
    let headings = h.reader().page().unwrap().headings.clone();
    assert!(headings.len() >= 3, "{headings:?}");
    h.press("jj<enter>");
    assert_eq!(h.reader().toc_cursor, 2);
    let (_, height) = text_size(120, 40, true);
    let max = h
        .reader()
        .page()
        .unwrap()
        .lines
        .len()
        .saturating_sub(height);
    assert_eq!(h.reader().scroll, headings[2].line.min(max));
    // A heading further down than one screen scrolls to it exactly (a page of another reader).
    assert!(h.reader().scroll > 0);
    assert!(h.screen().contains("Contents"));
    // Esc gives the page the keys back; t focuses the contents again, then hides them.
    h.press("<esc>");
    assert_eq!(h.reader().focus, Focus::Page);
    assert!(
        h.app.reader().is_some(),
        "esc from the contents stays in the reader"
    );
    h.press("t");
    assert_eq!(h.reader().focus, Focus::Toc);
    h.press("t");
    assert!(!h.reader().toc);
    assert_eq!(h.reader().focus, Focus::Page);
}
