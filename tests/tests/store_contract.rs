//! The `Store` contract: every backend (`stagedoor_tests::stores::fresh_stores`: SQLite in memory and in a
//! file now, PostgreSQL once it lands) must pass the same tests, written against the `Store` trait alone.
//!
//! Each test runs on a fresh, empty store of every backend in turn, and every assertion names the backend.
//! "Wrote nothing" is observed through the trait: `WriteStats::wrote_anything` is false and the stored
//! entities (uid and etag included) are unchanged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use serde_json::{json, Value};
use stagedoor_core::entity::{Relation, ANNOTATION_ORPHAN};
use stagedoor_core::store::query::set_selective_rows;
use stagedoor_core::store::{
    EntityPage, EntityPredicate, EntityProvenance, EntityQuery, FacetCount, FailedEntity,
    FullTextFilter, OrderField, OrphanStrategy, PageInfo, ProcessedEntity, ProcessingError,
    RelationRow, SortOrder, Store, StoreError, WriteStats,
};
use stagedoor_core::{Entity, EntityRef};
use stagedoor_tests::stores::{fresh_stores, ingest, processed, rehash, TestStore};

const ORIGIN: &str = "file:/cat/all.yaml";
const FILE_A: &str = "file:/cat/a.yaml";
const FILE_B: &str = "file:/cat/b.yaml";

/// Fresh stores of every backend; fails if the SQLite ones are missing, so no test passes by looping over
/// nothing.
async fn stores() -> Vec<TestStore> {
    let stores = fresh_stores().await;
    let names: Vec<&str> = stores.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.starts_with(&["sqlite-memory", "sqlite-file"]),
        "backends: {names:?}"
    );
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        names.len(),
        "backend names repeat: {names:?}"
    );
    stores
}

/// Unwraps with the backend's name in the panic message.
trait Must<T> {
    fn must(self, backend: &str) -> T;
}

impl<T, E: Debug> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, backend: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{backend}: {e:?}"),
        }
    }
}

fn component(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
           "metadata": {"name": name}, "spec": spec})
}

fn two() -> Vec<ProcessedEntity> {
    vec![
        processed(component("a", json!({"type": "service"})), FILE_A, &[]),
        processed(component("b", json!({"type": "website"})), FILE_B, &[]),
    ]
}

fn only_a() -> Vec<ProcessedEntity> {
    two().into_iter().take(1).collect()
}

fn r(text: &str) -> EntityRef {
    EntityRef::parse(text).unwrap()
}

async fn get(store: &dyn Store, backend: &str, text: &str) -> Option<Entity> {
    store.entity_by_ref(&r(text)).await.must(backend)
}

fn filter(params: &[&str]) -> Option<EntityPredicate> {
    let params: Vec<String> = params.iter().map(|s| s.to_string()).collect();
    let predicate = EntityPredicate::from_filter_params(&params).unwrap();
    assert!(predicate.is_some(), "{params:?} parsed to no filter");
    predicate
}

fn by(field: &str, order: SortOrder) -> Vec<OrderField> {
    vec![OrderField {
        field: field.into(),
        order,
    }]
}

fn names(page: &EntityPage) -> Vec<String> {
    page.items.iter().map(|e| e.name().to_string()).collect()
}

fn refs(page: &EntityPage) -> Vec<String> {
    page.items
        .iter()
        .map(|e| e.entity_ref().canonical())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn etag(e: &Entity) -> Value {
    e.get_path("metadata.etag")
        .cloned()
        .expect("a stored entity has metadata.etag")
}

// ---------------------------------------------------------------------------------------------------------
// Writes: insert, update, unchanged, orphans, conflicts, failures.
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn insert_update_and_unchanged_by_hash() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                inserted: 2,
                ..Default::default()
            },
            "{name}"
        );
        assert!(stats.wrote_anything(), "{name}");
        let a1 = get(&*store, &name, "component:default/a").await.unwrap();
        let b1 = get(&*store, &name, "component:default/b").await.unwrap();
        let uid = a1.uid().expect("uid").to_string();
        assert!(!uid.is_empty(), "{name}");
        assert_ne!(a1.uid(), b1.uid(), "{name}: uids are distinct");
        assert_eq!(a1.spec_str("type"), Some("service"), "{name}");
        assert_eq!(a1.kind(), "Component", "{name}");
        assert_eq!(a1.api_version(), "backstage.io/v1alpha1", "{name}");

        // The same hashes again: nothing written, nothing changed.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                unchanged: 2,
                ..Default::default()
            },
            "{name}"
        );
        assert!(!stats.wrote_anything(), "{name}");
        assert_eq!(
            get(&*store, &name, "component:default/a").await.as_ref(),
            Some(&a1),
            "{name}: uid and etag kept"
        );
        assert_eq!(
            get(&*store, &name, "component:default/b").await.as_ref(),
            Some(&b1),
            "{name}"
        );

        // One changed hash: one update, same uid, new etag; lookups ignore case.
        let mut changed = two();
        changed[0] = processed(component("a", json!({"type": "library"})), FILE_A, &[]);
        let stats = store
            .apply_location(ingest(ORIGIN, changed), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                updated: 1,
                unchanged: 1,
                ..Default::default()
            },
            "{name}"
        );
        let a2 = get(&*store, &name, "Component:Default/A").await.unwrap();
        assert_eq!(a2.uid(), Some(uid.as_str()), "{name}");
        assert_ne!(etag(&a2), etag(&a1), "{name}: an update changes the etag");
        assert_eq!(a2.spec_str("type"), Some("library"), "{name}");
        assert_eq!(
            get(&*store, &name, "component:default/b").await.as_ref(),
            Some(&b1),
            "{name}: the unchanged entity is untouched"
        );
        assert_eq!(store.entity_count().await.must(&name), 2, "{name}");
        assert_eq!(
            store.origins().await.must(&name),
            vec![ORIGIN.to_string()],
            "{name}"
        );
        assert_eq!(
            store
                .provenance(&r("component:default/a"))
                .await
                .must(&name),
            Some(EntityProvenance {
                entity_ref: "component:default/a".into(),
                location_key: FILE_A.into(),
                origin: ORIGIN.into(),
                parent_ref: None,
            }),
            "{name}"
        );
        assert_eq!(
            store.entity_by_uid(&uid).await.must(&name).as_ref(),
            Some(&a2),
            "{name}"
        );

        // The search index follows the update: the old value no longer matches, the new one does.
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["spec.type=service"]),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!((page.total_items, page.items.len()), (0, 0), "{name}");
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["spec.type=library"]),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["a"], "{name}");
        assert_eq!(page.total_items, 1, "{name}");
    }
}

#[tokio::test]
async fn an_entity_moving_between_files_of_its_origin_is_updated() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        let a1 = get(&*store, &name, "component:default/a").await.unwrap();
        let mut moved = two();
        moved[0] = processed(component("a", json!({"type": "service"})), FILE_B, &[]);
        let stats = store
            .apply_location(ingest(ORIGIN, moved), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            (stats.updated, stats.unchanged, stats.conflicts.len()),
            (1, 1, 0),
            "{name}: {stats:?}"
        );
        let a2 = get(&*store, &name, "component:default/a").await.unwrap();
        assert_eq!(a2.uid(), a1.uid(), "{name}");
        let prov = store
            .provenance(&r("component:default/a"))
            .await
            .must(&name)
            .unwrap();
        assert_eq!(prov.location_key, FILE_B, "{name}");
        assert_eq!(prov.origin, ORIGIN, "{name}");
    }
}

#[tokio::test]
async fn provenance_keeps_the_parent_and_is_none_when_missing() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let mut child = processed(component("child", json!({})), FILE_A, &[]);
        child.parent_ref = Some("location:default/root".into());
        rehash(&mut child);
        store
            .apply_location(ingest(ORIGIN, vec![child]), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            store
                .provenance(&r("Component:default/Child"))
                .await
                .must(&name),
            Some(EntityProvenance {
                entity_ref: "component:default/child".into(),
                location_key: FILE_A.into(),
                origin: ORIGIN.into(),
                parent_ref: Some("location:default/root".into()),
            }),
            "{name}"
        );
        assert_eq!(
            store
                .provenance(&r("component:default/missing"))
                .await
                .must(&name),
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn orphans_are_kept_and_marked_or_deleted() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let orphan_filter = || filter(&["metadata.annotations.backstage.io/orphan=true"]);
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Keep)
            .await
            .must(&name);
        let b0 = get(&*store, &name, "component:default/b").await.unwrap();
        assert_eq!(b0.annotation(ANNOTATION_ORPHAN), None, "{name}");

        let stats = store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Keep)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                orphaned: 1,
                unchanged: 1,
                ..Default::default()
            },
            "{name}"
        );
        assert!(stats.wrote_anything(), "{name}");
        let b1 = get(&*store, &name, "component:default/b").await.unwrap();
        assert_eq!(b1.annotation(ANNOTATION_ORPHAN), Some("true"), "{name}");
        assert_eq!(b1.uid(), b0.uid(), "{name}");
        assert_eq!(store.entity_count().await.must(&name), 2, "{name}");
        let page = store
            .query_entities(&EntityQuery {
                filter: orphan_filter(),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["b"], "{name}");
        assert_eq!(page.total_items, 1, "{name}");

        // Still an orphan: nothing to write.
        let stats = store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Keep)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                unchanged: 1,
                ..Default::default()
            },
            "{name}"
        );
        assert!(!stats.wrote_anything(), "{name}");
        assert_eq!(
            get(&*store, &name, "component:default/b").await.as_ref(),
            Some(&b1),
            "{name}"
        );

        // Emitted again: no longer an orphan.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Keep)
            .await
            .must(&name);
        assert_eq!((stats.updated, stats.unchanged), (1, 1), "{name}");
        let b2 = get(&*store, &name, "component:default/b").await.unwrap();
        assert_eq!(b2.annotation(ANNOTATION_ORPHAN), None, "{name}");
        assert_eq!(b2.uid(), b0.uid(), "{name}");
        let page = store
            .query_entities(&EntityQuery {
                filter: orphan_filter(),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!((page.items.len(), page.total_items), (0, 0), "{name}");

        let stats = store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                deleted: 1,
                unchanged: 1,
                ..Default::default()
            },
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/b").await.is_none(),
            "{name}"
        );
        assert!(
            store
                .entity_by_uid(b0.uid().unwrap())
                .await
                .must(&name)
                .is_none(),
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 1, "{name}");
    }
}

