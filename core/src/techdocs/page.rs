//! One TechDocs markdown page, rendered the way MkDocs with techdocs-core would see it: its title, its
//! headings with MkDocs `toc` anchors, its plain text (for `search/search_index.json`) and safe HTML.
//!
//! - Title: `title:` in YAML front matter, else the first level-1 heading, else the file name the way MkDocs
//!   derives it (`getting-started.md` → "Getting started"; the root `index.md`/`README.md` → "Home"; a nested
//!   `dir/index.md` → its directory's name).
//! - Anchors: Python-Markdown's `toc` slugify (ASCII-folded, non-word characters other than `-` and spaces
//!   dropped, lower-cased, runs of spaces and `-` → `-`), made unique with `_1`, `_2`, ….
//! - HTML: pulldown-cmark (tables, strikethrough, task lists, footnotes, GitHub alerts). The docs are
//!   untrusted: raw HTML in the markdown is escaped, never passed through, and link/image URLs whose scheme is
//!   not `http`, `https`, `mailto`, `tel` or `ftp` (`javascript:`, `data:`, `vbscript:` …) become `#`.
//! - techdocs-core extensions: admonitions (`!!! note "Title"`), `pymdownx.details` (`??? note`, `???+ note`)
//!   with an indented body, and GitHub alerts (`> [!NOTE]`) become `<div class="admonition note">` (details
//!   become `<details class="note">`).

use std::collections::HashSet;

use super::index::html_href;
use super::site::dirname_to_title;
use pulldown_cmark::{BlockQuoteKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// A rendered markdown page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page's path relative to `docs_dir`, e.g. `index.md` or `guides/setup.md`.
    pub location: String,
    /// The page title (front matter `title`, first `#` heading, or derived from the file name).
    pub title: String,
    /// Every heading, in document order.
    pub headings: Vec<Heading>,
    /// Plain text of the whole page, no markup (block elements on their own lines).
    pub text: String,
    /// Safe HTML of the page body.
    pub html: String,
}

/// A heading of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The heading's plain text.
    pub title: String,
    /// Its `id`, unique within the page, as MkDocs' `toc` extension writes it.
    pub anchor: String,
    /// Plain text of the section under this heading, up to the next heading of any level (whitespace
    /// collapsed), as MkDocs' search plugin indexes it.
    pub text: String,
}

/// The private-use character that brackets admonition markers in the pre-pass (stripped from the input).
const MARK: char = '\u{E000}';

/// Markdown made ready for pulldown-cmark by [`prepare`]: each admonition and details block replaced by a
/// marker paragraph before and after its (dedented) body, so the body parses as ordinary markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The markdown to parse (with [`options`]).
    pub source: String,
    /// The admonitions, indexed by the numbers in their markers.
    pub admonitions: Vec<Admonition>,
}

/// A marker paragraph's text, as [`admonition_marker`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmonitionMarker {
    /// The start of admonition `n` of [`Prepared::admonitions`].
    Open(usize),
    /// Its end.
    Close(usize),
}

/// Runs the admonition pre-pass. Shared with the terminal renderer so both read the same blocks the same way.
pub fn prepare(markdown: &str) -> Prepared {
    // The marker character is ours: any in the input is replaced so markers cannot be forged.
    let cleaned = markdown.replace(MARK, "\u{FFFD}");
    let mut admonitions = Vec::new();
    let lines: Vec<&str> = cleaned.lines().collect();
    let mut source = String::with_capacity(cleaned.len() + 64);
    expand_admonitions(&lines, &mut source, &mut admonitions);
    Prepared {
        source,
        admonitions,
    }
}

/// The pulldown-cmark extensions TechDocs pages are parsed with.
pub fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_GFM);
    options.insert(Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    options
}

/// If `text` (a whole text event) is a marker written by [`prepare`], which one.
pub fn admonition_marker(text: &str) -> Option<AdmonitionMarker> {
    let inner = text.strip_prefix(MARK)?.strip_suffix(MARK)?;
    if let Some(n) = inner.strip_prefix("ADMOPEN") {
        n.parse().ok().map(AdmonitionMarker::Open)
    } else {
        inner
            .strip_prefix("ADMCLOSE")?
            .parse()
            .ok()
            .map(AdmonitionMarker::Close)
    }
}

