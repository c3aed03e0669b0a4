//! The search contract of `Portal::search` over the sample catalog (`catalog/all.yaml`, with the documented
//! shipment-tracker), on SQLite and on PostgreSQL (when `STAGEDOOR_TEST_POSTGRES` is set): relevance,
//! filters, types, paging, hostile input, the index's rebuilds (deleted, corrupt, older schema) and its
//! incremental updates, also as a second process sharing the database sees them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use stagedoor_tests::copy_dir;

use serde_json::json;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::search::index::{IndexLocation, VERSION_FILE};
use stagedoor_core::search::{SearchQuery, SearchResultSet};
use stagedoor_core::{LocalPortal, Portal, PortalError};
use stagedoor_tests::config;
use stagedoor_tests::pg::TestDatabase;

const TRACKER: &str = "/catalog/default/Component/shipment-tracker";

/// A portal over a copy of the sample catalog in `data` (SQLite there, or the given PostgreSQL database
/// with the index under `data/search`); not refreshed.
fn portal_in(data: &Path, pg: Option<&TestDatabase>) -> LocalPortal {
    let catalog = data.join("catalog");
    if !catalog.exists() {
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog"),
            &catalog,
        );
    }
    let mut extra = json!({});
    if let Some(db) = pg {
        extra["backend"] = json!({"database": {"client": "pg", "connection": db.url}});
        extra["search"] = json!({"index": {"directory": data.join("search")}});
    }
    let cfg = config(
        &[("file", &catalog.join("all.yaml").display().to_string())],
        data,
        extra,
    );
    LocalPortal::from_config(cfg).unwrap()
}

async fn refreshed(data: &Path, pg: Option<&TestDatabase>) -> LocalPortal {
    let portal = portal_in(data, pg);
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    portal
}

fn q(term: &str) -> SearchQuery {
    SearchQuery {
        term: term.to_string(),
        ..SearchQuery::default()
    }
}

async fn run(portal: &LocalPortal, query: SearchQuery) -> SearchResultSet {
    portal
        .search(query.clone())
        .await
        .unwrap_or_else(|e| panic!("{query:?}: {e}"))
}

fn locations(set: &SearchResultSet) -> Vec<String> {
    set.results
        .iter()
        .map(|r| r.field("location").unwrap_or("").to_string())
        .collect()
}

/// Each backend: `None` is SQLite, then PostgreSQL when configured.
fn backends(test: &str) -> Vec<Option<TestDatabase>> {
    let mut out = vec![None];
    if let Some(db) = TestDatabase::create(test) {
        out.push(Some(db));
    }
    out
}

