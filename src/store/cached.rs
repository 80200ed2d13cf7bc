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
        crate::observe::cache_lookup(entry.is_some());
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

    async fn touch(
        &self,
        key: &str,
        version: u64,
        last_seen_at: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .inner
            .touch(key, version, last_seen_at, expires_at)
            .await;
        let hash = self.hash(key);
        let mut shard = write(self.shard(hash));
        match (&result, shard.find_mut(hash, |e| e.record.key == key)) {
            (Ok(()), Some(entry)) if entry.record.version == version => {
                let record = Arc::make_mut(&mut entry.record);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
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
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use tokio::sync::Notify;

    use super::*;
    use crate::MemoryStore;
    use crate::store::intercept::{Call, Intercepted, Interceptor};

    const NOW: u64 = 1_800_000_000;

    fn record(key: &str, username: &str) -> SessionRecord {
        SessionRecord::for_test(key, username, NOW)
    }

    /// The table, and this process's cache of it (ttl 5 s).
    fn table() -> (Arc<MemoryStore>, CachedStore<Arc<MemoryStore>>) {
        let table = Arc::new(MemoryStore::new());
        let cache = CachedStore::new(table.clone(), Duration::from_secs(5));
        (table, cache)
    }

    fn cached<S: SessionStore>(cache: &CachedStore<S>, key: &str, now: u64) -> bool {
        matches!(cache.load_now(key, now), LoadNow::Found(_))
    }

    #[tokio::test]
    async fn a_read_is_answered_from_memory_until_it_is_ttl_old() {
        let (table, cache) = table();
        table.create(&record("a", "alice"), NOW).await.unwrap();
        assert_eq!(
            cache.load_now("a", NOW),
            LoadNow::Unknown,
            "nothing read yet"
        );
        cache.load("a", NOW).await.unwrap().unwrap();
        assert!(cached(&cache, "a", NOW + 4));
        assert_eq!(cache.load_now("a", NOW + 5), LoadNow::Unknown, "5 s old");
        // Nor past the record's own expiry, whatever the ttl.
        let long = CachedStore::new(table.clone(), Duration::from_secs(7200));
        long.load("a", NOW).await.unwrap();
        assert!(cached(&long, "a", NOW + 3599));
        assert_eq!(long.load_now("a", NOW + 3600), LoadNow::Unknown);
    }

    #[tokio::test]
    async fn what_another_process_ends_is_seen_within_the_ttl_and_what_we_end_at_once() {
        let (table, cache) = table();
        for (key, user) in [("a", "alice"), ("b", "alice"), ("c", "bob"), ("d", "dan")] {
            cache.create(&record(key, user), NOW).await.unwrap();
        }
        // Another process deletes `d`: the cache lags, by less than its ttl.
        table.delete("d").await.unwrap();
        assert!(cached(&cache, "d", NOW + 4));
        assert_eq!(cache.load_now("d", NOW + 5), LoadNow::Unknown);
        assert_eq!(cache.load("d", NOW + 5).await.unwrap(), None);
        // This process ends sessions: forgotten at once.
        cache.delete("c").await.unwrap();
        assert_eq!(cache.load_now("c", NOW), LoadNow::Unknown);
        cache.delete_user("alice").await.unwrap();
        assert!(
            cache.load_now("a", NOW) == LoadNow::Unknown
                && cache.load_now("b", NOW) == LoadNow::Unknown
        );
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn writes_go_to_the_table_and_keep_the_cache_true() {
        let (table, cache) = table();
        let mut r = record("a", "alice");
        cache.create(&r, NOW).await.unwrap();
        cache.touch("a", 0, NOW + 1, NOW + 7200).await.unwrap();
        let LoadNow::Found(seen) = cache.load_now("a", NOW + 1) else {
            panic!("not cached")
        };
        assert_eq!((seen.last_seen_at, seen.expires_at), (NOW + 1, NOW + 7200));
        assert_eq!(
            table.load("a", NOW).await.unwrap().unwrap().last_seen_at,
            NOW + 1
        );

        r.version = 1;
        r.username = "renamed".into();
        cache.update(&r, 0).await.unwrap();
        assert!(
            cache.load_now("a", NOW) == LoadNow::Unknown,
            "an updated record is read again"
        );
        assert_eq!(
            cache.load("a", NOW).await.unwrap().unwrap().username,
            "renamed"
        );
        assert!(matches!(cache.load_now("a", NOW), LoadNow::Found(r) if r.version == 1));

        // A write that loses its condition leaves nothing stale behind.
        assert!(matches!(
            cache.touch("a", 0, NOW + 2, NOW + 7200).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(cache.load_now("a", NOW), LoadNow::Unknown);
        assert!(matches!(
            cache.update(&r, 0).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(cache.load_now("a", NOW), LoadNow::Unknown);
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let table = Arc::new(MemoryStore::new());
        let cache = CachedStore::new(table, Duration::from_secs(5)).with_capacity(16);
        for i in 0..100 {
            cache
                .create(&record(&format!("k{i}"), "u"), NOW)
                .await
                .unwrap();
            assert!(cache.len() <= 16, "{} entries", cache.len());
        }
        assert!(cached(&cache, "k99", NOW), "the newest is kept");
        // Entries older than the ttl go first.
        cache.create(&record("late", "u"), NOW + 10).await.unwrap();
        assert_eq!(cache.len(), 1);
    }

    /// A table whose next `load` (after reading) or next `delete` (before deleting) waits
    /// until it is let go, to interleave other calls with it.
    type Paused = Intercepted<MemoryStore, Pause>;

    #[derive(Default)]
    struct Pause {
        hold_load: AtomicBool,
        hold_delete: AtomicBool,
        waiting: Notify,
        go: Notify,
    }

    impl Pause {
        async fn pause_if(&self, hold: &AtomicBool) {
            if hold.swap(false, Ordering::SeqCst) {
                self.waiting.notify_one();
                self.go.notified().await;
            }
        }
    }

    #[async_trait]
    impl Interceptor for Pause {
        async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
            if let Call::Delete { .. } = call {
                self.pause_if(&self.hold_delete).await;
            }
            Ok(())
        }
        async fn after(&self, call: Call<'_>, _succeeded: bool) -> Result<(), StoreError> {
            if let Call::Load { .. } = call {
                self.pause_if(&self.hold_load).await;
            }
            Ok(())
        }
    }

    /// The switches of the table behind `cache`.
    fn pause(cache: &CachedStore<Paused>) -> &Pause {
        cache.inner().interceptor()
    }

    /// A cache of a `Paused` table that holds alice's session `a`.
    async fn paused() -> Arc<CachedStore<Paused>> {
        let cache = CachedStore::new(Paused::default(), Duration::from_secs(5));
        cache
            .inner()
            .inner()
            .create(&record("a", "alice"), NOW)
            .await
            .unwrap();
        Arc::new(cache)
    }

    /// Starts reading session `a`, and returns once the read has the record and is held.
    async fn held_read(
        cache: &Arc<CachedStore<Paused>>,
    ) -> tokio::task::JoinHandle<Result<Option<SessionRecord>, StoreError>> {
        pause(cache).hold_load.store(true, Ordering::SeqCst);
        let read = tokio::spawn({
            let cache = cache.clone();
            async move { cache.load("a", NOW).await }
        });
        pause(cache).waiting.notified().await;
        read
    }

    #[tokio::test]
    async fn a_read_served_before_a_delete_landed_does_not_outlive_it() {
        let cache = paused().await;
        pause(&cache).hold_delete.store(true, Ordering::SeqCst);
        let delete = tokio::spawn({
            let cache = cache.clone();
            async move { cache.delete("a").await }
        });
        pause(&cache).waiting.notified().await;
        // The log-out is on its way to the table; a request reads the session first.
        assert!(cache.load("a", NOW).await.unwrap().is_some());
        pause(&cache).go.notify_one();
        assert!(delete.await.unwrap().unwrap());
        assert!(
            cache.load_now("a", NOW) == LoadNow::Unknown,
            "ended through this store"
        );
    }

    #[tokio::test]
    async fn unknown_keys_do_not_keep_reads_in_flight_from_being_cached() {
        let cache = paused().await;
        let read = held_read(&cache).await;
        assert_eq!(cache.load("unknown", NOW).await.unwrap(), None);
        pause(&cache).go.notify_one();
        assert!(read.await.unwrap().unwrap().is_some());
        assert!(
            cached(&cache, "a", NOW),
            "a miss elsewhere is no write of ours"
        );
    }

    #[tokio::test]
    async fn a_read_in_flight_does_not_bring_back_a_session_ended_meanwhile() {
        let cache = paused().await;
        let read = held_read(&cache).await;
        // The read has the record; the session ends before the read comes back.
        cache.delete("a").await.unwrap();
        pause(&cache).go.notify_one();
        assert!(read.await.unwrap().unwrap().is_some());
        assert_eq!(cache.load_now("a", NOW), LoadNow::Unknown);
    }

    #[tokio::test]
    async fn the_bound_holds_with_many_threads_reading() {
        let table = Arc::new(MemoryStore::new());
        let cache =
            Arc::new(CachedStore::new(table.clone(), Duration::from_secs(5)).with_capacity(24));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (table, cache) = (table.clone(), cache.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        for i in 0..300 {
                            let key = format!("t{t}-{i}");
                            table.create(&record(&key, "u"), NOW).await.unwrap();
                            cache.load(&key, NOW).await.unwrap().unwrap();
                            // Places being taken and given back: at most one per thread.
                            assert!(cache.len.load(Ordering::SeqCst) <= 24 + 4);
                        }
                    });
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(cache.len() <= 24);
        assert_eq!(cache.len(), cache.len.load(Ordering::SeqCst));
        cache.delete_user("u").await.unwrap();
        assert!(cache.is_empty());
        assert_eq!(cache.len.load(Ordering::SeqCst), 0);
    }
}
