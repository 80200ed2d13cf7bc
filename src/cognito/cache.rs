//! Tokens verified recently, so that a token used for many requests costs one RS256
//! verification, not one per request.
//!
//! Only the verification is cached: every request still reads its session (from the store,
//! or from a [`CachedStore`](crate::store::CachedStore) at most its ttl old), so a
//! session that was ended is refused whatever this cache holds.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use hashbrown::HashTable;

use super::claims::{AccessClaims, Verified};
use crate::{SessionRecord, TokenHash};

/// A bounded map from a token to its verified claims and its SHA-256. An entry lives until
/// the token's `exp`, not longer: an expired token is verified again (and then refreshed).
///
/// A hit costs no SHA-256 over the token (a kilobyte): entries are found by a keyed
/// fingerprint of the token's length and last 32 characters, which lie in its signature, and
/// then compared in full. The comparison may stop at the first difference; reaching it at all
/// takes a token with the same signature tail under the process's random hash keys, which
/// only its holder has, so its timing can't teach anyone about another client's token.
///
/// The entries are spread over shards by fingerprint, each behind its own lock, split by
/// thread for reading, which a hit takes: requests on many threads, with one token or many,
/// don't wait for each other. The bounds (a count and bytes) are kept in counters all shards
/// share.
pub(crate) struct TokenCache {
    capacity: usize,
    max_bytes: usize,
    keys: std::collections::hash_map::RandomState,
    shards: Box<[ShardedLock<Shard>]>,
    /// Entries in the shards, and places taken for entries about to go in.
    len: AtomicUsize,
    /// The sum of their [`cost`], likewise.
    bytes: AtomicUsize,
}

type Shard = HashTable<Entry>;

/// How many shards the entries are spread over.
const SHARDS: usize = 32;

struct Entry {
    fingerprint: u64,
    token: Box<str>,
    verified: Verified,
    /// The session of the token as its user sees it, once a request asked.
    view: Option<UserView>,
}

/// A session record without its Cognito tokens (what [`CurrentUser`](crate::CurrentUser)
/// holds), and the record it was made from. The `Weak` keeps that record's allocation (not
/// its tokens, which go when the store lets go of it), so no other record can take its
/// address while the view is kept: the same address is the same record.
#[derive(Clone)]
struct UserView {
    of: Weak<SessionRecord>,
    user: Arc<SessionRecord>,
}

/// The user's view an entry kept when it was read, if any (see
/// [`TokenCache::get_with_view`]).
pub(crate) struct KeptView(Option<UserView>);

#[cfg(test)]
impl KeptView {
    /// Nothing kept: [`TokenCache::user_view`] looks the token up again.
    pub(crate) const NONE: KeptView = KeptView(None);
}

/// What an entry for `token` costs in memory, as an estimate that can only err high: the
/// token itself, its claims (decoded from a part of it, so at most about its length once
/// more, twice for the maps and strings that hold them), the user's view of its session
/// (the same claims once more, and two record allocations) and a fixed overhead. Tokens go
/// up to 16 KiB, so a bound on the count alone is a bound of hundreds of MiB.
fn cost(token: &str) -> usize {
    token.len().saturating_mul(4).saturating_add(1024)
}

// Every change is one table operation, so a lock poisoned by a panic elsewhere still guards
// a consistent table.
fn read(shard: &ShardedLock<Shard>) -> ShardedLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(|e| e.into_inner())
}

fn write(shard: &ShardedLock<Shard>) -> ShardedLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(|e| e.into_inner())
}

impl TokenCache {
    /// A cache of at most `capacity` tokens and about `max_bytes` of memory; either 0 turns
    /// caching off.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            capacity: if max_bytes == 0 { 0 } else { capacity },
            max_bytes,
            keys: Default::default(),
            shards: (0..SHARDS).map(|_| ShardedLock::default()).collect(),
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    fn fingerprint(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.keys
            .hash_one((bytes.len(), &bytes[bytes.len().saturating_sub(32)..]))
    }

    /// The shard of a fingerprint: bits the tables use neither for the bucket nor the tag.
    fn shard(&self, fingerprint: u64) -> &ShardedLock<Shard> {
        &self.shards[(fingerprint >> 40) as usize % SHARDS]
    }

