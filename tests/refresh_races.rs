//! Refreshes whose outcome is not what it looks like: Cognito refusing a refresh token
//! another instance has just used, and a write that landed though the store said it timed
//! out. Neither may end a live session.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cognito_session::store::{CognitoTokens, MemoryStore, PreviousToken, SessionStore, TokenHash};
use common::cognito::{Pool, Via, age, app, call, epoch, logged_in};
use common::private::Private;
use common::stores::faulty;
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_refused_after_another_instance_refreshed_adopts_instead_of_deleting() {
    let moto = Private::moto().await;
    let pool = Pool::create(&moto.url, false).await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let manager = pool.manager(store.clone(), pool.config());
    let app = app(&manager);
    let session = logged_in(&manager, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let now = epoch(&std::time::SystemTime::now);
    let due = age(&*store, &key, now + 60).await;

    // Every refresh token of the user is void from now on: Cognito will refuse ours, as it
    // refuses a rotated-away refresh token.
    pool.client
        .admin_user_global_sign_out()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .send()
        .await
        .unwrap();
    // Hold our refresh in flight (moto paused) while another instance's refresh lands.
    moto.pause();
    let request = tokio::spawn({
        let (app, due) = (app.clone(), due.clone());
        async move { call(&app, &due, Via::Cookie).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = store.load(&key, now).await.unwrap().unwrap();
    let mut winner = read.clone();
    winner.token_hash = TokenHash::of("the-winners-token");
    winner.previous = Some(Box::new(PreviousToken {
        hash: read.token_hash,
        valid_until: now + 30,
    }));
    winner.cognito = Some(CognitoTokens {
        access_token: "the-winners-token".to_owned().into(),
        ..read.cognito.clone().unwrap()
    });
    winner.version += 1;
    store.update(&winner, read.version).await.unwrap();
    moto.resume();

    let reply = request.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.new_token().as_deref(), Some("the-winners-token"));
    assert_eq!(
        store.load(&key, now).await.unwrap(),
        Some(winner),
        "the row was not ours to delete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_write_landed_but_timed_out_hands_over_the_new_token() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let (store, _, _) = faulty(MemoryStore::new());
    let store = Arc::new(store);
    let manager = pool.manager(store.clone(), pool.config());
    let app = app(&manager);
    let session = logged_in(&manager, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let now = epoch(&std::time::SystemTime::now);
    let due = age(&*store, &key, now + 60).await;

    store.interceptor().lie.store(true, Ordering::SeqCst);
    let reply = call(&app, &due, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let new = reply.new_token().expect("the token that was stored");
    let stored = store.load(&key, now).await.unwrap().unwrap();
    assert_eq!(
        stored.token_hash,
        TokenHash::of(&new),
        "the client holds the stored token"
    );
}