#[tokio::test]
async fn a_kept_orphan_is_deleted_once_the_strategy_is_delete() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Keep)
            .await
            .must(&name);
        store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Keep)
            .await
            .must(&name);
        let stats = store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(stats.deleted, 1, "{name}: {stats:?}");
        assert!(
            get(&*store, &name, "component:default/b").await.is_none(),
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 1, "{name}");
    }
}

#[tokio::test]
async fn another_origin_cannot_take_a_ref() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        let a1 = get(&*store, &name, "component:default/a").await.unwrap();
        let other = "url:https://x/y.yaml";
        let stats = store
            .apply_location(
                ingest(
                    other,
                    vec![processed(
                        component("a", json!({"type": "other"})),
                        other,
                        &[],
                    )],
                ),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert_eq!(stats.inserted + stats.updated, 0, "{name}: {stats:?}");
        assert_eq!(
            stats.conflicts,
            vec![format!(
                "Detected conflicting entityRef component:default/a already referenced by {FILE_A} and now also {other}"
            )],
            "{name}"
        );
        assert_eq!(
            get(&*store, &name, "component:default/a").await.as_ref(),
            Some(&a1),
            "{name}: the holder's entity is untouched"
        );
        assert_eq!(
            store
                .provenance(&r("component:default/a"))
                .await
                .must(&name)
                .map(|p| p.origin),
            Some(ORIGIN.to_string()),
            "{name}"
        );
        assert_eq!(
            store.origins().await.must(&name),
            vec![ORIGIN.to_string()],
            "{name}"
        );

        // The refused ref does not stop the rest of that origin; the holder's next refresh is unaffected.
        let stats = store
            .apply_location(
                ingest(
                    other,
                    vec![
                        processed(component("a", json!({"type": "other"})), other, &[]),
                        processed(component("z", json!({})), other, &[]),
                    ],
                ),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert_eq!(
            (stats.inserted, stats.conflicts.len()),
            (1, 1),
            "{name}: {stats:?}"
        );
        assert!(
            get(&*store, &name, "component:default/z").await.is_some(),
            "{name}"
        );
        assert_eq!(
            store.origins().await.must(&name),
            vec![ORIGIN.to_string(), other.to_string()],
            "{name}"
        );
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                unchanged: 2,
                ..Default::default()
            },
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 3, "{name}");
    }
}

#[tokio::test]
async fn each_origin_manages_only_its_own_entities() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let other = "file:/other/all.yaml";
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        store
            .apply_location(
                ingest(
                    other,
                    vec![processed(
                        component("c", json!({})),
                        "file:/other/c.yaml",
                        &[],
                    )],
                ),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert_eq!(store.entity_count().await.must(&name), 3, "{name}");

        // `other` now emits nothing: only its own entity goes.
        let stats = store
            .apply_location(ingest(other, vec![]), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                deleted: 1,
                ..Default::default()
            },
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/c").await.is_none(),
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/a").await.is_some(),
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/b").await.is_some(),
            "{name}"
        );
        assert_eq!(
            store.origins().await.must(&name),
            vec![ORIGIN.to_string()],
            "{name}"
        );
    }
}

#[tokio::test]
async fn failed_files_and_entities_keep_what_was_stored() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        let b0 = get(&*store, &name, "component:default/b").await.unwrap();

        // b.yaml could not be read: b stays as it was, under either strategy.
        for strategy in [OrphanStrategy::Delete, OrphanStrategy::Keep] {
            let mut failed_file = ingest(ORIGIN, only_a());
            failed_file.failed_location_keys = vec![FILE_B.into()];
            let stats = store
                .apply_location(failed_file, strategy)
                .await
                .must(&name);
            assert_eq!(
                (stats.deleted, stats.orphaned),
                (0, 0),
                "{name} {strategy:?}"
            );
            assert!(!stats.wrote_anything(), "{name} {strategy:?}: {stats:?}");
            assert_eq!(
                get(&*store, &name, "component:default/b").await.as_ref(),
                Some(&b0),
                "{name} {strategy:?}"
            );
        }

        // b failed processing: its old version stays, with the new errors in status.items; an entity that
        // failed and was never stored is not created.
        let failed_entity = || {
            let mut i = ingest(ORIGIN, only_a());
            i.failed_entities = vec![
                FailedEntity {
                    entity_ref: "component:default/b".into(),
                    location_key: FILE_B.into(),
                    errors: vec![ProcessingError::new("InputError", "spec.type is bad")],
                },
                FailedEntity {
                    entity_ref: "component:default/never".into(),
                    location_key: FILE_B.into(),
                    errors: vec![ProcessingError::new("InputError", "nope")],
                },
            ];
            i
        };
        let stats = store
            .apply_location(failed_entity(), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            (stats.updated, stats.deleted, stats.inserted),
            (1, 0, 0),
            "{name}: {stats:?}"
        );
        let b1 = get(&*store, &name, "component:default/b").await.unwrap();
        assert_eq!(b1.spec_str("type"), Some("website"), "{name}");
        assert_eq!(b1.uid(), b0.uid(), "{name}");
        assert_ne!(etag(&b1), etag(&b0), "{name}: new status, new etag");
        assert_eq!(
            b1.get_path("status"),
            Some(&json!({"items": [{
                "type": "backstage.io/catalog-processing",
                "level": "error",
                "message": "InputError: spec.type is bad",
                "error": {"name": "InputError", "message": "spec.type is bad"}
            }]})),
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/never")
                .await
                .is_none(),
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 2, "{name}");

        // The same failure again writes nothing.
        let stats = store
            .apply_location(failed_entity(), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert!(!stats.wrote_anything(), "{name}: {stats:?}");
        assert_eq!(
            get(&*store, &name, "component:default/b").await.as_ref(),
            Some(&b1),
            "{name}"
        );

        // Fixed again: the errors go away.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert!(stats.wrote_anything(), "{name}: {stats:?}");
        let b2 = get(&*store, &name, "component:default/b").await.unwrap();
        assert!(b2.get_path("status").is_none(), "{name}: {b2:?}");
        assert_eq!(b2.uid(), b0.uid(), "{name}");
    }
}

#[tokio::test]
async fn reads_after_a_write_see_the_write() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        // Counts and facets may be cached by a backend (SQLite caches them per read connection): a commit
        // must invalidate them, whichever connection serves the read.
        let q = EntityQuery {
            filter: filter(&["kind=component"]),
            ..Default::default()
        };
        let facet = vec!["spec.type".to_string()];
        let check = |total: u64| {
            let store = store.clone();
            let (q, facet, name) = (q.clone(), facet.clone(), name.clone());
            async move {
                for round in 0..3 {
                    let page = store.query_entities(&q).await.must(&name);
                    assert_eq!(page.total_items, total, "{name}: round {round}");
                    assert_eq!(page.items.len() as u64, total, "{name}: round {round}");
                    let f = store.facets(&facet, None).await.must(&name);
                    assert_eq!(
                        f["spec.type"].len() as u64,
                        total,
                        "{name}: round {round}: {f:?}"
                    );
                    assert_eq!(store.entity_count().await.must(&name), total, "{name}");
                }
            }
        };
        check(0).await;
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        check(2).await;
        store
            .apply_location(ingest(ORIGIN, only_a()), OrphanStrategy::Delete)
            .await
            .must(&name);
        check(1).await;
        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        check(2).await;
    }
}

