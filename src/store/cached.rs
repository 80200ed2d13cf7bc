//! [`CachedStore`]: an in-process read cache in front of another store.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use hashbrown::HashTable;

use super::{LoadNow, SessionStore, StoreError};
use crate::SessionRecord;

/// Keeps the records another store read for a while, so that a session used for many
/// requests costs one read of the table per `ttl` instead of one per request.
///
/// ```
/// use std::time::Duration;
/// use cognito_session::store::CachedStore;
/// use cognito_session::{SessionConfig, SessionManager};
/// use cognito_session::store::MemoryStore;
///
/// # // Any store: in production, a `DynamoDbStore`.
/// let store = CachedStore::new(MemoryStore::new(), Duration::from_secs(5));
/// let manager = SessionManager::new(store, SessionConfig::default());
/// ```
///
/// What the cache holds only ever lets a request through: [`SessionLayer`](crate::SessionLayer)
/// answers from it ([`SessionStore::load_now`]) when it accepts the token as it is, and asks
/// the store itself for anything else (a token it doesn't know, a touch, a rotation or a
/// refresh that is due). Every write goes to the store, and [`load`](SessionStore::load)
/// always reads the store (and refreshes the cache), so conditional writes still decide
/// races between processes.
///
/// The price is bounded staleness, in one direction: a session ended by *another* process
/// (log-out there, `delete_user`, expiry of a refresh) is still accepted here until its entry
/// is `ttl` old. Sessions ended through this store are forgotten at once, and a read that
/// was in flight meanwhile can't bring them back. Keep `ttl` to seconds; leave the cache out
/// where a log-out must be effective everywhere immediately.
///
/// An entry's age is measured on both the manager's clock and a monotonic one, so a wall
/// clock stepped back doesn't stretch it. At most `capacity` records are kept (default
/// 10,000); entries past their `ttl` are swept at most once per `ttl`, and when the cache is
/// full, the stale ones go first, then an eighth of the rest if it is still full. The
/// entries are spread over shards, each with its own lock (split by thread for reading, as
/// [`MemoryStore`](crate::store::MemoryStore)'s), so requests on different threads don't wait for
/// one another.
pub struct CachedStore<S> {
    inner: S,
    ttl: Duration,
    capacity: usize,
    shards: Box<[ShardedLock<Shard>]>,
    /// The keys are the server's own (see [`MemoryStore`](crate::store::MemoryStore)): foldhash.
    hasher: foldhash::fast::RandomState,
    /// Entries in the shards, and places taken for entries about to go in: never more than
    /// `capacity`.
    len: AtomicUsize,
    /// Bumped whenever this process writes (or fails to write) a record, so that a read that
    /// started before cannot put back what the write made stale.
    writes: AtomicU64,
    next_sweep: AtomicU64,
}

type Shard = HashTable<Entry>;

/// How many shards the entries are spread over.
const SHARDS: usize = 32;

struct Entry {
    record: Arc<SessionRecord>,
    /// The manager's clock (seconds since the epoch), and the monotonic one.
    read_at: u64,
    read_instant: Instant,
}

impl<S> CachedStore<S> {
    /// A cache of `inner`'s records, each kept for `ttl` (whole seconds; less than a second
    /// caches nothing).
    pub fn new(inner: S, ttl: Duration) -> Self {
        Self {
            inner,
            ttl: Duration::from_secs(ttl.as_secs()),
            capacity: 10_000,
            shards: (0..SHARDS).map(|_| ShardedLock::default()).collect(),
            hasher: Default::default(),
            len: AtomicUsize::new(0),
            writes: AtomicU64::new(0),
            next_sweep: AtomicU64::new(0),
        }
    }

    /// Keeps at most `capacity` records. Default 10,000.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many records the cache holds.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Whether the cache holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of a key's hash: bits the tables use neither for the bucket nor the tag.
    fn shard(&self, hash: u64) -> &ShardedLock<Shard> {
        &self.shards[(hash >> 40) as usize % SHARDS]
    }

