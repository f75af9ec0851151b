//! Arbitrary bytes into the Testmo response parsers never panic: they decode or return an error.

#![cfg(feature = "testmo")]

use proptest::prelude::*;
use qapms_core::http::decode_json;
use qapms_core::integrations::testmo::models::{
    AutomationRun, Case, Created, CurrentUser, Folder, Milestone, Page, Project, Row, Run,
    RunResult,
};

fn parse_all(bytes: &[u8]) {
    let _ = decode_json::<CurrentUser>(bytes, "fuzz");
    let _ = decode_json::<Row<Project>>(bytes, "fuzz");
    let _ = decode_json::<Page<Project>>(bytes, "fuzz");
    let _ = decode_json::<Page<Milestone>>(bytes, "fuzz");
    let _ = decode_json::<Page<Run>>(bytes, "fuzz");
    let _ = decode_json::<Page<RunResult>>(bytes, "fuzz");
    let _ = decode_json::<Page<Case>>(bytes, "fuzz");
    let _ = decode_json::<Page<Folder>>(bytes, "fuzz");
    let _ = decode_json::<Page<AutomationRun>>(bytes, "fuzz");
    let _ = decode_json::<Created>(bytes, "fuzz");
}

const FIXTURES: &[&[u8]] = &[
    include_bytes!("fixtures/testmo/projects-page1.response.json"),
    include_bytes!("fixtures/testmo/runs.response.json"),
    include_bytes!("fixtures/testmo/cases.response.json"),
    include_bytes!("fixtures/testmo/automation-runs.response.json"),
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn mangled_fixtures_never_panic(which in 0usize..4, cut in 0usize..2000, flip in any::<u8>(), at in 0usize..2000) {
        let text = FIXTURES[which];
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }
}

#[test]
fn a_wrong_type_names_the_field() {
    let err = decode_json::<Page<Run>>(br#"{"result":[{"id":1,"name":7}]}"#, "testmo GET runs")
        .unwrap_err();
    assert!(err.message().contains("result[0].name"), "{err}");
}
