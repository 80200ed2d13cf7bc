//! [`MemoryStore`]: sessions in this process's memory.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

use async_trait::async_trait;
use hashbrown::HashTable;

use super::{LoadNow, SessionStore, StoreError};
use crate::SessionRecord;

/// Sessions in sharded hash tables: the embedded default, and the store for tests.
///
/// It keeps the semantics of a DynamoDB table with conditional writes, so code that works on
/// it works on [`DynamoDbStore`](crate::store::dynamodb::DynamoDbStore). Memory stays bounded:
/// expired records are purged by a sweep that runs at most once per `sweep_interval` of
/// writes, and never hold a session alive. Sessions don't survive a restart, and several
/// processes don't share them: use DynamoDB for that.
///
/// Reading a session (what every request does) takes a read lock of one of 64 shards, and
/// each shard's lock is itself split by thread, so requests on different threads neither
/// wait for each other nor write to one lock, even for one session; only log-ins, log-outs
/// and other writes that change whose session a record is take the lock of the per-user
/// index.
///
/// ```
/// use cognito_session::{SessionConfig, SessionManager};
/// use cognito_session::store::MemoryStore;
///
/// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default());
/// ```
pub struct MemoryStore {
    /// The records, each in the shard its key's hash picks. A table of records rather than a
    /// map from keys: the key is the record's own, so it is stored once. `ShardedLock`: a
    /// reader locks a part of the lock of its own thread, so reads of a hot shard from many
    /// cores don't all write to one word; a writer locks every part, and writes are few.
    shards: Box<[ShardedLock<Shard>]>,
    /// foldhash rather than SipHash: every request hashes a key here, and the keys are the
    /// server's own (hashes of tokens it made, Cognito's `origin_jti` or `sub`), so no client
    /// can pick colliding ones.
    hasher: foldhash::fast::RandomState,
    /// Which records each user has. Writes that add, remove or re-assign records take this
    /// lock first, then one shard's at a time; reads never take it.
    users: Mutex<Users>,
    next_sweep: AtomicU64,
}

type Shard = HashTable<Arc<SessionRecord>>;

/// The per-user index, which names users and records by hashes alone: a record is the one
/// in its shard with its key's hash and its user's name, so the index holds no copy of
/// either. User names are chosen by clients (the example server's log-in takes any name), so
/// they are hashed with keyed SipHash: nobody can pick two that collide, and should two
/// collide anyway, they share an entry and each still finds only its own records.
#[derive(Default)]
struct Users {
    table: HashTable<UserRecords>,
    hasher: RandomState,
}

/// The records of the user (or users) whose name hashes to `user`, each by the hash of its
/// key in the store's `hasher`. Two records with the same hash are listed twice, and each
/// removal of one under that hash takes one.
struct UserRecords {
    user: u64,
    keys: Keys,
}

/// Most users have one session at a time: that one needs no allocation of its own, and
/// the others' list is boxed so that every entry of the index stays two words.
enum Keys {
    One(u64),
    #[allow(clippy::box_collection)]
    Many(Box<Vec<u64>>),
}

impl Keys {
    fn as_slice(&self) -> &[u64] {
        match self {
            Keys::One(hash) => std::slice::from_ref(hash),
            Keys::Many(hashes) => hashes,
        }
    }

    fn push(&mut self, hash: u64) {
        match self {
            Keys::One(first) => *self = Keys::Many(Box::new(vec![*first, hash])),
            Keys::Many(hashes) => hashes.push(hash),
        }
    }

    /// Removes one occurrence of each hash of `gone` (a multiset); whether any is left.
    fn remove(&mut self, gone: &[u64]) -> bool {
        let Keys::Many(hashes) = self else {
            return !gone.contains(&self.as_slice()[0]);
        };
        if let [hash] = gone {
            if let Some(at) = hashes.iter().position(|h| h == hash) {
                hashes.swap_remove(at);
            }
        } else {
            // One pass, whatever the number of records the user has (a sweep may take many).
            let mut counts: HashMap<u64, usize> = HashMap::new();
            for hash in gone {
                *counts.entry(*hash).or_default() += 1;
            }
            hashes.retain(|hash| match counts.get_mut(hash) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            });
        }
        match hashes.as_slice() {
            [] => false,
            [one] => {
                *self = Keys::One(*one);
                true
            }
            _ => {
                if hashes.capacity() > 2 * hashes.len() {
                    hashes.shrink_to_fit();
                }
                true
            }
        }
    }
}

