//! Arbitrary text into the stack-trace parser and the clusterer: no panic, bounded output.
//!
//! Messages come from reports of any tool, so anything goes: binary garbage (made text by lossy
//! UTF-8 conversion, as the importer does), megabyte single lines, and near-miss frame lines.

use proptest::prelude::*;
use qapms_core::patterns::cluster::trace::{MAX_LINE_BYTES, MAX_NAME_BYTES, MAX_TRACE_BYTES};
use qapms_core::patterns::cluster::{Clusterer, TraceOptions, parse_trace};
use qapms_core::patterns::templates::MinerConfig;

fn check(text: &str) {
    let options = TraceOptions::default();
    let sig = parse_trace(text, &options);
    assert!(sig.frames.len() <= options.top_frames);
    assert!(sig.frames.iter().all(|f| f.key.len() <= MAX_NAME_BYTES));
    assert!(
        sig.exception
            .as_ref()
            .is_none_or(|e| e.len() <= MAX_NAME_BYTES)
    );
    assert!(sig.headline.len() <= MAX_LINE_BYTES);
    if text.len() > MAX_TRACE_BYTES {
        assert!(sig.truncated);
    }
    let _ = sig.fingerprint();
    let mut clusterer = Clusterer::new(MinerConfig::default(), options);
    clusterer.add(text);
    clusterer.add(text);
    let (keys, shapes) = clusterer.finish();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
    assert_eq!(shapes.len(), 1);
}

/// Lines that look almost like frames of each format.
fn frame_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "at [a-zA-Z0-9_.$/<>]{0,40}\\([a-zA-Z0-9_.: ]{0,30}\\)",
        "at [a-zA-Z0-9_.]{0,30}\\([a-zA-Z ,]{0,20}\\) in [a-zA-Z/:\\\\.]{0,30}:line [0-9]{0,4}",
        "File \"[^\"]{0,40}\", line [0-9]{0,5}, in [a-z_]{0,10}",
        "[a-z/_]{0,20}\\.py:[0-9]{0,4}: in [a-z_]{0,10}",
        "[a-zA-Z]{0,10}@[a-z:/.]{0,30}:[0-9]{0,3}:[0-9]{0,3}",
        "(Caused by: |---> |E   )?[A-Za-z.]{0,30}(Error|Exception)?: .{0,40}",
        "--- End of inner exception stack trace ---",
        ".{0,80}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn frame_like_lines_never_panic(lines in proptest::collection::vec(frame_like(), 0..40)) {
        check(&lines.join("\n"));
    }
}

#[test]
fn megabyte_lines_are_cut_and_flagged() {
    for text in [
        format!("ValueError: {}", "x".repeat(1 << 20)),
        format!("at {}", "a.".repeat(1 << 19)),
        format!("File \"{}", "é".repeat(1 << 19)),
        "\n".repeat(1 << 20),
        format!("{}\nat com.acme.A.b(A.java:1)", "at x(".repeat(200_000)),
    ] {
        check(&text);
        assert!(parse_trace(&text, &TraceOptions::default()).truncated);
    }
}