#[tokio::test]
async fn concurrent_refreshes_of_different_origins_both_land() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let batch = |origin: &str, prefix: &str| {
            let entities = (0..40)
                .map(|i| processed(component(&format!("{prefix}{i}"), json!({})), origin, &[]))
                .collect();
            ingest(origin, entities)
        };
        let (x, y) = tokio::join!(
            store.apply_location(batch("file:/x.yaml", "x"), OrphanStrategy::Delete),
            store.apply_location(batch("file:/y.yaml", "y"), OrphanStrategy::Delete),
        );
        assert_eq!(x.must(&name).inserted, 40, "{name}");
        assert_eq!(y.must(&name).inserted, 40, "{name}");
        assert_eq!(store.entity_count().await.must(&name), 80, "{name}");
        assert_eq!(
            store.origins().await.must(&name),
            vec!["file:/x.yaml", "file:/y.yaml"],
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Stitching and relations.
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn stitching_adds_relations_status_uid_and_etag() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let mut a = processed(
            component("a", json!({"owner": "team-a"})),
            FILE_A,
            &[
                ("component:default/a", "ownedBy", "group:default/team-a"),
                ("group:default/team-a", "ownerOf", "component:default/a"),
                ("component:default/a", "dependsOn", "resource:default/db"),
            ],
        );
        a.errors = vec![ProcessingError::new("NotFoundError", "x")];
        rehash(&mut a);
        let group = processed(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                   "metadata": {"name": "team-a"}, "spec": {"type": "team", "children": []}}),
            FILE_B,
            &[],
        );
        // A second origin emitting the same reverse row must not duplicate it in the output.
        let c = processed(
            component("c", json!({})),
            "file:/other.yaml",
            &[("group:default/team-a", "ownerOf", "component:default/a")],
        );
        store
            .apply_location(ingest(ORIGIN, vec![a, group]), OrphanStrategy::Delete)
            .await
            .must(&name);
        store
            .apply_location(ingest("file:/other.yaml", vec![c]), OrphanStrategy::Delete)
            .await
            .must(&name);
        let a = get(&*store, &name, "component:default/a").await.unwrap();
        assert_eq!(
            a.get_path("relations"),
            Some(&json!([
                {"type": "dependsOn", "targetRef": "resource:default/db"},
                {"type": "ownedBy", "targetRef": "group:default/team-a"}
            ])),
            "{name}"
        );
        assert_eq!(
            a.get_path("status"),
            Some(&json!({"items": [{
                "type": "backstage.io/catalog-processing",
                "level": "error",
                "message": "NotFoundError: x",
                "error": {"name": "NotFoundError", "message": "x"}
            }]})),
            "{name}"
        );
        assert!(a.uid().is_some_and(|u| !u.is_empty()), "{name}");
        assert!(etag(&a).as_str().is_some_and(|e| !e.is_empty()), "{name}");
        let g = get(&*store, &name, "group:default/team-a").await.unwrap();
        assert_eq!(
            g.get_path("relations"),
            Some(&json!([{"type": "ownerOf", "targetRef": "component:default/a"}])),
            "{name}"
        );
        assert!(g.get_path("status").is_none(), "{name}");
        let c = get(&*store, &name, "component:default/c").await.unwrap();
        assert_eq!(c.get_path("relations"), Some(&json!([])), "{name}");
        assert!(c.get_path("status").is_none(), "{name}");
    }
}

#[tokio::test]
async fn removed_entities_take_their_relation_rows_along() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let owned = |n: &str| {
            let me = format!("component:default/{n}");
            processed(
                component(n, json!({"owner": "team"})),
                FILE_A,
                &[
                    (me.as_str(), "ownedBy", "group:default/team"),
                    ("group:default/team", "ownerOf", me.as_str()),
                ],
            )
        };
        let group = processed(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                   "metadata": {"name": "team"}, "spec": {"type": "team", "children": []}}),
            FILE_B,
            &[],
        );
        store
            .apply_location(
                ingest(ORIGIN, vec![owned("x"), owned("y"), group.clone()]),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        let rel = |t: &str| Relation {
            relation_type: "ownerOf".into(),
            target_ref: t.into(),
        };
        let team = get(&*store, &name, "group:default/team").await.unwrap();
        assert_eq!(
            team.relations(),
            vec![rel("component:default/x"), rel("component:default/y")],
            "{name}"
        );

        // y no longer emitted and deleted: its rows go, so the group loses the reverse relation.
        store
            .apply_location(
                ingest(ORIGIN, vec![owned("x"), group.clone()]),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        let team = get(&*store, &name, "group:default/team").await.unwrap();
        assert_eq!(team.relations(), vec![rel("component:default/x")], "{name}");
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["relations.ownerOf=component:default/y"]),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(page.total_items, 0, "{name}");

        // x deleted by uid: the same.
        let x = get(&*store, &name, "component:default/x").await.unwrap();
        assert!(
            store
                .delete_entity_by_uid(x.uid().unwrap())
                .await
                .must(&name),
            "{name}"
        );
        let team = get(&*store, &name, "group:default/team").await.unwrap();
        assert_eq!(team.relations(), vec![], "{name}");
        assert_eq!(
            store.dangling_relations().await.must(&name),
            vec![],
            "{name}"
        );
    }
}

#[tokio::test]
async fn dangling_relations_are_rows_from_stored_to_missing_entities_sorted() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let b = processed(
            component("b", json!({})),
            FILE_A,
            &[("component:default/b", "dependsOn", "resource:default/aaa")],
        );
        let a = processed(
            component("a", json!({"owner": "team"})),
            FILE_A,
            &[
                ("component:default/a", "ownedBy", "group:default/team"),
                ("group:default/team", "ownerOf", "component:default/a"),
                ("component:default/a", "dependsOn", "resource:default/db"),
                ("component:default/a", "partOf", "system:default/s"),
            ],
        );
        let s = processed(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System",
                   "metadata": {"name": "s"}, "spec": {"owner": "team"}}),
            FILE_B,
            &[],
        );
        store
            .apply_location(ingest(ORIGIN, vec![b, a, s]), OrphanStrategy::Delete)
            .await
            .must(&name);
        let row = |s: &str, t: &str, d: &str| RelationRow {
            source: s.into(),
            relation_type: t.into(),
            target: d.into(),
        };
        assert_eq!(
            store.dangling_relations().await.must(&name),
            vec![
                row("component:default/a", "dependsOn", "resource:default/db"),
                row("component:default/a", "ownedBy", "group:default/team"),
                row("component:default/b", "dependsOn", "resource:default/aaa"),
            ],
            "{name}"
        );

        // The targets arrive from another origin: nothing dangles any more.
        let other = "file:/other.yaml";
        store
            .apply_location(
                ingest(
                    other,
                    vec![
                        processed(
                            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                                   "metadata": {"name": "team"}, "spec": {"type": "team", "children": []}}),
                            other,
                            &[],
                        ),
                        processed(
                            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource",
                                   "metadata": {"name": "db"}, "spec": {"type": "database", "owner": "team"}}),
                            other,
                            &[],
                        ),
                    ],
                ),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert_eq!(
            store.dangling_relations().await.must(&name),
            vec![row(
                "component:default/b",
                "dependsOn",
                "resource:default/aaa"
            )],
            "{name}"
        );
        let team = get(&*store, &name, "group:default/team").await.unwrap();
        assert_eq!(
            team.relations(),
            vec![Relation {
                relation_type: "ownerOf".into(),
                target_ref: "component:default/a".into()
            }],
            "{name}: a row stored before its source entity stitches once the source exists"
        );
    }
}

#[tokio::test]
async fn case_duplicate_keys_are_recorded_not_fatal() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let bad = processed(component("dup", json!({"foo": 1, "Foo": 2})), FILE_A, &[]);
        let stats = store
            .apply_location(ingest(ORIGIN, vec![bad.clone()]), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(stats.inserted, 1, "{name}");
        let e = get(&*store, &name, "component:default/dup").await.unwrap();
        let items = e
            .get_path("status.items")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name}: no status.items in {e:?}"));
        assert_eq!(items.len(), 1, "{name}");
        assert_eq!(
            items[0]["error"]["message"],
            json!("Entity has duplicate keys that vary only in casing, 'spec.foo'"),
            "{name}"
        );
        assert_eq!(
            e.get_path("spec"),
            Some(&json!({"foo": 1, "Foo": 2})),
            "{name}: stored as given"
        );
        // Still findable by kind and name, and a refresh writes nothing.
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["kind=component,metadata.name=dup"]),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["dup"], "{name}");
        let stats = store
            .apply_location(ingest(ORIGIN, vec![bad]), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            stats,
            WriteStats {
                unchanged: 1,
                ..Default::default()
            },
            "{name}"
        );
        assert_eq!(
            get(&*store, &name, "component:default/dup").await.as_ref(),
            Some(&e),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Locations, deletes, lookups, counts.
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_fresh_store_is_empty() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        assert_eq!(store.entity_count().await.must(&name), 0, "{name}");
        assert_eq!(
            store.origins().await.must(&name),
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(store.locations().await.must(&name), vec![], "{name}");
        assert_eq!(
            store.dangling_relations().await.must(&name),
            vec![],
            "{name}"
        );
        let page = store
            .query_entities(&EntityQuery::default())
            .await
            .must(&name);
        assert_eq!(page, EntityPage::default(), "{name}");
        assert!(
            get(&*store, &name, "component:default/a").await.is_none(),
            "{name}"
        );
        assert!(
            store.entity_by_uid("nope").await.must(&name).is_none(),
            "{name}"
        );
        let facets = store.facets(&["kind".into()], None).await.must(&name);
        assert!(facets.values().all(Vec::is_empty), "{name}: {facets:?}");
    }
}

