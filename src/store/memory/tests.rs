use super::*;

fn record(key: &str, username: &str, version: u64) -> SessionRecord {
    SessionRecord {
        version,
        ..SessionRecord::for_test(key, username, 0)
    }
}

impl MemoryStore {
    /// How many records the index lists for each user.
    fn indexed(&self) -> HashMap<u64, usize> {
        self.users()
            .table
            .iter()
            .map(|u| (u.user, u.keys.as_slice().len()))
            .collect()
    }

    /// Puts `record` in the shard of `hash`, under `hash` whatever its key hashes to,
    /// and lists it in the index as `listed_as`'s: what the store would hold if hashes
    /// collided that can't be made to on purpose.
    fn put_by_hand(&self, record: SessionRecord, hash: u64, listed_as: &str) {
        let mut users = self.users();
        self.write(MemoryStore::shard_of(hash))
            .insert_unique(hash, Arc::new(record), |r| self.hash(&r.key));
        users.add(listed_as, hash);
    }

    /// What [`indexed`](Self::indexed) answers when it lists these users' records.
    fn listing<const N: usize>(&self, users: [(&str, usize); N]) -> HashMap<u64, usize> {
        let index = self.users();
        users.map(|(name, n)| (index.hash(name), n)).into()
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
    assert_eq!(store.indexed(), store.listing([("alice", 1), ("bob", 1)]));
    assert_eq!(store.delete_user("alice").await.unwrap(), 1);
    assert_eq!(store.load("a", 0).await.unwrap().unwrap().username, "bob");
    assert_eq!(store.delete_user("bob").await.unwrap(), 1);
    assert!(store.is_empty());
    assert!(store.indexed().is_empty(), "no user left behind");
    // Swept records leave the index too.
    store.create(&record("c", "carol", 0), 0).await.unwrap();
    store.purge_expired(3600);
    assert!(store.is_empty() && store.indexed().is_empty());
    // And so do taken and deleted ones.
    store.create(&record("d", "dan", 0), 0).await.unwrap();
    store.create(&record("e", "dan", 0), 0).await.unwrap();
    store.take("d").await.unwrap().unwrap();
    store.delete_version("e", 0).await.unwrap();
    assert!(store.is_empty() && store.indexed().is_empty());
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
    assert_eq!(
        store.indexed(),
        store.listing([("many", 1_000), ("someone", 1)])
    );
    assert_eq!(store.delete_user("many").await.unwrap(), 1_000);
    assert_eq!(store.len(), 1);
    assert_eq!(
        store.indexed(),
        store.listing([("someone", 1)]),
        "only the other user is indexed"
    );
}

#[tokio::test]
async fn records_with_one_hash_are_told_apart_by_their_user() {
    // Two users' records under keys of one hash can't be made on purpose; the index
    // relies on the user's name to tell them apart, so check that it does.
    let store = MemoryStore::new();
    store.create(&record("a", "alice", 0), 0).await.unwrap();
    // Under `a`'s hash, as if `b` hashed the same.
    store.put_by_hand(record("b", "bob", 0), store.hash("a"), "bob");
    assert_eq!(store.delete_user("bob").await.unwrap(), 1);
    assert_eq!(store.load("a", 0).await.unwrap().unwrap().username, "alice");
    assert_eq!(store.indexed(), store.listing([("alice", 1)]));
}

#[tokio::test]
async fn users_whose_names_hash_alike_keep_their_own_records() {
    // Two names with one keyed SipHash can't be found on purpose: `bob`'s record is
    // listed by hand under `alice`'s name, as if the two hashed the same.
    let store = MemoryStore::new();
    store.create(&record("a", "alice", 0), 0).await.unwrap();
    store.put_by_hand(record("b", "bob", 0), store.hash("b"), "alice");
    assert_eq!(store.delete_user("alice").await.unwrap(), 1);
    assert_eq!(store.load("b", 0).await.unwrap().unwrap().username, "bob");
    assert_eq!(
        store.indexed(),
        store.listing([("alice", 1)]),
        "bob's record is still listed where bob's name hashes"
    );
}

#[test]
fn reads_on_many_threads_see_every_write() {
    let store = Arc::new(MemoryStore::new());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    for i in 0..500 {
                        let key = format!("t{t}-{i}");
                        store
                            .create(&record(&key, &format!("u{t}"), 0), 0)
                            .await
                            .unwrap();
                        assert!(matches!(store.load_now(&key, 0), LoadNow::Found(_)));
                    }
                });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(store.len(), 2_000);
    assert_eq!(store.indexed().values().sum::<usize>(), 2_000);
}
