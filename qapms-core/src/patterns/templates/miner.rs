//! The streaming miner: a Drain-style fixed-depth parse tree with an LRU of clusters.
//!
//! Each line is truncated if huge, optionally stripped of its header, masked, and split into
//! tokens. The tree routes it by token count, then by its first `depth` tokens (a token holding a
//! wildcard, or any new token once a node has `max_children`, goes to the `<*>` child), to a leaf
//! holding a few clusters. The line joins the most similar cluster (share of positions where the
//! template's fixed token equals the line's) if that share reaches `similarity`; positions that
//! differ become `<*>`. Otherwise it starts a new cluster.
//!
//! A differing token `key=value` whose key agrees becomes `key=<*>` rather than `<*>`, which is
//! how the Loghub ground truth (and a reader) writes such fields.
//!
//! Memory is bounded: lines are cut at `max_line_bytes`, token lists at `max_tokens`, and clusters
//! live in a slab threaded by an intrusive LRU list; the least recently matched cluster is evicted
//! when `max_clusters` is reached. Tree nodes are bounded by `max_children` per level.
//!
//! Ids: a cluster's [`TemplateId`] is the hash of its *current* template text. When a cluster
//! generalises (a fixed token becomes `<*>`), its id changes; [`Match::previous_id`] reports the
//! id it had, so a caller that stores ids can record the merge. A [`ClusterId`] is a handle that
//! is only meaningful inside one miner.

use std::borrow::Cow;
use std::collections::HashMap;

use super::header::LogLine;
use super::id::{FnvBuild, TemplateId};
use super::mask::{WILDCARD, mask_token};

/// The one configuration of the miner. The defaults are the evaluated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct MinerConfig {
    /// How many leading tokens route a line in the tree (Drain's depth minus two).
    pub depth: usize,
    /// The share of the line's fixed (unmasked) tokens that must equal the template's for the
    /// line to join a cluster, in `0.0..=1.0`. 0.55 sits mid-range of the thresholds Drain is
    /// run with (0.4-0.7); masked tokens are not counted, so number-heavy lines do not need less.
    pub similarity: f64,
    /// Children per tree node before new tokens are routed to the `<*>` child.
    pub max_children: usize,
    /// Clusters kept; the least recently matched one is evicted beyond this.
    pub max_clusters: usize,
    /// Bytes of a line kept; the rest is replaced by a `…[truncated N bytes]` marker.
    pub max_line_bytes: usize,
    /// Tokens of a line kept; the rest is replaced by one `<…>` token.
    pub max_tokens: usize,
    /// Strip a generic log header (timestamp, level, component) first; see [`LogLine`].
    pub strip_headers: bool,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            depth: 2,
            similarity: 0.55,
            max_children: 100,
            max_clusters: 10_000,
            max_line_bytes: 64 * 1024,
            max_tokens: 512,
            strip_headers: false,
        }
    }
}

/// A miner-local handle on a cluster; not stable across miners (use [`TemplateId`] for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(u64);

impl ClusterId {
    /// The raw value: clusters are numbered from 0 in creation order.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// What [`TemplateMiner::add`] did with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a> {
    /// The cluster the line joined.
    pub cluster: ClusterId,
    /// The id of the cluster's template after this line.
    pub template_id: TemplateId,
    /// The cluster's template after this line.
    pub template: &'a str,
    /// Lines in the cluster, this one included.
    pub cluster_size: u64,
    /// Whether this line started the cluster.
    pub is_new: bool,
    /// The id the template had before this line generalised it, if it did.
    pub previous_id: Option<TemplateId>,
}

/// A cluster's template, as listed by [`TemplateMiner::templates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template<'a> {
    pub cluster: ClusterId,
    pub id: TemplateId,
    /// Tokens joined by single spaces, variables as `<*>`.
    pub text: &'a str,
    pub size: u64,
}

const NONE: u32 = u32::MAX;

#[derive(Debug)]
struct Cluster {
    id: ClusterId,
    tokens: Vec<Box<str>>,
    text: String,
    template_id: TemplateId,
    size: u64,
    leaf: u32,
    prev: u32,
    next: u32,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, u32, FnvBuild>,
    clusters: Vec<u32>,
}

/// A streaming template miner; see the module documentation.
#[derive(Debug)]
pub struct TemplateMiner {
    config: MinerConfig,
    by_length: HashMap<usize, u32, FnvBuild>,
    nodes: Vec<Node>,
    slots: Vec<Option<Cluster>>,
    free: Vec<u32>,
    /// Most recently used cluster slot, then `next` towards the least recently used.
    head: u32,
    tail: u32,
    live: usize,
    next_cluster: u64,
    evicted: u64,
    lookup: HashMap<ClusterId, u32, FnvBuild>,
    scratch: String,
    spans: Vec<(u32, u32)>,
}