#[tokio::test]
async fn locations_crud_and_delete_by_uid() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let loc = store
            .add_location("url", "https://x/a.yaml")
            .await
            .must(&name);
        assert_eq!(loc.key(), "url:https://x/a.yaml", "{name}");
        assert_eq!(
            (loc.location_type.as_str(), loc.target.as_str()),
            ("url", "https://x/a.yaml"),
            "{name}"
        );
        assert!(!loc.id.is_empty(), "{name}");
        match store.add_location("url", "https://x/a.yaml").await {
            Err(StoreError::Conflict(m)) => {
                assert_eq!(m, "Location url:https://x/a.yaml already exists", "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(
            store.location(&loc.id).await.must(&name),
            Some(loc.clone()),
            "{name}"
        );
        assert_eq!(
            store.locations().await.must(&name),
            vec![loc.clone()],
            "{name}"
        );

        // Listed by type, then target; ids are distinct.
        let file = store.add_location("file", "/cat/z.yaml").await.must(&name);
        let url0 = store
            .add_location("url", "https://x/0.yaml")
            .await
            .must(&name);
        assert_ne!(file.id, loc.id, "{name}");
        assert_ne!(url0.id, loc.id, "{name}");
        assert_eq!(
            store.locations().await.must(&name),
            vec![file.clone(), url0.clone(), loc.clone()],
            "{name}"
        );

        assert!(store.delete_location(&loc.id).await.must(&name), "{name}");
        assert!(!store.delete_location(&loc.id).await.must(&name), "{name}");
        assert!(
            !store.delete_location("no-such-id").await.must(&name),
            "{name}"
        );
        assert_eq!(store.location(&loc.id).await.must(&name), None, "{name}");
        assert_eq!(
            store.locations().await.must(&name),
            vec![file, url0],
            "{name}"
        );
        // Deleted, it can be added again.
        let again = store
            .add_location("url", "https://x/a.yaml")
            .await
            .must(&name);
        assert_eq!(again.key(), loc.key(), "{name}");

        store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        let a = get(&*store, &name, "component:default/a").await.unwrap();
        let uid = a.uid().unwrap().to_string();
        assert!(store.delete_entity_by_uid(&uid).await.must(&name), "{name}");
        assert!(
            !store.delete_entity_by_uid(&uid).await.must(&name),
            "{name}"
        );
        assert!(
            !store.delete_entity_by_uid("no-such-uid").await.must(&name),
            "{name}"
        );
        assert!(
            store.entity_by_uid(&uid).await.must(&name).is_none(),
            "{name}"
        );
        assert!(
            get(&*store, &name, "component:default/a").await.is_none(),
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 1, "{name}");
        // It comes back on the next refresh, as in Backstage.
        let stats = store
            .apply_location(ingest(ORIGIN, two()), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!((stats.inserted, stats.unchanged), (1, 1), "{name}");
        assert_eq!(store.entity_count().await.must(&name), 2, "{name}");
    }
}

#[tokio::test]
async fn entity_by_uid_finds_each_entity_and_nothing_else() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let entities: Vec<ProcessedEntity> = (0..20)
            .map(|i| processed(component(&format!("c{i}"), json!({})), FILE_A, &[]))
            .collect();
        store
            .apply_location(ingest(ORIGIN, entities), OrphanStrategy::Delete)
            .await
            .must(&name);
        let mut uids = BTreeSet::new();
        for i in 0..20 {
            let e = get(&*store, &name, &format!("component:default/c{i}"))
                .await
                .unwrap();
            let uid = e.uid().unwrap().to_string();
            assert!(uids.insert(uid.clone()), "{name}: duplicate uid {uid}");
            assert_eq!(
                store.entity_by_uid(&uid).await.must(&name).as_ref(),
                Some(&e),
                "{name}"
            );
        }
        assert!(
            store.entity_by_uid("").await.must(&name).is_none(),
            "{name}"
        );
        assert!(
            store
                .entity_by_uid("00000000-0000-0000-0000-000000000000")
                .await
                .must(&name)
                .is_none(),
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 20, "{name}");
    }
}

#[tokio::test]
async fn origins_are_sorted_and_follow_the_entities() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        for origin in ["file:/z.yaml", "file:/a.yaml", "url:https://m/catalog.yaml"] {
            let entity = processed(
                component(&origin.replace(['/', ':', '.'], "-"), json!({})),
                origin,
                &[],
            );
            store
                .apply_location(ingest(origin, vec![entity]), OrphanStrategy::Delete)
                .await
                .must(&name);
        }
        assert_eq!(
            store.origins().await.must(&name),
            vec!["file:/a.yaml", "file:/z.yaml", "url:https://m/catalog.yaml"],
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 3, "{name}");
        store
            .apply_location(ingest("file:/z.yaml", vec![]), OrphanStrategy::Delete)
            .await
            .must(&name);
        assert_eq!(
            store.origins().await.must(&name),
            vec!["file:/a.yaml", "url:https://m/catalog.yaml"],
            "{name}"
        );
        assert_eq!(store.entity_count().await.must(&name), 2, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// The Backstage example catalog.
// ---------------------------------------------------------------------------------------------------------

/// Every entity document of the Backstage examples, with owner relations, and the count per kind.
fn backstage_examples() -> (Vec<ProcessedEntity>, HashMap<String, u64>) {
    let root = stagedoor_tests::fixtures().join("backstage/examples");
    let mut entities = Vec::new();
    let mut by_kind: HashMap<String, u64> = HashMap::new();
    for dir in [
        "components",
        "apis",
        "acme",
        "systems",
        "domains",
        "resources",
    ] {
        let Ok(read) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut files: Vec<_> = read.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let Ok(value) = <Value as serde::Deserialize>::deserialize(doc) else {
                    continue;
                };
                if value.get("kind").is_none() || value.get("apiVersion").is_none() {
                    continue; // OpenAPI documents and the like
                }
                let key = format!("file:{}", file.display());
                let mut p = processed(value, &key, &[]);
                if let Some(owner) = p.entity.spec_str("owner") {
                    let target = EntityRef::parse_with_defaults(owner, Some("group"), "default")
                        .unwrap()
                        .canonical();
                    p.relations = vec![
                        RelationRow {
                            source: p.entity_ref.clone(),
                            relation_type: "ownedBy".into(),
                            target: target.clone(),
                        },
                        RelationRow {
                            source: target,
                            relation_type: "ownerOf".into(),
                            target: p.entity_ref.clone(),
                        },
                    ];
                    rehash(&mut p);
                }
                *by_kind.entry(p.entity.kind().to_string()).or_default() += 1;
                entities.push(p);
            }
        }
    }
    assert!(
        entities.len() > 30,
        "fixtures not found under {}",
        root.display()
    );
    (entities, by_kind)
}

