//! Arbitrary queries never panic: the parser and the search either answer or return an
//! `InvalidInput` error that names a column (or the length limit).

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::Utc;
use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::search::query::{MAX_QUERY_CHARS, check};
use qapms_core::search::{Grouping, IndexDoc, SearchIndex, SearchRequest};

struct Fixture {
    _dir: tempfile::TempDir,
    index: SearchIndex,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let (index, _) = SearchIndex::open_dir(&dir.path().join("index")).unwrap();
    let words = [
        "token", "refresh", "login", "checkout", "currency", "PAY-12", "C1234", "flaky",
    ];
    let docs = (0..200).map(|i| IndexDoc {
        uid: format!("d:{i}"),
        source: ["jira", "testmo", "postman"][i % 3].to_owned(),
        doc_type: "case".to_owned(),
        key: format!("K-{i}"),
        title: format!("{} {} case {i}", words[i % 8], words[(i / 8) % 8]),
        body: format!("steps: {} then {}", words[(i * 3) % 8], words[(i * 5) % 8]),
        project: Some("PAY".to_owned()),
        status: Some("In Progress".to_owned()),
        tags: vec!["smoke".to_owned()],
        links: vec!["PAY-12".to_owned()],
        url: None,
        fields: BTreeMap::new(),
        updated_at: Utc::now(),
    });
    index.index_documents(docs).unwrap();
    Fixture { _dir: dir, index }
});

fn exercise(query: &str) {
    let checked = check(query);
    for grouping in [Grouping::Interleaved, Grouping::BySource] {
        let request = SearchRequest {
            grouping,
            limit: 5,
            ..SearchRequest::new(query)
        };
        match FIXTURE.index.search(&request) {
            Ok(results) => {
                assert!(
                    checked.is_ok(),
                    "search accepted what check rejected: {query:?}"
                );
                assert!(results.hits.len() <= 5);
                assert!(results.groups.iter().all(|g| g.hits.len() <= 5));
                for hit in &results.hits {
                    for s in hit.body_snippet.iter().chain(&hit.title_snippet) {
                        let _ = s.render("[", "]");
                    }
                }
            }
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{query:?}: {err}");
                assert!(checked.is_err());
                let message = err.to_string();
                assert!(
                    message.contains("column") || message.contains("limit"),
                    "{query:?}: {message}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(query in any::<String>()) {
        exercise(&query);
    }

    #[test]
    fn query_like_strings_never_panic(query in r#"[a-zA-Z0-9 "*:\\\-_.()!^$~]{0,80}"#) {
        exercise(&query);
    }

    #[test]
    fn fields_phrases_and_prefixes_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("source:".to_owned()),
                Just("status:\"In Pro".to_owned()),
                Just("-".to_owned()),
                Just("\"".to_owned()),
                Just("*".to_owned()),
                Just("tok".to_owned()),
                Just("PAY-12".to_owned()),
                Just(" ".to_owned()),
                Just("\u{0}\t\n\u{1b}[31m".to_owned()),
                Just("title:".to_owned()),
                Just("ärger".to_owned()),
            ],
            0..24,
        )
    ) {
        exercise(&parts.concat());
    }

    #[test]
    fn very_long_queries_are_rejected_or_answered(n in 0usize..(MAX_QUERY_CHARS * 3), c in any::<char>()) {
        let query: String = std::iter::repeat_n(c, n).collect();
        exercise(&query);
        if n > MAX_QUERY_CHARS {
            prop_assert!(check(&query).is_err());
        }
    }
}