    /// What verifying `token` found before, if it has not expired by `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Verified> {
        self.find(token, now, |entry| entry.verified.clone())
    }

    /// The same, and the user's view of the token's session that the entry keeps, for
    /// [`user_view`](Self::user_view): one look-up serves both.
    pub(crate) fn get_with_view(&self, token: &str, now: u64) -> Option<(Verified, KeptView)> {
        self.find(token, now, |entry| {
            (entry.verified.clone(), KeptView(entry.view.clone()))
        })
    }

    /// What `read_entry` reads of `token`'s entry, if it has not expired by `now`; an
    /// expired one is dropped.
    fn find<T>(&self, token: &str, now: u64, read_entry: impl FnOnce(&Entry) -> T) -> Option<T> {
        if self.capacity == 0 {
            return None;
        }
        let fingerprint = self.fingerprint(token);
        let shard = self.shard(fingerprint);
        {
            let entries = read(shard);
            let entry = entries.find(fingerprint, |e| e.fingerprint == fingerprint)?;
            if *entry.token != *token {
                return None;
            }
            if now < entry.verified.claims.exp {
                return Some(read_entry(entry));
            }
        }
        let mut entries = write(shard);
        if let Ok(entry) = entries.find_entry(fingerprint, |e| {
            e.fingerprint == fingerprint && now >= e.verified.claims.exp
        }) {
            self.forget(entry.remove().0);
        }
        None
    }

    /// Remembers a verified token until its `exp`.
    pub(crate) fn insert(&self, token: &str, hash: TokenHash, claims: Arc<AccessClaims>, now: u64) {
        if self.capacity == 0 || claims.exp <= now {
            return;
        }
        let size = cost(token);
        if size > self.max_bytes / 8 {
            // One token that would fill an eighth of the cache is verified each time instead.
            return;
        }
        let fingerprint = self.fingerprint(token);
        let shard = self.shard(fingerprint);
        if let Ok(old) = write(shard).find_entry(fingerprint, |e| e.fingerprint == fingerprint) {
            self.forget(old.remove().0);
        }
        // The places are taken before the entry goes in, so that threads inserting at once
        // into different shards can't overrun the bounds together.
        if !self.reserve(size) {
            self.make_room(now, size);
            if !self.reserve(size) {
                // Filled again by others meanwhile: verified once more next time.
                return;
            }
        }
        let entry = Entry {
            fingerprint,
            token: token.into(),
            verified: Verified { hash, claims },
            view: None,
        };
        let mut entries = write(shard);
        // Another thread may have put the same token in meanwhile.
        if let Ok(old) = entries.find_entry(fingerprint, |e| e.fingerprint == fingerprint) {
            self.forget(old.remove().0);
        }
        entries.insert_unique(fingerprint, entry, |e| e.fingerprint);
    }

    /// `record`, the session of `token`, without its Cognito tokens: what its user sees. Made
    /// once per record and kept with the token's entry, so that the requests of a token share
    /// one copy (rather than each making its own) until the record changes; made anew, and
    /// not kept, when the token is not cached.
    ///
    /// `kept`, what the entry held when the token was looked up, spares a second look-up
    /// when it is the view of `record`. The `Weak` in it keeps the record's allocation, so
    /// the same address is still the same record.
    pub(crate) fn user_view(
        &self,
        token: &str,
        record: &Arc<SessionRecord>,
        kept: KeptView,
    ) -> Arc<SessionRecord> {
        if record.cognito.is_none() {
            return record.clone();
        }
        if let KeptView(Some(view)) = kept
            && std::ptr::eq(view.of.as_ptr(), Arc::as_ptr(record))
        {
            return view.user;
        }
        let fingerprint = self.fingerprint(token);
        let shard = self.shard(fingerprint);
        let same = |e: &Entry| e.fingerprint == fingerprint && *e.token == *token;
        if let Some(view) = read(shard)
            .find(fingerprint, same)
            .and_then(|e| e.view.as_ref())
            && std::ptr::eq(view.of.as_ptr(), Arc::as_ptr(record))
        {
            return view.user.clone();
        }
        let user = Arc::new(SessionRecord {
            cognito: None,
            ..SessionRecord::clone(record)
        });
        if let Some(entry) = write(shard).find_mut(fingerprint, same) {
            entry.view = Some(UserView {
                of: Arc::downgrade(record),
                user: user.clone(),
            });
        }
        user
    }

    /// Takes a place and `size` bytes for an entry, if both bounds allow.
    fn reserve(&self, size: usize) -> bool {
        let count = self.len.fetch_add(1, Ordering::SeqCst);
        let bytes = self.bytes.fetch_add(size, Ordering::SeqCst);
        if count < self.capacity && bytes + size <= self.max_bytes {
            return true;
        }
        self.len.fetch_sub(1, Ordering::SeqCst);
        self.bytes.fetch_sub(size, Ordering::SeqCst);
        false
    }

    /// Gives back what a removed entry held.
    fn forget(&self, entry: Entry) {
        self.len.fetch_sub(1, Ordering::SeqCst);
        self.bytes.fetch_sub(cost(&entry.token), Ordering::SeqCst);
    }

    /// Drops the expired entries; then, if an entry of `size` still doesn't fit, live ones,
    /// whichever the shards yield first, until an eighth of each bound is free. Dropped
    /// tokens are only verified once more, so which ones hardly matters, and this keeps both
    /// the memory and the cost of a full cache bounded.
    fn make_room(&self, now: u64, size: usize) {
        for shard in &self.shards {
            write(shard).retain(|entry| {
                let live = now < entry.verified.claims.exp;
                if !live {
                    self.len.fetch_sub(1, Ordering::SeqCst);
                    self.bytes.fetch_sub(cost(&entry.token), Ordering::SeqCst);
                }
                live
            });
        }
        let full = || {
            self.len.load(Ordering::SeqCst) >= self.capacity
                || self.bytes.load(Ordering::SeqCst) + size > self.max_bytes
        };
        if !full() {
            return;
        }
        let (count, bytes) = (self.capacity / 8 * 7, self.max_bytes / 8 * 7);
        for shard in &self.shards {
            write(shard).retain(|entry| {
                if self.len.load(Ordering::SeqCst) <= count
                    && self.bytes.load(Ordering::SeqCst) <= bytes
                {
                    return true;
                }
                self.len.fetch_sub(1, Ordering::SeqCst);
                self.bytes.fetch_sub(cost(&entry.token), Ordering::SeqCst);
                false
            });
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| read(s).iter().map(|e| cost(&e.token)).sum::<usize>())
            .sum()
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
        let cache = TokenCache::new(10, 1 << 20);
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
        let cache = TokenCache::new(10, 1 << 20);
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
        let cache = TokenCache::new(64, 1 << 20);
        for i in 0..1000 {
            put(&cache, &i.to_string(), 1_000, 0);
            assert!(cache.len() <= 64);
        }
        // The newest entry always goes in.
        assert!(cache.get("999", 1).is_some());
        // Expired entries go first when the cache is full.
        let cache = TokenCache::new(4, 1 << 20);
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
    fn the_cache_is_bounded_in_bytes_too() {
        let budget = 512 * 1024;
        let cache = TokenCache::new(10_000, budget);
        for i in 0..500 {
            // 8 KiB tokens: 10,000 of them would be 80 MiB and more; here 15 fit.
            // Tokens differ in their signature, at the end.
            let token = format!("{}{i:08}", "t".repeat(8 * 1024));
            put(&cache, &token, 1_000, 0);
            assert!(cache.bytes() <= budget, "{} bytes", cache.bytes());
        }
        let each = cost(&"t".repeat(8 * 1024 + 8));
        assert!(cache.len() <= budget / each, "{}", cache.len());
        assert!(cache.len() >= budget / each / 2, "{}", cache.len());
        assert_eq!(
            cache.bytes(),
            cache.len() * each,
            "the count follows insertions and evictions"
        );
        assert_eq!(
            (
                cache.len.load(Ordering::SeqCst),
                cache.bytes.load(Ordering::SeqCst)
            ),
            (cache.len(), cache.bytes()),
            "the shared counters agree with the shards"
        );
        // A token too large for its share is verified each time, not cached.
        let huge = "x".repeat(budget / 16);
        put(&cache, &huge, 1_000, 0);
        assert!(cache.get(&huge, 1).is_none());
    }

    #[test]
    fn capacity_zero_turns_it_off() {
        let cache = TokenCache::new(0, 1 << 20);
        put(&cache, "a", 100, 0);
        assert!(cache.get("a", 1).is_none());
    }

    #[test]
    fn the_bounds_hold_with_many_threads_inserting() {
        let budget = 64 * 1024;
        let cache = Arc::new(TokenCache::new(40, budget));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    for i in 0..300 {
                        let token = format!("{}{t}-{i:06}", "t".repeat(1024));
                        put(&cache, &token, 1_000, 0);
                        // The counters include places being taken by threads that then give
                        // them back (the bound was full): at most one per thread.
                        let taking = 4;
                        assert!(cache.len.load(Ordering::SeqCst) <= 40 + taking);
                        assert!(
                            cache.bytes.load(Ordering::SeqCst) <= budget + taking * cost(&token)
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // What the shards hold never went past the bounds: a place is only used once taken
        // within them.
        assert!(cache.len() <= 40 && cache.bytes() <= budget);
        assert!(
            cache.len() >= budget / cost(&"t".repeat(1032)) / 2,
            "{}",
            cache.len()
        );
        assert_eq!(
            (
                cache.len.load(Ordering::SeqCst),
                cache.bytes.load(Ordering::SeqCst)
            ),
            (cache.len(), cache.bytes())
        );
    }

    #[test]
    fn the_users_view_is_shared_until_the_record_changes() {
        use crate::{CognitoTokens, Secret};

        let cache = TokenCache::new(10, 1 << 20);
        let record = |version| {
            Arc::new(SessionRecord {
                version,
                cognito: Some(CognitoTokens {
                    access_token: Secret::new("a"),
                    refresh_token: Secret::new("the-refresh-token"),
                    access_expires_at: 100,
                }),
                ..SessionRecord::for_test("k", "alice", 0)
            })
        };
        let first = record(0);
        // Not cached: a copy each time.
        let view = cache.user_view("a", &first, KeptView::NONE);
        assert!(view.cognito.is_none() && view.username == "alice");
        assert!(!Arc::ptr_eq(
            &view,
            &cache.user_view("a", &first, KeptView::NONE)
        ));
        // Cached: one copy while the record is the same.
        put(&cache, "a", 100, 0);
        let view = cache.user_view("a", &first, KeptView::NONE);
        assert!(view.cognito.is_none());
        assert!(Arc::ptr_eq(
            &view,
            &cache.user_view("a", &first, KeptView::NONE)
        ));
        // Another record, or the same one changed in place, makes another view.
        let second = record(1);
        let changed = cache.user_view("a", &second, KeptView::NONE);
        assert_eq!(changed.version, 1);
        assert!(!Arc::ptr_eq(&view, &changed));
        drop(first);
        let mut touched = second;
        Arc::make_mut(&mut touched).last_seen_at = 7;
        assert_eq!(
            cache.user_view("a", &touched, KeptView::NONE).last_seen_at,
            7
        );
        // An opaque record holds no token: it is its own view.
        let opaque = Arc::new(SessionRecord::for_test("o", "bob", 0));
        assert!(Arc::ptr_eq(
            &opaque,
            &cache.user_view("a", &opaque, KeptView::NONE)
        ));
    }

    #[test]
    fn the_view_read_with_the_token_serves_only_its_own_record() {
        use crate::{CognitoTokens, Secret};

        let cache = TokenCache::new(10, 1 << 20);
        let record = || {
            Arc::new(SessionRecord {
                cognito: Some(CognitoTokens {
                    access_token: Secret::new("a"),
                    refresh_token: Secret::new("the-refresh-token"),
                    access_expires_at: 100,
                }),
                ..SessionRecord::for_test("k", "alice", 0)
            })
        };
        put(&cache, "a", 100, 0);
        let (first, second) = (record(), record());
        let view = cache.user_view("a", &first, KeptView::NONE);
        let (_, kept) = cache.get_with_view("a", 0).unwrap();
        assert!(matches!(&kept, KeptView(Some(_))));
        // Kept and of this record: that very view, with no look-up (a token the cache
        // doesn't hold would get a copy of its own).
        assert!(Arc::ptr_eq(
            &view,
            &cache.user_view("not-cached", &first, kept)
        ));
        // Kept, but of another record: a view of the record asked about.
        put(&cache, "a", 100, 0);
        cache.user_view("a", &first, KeptView::NONE);
        let (_, kept) = cache.get_with_view("a", 0).unwrap();
        let other = cache.user_view("a", &second, kept);
        assert!(!Arc::ptr_eq(&view, &other));
        assert!(std::ptr::eq(
            Arc::as_ptr(&other),
            Arc::as_ptr(&cache.user_view("a", &second, KeptView::NONE))
        ));
    }
}
