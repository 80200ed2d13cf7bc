//! Tokens verified recently, so that a token used for many requests costs one RS256
//! verification, not one per request.
//!
//! Only the verification is cached: every request still reads its session, so a session that
//! was ended is refused at once whatever the cache holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::verify::AccessClaims;
use crate::TokenHash;

/// A bounded map from a token's hash to its verified claims. An entry lives until the
/// token's `exp`, not longer: an expired token is verified again (and then refreshed).
pub(crate) struct TokenCache {
    capacity: usize,
    entries: Mutex<HashMap<TokenHash, Arc<AccessClaims>>>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The claims of a token verified before, if it has not expired by `now`.
    pub(crate) fn get(&self, hash: &TokenHash, now: u64) -> Option<Arc<AccessClaims>> {
        if self.capacity == 0 {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(hash) {
            Some(claims) if now < claims.exp => Some(claims.clone()),
            Some(_) => {
                entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Remembers a verified token until its `exp`.
    pub(crate) fn insert(&self, hash: TokenHash, claims: Arc<AccessClaims>, now: u64) {
        if self.capacity == 0 || claims.exp <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&hash) {
            entries.retain(|_, claims| now < claims.exp);
            if entries.len() >= self.capacity {
                // Still full of live tokens: drop an eighth, whichever the map yields first.
                // Dropped tokens are only verified once more, so which ones hardly matters,
                // and this keeps both the memory and the cost of a full cache bounded.
                let drop: Vec<TokenHash> = entries
                    .keys()
                    .take(self.capacity.div_ceil(8))
                    .copied()
                    .collect();
                for hash in drop {
                    entries.remove(&hash);
                }
            }
        }
        entries.insert(hash, claims);
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
        })
    }

    #[test]
    fn entries_end_at_the_tokens_exp() {
        let cache = TokenCache::new(10);
        let hash = TokenHash::of("a");
        cache.insert(hash, claims(100), 50);
        assert!(cache.get(&hash, 99).is_some());
        assert!(cache.get(&hash, 100).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when seen");
        cache.insert(hash, claims(100), 100);
        assert_eq!(cache.len(), 0, "an expired token is not cached");
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = TokenCache::new(64);
        for i in 0..1000 {
            cache.insert(TokenHash::of(&i.to_string()), claims(1_000), 0);
            assert!(cache.len() <= 64);
        }
        // The newest entry always goes in.
        assert!(cache.get(&TokenHash::of("999"), 1).is_some());
        // Expired entries go first when the cache is full.
        let cache = TokenCache::new(4);
        for i in 0..4 {
            cache.insert(TokenHash::of(&i.to_string()), claims(10 + i), 0);
        }
        cache.insert(TokenHash::of("new"), claims(1_000), 12);
        assert_eq!(
            cache.len(),
            2,
            "the tokens that expired by 10, 11 and 12 are gone"
        );
        assert!(cache.get(&TokenHash::of("3"), 12).is_some());
    }

    #[test]
    fn capacity_zero_turns_it_off() {
        let cache = TokenCache::new(0);
        cache.insert(TokenHash::of("a"), claims(100), 0);
        assert!(cache.get(&TokenHash::of("a"), 1).is_none());
    }
}
