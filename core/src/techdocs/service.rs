//! Docs as a portal service: where an entity's sources are (its `backstage.io/techdocs-ref` against the file
//! that emitted it), and Backstage's sync: build when the sources' hash differs from the stored site's
//! etag, store every file, report progress as log lines.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::build::build_site_if_changed;
use super::publish::{site_files, DocsSite, SITE_FILE};
use super::remote::{download_site, source_url};
use super::site::{source_dir, SiteError};
use crate::entity::{Entity, EntityRef, ANNOTATION_LOCATION};
use crate::error::PortalError;
use crate::ingest::LocationReader;
use crate::store::{Store, StoredDocs};

/// The annotation that gives an entity a docs site.
pub const ANNOTATION_TECHDOCS_REF: &str = "backstage.io/techdocs-ref";

/// What a sync did (the `finish` event's data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsSync {
    /// A new site was built and stored.
    pub updated: bool,
}

/// Where an entity's docs sources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocsSource {
    /// A local directory (a `dir:` ref of an entity from a `file:` location).
    Dir(PathBuf),
    /// A URL directory (a `url:` ref, or a `dir:` ref of an entity from a `url:` location).
    Url(url::Url),
}

/// Where the entity's docs sources are.
pub fn entity_docs_source(entity: &Entity) -> Result<DocsSource, PortalError> {
    let entity_ref = entity.entity_ref().canonical();
    let techdocs_ref = entity.annotation(ANNOTATION_TECHDOCS_REF).ok_or_else(|| {
        PortalError::NotFound(format!(
            "Entity {entity_ref} has no {ANNOTATION_TECHDOCS_REF} annotation, so it has no docs"
        ))
    })?;
    let location = entity.annotation(ANNOTATION_LOCATION).unwrap_or("");
    let in_context = |e: PortalError| match e {
        PortalError::Input(m) => PortalError::Input(format!("Docs of {entity_ref}: {m}")),
        other => other,
    };
    if techdocs_ref.trim().starts_with("url:") {
        return source_url(None, techdocs_ref)
            .map(DocsSource::Url)
            .map_err(in_context);
    }
    match location.split_once(':') {
        Some(("file", path)) => {
            let file = PathBuf::from(path);
            let dir = file.parent().map(PathBuf::from).unwrap_or_default();
            source_dir(&dir, techdocs_ref)
                .map(DocsSource::Dir)
                .map_err(|e| site_error(&entity_ref, e))
        }
        Some(("url", url)) => source_url(Some(url), techdocs_ref)
            .map(DocsSource::Url)
            .map_err(in_context),
        _ => Err(PortalError::Input(format!(
            "Docs of {entity_ref} cannot be built: its {ANNOTATION_TECHDOCS_REF} ({techdocs_ref}) is \
             relative to its location, and {ANNOTATION_LOCATION} is {location:?} (expected file: or url:)"
        ))),
    }
}

fn site_error(entity_ref: &str, e: SiteError) -> PortalError {
    match e {
        SiteError::Io { .. } => PortalError::Internal(format!("Docs of {entity_ref}: {e}")),
        _ => PortalError::Input(format!("Docs of {entity_ref} cannot be built: {e}")),
    }
}

