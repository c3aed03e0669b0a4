//! Ingesting Backstage's own example catalog (../shared/fixtures/backstage/examples) with rules that allow
//! every kind: every entity and relation is there, the unreachable remote `$text` and the dangling refs are
//! reported, and the rest is stored.

use stagedoor_core::entity::ANNOTATION_LOCATION;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::{config, fixtures};

fn r(text: &str) -> EntityRef {
    EntityRef::parse(text).expect("valid ref")
}

async fn ingested() -> (
    tempfile::TempDir,
    LocalPortal,
    stagedoor_core::portal::RefreshReport,
) {
    let data = tempfile::tempdir().expect("tempdir");
    let examples = fixtures()
        .join("backstage/examples")
        .canonicalize()
        .expect("fixtures present");
    let all = examples.join("all.yaml").display().to_string();
    let org = examples.join("acme-corp.yaml").display().to_string();
    let cfg = config(
        &[("file", &all), ("file", &org)],
        data.path(),
        serde_json::json!({}),
    );
    let portal = LocalPortal::from_config(cfg).expect("portal");
    let report = portal
        .refresh(RefreshRequest::default())
        .await
        .expect("refresh");
    (data, portal, report)
}

#[tokio::test]
async fn every_example_entity_is_stored_except_the_unreachable_ones() {
    let (_data, portal, report) = ingested().await;
    // 67 documents reachable from the two roots, plus the two generated root Locations, less the three APIs
    // whose definitions live on github.com (no integration is configured, so they are not read).
    let facets = portal.facets(&["kind".to_string()], None).await.unwrap();
    let kinds: Vec<(String, u64)> = facets["kind"]
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    let count = |k: &str| {
        kinds
            .iter()
            .find(|(v, _)| v == k)
            .map(|(_, c)| *c)
            .unwrap_or(0)
    };
    assert_eq!(count("User"), 17, "{kinds:?}");
    assert_eq!(count("Group"), 8);
    assert_eq!(count("Component"), 13);
    assert_eq!(count("API"), 7);
    assert_eq!(count("Location"), 11);
    assert_eq!(count("Domain"), 3);
    assert_eq!(count("System"), 3);
    assert_eq!(count("Resource"), 1);
    assert_eq!(count("AiResource"), 3);
    assert_eq!(report.stats.inserted, 66);
    assert!(
        report.stats.conflicts.is_empty(),
        "{:?}",
        report.stats.conflicts
    );

    // The remote placeholders are reported, with file and line, as not allowed to be read.
    let remote: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.message.contains("https://github.com/APIs-guru"))
        .collect();
    assert_eq!(remote.len(), 3, "{:#?}", report.problems);
    for p in &remote {
        assert_eq!(p.name, "NotAllowedError");
        assert!(p.location.ends_with(".yaml"), "{p:?}");
        assert!(p.message.contains("is not allowed"), "{p:?}");
        assert!(p.line.is_some());
    }
    assert_eq!(report.problems.len(), 3, "{:#?}", report.problems);
    for missing in [
        "api:default/spotify",
        "api:default/wayback-archive",
        "api:default/wayback-search",
    ] {
        assert!(portal.entity_by_ref(&r(missing)).await.unwrap().is_none());
    }
    // The local $text placeholder was read.
    let petstore = portal
        .entity_by_ref(&r("api:default/petstore"))
        .await
        .unwrap()
        .unwrap();
    assert!(petstore.spec_str("definition").unwrap().contains("openapi"));
}