impl Users {
    fn hash(&self, username: &str) -> u64 {
        self.hasher.hash_one(username)
    }

    fn add(&mut self, username: &str, key_hash: u64) {
        self.add_hashed(self.hash(username), key_hash);
    }

    fn add_hashed(&mut self, user: u64, key_hash: u64) {
        match self.table.entry(user, |u| u.user == user, |u| u.user) {
            hashbrown::hash_table::Entry::Occupied(mut entry) => {
                entry.get_mut().keys.push(key_hash)
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(UserRecords {
                    user,
                    keys: Keys::One(key_hash),
                });
            }
        }
    }

    /// Takes the records hashed `gone` out of `username`'s entry.
    fn remove(&mut self, username: &str, gone: &[u64]) {
        self.remove_hashed(self.hash(username), gone);
    }

    fn remove_hashed(&mut self, user: u64, gone: &[u64]) {
        if let Ok(mut entry) = self.table.find_entry(user, |u| u.user == user)
            && !entry.get_mut().keys.remove(gone)
        {
            entry.remove();
        }
    }

    /// `username`'s entry: the hashes of its records (and of those of any user whose name
    /// has the same hash).
    fn find(&self, username: &str) -> Option<&Keys> {
        let user = self.hash(username);
        self.table.find(user, |u| u.user == user).map(|u| &u.keys)
    }

    /// Takes `username`'s entry out of the index: the hashes of its records (and of those of
    /// any user whose name has the same hash), and the hash of its name.
    fn take(&mut self, username: &str) -> Option<(u64, Keys)> {
        let user = self.hash(username);
        let entry = self.table.find_entry(user, |u| u.user == user).ok()?;
        Some((user, entry.remove().0.keys))
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| ShardedLock::default()).collect(),
            hasher: Default::default(),
            users: Mutex::default(),
            next_sweep: AtomicU64::new(0),
        }
    }
}

/// Seconds between two sweeps of expired records.
const SWEEP_INTERVAL: u64 = 60;

