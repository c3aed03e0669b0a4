//! Answering a [`SearchQuery`] from an index: the query built from the user's words, ranking, filters,
//! paging and highlights.
//!
//! The term is text, never query syntax: it goes through the index's analyzer and every query is built from
//! the resulting words, so `"`, `:`, `AND`, `*`, `~2` or `[a TO b]` are just words (or nothing) and cannot
//! fail. Every word must match (in the name, title, docs text, or tags/context), each in one of three ways,
//! scored like Backstage's Lunr engine ranks them (exact ×100, trailing wildcard ×10, edit distance ×1):
//! the word itself (BM25), the last word as a prefix (the user is still typing it), or within an edit
//! distance on words of 5 characters or more without digits (1, or 2 from 9 on; a transposition counts 1). Where it matches
//! weighs too: name over title over context over text. A term equal to an entity's whole name outranks
//! everything.
//!
//! An empty term matches every document of the requested types and filters, as in Backstage.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::snippet::{collapse_overlapped_ranges, SnippetGenerator};
use tantivy::{Searcher, TantivyDocument, Term};

use super::documents::facet_term;
use super::query::{
    Highlight, SearchQuery, SearchResult, SearchResultSet, DEFAULT_MAX_PAGE_LIMIT,
    DEFAULT_PAGE_LIMIT, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS,
};
use super::schema::{self, SearchSchema};
use super::SearchError;
use tantivy::tokenizer::TokenStream as _;

/// Words of a term beyond this many are ignored (a pasted paragraph is not a query).
const MAX_WORDS: usize = 16;
/// Shortest word the prefix query expands (a single letter would expand to most of the dictionary).
const MIN_PREFIX_LEN: usize = 2;
/// Longest word given prefix or fuzzy matching.
const MAX_EXPANDED_LEN: usize = 40;
/// Characters of docs text around the matches in a highlight.
const TEXT_SNIPPET_CHARS: usize = 200;
/// Titles are highlighted whole, up to this.
const TITLE_SNIPPET_CHARS: usize = 400;

/// Per-field weights: a word in the name counts more than in the title, then context, then text.
const FIELD_WEIGHTS: [(FieldRole, f32); 4] = [
    (FieldRole::Name, 8.0),
    (FieldRole::Title, 4.0),
    (FieldRole::Context, 2.0),
    (FieldRole::Text, 1.0),
];
/// Relative weights of the three ways a word matches (Lunr's ×100 / ×10 / ×1, scaled to BM25 scores).
const PREFIX_WEIGHT: f32 = 0.5;
const FUZZY_WEIGHT: f32 = 0.2;
/// A term equal to an entity's name: above any sum of word scores.
const EXACT_NAME_SCORE: f32 = 10_000.0;

#[derive(Clone, Copy)]
enum FieldRole {
    Name,
    Title,
    Context,
    Text,
}

impl FieldRole {
    fn field(self, schema: &SearchSchema) -> Field {
        match self {
            FieldRole::Name => schema.name,
            FieldRole::Title => schema.title,
            FieldRole::Context => schema.context,
            FieldRole::Text => schema.text,
        }
    }
}

/// The edit distance allowed for `word` of `len` characters. Words with digits (versions, ids, numbered
/// names) get none: `37331` is not a typo of `37330`, and a fuzzy automaton over numbers expands to
/// thousands of terms.
pub fn fuzzy_distance(word: &str, len: usize) -> u8 {
    if word.chars().any(|c| c.is_ascii_digit()) {
        return 0;
    }
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The query's words as the index's analyzer makes them, at most [`MAX_WORDS`].
pub fn words(term: &str) -> Vec<String> {
    let mut out = schema::terms(term);
    out.truncate(MAX_WORDS);
    out
}

/// The page a cursor names: base64 of the page number, as Backstage's Lunr engine writes it (`MQ==` is page
/// 1, the second page).
pub fn decode_cursor(cursor: Option<&str>) -> Result<usize, SearchError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.trim().parse::<usize>().ok())
        .ok_or_else(|| SearchError::Input(format!("Invalid page cursor {cursor}")))
}

pub fn encode_cursor(page: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(page.to_string())
}

/// The query for `words`: every word must match one of its ways in one of the text fields.
fn words_query(schema: &SearchSchema, words: &[String], whole: &str) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let len = word.chars().count();
        let mut ways: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (role, weight) in FIELD_WEIGHTS {
            let field = role.field(schema);
            let term = Term::from_field_text(field, word);
            ways.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    weight,
                )),
            ));
            if len > MAX_EXPANDED_LEN {
                continue;
            }
            if last && len >= MIN_PREFIX_LEN {
                ways.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, true)),
                        weight * PREFIX_WEIGHT,
                    )),
                ));
            }
            let distance = fuzzy_distance(word, len);
            if distance > 0 {
                let fuzzy = if last {
                    FuzzyTermQuery::new_prefix(term, distance, true)
                } else {
                    FuzzyTermQuery::new(term, distance, true)
                };
                ways.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(fuzzy), weight * FUZZY_WEIGHT)),
                ));
            }
        }
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(ways))));
    }
    // Quotes or stray punctuation around a name still make it an exact name.
    let name = whole
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if !name.is_empty() {
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(schema.name_key, &name),
                    IndexRecordOption::Basic,
                )),
                EXACT_NAME_SCORE,
            )),
        ));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Documents of one of `values` in `field` (exact terms).
