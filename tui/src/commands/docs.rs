//! `stagedoor docs build [REF]` and `stagedoor docs show REF [PAGE]`: TechDocs from the command line.
//!
//! `build` runs the portal's sync (build when the sources' hash differs from the stored site's etag), for one
//! entity with its log lines on stderr, or for every documented entity with a line each. `show` prints one page
//! of a built site: its markdown source with `--raw`, otherwise rendered for the terminal by termimad after a
//! pre-pass that strips control characters and front matter and turns admonitions into titled block quotes.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use stagedoor::ui::text::sanitize;
use stagedoor_core::store::{EntityPredicate, EntityQuery, FieldMatch, OrderField, SortOrder};
use stagedoor_core::techdocs::page::admonitions_as_quotes;
use stagedoor_core::techdocs::publish::{DocsPage, DocsSite};
use stagedoor_core::techdocs::service::ANNOTATION_TECHDOCS_REF;
use stagedoor_core::{EntityRef, Portal};
use tokio::sync::mpsc;

use super::list;
use crate::cli::{ColorChoice, DocsBuildArgs, DocsShowArgs, UsageError};
use crate::{output, setup};

/// Columns when stdout is not a terminal and `--width` is not given.
const DEFAULT_WIDTH: usize = 80;

/// `[kind:][namespace/]name`, the kind defaulting to component as Backstage's docs routes do.
fn parse_ref(text: &str) -> anyhow::Result<EntityRef> {
    EntityRef::parse_with_defaults(text, Some("component"), "default")
        .map_err(|e| UsageError(format!("invalid entity reference '{text}': {e}")).into())
}

pub async fn build(source: &setup::Source, args: &DocsBuildArgs) -> anyhow::Result<ExitCode> {
    let entity_ref = args.entity_ref.as_deref().map(parse_ref).transpose()?;
    let portal = setup::reading_portal(source).await?;
    match entity_ref {
        Some(entity_ref) => build_one(portal.as_ref(), &entity_ref).await,
        None => build_all(portal.as_ref()).await,
    }
}

/// One entity: its sync's log lines on stderr as they come, the outcome on stdout.
async fn build_one(portal: &dyn Portal, entity_ref: &EntityRef) -> anyhow::Result<ExitCode> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let printer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            eprintln!("{}", sanitize(&line));
        }
    });
    let synced = portal.sync_docs(entity_ref, Some(tx)).await;
    // The sender went with the sync, so the printer ends once it has printed every line.
    let _ = printer.await;
    let synced = synced.with_context(|| format!("cannot build the docs of {entity_ref}"))?;
    output::emit(&format!("{entity_ref}: {}\n", outcome(synced.updated)))?;
    Ok(ExitCode::SUCCESS)
}

fn outcome(updated: bool) -> &'static str {
    if updated {
        "updated"
    } else {
        "up to date"
    }
}

