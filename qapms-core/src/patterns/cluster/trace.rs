//! Stack trace parsing: the exception type and the project's own frames, for four formats.
//!
//! The parser is line-based and format-sniffing, because one failure message may mix formats
//! (a Python test driving a Node service prints both) and because reports rarely say which
//! language produced them. Each line is tried against the frame shapes of
//! - Python (`File "x.py", line 3, in f`, and pytest's `x.py:3: in f`),
//! - Java/Kotlin (`at com.acme.Foo.bar(Foo.java:42)`),
//! - JavaScript/TypeScript (V8's `at f (/src/a.ts:1:2)`, and `f@file:1:2` from Firefox/Safari),
//! - .NET (`at Acme.Foo.Bar(String s) in C:\src\Foo.cs:line 42`),
//!
//! and against the exception-line shape (`pkg.SomeError: message`, pytest's `E   SomeError`,
//! Java's `Caused by: …`, .NET's `---> …`).
//!
//! Frames from libraries and the runtime (site-packages, the JDK, `node_modules`, the test
//! framework's own machinery) are skipped: they are the same for every failure that passes
//! through them, and a fingerprint made of them would merge unrelated failures. Of the own
//! frames, the outermost (the test method that called into the failing code) is dropped when
//! there are others, so one database outage reached from fifty tests is one cluster, not fifty;
//! the top [`TraceOptions::top_frames`] of the rest, innermost first, are kept. Line numbers are
//! left out of frame keys so an edit above a function does not split its cluster; lambda and
//! synthetic-class counters are masked for the same reason.
//!
//! Input is bounded: at most [`MAX_TRACE_BYTES`] of the text and [`MAX_LINES`] lines are read,
//! each line is examined up to [`MAX_LINE_BYTES`], and every string kept is capped at
//! [`MAX_NAME_BYTES`], so a 1 MB single line or binary garbage costs a bounded amount of work
//! and memory; [`StackSignature::truncated`] says when a limit was reached.

use serde::Serialize;

use crate::patterns::templates::TemplateId;

/// How much of a message the parser reads.
pub const MAX_TRACE_BYTES: usize = 256 << 10;
/// Lines read at most.
pub const MAX_LINES: usize = 4000;
/// Bytes of one line that are examined.
pub const MAX_LINE_BYTES: usize = 2048;
/// Longest exception name or frame key kept.
pub const MAX_NAME_BYTES: usize = 256;

/// The language a frame was written in, as recognised from its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Python,
    Java,
    JavaScript,
    DotNet,
}

/// One stack frame, reduced to what identifies the code: a function and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    pub language: Language,
    /// `module:function` (Python, JavaScript) or the qualified method (Java, .NET).
    pub key: String,
    /// Whether the frame is the project's own code (not a library, runtime or test framework).
    pub own: bool,
}

/// What a failure message says about where it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSignature {
    /// The exception type (the root cause when the trace has causes), if one was found.
    pub exception: Option<String>,
    /// The top own frames, innermost (closest to the failure) first.
    pub frames: Vec<Frame>,
    /// The line the exception was raised with, or the first non-blank line: the text to mine.
    pub headline: String,
    /// Whether a size limit cut the input.
    pub truncated: bool,
}

impl StackSignature {
    /// The stack fingerprint: a content hash of the exception type and the frame keys, stable
    /// across processes and machines. `None` when there is neither an exception nor a frame.
    pub fn fingerprint(&self) -> Option<TemplateId> {
        if self.exception.is_none() && self.frames.is_empty() {
            return None;
        }
        let mut text = self.exception.clone().unwrap_or_default();
        for frame in &self.frames {
            text.push('\n');
            text.push_str(&frame.key);
        }
        Some(TemplateId::of(&text))
    }
}

/// Options of [`parse_trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    /// Own frames kept for the fingerprint.
    pub top_frames: usize,
    /// Prefixes (Java/.NET namespaces, Python modules, path fragments) of the project's own
    /// code. When set, only matching frames are own; otherwise every frame that is not a known
    /// library, runtime or test-framework frame is.
    pub own_prefixes: Vec<String>,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            top_frames: 3,
            own_prefixes: Vec::new(),
        }
    }
}

/// The largest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One section of a trace: an exception line and the frames printed under it.
#[derive(Default)]
struct Section {
    exception: Option<String>,
    /// Frames in printed order.
    frames: Vec<Frame>,
    /// Python prints the innermost frame last, the others first.
    innermost_last: bool,
    /// The outer exception's frames, printed after .NET's inner exception trace.
    outer: bool,
}