fn any_of(field: Field, values: impl Iterator<Item = String>) -> Box<dyn Query> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = values
        .map(|v| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, &v),
                IndexRecordOption::Basic,
            ));
            (Occur::Should, q)
        })
        .collect();
    if clauses.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}

/// A required clause that does not change the score.
fn filter(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

/// The whole query: words (or everything), restricted to the types and filters.
pub fn build_query(schema: &SearchSchema, query: &SearchQuery) -> Box<dyn Query> {
    let words = words(&query.term);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if words.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    } else {
        clauses.push((Occur::Must, words_query(schema, &words, &query.term)));
    }
    // Only public types: the site markers are never results.
    let types: Vec<String> = if query.types.is_empty() {
        vec![TYPE_SOFTWARE_CATALOG.into(), TYPE_TECHDOCS.into()]
    } else {
        query
            .types
            .iter()
            .filter(|t| *t == TYPE_SOFTWARE_CATALOG || *t == TYPE_TECHDOCS)
            .cloned()
            .collect()
    };
    clauses.push(filter(any_of(schema.doc_type, types.into_iter())));
    for (field, values) in &query.filters {
        if values.is_empty() {
            continue;
        }
        // An unknown field has no such terms, so nothing matches (as with Lunr).
        clauses.push(filter(any_of(
            schema.facet,
            values.iter().map(|v| facet_term(field, v)),
        )));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Levenshtein distance with adjacent transpositions counting 1, stopping early past `max`.
fn within_distance(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()] <= max
}

/// Whether an indexed word matches a query word the way the query does (exact, prefix of the last word,
/// within the edit distance; the last word also as a fuzzy prefix).
fn word_matches(indexed: &str, word: &str, last: bool) -> bool {
    if indexed == word {
        return true;
    }
    let len = word.chars().count();
    if len > MAX_EXPANDED_LEN {
        return false;
    }
    if last && len >= MIN_PREFIX_LEN && indexed.starts_with(word) {
        return true;
    }
    let distance = usize::from(fuzzy_distance(word, len));
    if distance == 0 {
        return false;
    }
    if within_distance(indexed, word, distance) {
        return true;
    }
    // A fuzzy prefix: some prefix of the indexed word is within the distance.
    last && {
        let chars: Vec<char> = indexed.chars().collect();
        (len.saturating_sub(distance)..=(len + distance).min(chars.len())).any(|n| {
            let prefix: String = chars[..n].iter().collect();
            within_distance(&prefix, word, distance)
        })
    }
}

/// `text` with the words matching the query wrapped in the tags, cut to about `max_chars` around the best
/// matches; `None` when nothing in it matches.
fn highlight_text(
    text: &str,
    field: Field,
    words: &[String],
    max_chars: usize,
    tags: (&str, &str),
) -> Option<String> {
    let mut matched: BTreeMap<String, f32> = BTreeMap::new();
    let seen: HashSet<String> = schema::terms(text).into_iter().collect();
    for indexed in seen {
        if words
            .iter()
            .enumerate()
            .any(|(i, w)| word_matches(&indexed, w, i + 1 == words.len()))
        {
            matched.insert(indexed, 1.0);
        }
    }
    if matched.is_empty() {
        return None;
    }
    // A text that fits is highlighted whole; a longer one is cut to the best window tantivy's snippet
    // generator finds around the matches.
    let (fragment, ranges) = if text.chars().count() <= max_chars {
        let mut ranges = Vec::new();
        let mut analyzer = schema::text_analyzer();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            if matched.contains_key(&token.text) {
                ranges.push(token.offset_from..token.offset_to);
            }
        }
        (text.to_string(), ranges)
    } else {
        let generator = SnippetGenerator::new(matched, schema::text_analyzer(), field, max_chars);
        let snippet = generator.snippet(text);
        (
            snippet.fragment().to_string(),
            snippet.highlighted().to_vec(),
        )
    };
    if ranges.is_empty() {
        return None;
    }
    // Plain text with tags, not `to_html`: Backstage's highlights are the field text as is, and the TUI
    // would show HTML entities literally.
    let mut out = String::with_capacity(fragment.len() + 32);
    let mut from = 0;
    for range in collapse_overlapped_ranges(&ranges) {
        out.push_str(fragment.get(from..range.start).unwrap_or(""));
        out.push_str(tags.0);
        out.push_str(fragment.get(range.clone()).unwrap_or(""));
        out.push_str(tags.1);
        from = range.end;
    }
    out.push_str(fragment.get(from..).unwrap_or(""));
    Some(out)
}

