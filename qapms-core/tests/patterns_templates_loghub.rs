//! The miner on the Loghub development split: a smoke check that grouping stays good.
//!
//! The data lives outside the repository (`../shared/datasets/loghub-dev` from the repository
//! root); the test skips with a message when it is absent. The full GA/PA evaluation is
//! `qapms-eval templates`.

use std::path::PathBuf;

use qapms_core::patterns::templates::{MinerConfig, TemplateMiner};

fn dataset() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/loghub-dev");
    dir.is_dir().then_some(dir)
}

#[test]
fn hdfs_raw_lines_group_into_few_templates() {
    let Some(dir) = dataset() else {
        eprintln!("skipped: ../shared/datasets/loghub-dev not found");
        return;
    };
    let raw = std::fs::read(dir.join("HDFS/HDFS_2k.log")).unwrap();
    let mut miner = TemplateMiner::new(MinerConfig {
        strip_headers: true,
        ..MinerConfig::default()
    });
    for line in raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        miner.add_bytes(line);
    }
    // The ground truth has 14 templates; a header leak would give hundreds.
    assert!(miner.len() <= 20, "{} clusters", miner.len());
}
