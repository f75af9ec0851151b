//! Arbitrary bytes into the Grafana response parsers, and arbitrary frames into the data-frame
//! decoder, never panic: they decode or return an error.

#![cfg(feature = "grafana")]

use proptest::prelude::*;
use qapms_core::http::decode_json;
use qapms_core::integrations::grafana::frames_to_series;
use qapms_core::integrations::grafana::models::{
    AnnotationRecord, CreatedAnnotation, DashboardWithMeta, HealthInfo, QueryResponse, SearchHit,
};
use serde_json::json;

fn parse_all(bytes: &[u8]) {
    let _ = decode_json::<HealthInfo>(bytes, "fuzz");
    let _ = decode_json::<Vec<SearchHit>>(bytes, "fuzz");
    let _ = decode_json::<DashboardWithMeta>(bytes, "fuzz");
    if let Ok(list) = decode_json::<Vec<AnnotationRecord>>(bytes, "fuzz") {
        for record in &list {
            let _ = record.to_annotation();
        }
    }
    let _ = decode_json::<CreatedAnnotation>(bytes, "fuzz");
    if let Ok(response) = decode_json::<QueryResponse>(bytes, "fuzz") {
        for result in response.results.values() {
            let _ = frames_to_series(&result.frames, "fuzz");
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn mangled_query_answers_never_panic(cut in 0usize..3000, flip in any::<u8>(), at in 0usize..3000) {
        let text = include_bytes!("fixtures/grafana/post-ds-query.response.constructed.json");
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }

    #[test]
    fn mangled_dashboards_never_panic(cut in 0usize..600, flip in any::<u8>(), at in 0usize..600) {
        let text = include_bytes!("fixtures/grafana/get-dashboard-by-uid.response.json");
        let mut bytes = text[..cut.min(text.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= flip;
        }
        parse_all(&bytes);
    }

    /// Well-formed JSON with hostile frame contents: columns of any length, any time values,
    /// entity indexes past the end.
    #[test]
    fn hostile_frames_never_panic(
        times in proptest::collection::vec(any::<i64>(), 0..8),
        values in proptest::collection::vec(proptest::option::of(any::<f64>().prop_filter("finite", |v| v.is_finite())), 0..8),
        nan in proptest::collection::vec(0usize..16, 0..4),
        columns in 0usize..3,
    ) {
        let mut data = vec![json!(times), json!(values)];
        data.truncate(columns);
        let body = json!({"results": {"A": {"frames": [{
            "schema": {"fields": [{"name": "Time", "type": "time"}, {"name": "Value", "type": "number"}]},
            "data": {"values": data, "entities": [null, {"NaN": nan}]}
        }]}}});
        parse_all(&serde_json::to_vec(&body).unwrap());
    }
}
