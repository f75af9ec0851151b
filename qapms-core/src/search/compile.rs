//! Turns a [`ParsedQuery`] into a tantivy query against this index's schema.
//!
//! Words are analysed with the index's own analyzer (so `logins` finds `login`), and each word
//! becomes a union of a `text` term, a boosted `title` term and a boosted exact `key` term: a
//! union of term scorers, which tantivy answers with block-max WAND. All words must match. Prefixes
//! expand against the term dictionary to the [`MAX_EXPANSIONS`] most frequent terms, so `a*`
//! costs a bounded amount. Filters score zero; they only narrow.

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation,
    FuzzyTermQuery, Occur, PhraseQuery, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, Term};

use super::query::{Clause, FilterField, ParsedQuery};
use super::schema::Fields;

/// Most terms a prefix expands to.
pub(crate) const MAX_EXPANSIONS: usize = 32;
const TITLE_BOOST: f32 = 2.0;
const KEY_BOOST: f32 = 20.0;

pub(crate) struct Compiler<'a> {
    pub(crate) searcher: &'a Searcher,
    pub(crate) fields: Fields,
    pub(crate) analyzer: TextAnalyzer,
    /// Edit distance for the fuzzy retry; 0 compiles plain terms.
    pub(crate) fuzzy_distance: u8,
    /// Several clauses must match: words search `text` only (no title boost), which keeps an
    /// AND of words a pure term intersection. BM25 over `text` still counts title words, since
    /// the title is part of it.
    pub(crate) lean: bool,
}

impl Compiler<'_> {
    /// The query, or `None` when every clause analysed to nothing (only stop words).
    pub(crate) fn compile(&mut self, parsed: &ParsedQuery) -> Option<Box<dyn Query>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut positive = false;
        self.lean = parsed.parts.iter().filter(|p| !p.negated).count() >= 2;
        for part in &parsed.parts {
            let Some(query) = self.clause(&part.clause) else {
                continue;
            };
            if part.negated {
                clauses.push((Occur::MustNot, Box::new(SafeSeek(query))));
            } else {
                positive = true;
                clauses.push((Occur::Must, query));
            }
        }
        if clauses.is_empty() {
            return None;
        }
        if !positive {
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
            ));
        }
        if clauses.len() == 1 && clauses[0].0 == Occur::Must {
            return clauses.pop().map(|(_, q)| q);
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    fn clause(&mut self, clause: &Clause) -> Option<Box<dyn Query>> {
        match clause {
            Clause::Word { text, prefix: true } => Some(self.prefix_word(text)),
            Clause::Word {
                text,
                prefix: false,
            } => self.word(text),
            Clause::Phrase(text) => self.phrase(text, &[self.fields.text]),
            Clause::Filter {
                field,
                value,
                prefix,
            } => self.filter(*field, value, *prefix),
            Clause::AnyOf(alternatives) => {
                let should: Vec<(Occur, Box<dyn Query>)> = alternatives
                    .iter()
                    .filter_map(|c| self.clause(c))
                    .map(|q| (Occur::Should, q))
                    .collect();
                (!should.is_empty()).then(|| Box::new(BooleanQuery::new(should)) as Box<dyn Query>)
            }
        }
    }

    fn analyze(&mut self, text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            out.push((token.position, token.text.clone()));
        }
        out
    }

    fn term_query(&self, field: Field, text: &str, boost: f32) -> Box<dyn Query> {
        let term = Term::from_field_text(field, text);
        let distance = typo_distance(text, self.fuzzy_distance);
        let query: Box<dyn Query> = if distance > 0 && field != self.fields.key {
            Box::new(FuzzyTermQuery::new(term, distance, true))
        } else {
            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
        };
        if (boost - 1.0).abs() < f32::EPSILON {
            query
        } else {
            Box::new(BoostQuery::new(query, boost))
        }
    }

    fn word(&mut self, text: &str) -> Option<Box<dyn Query>> {
        let tokens = self.analyze(text);
        let lower = text.to_lowercase();
        // Checked first so that a plain word stays a flat union of term scorers (block-max
        // WAND) or, inside an AND, one term scorer (block-max intersection): tantivy only
        // takes those fast paths when every clause is a bare term.
        let key_exists = self
            .searcher
            .doc_freq(&Term::from_field_text(self.fields.key, &lower))
            .unwrap_or(0)
            > 0;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match tokens.as_slice() {
            [] => {}
            [(_, token)] => {
                if self.lean && !key_exists {
                    return Some(self.term_query(self.fields.text, token, 1.0));
                }
                should.push((Occur::Should, self.term_query(self.fields.text, token, 1.0)));
                should.push((
                    Occur::Should,
                    self.term_query(self.fields.title, token, TITLE_BOOST),
                ));
            }
            // `PAY-12` or `token_refresh`: its parts in order. It sits in a union.
            _ => {
                if let Some(q) = self.phrase_of(&tokens, self.fields.text) {
                    should.push((Occur::Should, Box::new(SafeSeek(q))));
                }
            }
        }
        if key_exists {
            should.push((
                Occur::Should,
                self.term_query(self.fields.key, &lower, KEY_BOOST),
            ));
        }
        match should.len() {
            0 => None,
            1 => should.pop().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(should))),
        }
    }

    fn phrase(&mut self, text: &str, fields: &[Field]) -> Option<Box<dyn Query>> {
        let tokens = self.analyze(text);
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for &field in fields {
            if let Some(q) = self.phrase_of(&tokens, field) {
                should.push((Occur::Should, q));
            }
        }
        match should.len() {
            0 => None,
            1 => should.pop().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(should))),
        }
    }

    fn phrase_of(&self, tokens: &[(usize, String)], field: Field) -> Option<Box<dyn Query>> {
        match tokens {
            [] => None,
            [(_, token)] => Some(self.term_query(field, token, 1.0)),
            _ => {
                let base = tokens[0].0;
                let terms = tokens
                    .iter()
                    .map(|(pos, t)| (pos - base, Term::from_field_text(field, t)))
                    .collect();
                Some(Box::new(PhraseQuery::new_with_offset(terms)))
            }
        }
    }

    /// The most frequent terms of `field` starting with `prefix`, as a union.
    fn expand(&self, field: Field, prefix: &str, boost: f32) -> Vec<(Occur, Box<dyn Query>)> {
        let mut found: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for segment in self.searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(field) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().range().ge(prefix.as_bytes()).into_stream()
            else {
                continue;
            };
            // Bounded: a short prefix in a big index stops after this many dictionary entries.
            let mut seen = 0;
            while stream.advance() && seen < 4096 {
                seen += 1;
                let Ok(term) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                if !term.starts_with(prefix) {
                    break;
                }
                *found.entry(term.to_owned()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
        let mut terms: Vec<(String, u64)> = found.into_iter().collect();
        terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(MAX_EXPANSIONS);
        terms
            .into_iter()
            .map(|(t, _)| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, &t),
                    IndexRecordOption::WithFreqs,
                ));
                let q: Box<dyn Query> = if (boost - 1.0).abs() < f32::EPSILON {
                    q
                } else {
                    Box::new(BoostQuery::new(q, boost))
                };
                (Occur::Should, q)
            })
            .collect()
    }

    fn prefix_word(&self, text: &str) -> Box<dyn Query> {
        let prefix = text.to_lowercase();
        let mut should = self.expand(self.fields.text, &prefix, 1.0);
        should.extend(self.expand(self.fields.title, &prefix, TITLE_BOOST));
        should.extend(self.expand(self.fields.key, &prefix, KEY_BOOST));
        if should.is_empty() {
            Box::new(EmptyQuery)
        } else {
            Box::new(BooleanQuery::new(should))
        }
    }

    fn filter(&mut self, field: FilterField, value: &str, prefix: bool) -> Option<Box<dyn Query>> {
        let f = self.fields;
        let target = match field {
            FilterField::Source => f.source,
            FilterField::DocType => f.doc_type,
            FilterField::Project => f.project,
            FilterField::Status => f.status,
            FilterField::Tag => f.tags,
            FilterField::Ticket => f.links,
            FilterField::Key => f.key,
            FilterField::Title => {
                if prefix {
                    let should = self.expand(f.title, &value.to_lowercase(), 1.0);
                    return Some(if should.is_empty() {
                        Box::new(EmptyQuery)
                    } else {
                        Box::new(BooleanQuery::new(should))
                    });
                }
                // Every word of the value must be in the title; these do score.
                let tokens = self.analyze(value);
                if tokens.is_empty() {
                    return None;
                }
                let must = tokens
                    .iter()
                    .map(|(_, t)| (Occur::Must, self.term_query(f.title, t, TITLE_BOOST)))
                    .collect();
                return Some(Box::new(BooleanQuery::new(must)));
            }
        };
        let value = value.trim().to_lowercase();
        let query: Box<dyn Query> = if prefix {
            let should = self.expand(target, &value, 1.0);
            if should.is_empty() {
                Box::new(EmptyQuery)
            } else {
                Box::new(BooleanQuery::new(should))
            }
        } else {
            Box::new(TermQuery::new(
                Term::from_field_text(target, &value),
                IndexRecordOption::Basic,
            ))
        };
        Some(Box::new(ConstScoreQuery::new(query, 0.0)))
    }
}

