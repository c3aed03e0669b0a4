//! The JSON files a TechDocs site carries next to its pages:
//!
//! - `search/search_index.json` in MkDocs' search plugin shape (`indexing: full`,
//!   `use_directory_urls: true`): one entry per page and one per heading, the input of Backstage's `techdocs`
//!   search collator;
//! - `techdocs_metadata.json` as techdocs-core writes it and techdocs-node completes it
//!   (`build_timestamp`, `files`, `etag`).

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