/// Replaces GitHub emoji shortcodes (`:rocket:`) with the emoji, as techdocs-core's `pymdownx.emoji` does;
/// unknown `:words:` stay as written. Not for code.
pub fn emoji_shortcodes(text: CowStr<'_>) -> CowStr<'_> {
    if !text.contains(':') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    let mut changed = false;
    while let Some(open) = rest.find(':') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(':') else {
            break;
        };
        let name = &after[..close];
        let plausible = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'));
        match emojis::get_by_shortcode(name).filter(|_| plausible) {
            Some(emoji) => {
                out.push_str(&rest[..open]);
                out.push_str(emoji.as_str());
                rest = &after[close + 1..];
                changed = true;
            }
            None => {
                // The closing colon may open the next shortcode (`10:30 :tada:`).
                out.push_str(&rest[..=open + close]);
                rest = &rest[open + 1 + close..];
            }
        }
    }
    if !changed {
        return text;
    }
    out.push_str(rest);
    CowStr::from(out)
}

/// Renders one page. `location` is its path relative to `docs_dir` (used for the fallback title).
pub fn render_page(location: &str, markdown: &str) -> Page {
    let Prepared {
        source,
        admonitions,
    } = prepare(markdown);
    let raw: Vec<Event> = Parser::new_ext(&source, options()).collect();

    // Pass 1: front matter, admonition markers, raw HTML, unsafe URLs.
    let mut events: Vec<Event> = Vec::with_capacity(raw.len());
    let mut meta_title = None;
    let mut in_meta = false;
    let mut in_code = false;
    let mut i = 0;
    while i < raw.len() {
        if let Some(html) = marker_at(&raw, i, &admonitions) {
            events.push(html);
            i += 3;
            continue;
        }
        let event = raw[i].clone();
        i += 1;
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_meta = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_meta = false,
            Event::Text(t) if in_meta => {
                if meta_title.is_none() {
                    meta_title = front_matter_title(&t);
                }
            }
            _ if in_meta => {}
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code = true;
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Text(t) if !in_code => events.push(Event::Text(emoji_shortcodes(t))),
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::HtmlBlock) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::BlockQuote(Some(kind))) => {
                let (class, title) = alert_kind(kind);
                events.push(Event::Html(
                    format!(
                        "<div class=\"admonition {class}\">\n<p class=\"admonition-title\">{title}</p>\n"
                    )
                    .into(),
                ));
            }
            Event::End(TagEnd::BlockQuote(Some(_))) => events.push(Event::Html("</div>\n".into())),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => events.push(Event::Start(Tag::Link {
                link_type,
                dest_url: CowStr::from(html_href(location, &safe_url(dest_url))),
                title,
                id,
            })),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => events.push(Event::Start(Tag::Image {
                link_type,
                dest_url: CowStr::from(html_href(location, &safe_url(dest_url))),
                title,
                id,
            })),
            other => events.push(other),
        }
    }

    // Pass 2: headings (titles, anchors), plain text per page and per section.
    let mut headings: Vec<Heading> = Vec::new();
    let mut sections: Vec<(usize, usize)> = Vec::new(); // byte range of each heading's section in `text`
    let mut used = HashSet::new();
    let mut text = String::new();
    let mut heading_start: Option<usize> = None;
    for event in &events {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                end_line(&mut text);
                if let Some(last) = sections.last_mut() {
                    last.1 = text.len();
                }
                heading_start = Some(text.len());
            }
            Event::End(TagEnd::Heading(level)) => {
                let offset = heading_start.take().unwrap_or(text.len());
                let title = text.get(offset..).unwrap_or("").trim().to_string();
                let anchor = unique(slugify(&title), &mut used);
                headings.push(Heading {
                    level: heading_level(*level),
                    title,
                    anchor,
                    text: String::new(),
                });
                end_line(&mut text);
                sections.push((text.len(), text.len()));
            }
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::Html(h) => {
                // Only our own admonition markup is left here: index its title.
                if let Some(title) = admonition_title_text(h) {
                    end_line(&mut text);
                    text.push_str(&title);
                    end_line(&mut text);
                }
            }
            Event::SoftBreak | Event::HardBreak => text.push('\n'),
            Event::End(TagEnd::TableCell) => text.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            )
            | Event::Rule => end_line(&mut text),
            _ => {}
        }
    }
    if let Some(last) = sections.last_mut() {
        last.1 = text.len();
    }
    for (heading, (start, end)) in headings.iter_mut().zip(&sections) {
        heading.text = text
            .get(*start..*end)
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    }

    // Pass 3: ids on headings, then HTML.
    let mut anchors = headings.iter().map(|h| h.anchor.clone());
    let events = events.into_iter().map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id: _,
            classes,
            attrs,
        }) => {
            let id = anchors.next().map(CowStr::from);
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            })
        }
        other => other,
    });
    let mut html = String::with_capacity(source.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);

    let title = meta_title
        .or_else(|| {
            headings
                .iter()
                .find(|h| h.level == 1)
                .map(|h| h.title.clone())
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| title_from_location(location));
    Page {
        location: location.to_string(),
        title,
        headings,
        text: tidy_text(&text),
        html,
    }
}