/// Parses a failure message (message line plus trace, any of the four formats).
#[expect(
    clippy::too_many_lines,
    reason = "one pass over the lines, then the choice of section; splitting hides the order"
)]
pub fn parse_trace(text: &str, options: &TraceOptions) -> StackSignature {
    let mut truncated = text.len() > MAX_TRACE_BYTES;
    let text = clip(text, MAX_TRACE_BYTES);
    let mut sections: Vec<Section> = vec![Section::default()];
    let mut headline: Option<&str> = None;
    let mut first_line: Option<&str> = None;
    for (index, raw) in text.lines().enumerate() {
        if index >= MAX_LINES {
            truncated = true;
            break;
        }
        if raw.len() > MAX_LINE_BYTES {
            truncated = true;
        }
        let line = clip(raw, MAX_LINE_BYTES).trim();
        if line.is_empty() {
            continue;
        }
        if first_line.is_none() {
            first_line = Some(line);
        }
        if line.starts_with("--- End of inner exception stack trace") {
            sections.push(Section {
                outer: true,
                ..Section::default()
            });
            continue;
        }
        if let Some(frame) = parse_frame(line, options) {
            let current = sections.last_mut().map(|s| {
                if frame.language == Language::Python {
                    s.innermost_last = true;
                }
                &mut s.frames
            });
            if let Some(frames) = current
                && frames.len() < MAX_LINES
            {
                frames.push(frame);
            }
            continue;
        }
        if let Some((name, is_cause)) = exception_line(line) {
            let name = clip(name, MAX_NAME_BYTES).to_owned();
            let start_new = is_cause
                || sections
                    .last()
                    .is_some_and(|s| s.exception.is_some() && !s.frames.is_empty());
            if start_new {
                sections.push(Section {
                    exception: Some(name),
                    ..Section::default()
                });
            } else if let Some(s) = sections.last_mut() {
                // Python prints the frames first and the exception after them: it belongs to
                // the frames above. A repeated line (pytest's `E` lines) keeps the last name.
                s.exception = Some(name);
            }
            headline = Some(line);
        }
    }
    let exception = sections.iter().rev().find_map(|s| s.exception.clone());
    // The root cause is the last section; when it printed no own frame (Java's "... 12 more"),
    // the frames of an outer section stand in.
    let chosen = sections
        .iter()
        .rev()
        .find(|s| !s.outer && s.frames.iter().any(|f| f.own))
        .or_else(|| {
            sections
                .iter()
                .rev()
                .find(|s| s.frames.iter().any(|f| f.own))
        })
        .or_else(|| sections.iter().rev().find(|s| !s.frames.is_empty()));
    let mut frames: Vec<Frame> = Vec::new();
    if let Some(section) = chosen {
        let ordered: Box<dyn Iterator<Item = &Frame>> = if section.innermost_last {
            Box::new(section.frames.iter().rev())
        } else {
            Box::new(section.frames.iter())
        };
        let own: Vec<&Frame> = ordered.filter(|f| f.own).collect();
        frames = if own.is_empty() {
            let ordered: Box<dyn Iterator<Item = &Frame>> = if section.innermost_last {
                Box::new(section.frames.iter().rev())
            } else {
                Box::new(section.frames.iter())
            };
            ordered.take(options.top_frames).cloned().collect()
        } else {
            // The outermost own frame is the test that happened to call the failing code; it is
            // not part of the cause, and keeping it would split one outage into a cluster per
            // test. It stays when it is the only own frame (the test itself failed).
            let keep = if own.len() > 1 { own.len() - 1 } else { 1 };
            own.into_iter()
                .take(keep.min(options.top_frames))
                .cloned()
                .collect()
        };
    }
    let headline = headline
        .or(first_line)
        .map(|l| strip_pytest_marker(l).to_owned())
        .unwrap_or_default();
    StackSignature {
        exception,
        frames,
        headline,
        truncated,
    }
}

/// pytest prefixes the failing lines with `E` and spaces.
fn strip_pytest_marker(line: &str) -> &str {
    match line.strip_prefix("E ") {
        Some(rest) => rest.trim_start(),
        None => line,
    }
}

/// Suffixes of exception type names across the four languages.
const EXCEPTION_SUFFIXES: &[&str] = &[
    "Error",
    "Exception",
    "Exit",
    "Interrupt",
    "Warning",
    "Fault",
    "Failure",
    "Failed",
    "Timeout",
    "Panic",
    "StopIteration",
    "Throwable",
];

