//! Building a site: its config and nav, every page rendered, the search index and the metadata, with an
//! etag that is a hash of the sources (so a build whose sources did not change is skipped before any page is
//! rendered).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::index::{metadata, page_url, search_index};
use super::page::{render_page, Page};
use super::publish::{site_file_paths, SITE_FILE};
use super::site::{assets, load_config, nav, pages, NavItem, SiteConfig, SiteError, SitePage};

/// A built documentation site, ready to store and serve.
#[derive(Debug, Clone)]
pub struct BuiltSite {
    pub config: SiteConfig,
    /// The effective nav: mkdocs.yml's, or derived from the files as MkDocs does.
    pub nav: Vec<NavItem>,
    /// Pages in MkDocs' file order, each with its location relative to docs_dir.
    pub pages: Vec<Page>,
    /// Each page's markdown source, in the order of `pages`.
    pub sources: Vec<String>,
    /// Static files (images, downloads) under docs_dir: `(location, bytes)`.
    pub assets: Vec<(String, Vec<u8>)>,
    /// `search/search_index.json`.
    pub search_index: Value,
    /// `techdocs_metadata.json`.
    pub metadata: Value,
    /// SHA-256 over the config and every page's and asset's location and bytes.
    pub etag: String,
}

/// Builds the site whose sources are in `source_dir` (see [`super::site::source_dir`]); `entity_name` names
/// the default site when there is no mkdocs.yml. `now_ms` is the build timestamp.
pub fn build_site(
    source_dir: &Path,
    entity_name: &str,
    now_ms: i64,
) -> Result<BuiltSite, SiteError> {
    let sources = read_sources(source_dir, entity_name)?;
    Ok(render(sources, now_ms))
}

/// Like [`build_site`], but `None` without rendering anything when the sources hash to `previous_etag`.
pub fn build_site_if_changed(
    source_dir: &Path,
    entity_name: &str,
    now_ms: i64,
    previous_etag: Option<&str>,
) -> Result<Option<BuiltSite>, SiteError> {
    let sources = read_sources(source_dir, entity_name)?;
    if previous_etag == Some(sources.etag.as_str()) {
        return Ok(None);
    }
    Ok(Some(render(sources, now_ms)))
}

/// Everything a build reads, and the hash of it.
struct Sources {
    config: SiteConfig,
    files: Vec<SitePage>,
    markdown: Vec<String>,
    assets: Vec<(String, Vec<u8>)>,
    etag: String,
}