/// Every entity with a techdocs-ref annotation, a line each; a failure does not stop the others but makes
/// the exit code 1.
async fn build_all(portal: &dyn Portal) -> anyhow::Result<ExitCode> {
    let query = EntityQuery {
        filter: Some(EntityPredicate::Field {
            key: format!("metadata.annotations.{ANNOTATION_TECHDOCS_REF}"),
            matcher: FieldMatch::Exists(true),
        }),
        order_fields: vec![OrderField {
            field: "metadata.name".to_string(),
            order: SortOrder::Asc,
        }],
        fields: vec!["kind".to_string(), "metadata".to_string()],
        limit: Some(200),
        ..EntityQuery::default()
    };
    let (entities, _) = list::fetch(portal, query, u64::MAX).await?;
    if entities.is_empty() {
        output::emit(&format!(
            "no entity has a {ANNOTATION_TECHDOCS_REF} annotation; nothing to build\n"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut updated, mut current, mut failed) = (0, 0, 0);
    for entity in &entities {
        let entity_ref = entity.entity_ref();
        match portal.sync_docs(&entity_ref, None).await {
            Ok(sync) => {
                if sync.updated {
                    updated += 1;
                } else {
                    current += 1;
                }
                output::emit(&format!("{entity_ref}: {}\n", outcome(sync.updated)))?;
            }
            Err(e) => {
                failed += 1;
                output::emit(&format!(
                    "{entity_ref}: failed: {}\n",
                    sanitize(&e.to_string())
                ))?;
            }
        }
    }
    output::emit(&format!(
        "{} sites: {updated} updated, {current} up to date, {failed} failed\n",
        entities.len()
    ))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn show(source: &setup::Source, args: &DocsShowArgs) -> anyhow::Result<ExitCode> {
    let entity_ref = parse_ref(&args.entity_ref)?;
    let portal = setup::reading_portal(source).await?;
    let site = built_site(portal.as_ref(), &entity_ref).await?;
    let page = match args.page.as_deref() {
        Some(wanted) => find_page(&site, wanted).ok_or_else(|| {
            anyhow!(
                "the docs of {entity_ref} have no page '{}'; pages: {}",
                sanitize(wanted),
                page_list(&site)
            )
        })?,
        None => site
            .home()
            .ok_or_else(|| anyhow!("the docs of {entity_ref} have no pages"))?,
    };
    let file = portal
        .docs_file(&entity_ref, &page.location)
        .await
        .with_context(|| format!("cannot read {} of {entity_ref}'s docs", page.location))?
        .ok_or_else(|| {
            anyhow!(
                "the docs of {entity_ref} list {} but do not store it (run stagedoor docs build {entity_ref})",
                page.location
            )
        })?;
    if args.raw {
        emit_bytes(&file.body)?;
        return Ok(ExitCode::SUCCESS);
    }
    let markdown = String::from_utf8_lossy(&file.body);
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let styled = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_is_terminal && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
        }
    };
    let width = match args.width {
        Some(width) => usize::from(width),
        None if stdout_is_terminal => crossterm::terminal::size()
            .map(|(columns, _)| usize::from(columns))
            .unwrap_or(DEFAULT_WIDTH),
        None => DEFAULT_WIDTH,
    };
    output::emit(&render(&markdown, width, styled))?;
    Ok(ExitCode::SUCCESS)
}

/// The entity's site, built first when it never was.
async fn built_site(portal: &dyn Portal, entity_ref: &EntityRef) -> anyhow::Result<DocsSite> {
    let read = || async {
        portal
            .docs_site(entity_ref)
            .await
            .with_context(|| format!("cannot read the docs of {entity_ref}"))
    };
    if let Some(site) = read().await? {
        return Ok(site);
    }
    portal
        .sync_docs(entity_ref, None)
        .await
        .with_context(|| format!("cannot build the docs of {entity_ref}"))?;
    read()
        .await?
        .ok_or_else(|| anyhow!("the docs of {entity_ref} were built but cannot be read back"))
}

/// The page `wanted` names: its location (`sub-page.md`), its URL path (`sub-page/`, `/sub-page`, `/` for
/// the home page) or its title, ignoring case.
pub fn find_page<'a>(site: &'a DocsSite, wanted: &str) -> Option<&'a DocsPage> {
    if let Some(page) = site.page(wanted) {
        return Some(page);
    }
    let path = wanted.trim_matches('/');
    let url = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    site.pages
        .iter()
        .find(|p| p.url == url || (path.is_empty() && p.url.is_empty()))
        .or_else(|| {
            let title = wanted.trim().to_lowercase();
            site.pages.iter().find(|p| p.title.to_lowercase() == title)
        })
}

