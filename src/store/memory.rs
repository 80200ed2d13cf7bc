//! [`MemoryStore`]: sessions in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;

use super::{LoadNow, SessionStore, StoreError};
use crate::SessionRecord;

/// Sessions in a `HashMap` behind a lock: the embedded default, and the store for tests.
///
/// It keeps the semantics of a DynamoDB table with conditional writes, so code that works on
/// it works on [`DynamoDbStore`](crate::store::dynamodb::DynamoDbStore). Memory stays bounded:
/// expired records are purged by a sweep that runs at most once per `sweep_interval` of
/// writes, and never hold a session alive. Sessions don't survive a restart, and several
/// processes don't share them: use DynamoDB for that.
///
/// ```
/// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
///
/// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    next_sweep: Mutex<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    // Shared, so that a read hands out a reference count rather than a copy. foldhash rather
    // than SipHash: every request hashes a 64-character key here, and the keys are the
    // server's own (hashes of tokens it made, Cognito's `origin_jti` or `sub`), so no client
    // can pick colliding ones.
    records: foldhash::HashMap<Arc<str>, Arc<SessionRecord>>,
    // The keys of each user's records, sharing the strings of the map's keys. Keyed by user
    // names, which clients may choose (the example server's log-in takes any name): SipHash,
    // and only log-ins and log-outs touch it.
    by_user: HashMap<String, Vec<Arc<str>>>,
}

/// Seconds between two sweeps of expired records.
const SWEEP_INTERVAL: u64 = 60;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.read().records.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record now.
    pub fn purge_expired(&self, now: u64) {
        let mut guard = self.write();
        let inner = &mut *guard;
        // Under the write lock: one pass over the records and one over each affected user's
        // keys, not a scan of a user's keys per record (a user with many sessions).
        let mut expired: HashMap<String, HashSet<Arc<str>>> = HashMap::new();
        inner.records.retain(|key, record| {
            let live = record.expires_at > now;
            if !live {
                expired
                    .entry(record.username.clone())
                    .or_default()
                    .insert(key.clone());
            }
            live
        });
        for (username, keys) in expired {
            if let Some(index) = inner.by_user.get_mut(&username) {
                index.retain(|key| !keys.contains(key));
                if index.is_empty() {
                    inner.by_user.remove(&username);
                }
            }
        }
    }

    fn get(&self, key: &str, now: u64) -> Option<Arc<SessionRecord>> {
        self.read()
            .records
            .get(key)
            .filter(|r| r.expires_at > now)
            .cloned()
    }

    fn maybe_sweep(&self, now: u64) {
        let due = {
            let mut next = self.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
            let due = now >= *next;
            if due {
                *next = now + SWEEP_INTERVAL;
            }
            due
        };
        if due {
            self.purge_expired(now);
        }
    }

    // A panic while holding the lock can't leave a record half-written (every write is a
    // single map operation), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn insert(&mut self, record: SessionRecord) {
        let key = match self.records.get_key_value(record.key.as_str()) {
            Some((key, old)) if old.username == record.username => {
                let key = key.clone();
                self.records.insert(key, Arc::new(record));
                return;
            }
            Some((key, old)) => {
                let (key, old_user) = (key.clone(), old.username.clone());
                self.unindex(&old_user, &key);
                key
            }
            None => Arc::from(record.key.as_str()),
        };
        self.by_user
            .entry(record.username.clone())
            .or_default()
            .push(key.clone());
        self.records.insert(key, Arc::new(record));
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.records.remove(key) {
            Some(record) => {
                self.unindex(&record.username, key);
                true
            }
            None => false,
        }
    }

    fn unindex(&mut self, username: &str, key: &str) {
        if let Some(keys) = self.by_user.get_mut(username) {
            keys.retain(|k| &**k != key);
            if keys.is_empty() {
                self.by_user.remove(username);
            }
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        self.maybe_sweep(now);
        let mut inner = self.write();
        if inner
            .records
            .get(record.key.as_str())
            .is_some_and(|r| r.expires_at > now)
        {
            return Err(StoreError::Conflict);
        }
        inner.insert(record.clone());
        Ok(())
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.get(key, now).map(Arc::unwrap_or_clone))
    }

    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        match self.get(key, now) {
            Some(record) => LoadNow::Found(record),
            None => LoadNow::Absent,
        }
    }

    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut inner = self.write();
        match inner.records.get(record.key.as_str()) {
            Some(current) if current.version == expected_version => {
                inner.insert(record.clone());
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn touch(
        &self,
        key: &str,
        version: u64,
        last_seen_at: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        match self.write().records.get_mut(key) {
            Some(record) if record.version == version => {
                let record = Arc::make_mut(record);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.write().remove(key))
    }

    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        let mut inner = self.write();
        // The user's keys leave the index at once, rather than one scan of it per record.
        let keys = inner.by_user.remove(username).unwrap_or_default();
        Ok(keys
            .iter()
            .filter(|key| inner.records.remove(&***key).is_some())
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, username: &str, version: u64) -> SessionRecord {
        SessionRecord {
            version,
            ..SessionRecord::for_test(key, username, 0)
        }
    }

    #[tokio::test]
    async fn the_user_index_follows_a_record_to_its_new_user_and_out_of_the_store() {
        let store = MemoryStore::new();
        store.create(&record("a", "alice", 0), 0).await.unwrap();
        store.create(&record("b", "alice", 0), 0).await.unwrap();
        // A record that changes hands (a key by `sub`, say, and a renamed user).
        store.update(&record("a", "bob", 1), 0).await.unwrap();
        store.update(&record("a", "bob", 2), 1).await.unwrap();
        assert_eq!(store.delete_user("alice").await.unwrap(), 1);
        assert_eq!(store.load("a", 0).await.unwrap().unwrap().username, "bob");
        assert_eq!(store.delete_user("bob").await.unwrap(), 1);
        assert!(store.is_empty());
        assert!(store.read().by_user.is_empty(), "no user left behind");
        // Swept records leave the index too.
        store.create(&record("c", "carol", 0), 0).await.unwrap();
        store.purge_expired(3600);
        assert!(store.is_empty() && store.read().by_user.is_empty());
    }

    #[tokio::test]
    async fn a_user_with_many_sessions_is_swept_and_deleted_whole() {
        let store = MemoryStore::new();
        for i in 0..2_000 {
            let mut r = record(&format!("k{i}"), "many", 0);
            // Every other session expires before the sweep.
            r.expires_at = if i % 2 == 0 { 100 } else { 10_000 };
            store.create(&r, 0).await.unwrap();
        }
        store
            .create(&record("other", "someone", 0), 0)
            .await
            .unwrap();
        store.purge_expired(100);
        assert_eq!(store.len(), 1_001);
        assert_eq!(store.read().by_user["many"].len(), 1_000);
        assert_eq!(store.delete_user("many").await.unwrap(), 1_000);
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.read().by_user.len(),
            1,
            "only the other user is indexed"
        );
    }
}
