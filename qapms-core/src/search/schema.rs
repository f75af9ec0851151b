//! The tantivy schema, its tokenizers and the on-disk version stamp.
//!
//! Searchable text goes into one `text` field (key, title, body and extra fields as separate
//! values) so a word is one posting list and a single-word query is one term scorer, which
//! keeps block-max WAND effective; `title` is indexed again so a title match can be boosted.
//! Exact-value fields (`source`, `project`, `status`, `tags`, `links`, `key`) are lowercased
//! raw tokens, so filters are case-insensitive and `PAY-12` is one term.
//!
//! [`SCHEMA_VERSION`] goes up whenever the schema or a tokenizer changes; an index stamped with
//! another version is rebuilt on open.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
    TextAnalyzer,
};

/// Bump on any change to fields or analysis.
pub(crate) const SCHEMA_VERSION: u32 = 2;
/// The file in the index directory that records [`SCHEMA_VERSION`]; written only after a
/// complete build, so an interrupted build is rebuilt next time.
pub(crate) const VERSION_FILE: &str = "qapms-index-version";

pub(crate) const TEXT_ANALYZER: &str = "qapms_text";
pub(crate) const EXACT_ANALYZER: &str = "qapms_exact";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) uid: Field,
    pub(crate) source: Field,
    pub(crate) doc_type: Field,
    pub(crate) key: Field,
    pub(crate) title: Field,
    pub(crate) text: Field,
    pub(crate) body: Field,
    pub(crate) project: Field,
    pub(crate) status: Field,
    pub(crate) tags: Field,
    pub(crate) links: Field,
    pub(crate) url: Field,
    pub(crate) extra: Field,
    pub(crate) updated: Field,
}

pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TEXT_ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let exact_indexing = TextFieldIndexing::default()
        .set_tokenizer(EXACT_ANALYZER)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let exact_stored = TextOptions::default()
        .set_indexing_options(exact_indexing.clone())
        .set_stored();
    let fields = Fields {
        uid: b.add_text_field("uid", STRING | STORED),
        source: b.add_text_field("source", exact_stored.clone()),
        doc_type: b.add_text_field("doc_type", exact_stored.clone()),
        key: b.add_text_field("key", exact_stored.clone()),
        title: b.add_text_field(
            "title",
            TextOptions::default()
                .set_indexing_options(text_indexing.clone())
                .set_stored(),
        ),
        text: b.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(text_indexing),
        ),
        body: b.add_text_field("body", STORED),
        project: b.add_text_field("project", exact_stored.clone()),
        status: b.add_text_field("status", exact_stored.clone()),
        tags: b.add_text_field("tags", exact_stored.clone()),
        links: b.add_text_field("links", exact_stored),
        url: b.add_text_field("url", STORED),
        extra: b.add_text_field("extra", STORED),
        updated: b.add_date_field("updated", INDEXED | STORED | FAST),
    };
    (b.build(), fields)
}

/// Registers the analyzers the schema names; needed on every `Index` handle.
pub(crate) fn register_tokenizers(index: &Index) {
    let mut text = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        text = text.filter_dynamic(stop);
    }
    let text = text.filter_dynamic(Stemmer::new(Language::English)).build();
    index.tokenizers().register(TEXT_ANALYZER, text);
    index.tokenizers().register(
        EXACT_ANALYZER,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}