fn end_line(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// Trims each line and drops empty ones.
fn tidy_text(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A heading level as its number, 1 to 6.
pub fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// `title:` from YAML front matter (a simple top-level `title: value` line).
fn front_matter_title(yaml: &str) -> Option<String> {
    yaml.lines().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The title MkDocs derives from a file name when a page has no heading: `-` and `_` become spaces and an
/// all-lower-case name gets a capital first letter. The root index is "Home"; a nested index takes its
/// directory's name.
pub fn title_from_location(location: &str) -> String {
    let path = location.replace('\\', "/");
    let mut parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let file = parts.pop().unwrap_or("");
    let stem = match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    };
    let name = if stem == "index" || stem == "README" || stem.is_empty() {
        match parts.last() {
            Some(dir) => *dir,
            None => return "Home".to_string(),
        }
    } else {
        stem
    };
    dirname_to_title(name)
}

/// Python-Markdown `toc` slugify with `unicode=False` and separator `-`.
pub fn slugify(title: &str) -> String {
    let kept: String = title
        .chars()
        .filter_map(fold_to_ascii)
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || c.is_ascii_whitespace())
        .collect();
    let lowered = kept.trim().to_ascii_lowercase();
    let mut slug = String::with_capacity(lowered.len());
    let mut in_sep = false;
    for c in lowered.chars() {
        if c == '-' || c.is_ascii_whitespace() {
            if !in_sep {
                slug.push('-');
            }
            in_sep = true;
        } else {
            slug.push(c);
            in_sep = false;
        }
    }
    slug
}

/// NFKD + ASCII-ignore for the common Latin letters; other non-ASCII characters are dropped.
fn fold_to_ascii(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    let folded = match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'À'..='Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => 'C',
        'ď' => 'd',
        'Ď' => 'D',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'È'..='Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => 'E',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => 'G',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' => 'i',
        'Ì'..='Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => 'I',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => 'N',
        'ò'..='ö' | 'ō' | 'ŏ' | 'ő' => 'o',
        'Ò'..='Ö' | 'Ō' | 'Ŏ' | 'Ő' => 'O',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'Ŕ' | 'Ŗ' | 'Ř' => 'R',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'Ś' | 'Ŝ' | 'Ş' | 'Š' => 'S',
        'ţ' | 'ť' => 't',
        'Ţ' | 'Ť' => 'T',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'Ù'..='Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' | 'Ÿ' => 'Y',
        'ź' | 'ż' | 'ž' => 'z',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        _ => return None,
    };
    Some(folded)
}

/// Python-Markdown `toc`'s `unique`: an empty or taken id gets `_1`, then `_2`, ….
pub fn unique(id: String, used: &mut HashSet<String>) -> String {
    let mut id = id;
    while id.is_empty() || used.contains(&id) {
        id = match id.rsplit_once('_') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                match n.parse::<u64>() {
                    Ok(n) => format!("{base}_{}", n.saturating_add(1)),
                    Err(_) => format!("{id}_1"),
                }
            }
            _ => format!("{id}_1"),
        };
    }
    used.insert(id.clone());
    id
}

/// Keeps relative URLs and `http`, `https`, `mailto`, `tel`, `ftp`; anything else becomes `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore leading spaces/controls and tabs or newlines anywhere in a URL.
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let scheme_end =
        cleaned.find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'));
    let safe = match scheme_end {
        Some(end) if cleaned[end..].starts_with(':') => {
            let scheme = cleaned[..end].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel" | "ftp")
        }
        _ => true,
    };
    if safe {
        url
    } else {
        CowStr::from("#")
    }
}