    /// Keeps `record`, read at `now`, unless this process wrote since `writes` was read.
    fn remember(&self, record: SessionRecord, now: u64, writes: u64) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        if self.sweep_due(now) {
            self.sweep(now);
        }
        let hash = self.hash(&record.key);
        let entry = Entry {
            record: Arc::new(record),
            read_at: now,
            read_instant: Instant::now(),
        };
        let mut made_room = false;
        loop {
            let mut shard = write(self.shard(hash));
            if self.writes.load(Ordering::SeqCst) != writes {
                return;
            }
            let rehash = |e: &Entry| self.hash(&e.record.key);
            if let Some(old) = shard.find_mut(hash, |e| e.record.key == entry.record.key) {
                *old = entry;
                return;
            }
            // A place for a new entry, taken before it goes in, so that threads inserting
            // at once into different shards can't overfill the cache together.
            if self.len.fetch_add(1, Ordering::SeqCst) < self.capacity {
                shard.insert_unique(hash, entry, rehash);
                return;
            }
            self.len.fetch_sub(1, Ordering::SeqCst);
            drop(shard);
            if made_room {
                // Filled again by others meanwhile: this one is read again next time.
                return;
            }
            self.make_room(now, hash);
            made_room = true;
        }
    }

    /// Drops the stale entries, then an eighth of the rest if the cache is still full.
    fn make_room(&self, now: u64, hash: u64) {
        self.sweep(now);
        if self.len.load(Ordering::SeqCst) < self.capacity {
            return;
        }
        let mut excess = (self.capacity / 8).max(1);
        // Starting after the shard that is filling up, so that no shard is always the first
        // to lose its entries.
        let first = (hash >> 40) as usize % SHARDS + 1;
        for i in 0..SHARDS {
            if excess == 0 {
                break;
            }
            let mut shard = write(&self.shards[(first + i) % SHARDS]);
            shard.retain(|_| {
                if excess == 0 {
                    return true;
                }
                excess -= 1;
                self.len.fetch_sub(1, Ordering::SeqCst);
                false
            });
        }
    }

    /// Drops every entry past its ttl.
    fn sweep(&self, now: u64) {
        for shard in &self.shards {
            write(shard).retain(|entry| {
                let fresh = self.fresh(entry, now);
                if !fresh {
                    self.len.fetch_sub(1, Ordering::SeqCst);
                }
                fresh
            });
        }
    }

    fn sweep_due(&self, now: u64) -> bool {
        let next = self.next_sweep.load(Ordering::Relaxed);
        now >= next
            && self
                .next_sweep
                .compare_exchange(
                    next,
                    now.saturating_add(self.ttl.as_secs()),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn fresh(&self, entry: &Entry, now: u64) -> bool {
        now < entry.read_at.saturating_add(self.ttl.as_secs())
            && now < entry.record.expires_at
            && entry.read_instant.elapsed() < self.ttl
    }

    /// Drops what the cache holds for the records `which` picks, and stops reads in flight
    /// from putting them back. Called before a write (from then on the entry may be stale)
    /// and again after it (a read served before the write landed may have come back since).
    fn forget(&self, which: impl Fn(&SessionRecord) -> bool) {
        for shard in &self.shards {
            // The count goes up before each shard changes: a read that puts an entry back
            // in a shard after this pass saw it sees the new count and gives up.
            let mut shard = write(shard);
            self.writes.fetch_add(1, Ordering::SeqCst);
            shard.retain(|entry| {
                let keep = !which(&entry.record);
                if !keep {
                    self.len.fetch_sub(1, Ordering::SeqCst);
                }
                keep
            });
        }
    }

    /// [`forget`](Self::forget) for one key, without a pass over the whole cache.
    fn forget_key(&self, key: &str) {
        let hash = self.hash(key);
        let mut shard = write(self.shard(hash));
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.remove(&mut shard, hash, key);
    }

    /// Removes the entry of `key` from `shard`, its shard.
    fn remove(&self, shard: &mut Shard, hash: u64, key: &str) {
        if let Ok(entry) = shard.find_entry(hash, |e| e.record.key == key) {
            entry.remove();
            self.len.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }
}

// Every change is one table operation, so a lock poisoned by a panic elsewhere still guards
// a consistent table.
fn read(shard: &ShardedLock<Shard>) -> ShardedLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(|e| e.into_inner())
}

fn write(shard: &ShardedLock<Shard>) -> ShardedLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(|e| e.into_inner())
}

impl<S: fmt::Debug> fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CachedStore<S> {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        let writes = self.writes();
        let result = self.inner.create(record, now).await;
        match &result {
            Ok(()) => self.remember(record.clone(), now, writes),
            // A timeout may hide a write that landed; the next read will tell.
            Err(_) => self.forget_key(&record.key),
        }
        result
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let writes = self.writes();
        let record = self.inner.load(key, now).await?;
        match &record {
            Some(record) => self.remember(record.clone(), now, writes),
            // Not a write of ours: reads in flight may go on (what they bring back is at
            // most as stale as the ttl allows), so a stream of unknown tokens can't keep the
            // cache from filling.
            None => {
                let hash = self.hash(key);
                let shard = self.shard(hash);
                if read(shard).find(hash, |e| e.record.key == key).is_some() {
                    self.remove(&mut write(shard), hash, key);
                }
            }
        }
        Ok(record)
    }

    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        let hash = self.hash(key);
        let shard = read(self.shard(hash));
        let entry = shard
            .find(hash, |e| e.record.key == key)
            .filter(|entry| self.fresh(entry, now));
        cache_lookup(entry.is_some());
        match entry {
            Some(entry) => LoadNow::Found(entry.record.clone()),
            // Only the table can say a session is gone.
            None => LoadNow::Unknown,
        }
    }

    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.forget_key(&record.key);
        let result = self.inner.update(record, expected_version).await;
        self.forget_key(&record.key);
        result
    }

    async fn touch(&self, touched: &SessionRecord) -> Result<(), StoreError> {
        let result = self.inner.touch(touched).await;
        let key = touched.key.as_str();
        let hash = self.hash(key);
        let mut shard = write(self.shard(hash));
        match (&result, shard.find_mut(hash, |e| e.record.key == key)) {
            (Ok(()), Some(entry)) if entry.record.version == touched.version => {
                let record = Arc::make_mut(&mut entry.record);
                record.last_seen_at = touched.last_seen_at;
                record.expires_at = touched.expires_at;
            }
            (Ok(()), None) => {}
            _ => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                self.remove(&mut shard, hash, key);
            }
        }
        result
    }

    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.forget_key(key);
        let result = self.inner.take(key).await;
        self.forget_key(key);
        result
    }

    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        self.forget_key(key);
        let result = self.inner.delete_version(key, version).await;
        self.forget_key(key);
        result
    }

    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        self.forget(|record| record.username == username);
        let result = self.inner.delete_user(username).await;
        self.forget(|record| record.username == username);
        result
    }

    /// Always the store's answer: a list is rare, and must show what the table holds.
    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_user(username, now).await
    }
}

/// Counts a look-up in the cache's memory (the `metrics` feature's hit and miss counters).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
fn cache_lookup(hit: bool) {
    #[cfg(feature = "metrics")]
    if hit {
        ::metrics::counter!(crate::metrics::CACHE_HITS).increment(1);
    } else {
        ::metrics::counter!(crate::metrics::CACHE_MISSES).increment(1);
    }
}

#[cfg(test)]
mod tests;
