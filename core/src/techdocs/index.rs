//! The JSON files a TechDocs site carries next to its pages:
//!
//! - `search/search_index.json` in MkDocs' search plugin shape (`indexing: full`,
//!   `use_directory_urls: true`): one entry per page and one per heading, the input of Backstage's `techdocs`
//!   search collator;
//! - `techdocs_metadata.json` as techdocs-core writes it and techdocs-node completes it
//!   (`build_timestamp`, `files`, `etag`).

use std::path::Path;

use serde_json::{json, Value};

use super::page::Page;

/// MkDocs' `search/search_index.json` for `pages` (in nav order). `site_name` is accepted for symmetry with
/// [`metadata`]; MkDocs does not write it into the index.
pub fn search_index(site_name: &str, pages: &[Page]) -> Value {
    let _ = site_name;
    let mut docs = Vec::new();
    for page in pages {
        let url = page_url(&page.location);
        docs.push(json!({ "location": url, "title": page.title, "text": page.text }));
        for heading in &page.headings {
            docs.push(json!({
                "location": format!("{url}#{}", heading.anchor),
                "title": heading.title,
                "text": heading.text,
            }));
        }
    }
    json!({
        "config": {
            "lang": ["en"],
            "separator": "[\\s\\-]+",
            "pipelines": ["stopWordFilter"],
        },
        "docs": docs,
    })
}

/// The URL MkDocs gives a page with `use_directory_urls: true`, relative to the site root: `index.md` and
/// `README.md` → `""`, `a/index.md` → `"a/"`, `a/b.md` → `"a/b/"`.
pub fn page_url(location: &str) -> String {
    let path = location.replace('\\', "/");
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (dir, file),
        None => ("", path),
    };
    let stem = match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    };
    let mut url = String::new();
    if !dir.is_empty() {
        url.push_str(dir);
        url.push('/');
    }
    if stem != "index" && stem != "README" && !stem.is_empty() {
        url.push_str(stem);
        url.push('/');
    }
    url
}

/// Where a link inside a page points, once resolved against the page's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// Another page (or the same one) of the site: its location relative to docs_dir (`guides/setup.md`),
    /// and the anchor, if any.
    Page {
        location: String,
        anchor: Option<String>,
    },
    /// An anchor in the current page (`#usage`).
    Anchor(String),
    /// A file of the site that is not a page (`img/logo.png`), relative to docs_dir.
    File(String),
    /// Anything with a scheme (`https:`, `mailto:`), or a path that leaves the site.
    External(String),
}

/// Resolves `href` as written in the page at `from` (a location relative to docs_dir), the way MkDocs
/// resolves links between markdown files: relative to the page's directory, `.md` targets are pages.
pub fn resolve_link(from: &str, href: &str) -> LinkTarget {
    let href = href.trim();
    if let Some(anchor) = href.strip_prefix('#') {
        return LinkTarget::Anchor(anchor.to_string());
    }
    let has_scheme = href.find(':').is_some_and(|i| {
        href[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme || href.starts_with("//") || href.is_empty() {
        return LinkTarget::External(href.to_string());
    }
    let (path, anchor) = match href.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_string())),
        None => (href, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    let mut parts: Vec<&str> = if path.starts_with('/') {
        Vec::new()
    } else {
        let mut dir: Vec<&str> = from.split('/').collect();
        dir.pop();
        dir
    };
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return LinkTarget::External(href.to_string());
                }
            }
            other => parts.push(other),
        }
    }
    let location = parts.join("/");
    let is_page = Path::new(&location)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"));
    if is_page {
        LinkTarget::Page { location, anchor }
    } else {
        LinkTarget::File(location)
    }
}

/// The URL of `to` (a site path such as `a/b/` or `img/x.png`) relative to the page URL `from_url`, as a
/// browser resolves it from that page's `index.html`.
pub fn relative_url(from_url: &str, to: &str) -> String {
    let depth = from_url.split('/').filter(|p| !p.is_empty()).count();
    let mut out = "../".repeat(depth);
    // `a:b/` written bare would read as a URL with scheme `a`.
    let first = to.split('/').next().unwrap_or("");
    if out.is_empty() && (to.is_empty() || first.contains(':')) {
        out.push_str("./");
    }
    out.push_str(to);
    out
}

/// A link as the page's HTML carries it: `.md` targets become the target page's directory URL, relative to
/// this page's own URL; everything else is unchanged.
pub fn html_href(from: &str, href: &str) -> String {
    let from_url = page_url(from);
    match resolve_link(from, href) {
        LinkTarget::Page { location, anchor } => {
            let mut url = relative_url(&from_url, &page_url(&location));
            if let Some(anchor) = anchor {
                url.push('#');
                url.push_str(&anchor);
            }
            url
        }
        LinkTarget::File(location) => relative_url(&from_url, &location),
        LinkTarget::Anchor(_) | LinkTarget::External(_) => href.to_string(),
    }
}

/// Backstage's `techdocs_metadata.json`: `{site_name, site_description, etag, build_timestamp, files}`
/// (`site_description` is `null` when the site has none; `build_timestamp` in epoch milliseconds; `files`
/// relative to the site root).
pub fn metadata(
    site_name: &str,
    site_description: Option<&str>,
    etag: &str,
    build_timestamp_ms: i64,
    files: &[String],
) -> Value {
    json!({
        "site_name": site_name,
        "site_description": site_description,
        "etag": etag,
        "build_timestamp": build_timestamp_ms,
        "files": files,
    })
}