/// A GitHub alert's admonition type and title: `> [!WARNING]` → (`warning`, `Warning`).
pub fn alert_kind(kind: BlockQuoteKind) -> (&'static str, &'static str) {
    match kind {
        BlockQuoteKind::Note => ("note", "Note"),
        BlockQuoteKind::Tip => ("tip", "Tip"),
        BlockQuoteKind::Important => ("important", "Important"),
        BlockQuoteKind::Warning => ("warning", "Warning"),
        BlockQuoteKind::Caution => ("caution", "Caution"),
    }
}

/// An admonition or details block found by the pre-pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admonition {
    /// CSS classes, the first being the type (`note`, `warning`, …).
    pub classes: Vec<String>,
    /// `None` = the type capitalised; `Some("")` = no title.
    pub title: Option<String>,
    /// `None` for `!!!`; `Some(open)` for `???` / `???+`.
    pub details: Option<bool>,
}

impl Admonition {
    /// The type (`note`, `warning`, …), lower-cased as written.
    pub fn kind(&self) -> &str {
        self.classes.first().map(String::as_str).unwrap_or("note")
    }

    /// The title shown: as written, or the type capitalised; empty for an explicit `""`.
    pub fn title(&self) -> String {
        match &self.title {
            Some(t) => t.clone(),
            None => title_from_location(self.classes.first().map(String::as_str).unwrap_or("note")),
        }
    }

    fn open_html(&self) -> String {
        let classes = escape_html(&self.classes.join(" "));
        let title = escape_html(&self.title());
        match self.details {
            None if title.is_empty() => format!("<div class=\"admonition {classes}\">\n"),
            None => format!(
                "<div class=\"admonition {classes}\">\n<p class=\"admonition-title\">{title}</p>\n"
            ),
            Some(open) => {
                let open = if open { " open" } else { "" };
                format!("<details class=\"{classes}\"{open}>\n<summary>{title}</summary>\n")
            }
        }
    }

    fn close_html(&self) -> &'static str {
        if self.details.is_some() {
            "</details>\n"
        } else {
            "</div>\n"
        }
    }
}

/// `s` safe inside HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The title text inside our own admonition opening markup, for the plain text.
fn admonition_title_text(html: &str) -> Option<String> {
    for (open, close) in [
        ("<p class=\"admonition-title\">", "</p>"),
        ("<summary>", "</summary>"),
    ] {
        if let Some(start) = html.find(open) {
            let rest = &html[start + open.len()..];
            let end = rest.find(close)?;
            return Some(unescape(&rest[..end]));
        }
    }
    None
}

/// If `events[i..i+3]` is a marker paragraph written by the pre-pass, the HTML that replaces it.
fn marker_at(events: &[Event], i: usize, admonitions: &[Admonition]) -> Option<Event<'static>> {
    match (events.get(i), events.get(i + 1), events.get(i + 2)) {
        (
            Some(Event::Start(Tag::Paragraph)),
            Some(Event::Text(t)),
            Some(Event::End(TagEnd::Paragraph)),
        ) => match admonition_marker(t)? {
            AdmonitionMarker::Open(n) => Some(Event::Html(admonitions.get(n)?.open_html().into())),
            AdmonitionMarker::Close(n) => {
                Some(Event::Html(admonitions.get(n)?.close_html().into()))
            }
        },
        _ => None,
    }
}

/// Width of a line's leading whitespace (a tab counts as 4).
fn indent_width(line: &str) -> usize {
    let mut width = 0;
    for c in line.chars() {
        match c {
            ' ' => width += 1,
            '\t' => width += 4 - width % 4,
            _ => break,
        }
    }
    width
}

/// Removes up to `width` columns of leading whitespace.
fn dedent(line: &str, width: usize) -> &str {
    let mut col = 0;
    for (idx, c) in line.char_indices() {
        if col >= width {
            return &line[idx..];
        }
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => return &line[idx..],
        }
    }
    ""
}

