//! A generated corpus of test cases and a query set for the search benchmark.
//!
//! Deterministic (a fixed-seed splitmix64), so both engines read the same files. Words follow
//! a Zipf-like law (exponent 1.05) over a vocabulary of about 300 real QA terms at the head and
//! 30 000 made-up product and component names in the tail, which is how real test suites look:
//! "verify", "user", "error" everywhere, a long tail of feature names. Each case has a title
//! of 5–10 words, a folder path, tags and 3–8 steps of 6–14 words.
//!
//! The 240 queries: 60 common single terms, 50 mid-frequency, 40 rare, 40 two-term ANDs,
//! 30 two-word phrases taken from real steps, 20 prefixes. Every query is written in a syntax
//! both engines read the same way (lowercase words, `"a b"`, `abc*`).

use std::fmt::Write as _;
use std::io::{self, Write};

/// Head of the vocabulary, most frequent first (roughly).
const QA_TERMS: &str = "verify user error page login request response status check click \
button field value test data api token session account open enter valid invalid message \
display return update create delete list search filter form submit save cancel load time \
order payment checkout cart item price total discount code email password reset profile \
settings admin role permission access denied timeout retry network server client database \
record report export import file upload download image link menu navigation header footer \
modal dialog alert notification warning success failure flaky regression smoke sanity \
integration unit endpoint service queue event log trace metric dashboard chart graph table \
column row cell sort page_size pagination next previous first last scroll refresh reload \
cache cookie storage local remote sync async job task schedule cron trigger webhook callback \
redirect url query parameter header_value body json xml schema contract mock stub fixture \
environment staging production build release version deploy rollback feature flag toggle \
config option default custom theme locale language currency timezone date format number \
decimal rounding tax invoice receipt refund shipping address country city zip phone sms \
otp mfa captcha oauth sso saml jwt expiry expired renew refresh_token logout signup register \
verify_email confirm approve reject pending complete failed cancelled draft archived \
deleted restore history audit trail compliance gdpr consent privacy security encryption \
certificate tls handshake latency throughput load_test stress spike soak memory cpu disk \
leak crash hang freeze slow fast cold warm start stop restart health ping probe liveness \
readiness container pod node cluster replica shard partition broker topic consumer producer \
offset lag batch stream window aggregate join merge split duplicate missing null empty \
whitespace unicode emoji truncate overflow boundary limit maximum minimum negative zero \
browser chrome firefox safari edge mobile android ios tablet desktop responsive viewport \
accessibility keyboard screen_reader contrast focus hover drag drop resize upload_limit";

/// Syllables for the made-up tail names.
const SYLLABLES: &[&str] = &[
    "zor", "vex", "kal", "min", "dra", "tek", "lum", "pix", "nor", "bel", "qua", "sim", "tor",
    "fen", "gal", "rho", "vin", "jas", "mok", "ul", "ex", "an", "or", "it", "ys", "ra", "ko", "ve",
    "lo", "ni",
];

const FOLDERS: &[&str] = &[
    "Auth/Login",
    "Auth/Tokens",
    "Auth/MFA",
    "Checkout/Cart",
    "Checkout/Payment",
    "Checkout/Discounts",
    "Orders/History",
    "Orders/Refunds",
    "Profile/Settings",
    "Admin/Users",
    "Admin/Roles",
    "Reports/Export",
    "Search/Filters",
    "Notifications/Email",
    "API/Contracts",
    "API/Webhooks",
    "Mobile/Android",
    "Mobile/iOS",
    "Performance/Load",
    "Accessibility/Keyboard",
];

const TAGS: &[&str] = &[
    "smoke",
    "regression",
    "sanity",
    "e2e",
    "api",
    "ui",
    "mobile",
    "slow",
];

/// Zipf exponent.
const EXPONENT: f64 = 1.05;
const TAIL_WORDS: usize = 30_000;

/// A deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The vocabulary by rank and its Zipf cumulative distribution.
#[derive(Debug)]
pub struct Vocabulary {
    pub words: Vec<String>,
    cdf: Vec<f64>,
}