/// Runs `query` on `searcher`; highlights use `tags` (pre, post).
pub fn search(
    searcher: &Searcher,
    schema: &SearchSchema,
    query: &SearchQuery,
    tags: (&str, &str),
) -> Result<SearchResultSet, SearchError> {
    let limit = query
        .page_limit
        .unwrap_or(DEFAULT_PAGE_LIMIT)
        .clamp(1, DEFAULT_MAX_PAGE_LIMIT);
    let page = decode_cursor(query.page_cursor.as_deref())?;
    let offset = page.saturating_mul(limit);
    let built = build_query(schema, query);
    let (top, total) = searcher.search(
        &built,
        &(
            TopDocs::with_limit(limit)
                .and_offset(offset)
                .order_by_score(),
            Count,
        ),
    )?;
    let words = words(&query.term);
    let mut results = Vec::with_capacity(top.len());
    for (i, (_score, address)) in top.into_iter().enumerate() {
        let stored: TantivyDocument = searcher.doc(address)?;
        let document: Map<String, Value> = stored
            .get_first(schema.document)
            .and_then(|v| v.as_str().map(str::to_string))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let doc_type = stored
            .get_first(schema.doc_type)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let highlight = if words.is_empty() {
            None
        } else {
            let field = |k: &str| document.get(k).and_then(Value::as_str).unwrap_or("");
            let mut fields = BTreeMap::new();
            if let Some(h) = highlight_text(
                field("title"),
                schema.title,
                &words,
                TITLE_SNIPPET_CHARS,
                tags,
            ) {
                fields.insert("title".to_string(), h);
            }
            if let Some(h) =
                highlight_text(field("text"), schema.text, &words, TEXT_SNIPPET_CHARS, tags)
            {
                fields.insert("text".to_string(), h);
            }
            Some(Highlight {
                pre_tag: tags.0.to_string(),
                post_tag: tags.1.to_string(),
                fields,
            })
        };
        results.push(SearchResult {
            doc_type,
            document,
            highlight,
            rank: Some(offset + i + 1),
        });
    }
    Ok(SearchResultSet {
        results,
        next_page_cursor: (offset.saturating_add(limit) < total).then(|| encode_cursor(page + 1)),
        previous_page_cursor: (page > 0).then(|| encode_cursor(page - 1)),
        number_of_results: Some(total as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_page_numbers() {
        assert_eq!(encode_cursor(1), "MQ==");
        assert_eq!(decode_cursor(Some("MQ==")).unwrap(), 1);
        assert_eq!(decode_cursor(None).unwrap(), 0);
        assert_eq!(decode_cursor(Some("")).unwrap(), 0);
        assert!(decode_cursor(Some("not base64!")).is_err());
        assert!(decode_cursor(Some(&encode_cursor(0).replace('=', ""))).is_err());
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert!(within_distance("shipment", "shipmnet", 1));
        assert!(within_distance("tracker", "trakcer", 1));
        assert!(!within_distance("shipment", "shpmnet", 1));
        assert!(within_distance("shipment", "shpmnet", 2));
        assert!(within_distance("", "", 0));
    }

    #[test]
    fn words_match_exactly_by_prefix_or_fuzzily() {
        assert!(word_matches("shipment", "shipm", true));
        assert!(!word_matches("shipment", "shipm", false));
        assert!(word_matches("shipment", "shipmnet", false));
        assert!(word_matches("shipment", "shipmne", true));
        assert!(!word_matches("ship", "shop", false));
        assert_eq!(fuzzy_distance("ship", 4), 0);
        assert_eq!(fuzzy_distance("ships", 5), 1);
        assert_eq!(fuzzy_distance("shipments", 9), 2);
        assert_eq!(fuzzy_distance("37330", 5), 0);
        assert!(!word_matches("37331", "37330", false));
    }

    #[test]
    fn highlights_wrap_matches_in_tags_without_escaping() {
        let schema = SearchSchema::new();
        let words = words("shipm");
        let h = highlight_text(
            "Track a shipment & its <timeline>",
            schema.text,
            &words,
            200,
            ("<b>", "</b>"),
        )
        .unwrap();
        assert_eq!(h, "Track a <b>shipment</b> & its <timeline>");
        assert!(highlight_text("nothing", schema.text, &words, 200, ("<", ">")).is_none());
    }

    #[test]
    fn query_syntax_is_only_words() {
        assert_eq!(
            words("name:\"foo\" AND (bar* OR ~2) [a TO b]^3"),
            ["name", "foo", "and", "bar", "or", "2", "a", "to", "b", "3"]
        );
        assert!(words("\"\":*~^[]()").is_empty());
        assert_eq!(words(&"word ".repeat(100)).len(), MAX_WORDS);
    }
}
