//! What a built site stores and serves: the files under `static/docs/:namespace/:kind/:name/` (pages as
//! HTML and as their markdown source, assets, `search/search_index.json`, `techdocs_metadata.json`) and
//! `stagedoor_site.json`, the nav and page list a terminal reader needs without parsing HTML.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::build::BuiltSite;
use super::index::{html_href, page_url};
use super::page::{escape_html as escape, Page};
use super::site::NavItem;

/// The site description file a reader loads first (nav, pages, headings).
pub const SITE_FILE: &str = "stagedoor_site.json";

/// One stored file of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsFile {
    /// Relative to the site root, `/` separated (`index.html`, `sub-page/index.html`, `index.md`).
    pub path: String,
    /// The MIME type it is served as.
    pub content_type: String,
    pub body: Vec<u8>,
}

/// `stagedoor_site.json`: what a reader shows around the pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsSite {
    pub site_name: String,
    pub site_description: Option<String>,
    pub etag: String,
    pub build_timestamp: i64,
    pub nav: Vec<NavItem>,
    pub pages: Vec<DocsPage>,
    /// What the build stripped from mkdocs.yml, or chose for a site without one.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl DocsSite {
    /// The page at `location`, if the site has it.
    pub fn page(&self, location: &str) -> Option<&DocsPage> {
        self.pages.iter().find(|p| p.location == location)
    }

    /// The page a reader opens first: the home page (`index.md`/`README.md` at the top), else the first page
    /// of the nav, else the first page.
    pub fn home(&self) -> Option<&DocsPage> {
        self.pages
            .iter()
            .find(|p| p.url.is_empty())
            .or_else(|| first_nav_page(&self.nav).and_then(|l| self.page(l)))
            .or_else(|| self.pages.first())
    }
}

fn first_nav_page(nav: &[NavItem]) -> Option<&str> {
    nav.iter().find_map(|item| match item {
        NavItem::Page { path, .. } => Some(path.as_str()),
        NavItem::Section { items, .. } => first_nav_page(items),
        NavItem::Link { .. } => None,
    })
}

/// A page as the reader lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsPage {
    /// Relative to docs_dir; the stored markdown source has this path.
    pub location: String,
    /// The page's URL relative to the site root (`sub-page/`); its HTML is `{url}index.html`.
    pub url: String,
    pub title: String,
    pub headings: Vec<DocsHeading>,
}

/// A heading of a page, for its table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsHeading {
    pub level: u8,
    pub title: String,
    pub anchor: String,
}

/// The paths of the pages (HTML and markdown) and assets of a site, as `techdocs_metadata.json` lists them.
pub fn site_file_paths(pages: &[Page], assets: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut paths = Vec::with_capacity(pages.len() * 2 + assets.len());
    for page in pages {
        paths.push(format!("{}index.html", page_url(&page.location)));
        paths.push(page.location.clone());
    }
    paths.extend(assets.iter().map(|(location, _)| location.clone()));
    paths
}

/// The reader's description of `site`.
pub fn docs_site(site: &BuiltSite) -> DocsSite {
    DocsSite {
        site_name: site.config.site_name.clone(),
        site_description: site.config.site_description.clone(),
        etag: site.etag.clone(),
        build_timestamp: site.metadata["build_timestamp"].as_i64().unwrap_or(0),
        nav: site.nav.clone(),
        pages: site
            .pages
            .iter()
            .map(|p| DocsPage {
                location: p.location.clone(),
                url: page_url(&p.location),
                title: p.title.clone(),
                headings: p
                    .headings
                    .iter()
                    .map(|h| DocsHeading {
                        level: h.level,
                        title: h.title.clone(),
                        anchor: h.anchor.clone(),
                    })
                    .collect(),
            })
            .collect(),
        warnings: site.config.warnings.clone(),
    }
}

/// Every file of `site`, ready to store.
pub fn site_files(site: &BuiltSite) -> Vec<DocsFile> {
    let json = |value: &serde_json::Value| serde_json::to_vec(value).unwrap_or_default();
    let mut files = Vec::with_capacity(site.pages.len() * 2 + site.assets.len() + 3);
    let titles = page_titles(site);
    for (page, source) in site.pages.iter().zip(&site.sources) {
        files.push(file(
            format!("{}index.html", page_url(&page.location)),
            html_document(site, page, &titles).into_bytes(),
        ));
        files.push(file(page.location.clone(), source.clone().into_bytes()));
    }
    for (location, bytes) in &site.assets {
        files.push(file(location.clone(), bytes.clone()));
    }
    let description = serde_json::to_vec(&docs_site(site)).unwrap_or_default();
    files.push(file(SITE_FILE.into(), description));
    files.push(file(
        "search/search_index.json".into(),
        json(&site.search_index),
    ));
    files.push(file("techdocs_metadata.json".into(), json(&site.metadata)));
    files
}

fn file(path: String, body: Vec<u8>) -> DocsFile {
    DocsFile {
        content_type: content_type(&path).to_string(),
        path,
        body,
    }
}

/// The MIME type a site file is served as, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "md" | "markdown" | "mdown" | "mkdn" | "mkd" => "text/markdown; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Each page's title by location, looked up once per nav entry of every page: a linear search there made
/// publishing a 1,000-page site cubic (a second, where the build itself takes 60 ms).
fn page_titles(site: &BuiltSite) -> HashMap<&str, &str> {
    site.pages
        .iter()
        .map(|p| (p.location.as_str(), p.title.as_str()))
        .collect()
}