#[tokio::test]
async fn backstage_examples_round_trip() {
    let (entities, by_kind) = backstage_examples();
    let total = entities.len() as u64;
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let stats = store
            .apply_location(
                ingest("file:examples/all.yaml", entities.clone()),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert_eq!(stats.inserted as u64, total, "{name}");
        assert!(stats.conflicts.is_empty(), "{name}: {:?}", stats.conflicts);
        assert_eq!(store.entity_count().await.must(&name), total, "{name}");

        let facets = store.facets(&["kind".into()], None).await.must(&name);
        let counted: HashMap<String, u64> = facets["kind"]
            .iter()
            .map(|c| (c.value.clone(), c.count))
            .collect();
        assert_eq!(counted, by_kind, "{name}");

        // Every entity indexed cleanly and reads back as it went in, plus uid and etag.
        for p in &entities {
            let stored = store
                .entity_by_ref(&r(&p.entity_ref))
                .await
                .must(&name)
                .unwrap_or_else(|| panic!("{name}: {} missing", p.entity_ref));
            assert!(
                stored.get_path("status").is_none(),
                "{name}: indexing failed: {stored:?}"
            );
            let mut bare = stored.clone().into_value();
            let obj = bare.as_object_mut().unwrap();
            obj.remove("relations");
            let meta = obj
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
                .unwrap();
            assert!(meta.remove("uid").is_some(), "{name}");
            assert!(meta.remove("etag").is_some(), "{name}");
            assert_eq!(
                bare,
                p.entity.clone().into_value(),
                "{name}: {}",
                p.entity_ref
            );
        }

        let artist = get(&*store, &name, "component:default/artist-lookup")
            .await
            .unwrap();
        assert_eq!(
            artist.relations(),
            vec![Relation {
                relation_type: "ownedBy".into(),
                target_ref: "group:default/team-a".into(),
            }],
            "{name}"
        );
        let team_a = get(&*store, &name, "group:default/team-a").await.unwrap();
        assert!(
            team_a
                .relations()
                .iter()
                .any(|r| r.relation_type == "ownerOf"
                    && r.target_ref == "component:default/artist-lookup"),
            "{name}"
        );

        let mut seen = Vec::new();
        let mut query = EntityQuery {
            order_fields: by("metadata.name", SortOrder::Asc),
            limit: Some(7),
            ..Default::default()
        };
        loop {
            let page = store.query_entities(&query).await.must(&name);
            assert_eq!(page.total_items, total, "{name}");
            seen.extend(refs(&page));
            match page.page_info.next_cursor {
                Some(c) => {
                    query = EntityQuery {
                        cursor: Some(c),
                        limit: Some(7),
                        ..Default::default()
                    }
                }
                None => break,
            }
            assert!(seen.len() as u64 <= total, "{name}: paging does not end");
        }
        assert_eq!(seen.len() as u64, total, "{name}");
        assert_eq!(
            seen.iter().collect::<BTreeSet<_>>().len() as u64,
            total,
            "{name}: an entity was visited twice"
        );
        let seen_names: Vec<String> = seen
            .iter()
            .map(|r| r.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(seen_names, sorted(seen_names.clone()), "{name}");

        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["kind=component,metadata.tags.java"]),
                ..Default::default()
            })
            .await
            .must(&name);
        assert!(
            page.items.iter().any(|e| e.name() == "artist-lookup"),
            "{name}"
        );
        assert!(
            page.items
                .iter()
                .all(|e| e.tags().contains(&"java") && e.kind().eq_ignore_ascii_case("component")),
            "{name}"
        );
        let expected = entities
            .iter()
            .filter(|p| p.entity.kind() == "Component" && p.entity.tags().contains(&"java"))
            .count() as u64;
        assert_eq!(page.total_items, expected, "{name}");

        // Unchanged on a second apply.
        let stats = store
            .apply_location(
                ingest("file:examples/all.yaml", entities.clone()),
                OrphanStrategy::Delete,
            )
            .await
            .must(&name);
        assert!(!stats.wrote_anything(), "{name}: {stats:?}");
        assert_eq!(stats.unchanged as u64, total, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Queries on a small catalog whose answers are written out by hand.
// ---------------------------------------------------------------------------------------------------------

const SMALL: &str = "file:/c/catalog.yaml";

/// An entity with its forward relations `(type, target)` and their reverses.
fn small_entity(value: Value, rels: &[(&str, &str)]) -> ProcessedEntity {
    let entity_ref = Entity::from_value(value.clone())
        .unwrap()
        .entity_ref()
        .canonical();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (t, target) in rels {
        rows.push((entity_ref.clone(), t.to_string(), target.to_string()));
        let reverse = match *t {
            "ownedBy" => "ownerOf",
            _ => "dependencyOf",
        };
        rows.push((target.to_string(), reverse.into(), entity_ref.clone()));
    }
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(s, t, d)| (s.as_str(), t.as_str(), d.as_str()))
        .collect();
    processed(value, SMALL, &rows)
}

fn small_component(ns: &str, name: &str, spec: Value, tags: &[&str]) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
           "metadata": {"name": name, "namespace": ns, "tags": tags}, "spec": spec})
}

/// Six entities: four components (one in namespace `other`, named `Shadow`), an API and a group.
async fn small_catalog(store: &dyn Store, backend: &str) {
    let mut artist = small_component(
        "default",
        "artist-lookup",
        json!({"type": "service", "owner": "team-a", "lifecycle": "production"}),
        &["java", "data"],
    );
    artist["metadata"]["annotations"] = json!({"backstage.io/techdocs-ref": "dir:."});
    artist["metadata"]["description"] = json!("Artist Lookup finds artists");
    let entities = vec![
        small_entity(artist, &[("ownedBy", "group:default/team-a")]),
        small_entity(
            small_component(
                "default",
                "wayback-search",
                json!({"type": "website", "owner": "team-b", "lifecycle": "experimental"}),
                &["javascript"],
            ),
            &[("ownedBy", "group:default/team-b")],
        ),
        small_entity(
            small_component(
                "default",
                "playback-order",
                json!({"type": "service", "owner": "team-a", "lifecycle": "production"}),
                &["java"],
            ),
            &[("ownedBy", "group:default/team-a")],
        ),
        small_entity(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API",
                   "metadata": {"name": "spotify"},
                   "spec": {"type": "openapi", "owner": "team-a", "lifecycle": "production"}}),
            &[("ownedBy", "group:default/team-a")],
        ),
        small_entity(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                   "metadata": {"name": "team-a"}, "spec": {"type": "team", "children": []}}),
            &[],
        ),
        small_entity(
            small_component(
                "other",
                "Shadow",
                json!({"type": "service", "lifecycle": ""}),
                &[],
            ),
            &[],
        ),
    ];
    let stats = store
        .apply_location(ingest(SMALL, entities), OrphanStrategy::Delete)
        .await
        .must(backend);
    assert_eq!(stats.inserted, 6, "{backend}");
}

const SMALL_ALL: [&str; 6] = [
    "Shadow",
    "artist-lookup",
    "playback-order",
    "spotify",
    "team-a",
    "wayback-search",
];

enum F {
    Get(&'static [&'static str]),
    Json(Value),
}

#[tokio::test]
async fn query_filters_match_as_backstage_does() {
    // Through both query plans (see `set_selective_rows`).
    for threshold in [2000, 1] {
        set_selective_rows(threshold);
        query_filters_match(threshold).await;
    }
    set_selective_rows(2000);
}

async fn query_filters_match(threshold: i64) {
    let cases: Vec<(F, Vec<&str>)> = vec![
        (
            F::Get(&["kind=component"]),
            vec![
                "Shadow",
                "artist-lookup",
                "playback-order",
                "wayback-search",
            ],
        ),
        (
            F::Get(&["kind=component,spec.type=service"]),
            vec!["Shadow", "artist-lookup", "playback-order"],
        ),
        (
            F::Get(&["kind=api", "kind=group"]),
            vec!["spotify", "team-a"],
        ),
        (F::Get(&["kind=API,kind=Group"]), vec!["spotify", "team-a"]),
        (
            F::Get(&["spec.owner"]),
            vec![
                "artist-lookup",
                "playback-order",
                "spotify",
                "wayback-search",
            ],
        ),
        (F::Get(&["spec.lifecycle="]), vec!["Shadow"]),
        (
            F::Get(&["KIND=COMPONENT,metadata.name=ARTIST-LOOKUP"]),
            vec!["artist-lookup"],
        ),
        (
            F::Get(&["metadata.tags.java"]),
            vec!["artist-lookup", "playback-order"],
        ),
        (
            F::Get(&["metadata.tags=java"]),
            vec!["artist-lookup", "playback-order"],
        ),
        (
            F::Get(&["metadata.tags.java,metadata.tags.data"]),
            vec!["artist-lookup"],
        ),
        (
            F::Get(&["relations.ownedBy=group:default/team-a"]),
            vec!["artist-lookup", "playback-order", "spotify"],
        ),
        (
            F::Get(&["relations.ownedby=group:default/TEAM-A,kind=component"]),
            vec!["artist-lookup", "playback-order"],
        ),
        (
            F::Get(&[
                "relations.ownedBy=group:default/team-a,relations.ownedBy=group:default/team-b",
            ]),
            vec![
                "artist-lookup",
                "playback-order",
                "spotify",
                "wayback-search",
            ],
        ),
        (F::Get(&["relations.ownerOf"]), vec!["team-a"]),
        (
            F::Get(&["metadata.annotations.backstage.io/techdocs-ref=dir:."]),
            vec!["artist-lookup"],
        ),
        (F::Get(&["metadata.namespace=other"]), vec!["Shadow"]),
        (
            F::Get(&["metadata.namespace=default,kind=group"]),
            vec!["team-a"],
        ),
        (F::Get(&["metadata.uid=nope"]), vec![]),
        (F::Get(&["kind=nothing"]), vec![]),
        (
            F::Json(json!({"$not": {"kind": "component"}})),
            vec!["spotify", "team-a"],
        ),
        (
            F::Json(json!({"metadata.name": {"$hasPrefix": "PLAY"}})),
            vec!["playback-order"],
        ),
        (
            F::Json(json!({"metadata.name": {"$hasPrefix": "play_"}})),
            vec![],
        ),
        (
            F::Json(json!({"metadata.tags": {"$contains": "java"}})),
            vec!["artist-lookup", "playback-order"],
        ),
        (
            F::Json(
                json!({"kind": "component", "spec.lifecycle": {"$in": ["production", "Experimental"]}}),
            ),
            vec!["artist-lookup", "playback-order", "wayback-search"],
        ),
        (
            F::Json(json!({"spec.owner": {"$exists": false}})),
            vec!["Shadow", "team-a"],
        ),
        (
            F::Json(json!({"$any": [{"kind": "api"}, {"metadata.name": "shadow"}]})),
            vec!["Shadow", "spotify"],
        ),
        (
            F::Json(json!({"$all": [{"kind": "component"}, {"$not": {"spec.type": "service"}}]})),
            vec!["wayback-search"],
        ),
        (
            F::Json(json!({"relations.ownedBy": {"$hasPrefix": "group:default/team-"}})),
            vec![
                "artist-lookup",
                "playback-order",
                "spotify",
                "wayback-search",
            ],
        ),
        (F::Json(json!({"$all": []})), vec![]),
        (F::Json(json!({})), SMALL_ALL.to_vec()),
    ];
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let name = format!("{name} (plan threshold {threshold})");
        for (case, expected) in &cases {
            let (label, predicate) = match case {
                F::Get(params) => (format!("{params:?}"), filter(params)),
                F::Json(v) => (v.to_string(), Some(EntityPredicate::from_json(v).unwrap())),
            };
            let page = store
                .query_entities(&EntityQuery {
                    filter: predicate,
                    ..Default::default()
                })
                .await
                .must(&name);
            assert_eq!(sorted(names(&page)), *expected, "{name}: filter {label}");
            assert_eq!(
                page.total_items,
                expected.len() as u64,
                "{name}: count of {label}"
            );
            assert_eq!(page.page_info, PageInfo::default(), "{name}: {label}");
        }
        let page = store
            .query_entities(&EntityQuery::default())
            .await
            .must(&name);
        assert_eq!(sorted(names(&page)), SMALL_ALL.to_vec(), "{name}");
        assert_eq!(page.total_items, 6, "{name}");
        assert_eq!(page.page_info, PageInfo::default(), "{name}");
    }
}

