//! The embedded store persists: import, close, reopen and everything is there; re-importing unchanged files
//! writes nothing; removing a file from the catalog orphans (keep) or deletes its entities.

use stagedoor_core::entity::ANNOTATION_ORPHAN;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::{config, fixtures};

#[tokio::test]
async fn import_close_reopen_and_reimport_unchanged() {
    let data = tempfile::tempdir().unwrap();
    let org = fixtures()
        .join("backstage/examples/acme-corp.yaml")
        .canonicalize()
        .unwrap();
    let org = org.display().to_string();
    let team_a = EntityRef::parse("group:default/team-a").unwrap();

    let (count, before) = {
        let portal = LocalPortal::from_config(config(
            &[("file", &org)],
            data.path(),
            serde_json::json!({}),
        ))
        .unwrap();
        let report = portal.refresh(RefreshRequest::default()).await.unwrap();
        assert!(report.stats.inserted > 20, "{report:?}");
        assert!(report.stats.wrote_anything());
        let count = portal.store().entity_count().await.unwrap();
        (count, portal.entity_by_ref(&team_a).await.unwrap().unwrap())
    };
    assert!(data.path().join("catalog.sqlite").exists());

    let portal = LocalPortal::from_config(config(
        &[("file", &org)],
        data.path(),
        serde_json::json!({}),
    ))
    .unwrap();
    assert_eq!(portal.store().entity_count().await.unwrap(), count);
    assert_eq!(
        portal.entity_by_ref(&team_a).await.unwrap().unwrap(),
        before
    );

    let again = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(!again.stats.wrote_anything(), "{:?}", again.stats);
    assert_eq!(again.stats.unchanged as u64, count);
    assert_eq!(
        portal.entity_by_ref(&team_a).await.unwrap().unwrap(),
        before,
        "etag and uid unchanged"
    );
}

async fn removed_target(
    strategy: &str,
) -> (
    Option<stagedoor_core::Entity>,
    stagedoor_core::portal::RefreshReport,
) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("all.yaml");
    let loc = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [./a.yaml, ./b.yaml]\n";
    std::fs::write(&root, loc).unwrap();
    for n in ["a", "b"] {
        std::fs::write(
            dir.path().join(format!("{n}.yaml")),
            format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {n}\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n"),
        )
        .unwrap();
    }
    let cfg = config(
        &[("file", &root.display().to_string())],
        dir.path(),
        serde_json::json!({"catalog": {"orphanStrategy": strategy}}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    portal.refresh(RefreshRequest::default()).await.unwrap();
    std::fs::write(&root, loc.replace(", ./b.yaml", "")).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    let b = portal
        .entity_by_ref(&EntityRef::parse("component:default/b").unwrap())
        .await
        .unwrap();
    (b, report)
}

#[tokio::test]
async fn orphans_are_kept_and_annotated_with_keep() {
    let (b, report) = removed_target("keep").await;
    let b = b.expect("kept");
    assert_eq!(b.annotation(ANNOTATION_ORPHAN), Some("true"));
    assert_eq!(report.stats.orphaned, 1);
}

#[tokio::test]
async fn orphans_are_deleted_with_delete() {
    let (b, report) = removed_target("delete").await;
    assert!(b.is_none());
    assert_eq!(report.stats.deleted, 1);
}

#[tokio::test]
async fn a_second_location_emitting_an_existing_ref_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let entity = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: dup\n  description: FROM\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n";
    std::fs::write(
        dir.path().join("first.yaml"),
        entity.replace("FROM", "first"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("second.yaml"),
        entity.replace("FROM", "second"),
    )
    .unwrap();
    let first = dir.path().join("first.yaml").display().to_string();
    let second = dir.path().join("second.yaml").display().to_string();
    let portal = LocalPortal::from_config(config(
        &[("file", &first), ("file", &second)],
        dir.path(),
        serde_json::json!({}),
    ))
    .unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    let conflict = report.stats.conflicts.first().expect("conflict reported");
    assert!(
        conflict.starts_with(
            "Detected conflicting entityRef component:default/dup already referenced by file:"
        ) && conflict.contains("first.yaml and now also file:")
            && conflict.ends_with("second.yaml"),
        "{conflict}"
    );
    let dup = portal
        .entity_by_ref(&EntityRef::parse("component:default/dup").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dup.description(), Some("first"));
}
