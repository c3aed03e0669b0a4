//! The search overlay's state: the input, which results are shown (fuzzy names or full text), the list of
//! every entity's name, title and ref the fuzzy results come from, the last full-text answer (already
//! sanitized and split into highlighted segments, so drawing does no parsing) and the recent searches.
//! Only `search::update` changes it; `search::view` draws from it.

use std::path::PathBuf;

use stagedoor_core::search::{SearchResult, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS};
use stagedoor_core::{Entity, EntityRef};

use super::super::fuzzy::FuzzyFilter;
use super::super::msg::RequestId;
use super::super::text::sanitize;

/// How many recent search terms are remembered.
pub const RECENT: usize = 20;

/// The recent searches' file name, under the state directory.
pub const RECENT_FILE: &str = "recent_searches.json";

/// Characters of a snippet kept before its first highlight, so the hit shows on a one-line snippet.
const SNIPPET_LEAD: usize = 40;

/// Which results the overlay shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Entity names, titles and refs, matched locally at every keystroke.
    Fuzzy,
    /// The portal's full-text search over the catalog and TechDocs.
    FullText,
}

/// The document types full text searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFilter {
    All,
    Catalog,
    Docs,
}

impl TypeFilter {
    pub fn next(self) -> TypeFilter {
        match self {
            TypeFilter::All => TypeFilter::Catalog,
            TypeFilter::Catalog => TypeFilter::Docs,
            TypeFilter::Docs => TypeFilter::All,
        }
    }

    /// The `types` of the search query (empty: every type).
    pub fn types(self) -> Vec<String> {
        match self {
            TypeFilter::All => Vec::new(),
            TypeFilter::Catalog => vec![TYPE_SOFTWARE_CATALOG.to_string()],
            TypeFilter::Docs => vec![TYPE_TECHDOCS.to_string()],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TypeFilter::All => "all",
            TypeFilter::Catalog => "software-catalog",
            TypeFilter::Docs => "techdocs",
        }
    }
}

/// One entity of the fuzzy list, sanitized once when it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct NameEntry {
    pub entity_ref: EntityRef,
    pub kind: String,
    pub name: String,
    pub title: String,
    /// `kind:namespace/name`, as shown.
    pub shown_ref: String,
    /// Name and title: what a fuzzy query matches against (a query with `:` or `/` matches the ref).
    pub haystack: String,
}

impl NameEntry {
    pub fn from_entity(entity: &Entity) -> NameEntry {
        let entity_ref = entity.entity_ref();
        let name = sanitize(entity.name());
        let title = entity.title().map(sanitize).unwrap_or_default();
        let shown_ref = sanitize(&entity_ref.canonical());
        let haystack = if title.is_empty() {
            name.clone()
        } else {
            format!("{name} {title}")
        };
        NameEntry {
            kind: sanitize(entity.kind()),
            entity_ref,
            name,
            title,
            shown_ref,
            haystack,
        }
    }
}

/// Whether the name list is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamesLoad {
    /// Not asked yet.
    Idle,
    /// Pages are coming in (what arrived is already searchable).
    Loading,
    Ready,
    Failed(String),
}

/// Every entity's name, title and ref, for fuzzy results without a round trip.
#[derive(Debug, Clone)]
pub struct Names {
    pub entries: Vec<NameEntry>,
    pub load: NamesLoad,
    /// The page request in flight.
    pub request: Option<RequestId>,
}

/// A piece of highlighted text: `hit` pieces are what the search matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// Where Enter takes a full-text result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Entity(EntityRef),
    /// The docs reader of `entity_ref` at the page whose URL is `url` (empty: the home page), scrolled to
    /// `anchor`.
    Docs {
        entity_ref: EntityRef,
        url: String,
        anchor: Option<String>,
    },
    /// A document whose location names nothing the TUI can open.
    Nowhere,
}

/// A full-text result, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextHit {
    /// `catalog` or `docs` (the short label), or the document type as sent.
    pub label: String,
    pub title: Vec<Segment>,
    /// The entity (and, for docs, the page path), muted beside the title.
    pub subtitle: String,
    pub snippet: Vec<Segment>,
    pub target: Target,
}