/// Parses `!!! type "Title"`, `??? type`, `???+ type extra-class "Title"`.
fn parse_admonition_header(line: &str) -> Option<Admonition> {
    let rest = line.trim_start();
    let (details, rest) = if let Some(r) = rest.strip_prefix("!!!") {
        (None, r)
    } else if let Some(r) = rest.strip_prefix("???+") {
        (Some(true), r)
    } else if let Some(r) = rest.strip_prefix("???") {
        (Some(false), r)
    } else {
        return None;
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim();
    let (class_part, title) = match rest.find('"') {
        Some(q) => {
            let after = &rest[q + 1..];
            let end = after.rfind('"')?;
            if !after[end + 1..].trim().is_empty() {
                return None;
            }
            (&rest[..q], Some(after[..end].to_string()))
        }
        None => (rest, None),
    };
    let classes: Vec<String> = class_part.split_whitespace().map(str::to_string).collect();
    let valid = |c: &String| {
        c.chars()
            .all(|ch| ch.is_alphanumeric() || ch == '-' || ch == '_')
    };
    if classes.is_empty() || !classes.iter().all(valid) {
        return None;
    }
    Some(Admonition {
        classes,
        title,
        details,
    })
}

/// What the pre-pass does with what it finds: the HTML renderer writes marker paragraphs it later swaps for
/// its own markup; the terminal's writes block quotes (see [`admonitions_as_quotes`]).
trait BlockWriter {
    /// An ordinary line outside fenced code (fenced code is copied as it is).
    fn line(&mut self, line: &str, out: &mut String);
    /// An admonition whose body (dedented, already expanded) is `inner`, at the indentation `pad`.
    fn block(&mut self, adm: Admonition, inner: &str, pad: &str, out: &mut String);
}

/// [`render_page`]'s writer: marker paragraphs numbered into `admonitions`.
struct MarkerWriter<'a> {
    admonitions: &'a mut Vec<Admonition>,
}

impl BlockWriter for MarkerWriter<'_> {
    fn line(&mut self, line: &str, out: &mut String) {
        out.push_str(line);
        out.push('\n');
    }

    fn block(&mut self, adm: Admonition, inner: &str, pad: &str, out: &mut String) {
        let n = self.admonitions.len();
        self.admonitions.push(adm);
        out.push('\n');
        out.push_str(&format!("{pad}{MARK}ADMOPEN{n}{MARK}\n\n"));
        for l in inner.lines() {
            if !l.is_empty() {
                out.push_str(pad);
            }
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(&format!("\n{pad}{MARK}ADMCLOSE{n}{MARK}\n\n"));
    }
}

/// The pre-pass for [`render_page`]: each admonition becomes marker paragraphs around its body.
fn expand_admonitions(lines: &[&str], out: &mut String, admonitions: &mut Vec<Admonition>) {
    walk_admonitions(lines, out, &mut MarkerWriter { admonitions });
}

/// [`admonitions_as_quotes`]' writer.
struct QuoteWriter;