#[cfg(test)]
mod tests {
    use super::super::page::render_page;
    use super::*;

    #[test]
    fn links_resolve_like_mkdocs() {
        assert_eq!(
            resolve_link("index.md", "sub-page.md#usage"),
            LinkTarget::Page {
                location: "sub-page.md".into(),
                anchor: Some("usage".into())
            }
        );
        assert_eq!(
            resolve_link("code/code-sample.md", "../index.md"),
            LinkTarget::Page {
                location: "index.md".into(),
                anchor: None
            }
        );
        assert_eq!(
            resolve_link("a/b.md", "./img/x.png"),
            LinkTarget::File("a/img/x.png".into())
        );
        assert_eq!(
            resolve_link("a/b.md", "#top"),
            LinkTarget::Anchor("top".into())
        );
        assert_eq!(
            resolve_link("a/b.md", "https://backstage.io"),
            LinkTarget::External("https://backstage.io".into())
        );
        assert_eq!(
            resolve_link("index.md", "../../etc/passwd"),
            LinkTarget::External("../../etc/passwd".into())
        );
        assert_eq!(
            resolve_link("a/b.md", "/c.md"),
            LinkTarget::Page {
                location: "c.md".into(),
                anchor: None
            }
        );
        assert_eq!(html_href("index.md", "sub-page.md#x"), "sub-page/#x");
        assert_eq!(html_href("a/b.md", "c.md"), "../../a/c/");
        assert_eq!(html_href("a/index.md", "../index.md"), "../");
        assert_eq!(html_href("index.md", "index.md"), "./");
        assert_eq!(
            html_href("index.md", "/javascript:x.png"),
            "./javascript:x.png"
        );
        assert_eq!(
            html_href("a/b.md", "https://x.io/y.md"),
            "https://x.io/y.md"
        );
    }

    #[test]
    fn page_urls_like_mkdocs() {
        assert_eq!(page_url("index.md"), "");
        assert_eq!(page_url("README.md"), "");
        assert_eq!(page_url("sub-page.md"), "sub-page/");
        assert_eq!(page_url("a/b.md"), "a/b/");
        assert_eq!(page_url("deeper-nav/index.md"), "deeper-nav/");
        assert_eq!(page_url("code\\code-sample.md"), "code/code-sample/");
    }

    #[test]
    fn index_has_config_and_entries_per_page_and_heading() {
        let pages = vec![
            render_page(
                "index.md",
                "# Welcome!\n\nIntro text.\n\n## Basic Markdown\n\nA list.\n",
            ),
            render_page("a/b.md", "Only text, no headings.\n"),
            render_page(
                "guide/setup.md",
                "# Setup\n\n## Step\n\nOne.\n\n## Step\n\nTwo.\n",
            ),
        ];
        let index = search_index("Example", &pages);
        assert_eq!(
            index["config"],
            json!({"lang": ["en"], "separator": "[\\s\\-]+", "pipelines": ["stopWordFilter"]})
        );
        let docs = index["docs"].as_array().cloned().unwrap_or_default();
        let locations: Vec<&str> = docs.iter().filter_map(|d| d["location"].as_str()).collect();
        assert_eq!(
            locations,
            [
                "",
                "#welcome",
                "#basic-markdown",
                "a/b/",
                "guide/setup/",
                "guide/setup/#setup",
                "guide/setup/#step",
                "guide/setup/#step_1"
            ]
        );
        assert_eq!(docs[0]["title"], "Welcome!");
        assert_eq!(
            docs[0]["text"],
            "Welcome!\nIntro text.\nBasic Markdown\nA list."
        );
        assert_eq!(
            docs[1],
            json!({"location": "#welcome", "title": "Welcome!", "text": "Intro text."})
        );
        assert_eq!(docs[2]["text"], "A list.");
        assert_eq!(docs[3]["title"], "B");
        assert_eq!(docs[6]["text"], "One.");
        assert_eq!(docs[7]["text"], "Two.");
        for doc in &docs {
            assert_eq!(doc.as_object().map(|o| o.len()), Some(3));
        }
    }

    #[test]
    fn empty_site_index() {
        let index = search_index("Empty", &[]);
        assert_eq!(index["docs"], json!([]));
    }

    #[test]
    fn metadata_shape() {
        let files = vec![
            "index.html".to_string(),
            "search/search_index.json".to_string(),
        ];
        let meta = metadata(
            "My Docs",
            Some("About things"),
            "abc123",
            1_700_000_000_000,
            &files,
        );
        assert_eq!(
            meta,
            json!({
                "site_name": "My Docs",
                "site_description": "About things",
                "etag": "abc123",
                "build_timestamp": 1_700_000_000_000_i64,
                "files": ["index.html", "search/search_index.json"],
            })
        );
        let meta = metadata("My Docs", None, "e", 0, &[]);
        assert_eq!(meta["site_description"], Value::Null);
        assert_eq!(meta["files"], json!([]));
    }
}