impl TextHit {
    pub fn from_result(result: &SearchResult) -> TextHit {
        let (pre, post) = result
            .highlight
            .as_ref()
            .map(|h| (h.pre_tag.as_str(), h.post_tag.as_str()))
            .unwrap_or(("", ""));
        let field = |name: &str| -> Vec<Segment> {
            match result.highlight.as_ref().and_then(|h| h.fields.get(name)) {
                Some(marked) => segments(marked, pre, post),
                None => plain(result.field(name).unwrap_or("")),
            }
        };
        let location = result.field("location").unwrap_or("");
        let target = target_of(result, location);
        let label = match result.doc_type.as_str() {
            TYPE_SOFTWARE_CATALOG => "catalog".to_string(),
            TYPE_TECHDOCS => "docs".to_string(),
            other => sanitize(other),
        };
        let subtitle = match &target {
            Target::Entity(r) => sanitize(&r.canonical()),
            Target::Docs {
                entity_ref, url, ..
            } => {
                let owner = result
                    .field("entityTitle")
                    .filter(|t| !t.trim().is_empty())
                    .map(sanitize)
                    .unwrap_or_else(|| sanitize(&entity_ref.canonical()));
                if url.is_empty() {
                    owner
                } else {
                    format!("{owner} › {}", sanitize(url.trim_end_matches('/')))
                }
            }
            Target::Nowhere => sanitize(location),
        };
        let mut title = field("title");
        if title.iter().all(|s| s.text.trim().is_empty()) {
            title = plain(result.field("name").unwrap_or("(untitled)"));
        }
        TextHit {
            label,
            title,
            subtitle,
            snippet: lead_to_first_hit(collapse(field("text"))),
            target,
        }
    }
}

/// What was typed before: the last [`RECENT`] terms, newest first.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub terms: Vec<String>,
    /// The file they are kept in; `None`: not kept (tests, no home directory).
    pub path: Option<PathBuf>,
    /// The file was asked for already.
    pub requested: bool,
}

impl Recent {
    /// Puts `term` first (moving it if it was there), keeping [`RECENT`].
    pub fn remember(&mut self, term: &str) {
        let term = term.trim();
        if term.is_empty() {
            return;
        }
        self.terms.retain(|t| t != term);
        self.terms.insert(0, term.to_string());
        self.terms.truncate(RECENT);
    }
}

/// The last full-text answer, and the request it waits for.
#[derive(Debug, Clone, Default)]
pub struct FullText {
    pub request: Option<RequestId>,
    /// The term `hits` answer.
    pub term: String,
    pub hits: Vec<TextHit>,
    pub error: Option<String>,
    /// The portal has more results than shown.
    pub more: bool,
}

pub struct SearchState {
    pub open: bool,
    pub input: String,
    pub mode: SearchMode,
    pub types: TypeFilter,
    /// The cursor: an index into the recent terms (empty input), fuzzy hits or full-text hits.
    pub selected: usize,
    pub names: Names,
    /// Indices into `names.entries`, best first.
    pub fuzzy_hits: Vec<usize>,
    /// The query, entry count and text (ref or not) `fuzzy_hits` was computed for (see `refilter`).
    filtered_by: String,
    filtered_len: usize,
    filtered_refs: bool,
    pub full: FullText,
    pub recent: Recent,
}

impl Default for SearchState {
    fn default() -> Self {
        SearchState {
            open: false,
            input: String::new(),
            mode: SearchMode::Fuzzy,
            types: TypeFilter::All,
            selected: 0,
            names: Names {
                entries: Vec::new(),
                load: NamesLoad::Idle,
                request: None,
            },
            fuzzy_hits: Vec::new(),
            filtered_by: String::new(),
            filtered_len: 0,
            filtered_refs: false,
            full: FullText::default(),
            recent: Recent::default(),
        }
    }
}

impl SearchState {
    /// Whether the list shows recent terms (nothing typed yet).
    pub fn showing_recent(&self) -> bool {
        self.input.trim().is_empty()
    }