/// Recognises an exception line and returns the type name and whether it is a cause/inner
/// exception (which starts a new section).
fn exception_line(line: &str) -> Option<(&str, bool)> {
    let mut rest = strip_pytest_marker(line);
    let mut cause = false;
    for prefix in [
        "Caused by:",
        "--->",
        "Inner exception:",
        "Unhandled exception.",
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
            cause = prefix != "Unhandled exception.";
        }
    }
    if let Some(r) = rest.strip_prefix("Uncaught ") {
        rest = r;
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    let after = &rest[end..];
    if name.is_empty() || name.starts_with('.') || name.ends_with('.') {
        return None;
    }
    let ok_after = after.is_empty()
        || after.starts_with(':')
        || after.starts_with(" [")
        || after.starts_with(" (")
        || after.starts_with(" - ");
    if !ok_after {
        return None;
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    let typed = last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && EXCEPTION_SUFFIXES.iter().any(|s| last.ends_with(s));
    typed.then_some((name, cause))
}

/// Tries every frame shape on a trimmed line.
fn parse_frame(line: &str, options: &TraceOptions) -> Option<Frame> {
    python_frame(line)
        .or_else(|| at_frame(line))
        .or_else(|| gecko_frame(line))
        .map(|(language, key, location)| {
            let own = is_own(language, &key, &location, options);
            Frame {
                language,
                key: clip(&mask_counters(&key), MAX_NAME_BYTES).to_owned(),
                own,
            }
        })
}

/// A frame as parsed: language, key and the location text used to judge ownership.
type RawFrame = (Language, String, String);

/// `File "path", line 12, in func` and pytest's `path.py:12: in func`.
fn python_frame(line: &str) -> Option<RawFrame> {
    if let Some(rest) = line.strip_prefix("File \"") {
        let (path, rest) = rest.split_once('"')?;
        let func = rest
            .rsplit_once(", in ")
            .map_or("<module>", |(_, f)| f.trim());
        return Some((Language::Python, python_key(path, func), path.to_owned()));
    }
    let (path, rest) = line.split_once(".py:")?;
    let (digits, rest) = rest.split_once(": in ")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || path.contains(' ') {
        return None;
    }
    let path = format!("{path}.py");
    Some((Language::Python, python_key(&path, rest.trim()), path))
}

/// `module:function`, the module being the file name without `.py`.
fn python_key(path: &str, func: &str) -> String {
    let file = basename(path);
    let module = file.strip_suffix(".py").unwrap_or(file);
    format!("{module}:{func}")
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Frames starting with `at `: Java/Kotlin, V8 (JavaScript/TypeScript) and .NET.
fn at_frame(line: &str) -> Option<RawFrame> {
    let rest = line.strip_prefix("at ")?.trim();
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    // .NET: `Ns.Type.Method(args) in path:line 42`.
    if let Some((method, location)) = rest.split_once(") in ") {
        let name = method.split_once('(').map_or(method, |(n, _)| n);
        return Some((Language::DotNet, name.to_owned(), location.to_owned()));
    }
    if let Some(open) = rest.find('(')
        && rest.ends_with(')')
    {
        let name = rest[..open].trim();
        let inside = &rest[open + 1..rest.len() - 1];
        if is_js_location(inside) {
            return Some((
                Language::JavaScript,
                js_key(name, inside),
                inside.to_owned(),
            ));
        }
        if is_java_location(inside) {
            // Java 9+ prefixes the module: `java.base/java.lang.Thread.run`.
            let name = name.rsplit_once('/').map_or(name, |(_, n)| n);
            return Some((Language::Java, name.to_owned(), name.to_owned()));
        }
        if !name.contains(' ') && name.contains('.') {
            return Some((Language::DotNet, name.to_owned(), name.to_owned()));
        }
        return None;
    }
    // V8 without a function name: `at /src/a.js:1:2`.
    if is_js_location(rest) {
        return Some((
            Language::JavaScript,
            js_key("<anonymous>", rest),
            rest.to_owned(),
        ));
    }
    None
}

/// Firefox and Safari: `func@https://host/app.js:10:5`.
fn gecko_frame(line: &str) -> Option<RawFrame> {
    let (name, location) = line.split_once('@')?;
    if name.contains(' ') || !is_js_location(location) {
        return None;
    }
    let name = if name.is_empty() { "<anonymous>" } else { name };
    Some((
        Language::JavaScript,
        js_key(name, location),
        location.to_owned(),
    ))
}

/// `path:line:column` (V8 and Gecko), or a `node:` built-in.
fn is_js_location(text: &str) -> bool {
    if text.starts_with("node:") || text == "native" || text == "<anonymous>" {
        return true;
    }
    let mut parts = text.rsplitn(3, ':');
    let col = parts.next().unwrap_or("");
    let line = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    !path.is_empty()
        && !col.is_empty()
        && !line.is_empty()
        && col.bytes().all(|b| b.is_ascii_digit())
        && line.bytes().all(|b| b.is_ascii_digit())
}

/// `Foo.java:42`, `Foo.kt`, `Native Method`, `Unknown Source`.
fn is_java_location(text: &str) -> bool {
    if matches!(text, "Native Method" | "Unknown Source") {
        return true;
    }
    let file = text.split_once(':').map_or(text, |(f, _)| f);
    [".java", ".kt", ".kts", ".scala", ".groovy", ".clj"]
        .iter()
        .any(|ext| file.ends_with(ext))
}

/// `file:function` with the file name stripped of its directory and extension, so the same
/// code run from another checkout (another CI workspace) gives the same key.
fn js_key(name: &str, location: &str) -> String {
    let path = location
        .rsplitn(3, ':')
        .nth(2)
        .unwrap_or(location)
        .trim_start_matches("file://");
    let file = basename(path);
    let module = file.split_once('.').map_or(file, |(m, _)| m);
    let name = name
        .strip_prefix("Object.")
        .filter(|n| !n.is_empty())
        .unwrap_or(name);
    format!("{module}:{name}")
}

/// Masks compiler-generated counters (`lambda$3`, `$1`, `<lambda_0>`, `b__12_0`, V8's `<anonymous>`
/// numbering) so they do not split clusters when code is added elsewhere.
fn mask_counters(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '$' | '_') && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            out.push('#');
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Library, runtime and test-framework code, by language.
const PYTHON_FOREIGN: &[&str] = &[
    "site-packages",
    "dist-packages",
    "/lib/python",
    "\\lib\\python",
    "/_pytest/",
    "/pytest/",
    "/pluggy/",
    "/unittest/",
    "<frozen ",
    "<string>",
];
const JAVA_FOREIGN: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "org.codehaus.groovy.",
    "org.junit.",
    "junit.",
    "org.testng.",
    "org.opentest4j.",
    "org.assertj.",
    "org.hamcrest.",
    "org.mockito.",
    "net.bytebuddy.",
    "org.gradle.",
    "worker.org.gradle.",
    "org.apache.maven.",
    "org.springframework.",
    "io.netty.",
    "reactor.",
    "io.kotest.",
    "org.spockframework.",
    "com.intellij.",
];
const JS_FOREIGN: &[&str] = &[
    "node_modules",
    "node:",
    "internal/",
    "<anonymous>",
    "native",
    "webpack/bootstrap",
];
const DOTNET_FOREIGN: &[&str] = &[
    "System.",
    "Microsoft.",
    "NUnit.",
    "Xunit.",
    "xunit.",
    "MSTest.",
    "FluentAssertions.",
    "Moq.",
    "Castle.",
    "Shouldly.",
    "lambda_method",
];

fn is_own(language: Language, key: &str, location: &str, options: &TraceOptions) -> bool {
    if !options.own_prefixes.is_empty() {
        return options
            .own_prefixes
            .iter()
            .any(|p| key.starts_with(p.as_str()) || location.contains(p.as_str()));
    }
    match language {
        Language::Python => !PYTHON_FOREIGN.iter().any(|p| location.contains(p)),
        Language::Java => !JAVA_FOREIGN.iter().any(|p| key.starts_with(p)),
        Language::JavaScript => !JS_FOREIGN.iter().any(|p| location.contains(p)),
        Language::DotNet => !DOTNET_FOREIGN.iter().any(|p| key.starts_with(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> StackSignature {
        parse_trace(text, &TraceOptions::default())
    }

    fn keys(sig: &StackSignature) -> Vec<&str> {
        sig.frames.iter().map(|f| f.key.as_str()).collect()
    }

    const PYTHON: &str = r#"Traceback (most recent call last):
  File "/home/ci/work/shop/tests/test_checkout.py", line 41, in test_pay
    order = checkout.pay(cart, card)
  File "/home/ci/work/shop/shop/checkout.py", line 88, in pay
    return gateway.charge(card, total)
  File "/home/ci/work/shop/shop/gateway.py", line 12, in charge
    resp = requests.post(self.url, json=body, timeout=5)
  File "/usr/lib/python3.12/site-packages/requests/api.py", line 115, in post
    return request("post", url, data=data, json=json, **kwargs)
  File "/usr/lib/python3.12/site-packages/requests/adapters.py", line 519, in send
    raise ConnectionError(e, request=request)
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pay.internal', port=443): Max retries exceeded
"#;

    #[test]
    fn python_traceback_keeps_own_frames_innermost_first() {
        let sig = parse(PYTHON);
        assert_eq!(
            sig.exception.as_deref(),
            Some("requests.exceptions.ConnectionError")
        );
        assert_eq!(keys(&sig), ["gateway:charge", "checkout:pay"]);
        assert!(sig.frames.iter().all(|f| f.language == Language::Python));
        assert!(
            sig.headline
                .starts_with("requests.exceptions.ConnectionError: HTTPS")
        );
        assert!(!sig.truncated);
    }

    #[test]
    fn pytest_long_format() {
        let text = "def test_total():\n>       assert cart.total() == 30\n\
             E       AssertionError: assert 29 == 30\n\
             E        +  where 29 = <bound method Cart.total>()\n\n\
             tests/test_cart.py:17: AssertionError";
        let sig = parse(text);
        assert_eq!(sig.exception.as_deref(), Some("AssertionError"));
        assert_eq!(sig.headline, "AssertionError: assert 29 == 30");
        let text = "tests/test_cart.py:9: in test_total\n    helper()\n\
             shop/cart.py:30: in helper\n    raise KeyError(k)\nE   KeyError: 'sku-1'";
        let sig = parse(text);
        assert_eq!(sig.exception.as_deref(), Some("KeyError"));
        assert_eq!(keys(&sig), ["cart:helper"]);
    }

    const JAVA: &str = "org.opentest4j.AssertionFailedError: expected: <200> but was: <503>
\tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
\tat org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:150)
\tat com.acme.orders.OrderApiTest.placesOrder(OrderApiTest.java:57)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)
\tat org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)
";

    #[test]
    fn java_trace_skips_framework_and_jdk_frames() {
        let sig = parse(JAVA);
        assert_eq!(
            sig.exception.as_deref(),
            Some("org.opentest4j.AssertionFailedError")
        );
        assert_eq!(keys(&sig), ["com.acme.orders.OrderApiTest.placesOrder"]);
        assert_eq!(sig.frames[0].language, Language::Java);
    }

    #[test]
    fn java_root_cause_and_kotlin_lambdas() {
        let text = "java.lang.IllegalStateException: could not load order\n\
             \tat com.acme.orders.OrderService.load(OrderService.kt:40)\n\
             \tat com.acme.orders.OrderService$load$1.invokeSuspend(OrderService.kt:12)\n\
             Caused by: java.sql.SQLTransientConnectionException: pool exhausted\n\
             \tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)\n\
             \tat com.acme.orders.Repo.lambda$find$3(Repo.java:22)\n\
             \t... 12 more";
        let sig = parse(text);
        assert_eq!(
            sig.exception.as_deref(),
            Some("java.sql.SQLTransientConnectionException")
        );
        // Hikari is not on the skip list, so without own prefixes it counts as own code.
        assert_eq!(
            keys(&sig),
            ["com.zaxxer.hikari.pool.HikariPool.getConnection"]
        );
        let only_acme = TraceOptions {
            own_prefixes: vec!["com.acme.".into()],
            ..TraceOptions::default()
        };
        let sig = parse_trace(text, &only_acme);
        assert_eq!(keys(&sig), ["com.acme.orders.Repo.lambda$find$#"]);
    }

    const NODE: &str = "TypeError: Cannot read properties of undefined (reading 'id')
    at toDto (/home/runner/work/shop/shop/src/orders/mapper.ts:14:22)
    at Array.map (<anonymous>)
    at OrdersController.list (/home/runner/work/shop/shop/src/orders/controller.ts:31:18)
    at async Object.<anonymous> (/home/runner/work/shop/shop/test/orders.spec.ts:20:5)
    at processTicksAndRejections (node:internal/process/task_queues:95:5)
    at Layer.handle (/home/runner/work/shop/shop/node_modules/express/lib/router/layer.js:95:5)";

    #[test]
    fn node_trace_keys_are_checkout_independent() {
        let sig = parse(NODE);
        assert_eq!(sig.exception.as_deref(), Some("TypeError"));
        assert_eq!(
            keys(&sig),
            ["mapper:toDto", "controller:OrdersController.list"]
        );
        let elsewhere = NODE.replace("/home/runner/work/shop/shop", "C:/dev/shop");
        assert_eq!(parse(&elsewhere).fingerprint(), sig.fingerprint());
    }

    #[test]
    fn gecko_frames() {
        let text = "Error: timeout of 5000ms exceeded\nfetchUser@http://localhost:3000/static/js/api.js:10:15\n\
             @http://localhost:3000/static/js/vendor.js:2:100";
        let sig = parse(text);
        assert_eq!(sig.exception.as_deref(), Some("Error"));
        assert_eq!(keys(&sig)[0], "api:fetchUser");
    }

    const DOTNET: &str = "System.InvalidOperationException: Sequence contains no elements
   at System.Linq.ThrowHelper.ThrowNoElementsException()
   at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)
   at Acme.Billing.InvoiceService.Latest(Int32 customerId) in /src/Acme.Billing/InvoiceService.cs:line 48
   at Acme.Billing.Tests.InvoiceTests.LatestInvoice() in /src/Acme.Billing.Tests/InvoiceTests.cs:line 22
   at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)";

    #[test]
    fn dotnet_trace() {
        let sig = parse(DOTNET);
        assert_eq!(
            sig.exception.as_deref(),
            Some("System.InvalidOperationException")
        );
        assert_eq!(keys(&sig), ["Acme.Billing.InvoiceService.Latest"]);
        assert!(sig.frames.iter().all(|f| f.language == Language::DotNet));
    }

    #[test]
    fn dotnet_inner_exception_is_the_root_cause() {
        let text = "System.AggregateException: One or more errors occurred.\n \
             ---> System.TimeoutException: The operation has timed out.\n   \
             at Acme.Net.Client.Send(Request r) in /src/Client.cs:line 9\n   \
             --- End of inner exception stack trace ---\n   \
             at Acme.App.Run() in /src/App.cs:line 3";
        let sig = parse(text);
        assert_eq!(sig.exception.as_deref(), Some("System.TimeoutException"));
        assert_eq!(keys(&sig), ["Acme.Net.Client.Send"]);
    }

    #[test]
    fn the_calling_test_is_not_part_of_the_cause() {
        let from = |test: &str| {
            format!(
                "Traceback (most recent call last):\n  File \"/ci/tests/{test}.py\", line 9, in {test}\n  \
                 File \"/ci/shop/db.py\", line 40, in connect\nConnectionError: refused"
            )
        };
        let a = parse(&from("test_orders"));
        assert_eq!(keys(&a), ["db:connect"]);
        assert_eq!(a.fingerprint(), parse(&from("test_billing")).fingerprint());
    }

    #[test]
    fn line_numbers_do_not_change_the_fingerprint() {
        let moved = JAVA.replace("OrderApiTest.java:57", "OrderApiTest.java:61");
        assert_eq!(parse(&moved).fingerprint(), parse(JAVA).fingerprint());
        let other = JAVA.replace("placesOrder", "cancelsOrder");
        assert_ne!(parse(&other).fingerprint(), parse(JAVA).fingerprint());
    }

    #[test]
    fn plain_messages_have_a_headline_and_maybe_no_fingerprint() {
        let sig = parse("\n  expected 3 items, got 2\n");
        assert_eq!(sig.headline, "expected 3 items, got 2");
        assert_eq!(sig.exception, None);
        assert_eq!(sig.fingerprint(), None);
        assert_eq!(parse("").headline, "");
    }

    #[test]
    fn long_input_is_cut_and_flagged() {
        let line = "x".repeat(MAX_LINE_BYTES * 4);
        let sig = parse(&format!("ValueError: {line}"));
        assert!(sig.truncated);
        assert!(sig.headline.len() <= MAX_LINE_BYTES);
        assert_eq!(sig.exception.as_deref(), Some("ValueError"));
    }

    #[test]
    fn not_exceptions() {
        for line in [
            "at least one item expected",
            "Expected: 3",
            "error: lowercase",
            "Errors: 3 of 4",
            ".Error: x",
        ] {
            assert_eq!(exception_line(line), None, "{line}");
        }
    }
}
