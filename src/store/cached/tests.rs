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
    let touched = |seen| SessionRecord {
        last_seen_at: seen,
        expires_at: NOW + 7200,
        ..record("a", "alice")
    };
    cache.touch(&touched(NOW + 1)).await.unwrap();
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
        cache.touch(&touched(NOW + 2)).await,
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
    let cache = Arc::new(CachedStore::new(table.clone(), Duration::from_secs(5)).with_capacity(24));
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
