//! Rolling log files: rotated days are gzip-compressed, and days are pruned only once older
//! than the retention (never below 30 days). The clock is injected: no test waits a day.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns are test code too: a panic is a failed test"
)]

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Days, NaiveDate, Utc};
use flate2::read::MultiGzDecoder;
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor, RollingFile};
use secrecy::SecretString;

const PREFIX: &str = "qapms-test";

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn at(day: NaiveDate) -> Self {
        let clock = Self(Arc::new(AtomicI64::new(0)));
        clock.set(day, 12);
        clock
    }

    fn set(&self, day: NaiveDate, hour: u32) {
        let at = day.and_hms_opt(hour, 0, 0).unwrap().and_utc();
        self.0.store(at.timestamp(), Ordering::SeqCst);
    }

    fn reader(&self) -> impl Fn() -> DateTime<Utc> + Send + 'static {
        let secs = Arc::clone(&self.0);
        move || DateTime::from_timestamp(secs.load(Ordering::SeqCst), 0).unwrap()
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn name(day: NaiveDate, suffix: &str) -> String {
    format!("{PREFIX}.{}{suffix}", day.format("%Y-%m-%d"))
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn gzip(path: &Path, text: &str) {
    let mut encoder =
        flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap();
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn rotation_compresses_the_finished_day() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day(2025, 3, 9);
    let d2 = day(2025, 3, 10);
    let clock = TestClock::at(d1);
    let mut file = RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();

    file.write_all(b"first day, line 1\n").unwrap();
    file.write_all(b"first day, line 2\n").unwrap();
    assert_eq!(file.active_path(), tmp.path().join(name(d1, ".log")));

    // Just before and after midnight UTC.
    clock.set(d1, 23);
    file.write_all(b"first day, line 3\n").unwrap();
    clock.set(d2, 0);
    file.write_all(b"second day\n").unwrap();

    assert_eq!(file.active_path(), tmp.path().join(name(d2, ".log")));
    assert_eq!(
        names_in(tmp.path()),
        [name(d1, ".log.gz"), name(d2, ".log")]
    );
    assert_eq!(
        gunzip(&tmp.path().join(name(d1, ".log.gz"))),
        "first day, line 1\nfirst day, line 2\nfirst day, line 3\n"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join(name(d2, ".log"))).unwrap(),
        "second day\n"
    );
}

#[test]
fn days_are_kept_for_thirty_days_then_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let today = day(2025, 6, 15);
    let ago = |n: u64| today.checked_sub_days(Days::new(n)).unwrap();
    for n in [1, 29, 30, 31, 45] {
        gzip(
            &tmp.path().join(name(ago(n), ".log.gz")),
            &format!("{n} days ago\n"),
        );
    }
    // Files that are not ours are never touched, however old.
    let foreign = [
        "notes.txt".to_owned(),
        "other.2020-01-01.log.gz".to_owned(),
        format!("{PREFIX}.2020-01-01.log.gz.bak"),
    ];
    for f in &foreign {
        fs::write(tmp.path().join(f), b"keep").unwrap();
    }

    // A retention below the floor is raised to 30 days.
    let clock = TestClock::at(today);
    let file = RollingFile::open_with_clock(tmp.path(), PREFIX, 7, clock.reader()).unwrap();
    assert_eq!(file.retention_days(), 30);

    let names = names_in(tmp.path());
    for kept in [1, 29, 30] {
        let kept = name(ago(kept), ".log.gz");
        assert!(names.contains(&kept), "{kept} was removed: {names:?}");
    }
    for removed in [31, 45] {
        let removed = name(ago(removed), ".log.gz");
        assert!(!names.contains(&removed), "{removed} was kept: {names:?}");
    }
    for f in &foreign {
        assert!(names.contains(f), "{f} was touched");
    }
    assert_eq!(
        gunzip(&tmp.path().join(name(ago(30), ".log.gz"))),
        "30 days ago\n"
    );
}

