//! The prepare stage for docs that live at a URL (`url:` techdocs-refs, or `dir:` refs of entities that
//! came from a `url:` location): the sources are downloaded into a private temporary directory, which is
//! then built like a local tree, so every confinement and sanitizing rule of [`super::site`] applies.
//!
//! Backstage downloads the whole repository tree; a plain URL has no directory listing, so stagedoor reads
//! `mkdocs.yml` (or `mkdocs.yaml`) and the pages its `nav` names (without a nav: `docs/index.md`, and
//! `README.md` as the home page). Every read goes through the catalog's [`LocationReader`], so
//! `backend.reading.allow` and the private-address guard apply to docs too.

use std::path::{Component, Path, PathBuf};

use url::Url;

use super::site::{default_config, parse_config, NavItem, SiteConfig};
use crate::error::PortalError;
use crate::ingest::LocationReader;

/// Where the sources of a URL site are: `dir:PATH` against the entity's location URL, or the `url:` target
/// (a directory, so it ends with `/`).
pub fn source_url(location_url: Option<&str>, techdocs_ref: &str) -> Result<Url, PortalError> {
    let techdocs_ref = techdocs_ref.trim();
    let invalid =
        |why: String| PortalError::Input(format!("Invalid techdocs-ref {techdocs_ref:?}: {why}"));
    let mut base = if let Some(target) = techdocs_ref.strip_prefix("url:") {
        Url::parse(target).map_err(|e| invalid(e.to_string()))?
    } else if let Some(rel) = techdocs_ref.strip_prefix("dir:") {
        let location = location_url
            .ok_or_else(|| invalid("a dir: reference needs the entity's location".into()))?;
        let location = Url::parse(location).map_err(|e| invalid(e.to_string()))?;
        let rel = rel.trim();
        if rel.starts_with('/') || rel.contains('\\') || rel.split('/').any(|p| p == "..") {
            return Err(PortalError::Input(format!(
                "Invalid techdocs-ref {techdocs_ref:?}: the path must stay inside the entity's location"
            )));
        }
        let dir = if rel.is_empty() || rel == "." {
            "./".to_string()
        } else {
            format!("{}/", rel.trim_end_matches('/'))
        };
        location.join(&dir).map_err(|e| invalid(e.to_string()))?
    } else {
        return Err(invalid("expected dir:PATH or url:URL".into()));
    };
    if !matches!(base.scheme(), "http" | "https") {
        return Err(invalid("the URL must be http or https".into()));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(base)
}

/// A relative path from the site as a path under the download directory; `None` if it would leave it.
fn confined(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty() && !path.contains('\\')).then_some(out)
}

fn nav_pages(items: &[NavItem], out: &mut Vec<String>) {
    for item in items {
        match item {
            NavItem::Page { path, .. } => out.push(path.clone()),
            NavItem::Section { items, .. } => nav_pages(items, out),
            NavItem::Link { .. } => {}
        }
    }
}

/// Downloads the site at `base` into `dest` (an empty directory). Missing pages are logged and skipped, as
/// MkDocs warns about nav entries without a file; a site with no page at all is an error.
pub async fn download_site(
    reader: &LocationReader,
    base: &Url,
    entity_name: &str,
    dest: &Path,
    log: &(dyn Fn(String) + Send + Sync),
) -> Result<SiteConfig, PortalError> {
    let write = |path: &Path, bytes: &[u8]| -> Result<(), PortalError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                PortalError::Internal(format!("could not write {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(path, bytes)
            .map_err(|e| PortalError::Internal(format!("could not write {}: {e}", path.display())))
    };
    let join = |rel: &str| {
        base.join(rel)
            .map_err(|e| PortalError::Input(format!("Invalid docs path {rel:?} under {base}: {e}")))
    };
    let mut config = None;
    for name in ["mkdocs.yml", "mkdocs.yaml"] {
        let url = join(name)?;
        match reader.read_url(&url).await {
            Ok(bytes) => {
                log(format!("Read {url}"));
                let file = dest.join(name);
                write(&file, &bytes)?;
                let text = String::from_utf8_lossy(&bytes);
                config = Some(
                    parse_config(&text, &file, dest)
                        .map_err(|e| PortalError::Input(format!("{url}: {e}")))?,
                );
                break;
            }
            Err(PortalError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    let config = config.unwrap_or_else(|| {
        log(format!("No mkdocs.yml at {base}: using the default site"));
        default_config(entity_name)
    });
    let mut wanted = Vec::new();
    match &config.nav {
        Some(nav) => nav_pages(nav, &mut wanted),
        None => wanted.push("index.md".to_string()),
    }
    let docs_dir = config.docs_dir.trim_end_matches('/');
    let mut fetched = 0usize;
    for page in &wanted {
        let rel = if docs_dir.is_empty() || docs_dir == "." {
            page.clone()
        } else {
            format!("{docs_dir}/{page}")
        };
        let Some(local) = confined(&rel) else {
            log(format!("Skipped {page:?}: it leaves the site"));
            continue;
        };
        let url = join(&rel)?;
        match reader.read_url(&url).await {
            Ok(bytes) => {
                write(&dest.join(local), &bytes)?;
                fetched += 1;
                log(format!("Read {url}"));
            }
            Err(PortalError::NotFound(_)) => log(format!("Warning: {url} not found, page skipped")),
            Err(e) => return Err(e),
        }
    }
    std::fs::create_dir_all(dest.join(docs_dir))
        .map_err(|e| PortalError::Internal(format!("could not create docs_dir: {e}")))?;
    let readme = join("README.md")?;
    if let Ok(bytes) = reader.read_url(&readme).await {
        write(&dest.join("README.md"), &bytes)?;
        fetched += 1;
        log(format!("Read {readme}"));
    }
    if fetched == 0 {
        return Err(PortalError::NotFound(format!(
            "No docs pages found at {base} (looked for mkdocs.yml, its nav pages, docs/index.md and README.md)"
        )));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls() {
        let loc = Some("https://example.com/repo/catalog-info.yaml");
        assert_eq!(
            source_url(loc, "dir:.").unwrap().as_str(),
            "https://example.com/repo/"
        );
        assert_eq!(
            source_url(loc, "dir:./service-a").unwrap().as_str(),
            "https://example.com/repo/service-a/"
        );
        assert_eq!(
            source_url(None, "url:https://example.com/docs-site")
                .unwrap()
                .as_str(),
            "https://example.com/docs-site/"
        );
        for bad in [
            "dir:../x",
            "dir:/etc",
            "dir:a\\..\\b",
            "url:file:///etc",
            "git:x",
        ] {
            assert!(source_url(loc, bad).is_err(), "{bad}");
        }
        assert!(source_url(None, "dir:.").is_err());
    }

    #[test]
    fn confined_paths() {
        assert_eq!(confined("docs/a/b.md"), Some(PathBuf::from("docs/a/b.md")));
        assert_eq!(confined("./docs/x.md"), Some(PathBuf::from("docs/x.md")));
        for bad in ["../x.md", "/etc/passwd", "docs/../../x", "a\\b.md", ""] {
            assert_eq!(confined(bad), None, "{bad}");
        }
    }
}
