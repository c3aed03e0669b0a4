//! The tantivy schema of the search index and the text analyzer its text fields use.
//!
//! One index holds both document types. Text is indexed with one analyzer (words split on anything that is
//! not a letter or digit, lower-cased, accents folded, no stemming: prefix and fuzzy queries match the terms
//! as written, which stemmed terms would break). Exact-match fields (`doc_type`, `key`, `name_key`, `facet`)
//! are indexed untokenized and lower-cased by the code that fills and queries them. The whole Backstage
//! document is stored once as JSON (`document`), so a hit is returned exactly as it was collated.
//!
//! [`SCHEMA_VERSION`] is written beside every index; an index with another version is rebuilt from the store.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};
use tantivy::Index;

/// Bump whenever the schema, the analyzer or what documents hold changes: indexes of another version are
/// rebuilt at open.
pub const SCHEMA_VERSION: u32 = 1;

/// The name the text analyzer is registered under in every index.
pub const TEXT_ANALYZER: &str = "stagedoor_text";

/// Terms longer than this are dropped when indexing (base64 blobs, hashes): nobody types them.
pub const MAX_TERM_BYTES: usize = 64;

/// The fields of the index.
#[derive(Debug, Clone)]
pub struct SearchSchema {
    pub schema: Schema,
    /// `software-catalog`, `techdocs`, or the internal site marker.
    pub doc_type: Field,
    /// `<doc type>:<entity ref>`: what an update deletes by. Fast, so the index's etags can be listed.
    pub key: Field,
    /// The etag of what a document was built from (entity etag; entity and site etag for a site marker).
    /// Fast; empty on docs sections (their site marker carries it).
    pub etag: Field,
    /// The entity's name, lower-cased and whole: an exact name match ranks first.
    pub name_key: Field,
    /// `field=value` (value lower-cased) for every filterable document field.
    pub facet: Field,
    /// The entity name as words.
    pub name: Field,
    pub title: Field,
    pub text: Field,
    /// Words that place a document but are not its own text: tags, kind and type of an entity; the entity's
    /// name and title on a docs section.
    pub context: Field,
    /// The Backstage document as JSON.
    pub document: Field,
}

impl SearchSchema {
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        let words = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let doc_type = builder.add_text_field("doc_type", STRING | STORED);
        let key = builder.add_text_field("key", STRING | FAST);
        let etag = builder.add_text_field("etag", STRING | FAST);
        let name_key = builder.add_text_field("name_key", STRING);
        let facet = builder.add_text_field("facet", STRING);
        let name = builder.add_text_field("name", words.clone());
        let title = builder.add_text_field("title", words.clone());
        let text = builder.add_text_field("text", words.clone());
        let context = builder.add_text_field("context", words);
        let document = builder.add_text_field("document", STORED);
        SearchSchema {
            schema: builder.build(),
            doc_type,
            key,
            etag,
            name_key,
            facet,
            name,
            title,
            text,
            context,
            document,
        }
    }
}

impl Default for SearchSchema {
    fn default() -> Self {
        Self::new()
    }
}

/// The analyzer of the text fields; queries run their words through the same one.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analyzer on an index (tantivy keeps analyzers in memory only, so every open must).
pub fn register(index: &Index) {
    index.tokenizers().register(TEXT_ANALYZER, text_analyzer());
}

/// The terms `text` is indexed as, in order.
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = text_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_lowercased_and_folded() {
        assert_eq!(
            terms("Shipment-Tracker: Crème brûlée_v2"),
            ["shipment", "tracker", "creme", "brulee", "v2"]
        );
        assert!(terms(&"x".repeat(200)).is_empty());
        assert!(terms("\"(:*~^[AND]").contains(&"and".to_string()));
    }
}