/// The edit distance a word may be off by: none for ids and numbers (`PAY12` is matched by the
/// key matcher instead, and `pay` is not a typo of it) and for words of one or two letters; one
/// for short words, where two edits would match almost anything.
fn typo_distance(word: &str, max: u8) -> u8 {
    if !word.chars().all(char::is_alphabetic) {
        return 0;
    }
    match word.chars().count() {
        0..=2 => 0,
        3..=5 => max.min(1),
        _ => max,
    }
}

/// Wraps a query so that tantivy never calls `seek_danger` on its scorer, only `seek`.
///
/// tantivy 0.27's phrase scorer asserts (in debug builds) that a `seek_danger` target is not
/// behind its current document, which an exclusion (`-"a b"`, `-PAY-12`) or a union does after
/// a miss: the fuzz test found `-PAY-12` panicking. The trait's default `seek_danger`, which
/// this wrapper inherits, only seeks forward, so the inner scorer is never asked to go back.
#[derive(Debug)]
pub(crate) struct SafeSeek(pub(crate) Box<dyn Query>);

impl Clone for SafeSeek {
    fn clone(&self) -> Self {
        Self(self.0.box_clone())
    }
}

impl Query for SafeSeek {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(SafeSeekWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct SafeSeekWeight(Box<dyn Weight>);

impl Weight for SafeSeekWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(SafeSeekScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct SafeSeekScorer(Box<dyn Scorer>);

impl DocSet for SafeSeekScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.0.doc() >= target {
            return self.0.doc();
        }
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for SafeSeekScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}