#[tokio::test]
async fn query_order_offset_projection_and_full_text() {
    // Through both query plans (see `set_selective_rows`).
    for threshold in [2000, 1] {
        set_selective_rows(threshold);
        query_order_offset_projection(threshold).await;
    }
    set_selective_rows(2000);
}

async fn query_order_offset_projection(threshold: i64) {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let name = format!("{name} (plan threshold {threshold})");
        let q = |order_fields, offset, limit| EntityQuery {
            order_fields,
            offset,
            limit,
            ..Default::default()
        };
        let asc = [
            "artist-lookup",
            "playback-order",
            "shadow",
            "spotify",
            "team-a",
            "wayback-search",
        ];
        let lower = |page: &EntityPage| -> Vec<String> {
            names(page).iter().map(|n| n.to_lowercase()).collect()
        };
        let page = store
            .query_entities(&q(by("metadata.name", SortOrder::Asc), None, None))
            .await
            .must(&name);
        assert_eq!(lower(&page), asc, "{name}: case-insensitive ascending");
        let page = store
            .query_entities(&q(by("metadata.name", SortOrder::Desc), None, None))
            .await
            .must(&name);
        let mut desc = lower(&page);
        desc.reverse();
        assert_eq!(desc, asc, "{name}: descending");

        let page = store
            .query_entities(&q(by("metadata.name", SortOrder::Asc), Some(2), Some(2)))
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["Shadow", "spotify"], "{name}");
        assert_eq!(page.total_items, 6, "{name}");
        assert!(page.page_info.next_cursor.is_some(), "{name}");
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["kind=component"]),
                ..q(by("metadata.name", SortOrder::Asc), Some(1), Some(2))
            })
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["playback-order", "Shadow"], "{name}");
        assert_eq!(page.total_items, 4, "{name}");
        let page = store
            .query_entities(&q(by("metadata.name", SortOrder::Asc), Some(6), None))
            .await
            .must(&name);
        assert!(page.items.is_empty(), "{name}: offset past the end");
        assert_eq!(page.total_items, 6, "{name}");
        let page = store
            .query_entities(&q(by("metadata.name", SortOrder::Desc), None, Some(0)))
            .await
            .must(&name);
        assert!(page.items.is_empty(), "{name}: limit 0");
        assert_eq!(page.total_items, 6, "{name}");

        // Entities lacking the sort field come last in both directions.
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let page = store
                .query_entities(&q(by("spec.owner", order), None, None))
                .await
                .must(&name);
            let n = names(&page);
            assert_eq!(n.len(), 6, "{name}");
            assert_eq!(
                sorted(n[4..].to_vec()),
                vec!["Shadow", "team-a"],
                "{name} {order:?}"
            );
            let owners: Vec<&str> = page.items[..4]
                .iter()
                .map(|e| e.spec_str("owner").unwrap())
                .collect();
            let expected = if order == SortOrder::Asc {
                ["team-a", "team-a", "team-a", "team-b"]
            } else {
                ["team-b", "team-a", "team-a", "team-a"]
            };
            assert_eq!(owners, expected, "{name} {order:?}");
        }

        // Projection.
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["metadata.name=artist-lookup"]),
                fields: vec![
                    "kind,metadata.name".into(),
                    "metadata.annotations.backstage.io/techdocs-ref".into(),
                ],
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(page.items.len(), 1, "{name}");
        assert_eq!(
            page.items[0].clone().into_value(),
            json!({"kind": "Component", "metadata": {"name": "artist-lookup",
                   "annotations": {"backstage.io/techdocs-ref": "dir:."}}}),
            "{name}"
        );
        let page = store
            .query_entities(&EntityQuery {
                filter: filter(&["metadata.name=team-a"]),
                fields: vec!["relations".into(), "spec.nope".into()],
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(
            page.items[0].clone().into_value(),
            json!({"relations": [
                {"type": "ownerOf", "targetRef": "api:default/spotify"},
                {"type": "ownerOf", "targetRef": "component:default/artist-lookup"},
                {"type": "ownerOf", "targetRef": "component:default/playback-order"},
            ]}),
            "{name}: relations project like any field"
        );
        let bad = store
            .query_entities(&EntityQuery {
                fields: vec!["metadata.tags[0]".into()],
                ..Default::default()
            })
            .await;
        assert!(matches!(bad, Err(StoreError::Input(_))), "{name}: {bad:?}");

        // Full text: given fields, the sort field, else metadata.uid.
        let ft = |term: &str, fields: &[&str], order_fields: Vec<OrderField>| EntityQuery {
            full_text: Some(FullTextFilter {
                term: term.into(),
                fields: fields.iter().map(|s| s.to_string()).collect(),
            }),
            order_fields,
            ..Default::default()
        };
        let page = store
            .query_entities(&ft(
                "LOOK",
                &["metadata.name", "metadata.description"],
                vec![],
            ))
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["artist-lookup"], "{name}");
        let page = store
            .query_entities(&ft("finds", &["metadata.description"], vec![]))
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["artist-lookup"], "{name}");
        let page = store
            .query_entities(&ft("back", &[], by("metadata.name", SortOrder::Asc)))
            .await
            .must(&name);
        assert_eq!(
            names(&page),
            vec!["playback-order", "wayback-search"],
            "{name}"
        );
        assert_eq!(page.total_items, 2, "{name}");
        // No fields and the default order: only uids are searched.
        let page = store
            .query_entities(&ft("back", &[], vec![]))
            .await
            .must(&name);
        assert!(page.items.is_empty(), "{name}");
        let uid = get(&*store, &name, "group:default/team-a")
            .await
            .unwrap()
            .uid()
            .unwrap()
            .to_string();
        assert!(uid.len() >= 12, "{name}: uid {uid}");
        let page = store
            .query_entities(&ft(&uid[2..12], &[], vec![]))
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["team-a"], "{name}");
        let page = store
            .query_entities(&ft(
                "TEAM-B",
                &["relations.ownedBy", "metadata.name"],
                vec![],
            ))
            .await
            .must(&name);
        assert_eq!(names(&page), vec!["wayback-search"], "{name}");
        for wildcard in ["%", "_"] {
            let page = store
                .query_entities(&ft(wildcard, &["metadata.name"], vec![]))
                .await
                .must(&name);
            assert!(
                page.items.is_empty(),
                "{name}: {wildcard:?} is not a wildcard"
            );
        }
        let page = store
            .query_entities(&ft("-", &["metadata.name"], vec![]))
            .await
            .must(&name);
        assert_eq!(
            sorted(names(&page)),
            vec![
                "artist-lookup",
                "playback-order",
                "team-a",
                "wayback-search"
            ],
            "{name}"
        );
    }
}

/// Walks every page forward from `first` (each later page by its cursor alone, with a filter that the cursor
/// must override), then back from the last page by prev cursors; checks the page links and that the walk back
/// gives the same pages. Returns the pages in order.
async fn walk(
    store: &dyn Store,
    backend: &str,
    first: EntityQuery,
    limit: usize,
    total: usize,
) -> Vec<EntityPage> {
    let label = format!("{backend}: {:?} {:?}", first.order_fields, first.filter);
    let first = store.query_entities(&first).await.must(backend);
    assert_eq!(first.total_items, total as u64, "{label}");
    assert!(first.page_info.prev_cursor.is_none(), "{label}");
    let mut pages = vec![first];
    while let Some(next) = pages.last().unwrap().page_info.next_cursor.clone() {
        assert_eq!(
            pages.last().unwrap().items.len(),
            limit,
            "{label}: a page before the last is full"
        );
        let page = store
            .query_entities(&EntityQuery {
                cursor: Some(next),
                limit: Some(limit),
                // Ignored: the cursor's own filter and order win.
                filter: filter(&["kind=nothing"]),
                order_fields: by("metadata.uid", SortOrder::Desc),
                ..Default::default()
            })
            .await
            .must(backend);
        assert_eq!(page.total_items, total as u64, "{label}");
        assert!(page.page_info.prev_cursor.is_some(), "{label}");
        pages.push(page);
        assert!(
            pages.len() <= total.div_ceil(limit).max(1),
            "{label}: too many pages"
        );
    }
    assert_eq!(pages.len(), total.div_ceil(limit).max(1), "{label}");
    let last = pages.last().unwrap();
    assert!(!last.items.is_empty() || total == 0, "{label}");
    assert!(last.items.len() <= limit, "{label}");

    // And back again from the last page.
    let mut back = pages.len() - 1;
    let mut cursor = pages[back].page_info.prev_cursor.clone();
    while let Some(prev) = cursor {
        assert!(back > 0, "{label}: a prev cursor on the first page");
        back -= 1;
        let page = store
            .query_entities(&EntityQuery {
                cursor: Some(prev),
                limit: Some(limit),
                ..Default::default()
            })
            .await
            .must(backend);
        assert_eq!(
            refs(&page),
            refs(&pages[back]),
            "{label}: page {back} going back"
        );
        assert_eq!(page.total_items, total as u64, "{label}");
        assert!(page.page_info.next_cursor.is_some(), "{label}");
        cursor = page.page_info.prev_cursor.clone();
    }
    assert_eq!(back, 0, "{label}: the walk back stopped early");
    pages
}