#[tokio::test]
async fn relevance_filters_and_types_on_the_sample_catalog() {
    for db in backends("search relevance") {
        let data = tempfile::tempdir().unwrap();
        let portal = refreshed(data.path(), db.as_ref()).await;
        let backend = if db.is_some() { "postgres" } else { "sqlite" };

        // The exact name first, highlighted.
        let exact = run(&portal, q("shipment-tracker")).await;
        assert_eq!(locations(&exact)[0], TRACKER, "{backend}");
        let first = &exact.results[0];
        assert_eq!(first.doc_type, "software-catalog");
        assert_eq!(first.rank, Some(1));
        assert_eq!(first.field("title"), Some("Shipment Tracker"));
        assert_eq!(first.field("type"), Some("service"));
        assert_eq!(first.field("owner"), Some("tracking-team"));
        let highlight = first.highlight.as_ref().expect("highlight");
        assert!(
            highlight.fields["title"].contains(&format!(
                "{}Shipment{}",
                highlight.pre_tag, highlight.post_tag
            )),
            "{highlight:?}"
        );
        assert!(exact.number_of_results.unwrap() > 1);

        // A typo and a prefix still find it near the top.
        for term in ["shipmnet tracker", "shipmnet", "shipm", "Shipment Track"] {
            let found = locations(&run(&portal, q(term)).await);
            assert!(
                found.iter().take(5).any(|l| l == TRACKER),
                "{backend}: {term:?} gave {found:?}"
            );
        }
        // Words of the description and tags are found too.
        let by_tag = locations(&run(&portal, q("kotlin")).await);
        assert!(by_tag.contains(&TRACKER.to_string()), "{by_tag:?}");

        // Filters: exact values, case-insensitive; an empty term with filters lists every match.
        let mut filtered = q("");
        filtered.filters = BTreeMap::from([
            ("kind".to_string(), vec!["component".to_string()]),
            ("lifecycle".to_string(), vec!["PRODUCTION".to_string()]),
        ]);
        filtered.page_limit = Some(100);
        let set = run(&portal, filtered.clone()).await;
        assert!(set.number_of_results.unwrap() >= 2, "{backend}");
        assert_eq!(set.results.len() as u64, set.number_of_results.unwrap());
        for r in &set.results {
            // Docs sections carry the kind lower-cased, as Backstage's TechDocs collator does.
            assert!(r.field("kind").unwrap().eq_ignore_ascii_case("component"));
            assert_eq!(r.field("lifecycle"), Some("production"));
            assert!(r.highlight.is_none());
        }
        assert!(locations(&set).contains(&TRACKER.to_string()));
        filtered.term = "tracker".into();
        let narrowed = run(&portal, filtered.clone()).await;
        assert!(narrowed.number_of_results < set.number_of_results);
        assert_eq!(locations(&narrowed)[0], TRACKER);

        // An unknown filter field matches nothing, as with Backstage's Lunr engine.
        let mut unknown = q("");
        unknown.filters = BTreeMap::from([("nosuchfield".to_string(), vec!["x".to_string()])]);
        assert_eq!(run(&portal, unknown).await.number_of_results, Some(0));

        // TechDocs: one document per page and heading of shipment-tracker's site.
        let mut docs = q("");
        docs.types = vec!["techdocs".into()];
        docs.page_limit = Some(100);
        let all_docs = run(&portal, docs.clone()).await;
        assert!(all_docs.number_of_results.unwrap() >= 5, "{backend}");
        for r in &all_docs.results {
            assert_eq!(r.doc_type, "techdocs");
            assert!(
                r.field("location")
                    .unwrap()
                    .starts_with("/docs/default/component/shipment-tracker/"),
                "{r:?}"
            );
            assert_eq!(r.field("entityTitle"), Some("Shipment Tracker"));
            assert_eq!(r.field("name"), Some("shipment-tracker"));
        }
        docs.term = "runbook".into();
        let runbook = run(&portal, docs).await;
        let top = &runbook.results[0];
        assert!(
            top.field("path")
                .unwrap()
                .starts_with("operations/runbook/"),
            "{top:?}"
        );
        let mut both = q("runbook");
        both.types = vec!["software-catalog".into(), "techdocs".into()];
        assert!(run(&portal, both).await.number_of_results >= runbook.number_of_results);
        let mut neither = q("runbook");
        neither.types = vec!["nosuchtype".into()];
        assert_eq!(run(&portal, neither).await.number_of_results, Some(0));
    }
}