impl BlockWriter for QuoteWriter {
    fn line(&mut self, line: &str, out: &mut String) {
        // `> [!NOTE]` (a GitHub alert's first line) → `> **Note**`.
        let trimmed = line.trim_start();
        let alert = trimmed
            .strip_prefix('>')
            .map(str::trim)
            .and_then(|rest| rest.strip_prefix("[!"))
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|kind| {
                Some(match kind.to_ascii_uppercase().as_str() {
                    "NOTE" => "Note",
                    "TIP" => "Tip",
                    "IMPORTANT" => "Important",
                    "WARNING" => "Warning",
                    "CAUTION" => "Caution",
                    _ => return None,
                })
            });
        match alert {
            Some(title) => {
                let pad = &line[..line.len() - trimmed.len()];
                out.push_str(&format!("{pad}> **{title}**\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }

    fn block(&mut self, adm: Admonition, inner: &str, pad: &str, out: &mut String) {
        let title = adm.title();
        out.push('\n');
        if !title.is_empty() {
            out.push_str(&format!("{pad}> **{}**\n", title.trim()));
        }
        // Blank lines around the body are noise inside a quote; blank lines within it stay as `>`.
        let body: Vec<&str> = inner.lines().collect();
        let first = body.iter().position(|l| !l.trim().is_empty());
        let last = body.iter().rposition(|l| !l.trim().is_empty());
        if let (Some(first), Some(last)) = (first, last) {
            for l in &body[first..=last] {
                if l.trim().is_empty() {
                    out.push_str(&format!("{pad}>\n"));
                } else {
                    out.push_str(&format!("{pad}> {l}\n"));
                }
            }
        }
        out.push('\n');
    }
}

/// `markdown` with its admonitions (`!!! note "Title"`) and details (`??? note`, `???+ note`) rewritten as
/// block quotes whose first line is the bold title (nested ones nest), and GitHub alerts' `> [!NOTE]` line
/// as a bold title: for renderers that know plain markdown only, such as a terminal's. Fenced code is left
/// alone.
pub fn admonitions_as_quotes(markdown: &str) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = String::with_capacity(markdown.len() + 64);
    walk_admonitions(&lines, &mut out, &mut QuoteWriter);
    out
}

/// The pre-pass: finds each admonition (its header and the body indented under it, expanded recursively)
/// outside fenced code, and hands it to `writer`.
fn walk_admonitions(lines: &[&str], out: &mut String, writer: &mut dyn BlockWriter) {
    let mut fence: Option<(char, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some((ch, len)) = fence {
            let run = trimmed.chars().take_while(|c| *c == ch).count();
            if run >= len && trimmed[run..].trim().is_empty() {
                fence = None;
            }
            out.push_str(line);
            out.push('\n');
            i += 1;
            continue;
        }
        let run_of = |ch: char| trimmed.chars().take_while(|c| *c == ch).count();
        if run_of('`') >= 3 {
            fence = Some(('`', run_of('`')));
        } else if run_of('~') >= 3 {
            fence = Some(('~', run_of('~')));
        }
        if fence.is_some() {
            out.push_str(line);
            out.push('\n');
            i += 1;
            continue;
        }
        let indent = indent_width(line);
        let Some(adm) = parse_admonition_header(line) else {
            writer.line(line, out);
            i += 1;
            continue;
        };
        // The body: following blank lines or lines indented by at least 4 more columns.
        let mut end = i + 1;
        let mut last_content = i;
        while end < lines.len() {
            let l = lines[end];
            if l.trim().is_empty() {
                end += 1;
            } else if indent_width(l) >= indent + 4 {
                last_content = end;
                end += 1;
            } else {
                break;
            }
        }
        let body: Vec<&str> = lines[i + 1..=last_content]
            .iter()
            .map(|l| dedent(l, indent + 4))
            .collect();
        let mut inner = String::new();
        walk_admonitions(&body, &mut inner, writer);
        writer.block(adm, &inner, &" ".repeat(indent), out);
        i = last_content + 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn emoji_shortcodes_outside_code() {
        let text = |s: &str| emoji_shortcodes(CowStr::from(s)).to_string();
        assert_eq!(text("launch :rocket: now"), "launch 🚀 now");
        assert_eq!(text("at 10:30 :tada:"), "at 10:30 🎉");
        assert_eq!(text(":not-an-emoji: :+1:"), ":not-an-emoji: 👍");
        assert_eq!(text("a:b"), "a:b");
        assert_eq!(text("::"), "::");
        let page = render_page(
            "a.md",
            "# Done :white_check_mark:\n\n`:rocket:`\n\n```\n:rocket:\n```\n",
        );
        assert!(page.html.contains("Done ✅"), "{}", page.html);
        assert_eq!(page.html.matches(":rocket:").count(), 2, "{}", page.html);
    }

    use super::*;

    #[test]
    fn title_is_first_h1() {
        let page = render_page("guide.md", "Intro\n\n## Setup\n\n# The Guide\n\n# Other\n");
        assert_eq!(page.title, "The Guide");
    }

    #[test]
    fn title_from_front_matter_wins() {
        let page = render_page("guide.md", "---\ntitle: \"From Meta\"\n---\n\n# Heading\n");
        assert_eq!(page.title, "From Meta");
        assert!(!page.text.contains("title:"));
        assert!(!page.html.contains("title:"));
    }

    #[test]
    fn title_from_file_name() {
        assert_eq!(
            render_page("getting-started.md", "no heading").title,
            "Getting started"
        );
        assert_eq!(
            render_page("docs/my_page.md", "## only h2").title,
            "My page"
        );
        assert_eq!(render_page("FAQ-Page.md", "").title, "FAQ Page");
        assert_eq!(render_page("index.md", "").title, "Home");
        assert_eq!(render_page("README.md", "").title, "Home");
        assert_eq!(render_page("deeper-nav/index.md", "").title, "Deeper nav");
    }

    #[test]
    fn anchors_like_mkdocs_toc() {
        let md = "# Hello, World!\n## Hello World\n## Hello   World\n### What's new? (v2.0)\n## Žluťoučký kůň\n\
                  ## `code` and *em*\n## Hello World_1\n## !!!\n## !!!\n";
        let page = render_page("a.md", md);
        let anchors: Vec<&str> = page.headings.iter().map(|h| h.anchor.as_str()).collect();
        assert_eq!(
            anchors,
            [
                "hello-world",
                "hello-world_1",
                "hello-world_2",
                "whats-new-v20",
                "zlutoucky-kun",
                "code-and-em",
                "hello-world_3",
                "_1",
                "_2"
            ]
        );
        assert_eq!(page.headings[0].level, 1);
        assert_eq!(page.headings[3].level, 3);
        assert_eq!(page.headings[5].title, "code and em");
        assert!(page.html.contains("<h1 id=\"hello-world\">"));
        assert!(page.html.contains("<h2 id=\"hello-world_1\">"));
    }

    #[test]
    fn plain_text_and_sections() {
        let md =
            "# Title\n\nIntro *with* `code` and [a link](x.md).\n\n## Part\n\n- one\n- two\n\n\
                  | A | B |\n|---|---|\n| 1 | 2 |\n\n```sh\necho hi\n```\n";
        let page = render_page("a.md", md);
        assert!(!page.text.contains('*'));
        assert!(!page.text.contains('<'));
        assert!(page.text.starts_with("Title\nIntro with code and a link."));
        assert!(page.text.contains("one\ntwo"));
        assert!(page.text.contains("echo hi"));
        assert_eq!(page.headings[0].text, "Intro with code and a link.");
        assert_eq!(page.headings[1].text, "one two A B 1 2 echo hi");
    }

    #[test]
    fn raw_html_is_escaped() {
        let md =
            "# T\n\n<script>alert(1)</script>\n\nInline <img src=x onerror=alert(1)> here.\n\n\
                  <div onclick=\"x()\">\nblock\n</div>\n";
        let page = render_page("a.md", md);
        assert!(!page.html.contains("<script"), "{}", page.html);
        assert!(!page.html.contains("<img"), "{}", page.html);
        assert!(!page.html.contains("<div"), "{}", page.html);
        assert!(page.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn dangerous_urls_are_neutralised() {
        let md = "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](<java\tscript:x>) \
                  ![d](data:text/html;base64,PHNjcmlwdD4=) <javascript:alert(2)> [e](&#106;avascript:x) \
                  [ok](https://example.com) [rel](other.md#x) [mail](mailto:a@b.c) [anchor](#top)";
        let page = render_page("a.md", md);
        let lower = page.html.to_ascii_lowercase();
        assert!(!lower.contains("href=\"javascript"), "{}", page.html);
        assert!(!lower.contains("href=\"java"), "{}", page.html);
        assert!(!lower.contains("src=\"data:"), "{}", page.html);
        assert_eq!(page.html.matches("href=\"#\"").count(), 5, "{}", page.html);
        assert!(page.html.contains("href=\"https://example.com\""));
        assert!(page.html.contains("href=\"../other/#x\""), "{}", page.html);
        assert!(page.html.contains("href=\"mailto:a@b.c\""));
        assert!(page.html.contains("href=\"#top\""));
    }

    #[test]
    fn admonitions_and_details() {
        let md = "# T\n\n!!! note \"Read <this>\"\n    Body **bold**.\n\n    Second para.\n\nAfter.\n\n\
                  !!! warning\n    Careful.\n\n??? tip \"Click\"\n    Hidden.\n\n???+ info\n    Open.\n\n\
                  !!! danger \"\"\n    No title.\n\n```\n!!! note\n    inside a fence\n```\n";
        let page = render_page("a.md", md);
        let html = &page.html;
        assert!(
            html.contains("<div class=\"admonition note\">\n<p class=\"admonition-title\">Read &lt;this&gt;</p>"),
            "{html}"
        );
        assert!(
            html.contains("<p>Body <strong>bold</strong>.</p>"),
            "{html}"
        );
        assert!(html.contains("<p>Second para.</p>\n</div>"), "{html}");
        assert!(html.contains("<p>After.</p>"), "{html}");
        assert!(
            html.contains("<p class=\"admonition-title\">Warning</p>"),
            "{html}"
        );
        assert!(
            html.contains("<details class=\"tip\">\n<summary>Click</summary>"),
            "{html}"
        );
        assert!(
            html.contains("<details class=\"info\" open>\n<summary>Info</summary>"),
            "{html}"
        );
        assert!(
            html.contains("<div class=\"admonition danger\">\n<p>No title.</p>"),
            "{html}"
        );
        assert!(
            html.contains("<code>!!! note\n    inside a fence\n</code>"),
            "{html}"
        );
        assert_eq!(html.matches("<div").count(), html.matches("</div>").count());
        assert!(
            page.text.contains("Read <this>\nBody bold."),
            "{}",
            page.text
        );
        assert!(!page.text.contains('\u{E000}'));
    }

    #[test]
    fn nested_admonition() {
        let md = "!!! note\n    Outer.\n\n    !!! tip\n        Inner.\n";
        let html = render_page("a.md", md).html;
        assert!(html.contains("<div class=\"admonition tip\">"), "{html}");
        assert!(html.contains("<p>Inner.</p>\n</div>\n</div>"), "{html}");
    }

    #[test]
    fn github_alerts() {
        let html = render_page("a.md", "> [!WARNING]\n> Be careful.\n").html;
        assert!(
            html.contains(
                "<div class=\"admonition warning\">\n<p class=\"admonition-title\">Warning</p>"
            ),
            "{html}"
        );
        assert!(html.contains("Be careful."));
        assert!(!html.contains("blockquote"));
    }

    #[test]
    fn markers_cannot_be_forged() {
        let html = render_page("a.md", "!!! note\n    x\n\n\u{E000}ADMCLOSE0\u{E000}\n").html;
        assert_eq!(html.matches("</div>").count(), 1, "{html}");
    }

    #[test]
    fn extensions_tables_tasklists_footnotes_strikethrough() {
        let md = "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n~~old~~\n\nNote[^1].\n\n[^1]: Foot.\n";
        let html = render_page("a.md", md).html;
        assert!(html.contains("<table>"));
        assert!(html.contains("type=\"checkbox\""));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains("footnote"));
    }

    #[test]
    fn fixture_extensions_page() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/techdocs/backstage-documented-component/docs/extensions.md"
        );
        let Ok(md) = std::fs::read_to_string(path) else {
            return;
        };
        let page = render_page("extensions.md", &md);
        assert_eq!(page.title, "Plugins & Extensions");
        assert_eq!(page.headings[0].anchor, "plugins-extensions");
        assert!(page.html.contains("<div class=\"admonition warn\">"));
        assert!(page.html.contains("<details class=\"note\" open>"));
        assert!(page.headings.iter().any(|h| h.anchor == "task-lists"));
    }

    #[test]
    fn admonitions_become_titled_quotes() {
        let md = "Intro\n\n!!! warning \"Mind the gap\"\n    First line.\n\n    Second.\n\nAfter\n";
        assert_eq!(
            admonitions_as_quotes(md),
            "Intro\n\n\n> **Mind the gap**\n> First line.\n>\n> Second.\n\n\nAfter\n"
        );
        // No title given: the type, capitalised; `""` means no title line at all.
        assert_eq!(
            admonitions_as_quotes("??? tip\n    Hidden.\n"),
            "\n> **Tip**\n> Hidden.\n\n"
        );
        assert_eq!(
            admonitions_as_quotes("!!! note \"\"\n    Body.\n"),
            "\n> Body.\n\n"
        );
    }

    #[test]
    fn nested_admonitions_nest_quotes_and_fences_are_left_alone() {
        let md = "!!! note\n    Outer.\n\n    ???+ danger \"Inner\"\n        Deep.\n";
        let out = admonitions_as_quotes(md);
        assert!(out.contains("> **Note**\n> Outer.\n"), "{out}");
        assert!(out.contains("> > **Inner**\n> > Deep.\n"), "{out}");
        let fenced = "```\n!!! note\n    not an admonition\n> [!NOTE]\n```\n";
        assert_eq!(admonitions_as_quotes(fenced), fenced);
    }

    #[test]
    fn github_alerts_get_a_bold_title() {
        assert_eq!(
            admonitions_as_quotes("> [!WARNING]\n> Careful.\n"),
            "> **Warning**\n> Careful.\n"
        );
        assert_eq!(
            admonitions_as_quotes("  > [!tip]\n  > Try.\n"),
            "  > **Tip**\n  > Try.\n"
        );
        // Not a known kind: left as written.
        assert_eq!(admonitions_as_quotes("> [!FOO]\n"), "> [!FOO]\n");
    }
}
