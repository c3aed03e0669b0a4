//! The search overlay without a terminal: key sequences through `update`, the effects run by the real loop
//! helper (`run::settle`) against an embedded portal over the repository's sample catalog, plus hand-built
//! full-text answers where the result matters (so nothing here depends on how the portal ranks), and insta
//! snapshots at 80x24 and 120x40.

use serde_json::json;
use stagedoor::ui::docs::state::PageLoad;
use stagedoor::ui::msg::Msg;
use stagedoor::ui::search::state::{SearchMode, Target, TypeFilter, RECENT_FILE};
use stagedoor::ui::state::{App, Screen};
use stagedoor_core::search::{Highlight, SearchResult, SearchResultSet};
use stagedoor_core::EntityRef;

mod support;

use support::Harness;

trait OverlayHarness {
    fn answer(&mut self, results: Vec<SearchResult>);
}

impl OverlayHarness for Harness {
    /// Hands the overlay a full-text answer as if the portal had sent it for its current request.
    fn answer(&mut self, results: Vec<SearchResult>) {
        let id = 9_999_999;
        self.app.search.full.request = Some(id);
        self.send(Msg::SearchLoaded {
            id,
            result: Ok(SearchResultSet {
                results,
                ..SearchResultSet::default()
            }),
        });
    }
}

fn tracker() -> EntityRef {
    EntityRef::new("component", "default", "shipment-tracker")
}

fn entity_shown(app: &App) -> Option<String> {
    match app.screen() {
        Screen::Entity { page, .. } => Some(page.entity().name().to_string()),
        _ => None,
    }
}

/// A hand-built result, highlighted as the tantivy index will send them.
fn result(doc_type: &str, title: &str, text: &str, location: &str) -> SearchResult {
    let document = json!({
        "title": title,
        "text": text.replace("<m>", "").replace("</m>", ""),
        "location": location,
        "entityTitle": "Shipment Tracker",
    });
    SearchResult {
        doc_type: doc_type.to_string(),
        document: document.as_object().unwrap().clone(),
        highlight: Some(Highlight {
            pre_tag: "<m>".to_string(),
            post_tag: "</m>".to_string(),
            fields: [("text".to_string(), text.to_string())]
                .into_iter()
                .collect(),
        }),
        rank: None,
    }
}

fn runbook_hit() -> SearchResult {
    result(
        "techdocs",
        "Worker lag is growing",
        "If the consumer <m>lag</m> keeps rising, scale the workers before anything else.",
        "/docs/default/component/shipment-tracker/operations/runbook/#worker-lag-is-growing",
    )
}

fn catalog_hit() -> SearchResult {
    result(
        "software-catalog",
        "shipment-tracker",
        "Tracks parcels and worker <m>lag</m> across carriers.",
        "/catalog/default/component/shipment-tracker",
    )
}

#[test]
fn ctrl_k_opens_fuzzy_narrows_and_enter_opens_the_entity() {
    let mut h = Harness::new(120, 40);
    h.press("<c-k>");
    assert!(h.app.search.open);
    assert_eq!(h.app.search.mode, SearchMode::Fuzzy);
    // The name list came in through the portal's cursors when the overlay opened.
    assert!(h.app.search.names.entries.len() > 20);
    h.press("shiptrk");
    let hits = &h.app.search.fuzzy_hits;
    assert!(!hits.is_empty());
    assert!(hits.len() < h.app.search.names.entries.len(), "narrowed");
    assert_eq!(
        h.app.search.selected_entry().unwrap().entity_ref,
        tracker(),
        "the best match is first"
    );
    assert!(h.screen().contains("shipment-tracker"));
    // A query with `:` or `/` matches refs: kinds and namespaces too.
    h.press("<bs><bs><bs><bs><bs><bs><bs>api:ship");
    let hits = &h.app.search.fuzzy_hits;
    assert!(!hits.is_empty());
    assert!(hits
        .iter()
        .all(|&i| h.app.search.names.entries[i].kind == "API"));
    h.press("<bs><bs><bs><bs><bs><bs><bs><bs>shiptrk");
    h.press("<enter>");
    assert!(!h.app.search.open);
    assert_eq!(entity_shown(&h.app).as_deref(), Some("shipment-tracker"));
}

#[test]
fn s_opens_outside_text_input_and_types_inside_it() {
    let mut h = Harness::new(120, 40);
    h.press("s");
    assert!(h.app.search.open);
    // Letters bound elsewhere (`q` quits, `s` opens) are text in the overlay.
    h.press("qs");
    assert_eq!(h.app.search.input, "qs");
    assert!(!h.app.quit);
    h.press("<esc>");
    assert!(!h.app.search.open);
    // In the `/` filter `s` is typed, and Ctrl-K still opens the overlay.
    h.press("/s");
    assert!(!h.app.search.open);
    h.press("<c-k>");
    assert!(h.app.search.open);
    assert_eq!(h.app.search.input, "");
    h.press("<c-k>");
    assert!(!h.app.search.open, "ctrl-k again closes");
}