fn read(path: &Path) -> Result<Vec<u8>, SiteError> {
    std::fs::read(path).map_err(|source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_sources(source_dir: &Path, entity_name: &str) -> Result<Sources, SiteError> {
    let config = load_config(source_dir, entity_name)?;
    let mut files = pages(source_dir, &config)?;
    if let Some(readme) = legacy_index(source_dir, &files)? {
        files.insert(
            0,
            SitePage {
                location: "index.md".into(),
                path: readme,
            },
        );
    }
    let mut hash = Sha256::new();
    hash.update(config.site_name.as_bytes());
    hash.update([0]);
    hash.update(config.site_description.as_deref().unwrap_or("").as_bytes());
    hash.update([0]);
    hash.update(config.docs_dir.as_bytes());
    hash.update(format!("{:?}", config.nav).as_bytes());
    let mut markdown = Vec::with_capacity(files.len());
    for file in &files {
        let bytes = read(&file.path)?;
        hash.update(file.location.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        // A page that is not UTF-8 is shown with replacement characters rather than failing the site.
        markdown.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let mut static_files = Vec::new();
    for asset in assets(source_dir, &config)? {
        let bytes = read(&asset.path)?;
        hash.update(b"asset:");
        hash.update(asset.location.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        static_files.push((asset.location, bytes));
    }
    Ok(Sources {
        config,
        files,
        markdown,
        assets: static_files,
        etag: hex::encode(hash.finalize()),
    })
}

/// techdocs-cli's `--legacyCopyReadmeMdToIndexMd`, always on: a site with no home page (no `index.md` or
/// `README.md` at the top of docs_dir) gets the source tree's `README.md` as its home page.
fn legacy_index(source_dir: &Path, files: &[SitePage]) -> Result<Option<PathBuf>, SiteError> {
    if files.iter().any(|f| page_url(&f.location).is_empty()) {
        return Ok(None);
    }
    let readme = source_dir.join("README.md");
    if std::fs::symlink_metadata(&readme).is_err() {
        return Ok(None);
    }
    let root = source_dir.canonicalize().map_err(|source| SiteError::Io {
        path: source_dir.to_path_buf(),
        source,
    })?;
    let target = readme
        .canonicalize()
        .map_err(|_| SiteError::DanglingSymlink(readme.clone()))?;
    if !target.starts_with(&root) {
        return Err(SiteError::Escapes {
            what: "symlink",
            path: readme,
            root,
        });
    }
    Ok(target.is_file().then_some(target))
}

fn render(sources: Sources, now_ms: i64) -> BuiltSite {
    let Sources {
        config,
        files,
        markdown,
        assets,
        etag,
    } = sources;
    let rendered: Vec<Page> = files
        .iter()
        .zip(&markdown)
        .map(|(file, text)| render_page(&file.location, text))
        .collect();
    let mut outputs = site_file_paths(&rendered, &assets);
    outputs.push(SITE_FILE.into());
    outputs.push("search/search_index.json".into());
    outputs.push("techdocs_metadata.json".into());
    let metadata = metadata(
        &config.site_name,
        config.site_description.as_deref(),
        &etag,
        now_ms,
        &outputs,
    );
    BuiltSite {
        nav: nav(&config, &files),
        search_index: search_index(&config.site_name, &rendered),
        pages: rendered,
        sources: markdown,
        assets,
        metadata,
        etag,
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/techdocs")
            .join(name)
    }

    #[test]
    fn the_documented_component_builds() {
        let dir = fixture("backstage-documented-component");
        let site = build_site(&dir, "documented-component", 1_700_000_000_000).unwrap();
        assert!(!site.pages.is_empty());
        assert_eq!(site.pages.len(), site.sources.len());
        assert!(site.pages.iter().any(|p| p.location == "index.md"));
        assert!(!site.nav.is_empty());
        let docs = site.search_index["docs"].as_array().unwrap();
        assert!(docs.len() >= site.pages.len());
        assert!(docs.iter().any(|d| d["location"] == ""));
        assert_eq!(site.metadata["site_name"], site.config.site_name.as_str());
        assert_eq!(site.metadata["etag"], site.etag.as_str());
        assert_eq!(site.metadata["build_timestamp"], 1_700_000_000_000i64);
        let files = site.metadata["files"].as_array().unwrap();
        for expected in [
            "index.html",
            "sub-page/index.html",
            "index.md",
            "search/search_index.json",
            "techdocs_metadata.json",
        ] {
            assert!(files.iter().any(|f| f == expected), "{expected}: {files:?}");
        }
        // Same sources, same etag, and nothing is rendered again.
        let again = build_site(&dir, "documented-component", 1).unwrap();
        assert_eq!(again.etag, site.etag);
        assert!(
            build_site_if_changed(&dir, "documented-component", 1, Some(&site.etag))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_default_site_builds_from_the_tree() {
        let dir = fixture("backstage-documented-component-default-mkdocs");
        let site = build_site(&dir, "documented-component-default-mkdocs", 0).unwrap();
        assert_eq!(site.config.site_name, "documented-component-default-mkdocs");
        let locations: Vec<&str> = site.pages.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(locations, ["documentation/README.md"]);
        assert_eq!(
            site.search_index["docs"][0]["location"], "documentation/",
            "{}",
            site.search_index
        );
    }

    #[test]
    fn a_readme_becomes_the_home_page_and_assets_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("README.md"), "# Readme home\n").unwrap();
        std::fs::write(dir.path().join("docs/guide.md"), "# Guide\n").unwrap();
        std::fs::write(dir.path().join("docs/logo.png"), [137, 80, 78, 71]).unwrap();
        let site = build_site(dir.path(), "svc", 0).unwrap();
        let locations: Vec<&str> = site.pages.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(locations, ["index.md", "guide.md"]);
        assert_eq!(site.pages[0].title, "Readme home");
        assert_eq!(
            site.assets,
            vec![("logo.png".to_string(), vec![137, 80, 78, 71])]
        );
        std::fs::write(dir.path().join("docs/logo.png"), [0]).unwrap();
        let changed = build_site_if_changed(dir.path(), "svc", 0, Some(&site.etag)).unwrap();
        assert!(changed.is_some(), "an asset change is a change");
        // An index of its own wins over the README.
        std::fs::write(dir.path().join("docs/index.md"), "# Own index\n").unwrap();
        let site = build_site(dir.path(), "svc", 0).unwrap();
        assert_eq!(site.pages[0].title, "Own index");
        assert_eq!(site.pages.len(), 2);
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

    #[cfg(unix)]
    #[test]
    fn an_escaping_readme_symlink_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.md"),
            dir.path().join("README.md"),
        )
        .unwrap();
        let err = build_site(dir.path(), "svc", 0).unwrap_err();
        assert!(matches!(err, SiteError::Escapes { .. }), "{err}");
    }
}