#[tokio::test]
async fn cursors_page_forward_and_back() {
    // Through both query plans (see `set_selective_rows`).
    for threshold in [2000, 1] {
        set_selective_rows(threshold);
        cursors_page(threshold).await;
    }
    set_selective_rows(2000);
}

async fn cursors_page(threshold: i64) {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let name = format!("{name} (plan threshold {threshold})");
        for (order_fields, predicate) in [
            (by("metadata.name", SortOrder::Asc), None),
            (by("metadata.name", SortOrder::Desc), None),
            (by("spec.owner", SortOrder::Asc), None),
            (by("spec.owner", SortOrder::Desc), None),
            (vec![], None),
            (
                by("metadata.name", SortOrder::Asc),
                filter(&["kind=component"]),
            ),
        ] {
            let full = store
                .query_entities(&EntityQuery {
                    order_fields: order_fields.clone(),
                    filter: predicate.clone(),
                    ..Default::default()
                })
                .await
                .must(&name);
            let total = full.items.len();
            let pages = walk(
                &*store,
                &name,
                EntityQuery {
                    order_fields: order_fields.clone(),
                    filter: predicate.clone(),
                    limit: Some(2),
                    ..Default::default()
                },
                2,
                total,
            )
            .await;
            let walked: Vec<String> = pages.iter().flat_map(refs).collect();
            assert_eq!(walked, refs(&full), "{name}: {order_fields:?}");
        }
    }
}

#[tokio::test]
async fn query_input_errors_and_skipped_totals() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let huge = store
            .query_entities(&EntityQuery {
                limit: Some(usize::MAX),
                offset: Some(usize::MAX),
                ..Default::default()
            })
            .await
            .must(&name);
        assert!(huge.items.is_empty(), "{name}");
        for bad in ["not a cursor", "%%%", "bm90IGpzb24=", "e30=", ""] {
            match store
                .query_entities(&EntityQuery {
                    cursor: Some(bad.into()),
                    ..Default::default()
                })
                .await
            {
                Err(StoreError::Input(m)) => {
                    assert!(m.starts_with("Malformed cursor: "), "{name}: {bad:?}: {m}")
                }
                other => panic!("{name}: {bad:?}: {other:?}"),
            }
        }
        let skipped = store
            .query_entities(&EntityQuery {
                skip_total_items: true,
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!((skipped.total_items, skipped.items.len()), (0, 6), "{name}");
    }
}

#[tokio::test]
async fn facets_count_original_values() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let f = store
            .facets(
                &[
                    "kind".into(),
                    "metadata.tags".into(),
                    "relations.ownedBy".into(),
                ],
                None,
            )
            .await
            .must(&name);
        let pairs = |k: &str| -> Vec<(String, u64)> {
            f[k].iter().map(|c| (c.value.clone(), c.count)).collect()
        };
        let own = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(s, c)| (s.to_string(), *c)).collect()
        };
        assert_eq!(f.len(), 3, "{name}: {f:?}");
        assert_eq!(
            pairs("kind"),
            own(&[("Component", 4), ("API", 1), ("Group", 1)]),
            "{name}"
        );
        assert_eq!(
            pairs("metadata.tags"),
            own(&[("java", 2), ("data", 1), ("javascript", 1)]),
            "{name}"
        );
        assert_eq!(
            pairs("relations.ownedBy"),
            own(&[("group:default/team-a", 3), ("group:default/team-b", 1)]),
            "{name}"
        );

        let f = store
            .facets(
                &[
                    "spec.type".into(),
                    "relations.ownedBy".into(),
                    "metadata.namespace".into(),
                ],
                filter(&["kind=component"]).as_ref(),
            )
            .await
            .must(&name);
        assert_eq!(
            f["spec.type"],
            vec![
                FacetCount {
                    value: "service".into(),
                    count: 3
                },
                FacetCount {
                    value: "website".into(),
                    count: 1
                }
            ],
            "{name}"
        );
        assert_eq!(
            f["relations.ownedBy"],
            vec![
                FacetCount {
                    value: "group:default/team-a".into(),
                    count: 2
                },
                FacetCount {
                    value: "group:default/team-b".into(),
                    count: 1
                }
            ],
            "{name}"
        );
        assert_eq!(
            f["metadata.namespace"],
            vec![
                FacetCount {
                    value: "default".into(),
                    count: 3
                },
                FacetCount {
                    value: "other".into(),
                    count: 1
                }
            ],
            "{name}"
        );

        // Original case is kept; a filter matching nothing gives empty lists.
        let f = store
            .facets(
                &["metadata.name".into()],
                filter(&["metadata.namespace=other"]).as_ref(),
            )
            .await
            .must(&name);
        assert_eq!(
            f["metadata.name"],
            vec![FacetCount {
                value: "Shadow".into(),
                count: 1
            }],
            "{name}"
        );
        let f = store
            .facets(
                &["kind".into(), "spec.nothing".into()],
                filter(&["kind=nothing"]).as_ref(),
            )
            .await
            .must(&name);
        assert!(f.values().all(Vec::is_empty), "{name}: {f:?}");
    }
}

#[tokio::test]
async fn entities_by_refs_keep_input_order_and_project() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        small_catalog(&*store, &name).await;
        let input: Vec<EntityRef> = [
            "component:default/playback-order",
            "component:default/missing",
            "Component:Other/shadow",
            "component:default/playback-order",
        ]
        .iter()
        .map(|t| r(t))
        .collect();
        let items = store
            .entities_by_refs(&input, &["metadata.name".into()])
            .await
            .must(&name);
        assert_eq!(
            items
                .into_iter()
                .map(|e| e.map(Entity::into_value))
                .collect::<Vec<_>>(),
            vec![
                Some(json!({"metadata": {"name": "playback-order"}})),
                None,
                Some(json!({"metadata": {"name": "Shadow"}})),
                Some(json!({"metadata": {"name": "playback-order"}})),
            ],
            "{name}"
        );

        // No fields: whole stitched entities, as by ref.
        let whole = store.entities_by_refs(&input[..3], &[]).await.must(&name);
        assert_eq!(
            whole,
            vec![
                get(&*store, &name, "component:default/playback-order").await,
                None,
                get(&*store, &name, "component:other/shadow").await,
            ],
            "{name}"
        );
        assert!(whole[0].as_ref().unwrap().uid().is_some(), "{name}");
        assert_eq!(
            store.entities_by_refs(&[], &[]).await.must(&name),
            vec![],
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Paging and facets over a few hundred entities, with answers computed from the input.
// ---------------------------------------------------------------------------------------------------------

const MANY_ORIGIN: &str = "file:/many/all.yaml";
/// Entities 0..MANY; names are `e<i>` (every third upper-cased), every tenth an API, every seventh without
/// an owner; MANY..MANY+TIES repeat earlier names in namespace `tie` so the sort field has ties.
const MANY: usize = 300;
const TIES: usize = 12;

/// Which of the [`Many`] entities a filter should match.
type Wanted<'a> = &'a dyn Fn(&Many) -> bool;
/// The values one entity contributes to a facet.
type Values<'a> = &'a dyn Fn(&Many) -> Vec<String>;

struct Many {
    entity_ref: String,
    kind: &'static str,
    namespace: &'static str,
    name: String,
    spec_type: String,
    owner: Option<String>,
    tags: Vec<String>,
}

fn many() -> Vec<Many> {
    (0..MANY + TIES)
        .map(|i| {
            let n = if i < MANY { i } else { (i - MANY) * 17 };
            let kind = if i % 10 == 0 { "API" } else { "Component" };
            let namespace = if i >= MANY { "tie" } else { "default" };
            let name = if n % 3 == 0 {
                format!("E{n}")
            } else {
                format!("e{n}")
            };
            let owner = (i % 7 != 0).then(|| format!("g{}", i % 23));
            Many {
                entity_ref: format!(
                    "{}:{namespace}/{}",
                    kind.to_lowercase(),
                    name.to_lowercase()
                ),
                kind,
                namespace,
                name,
                spec_type: format!("type{}", i % 5),
                owner,
                tags: vec![format!("t{}", i % 4), "common".into()],
            }
        })
        .collect()
}

fn many_processed(m: &Many) -> ProcessedEntity {
    let mut spec = json!({"type": m.spec_type, "lifecycle": "production"});
    let mut tags = m.tags.clone();
    tags.push("common".into()); // a repeated tag counts once
    let mut rels = Vec::new();
    if let Some(owner) = &m.owner {
        spec["owner"] = json!(owner);
        rels.push((
            m.entity_ref.clone(),
            "ownedBy".to_string(),
            format!("group:default/{owner}"),
        ));
    }
    let rels: Vec<(&str, &str, &str)> = rels
        .iter()
        .map(|(s, t, d)| (s.as_str(), t.as_str(), d.as_str()))
        .collect();
    processed(
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": m.kind,
               "metadata": {"name": m.name, "namespace": m.namespace, "tags": tags},
               "spec": spec}),
        "file:/many/catalog.yaml",
        &rels,
    )
}