/// A whole HTML page: the site's nav, the page body. No script anywhere; the server adds a CSP that forbids
/// any (the body is already sanitized by [`super::page::render_page`]).
fn html_document(site: &BuiltSite, page: &Page, titles: &HashMap<&str, &str>) -> String {
    let mut nav = String::new();
    nav_html(&site.nav, titles, &page.location, &mut nav);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} - {site_name}</title>\n</head>\n<body>\n\
         <nav class=\"md-nav\" aria-label=\"{site_name}\">\n{nav}</nav>\n\
         <article class=\"md-content\">\n{body}</article>\n</body>\n</html>\n",
        title = escape(&page.title),
        site_name = escape(&site.config.site_name),
        body = page.html,
    )
}

/// Whether the page at `location` is somewhere under these nav items.
fn section_holds(items: &[NavItem], location: &str) -> bool {
    items.iter().any(|item| match item {
        NavItem::Page { path, .. } => path == location,
        NavItem::Section { items, .. } => section_holds(items, location),
        NavItem::Link { .. } => false,
    })
}

fn nav_html(items: &[NavItem], titles: &HashMap<&str, &str>, from: &str, out: &mut String) {
    out.push_str("<ul>\n");
    for item in items {
        match item {
            NavItem::Page { title, path } => {
                let title = title
                    .as_deref()
                    .unwrap_or_else(|| titles.get(path.as_str()).copied().unwrap_or(path.as_str()));
                out.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>\n",
                    escape(&html_href(from, &format!("/{path}"))),
                    escape(title)
                ));
            }
            // Only the sections on the way to this page are expanded (others link to their first page), so
            // a page's HTML grows with the depth of the nav rather than with the number of pages: a
            // 1,000-page site would otherwise store a million nav entries.
            NavItem::Section { title, items } if section_holds(items, from) => {
                out.push_str(&format!("<li>{}\n", escape(title)));
                nav_html(items, titles, from, out);
                out.push_str("</li>\n");
            }
            NavItem::Section { title, items } => match first_nav_page(items) {
                Some(first) => out.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>\n",
                    escape(&html_href(from, &format!("/{first}"))),
                    escape(title)
                )),
                None => out.push_str(&format!("<li>{}</li>\n", escape(title))),
            },
            NavItem::Link { title, url } => {
                let safe = url.starts_with("https://") || url.starts_with("http://");
                out.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>\n",
                    escape(if safe { url } else { "#" }),
                    escape(title.as_deref().unwrap_or(url))
                ));
            }
        }
    }
    out.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::super::build::build_site;
    use super::*;
    use std::path::Path;

    #[test]
    fn a_site_stores_pages_sources_indexes_and_its_description() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/techdocs/backstage-documented-component");
        let site = build_site(&dir, "documented-component", 5).unwrap();
        let files = site_files(&site);
        let get = |path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .unwrap_or_else(|| panic!("{path} missing"))
        };
        let index = String::from_utf8(get("index.html").body.clone()).unwrap();
        assert!(index.starts_with("<!doctype html>"));
        assert!(!index.to_lowercase().contains("<script"));
        assert!(index.contains("href=\"sub-page/\""), "{index}");
        assert_eq!(get("index.html").content_type, "text/html; charset=utf-8");
        assert_eq!(get("index.md").content_type, "text/markdown; charset=utf-8");
        let sub = String::from_utf8(get("sub-page/index.html").body.clone()).unwrap();
        assert!(sub.contains("href=\"../\""), "{sub}");
        let described: DocsSite = serde_json::from_slice(&get(SITE_FILE).body).unwrap();
        assert_eq!(described.etag, site.etag);
        assert_eq!(described.build_timestamp, 5);
        assert_eq!(described.home().unwrap().location, "index.md");
        assert!(described.page("sub-page.md").is_some());
        let metadata: serde_json::Value =
            serde_json::from_slice(&get("techdocs_metadata.json").body).unwrap();
        // Every file the metadata lists is stored.
        for listed in metadata["files"].as_array().unwrap() {
            get(listed.as_str().unwrap());
        }
        assert_eq!(files.len(), metadata["files"].as_array().unwrap().len());
    }

    #[test]
    fn only_the_sections_on_the_way_to_a_page_are_expanded() {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("docs/index.md", "# Home\n"),
            ("docs/ops/runbook.md", "# Runbook\n"),
            ("docs/ops/alerts.md", "# Alerts\n"),
            ("docs/dev/setup.md", "# Setup\n"),
        ] {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let site = build_site(dir.path(), "svc", 0).unwrap();
        let titles = page_titles(&site);
        let page = |location: &str| site.pages.iter().find(|p| p.location == location).unwrap();
        let home = html_document(&site, page("index.md"), &titles);
        // Collapsed sections link to their first page; their pages are not listed.
        assert!(home.contains("<a href=\"ops/alerts/\">Ops</a>"), "{home}");
        assert!(!home.contains("Runbook"), "{home}");
        let runbook = html_document(&site, page("ops/runbook.md"), &titles);
        assert!(runbook.contains(">Alerts</a>"), "{runbook}");
        assert!(runbook.contains(">Runbook</a>"), "{runbook}");
        assert!(!runbook.contains("Setup</a>"), "{runbook}");
        assert!(
            runbook.contains("<a href=\"../../dev/setup/\">Dev</a>"),
            "{runbook}"
        );
    }

    #[test]
    fn nav_links_that_are_not_web_urls_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/index.md"), "# <b>x</b>\n").unwrap();
        std::fs::write(
            dir.path().join("mkdocs.yml"),
            "site_name: \"<i>s</i>\"\nnav:\n  - Home: index.md\n  - Evil: javascript:alert(1)\n",
        )
        .unwrap();
        let site = build_site(dir.path(), "svc", 0).unwrap();
        let html = html_document(&site, &site.pages[0], &page_titles(&site));
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(!html.contains("<i>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }
}