/// How many shards the records are spread over: enough that threads reading different
/// sessions rarely share one, few enough that a sweep stays one pass.
const SHARDS: usize = 64;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.read(i).len()).sum()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record now.
    pub fn purge_expired(&self, now: u64) {
        let mut users = self.users();
        // One pass over each shard, and one over each affected user's keys, not a scan of a
        // user's keys per record (a user with many sessions).
        let mut expired: HashMap<u64, Vec<u64>> = HashMap::new();
        for i in 0..SHARDS {
            let mut shard = self.write(i);
            shard.retain(|record| {
                let live = record.expires_at > now;
                if !live {
                    expired
                        .entry(users.hash(&record.username))
                        .or_default()
                        .push(self.hash(&record.key));
                }
                live
            });
            if shard.capacity() > 4 * shard.len().max(16) {
                let len = shard.len();
                shard.shrink_to(len, |r| self.hash(&r.key));
            }
        }
        for (user, hashes) in expired {
            users.remove_hashed(user, &hashes);
        }
        if users.table.capacity() > 4 * users.table.len().max(16) {
            let len = users.table.len();
            users.table.shrink_to(len, |u| u.user);
        }
    }

    fn hash(&self, key: &str) -> u64 {
        // The bytes alone, without the terminator `str`'s `Hash` adds: every key is hashed
        // this way, so none needs to tell where it ends.
        let mut hasher = self.hasher.build_hasher();
        hasher.write(key.as_bytes());
        hasher.finish()
    }

    /// The shard of a key's hash: bits that the tables themselves use neither for the bucket
    /// (the low ones) nor for the tag (the top seven).
    fn shard_of(hash: u64) -> usize {
        (hash >> 40) as usize % SHARDS
    }

    fn get(&self, key: &str, now: u64) -> Option<Arc<SessionRecord>> {
        let hash = self.hash(key);
        self.read(Self::shard_of(hash))
            .find(hash, |r| r.key == key)
            .filter(|r| r.expires_at > now)
            .cloned()
    }

    fn maybe_sweep(&self, now: u64) {
        let next = self.next_sweep.load(Ordering::Relaxed);
        let due = now >= next
            && self
                .next_sweep
                .compare_exchange(
                    next,
                    now + SWEEP_INTERVAL,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if due {
            self.purge_expired(now);
        }
    }

    /// Puts `record` in place of the one under its key, if any, or adds it; keeps the index.
    /// The caller holds the index's lock.
    fn put(&self, users: &mut Users, record: Arc<SessionRecord>, hash: u64) {
        let mut shard = self.write(Self::shard_of(hash));
        let username = record.username.clone();
        let old = match shard.entry(hash, |r| r.key == record.key, |r| self.hash(&r.key)) {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                Some(std::mem::replace(slot.get_mut(), record))
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(record);
                None
            }
        };
        drop(shard);
        match old {
            Some(old) if old.username == username => {}
            Some(old) => {
                users.remove(&old.username, &[hash]);
                users.add(&username, hash);
            }
            None => users.add(&username, hash),
        }
    }

    /// Removes the record under `key`, if there is one and its version is `version` (any
    /// version for `None`); keeps the index. The caller holds the index's lock.
    fn remove(
        &self,
        users: &mut Users,
        key: &str,
        version: Option<u64>,
    ) -> Option<Arc<SessionRecord>> {
        let hash = self.hash(key);
        let mut shard = self.write(Self::shard_of(hash));
        let slot = shard.find_entry(hash, |r| r.key == key).ok()?;
        if version.is_some_and(|v| v != slot.get().version) {
            return None;
        }
        let record = slot.remove().0;
        drop(shard);
        users.remove(&record.username, &[hash]);
        Some(record)
    }

    // A panic while holding a lock can't leave a table half-written (every write is a
    // single table operation), so a poisoned lock is still safe to use.
    fn read(&self, shard: usize) -> ShardedLockReadGuard<'_, Shard> {
        self.shards[shard].read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, shard: usize) -> ShardedLockWriteGuard<'_, Shard> {
        self.shards[shard]
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn users(&self) -> MutexGuard<'_, Users> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        self.maybe_sweep(now);
        let hash = self.hash(&record.key);
        let mut users = self.users();
        let taken = self
            .read(Self::shard_of(hash))
            .find(hash, |r| r.key == record.key)
            .is_some_and(|r| r.expires_at > now);
        if taken {
            return Err(StoreError::Conflict);
        }
        self.put(&mut users, Arc::new(compact(record.clone())), hash);
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
        let hash = self.hash(&record.key);
        let mut users = self.users();
        let current = self
            .read(Self::shard_of(hash))
            .find(hash, |r| r.key == record.key)
            .map(|r| r.version);
        if current != Some(expected_version) {
            return Err(StoreError::Conflict);
        }
        self.put(&mut users, Arc::new(compact(record.clone())), hash);
        Ok(())
    }

    async fn touch(&self, touched: &SessionRecord) -> Result<(), StoreError> {
        // Neither the key nor the user changes: the index is left alone.
        let hash = self.hash(&touched.key);
        let mut shard = self.write(Self::shard_of(hash));
        match shard.find_mut(hash, |r| r.key == touched.key) {
            Some(record) if record.version == touched.version => {
                let record = Arc::make_mut(record);
                record.last_seen_at = touched.last_seen_at;
                record.expires_at = touched.expires_at;
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let mut users = self.users();
        Ok(self.remove(&mut users, key, None).map(Arc::unwrap_or_clone))
    }

    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        let mut users = self.users();
        match self.remove(&mut users, key, Some(version)) {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict),
        }
    }

    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        let mut users = self.users();
        // The user's keys leave the index at once, rather than one scan of it per record.
        let Some((user, keys)) = users.take(username) else {
            return Ok(0);
        };
        let mut deleted = 0;
        for &hash in keys.as_slice() {
            let mut shard = self.write(Self::shard_of(hash));
            if let Ok(slot) = shard.find_entry(hash, |r| r.username == username) {
                slot.remove();
                deleted += 1;
            } else {
                // Another user's, whose name hashes alike: it stays indexed.
                users.add_hashed(user, hash);
            }
        }
        Ok(deleted)
    }

    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let mut hashes = match self.users().find(username) {
            Some(keys) => keys.as_slice().to_vec(),
            None => return Ok(Vec::new()),
        };
        // Two records whose keys hash alike are indexed twice, and found together.
        hashes.sort_unstable();
        hashes.dedup();
        let mut records = Vec::new();
        for hash in hashes {
            let shard = self.read(Self::shard_of(hash));
            records.extend(
                shard
                    .iter_hash(hash)
                    .filter(|r| r.username == username && r.expires_at > now)
                    .map(|r| SessionRecord::clone(r)),
            );
        }
        Ok(records)
    }
}

/// `record` without spare capacity in its strings: a store keeps it for its whole life.
fn compact(mut record: SessionRecord) -> SessionRecord {
    record.key.shrink_to_fit();
    record.username.shrink_to_fit();
    record
}

#[cfg(test)]
mod tests;