#[test]
fn a_longer_retention_keeps_more() {
    let tmp = tempfile::tempdir().unwrap();
    let today = day(2025, 6, 15);
    let old = today.checked_sub_days(Days::new(60)).unwrap();
    gzip(&tmp.path().join(name(old, ".log.gz")), "old\n");
    let clock = TestClock::at(today);
    let mut file = RollingFile::open_with_clock(tmp.path(), PREFIX, 90, clock.reader()).unwrap();
    assert!(tmp.path().join(name(old, ".log.gz")).exists());

    // Thirty-one days later the 60-day-old file is 91 days old and goes.
    clock.set(today.checked_add_days(Days::new(31)).unwrap(), 8);
    file.write_all(b"later\n").unwrap();
    assert!(!tmp.path().join(name(old, ".log.gz")).exists());
    // Today's first file is compressed and kept.
    assert_eq!(gunzip(&tmp.path().join(name(today, ".log.gz"))), "");
}

#[test]
fn a_restart_continues_today_and_finishes_earlier_days() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day(2025, 1, 31);
    let d3 = day(2025, 2, 2);
    let clock = TestClock::at(d1);
    {
        let mut file =
            RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();
        file.write_all(b"run 1\n").unwrap();
    }
    {
        // Same day: the file is appended to, not truncated.
        let mut file =
            RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();
        file.write_all(b"run 2\n").unwrap();
    }
    // The process was not running at midnight; the next start compresses the old day.
    clock.set(d3, 9);
    let _file = RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();
    assert_eq!(
        gunzip(&tmp.path().join(name(d1, ".log.gz"))),
        "run 1\nrun 2\n"
    );
    assert!(!tmp.path().join(name(d1, ".log")).exists());
}

#[test]
fn an_existing_archive_is_appended_to_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day(2025, 4, 1);
    let d2 = day(2025, 4, 2);
    // A crash (or a clock step back) left both forms of the same day.
    gzip(&tmp.path().join(name(d1, ".log.gz")), "archived part\n");
    fs::write(tmp.path().join(name(d1, ".log")), "late part\n").unwrap();
    fs::write(tmp.path().join(name(d1, ".log.gz.partial")), "half-written").unwrap();

    let clock = TestClock::at(d2);
    let _file = RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();
    assert_eq!(
        gunzip(&tmp.path().join(name(d1, ".log.gz"))),
        "archived part\nlate part\n"
    );
    assert_eq!(
        names_in(tmp.path()),
        [name(d1, ".log.gz"), name(d2, ".log")]
    );
}

#[test]
fn a_clock_stepping_back_keeps_the_current_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d2 = day(2025, 4, 2);
    let clock = TestClock::at(d2);
    let mut file = RollingFile::open_with_clock(tmp.path(), PREFIX, 30, clock.reader()).unwrap();
    clock.set(day(2025, 4, 1), 23);
    file.write_all(b"after step back\n").unwrap();
    assert_eq!(names_in(tmp.path()), [name(d2, ".log")]);
}

#[test]
fn the_log_file_gets_redacted_json_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    redactor.add(&SecretString::from("file-secret-value"));
    let opts = LogOptions {
        format: LogFormat::Pretty,
        filter: "info".to_owned(),
        dir: Some(tmp.path().to_owned()),
        file_prefix: PREFIX.to_owned(),
        retention_days: 30,
        stderr: false,
    };
    let console = tempfile::tempfile().unwrap();
    let (subscriber, guard) =
        logging::subscriber(&opts, redactor, std::sync::Arc::new(console)).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(token = "file-secret-value", "to the file");
        tracing::debug!("filtered out");
    });
    // Dropping the guard flushes the non-blocking writer.
    drop(guard);

    let names = names_in(tmp.path());
    assert_eq!(names.len(), 1, "{names:?}");
    let text = fs::read_to_string(tmp.path().join(&names[0])).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["fields"]["message"], "to the file");
    assert_eq!(line["fields"]["token"], "[REDACTED]");
    assert!(!text.contains("file-secret-value"));
}
