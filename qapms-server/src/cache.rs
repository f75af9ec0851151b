//! A small time-to-live map for answers this server would otherwise ask the store for on every
//! request: who a credential belongs to, and what the page banner says.
//!
//! Each store read costs a round trip to a database thread (SQLite) or over the network
//! (PostgreSQL); a signed-in page made five of them before its own figures, and under 100
//! concurrent clients those hand-offs, not the work, were most of the server's time. Entries live
//! for a couple of seconds, and [`TtlCache::clear`] runs after every successful write through
//! this server, so its own sign-outs and user changes take effect at once; changes made
//! elsewhere (another instance, the CLI) are seen within the time to live.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Values kept for `ttl` after they were stored; with no `ttl` it keeps nothing.
pub(crate) struct TtlCache<K, V> {
    ttl: Option<Duration>,
    /// Above this many entries the stale ones are dropped, and if that is not enough, all: a
    /// flood of distinct credentials must not grow the map without bound.
    capacity: usize,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Option<Duration>, capacity: usize) -> Self {
        Self {
            ttl: ttl.filter(|t| !t.is_zero()),
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The value stored for `key` less than the time to live ago.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let ttl = self.ttl?;
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, value)| value.clone())
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        let Some(ttl) = self.ttl else {
            return;
        };
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets everything (a write went through this server).
    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Only the settings and the size: the entries are credential hashes and signed-in users (with
/// their CSRF tokens), which must not reach a log through a `{:?}`.
impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TtlCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("entries", &len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_expire_and_clear() {
        let cache = TtlCache::new(Some(Duration::from_millis(50)), 8);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        assert_eq!(cache.get(&"b"), None);
        cache.clear();
        assert_eq!(cache.get(&"a"), None);
        cache.insert("a", 2);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get(&"a"), None, "stale after the time to live");
    }

    #[test]
    fn without_a_ttl_nothing_is_kept() {
        let cache = TtlCache::new(None, 8);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None);
        let zero = TtlCache::new(Some(Duration::ZERO), 8);
        zero.insert("a", 1);
        assert_eq!(zero.get(&"a"), None);
    }

    #[test]
    fn debug_shows_no_entry() {
        let cache = TtlCache::new(Some(Duration::from_mins(1)), 4);
        cache.insert("s:secret-hash".to_owned(), "csrf-token".to_owned());
        let text = format!("{cache:?}");
        assert!(text.contains("entries: 1"), "{text}");
        assert!(!text.contains("secret") && !text.contains("csrf"), "{text}");
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let cache = TtlCache::new(Some(Duration::from_mins(1)), 4);
        for i in 0..100 {
            cache.insert(i, i);
            let len = cache
                .entries
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .len();
            assert!(len <= 4, "{len} entries");
        }
        assert_eq!(cache.get(&99), Some(99));
    }
}