#[tokio::test]
async fn pages_round_trip_through_cursors_with_ranks_across_pages() {
    let data = tempfile::tempdir().unwrap();
    let portal = refreshed(data.path(), None).await;
    let mut query = q("");
    query.page_limit = Some(7);
    let first = run(&portal, query.clone()).await;
    let total = first.number_of_results.unwrap() as usize;
    assert!(total > 20, "{total}");
    assert_eq!(first.next_page_cursor.as_deref(), Some("MQ=="));
    assert!(first.previous_page_cursor.is_none());

    let mut seen = Vec::new();
    let mut page = first.clone();
    let mut pages = 0;
    loop {
        pages += 1;
        for r in &page.results {
            seen.push((r.rank.unwrap(), r.field("location").unwrap().to_string()));
        }
        let Some(next) = page.next_page_cursor.clone() else {
            break;
        };
        query.page_cursor = Some(next);
        let following = run(&portal, query.clone()).await;
        // Back from the following page gives this one again.
        let mut back = query.clone();
        back.page_cursor = following.previous_page_cursor.clone();
        assert_eq!(run(&portal, back).await, page);
        page = following;
    }
    assert_eq!(pages, total.div_ceil(7));
    let ranks: Vec<usize> = seen.iter().map(|(r, _)| *r).collect();
    assert_eq!(ranks, (1..=total).collect::<Vec<_>>());
    let unique: HashSet<&String> = seen.iter().map(|(_, l)| l).collect();
    assert_eq!(unique.len(), total, "every document once");

    let mut bad = q("x");
    bad.page_cursor = Some("%%%".into());
    assert!(matches!(
        portal.search(bad).await,
        Err(PortalError::Input(_))
    ));
}

#[tokio::test]
async fn hostile_query_strings_never_fail() {
    let data = tempfile::tempdir().unwrap();
    let portal = refreshed(data.path(), None).await;
    let long_word = "a".repeat(1000);
    let long_text = "shipment tracker ".repeat(60);
    let terms = [
        "\"",
        "\"unclosed",
        ":",
        "kind:component",
        "name:\"shipment-tracker\"",
        "AND OR NOT",
        "AND",
        "*",
        "ship*",
        "~2",
        "shipment~2",
        "[a TO b]",
        "{a TO b}",
        "(",
        ")",
        "^",
        "shipment^10",
        "+-!&&||\\/",
        "\u{0}\u{7}\u{1b}[31m\u{7f}",
        "\u{202e}evil",
        "😀 ☃",
        &long_word,
        &long_text,
        "   ",
    ];
    for term in terms {
        let set = run(&portal, q(term)).await;
        assert!(set.number_of_results.is_some(), "{term:?}");
        let mut typed = q(term);
        typed.types = vec!["techdocs".into()];
        typed.filters = BTreeMap::from([("kind".to_string(), vec![term.to_string()])]);
        run(&portal, typed).await;
    }
    // Query syntax is just words: a quoted name is still the name.
    let found = locations(&run(&portal, q("\"shipment-tracker\"")).await);
    assert_eq!(found[0], TRACKER, "{found:?}");
}

fn current_generation(portal: &LocalPortal) -> PathBuf {
    portal
        .search_index()
        .generation_dir()
        .expect("an on-disk generation")
}

#[tokio::test]
async fn the_index_is_rebuilt_when_deleted_corrupt_or_of_an_older_schema() {
    let data = tempfile::tempdir().unwrap();
    let base = {
        let portal = refreshed(data.path(), None).await;
        let IndexLocation::Directory(base) = portal.search_index().location().clone() else {
            panic!("a SQLite file gets an on-disk index");
        };
        assert!(base.starts_with(data.path()));
        assert!(current_generation(&portal).starts_with(&base));
        base
    };
    let found = |set: &SearchResultSet| locations(set).contains(&TRACKER.to_string());

    // Reopened as it was: nothing to do.
    {
        let portal = portal_in(data.path(), None);
        let report = portal.sync_search().await.unwrap();
        assert!(!report.rebuilt, "{report:?}");
        assert_eq!(report.entities, 0);
        assert!(found(&run(&portal, q("shipment-tracker")).await));
    }
    // Deleted.
    std::fs::remove_dir_all(&base).unwrap();
    {
        let portal = portal_in(data.path(), None);
        assert!(found(&run(&portal, q("shipment-tracker")).await));
        assert!(portal.search_index().generation_dir().is_some());
    }
    // Corrupt: every file of the generation overwritten.
    let corrupt = |dir: &Path| {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() != VERSION_FILE {
                std::fs::write(&path, b"garbage").unwrap();
            }
        }
    };
    {
        let portal = portal_in(data.path(), None);
        portal.sync_search().await.unwrap();
        corrupt(&current_generation(&portal));
    }
    {
        let portal = portal_in(data.path(), None);
        let report = portal.sync_search().await.unwrap();
        assert!(report.rebuilt, "{report:?}");
        assert!(found(&run(&portal, q("shipment-tracker")).await));
        // An older schema version.
        std::fs::write(current_generation(&portal).join(VERSION_FILE), "0").unwrap();
    }
    {
        let portal = portal_in(data.path(), None);
        let report = portal.sync_search().await.unwrap();
        assert!(report.rebuilt, "{report:?}");
        assert!(report.entities > 20);
        assert!(found(&run(&portal, q("shipment-tracker")).await));
        // Only the generation in use is left.
        let generations = std::fs::read_dir(&base)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("gen-")
            })
            .count();
        assert_eq!(generations, 1);
    }
}

