//! A generated surefire-style `JUnit` report for the import benchmark.
//!
//! `cases` test cases in suites of 100, deterministic (no randomness, so both sides of the
//! comparison read the same file): 1 in 10 fails with a message and a 12-line trace, 1 in 20
//! is flaky (a `<flakyFailure>` then a pass), 1 in 50 fails and is rerun twice (two
//! `<rerunFailure>`), 1 in 40 is skipped, and every case has a line of `<system-out>`.

use std::fmt::Write as _;
use std::io::{self, Write};

/// What the generated file holds, for checking both sides imported the same thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JunitShape {
    pub cases: u64,
    pub attempts: u64,
}

/// Writes the report to `out`.
pub fn write_junit(out: &mut impl Write, cases: u64) -> io::Result<JunitShape> {
    let mut shape = JunitShape::default();
    let mut text = String::with_capacity(4096);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="generated">"#)?;
    let suites = cases.div_ceil(100);
    for suite in 0..suites {
        writeln!(
            out,
            r#"<testsuite name="com.acme.module{m}.Suite{suite}Test" time="12.5" tests="100" timestamp="2025-03-01T09:00:00">"#,
            m = suite % 37
        )?;
        let first = suite * 100;
        for i in first..(first + 100).min(cases) {
            text.clear();
            let class = format!("com.acme.module{}.Suite{suite}Test", suite % 37);
            let _ = write!(
                text,
                r#"<testcase name="handles_case_{i}" classname="{class}" time="0.{:03}">"#,
                i % 1000
            );
            shape.cases += 1;
            if i % 20 == 7 {
                let _ = write!(
                    text,
                    r#"<flakyFailure message="expected &lt;200&gt; but was &lt;503&gt;" type="org.opentest4j.AssertionFailedError"><stackTrace>{}</stackTrace></flakyFailure>"#,
                    trace(&class, i)
                );
                shape.attempts += 2;
            } else if i % 50 == 13 {
                let _ = write!(
                    text,
                    r#"<failure message="timeout after 30s" type="java.util.concurrent.TimeoutException">{t}</failure><rerunFailure message="timeout after 30s" type="java.util.concurrent.TimeoutException"><stackTrace>{t}</stackTrace></rerunFailure><rerunFailure message="timeout after 30s" type="java.util.concurrent.TimeoutException"><stackTrace>{t}</stackTrace></rerunFailure>"#,
                    t = trace(&class, i)
                );
                shape.attempts += 3;
            } else if i % 10 == 3 {
                let _ = write!(
                    text,
                    r#"<failure message="expected: &lt;{i}&gt; but was: &lt;0&gt;" type="org.opentest4j.AssertionFailedError">{}</failure>"#,
                    trace(&class, i)
                );
                shape.attempts += 1;
            } else if i % 40 == 11 {
                text.push_str(r#"<skipped message="disabled on CI"/>"#);
                shape.attempts += 1;
            } else {
                shape.attempts += 1;
            }
            let _ = write!(
                text,
                "<system-out>INFO starting case {i} on worker {}</system-out></testcase>",
                i % 8
            );
            writeln!(out, "{text}")?;
        }
        writeln!(out, "</testsuite>")?;
    }
    writeln!(out, "</testsuites>")?;
    Ok(shape)
}

fn trace(class: &str, i: u64) -> String {
    let mut t = format!("org.opentest4j.AssertionFailedError: case {i} failed\n");
    for depth in 0..12 {
        let _ = writeln!(
            t,
            "\tat {class}.step{depth}({}.java:{})",
            class.rsplit('.').next().unwrap_or("Test"),
            10 + depth * 7
        );
    }
    t
}
