//! Arbitrary bytes into the Jira response parsers never panic: they decode or return an error.

#![cfg(feature = "jira")]

use proptest::prelude::*;
use qapms_core::http::decode_json;
use qapms_core::integrations::jira::models::{
    Attachment, Board, Comment, Field, Issue, Project, ServerInfo, Sprint, Transition, User,
    Worklog,
};

fn parse_all(bytes: &[u8]) {
    let _ = decode_json::<Issue>(bytes, "fuzz");
    let _ = decode_json::<Vec<Issue>>(bytes, "fuzz");
    let _ = decode_json::<User>(bytes, "fuzz");
    let _ = decode_json::<ServerInfo>(bytes, "fuzz");
    let _ = decode_json::<Comment>(bytes, "fuzz");
    let _ = decode_json::<Worklog>(bytes, "fuzz");
    let _ = decode_json::<Transition>(bytes, "fuzz");
    let _ = decode_json::<Vec<Field>>(bytes, "fuzz");
    let _ = decode_json::<Vec<Project>>(bytes, "fuzz");
    let _ = decode_json::<Attachment>(bytes, "fuzz");
    let _ = decode_json::<Board>(bytes, "fuzz");
    let _ = decode_json::<Sprint>(bytes, "fuzz");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn mangled_fixtures_never_panic(cut in 0usize..4000, flip in any::<u8>(), at in 0usize..4000) {
        let text = include_bytes!("fixtures/jira/get-issue.response.json");
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }
}
