//! [`CachedStore`]: an in-process read cache in front of another store.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use foldhash::HashMap;

use super::{LoadNow, SessionStore, StoreError};
use crate::SessionRecord;

/// Keeps the records another store read for a while, so that a session used for many
/// requests costs one read of the table per `ttl` instead of one per request.
///
/// ```
/// use std::time::Duration;
/// use cognito_session::store::CachedStore;
/// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
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
/// full, the stale ones go first, then an eighth of the rest if it is still full.
pub struct CachedStore<S> {
    inner: S,
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped whenever this process writes (or fails to write) a record, so that a read that
    /// started before cannot put back what the write made stale.
    writes: AtomicU64,
    next_sweep: Mutex<u64>,
}

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
            entries: RwLock::default(),
            writes: AtomicU64::new(0),
            next_sweep: Mutex::new(0),
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
        self.read_entries().len()
    }

    /// Whether the cache holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Every change is one map operation, so a lock poisoned by a panic elsewhere still
    // guards a consistent map.
    fn read_entries(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_entries(&self) -> RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `record`, read at `now`, unless this process wrote since `writes` was read.
    fn remember(&self, record: SessionRecord, now: u64, writes: u64) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let sweep = self.sweep_due(now);
        let mut entries = self.write_entries();
        if self.writes.load(Ordering::SeqCst) != writes {
            return;
        }
        if sweep || (entries.len() >= self.capacity && !entries.contains_key(&record.key)) {
            entries.retain(|_, entry| self.fresh(entry, now));
        }
        if entries.len() >= self.capacity && !entries.contains_key(&record.key) {
            let drop: Vec<String> = entries
                .keys()
                .take((self.capacity / 8).max(1))
                .cloned()
                .collect();
            for key in drop {
                entries.remove(&key);
            }
        }
        let entry = Entry {
            record: Arc::new(record),
            read_at: now,
            read_instant: Instant::now(),
        };
        entries.insert(entry.record.key.clone(), entry);
    }

    fn sweep_due(&self, now: u64) -> bool {
        let mut next = self.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
        let due = now >= *next;
        if due {
            *next = now.saturating_add(self.ttl.as_secs());
        }
        due
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
        self.forgetting(|entries| entries.retain(|_, entry| !which(&entry.record)));
    }

    /// [`forget`](Self::forget) for one key, without a pass over the whole cache.
    fn forget_key(&self, key: &str) {
        self.forgetting(|entries| {
            entries.remove(key);
        });
    }

    fn forgetting(&self, change: impl FnOnce(&mut HashMap<String, Entry>)) {
        let mut entries = self.write_entries();
        self.writes.fetch_add(1, Ordering::SeqCst);
        change(&mut entries);
    }

    fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }
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
                if self.read_entries().contains_key(key) {
                    self.write_entries().remove(key);
                }
            }
        }
        Ok(record)
    }

    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        let entries = self.read_entries();
        let entry = entries.get(key).filter(|entry| self.fresh(entry, now));
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
        let mut entries = self.write_entries();
        match (&result, entries.get_mut(key)) {
            (Ok(()), Some(entry)) if entry.record.version == version => {
                let record = Arc::make_mut(&mut entry.record);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
            }
            (Ok(()), None) => {}
            _ => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                entries.remove(key);
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
}