#[tokio::test]
async fn a_catalog_change_is_reindexed_incrementally_also_for_a_second_process() {
    for db in backends("search incremental update") {
        let data = tempfile::tempdir().unwrap();
        let portal = refreshed(data.path(), db.as_ref()).await;
        // A second process on the same database: the index directory is the first one's, so it keeps its
        // own in memory and catches up by diffing etags against the store.
        let replica = portal_in(data.path(), db.as_ref());
        assert!(replica.sync_search().await.unwrap().entities > 20);
        assert_eq!(
            replica.search_index().effective_location(),
            Some(IndexLocation::Memory)
        );
        let file = data
            .path()
            .join("catalog/components/shipment-tracker/catalog-info.yaml");
        let original = std::fs::read_to_string(&file).unwrap();
        let edit = |from: &str, to: &str| {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(from));
            std::fs::write(&file, text.replace(from, to)).unwrap();
        };
        edit(
            "Owns every shipment's",
            "Xylophone registry of every shipment's",
        );
        portal.refresh(RefreshRequest::default()).await.unwrap();
        let hit = run(&portal, q("xylophone")).await;
        assert_eq!(locations(&hit), [TRACKER], "{hit:?}");

        edit("Xylophone registry", "Quokka ledger");
        portal.refresh(RefreshRequest::default()).await.unwrap();
        assert_eq!(locations(&run(&portal, q("quokka")).await), [TRACKER]);
        let mut catalog_only = q("xylophone");
        catalog_only.types = vec!["software-catalog".into()];
        assert_eq!(
            run(&portal, catalog_only.clone()).await.number_of_results,
            Some(0)
        );
        // Nothing left to do after the refresh's own sync.
        let after = portal.sync_search().await.unwrap();
        assert_eq!((after.entities, after.sites, after.removed), (0, 0, 0));

        // The replica reindexes exactly the changed entity (and its docs, which carry its title).
        let report = replica.sync_search().await.unwrap();
        assert_eq!(report.entities, 1, "{report:?}");
        assert!(!report.rebuilt);
        assert_eq!(locations(&run(&replica, q("quokka")).await), [TRACKER]);
        assert_eq!(run(&replica, catalog_only).await.number_of_results, Some(0));

        // A removed entity leaves the index.
        std::fs::write(
            &file,
            original.replace("name: shipment-tracker\n", "name: parcel-tracker\n"),
        )
        .unwrap();
        portal.refresh(RefreshRequest::default()).await.unwrap();
        let gone = locations(&run(&portal, q("shipment-tracker")).await);
        assert!(!gone.contains(&TRACKER.to_string()), "{gone:?}");
        let renamed = locations(&run(&portal, q("parcel-tracker")).await);
        assert_eq!(renamed[0], "/catalog/default/Component/parcel-tracker");
        let report = replica.sync_search().await.unwrap();
        assert!(report.removed >= 1, "{report:?}");
    }
}