/// `index.md (Home), sub-page.md (Sub Page)`: what an unknown page name could have been.
fn page_list(site: &DocsSite) -> String {
    site.pages
        .iter()
        .map(|p| format!("{} ({})", p.location, sanitize(&p.title)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the stored bytes untouched. A closed pipe is not an error.
fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// The page rendered at `width` columns; with `styled` false, plain text without a single escape code.
pub fn render(markdown: &str, width: usize, styled: bool) -> String {
    let skin = if styled {
        termimad::MadSkin::default()
    } else {
        termimad::MadSkin::no_style()
    };
    let source = terminal_markdown(markdown);
    skin.text(&source, Some(width)).to_string()
}

/// What termimad is given: every line stripped of control characters and escape sequences (the docs are
/// untrusted and must not drive the terminal), tabs as four spaces, no YAML front matter, and admonitions,
/// details and GitHub alerts as block quotes under a bold title (termimad knows none of them).
pub fn terminal_markdown(markdown: &str) -> String {
    let clean: Vec<String> = markdown
        .lines()
        .map(|line| sanitize(&line.replace('\t', "    ")))
        .collect();
    let body = strip_front_matter(&clean);
    reflow(&admonitions_as_quotes(&body.join("\n")))
}

/// Joins the hard-wrapped lines of each paragraph (termimad keeps every source line a line, so a paragraph
/// wrapped at 72 columns would break again at the terminal's width and leave ragged half lines) and
/// collapses runs of blank lines. Fenced and indented code, headings, tables, list items and lines ending
/// in a hard break keep their lines.
fn reflow(markdown: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    // Whether the previous line may take the next one: a paragraph or list item text line.
    let mut joinable = false;
    let mut in_code = false;
    let mut after_list = false;
    let mut previous_blank = true;
    let mut previous_quote = String::new();
    for line in markdown.lines() {
        let (quote, rest) = split_quote(line);
        let content = rest.trim_start();
        let indent = rest.len() - content.len();
        if let Some((ch, len)) = fence {
            let run = content.chars().take_while(|c| *c == ch).count();
            if run >= len && content[run..].trim().is_empty() {
                fence = None;
            }
            out.push(line.to_string());
            continue;
        }
        if content.is_empty() {
            if !previous_blank {
                out.push(quote.trim_end().to_string());
            }
            previous_blank = true;
            joinable = false;
            continue;
        }
        let starts_block = starts_block(content);
        in_code = (in_code || (previous_blank && !after_list)) && indent >= 4;
        for ch in ['`', '~'] {
            let run = content.chars().take_while(|c| *c == ch).count();
            if run >= 3 {
                fence = Some((ch, run));
            }
        }
        let join = joinable
            && !starts_block
            && !in_code
            && fence.is_none()
            && quote.trim_end() == previous_quote.trim_end();
        match out.last_mut() {
            Some(last) if join => {
                last.push(' ');
                last.push_str(&plain_links(content));
            }
            _ if in_code || fence.is_some() => out.push(line.to_string()),
            _ => out.push(plain_links(line)),
        }
        let is_list = is_list_item(content);
        after_list = is_list || (after_list && indent > 0);
        joinable = fence.is_none()
            && !in_code
            && !content.starts_with('#')
            && !content.starts_with('|')
            && !line.ends_with("  ")
            && !line.ends_with('\\')
            && (!starts_block || is_list)
            && !is_title(content);
        previous_blank = false;
        previous_quote = quote.to_string();
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// `[text](https://…)` as `text <https://…>`, `[text](page.md)` (a link within the site) as `text`, and
/// `![alt](src)` as `[image: alt]`: termimad prints links as written, and a terminal can open a bare URL but
/// not a relative one. Inline code is left as it is.
fn plain_links(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(['[', '`']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with('`') {
            let ticks = tail.chars().take_while(|c| *c == '`').count();
            let fence = &tail[..ticks];
            let end = tail[ticks..]
                .find(fence)
                .map_or(tail.len(), |e| ticks + e + ticks);
            out.push_str(&tail[..end]);
            rest = &tail[end..];
            continue;
        }
        let image = out.ends_with('!');
        match link_at(tail) {
            Some((text, url, len)) => {
                if image {
                    out.pop();
                    out.push_str(&format!("[image: {text}]"));
                } else if url.starts_with("https://") || url.starts_with("http://") {
                    out.push_str(&format!("{text} <{url}>"));
                } else {
                    out.push_str(text);
                }
                rest = &tail[len..];
            }
            None => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// At `[text](url "title")`: the text, the URL and the length of the whole link.
fn link_at(tail: &str) -> Option<(&str, &str, usize)> {
    let close = tail.find("](")?;
    let text = &tail[1..close];
    if text.contains('[') {
        return None;
    }
    let after = &tail[close + 2..];
    let end = after.find(')')?;
    let target = after[..end].trim();
    let url = target.split_whitespace().next().unwrap_or("");
    Some((text, url, close + 2 + end + 1))
}

/// A line's block-quote markers (`> > `) and the rest.
fn split_quote(line: &str) -> (&str, &str) {
    let mut end = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' if i - end < 3 => i += 1,
            b'>' => {
                i += 1;
                if bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
                end = i;
            }
            _ => break,
        }
    }
    (&line[..end], &line[end..])
}

fn is_list_item(content: &str) -> bool {
    let bullet = ["- ", "* ", "+ "].iter().any(|m| content.starts_with(m));
    let digits = content.chars().take_while(char::is_ascii_digit).count();
    let ordered =
        digits > 0 && (content[digits..].starts_with(". ") || content[digits..].starts_with(") "));
    bullet || ordered
}

/// Whether a line (without its indentation and quote markers) starts a block of its own rather than
/// continuing a paragraph.
fn starts_block(content: &str) -> bool {
    is_list_item(content)
        || content.starts_with('#')
        || content.starts_with('|')
        || content.starts_with('<')
        || content.starts_with("```")
        || content.starts_with("~~~")
        || content.starts_with("!!!")
        || content.starts_with("???")
        || ['-', '*', '_'].iter().any(|&c| {
            content.chars().filter(|&x| x == c).count() >= 3
                && content.chars().all(|x| x == c || x == ' ')
        })
}

/// A line that is all bold, as the titles [`admonitions_as_quotes`] writes: it stays a line of its own.
fn is_title(content: &str) -> bool {
    content.len() > 4 && content.starts_with("**") && content.trim_end().ends_with("**")
}

/// The lines after a leading `---` … `---` (or `...`) YAML block; all of them when there is none.
fn strip_front_matter(lines: &[String]) -> &[String] {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return lines;
    }
    match lines[1..]
        .iter()
        .position(|l| matches!(l.trim_end(), "---" | "..."))
    {
        Some(end) => &lines[end + 2..],
        None => lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> DocsSite {
        let page = |location: &str, url: &str, title: &str| DocsPage {
            location: location.into(),
            url: url.into(),
            title: title.into(),
            headings: vec![],
        };
        DocsSite {
            site_name: "Example".into(),
            site_description: None,
            etag: "e".into(),
            build_timestamp: 0,
            nav: vec![],
            pages: vec![
                page("index.md", "", "Home"),
                page("sub-page.md", "sub-page/", "Sub Page"),
                page("deeper-nav/index.md", "deeper-nav/", "Deeper"),
            ],
            warnings: vec![],
        }
    }

    #[test]
    fn pages_are_found_by_location_url_or_title() {
        let site = site();
        let at = |wanted: &str| find_page(&site, wanted).map(|p| p.location.as_str());
        assert_eq!(at("sub-page.md"), Some("sub-page.md"));
        assert_eq!(at("sub-page/"), Some("sub-page.md"));
        assert_eq!(at("/sub-page"), Some("sub-page.md"));
        assert_eq!(at("deeper-nav/"), Some("deeper-nav/index.md"));
        assert_eq!(at("/"), Some("index.md"));
        assert_eq!(at("sub PAGE"), Some("sub-page.md"));
        assert_eq!(at("nope"), None);
        assert_eq!(
            page_list(&site),
            "index.md (Home), sub-page.md (Sub Page), deeper-nav/index.md (Deeper)"
        );
    }

    #[test]
    fn the_pre_pass_strips_controls_and_front_matter_and_quotes_admonitions() {
        let md = "---\ntitle: T\n---\n# Head\x1b[31mred\x1b[0m\n\n!!! note\n    Body\tx\n";
        assert_eq!(
            terminal_markdown(md),
            "# Headred\n\n> **Note**\n> Body    x\n"
        );
        // An unclosed front matter block is not front matter.
        assert_eq!(terminal_markdown("---\nplain"), "---\nplain\n");
    }

    #[test]
    fn paragraphs_are_joined_and_blocks_kept() {
        let md = "Para one\nwraps here.\n\n\n\n- item\n  continues\n- next\n\n```\ncode\nlines\n```\n\n    indented\n    code\n\n# Head\nText  \nbreak\n\n| a |\n| b |\n";
        assert_eq!(
            reflow(md),
            "Para one wraps here.\n\n- item continues\n- next\n\n```\ncode\nlines\n```\n\n    indented\n    code\n\n# Head\nText  \nbreak\n\n| a |\n| b |\n"
        );
        let quoted = "> **Note**\n> First\n> second.\n>\n> Next.\nOutside\n";
        assert_eq!(
            reflow(quoted),
            "> **Note**\n> First second.\n>\n> Next.\nOutside\n"
        );
    }

    #[test]
    fn links_read_as_text_with_their_web_address() {
        assert_eq!(
            plain_links(
                "See [the guide](https://x.example/g \"Guide\") and [a page](sub-page.md)."
            ),
            "See the guide <https://x.example/g> and a page."
        );
        assert_eq!(plain_links("![Logo](images/logo.svg)"), "[image: Logo]");
        assert_eq!(
            plain_links("`[not](a-link)` [x] [y](z"),
            "`[not](a-link)` [x] [y](z"
        );
    }

    #[test]
    fn unstyled_output_has_no_escape_codes() {
        let md = "# Title\n\nSome **bold** and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nfn x() {}\n```\n\n!!! warning\n    Careful.\n";
        let plain = render(md, 60, false);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert!(plain.contains("Title"), "{plain}");
        assert!(plain.contains("Careful."), "{plain}");
        assert!(plain.contains("Warning"), "{plain}");
        assert!(render(md, 60, true).contains('\x1b'));
    }
}