async fn many_catalog(store: &dyn Store, backend: &str) -> Vec<Many> {
    let all = many();
    let stats = store
        .apply_location(
            ingest(MANY_ORIGIN, all.iter().map(many_processed).collect()),
            OrphanStrategy::Delete,
        )
        .await
        .must(backend);
    assert_eq!(stats.inserted, MANY + TIES, "{backend}");
    all
}

/// The sort key of `field` for an entity, lowercased, `None` when it lacks the field.
fn sort_key(m: &Many, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(m.name.to_lowercase()),
        "spec.owner" => m.owner.as_ref().map(|o| o.to_lowercase()),
        // An entity with several values sorts by its smallest.
        "metadata.tags" => m.tags.iter().map(|t| t.to_lowercase()).min(),
        other => panic!("no sort key for {other}"),
    }
}

#[tokio::test]
async fn cursor_paging_visits_every_entity_once_in_order() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let all = many_catalog(&*store, &name).await;
        let by_ref: HashMap<&str, &Many> = all.iter().map(|m| (m.entity_ref.as_str(), m)).collect();
        let cases: Vec<(Vec<OrderField>, Option<EntityPredicate>, Wanted)> = vec![
            (by("metadata.name", SortOrder::Asc), None, &|_: &Many| true),
            (by("metadata.name", SortOrder::Desc), None, &|_: &Many| true),
            (by("metadata.tags", SortOrder::Desc), None, &|_: &Many| true),
            (
                by("metadata.name", SortOrder::Asc),
                filter(&["kind=component"]),
                &|m: &Many| m.kind == "Component",
            ),
            (
                by("metadata.name", SortOrder::Desc),
                filter(&["kind=component,spec.type=type1", "kind=api"]),
                &|m: &Many| m.kind == "API" || m.spec_type == "type1",
            ),
            (by("spec.owner", SortOrder::Asc), None, &|_: &Many| true),
            (
                by("spec.owner", SortOrder::Desc),
                filter(&["metadata.tags=t1"]),
                &|m: &Many| m.tags[0] == "t1",
            ),
            (vec![], None, &|_: &Many| true),
            (vec![], filter(&["metadata.namespace=tie"]), &|m: &Many| {
                m.namespace == "tie"
            }),
        ];
        // Both query plans (index walk for unselective filters, sorted matches for selective ones).
        for (threshold, (order_fields, predicate, wanted)) in [2000, 1]
            .into_iter()
            .flat_map(|t| cases.iter().map(move |c| (t, c.clone())))
        {
            set_selective_rows(threshold);
            let expected: Vec<&Many> = all.iter().filter(|m| wanted(m)).collect();
            let total = expected.len();
            assert!(total > 0);
            for limit in [7, 50, 1000] {
                let label = format!(
                    "{name}: {order_fields:?} {predicate:?} limit {limit} threshold {threshold}"
                );
                let pages = walk(
                    &*store,
                    &name,
                    EntityQuery {
                        order_fields: order_fields.clone(),
                        filter: predicate.clone(),
                        limit: Some(limit),
                        ..Default::default()
                    },
                    limit,
                    total,
                )
                .await;
                let walked: Vec<String> = pages.iter().flat_map(refs).collect();
                let mut once = BTreeSet::new();
                for r in &walked {
                    assert!(once.insert(r.clone()), "{label}: {r} visited twice");
                }
                let want: BTreeSet<String> =
                    expected.iter().map(|m| m.entity_ref.clone()).collect();
                assert_eq!(once, want, "{label}: visited set");

                // In order: the sort keys of the walk are the expected keys sorted, missing ones last.
                if let Some(OrderField { field, order }) = order_fields.first() {
                    let keys: Vec<Option<String>> = walked
                        .iter()
                        .map(|r| sort_key(by_ref[r.as_str()], field))
                        .collect();
                    let mut present: Vec<String> =
                        expected.iter().filter_map(|m| sort_key(m, field)).collect();
                    present.sort();
                    if *order == SortOrder::Desc {
                        present.reverse();
                    }
                    let mut want_keys: Vec<Option<String>> =
                        present.into_iter().map(Some).collect();
                    want_keys.resize(total, None);
                    assert_eq!(keys, want_keys, "{label}: order");
                }
            }
        }

        set_selective_rows(2000);
        // Without a limit a page holds Backstage's default of 200.
        let page = store
            .query_entities(&EntityQuery {
                order_fields: by("metadata.name", SortOrder::Asc),
                ..Default::default()
            })
            .await
            .must(&name);
        assert_eq!(page.items.len(), 200, "{name}");
        assert_eq!(page.total_items, (MANY + TIES) as u64, "{name}");
        assert!(page.page_info.next_cursor.is_some(), "{name}");
        assert!(page.page_info.prev_cursor.is_none(), "{name}");
    }
}

#[tokio::test]
async fn offset_paging_visits_every_entity_once_in_order() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let all = many_catalog(&*store, &name).await;
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut walked = Vec::new();
            let mut offset = 0;
            loop {
                let page = store
                    .query_entities(&EntityQuery {
                        order_fields: by("metadata.name", order),
                        filter: filter(&["kind=component"]),
                        offset: Some(offset),
                        limit: Some(40),
                        ..Default::default()
                    })
                    .await
                    .must(&name);
                if page.items.is_empty() {
                    break;
                }
                offset += page.items.len();
                walked.extend(page.items.iter().map(|e| e.name().to_lowercase()));
                assert!(walked.len() <= MANY + TIES, "{name}: paging does not end");
            }
            let mut want: Vec<String> = all
                .iter()
                .filter(|m| m.kind == "Component")
                .map(|m| m.name.to_lowercase())
                .collect();
            want.sort();
            if order == SortOrder::Desc {
                want.reverse();
            }
            assert_eq!(walked, want, "{name} {order:?}");
        }
    }
}

#[tokio::test]
async fn facets_with_a_filter_over_many_entities() {
    for TestStore {
        name,
        store,
        _guard,
    } in stores().await
    {
        let all = many_catalog(&*store, &name).await;
        let count = |wanted: Wanted, value: Values| {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for m in all.iter().filter(|m| wanted(m)) {
                let mut values = value(m);
                values.sort();
                values.dedup();
                for v in values {
                    *counts.entry(v).or_default() += 1;
                }
            }
            // Most frequent first, then by value.
            let mut v: Vec<FacetCount> = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v
        };
        let facet_names: Vec<String> = vec![
            "kind".into(),
            "spec.type".into(),
            "spec.owner".into(),
            "metadata.tags".into(),
            "metadata.namespace".into(),
            "relations.ownedBy".into(),
        ];
        let kind = |m: &Many| vec![m.kind.to_string()];
        let spec_type = |m: &Many| vec![m.spec_type.clone()];
        let owner = |m: &Many| m.owner.iter().cloned().collect::<Vec<_>>();
        let tags = |m: &Many| m.tags.clone();
        let namespace = |m: &Many| vec![m.namespace.to_string()];
        let owned_by = |m: &Many| {
            m.owner
                .iter()
                .map(|o| format!("group:default/{o}"))
                .collect::<Vec<_>>()
        };
        let extractors: [Values; 6] = [&kind, &spec_type, &owner, &tags, &namespace, &owned_by];
        let cases: Vec<(Option<EntityPredicate>, Wanted)> = vec![
            (None, &|_: &Many| true),
            (filter(&["kind=component"]), &|m: &Many| {
                m.kind == "Component"
            }),
            (
                filter(&["spec.type=type2,metadata.tags=t0"]),
                &|m: &Many| m.spec_type == "type2" && m.tags[0] == "t0",
            ),
            (
                Some(
                    EntityPredicate::from_json(&json!({"$not": {"spec.owner": {"$exists": true}}}))
                        .unwrap(),
                ),
                &|m: &Many| m.owner.is_none(),
            ),
            (
                filter(&["metadata.namespace=tie", "kind=api"]),
                &|m: &Many| m.namespace == "tie" || m.kind == "API",
            ),
        ];
        for (predicate, wanted) in cases {
            let f = store
                .facets(&facet_names, predicate.as_ref())
                .await
                .must(&name);
            for (facet, value) in facet_names.iter().zip(extractors) {
                assert_eq!(
                    f.get(facet).cloned().unwrap_or_default(),
                    count(wanted, value),
                    "{name}: facet {facet} with {predicate:?}"
                );
            }
        }
    }
}
