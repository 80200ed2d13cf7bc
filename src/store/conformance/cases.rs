//! The cases: each one part of [`SessionStore`]'s contract, run against the store it is given.

use std::sync::Arc;
use std::time::Instant;

use super::{cognito_tokens, full_record, now, record};
use crate::store::{SessionStore, StoreError};
use crate::{PreviousToken, SessionRecord, TokenHash};

fn is_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    match result {
        Err(StoreError::Conflict) => true,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// Every field comes back as it was stored: a bare record, one with every optional field
/// set, one with Cognito tokens. An unknown key loads as `None`.
pub async fn records_round_trip_every_field(store: impl SessionStore) {
    let t = now();
    let cognito_only = SessionRecord {
        cognito: Some(cognito_tokens()),
        sub: Some("sub-only".into()),
        ..record("carol", t)
    };
    for record in [record("alice", t), full_record("bob", t), cognito_only] {
        store.create(&record, t).await.unwrap();
        assert_eq!(store.load(&record.key, t).await.unwrap(), Some(record));
    }
    assert_eq!(store.load("no such key", t).await.unwrap(), None);
}

/// An update that sets optional fields to `None` removes them from the stored record.
pub async fn update_removes_fields_that_became_none(store: impl SessionStore) {
    let t = now();
    let full = full_record("dave", t);
    store.create(&full, t).await.unwrap();
    let bare = SessionRecord {
        version: 2,
        ..record("dave", t)
    };
    let bare = SessionRecord {
        key: full.key.clone(),
        ..bare
    };
    store.update(&bare, 1).await.unwrap();
    assert_eq!(store.load(&full.key, t).await.unwrap(), Some(bare));
}

/// `create` on the key of a live record is a [`StoreError::Conflict`], up to the record's
/// last second, and leaves the record as it was.
pub async fn create_conflicts_with_a_live_record(store: impl SessionStore) {
    let t = now();
    let first = record("erin", t);
    store.create(&first, t).await.unwrap();
    let second = SessionRecord {
        username: "mallory".into(),
        ..first.clone()
    };
    assert!(is_conflict(store.create(&second, t).await));
    // Still live one second before it expires.
    assert!(is_conflict(
        store.create(&second, first.expires_at - 1).await
    ));
    assert_eq!(store.load(&first.key, t).await.unwrap(), Some(first));
}

/// `create` on the key of an expired record replaces it, whether or not the backend has
/// dropped it yet.
pub async fn create_replaces_an_expired_record(store: impl SessionStore) {
    let t = now();
    let old = record("frank", t);
    store.create(&old, t).await.unwrap();
    // Expired at `expires_at`, though the backend hasn't dropped it yet.
    let later = old.expires_at;
    let new = SessionRecord {
        username: "grace".into(),
        created_at: later,
        expires_at: later + 3600,
        ..old.clone()
    };
    store.create(&new, later).await.unwrap();
    assert_eq!(store.load(&old.key, later).await.unwrap(), Some(new));
}

/// `load` answers `None` from `expires_at` on, though the record is still stored.
pub async fn load_hides_an_expired_record_that_is_still_stored(store: impl SessionStore) {
    let t = now();
    let record = record("heidi", t);
    store.create(&record, t).await.unwrap();
    let last_second = record.expires_at - 1;
    assert!(
        store
            .load(&record.key, last_second)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.load(&record.key, record.expires_at).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .load(&record.key, record.expires_at + 86_400)
            .await
            .unwrap(),
        None
    );
}

/// `update` replaces the record only while it has the expected version: a stale writer and
/// an update of a missing record are [`StoreError::Conflict`]s that change nothing.
pub async fn update_needs_the_expected_version(store: impl SessionStore) {
    let t = now();
    let v1 = record("judy", t);
    store.create(&v1, t).await.unwrap();
    let v2 = SessionRecord {
        token_hash: TokenHash::of("rotated"),
        previous: Some(Box::new(PreviousToken {
            hash: v1.token_hash,
            valid_until: t + 30,
        })),
        refreshed_at: t + 1,
        version: 2,
        ..v1.clone()
    };
    store.update(&v2, 1).await.unwrap();
    assert_eq!(store.load(&v1.key, t).await.unwrap(), Some(v2.clone()));

    let stale = SessionRecord {
        version: 2,
        token_hash: TokenHash::of("lost the race"),
        ..v1.clone()
    };
    assert!(is_conflict(store.update(&stale, 1).await));
    assert_eq!(store.load(&v1.key, t).await.unwrap(), Some(v2));

    let missing = record("judy", t);
    assert!(is_conflict(store.update(&missing, 1).await));
    assert_eq!(store.load(&missing.key, t).await.unwrap(), None);
}

/// `touch` sets `last_seen_at` and `expires_at` and keeps the version; on another version,
/// or on a deleted record, it is a [`StoreError::Conflict`] and writes nothing (no stub).
pub async fn touch_keeps_the_version_and_never_resurrects(store: impl SessionStore) {
    let t = now();
    let record = full_record("ken", t);
    store.create(&record, t).await.unwrap();
    let touch = |version, seen, expires| SessionRecord {
        version,
        last_seen_at: seen,
        expires_at: expires,
        ..record.clone()
    };
    let touched = touch(1, t + 60, t + 7200);
    store.touch(&touched).await.unwrap();
    assert_eq!(
        store.load(&record.key, t).await.unwrap(),
        Some(touched.clone())
    );

    assert!(is_conflict(store.touch(&touch(0, t + 90, t + 9000)).await));
    assert!(is_conflict(store.touch(&touch(2, t + 90, t + 9000)).await));
    assert_eq!(store.load(&record.key, t).await.unwrap(), Some(touched));

    assert!(store.delete(&record.key).await.unwrap());
    assert!(is_conflict(store.touch(&touch(1, t + 120, t + 9000)).await));
    assert_eq!(store.load(&record.key, t).await.unwrap(), None);
    assert!(
        !store.delete(&record.key).await.unwrap(),
        "touch left a stub"
    );
}

/// `delete` answers whether there was a record, and the record is gone.
pub async fn delete_says_whether_there_was_a_record(store: impl SessionStore) {
    let t = now();
    let record = record("leo", t);
    store.create(&record, t).await.unwrap();
    assert!(store.delete(&record.key).await.unwrap());
    assert_eq!(store.load(&record.key, t).await.unwrap(), None);
    assert!(!store.delete(&record.key).await.unwrap());
    assert!(!store.delete("never existed").await.unwrap());
}

/// `take` deletes a record and hands back what it deleted, every field as stored; a second
/// `take` finds nothing.
pub async fn take_returns_what_it_deleted(store: impl SessionStore) {
    let t = now();
    let record = full_record("lena", t);
    store.create(&record, t).await.unwrap();
    assert_eq!(store.take(&record.key).await.unwrap(), Some(record.clone()));
    assert_eq!(store.load(&record.key, t).await.unwrap(), None);
    assert_eq!(store.take(&record.key).await.unwrap(), None);
}

/// `delete_version` deletes only the version it names: a record changed since is kept (and
/// reported as a conflict), and so is a missing one.
pub async fn delete_version_needs_the_version(store: impl SessionStore) {
    let t = now();
    let v1 = record("lars", t);
    store.create(&v1, t).await.unwrap();
    let v2 = SessionRecord {
        version: v1.version + 1,
        ..v1.clone()
    };
    store.update(&v2, v1.version).await.unwrap();
    assert!(matches!(
        store.delete_version(&v1.key, v1.version).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.load(&v1.key, t).await.unwrap(), Some(v2.clone()));
    store.delete_version(&v2.key, v2.version).await.unwrap();
    assert_eq!(store.load(&v2.key, t).await.unwrap(), None);
    assert!(matches!(
        store.delete_version(&v2.key, v2.version).await,
        Err(StoreError::Conflict)
    ));
}

/// `delete_user` deletes all 60 sessions of one user (more than a page of a paged backend)
/// and answers how many; the sessions of users with neighbouring names, and of a user whose
/// `sub` is that name, stay.
pub async fn delete_user_deletes_exactly_that_users_sessions_across_pages(
    store: impl SessionStore,
) {
    let t = now();
    let mut mine = Vec::new();
    for _ in 0..60 {
        let record = record("mallory", t);
        store.create(&record, t).await.unwrap();
        mine.push(record);
    }
    // Neighbours in the index's sort order, and a namesake in another field.
    let mut others = Vec::new();
    for username in ["mallorx", "mallory2", "Mallory", "nina"] {
        let record = SessionRecord {
            sub: Some("mallory".into()),
            ..record(username, t)
        };
        store.create(&record, t).await.unwrap();
        others.push(record);
    }

    assert_eq!(store.delete_user("mallory").await.unwrap(), 60);
    for record in &mine {
        assert_eq!(store.load(&record.key, t).await.unwrap(), None);
    }
    for record in others {
        assert_eq!(store.load(&record.key, t).await.unwrap(), Some(record));
    }
    assert_eq!(store.delete_user("mallory").await.unwrap(), 0);
    assert_eq!(store.delete_user("nobody").await.unwrap(), 0);
}

/// Right after `delete_user`, `load` finds none of the user's sessions.
pub async fn delete_user_then_load_is_none(store: impl SessionStore) {
    let t = now();
    let record = full_record("olga", t);
    store.create(&record, t).await.unwrap();
    assert_eq!(store.delete_user("olga").await.unwrap(), 1);
    // The layer reads the table, not the index: even a lagging index can't revive it.
    assert_eq!(store.load(&record.key, t).await.unwrap(), None);
}

/// Of 20 concurrent updates from the same version, exactly one wins and the others are
/// [`StoreError::Conflict`]s; the winner's record is the one stored.
pub async fn concurrent_updates_of_one_version_have_exactly_one_winner(store: impl SessionStore) {
    let store = Arc::new(store);
    let t = now();
    let v1 = record("peggy", t);
    store.create(&v1, t).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..20 {
        let store = store.clone();
        let next = SessionRecord {
            token_hash: TokenHash::of(&format!("writer {writer}")),
            version: 2,
            ..v1.clone()
        };
        tasks.spawn(async move { (store.update(&next, 1).await, next) });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (Ok(()), record) => winners.push(record),
            (Err(StoreError::Conflict), _) => conflicts += 1,
            (Err(other), _) => panic!("expected Ok or Conflict, got {other:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 19));
    assert_eq!(store.load(&v1.key, t).await.unwrap(), winners.pop());
}

/// The backend drops an expired record by itself (a TTL, a sweep), without anyone reading
/// it, and leaves a live one. Not part of the [`store_conformance!`](crate::store_conformance)
/// set, since only the backend can tell whether a record is still stored: `drops_expired`
/// answers whether the record `key`, expired at `now`, is gone within a bounded wait.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use cognito_session::store::MemoryStore;
/// use cognito_session::store::conformance::expired_records_are_dropped_by_the_backend;
///
/// let store = Arc::new(MemoryStore::new());
/// expired_records_are_dropped_by_the_backend(store.clone(), async |_key: &str, now| {
///     let before = store.len();
///     store.purge_expired(now);
///     store.len() == before - 1
/// })
/// .await;
/// # });
/// ```
pub async fn expired_records_are_dropped_by_the_backend(
    store: impl SessionStore,
    drops_expired: impl AsyncFnOnce(&str, u64) -> bool,
) {
    let t = now();
    let live = record("ivan", t);
    let expired = SessionRecord {
        expires_at: t - 1,
        ..record("ivan", t)
    };
    store.create(&live, t).await.unwrap();
    store.create(&expired, t).await.unwrap();
    let started = Instant::now();
    assert!(
        drops_expired(&expired.key, t).await,
        "the expired record is still stored"
    );
    eprintln!("expired record dropped after {:?}", started.elapsed());
    assert_eq!(store.load(&live.key, t).await.unwrap(), Some(live));
}

/// `list_user` gives every live record of the user, each as stored, and nothing of anyone
/// else's; not an expired one, nor a deleted one.
pub async fn list_user_lists_exactly_that_users_live_sessions(store: impl SessionStore) {
    let t = now();
    let user = format!("yusuf-{:016x}", getrandom::u64().expect("random bytes"));
    let mine = [full_record(&user, t), record(&user, t), record(&user, t)];
    let expired = SessionRecord {
        expires_at: t + 1,
        ..record(&user, t)
    };
    let theirs = record(&format!("{user}-other"), t);
    for record in mine.iter().chain([&expired, &theirs]) {
        store.create(record, t).await.unwrap();
    }
    let sorted = |mut records: Vec<SessionRecord>| {
        records.sort_by(|a, b| a.key.cmp(&b.key));
        records
    };
    assert_eq!(
        sorted(store.list_user(&user, t + 1).await.unwrap()),
        sorted(mine.to_vec())
    );
    assert!(store.delete(&mine[1].key).await.unwrap());
    assert_eq!(
        sorted(store.list_user(&user, t + 1).await.unwrap()),
        sorted(vec![mine[0].clone(), mine[2].clone()])
    );
    assert_eq!(store.list_user("nobody-at-all", t).await.unwrap(), []);
}
