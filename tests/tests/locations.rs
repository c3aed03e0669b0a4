//! Location entities: globs, `presence: optional`, missing targets reported on the Location, `$json`/`$yaml`
//! placeholders, on-demand refresh of one entity's root, and the periodic refresh loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::config;

fn component(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n{extra}"
    )
}

fn r(text: &str) -> EntityRef {
    EntityRef::parse(text).unwrap()
}

#[tokio::test]
async fn globs_optional_and_missing_targets() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("all.yaml");
    std::fs::create_dir_all(dir.path().join("components")).unwrap();
    std::fs::write(
        &root,
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets:\n    - ./components/*.yaml\n    - ./missing.yaml\n---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: optional\nspec:\n  presence: optional\n  target: ./maybe.yaml\n",
    )
    .unwrap();
    for n in ["a", "b", "c"] {
        std::fs::write(
            dir.path().join(format!("components/{n}.yaml")),
            component(n, ""),
        )
        .unwrap();
    }
    let cfg = config(
        &[("file", &root.display().to_string())],
        dir.path(),
        serde_json::json!({}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    for n in ["a", "b", "c"] {
        assert!(portal
            .entity_by_ref(&r(&format!("component:default/{n}")))
            .await
            .unwrap()
            .is_some());
    }
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    let missing = &report.problems[0];
    assert_eq!(missing.name, "NotFoundError");
    assert!(
        missing.message.ends_with("missing.yaml does not exist"),
        "{missing:?}"
    );
    let location = portal
        .entity_by_ref(&r("location:default/root"))
        .await
        .unwrap()
        .unwrap();
    let status = location.as_map()["status"].to_string();
    assert!(
        status.contains("NotFoundError: file ") && status.contains("missing.yaml does not exist"),
        "{status}"
    );
    let optional = portal
        .entity_by_ref(&r("location:default/optional"))
        .await
        .unwrap()
        .unwrap();
    assert!(optional.as_map().get("status").is_none());
}

#[tokio::test]
async fn json_and_yaml_placeholders_become_structured_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("links.json"),
        r#"[{"url": "https://example.com", "title": "Home"}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("extra.yaml"),
        "tier: gold\nregions: [eu, us]\n",
    )
    .unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(
        &file,
        component("c", "  extra:\n    $yaml: ./extra.yaml\n").replace(
            "metadata:\n  name: c\n",
            "metadata:\n  name: c\n  links:\n    $json: ./links.json\n",
        ),
    )
    .unwrap();
    let cfg = config(
        &[("file", &file.display().to_string())],
        dir.path(),
        serde_json::json!({}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    let report = portal.refresh(RefreshRequest::default()).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let c = portal
        .entity_by_ref(&r("component:default/c"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.get_path("metadata.links").unwrap()[0]["title"], "Home");
    assert_eq!(c.get_path("spec.extra.regions").unwrap()[1], "us");
}

#[tokio::test]
async fn refreshing_one_entity_rereads_its_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(&a, component("a", "")).unwrap();
    std::fs::write(&b, component("b", "")).unwrap();
    let cfg = config(
        &[
            ("file", &a.display().to_string()),
            ("file", &b.display().to_string()),
        ],
        dir.path(),
        serde_json::json!({}),
    );
    let portal = LocalPortal::from_config(cfg).unwrap();
    portal.refresh(RefreshRequest::default()).await.unwrap();
    std::fs::write(&a, component("a", "  system: s1\n")).unwrap();
    std::fs::write(&b, component("b", "  system: s2\n")).unwrap();
    let report = portal
        .refresh(RefreshRequest {
            entity_ref: Some(r("component:default/a")),
            progress: None,
            periodic: false,
        })
        .await
        .unwrap();
    assert_eq!(report.roots, 1);
    let a = portal
        .entity_by_ref(&r("component:default/a"))
        .await
        .unwrap()
        .unwrap();
    let b = portal
        .entity_by_ref(&r("component:default/b"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.spec_str("system"), Some("s1"));
    assert_eq!(b.spec_str("system"), None);
    let err = portal
        .refresh(RefreshRequest {
            entity_ref: Some(r("component:default/nope")),
            progress: None,
            periodic: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.name(), "NotFoundError");
}

#[tokio::test]
async fn the_refresh_loop_picks_up_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.yaml");
    std::fs::write(&file, component("a", "")).unwrap();
    let cfg = config(
        &[("file", &file.display().to_string())],
        dir.path(),
        serde_json::json!({"catalog": {"processingInterval": {"milliseconds": 100}}}),
    );
    let portal = Arc::new(LocalPortal::from_config(cfg).unwrap());
    portal.refresh(RefreshRequest::default()).await.unwrap();
    portal.start_refresh_loop();
    std::fs::write(&file, component("a", "  system: later\n")).unwrap();
    // Waits for the change, up to a generous bound: this checks that the loop runs, not how fast.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = portal
            .entity_by_ref(&r("component:default/a"))
            .await
            .unwrap()
            .unwrap();
        if a.spec_str("system") == Some("later") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refresh loop never re-read the file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