#[test]
fn tab_switches_to_full_text_and_the_answer_shows() {
    let mut h = Harness::new(120, 40);
    h.press("<c-k>shipment-tracker<tab>");
    assert_eq!(h.app.search.mode, SearchMode::FullText);
    assert_eq!(h.app.search.full.request, None, "answered");
    let hits = h.app.search.full.hits.clone();
    assert!(!hits.is_empty(), "the portal found the term");
    let screen = h.screen();
    assert!(screen.contains("full text"), "{screen}");
    assert!(screen.contains("results"), "{screen}");
    // Wherever the portal ranks it, the tracker's catalog document opens its page.
    let at = hits
        .iter()
        .position(|hit| hit.target == Target::Entity(tracker()))
        .expect("the tracker's catalog document");
    h.press(&"<down>".repeat(at));
    h.press("<enter>");
    assert_eq!(entity_shown(&h.app).as_deref(), Some("shipment-tracker"));
}

#[test]
fn the_type_filter_goes_to_the_portal() {
    let mut h = Harness::new(120, 40);
    h.press("<c-k><tab>shipment<c-t>");
    assert_eq!(h.app.search.types, TypeFilter::Catalog);
    assert!(h.screen().contains("software-catalog"));
    assert!(h
        .app
        .search
        .full
        .hits
        .iter()
        .all(|hit| hit.label == "catalog"));
}

#[test]
fn a_docs_result_opens_the_reader_at_its_page_and_heading() {
    let mut h = Harness::new(120, 40);
    h.press("<c-k><tab>lag");
    h.answer(vec![catalog_hit(), runbook_hit()]);
    assert_eq!(h.app.search.full.hits.len(), 2);
    h.press("<down><enter>");
    assert!(!h.app.search.open);
    let reader = h.app.reader().expect("the reader is open");
    assert_eq!(reader.entity_ref, tracker());
    assert_eq!(reader.page_load, PageLoad::Ready);
    assert_eq!(reader.current.as_deref(), Some("operations/runbook.md"));
    let page = reader.page().unwrap();
    let line = *page
        .anchors
        .get("worker-lag-is-growing")
        .expect("the heading's anchor");
    assert!(line > 0);
    assert!(reader.scroll > 0, "scrolled to the heading");
    assert!(reader.scroll <= line);
}

#[test]
fn a_docs_result_for_a_missing_page_opens_the_home_page_and_says_so() {
    let mut h = Harness::new(120, 40);
    h.press("<c-k><tab>x");
    let mut hit = runbook_hit();
    hit.document.insert(
        "location".into(),
        "/docs/default/component/shipment-tracker/no/such/page/".into(),
    );
    h.answer(vec![hit]);
    h.press("<enter>");
    let reader = h.app.reader().expect("the reader is open");
    assert_eq!(reader.current.as_deref(), Some("index.md"));
    assert!(h.screen().contains("no page"));
}

#[test]
fn recent_searches_are_kept_in_the_state_dir_and_shown_when_empty() {
    let state = tempfile::tempdir().unwrap();
    let mut h = Harness::with_state(120, 40, Some(state.path().to_path_buf()));
    h.press("<c-k>shiptrk<enter>");
    let file = state.path().join(RECENT_FILE);
    let saved: Vec<String> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved, ["shiptrk"]);
    drop(h);
    // Another run reads them back and lists them while nothing is typed; Enter types one in again.
    let mut h = Harness::with_state(120, 40, Some(state.path().to_path_buf()));
    h.press("<c-k>");
    assert_eq!(h.app.search.recent.terms, ["shiptrk"]);
    let screen = h.screen();
    assert!(screen.contains("recent searches"), "{screen}");
    assert!(screen.contains("shiptrk"), "{screen}");
    h.press("<enter>");
    assert_eq!(h.app.search.input, "shiptrk");
    assert!(!h.app.search.fuzzy_hits.is_empty());
}

#[test]
fn a_corrupt_recent_searches_file_is_no_recent_searches() {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join(RECENT_FILE), b"{not json").unwrap();
    let mut h = Harness::with_state(80, 24, Some(state.path().to_path_buf()));
    h.press("<c-k>");
    assert!(h.app.search.recent.terms.is_empty());
    // And the next search rewrites it.
    h.press("shiptrk<enter>");
    let saved: Vec<String> =
        serde_json::from_slice(&std::fs::read(state.path().join(RECENT_FILE)).unwrap()).unwrap();
    assert_eq!(saved, ["shiptrk"]);
}

#[test]
fn esc_closes_and_the_screen_underneath_is_unchanged() {
    let mut h = Harness::new(80, 24);
    let before = h.screen();
    h.press("<c-k>ship");
    assert_ne!(h.screen(), before);
    h.press("<esc>");
    assert!(!h.app.search.open);
    assert_eq!(h.screen(), before);
}

fn snap(name: &str, h: &mut Harness) {
    let (w, hgt) = (h.app.width, h.app.height);
    let screen = h.screen();
    insta::assert_snapshot!(format!("{name}_{w}x{hgt}"), screen);
}

#[test]
fn snapshot_overlay() {
    for (w, hgt) in [(80, 24), (120, 40)] {
        let mut h = Harness::new(w, hgt);
        h.press("<c-k>");
        snap("search_empty", &mut h);
        h.press("shiptrk");
        snap("search_fuzzy", &mut h);
        h.press("<tab>");
        h.answer(vec![runbook_hit(), catalog_hit()]);
        snap("search_full_text", &mut h);
    }
}