/// Builds the entity's site if its sources changed since the stored build, and stores it. `log` receives
/// each step as a line of text (the sync endpoint's `log` events). URL sources are read with `reader`.
pub async fn sync_docs(
    store: &dyn Store,
    reader: &LocationReader,
    entity: &Entity,
    log: &(dyn Fn(String) + Send + Sync),
) -> Result<DocsSync, PortalError> {
    let entity_ref = entity.entity_ref().canonical();
    let source = entity_docs_source(entity)?;
    // A downloaded tree lives until the build is done.
    let mut download = None;
    let dir = match source {
        DocsSource::Dir(dir) => {
            log(format!(
                "Preparing docs for {entity_ref} from {}",
                dir.display()
            ));
            dir
        }
        DocsSource::Url(base) => {
            log(format!("Preparing docs for {entity_ref} from {base}"));
            let temp = tempfile::tempdir().map_err(|e| {
                PortalError::Internal(format!("could not create a temporary directory: {e}"))
            })?;
            download_site(reader, &base, entity.name(), temp.path(), log).await?;
            let dir = temp.path().to_path_buf();
            download = Some(temp);
            dir
        }
    };
    let previous = store.docs_etag(&entity_ref).await?;
    let name = entity.name().to_string();
    let now = crate::store::now_millis();
    let build_dir = dir.clone();
    let built = tokio::task::spawn_blocking(move || {
        build_site_if_changed(&build_dir, &name, now, previous.as_deref())
    })
    .await
    .map_err(|e| PortalError::Internal(format!("docs build task failed: {e}")))?
    .map_err(|e| site_error(&entity_ref, e))?;
    drop(download);
    let Some(site) = built else {
        log(format!("Docs of {entity_ref} are up to date"));
        return Ok(DocsSync { updated: false });
    };
    for warning in &site.config.warnings {
        log(format!("Warning: {warning}"));
    }
    let files = site_files(&site);
    log(format!(
        "Built {} pages ({} files) for {entity_ref}, etag {}",
        site.pages.len(),
        files.len(),
        site.etag
    ));
    store
        .put_docs(StoredDocs {
            entity_ref: entity_ref.clone(),
            etag: site.etag.clone(),
            built_at: now,
            files,
        })
        .await?;
    log(format!("Stored docs of {entity_ref}"));
    Ok(DocsSync { updated: true })
}