impl Vocabulary {
    pub fn new() -> Self {
        let mut words: Vec<String> = QA_TERMS
            .split_whitespace()
            .map(|w| w.replace('_', ""))
            .collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        let mut rng = Rng::new(7);
        while words.len() < QA_TERMS.split_whitespace().count() + TAIL_WORDS {
            let n = 2 + rng.below(3);
            let mut w = String::new();
            for _ in 0..n {
                w.push_str(SYLLABLES[rng.below(SYLLABLES.len())]);
            }
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut cdf = Vec::with_capacity(words.len());
        let mut sum = 0.0;
        for rank in 1..=words.len() {
            sum += 1.0 / (rank as f64).powf(EXPONENT);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Self { words, cdf }
    }

    pub fn sample(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self
            .cdf
            .partition_point(|&c| c < u)
            .min(self.words.len() - 1);
        &self.words[i]
    }
}

impl Default for Vocabulary {
    fn default() -> Self {
        Self::new()
    }
}

/// One generated test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenCase {
    pub key: String,
    pub title: String,
    pub folder: String,
    pub tags: Vec<String>,
    pub steps: String,
}

fn sentence(vocab: &Vocabulary, rng: &mut Rng, min: usize, max: usize) -> String {
    let n = min + rng.below(max - min + 1);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(vocab.sample(rng));
    }
    s
}

/// The corpus: `n` cases, deterministic.
pub fn corpus(n: usize) -> Vec<GenCase> {
    let vocab = Vocabulary::new();
    let mut rng = Rng::new(42);
    (0..n)
        .map(|i| {
            let title = sentence(&vocab, &mut rng, 5, 10);
            let steps_n = 3 + rng.below(6);
            let mut steps = String::new();
            for s in 0..steps_n {
                let _ = writeln!(steps, "{}. {}", s + 1, sentence(&vocab, &mut rng, 6, 14));
            }
            let tags = (0..=rng.below(2))
                .map(|_| TAGS[rng.below(TAGS.len())].to_owned())
                .collect();
            GenCase {
                key: format!("C{}", 100_000 + i),
                title,
                folder: FOLDERS[rng.below(FOLDERS.len())].to_owned(),
                tags,
                steps,
            }
        })
        .collect()
}

/// The 240 queries, with their category.
pub fn queries(cases: &[GenCase]) -> Vec<(&'static str, String)> {
    let vocab = Vocabulary::new();
    let mut rng = Rng::new(1234);
    let mut out = Vec::with_capacity(240);
    let pick = |rng: &mut Rng, lo: usize, hi: usize| vocab.words[lo + rng.below(hi - lo)].clone();
    for _ in 0..60 {
        out.push(("common", pick(&mut rng, 0, 30)));
    }
    for _ in 0..50 {
        out.push(("mid", pick(&mut rng, 200, 2000)));
    }
    for _ in 0..40 {
        out.push(("rare", pick(&mut rng, 5000, vocab.words.len())));
    }
    for i in 0..40 {
        let (a, b) = match i % 3 {
            0 => (pick(&mut rng, 0, 30), pick(&mut rng, 30, 300)),
            1 => (pick(&mut rng, 30, 300), pick(&mut rng, 30, 300)),
            _ => (pick(&mut rng, 0, 30), pick(&mut rng, 0, 30)),
        };
        out.push(("and2", format!("{a} {b}")));
    }
    for _ in 0..30 {
        // Two adjacent words of a real step line, so the phrase exists.
        let case = &cases[rng.below(cases.len())];
        let line = case.steps.lines().next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        let at = rng.below(words.len().saturating_sub(1).max(1));
        let phrase = words
            .get(at..at + 2)
            .map_or_else(String::new, |w| w.join(" "));
        out.push(("phrase", format!("\"{phrase}\"")));
    }
    for i in 0..20 {
        let w = if i % 2 == 0 {
            pick(&mut rng, 0, 60)
        } else {
            pick(&mut rng, 60, 600)
        };
        let len = (3 + rng.below(2)).min(w.len());
        out.push(("prefix", format!("{}*", &w[..len])));
    }
    out
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes the corpus as JSON lines: `{"key","title","folder","tags","steps"}`.
pub fn write_corpus(out: &mut impl Write, cases: &[GenCase]) -> io::Result<u64> {
    let mut bytes = 0;
    let mut line = String::new();
    for c in cases {
        line.clear();
        line.push_str("{\"key\":");
        json_str(&mut line, &c.key);
        line.push_str(",\"title\":");
        json_str(&mut line, &c.title);
        line.push_str(",\"folder\":");
        json_str(&mut line, &c.folder);
        line.push_str(",\"tags\":[");
        for (i, t) in c.tags.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            json_str(&mut line, t);
        }
        line.push_str("],\"steps\":");
        json_str(&mut line, &c.steps);
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    Ok(bytes)
}

/// Writes the queries as JSON lines: `{"category","query"}`.
pub fn write_queries(out: &mut impl Write, queries: &[(&str, String)]) -> io::Result<()> {
    let mut line = String::new();
    for (category, q) in queries {
        line.clear();
        line.push_str("{\"category\":");
        json_str(&mut line, category);
        line.push_str(",\"query\":");
        json_str(&mut line, q);
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
