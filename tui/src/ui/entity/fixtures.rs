//! Test data: Backstage's example catalog (`../shared/fixtures/backstage/examples`) ingested through the
//! embedded portal, so entities carry the relations and annotations the catalog really stitches. Volatile
//! values (uids, etags, the fixtures' absolute path) are replaced so snapshots are stable.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Value};
use stagedoor_core::config::Config;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{Entity, EntityRef, LocalPortal, Portal};

/// `../shared/fixtures`, beside the repository.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    dir.canonicalize().unwrap_or(dir)
}

/// Every entity of the example catalog (and the ACME org), by canonical ref.
pub fn catalog() -> &'static HashMap<String, Entity> {
    static CATALOG: OnceLock<HashMap<String, Entity>> = OnceLock::new();
    CATALOG.get_or_init(ingest)
}

/// One entity of the example catalog, by ref (`component:default/artist-lookup`).
pub fn entity(r: &str) -> Entity {
    catalog()
        .get(r)
        .cloned()
        .unwrap_or_else(|| panic!("{r} is not in the example catalog"))
}

/// What the app would fetch for `refs`: the catalog's entities, `None` for missing ones.
pub fn lookup(refs: &[EntityRef]) -> Vec<Option<Entity>> {
    refs.iter()
        .map(|r| catalog().get(&r.canonical()).cloned())
        .collect()
}

fn ingest() -> HashMap<String, Entity> {
    let examples = fixtures_dir().join("backstage/examples");
    let locations: Vec<Value> = ["all.yaml", "acme-corp.yaml"]
        .iter()
        .map(|f| json!({"type": "file", "target": examples.join(f)}))
        .collect();
    let root = json!({
        "backend": {"database": {"client": "better-sqlite3", "connection": ":memory:"}},
        "catalog": {
            "rules": [{"allow": ["Component", "API", "Resource", "System", "Domain", "Group", "User",
                                 "Location", "Template", "AiResource"]}],
            "locations": locations,
            "processingInterval": false
        }
    });
    let config = Config::from_value(root, examples.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let portal = LocalPortal::from_config(config).expect("portal");
        portal
            .refresh(RefreshRequest::default())
            .await
            .expect("refresh");
        let page = portal
            .query_entities(stagedoor_core::store::EntityQuery {
                limit: Some(10_000),
                ..Default::default()
            })
            .await
            .expect("query");
        page.items
            .into_iter()
            .map(|e| {
                let e = stabilise(e, &fixtures_dir().display().to_string());
                (e.entity_ref().canonical(), e)
            })
            .collect()
    })
}

/// Replaces uid, etag and the fixtures directory (in annotations and processing errors) with fixed text.
fn stabilise(e: Entity, fixtures: &str) -> Entity {
    let text = serde_json::to_string(&e)
        .expect("entity json")
        .replace(fixtures, "/fixtures");
    let mut e: Entity = serde_json::from_str(&text).expect("entity json");
    let meta = e.metadata_mut();
    if meta.contains_key("uid") {
        meta.insert("uid".into(), json!("00000000-0000-0000-0000-000000000000"));
    }
    if meta.contains_key("etag") {
        meta.insert("etag".into(), json!("etag"));
    }
    e
}
