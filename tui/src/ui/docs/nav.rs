//! The reader's nav tree: a site's MkDocs nav flattened into the rows the left pane shows, with collapsed
//! sections left out. Rows are recomputed from the nav and the collapsed set whenever they are needed (a
//! site's nav is tens of entries), so there is no second copy to keep in step.

use std::collections::BTreeSet;

use stagedoor_core::techdocs::publish::DocsSite;
use stagedoor_core::techdocs::site::NavItem;

use super::super::text::sanitize;

/// What a row of the nav pane stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NavTarget {
    /// A page, by its location relative to docs_dir.
    Page(String),
    /// A section, by its path of indices in the nav (`"3"`, `"3.1"`): the key of the collapsed set.
    Section { id: String, collapsed: bool },
    /// An external link.
    Link(String),
}

/// One visible row of the nav pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavRow {
    /// Nesting depth (0 at the top).
    pub depth: usize,
    /// Sanitized title: the explicit one, else the page's own title, else its location or URL.
    pub title: String,
    pub target: NavTarget,
}

/// The visible rows of `site`'s nav: sections in `collapsed` show their own row but not their entries.
pub fn rows(site: &DocsSite, collapsed: &BTreeSet<String>) -> Vec<NavRow> {
    let mut out = Vec::new();
    walk(site, &site.nav, "", 0, collapsed, &mut out);
    out
}

fn walk(
    site: &DocsSite,
    items: &[NavItem],
    prefix: &str,
    depth: usize,
    collapsed: &BTreeSet<String>,
    out: &mut Vec<NavRow>,
) {
    for (i, item) in items.iter().enumerate() {
        let id = if prefix.is_empty() {
            i.to_string()
        } else {
            format!("{prefix}.{i}")
        };
        match item {
            NavItem::Page { title, path } => {
                let title = title
                    .clone()
                    .or_else(|| site.page(path).map(|p| p.title.clone()))
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| path.clone());
                out.push(NavRow {
                    depth,
                    title: sanitize(&title),
                    target: NavTarget::Page(path.clone()),
                });
            }
            NavItem::Section { title, items } => {
                let is_collapsed = collapsed.contains(&id);
                out.push(NavRow {
                    depth,
                    title: sanitize(title),
                    target: NavTarget::Section {
                        id: id.clone(),
                        collapsed: is_collapsed,
                    },
                });
                if !is_collapsed {
                    walk(site, items, &id, depth + 1, collapsed, out);
                }
            }
            NavItem::Link { title, url } => {
                let title = title.clone().unwrap_or_else(|| url.clone());
                out.push(NavRow {
                    depth,
                    title: sanitize(&title),
                    target: NavTarget::Link(url.clone()),
                });
            }
        }
    }
}

/// The ids of the sections holding the page at `location`, outermost first, so opening a page inside a
/// collapsed section can unfold it.
pub fn sections_of(site: &DocsSite, location: &str) -> Vec<String> {
    fn find(items: &[NavItem], prefix: &str, location: &str, path: &mut Vec<String>) -> bool {
        for (i, item) in items.iter().enumerate() {
            let id = if prefix.is_empty() {
                i.to_string()
            } else {
                format!("{prefix}.{i}")
            };
            match item {
                NavItem::Page { path: p, .. } if p == location => return true,
                NavItem::Section { items, .. } => {
                    path.push(id.clone());
                    if find(items, &id, location, path) {
                        return true;
                    }
                    path.pop();
                }
                _ => {}
            }
        }
        false
    }
    let mut path = Vec::new();
    find(&site.nav, "", location, &mut path);
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagedoor_core::techdocs::publish::DocsPage;

    fn site() -> DocsSite {
        let page = |location: &str, title: &str| DocsPage {
            location: location.into(),
            url: String::new(),
            title: title.into(),
            headings: Vec::new(),
        };
        DocsSite {
            site_name: "S".into(),
            site_description: None,
            etag: String::new(),
            build_timestamp: 0,
            nav: vec![
                NavItem::Page {
                    title: None,
                    path: "index.md".into(),
                },
                NavItem::Section {
                    title: "Ops".into(),
                    items: vec![
                        NavItem::Page {
                            title: Some("Runbook".into()),
                            path: "ops/runbook.md".into(),
                        },
                        NavItem::Link {
                            title: Some("Status".into()),
                            url: "https://status.example".into(),
                        },
                    ],
                },
            ],
            pages: vec![page("index.md", "Home"), page("ops/runbook.md", "RB")],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn rows_take_page_titles_and_hide_collapsed_sections() {
        let s = site();
        let all = rows(&s, &BTreeSet::new());
        let titles: Vec<_> = all.iter().map(|r| (r.depth, r.title.as_str())).collect();
        assert_eq!(
            titles,
            [(0, "Home"), (0, "Ops"), (1, "Runbook"), (1, "Status")]
        );
        assert_eq!(
            all[3].target,
            NavTarget::Link("https://status.example".into())
        );
        let folded = rows(&s, &BTreeSet::from(["1".to_string()]));
        assert_eq!(folded.len(), 2);
        assert_eq!(
            folded[1].target,
            NavTarget::Section {
                id: "1".into(),
                collapsed: true
            }
        );
        assert_eq!(sections_of(&s, "ops/runbook.md"), ["1"]);
        assert!(sections_of(&s, "index.md").is_empty());
    }
}