impl TemplateMiner {
    /// A miner with `config`; zero limits are raised to 1.
    pub fn new(mut config: MinerConfig) -> Self {
        config.max_children = config.max_children.max(2);
        config.max_clusters = config.max_clusters.max(1);
        config.max_tokens = config.max_tokens.max(1);
        config.max_line_bytes = config.max_line_bytes.max(64);
        if !config.similarity.is_finite() {
            config.similarity = MinerConfig::default().similarity;
        }
        Self {
            config,
            by_length: HashMap::default(),
            nodes: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NONE,
            tail: NONE,
            live: 0,
            next_cluster: 0,
            evicted: 0,
            lookup: HashMap::default(),
            scratch: String::new(),
            spans: Vec::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &MinerConfig {
        &self.config
    }

    /// Clusters evicted so far to honour `max_clusters`.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Clusters currently held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no line has been added (or every cluster was evicted).
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds raw bytes: invalid UTF-8 is replaced (lossy), as log files often contain some.
    pub fn add_bytes(&mut self, line: &[u8]) -> Match<'_> {
        let keep = line.len().min(self.config.max_line_bytes);
        // Validation alone is much faster than the lossy decoder, and nearly every line is valid.
        let text = match std::str::from_utf8(&line[..keep]) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&line[..keep]),
        };
        let cut = line.len() - keep;
        if cut == 0 {
            let slot = self.add_inner(&text);
            self.match_of(slot)
        } else {
            let mut owned = text.into_owned();
            push_truncation_marker(&mut owned, cut);
            let slot = self.add_inner(&owned);
            self.match_of(slot)
        }
    }

    /// Adds one line (or one whole failure message) and returns the cluster it joined.
    pub fn add(&mut self, line: &str) -> Match<'_> {
        let prepared = truncate(line, self.config.max_line_bytes);
        let slot = self.add_inner(&prepared);
        self.match_of(slot)
    }

    /// The cluster's template, if it is still held.
    pub fn template(&self, cluster: ClusterId) -> Option<Template<'_>> {
        let slot = *self.lookup.get(&cluster)?;
        self.slots.get(slot as usize)?.as_ref().map(to_template)
    }

    /// Every cluster held, in no particular order.
    pub fn templates(&self) -> impl Iterator<Item = Template<'_>> {
        self.slots.iter().flatten().map(to_template)
    }

    fn match_of(&self, (slot, is_new, previous_id): (u32, bool, Option<TemplateId>)) -> Match<'_> {
        let c = self.cluster(slot);
        Match {
            cluster: c.id,
            template_id: c.template_id,
            template: &c.text,
            cluster_size: c.size,
            is_new,
            previous_id,
        }
    }

    fn cluster(&self, slot: u32) -> &Cluster {
        match self.slots.get(slot as usize) {
            Some(Some(c)) => c,
            // Slots returned by add_inner are live by construction.
            _ => unreachable!("cluster slot {slot} is live"),
        }
    }

    fn cluster_mut(&mut self, slot: u32) -> &mut Cluster {
        match self.slots.get_mut(slot as usize) {
            Some(Some(c)) => c,
            _ => unreachable!("cluster slot {slot} is live"),
        }
    }

    fn tokenize(&mut self, line: &str) {
        let content = if self.config.strip_headers {
            LogLine::parse(line).content
        } else {
            line
        };
        self.scratch.clear();
        self.spans.clear();
        for token in content.split_ascii_whitespace() {
            let start = self.scratch.len();
            if self.spans.len() + 1 == self.config.max_tokens {
                self.scratch.push_str("<…>");
                self.spans.push((start as u32, self.scratch.len() as u32));
                break;
            }
            mask_token(token, &mut self.scratch);
            self.spans.push((start as u32, self.scratch.len() as u32));
        }
    }

    fn token(&self, i: usize) -> &str {
        let (s, e) = self.spans[i];
        &self.scratch[s as usize..e as usize]
    }

    /// Returns the slot of the cluster the line joined, whether it is new, and the previous id.
    fn add_inner(&mut self, line: &str) -> (u32, bool, Option<TemplateId>) {
        self.tokenize(line);
        let n = self.spans.len();
        if let Some(leaf) = self.search_leaf(n)
            && let Some(slot) = self.best_cluster(leaf)
        {
            let previous = self.generalise(slot);
            let c = self.cluster_mut(slot);
            c.size += 1;
            self.touch(slot);
            return (slot, false, previous);
        }
        let leaf = self.insert_leaf(n);
        let slot = self.new_cluster(leaf);
        (slot, true, None)
    }

    /// The tree key of token `i`. As in Drain, a token with a digit routes like a wildcard even
    /// when masking kept it (`u0`, `node7`): such tokens are usually variables, and routing on
    /// them would put `User u0 logged in` and `User u1 logged in` in different leaves, where
    /// they can never merge.
    fn route_key(&self, i: usize) -> &str {
        let t = self.token(i);
        if t.contains(WILDCARD) || t.bytes().any(|b| b.is_ascii_digit()) {
            WILDCARD
        } else {
            t
        }
    }

    fn search_leaf(&self, n: usize) -> Option<u32> {
        let mut node = *self.by_length.get(&n)?;
        for i in 0..n.min(self.config.depth) {
            let children = &self.nodes[node as usize].children;
            node = match children.get(self.route_key(i)) {
                Some(&child) => child,
                None => *children.get(WILDCARD)?,
            };
        }
        Some(node)
    }

    fn insert_leaf(&mut self, n: usize) -> u32 {
        let mut node = match self.by_length.get(&n) {
            Some(&node) => node,
            None => {
                let node = self.new_node();
                self.by_length.insert(n, node);
                node
            }
        };
        for i in 0..n.min(self.config.depth) {
            let key = self.route_key(i);
            let children = &self.nodes[node as usize].children;
            if let Some(&child) = children.get(key) {
                node = child;
                continue;
            }
            let key: Box<str> = if children.len() + 1 >= self.config.max_children {
                // Full: everything new shares the wildcard child (kept one slot free for it).
                if let Some(&child) = children.get(WILDCARD) {
                    node = child;
                    continue;
                }
                WILDCARD.into()
            } else {
                key.into()
            };
            let child = self.new_node();
            self.nodes[node as usize].children.insert(key, child);
            node = child;
        }
        node
    }

    fn new_node(&mut self) -> u32 {
        self.nodes.push(Node::default());
        (self.nodes.len() - 1) as u32
    }

    fn best_cluster(&self, leaf: u32) -> Option<u32> {
        let n = self.spans.len();
        // Similarity counts only the line's fixed tokens: a masked token (`<*>:<*>`) equal to the
        // template's says nothing about whether the message text agrees, and counting it let
        // short messages with different wording merge (`... from <*>: <*>: Bye Bye [preauth]`
        // with `... from <*>: <*>: disconnected by user`).
        let mut best: Option<(u32, f64, usize)> = None;
        for &slot in &self.nodes[leaf as usize].clusters {
            let c = self.cluster(slot);
            let mut same = 0usize;
            let mut wild = 0usize;
            let mut masked = 0usize;
            for (i, t) in c.tokens.iter().enumerate() {
                let token = self.token(i);
                // Equality first: a masked `rhost=<*>` equal to the template's is a masked token,
                // not a generalised `key=<*>`.
                if &**t == token {
                    if token.contains(WILDCARD) {
                        masked += 1;
                    } else {
                        same += 1;
                    }
                } else if &**t == WILDCARD || keyed_prefix(t).is_some_and(|p| token.starts_with(p))
                {
                    wild += 1;
                }
            }
            let fixed = n - masked;
            let sim = if fixed == 0 {
                1.0
            } else {
                same as f64 / fixed as f64
            };
            // Ties go to the more general template, as in Drain.
            if best.is_none_or(|(_, s, w)| sim.total_cmp(&s).then(wild.cmp(&w)).is_gt()) {
                best = Some((slot, sim, wild));
            }
        }
        let (slot, sim, _) = best?;
        (sim >= self.config.similarity).then_some(slot)
    }

    /// Replaces differing fixed tokens of the cluster's template by `<*>`; returns the old id
    /// if the template changed.
    fn generalise(&mut self, slot: u32) -> Option<TemplateId> {
        let spans = std::mem::take(&mut self.spans);
        let scratch = std::mem::take(&mut self.scratch);
        let c = self.cluster_mut(slot);
        let mut changed = false;
        for (t, &(s, e)) in c.tokens.iter_mut().zip(&spans) {
            let token = &scratch[s as usize..e as usize];
            if &**t == WILDCARD
                || **t == *token
                || keyed_prefix(t).is_some_and(|p| token.starts_with(p))
            {
                continue;
            }
            *t = generalise_token(t, token).into();
            changed = true;
        }
        let previous = if changed {
            let old = c.template_id;
            c.text = join(&c.tokens);
            c.template_id = TemplateId::of(&c.text);
            Some(old)
        } else {
            None
        };
        self.spans = spans;
        self.scratch = scratch;
        previous
    }

    fn new_cluster(&mut self, leaf: u32) -> u32 {
        if self.live >= self.config.max_clusters {
            self.evict_lru();
        }
        let tokens: Vec<Box<str>> = (0..self.spans.len())
            .map(|i| self.token(i).into())
            .collect();
        let text = join(&tokens);
        let id = ClusterId(self.next_cluster);
        self.next_cluster += 1;
        let cluster = Cluster {
            id,
            template_id: TemplateId::of(&text),
            tokens,
            text,
            size: 1,
            leaf,
            prev: NONE,
            next: NONE,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(cluster);
                slot
            }
            None => {
                self.slots.push(Some(cluster));
                (self.slots.len() - 1) as u32
            }
        };
        self.nodes[leaf as usize].clusters.push(slot);
        self.lookup.insert(id, slot);
        self.live += 1;
        self.push_front(slot);
        slot
    }

    fn evict_lru(&mut self) {
        let slot = self.tail;
        if slot == NONE {
            return;
        }
        self.unlink(slot);
        if let Some(c) = self.slots[slot as usize].take() {
            self.nodes[c.leaf as usize].clusters.retain(|&s| s != slot);
            self.lookup.remove(&c.id);
            self.free.push(slot);
            self.live -= 1;
            self.evicted += 1;
        }
    }

    fn touch(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let c = self.cluster(slot);
            (c.prev, c.next)
        };
        if prev == NONE {
            self.head = next;
        } else {
            self.cluster_mut(prev).next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.cluster_mut(next).prev = prev;
        }
        let c = self.cluster_mut(slot);
        c.prev = NONE;
        c.next = NONE;
    }

    fn push_front(&mut self, slot: u32) {
        let old = self.head;
        {
            let c = self.cluster_mut(slot);
            c.prev = NONE;
            c.next = old;
        }
        if old == NONE {
            self.tail = slot;
        } else {
            self.cluster_mut(old).prev = slot;
        }
        self.head = slot;
    }
}

