//! The sample organisation in `catalog/`, loaded through the repository's own `app-config.yaml`, is what a
//! new user sees first: it must ingest with no problems and no dangling relations, and show every kind.

use std::path::Path;

use stagedoor_core::config::Config;
use stagedoor_core::ingest::validate_paths;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::ALL_KINDS;

#[tokio::test]
async fn the_sample_catalog_ingests_cleanly_with_every_kind() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut config =
        Config::load(&[repo.join("app-config.yaml")], &repo).expect("app-config.yaml loads");
    let data = tempfile::tempdir().unwrap();
    config.root["backend"]["database"] =
        serde_json::json!({"client": "better-sqlite3", "connection": {"directory": data.path()}});
    let portal = LocalPortal::from_config(config).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert!(
        report.dangling_relations.is_empty(),
        "{:#?}",
        report.dangling_relations
    );
    assert!(report.stats.conflicts.is_empty());

    let facets = portal.facets(&["kind".to_string()], None).await.unwrap();
    let kinds: Vec<&str> = facets["kind"].iter().map(|f| f.value.as_str()).collect();
    // Every kind but the opt-in AiResource.
    for kind in &ALL_KINDS[..9] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    let tracker = portal
        .entity_by_ref(&EntityRef::parse("component:default/shipment-tracker").unwrap())
        .await
        .unwrap()
        .expect("documented component");
    assert_eq!(
        tracker.annotation("backstage.io/techdocs-ref"),
        Some("dir:.")
    );
    let types: Vec<String> = tracker
        .relations()
        .iter()
        .map(|r| r.relation_type.clone())
        .collect();
    for t in ["ownedBy", "partOf", "providesApi", "dependsOn"] {
        assert!(types.iter().any(|x| x == t), "{t} not in {types:?}");
    }
}

#[test]
fn every_sample_file_validates() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog");
    let summary = validate_paths(&[repo]);
    assert!(summary.problems.is_empty(), "{:#?}", summary.problems);
    assert!(summary.entities >= 40, "{summary:?}");
}