/// The stored site's description, `None` when the entity has no built site.
pub async fn stored_site(
    store: &dyn Store,
    entity_ref: &EntityRef,
) -> Result<Option<DocsSite>, PortalError> {
    let Some(file) = store.docs_file(&entity_ref.canonical(), SITE_FILE).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&file.body).map(Some).map_err(|e| {
        PortalError::Internal(format!(
            "stored {SITE_FILE} of {} is unreadable: {e}",
            entity_ref.canonical()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use serde_json::json;
    use std::path::Path;
    use std::sync::Mutex;

    fn entity(location: &str, techdocs_ref: Option<&str>) -> Entity {
        let mut annotations = json!({ "backstage.io/managed-by-location": location });
        if let Some(r) = techdocs_ref {
            annotations["backstage.io/techdocs-ref"] = json!(r);
        }
        Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": { "name": "Documented-Component", "annotations": annotations },
            "spec": { "type": "service", "lifecycle": "production", "owner": "guest" }
        }))
        .unwrap()
    }

    fn reader() -> LocationReader {
        LocationReader::new(crate::config::ReadPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn sync_builds_once_then_reports_up_to_date() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../shared/fixtures/techdocs/backstage-documented-component/catalog-info.yaml",
        );
        let store = SqliteStore::open_in_memory().unwrap();
        let documented = entity(&format!("file:{}", fixture.display()), Some("dir:."));
        let lines = Mutex::new(Vec::new());
        let log = |line: String| lines.lock().unwrap().push(line);
        let first = sync_docs(&store, &reader(), &documented, &log)
            .await
            .unwrap();
        assert!(first.updated);
        let second = sync_docs(&store, &reader(), &documented, &log)
            .await
            .unwrap();
        assert!(!second.updated);
        let logged = lines.lock().unwrap().join("\n");
        assert!(logged.contains("Built 5 pages"), "{logged}");
        assert!(logged.contains("up to date"), "{logged}");

        let r = EntityRef::new("Component", "default", "documented-component");
        let site = stored_site(&store, &r).await.unwrap().unwrap();
        assert_eq!(site.pages.len(), 5);
        let index = store
            .docs_file("component:default/documented-component", "index.html")
            .await
            .unwrap()
            .unwrap();
        assert!(String::from_utf8(index.body).unwrap().contains("<h1"));
    }

    #[tokio::test]
    async fn sites_of_entities_no_longer_stored_are_pruned() {
        let store = SqliteStore::open_in_memory().unwrap();
        let docs = |r: &str| StoredDocs {
            entity_ref: r.to_string(),
            etag: "e1".into(),
            built_at: 1,
            files: vec![crate::techdocs::publish::DocsFile {
                path: "index.md".into(),
                content_type: "text/markdown".into(),
                body: b"# x".to_vec(),
            }],
        };
        store
            .put_docs(docs("component:default/gone"))
            .await
            .unwrap();
        assert_eq!(
            store
                .docs_etag("component:default/gone")
                .await
                .unwrap()
                .as_deref(),
            Some("e1")
        );
        // Replacing keeps one copy.
        store
            .put_docs(docs("component:default/gone"))
            .await
            .unwrap();
        assert_eq!(store.prune_docs().await.unwrap(), 1);
        assert_eq!(
            store.docs_etag("component:default/gone").await.unwrap(),
            None
        );
        assert!(store
            .docs_file("component:default/gone", "index.md")
            .await
            .unwrap()
            .is_none());
        assert!(!store.delete_docs("component:default/gone").await.unwrap());
    }

    #[tokio::test]
    async fn entities_without_local_docs_get_clear_errors() {
        let store = SqliteStore::open_in_memory().unwrap();
        let quiet = |_: String| {};
        let none = sync_docs(&store, &reader(), &entity("file:/tmp/x.yaml", None), &quiet)
            .await
            .unwrap_err();
        assert!(matches!(none, PortalError::NotFound(_)), "{none}");
        assert!(none.to_string().contains("backstage.io/techdocs-ref"));
        let url = sync_docs(
            &store,
            &reader(),
            &entity("url:https://example.com/catalog-info.yaml", Some("dir:.")),
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(url.to_string().contains("example.com"), "{url}");
        let escape = sync_docs(
            &store,
            &reader(),
            &entity("file:/tmp/x/catalog-info.yaml", Some("dir:../..")),
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(matches!(escape, PortalError::Input(_)), "{escape}");
        assert!(stored_site(
            &store,
            &EntityRef::new("component", "default", "documented-component")
        )
        .await
        .unwrap()
        .is_none());
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;
    use crate::config::{ReadPolicy, ReadingAllowRule};
    use crate::store::SqliteStore;
    use serde_json::json;
    use std::path::Path;

    use crate::test_http::serve;

    #[tokio::test]
    async fn a_site_at_a_url_is_downloaded_and_built_under_the_read_policy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/techdocs/backstage-documented-component");
        let port = serve(root).await;
        let entity = Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": { "name": "remote-docs", "annotations": {
                "backstage.io/managed-by-location": format!("url:http://127.0.0.1:{port}/catalog-info.yaml"),
                "backstage.io/techdocs-ref": "dir:.",
            }},
            "spec": { "type": "service", "lifecycle": "production", "owner": "guest" }
        }))
        .unwrap();
        let store = SqliteStore::open_in_memory().unwrap();
        let quiet = |_: String| {};

        let closed = LocationReader::new(ReadPolicy::default()).unwrap();
        let refused = sync_docs(&store, &closed, &entity, &quiet)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("not allowed"), "{refused}");

        let open = LocationReader::new(ReadPolicy {
            rules: vec![ReadingAllowRule {
                host: format!("127.0.0.1:{port}"),
                paths: vec![],
            }],
        })
        .unwrap();
        assert!(
            sync_docs(&store, &open, &entity, &quiet)
                .await
                .unwrap()
                .updated
        );
        assert!(
            !sync_docs(&store, &open, &entity, &quiet)
                .await
                .unwrap()
                .updated
        );
        let site = stored_site(&store, &entity.entity_ref())
            .await
            .unwrap()
            .unwrap();
        let locations: Vec<&str> = site.pages.iter().map(|p| p.location.as_str()).collect();
        for nav_page in ["index.md", "sub-page.md", "code/code-sample.md"] {
            assert!(locations.contains(&nav_page), "{locations:?}");
        }
    }
}
