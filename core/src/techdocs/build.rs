//! Building a site: its config and nav, every page rendered, the search index and the metadata, with an
//! etag that is a hash of the sources (so a build whose sources did not change can be skipped).

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::index::{metadata, page_url, search_index};
use super::page::{render_page, Page};
use super::site::{load_config, nav, pages, NavItem, SiteConfig, SiteError};

/// A built documentation site, ready to store and serve.
#[derive(Debug, Clone)]
pub struct BuiltSite {
    pub config: SiteConfig,
    /// The effective nav: mkdocs.yml's, or derived from the files as MkDocs does.
    pub nav: Vec<NavItem>,
    /// Pages in nav-independent file order, each with its location relative to docs_dir.
    pub pages: Vec<Page>,
    /// `search/search_index.json`.
    pub search_index: Value,
    /// `techdocs_metadata.json`.
    pub metadata: Value,
    /// SHA-256 over the config and every page's location and bytes.
    pub etag: String,
}

/// Builds the site whose sources are in `source_dir` (see [`super::site::source_dir`]); `entity_name` names
/// the default site when there is no mkdocs.yml. `now_ms` is the build timestamp.
pub fn build_site(
    source_dir: &Path,
    entity_name: &str,
    now_ms: i64,
) -> Result<BuiltSite, SiteError> {
    let config = load_config(source_dir, entity_name)?;
    let files = pages(source_dir, &config)?;
    let mut hash = Sha256::new();
    hash.update(config.site_name.as_bytes());
    hash.update(config.docs_dir.as_bytes());
    hash.update(format!("{:?}", config.nav).as_bytes());
    let mut rendered = Vec::with_capacity(files.len());
    for file in &files {
        let bytes = std::fs::read(&file.path).map_err(|source| SiteError::Io {
            path: file.path.clone(),
            source,
        })?;
        hash.update(file.location.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        // A page that is not UTF-8 is shown with replacement characters rather than failing the site.
        let markdown = String::from_utf8_lossy(&bytes);
        rendered.push(render_page(&file.location, &markdown));
    }
    let etag = hex::encode(hash.finalize());
    let mut outputs: Vec<String> = rendered
        .iter()
        .map(|p| format!("{}index.html", page_url(&p.location)))
        .collect();
    outputs.push("search/search_index.json".into());
    outputs.push("techdocs_metadata.json".into());
    let metadata = metadata(
        &config.site_name,
        config.site_description.as_deref(),
        &etag,
        now_ms,
        &outputs,
    );
    Ok(BuiltSite {
        nav: nav(&config, &files),
        search_index: search_index(&config.site_name, &rendered),
        pages: rendered,
        metadata,
        etag,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn documented_component() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/techdocs/backstage-documented-component")
    }

    #[test]
    fn the_documented_component_builds() {
        let dir = documented_component();
        let site = build_site(&dir, "documented-component", 1_700_000_000_000).unwrap();
        assert!(!site.pages.is_empty());
        assert!(site.pages.iter().any(|p| p.location == "index.md"));
        assert!(!site.nav.is_empty());
        let docs = site.search_index["docs"].as_array().unwrap();
        assert!(docs.len() >= site.pages.len());
        assert!(docs.iter().any(|d| d["location"] == ""));
        assert_eq!(site.metadata["site_name"], site.config.site_name.as_str());
        assert_eq!(site.metadata["etag"], site.etag.as_str());
        assert_eq!(site.metadata["build_timestamp"], 1_700_000_000_000i64);
        let files = site.metadata["files"].as_array().unwrap();
        assert!(files.iter().any(|f| f == "index.html"));
        assert!(files.iter().any(|f| f == "search/search_index.json"));
        // Same sources, same etag.
        let again = build_site(&dir, "documented-component", 1).unwrap();
        assert_eq!(again.etag, site.etag);
    }

    #[test]
    fn a_changed_page_changes_the_etag_and_bad_sources_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/index.md"), "# Hello\n\nworld\n").unwrap();
        let first = build_site(dir.path(), "svc", 0).unwrap();
        assert_eq!(first.config.site_name, "svc");
        assert_eq!(first.pages[0].title, "Hello");
        std::fs::write(dir.path().join("docs/index.md"), "# Hello\n\nthere\n").unwrap();
        let second = build_site(dir.path(), "svc", 0).unwrap();
        assert_ne!(first.etag, second.etag);

        std::fs::write(
            dir.path().join("mkdocs.yml"),
            "site_name: x\nhooks: [evil.py]\n",
        )
        .unwrap();
        let err = build_site(dir.path(), "svc", 0).unwrap_err().to_string();
        assert!(err.contains("hooks"), "{err}");
    }
}
