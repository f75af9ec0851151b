//! Arbitrary bytes into the Postman response parsers and the collection-file parser never
//! panic: they decode or return an error.

#![cfg(feature = "postman")]

use proptest::prelude::*;
use qapms_core::http::decode_json;
use qapms_core::integrations::postman::models::{
    CollectionSummary, Environment, EnvironmentSummary, Me, Workspace, WorkspaceSummary,
};
use qapms_core::integrations::postman::parse_collection;

fn parse_all(bytes: &[u8]) {
    let _ = decode_json::<Me>(bytes, "fuzz");
    let _ = decode_json::<Vec<WorkspaceSummary>>(bytes, "fuzz");
    let _ = decode_json::<Workspace>(bytes, "fuzz");
    let _ = decode_json::<Vec<CollectionSummary>>(bytes, "fuzz");
    let _ = decode_json::<Vec<EnvironmentSummary>>(bytes, "fuzz");
    let _ = decode_json::<Environment>(bytes, "fuzz");
    if let Ok(collection) = parse_collection(bytes, "fuzz") {
        let _ = collection.flatten();
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn mangled_collections_never_panic(cut in 0usize..4000, flip in any::<u8>(), at in 0usize..4000) {
        let text = include_bytes!("fixtures/postman/collection-v2.1-nested-constructed.json");
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }

    #[test]
    fn mangled_api_payloads_never_panic(cut in 0usize..2000, flip in any::<u8>(), at in 0usize..2000) {
        let text = include_bytes!("fixtures/postman/get-environments-environmentId.response.json");
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }

    /// Any string in any URL or name position flattens without panicking.
    #[test]
    fn any_url_text_flattens(raw in ".{0,80}", name in ".{0,20}") {
        let doc = serde_json::json!({
            "info": {"name": name, "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "item": [{"name": name, "request": {"url": raw}}, {"name": "s", "request": raw}]
        });
        let bytes = serde_json::to_vec(&doc).unwrap();
        let requests = parse_collection(&bytes, "fuzz").unwrap().flatten();
        prop_assert_eq!(requests.len(), 2);
        prop_assert_eq!(&requests[0].url.raw, &raw);
    }
}
