//! `DynamoDbStore::delete_user` against DynamoDB Local: a rotation's successor that the
//! username index doesn't list yet is deleted with the session it replaced.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::store::{SessionRecord, SessionStore, TokenHash};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn session(username: &str, successor: Option<&SessionRecord>, t: u64) -> SessionRecord {
    let token = common::unique("token");
    let hash = TokenHash::of(&token);
    SessionRecord {
        successor: successor.map(|next| next.key.clone()),
        ..SessionRecord::new(hash.to_hex(), username, hash, t, t + 3600)
    }
}

async fn store() -> DynamoDbStore {
    common::dynamo::fresh_store(&common::dynamodb_local_url(), Duration::from_secs(3))
        .await
        .with_page_size(Some(2))
}

/// The index is eventually consistent, and DynamoDB Local's is not: a successor the index
/// doesn't list yet is played by one stored under a username the query doesn't ask for
/// (what the index would answer in the instant after the rotation wrote it).
#[tokio::test]
async fn a_successor_the_index_does_not_list_yet_is_deleted_too() {
    let store = store().await;
    let t = now();
    // alice's session A was rotated to B, and B (in the same instant) to C; neither B nor C
    // is in the index yet.
    let c = session("alice (not indexed yet)", None, t);
    let b = session("alice (not indexed yet)", Some(&c), t);
    let a = session("alice", Some(&b), t);
    let other = session("alice", None, t);
    let bob = session("bob", None, t);
    for record in [&a, &b, &c, &other, &bob] {
        store.create(record, t).await.unwrap();
    }

    assert_eq!(store.delete_user("alice").await.unwrap(), 4);
    for gone in [&a, &b, &c, &other] {
        assert_eq!(
            store.load(&gone.key, t).await.unwrap(),
            None,
            "{}",
            gone.key
        );
    }
    assert_eq!(store.load(&bob.key, t).await.unwrap(), Some(bob.clone()));
}

/// A successor the index lists as well is deleted once and counted once, and a successor
/// already gone (its key is all the retired item still names) is not counted.
#[tokio::test]
async fn successors_the_index_lists_are_counted_once() {
    let store = store().await;
    let t = now();
    let mut chain = vec![session("carol", None, t)];
    for _ in 0..4 {
        let next = session("carol", chain.last(), t);
        chain.push(next);
    }
    let ended = session("carol", None, t);
    let pointing_to_ended = session("carol", Some(&ended), t);
    for record in chain.iter().chain([&pointing_to_ended]) {
        store.create(record, t).await.unwrap();
    }
    assert_eq!(store.delete_user("carol").await.unwrap(), 6);
    for record in chain.iter().chain([&pointing_to_ended]) {
        assert_eq!(store.load(&record.key, t).await.unwrap(), None);
    }
    assert_eq!(store.delete_user("carol").await.unwrap(), 0);
}

/// Deleting a user's sessions needs no decryption: an item this store can't open (sealed
/// under a key it doesn't have) is deleted and its successor followed all the same.
#[tokio::test]
async fn sessions_sealed_under_another_key_are_deleted_too() {
    let store = store().await;
    let t = now();
    let next = session("dave (not indexed yet)", None, t);
    let mut sealed = session("dave", Some(&next), t);
    sealed.cognito = Some(cognito_session::store::CognitoTokens {
        access_token: cognito_session::Secret::new("access"),
        refresh_token: cognito_session::Secret::new("refresh"),
        access_expires_at: t + 3600,
    });
    store.create(&next, t).await.unwrap();
    store
        .clone()
        .with_encryption_key([0x11; 32])
        .create(&sealed, t)
        .await
        .unwrap();
    assert!(
        store.load(&sealed.key, t).await.is_err(),
        "not this store's key"
    );
    assert_eq!(store.delete_user("dave").await.unwrap(), 2);
    assert_eq!(store.load(&next.key, t).await.unwrap(), None);
}