#[tokio::test]
async fn relations_are_stitched_both_ways_and_dangling_ones_reported() {
    let (_data, portal, report) = ingested().await;
    let rels = |e: &stagedoor_core::Entity| {
        e.relations()
            .into_iter()
            .map(|r| format!("{} {}", r.relation_type, r.target_ref))
            .collect::<Vec<_>>()
    };
    let artist = portal
        .entity_by_ref(&r("component:default/artist-lookup"))
        .await
        .unwrap()
        .unwrap();
    let a = rels(&artist);
    for expected in [
        "ownedBy group:default/team-a",
        "partOf system:default/artist-engagement-portal",
        "dependsOn resource:default/artists-db",
    ] {
        assert!(
            a.contains(&expected.to_string()),
            "{expected} missing from {a:?}"
        );
    }
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(a, sorted, "relations are sorted by type then target");

    let team_a = portal
        .entity_by_ref(&r("group:default/team-a"))
        .await
        .unwrap()
        .unwrap();
    let t = rels(&team_a);
    assert!(
        t.contains(&"ownerOf component:default/artist-lookup".to_string()),
        "{t:?}"
    );
    assert!(
        t.iter().any(|x| x.starts_with("childOf group:default/")),
        "{t:?}"
    );
    assert!(
        t.iter().any(|x| x.starts_with("hasMember user:default/")),
        "{t:?}"
    );

    let db = portal
        .entity_by_ref(&r("resource:default/artists-db"))
        .await
        .unwrap()
        .unwrap();
    assert!(rels(&db).contains(&"dependencyOf component:default/artist-lookup".to_string()));

    let dangling: Vec<String> = report
        .dangling_relations
        .iter()
        .map(|(_, _, t)| t.clone())
        .collect();
    for target in [
        "airesource:default/typescript-best-practices",
        "airesource:default/security-review",
        "api:default/wayback-archive",
    ] {
        assert!(
            dangling.iter().any(|d| d == target),
            "{target} not reported in {dangling:?}"
        );
    }
    assert!(!dangling.iter().any(|d| d == "group:default/team-a"));
}

#[tokio::test]
async fn ancestry_walks_up_to_the_configured_location() {
    let (_data, portal, _) = ingested().await;
    let ancestry = portal
        .ancestry(&r("component:default/artist-lookup"))
        .await
        .unwrap();
    assert_eq!(ancestry.root_entity_ref, "component:default/artist-lookup");
    let chain: Vec<String> = ancestry
        .items
        .iter()
        .map(|i| i.entity.entity_ref().canonical())
        .collect();
    // component ← example-components (all-components.yaml) ← example-all (all.yaml) ← generated root
    assert_eq!(chain[0], "component:default/artist-lookup");
    assert_eq!(chain[1], "location:default/example-components");
    assert_eq!(chain[2], "location:default/example-all");
    assert!(
        chain[3].starts_with("location:default/generated-"),
        "{chain:?}"
    );
    assert_eq!(chain.len(), 4);
    assert_eq!(ancestry.items[0].parent_entity_refs, vec![chain[1].clone()]);
    assert!(ancestry.items[3].parent_entity_refs.is_empty());
    let artist = &ancestry.items[0].entity;
    let loc = artist.annotation(ANNOTATION_LOCATION).unwrap();
    assert!(
        loc.starts_with("file:/") && loc.ends_with("components/artist-lookup-component.yaml"),
        "{loc}"
    );
    assert!(artist.uid().is_some());
}

#[tokio::test]
async fn without_rules_only_backstage_default_kinds_are_allowed() {
    let data = tempfile::tempdir().unwrap();
    let org = fixtures()
        .join("backstage/examples/acme-corp.yaml")
        .canonicalize()
        .unwrap();
    let mut cfg = config(
        &[("file", &org.display().to_string())],
        data.path(),
        serde_json::json!({}),
    );
    if let Some(catalog) = cfg.root.get_mut("catalog").and_then(|c| c.as_object_mut()) {
        catalog.remove("rules");
    }
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(portal
        .entity_by_ref(&r("group:default/team-a"))
        .await
        .unwrap()
        .is_none());
    let refused = report
        .problems
        .iter()
        .find(|p| p.message.contains("group:default/team-a"))
        .expect("group refused");
    assert!(
        refused
            .message
            .contains("is not of an allowed kind for that location"),
        "{refused:?}"
    );
    assert_eq!(refused.name, "NotAllowedError");
}