    /// How many rows the list has.
    pub fn len(&self) -> usize {
        if self.showing_recent() {
            self.recent.terms.len()
        } else {
            match self.mode {
                SearchMode::Fuzzy => self.fuzzy_hits.len(),
                SearchMode::FullText => self.full.hits.len(),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Recomputes the fuzzy hits for the input. A query typed on from the last one searches only the last
    /// hits (when no names arrived in between), as the `/` filter does: that keeps a keystroke over
    /// 100,000 names within a frame.
    pub fn refilter(&mut self, fuzzy: &FuzzyFilter) {
        let query = self.input.trim();
        if query.is_empty() {
            self.fuzzy_hits.clear();
            self.filtered_by.clear();
            self.filtered_len = self.names.entries.len();
            return;
        }
        let entries = &self.names.entries;
        // A query that looks like a ref (`api:ship`, `default/pay`) matches refs; any other matches names
        // and titles only: half the text per entry (a keystroke over 100,000 stays within a frame), and
        // `component:default/` does not make every query match every component.
        let refs = query.contains(':') || query.contains('/');
        let row = |i: usize| {
            let e = &entries[i];
            let text = if refs { &e.shown_ref } else { &e.haystack };
            (i, e.name.as_str(), text.as_str())
        };
        let narrowing = self.filtered_len == entries.len()
            && self.filtered_refs == refs
            && FuzzyFilter::narrows(&self.filtered_by, query);
        self.fuzzy_hits = if narrowing {
            let previous = std::mem::take(&mut self.fuzzy_hits);
            fuzzy.rank(query, previous.into_iter().map(row))
        } else {
            fuzzy.rank(query, (0..entries.len()).map(row))
        };
        self.filtered_by = query.to_string();
        self.filtered_len = entries.len();
        self.filtered_refs = refs;
    }

    /// Forgets the fuzzy hits and what they were computed for, so the next query is matched against every
    /// name (narrowing from hits that were cleared would find nothing).
    pub fn clear_hits(&mut self) {
        self.fuzzy_hits.clear();
        self.filtered_by.clear();
        self.filtered_len = 0;
        self.filtered_refs = false;
    }

    /// The fuzzy hit under the cursor.
    pub fn selected_entry(&self) -> Option<&NameEntry> {
        self.fuzzy_hits
            .get(self.selected)
            .and_then(|&i| self.names.entries.get(i))
    }
}

/// `text` split at the highlight tags: the parts between `pre` and `post` are hits. Every part is
/// sanitized (the tags and the text are the portal's; neither may reach the terminal raw).
pub fn segments(text: &str, pre: &str, post: &str) -> Vec<Segment> {
    if pre.is_empty() || post.is_empty() {
        return plain(text);
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(pre) {
        push(&mut out, &rest[..start], false);
        let after = &rest[start + pre.len()..];
        match after.find(post) {
            Some(end) => {
                push(&mut out, &after[..end], true);
                rest = &after[end + post.len()..];
            }
            // An unclosed tag highlights to the end rather than showing the tag.
            None => {
                push(&mut out, after, true);
                rest = "";
            }
        }
    }
    push(&mut out, rest, false);
    out
}

fn plain(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    push(&mut out, text, false);
    out
}

fn push(out: &mut Vec<Segment>, text: &str, hit: bool) {
    let text = sanitize(text);
    if !text.is_empty() {
        out.push(Segment { text, hit });
    }
}

/// Runs of whitespace made one space (a snippet is one line; the text has paragraphs).
fn collapse(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    let mut last_space = true;
    for s in segments {
        let mut text = String::with_capacity(s.text.len());
        for c in s.text.chars() {
            if c.is_whitespace() {
                if !last_space {
                    text.push(' ');
                }
                last_space = true;
            } else {
                text.push(c);
                last_space = false;
            }
        }
        if !text.is_empty() {
            out.push(Segment { text, hit: s.hit });
        }
    }
    out
}

/// Cuts the text before the first hit down to [`SNIPPET_LEAD`] characters, so a hit deep in a page is on
/// the one line the snippet has.
fn lead_to_first_hit(mut segments: Vec<Segment>) -> Vec<Segment> {
    let Some(first) = segments.iter().position(|s| s.hit) else {
        return segments;
    };
    let before: usize = segments[..first]
        .iter()
        .map(|s| s.text.chars().count())
        .sum();
    if before <= SNIPPET_LEAD {
        return segments;
    }
    let lead: String = segments[..first]
        .iter()
        .map(|s| s.text.as_str())
        .collect::<String>()
        .chars()
        .skip(before - SNIPPET_LEAD)
        .collect();
    // Start at a word, not in the middle of one.
    let lead = match lead.find(' ') {
        Some(space) if space + 1 < lead.len() => lead[space + 1..].to_string(),
        _ => lead,
    };
    segments.drain(..first);
    segments.insert(
        0,
        Segment {
            text: format!("…{lead}"),
            hit: false,
        },
    );
    segments
}

/// Where a result leads: its location (`/catalog/ns/kind/name`, `/docs/ns/kind/name/path#anchor`), else for
/// a catalog document its kind, namespace and name fields.
fn target_of(result: &SearchResult, location: &str) -> Target {
    if let Some(target) = parse_location(location) {
        return target;
    }
    if result.doc_type == TYPE_SOFTWARE_CATALOG {
        if let (Some(kind), Some(name)) = (result.field("kind"), result.field("name")) {
            let namespace = result.field("namespace").unwrap_or("default");
            return Target::Entity(EntityRef::new(kind, namespace, name));
        }
    }
    Target::Nowhere
}

/// Parses Backstage's result locations: `/catalog/:namespace/:kind/:name` and
/// `/docs/:namespace/:kind/:name/:path#anchor` (path and anchor optional). Segments are percent-decoded.
pub fn parse_location(location: &str) -> Option<Target> {
    let (path, anchor) = match location.split_once('#') {
        Some((p, a)) => (p, (!a.is_empty()).then(|| decode(a))),
        None => (location, None),
    };
    // A location may be absolute (`https://portal/docs/...`): only the path matters.
    let path = match path.find("://") {
        Some(scheme) => {
            let rest = &path[scheme + 3..];
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        None => path,
    };
    let path = path.split('?').next().unwrap_or("");
    let mut parts = path.trim_start_matches('/').splitn(5, '/');
    let root = parts.next()?;
    let namespace = decode(parts.next().filter(|s| !s.is_empty())?);
    let kind = decode(parts.next().filter(|s| !s.is_empty())?);
    let name = decode(parts.next().filter(|s| !s.is_empty())?);
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    match root {
        "catalog" => Some(Target::Entity(entity_ref)),
        "docs" => Some(Target::Docs {
            entity_ref,
            url: decode(parts.next().unwrap_or("")),
            anchor,
        }),
        _ => None,
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are, invalid UTF-8 replaced).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_tags_become_segments() {
        let s = segments("the <b>runbook</b> says <b>lag", "<b>", "</b>");
        let hits: Vec<_> = s
            .iter()
            .filter(|s| s.hit)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(hits, ["runbook", "lag"]);
        assert_eq!(s[0].text, "the ");
        // Escape sequences in the text never survive.
        let s = segments("a\u{1b}[31m<b>red</b>", "<b>", "</b>");
        assert!(s.iter().all(|s| !s.text.contains('\u{1b}')));
    }

    #[test]
    fn snippets_lead_to_the_first_hit() {
        let long = format!("{} <b>hit</b> after", "word ".repeat(40));
        let s = lead_to_first_hit(collapse(segments(&long, "<b>", "</b>")));
        assert!(s[0].text.starts_with('…'));
        assert!(s[0].text.chars().count() <= SNIPPET_LEAD + 1);
        assert!(s[0].text.starts_with("…word"), "{:?}", s[0].text);
        assert!(s[1].hit);
    }

    #[test]
    fn locations_parse() {
        assert_eq!(
            parse_location("/catalog/default/component/shipment-tracker"),
            Some(Target::Entity(EntityRef::new(
                "component",
                "default",
                "shipment-tracker"
            )))
        );
        assert_eq!(
            parse_location(
                "/docs/default/component/shipment-tracker/operations/runbook/#worker-lag"
            ),
            Some(Target::Docs {
                entity_ref: EntityRef::new("component", "default", "shipment-tracker"),
                url: "operations/runbook/".to_string(),
                anchor: Some("worker-lag".to_string()),
            })
        );
        assert_eq!(
            parse_location("/docs/ns/api/my%20api"),
            Some(Target::Docs {
                entity_ref: EntityRef::new("api", "ns", "my api"),
                url: String::new(),
                anchor: None,
            })
        );
        assert_eq!(parse_location("/docs/default"), None);
        assert_eq!(parse_location("/somewhere/a/b/c"), None);
        assert_eq!(decode("100%"), "100%");
    }

    #[test]
    fn recent_terms_are_unique_newest_first_and_bounded() {
        let mut r = Recent::default();
        for i in 0..30 {
            r.remember(&format!("t{i}"));
        }
        r.remember("t25");
        assert_eq!(r.terms.len(), RECENT);
        assert_eq!(r.terms[0], "t25");
        assert_eq!(r.terms.iter().filter(|t| *t == "t25").count(), 1);
    }
}
