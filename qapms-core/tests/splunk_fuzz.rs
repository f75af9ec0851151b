//! Arbitrary bytes into the Splunk parsers, the NDJSON line splitter and the export reader
//! never panic, and template rendering keeps any value inside its string.

#![cfg(feature = "splunk")]

use std::collections::BTreeMap;

use futures::{StreamExt as _, TryStreamExt as _};
use proptest::prelude::*;
use qapms_core::config::SplunkTemplate;
use qapms_core::integrations::TimeRange;
use qapms_core::integrations::splunk::models::{
    SearchId, parse_export_line, parse_job_status, parse_results, parse_saved_searches,
    parse_server_info,
};
use qapms_core::integrations::splunk::ndjson::LineSplitter;
use qapms_core::integrations::splunk::{SplTemplates, export_rows};

fn parse_all(bytes: &[u8]) {
    let sid = SearchId("s".into());
    let _ = parse_job_status(bytes, &sid, "fuzz");
    let _ = parse_results(bytes, "fuzz");
    let _ = parse_export_line(bytes, "fuzz");
    let _ = parse_server_info(bytes, "fuzz");
    let _ = parse_saved_searches(bytes, "fuzz");
}

const FIXTURES: &[&[u8]] = &[
    include_bytes!("fixtures/splunk/job-failed.response.json"),
    include_bytes!("fixtures/splunk/results-events-multivalue.splunk5.json"),
    include_bytes!("fixtures/splunk/export-stream.ndjson"),
    include_bytes!("fixtures/splunk/server-info.response.json"),
    include_bytes!("fixtures/splunk/saved-searches.response.json"),
];

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn mangled_fixtures_never_panic(which in 0usize..FIXTURES.len(), cut in 0usize..6000, flip in any::<u8>(), at in 0usize..6000) {
        let text = FIXTURES[which];
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }

    #[test]
    fn the_splitter_never_panics_and_loses_no_line(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(1usize..64, 0..40),
        max in 1usize..256,
    ) {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut rest: &[u8] = &bytes;
        let mut failed = false;
        for cut in cuts.iter().copied().chain(std::iter::repeat(64)) {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at(cut.min(rest.len()));
            rest = tail;
            if splitter.push(head, &mut out).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            out.extend(splitter.finish());
            // Whatever the chunking, the lines are those of a one-shot split.
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(&bytes);
            let expected: Vec<Vec<u8>> = text
                .split(|b| *b == b'\n')
                .map(|l| l.strip_suffix(b"\r".as_slice()).unwrap_or(l).to_vec())
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn the_export_reader_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        size in 1usize..100,
    ) {
        let chunks: Vec<qapms_core::Result<Vec<u8>>> = bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
        let _ = block_on(export_rows(futures::stream::iter(chunks).boxed(), 512, true, "fuzz".into()).try_collect::<Vec<_>>());
    }

    #[test]
    fn a_rendered_value_stays_one_string(value in "\\PC*") {
        let templates = SplTemplates::new(BTreeMap::from([(
            "t".to_owned(),
            SplunkTemplate { spl: "index=a host={v} | stats count".into(), description: None, earliest: None, latest: None },
        )]));
        let params = BTreeMap::from([("v".to_owned(), value.clone())]);
        let Ok(out) = templates.render("t", &params, &TimeRange::default()) else {
            // Only control characters are refused.
            prop_assert!(value.chars().any(|c| c.is_control() && c != '\t'));
            return Ok(());
        };
        let inner = out.spl.strip_prefix("index=a host=\"").and_then(|s| s.strip_suffix("\" | stats count"));
        let inner = inner.expect("the value sits in one quoted string");
        // Reading the string back, SPL-style, gives the value: no quote ends it early.
        let mut read = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => read.push(chars.next().expect("an escape is never the last character")),
                '"' => prop_assert!(false, "an unescaped quote in {inner}"),
                c => read.push(c),
            }
        }
        prop_assert_eq!(read, value);
    }
}