/// For a template token `key=<*>` (a fixed key, then a wildcard), the fixed part `key=`.
fn keyed_prefix(t: &str) -> Option<&str> {
    let prefix = t.strip_suffix(WILDCARD)?;
    let last = *prefix.as_bytes().last()?;
    (matches!(last, b'=' | b':')
        && !prefix.contains('<')
        && prefix.bytes().any(|b| b.is_ascii_alphabetic()))
    .then_some(prefix)
}

/// The wildcard that replaces a template token the line disagrees with: `key=<*>` when both
/// share a `key=` or `key:` prefix (so `user=root` and `user=admin` give `user=<*>`, as the Loghub
/// ground truth writes it), else `<*>`.
fn generalise_token(template: &str, token: &str) -> String {
    let common = template
        .bytes()
        .zip(token.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let prefix = &template.as_bytes()[..common];
    let key_end = prefix.iter().rposition(|b| matches!(b, b'=' | b':'));
    match key_end {
        // `=`/`:` are ASCII, so `..=end` ends on a char boundary.
        Some(end) => {
            let key = &template[..=end];
            if !key.contains('<') && key.bytes().any(|b| b.is_ascii_alphabetic()) {
                format!("{key}{WILDCARD}")
            } else {
                WILDCARD.to_owned()
            }
        }
        None => WILDCARD.to_owned(),
    }
}

fn to_template(c: &Cluster) -> Template<'_> {
    Template {
        cluster: c.id,
        id: c.template_id,
        text: &c.text,
        size: c.size,
    }
}

fn join(tokens: &[Box<str>]) -> String {
    let mut text = String::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
    for t in tokens {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(t);
    }
    text
}

/// Cuts `line` to at most `max` bytes (on a char boundary) and appends a truncation marker.
pub(crate) fn truncate(line: &str, max: usize) -> Cow<'_, str> {
    if line.len() <= max {
        return Cow::Borrowed(line);
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let mut owned = line[..end].to_owned();
    push_truncation_marker(&mut owned, line.len() - end);
    Cow::Owned(owned)
}

fn push_truncation_marker(s: &mut String, cut: usize) {
    use std::fmt::Write;
    let _ = write!(s, " …[truncated {cut} bytes]");
}
