//! Tokens verified recently, so that a token used for many requests costs one RS256
//! verification, not one per request.
//!
//! Only the verification is cached: every request still reads its session (from the store,
//! or from a [`CachedStore`](crate::CachedStore) at most its ttl old), so a
//! session that was ended is refused whatever this cache holds.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use super::verify::{AccessClaims, Verified};
use crate::TokenHash;

/// A bounded map from a token to its verified claims and its SHA-256. An entry lives until
/// the token's `exp`, not longer: an expired token is verified again (and then refreshed).
///
/// A hit costs no SHA-256 over the token (a kilobyte): entries are found by a keyed
/// fingerprint of the token's length and last 32 characters, which lie in its signature, and
/// then compared in full. The comparison may stop at the first difference; reaching it at all
/// takes a token with the same signature tail under the process's random hash keys, which
/// only its holder has, so its timing can't teach anyone about another client's token.
pub(crate) struct TokenCache {
    capacity: usize,
    keys: std::collections::hash_map::RandomState,
    entries: Mutex<HashMap<u64, Entry>>,
}

struct Entry {
    token: Box<str>,
    verified: Verified,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            keys: Default::default(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn fingerprint(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.keys
            .hash_one((bytes.len(), &bytes[bytes.len().saturating_sub(32)..]))
    }

    /// What verifying `token` found before, if it has not expired by `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Verified> {
        if self.capacity == 0 {
            return None;
        }
        let fingerprint = self.fingerprint(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&fingerprint)?;
        if *entry.token != *token {
            return None;
        }
        if now < entry.verified.claims.exp {
            return Some(entry.verified.clone());
        }
        entries.remove(&fingerprint);
        None
    }

    /// Remembers a verified token until its `exp`.
    pub(crate) fn insert(&self, token: &str, hash: TokenHash, claims: Arc<AccessClaims>, now: u64) {
        if self.capacity == 0 || claims.exp <= now {
            return;
        }
        let fingerprint = self.fingerprint(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&fingerprint) {
            entries.retain(|_, entry| now < entry.verified.claims.exp);
            if entries.len() >= self.capacity {
                // Still full of live tokens: drop an eighth, whichever the map yields first.
                // Dropped tokens are only verified once more, so which ones hardly matters,
                // and this keeps both the memory and the cost of a full cache bounded.
                let drop: Vec<u64> = entries
                    .keys()
                    .take(self.capacity.div_ceil(8))
                    .copied()
                    .collect();
                for fingerprint in drop {
                    entries.remove(&fingerprint);
                }
            }
        }
        let entry = Entry {
            token: token.into(),
            verified: Verified { hash, claims },
        };
        entries.insert(fingerprint, entry);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            sub: "sub".into(),
            username: "alice".into(),
            client_id: "client".into(),
            origin_jti: Some("jti".into()),
            exp,
            claims: crate::Claims::default(),
        })
    }

    fn put(cache: &TokenCache, token: &str, exp: u64, now: u64) {
        cache.insert(token, TokenHash::of(token), claims(exp), now);
    }

    #[test]
    fn entries_end_at_the_tokens_exp() {
        let cache = TokenCache::new(10);
        put(&cache, "a", 100, 50);
        let hit = cache.get("a", 99).unwrap();
        assert_eq!(hit.hash, TokenHash::of("a"), "the hash comes with the hit");
        assert!(cache.get("a", 100).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when seen");
        put(&cache, "a", 100, 100);
        assert_eq!(cache.len(), 0, "an expired token is not cached");
    }

    #[test]
    fn only_the_same_token_hits() {
        let cache = TokenCache::new(10);
        let token = format!("header.payload.{}", "s".repeat(40));
        put(&cache, &token, 100, 0);
        // Same length and the same signature tail: the fingerprint matches, the token doesn't.
        let altered = token.replacen("payload", "PAYLOAD", 1);
        assert!(cache.get(&altered, 1).is_none());
        assert!(cache.get(&token[1..], 1).is_none());
        assert!(cache.get(&token, 1).is_some());
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = TokenCache::new(64);
        for i in 0..1000 {
            put(&cache, &i.to_string(), 1_000, 0);
            assert!(cache.len() <= 64);
        }
        // The newest entry always goes in.
        assert!(cache.get("999", 1).is_some());
        // Expired entries go first when the cache is full.
        let cache = TokenCache::new(4);
        for i in 0..4 {
            put(&cache, &i.to_string(), 10 + i, 0);
        }
        put(&cache, "new", 1_000, 12);
        assert_eq!(
            cache.len(),
            2,
            "the tokens that expired by 10, 11 and 12 are gone"
        );
        assert!(cache.get("3", 12).is_some());
    }

    #[test]
    fn capacity_zero_turns_it_off() {
        let cache = TokenCache::new(0);
        put(&cache, "a", 100, 0);
        assert!(cache.get("a", 1).is_none());
    }
}
