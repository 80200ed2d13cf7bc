//! Races between requests, layers and log-outs on one DynamoDB Local table: the store's
//! conditional writes decide, nobody fails, nothing is refreshed twice per layer.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use cognito_session::store::{SessionStore, TokenHash};
use common::cognito::{Pool, Via, age, app, call, epoch, logged_in};
use http::StatusCode;

const SESSIONS: usize = 10;
const CLIENTS: usize = 50;
const REQUESTS_PER_CLIENT: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_requests_over_two_layers_refresh_each_session_once_per_layer() {
    let store = Arc::new(
        common::dynamo::fresh_store(&common::dynamodb_local_url(), Duration::from_secs(5)).await,
    );
    let pool = Pool::new().await;
    // Two "instances" behind a load balancer: separate managers (caches, single-flight),
    // one table.
    let layers = [
        pool.manager(store.clone(), pool.config()),
        pool.manager(store.clone(), pool.config()),
    ];
    let apps = [app(&layers[0]), app(&layers[1])];

    let now = epoch(&std::time::SystemTime::now);
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let (username, password) = pool.user().await;
        let session = layers[0]
            .login(&username, &password)
            .await
            .unwrap()
            .into_session()
            .unwrap();
        // Due for refresh (expires within the 120 s window) but not expired.
        let due = age(&*store, session.user.session_key(), now + 60).await;
        sessions.push((session.user.session_key().to_owned(), due));
    }
    let logins = pool.calls.get("InitiateAuth");
    let sessions = Arc::new(sessions);

    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (app, sessions) = (apps[client % 2].clone(), sessions.clone());
        clients.push(tokio::spawn(async move {
            // Like a browser: the token it holds per session, updated by Set-Cookie.
            let mut held: Vec<String> = sessions.iter().map(|(_, token)| token.clone()).collect();
            let mut outcomes = Vec::new();
            for request in 0..REQUESTS_PER_CLIENT {
                let session = (client + request) % SESSIONS;
                let reply = call(&app, &held[session], Via::Cookie).await;
                if let Some(token) = reply.new_token() {
                    held[session] = token.clone();
                    outcomes.push((session, reply.status, Some(token)));
                } else {
                    outcomes.push((session, reply.status, None));
                }
            }
            outcomes
        }));
    }
    let mut handed_out: HashMap<usize, HashSet<String>> = HashMap::new();
    let mut answered = 0;
    for client in clients {
        for (session, status, token) in client.await.unwrap() {
            assert_eq!(status, StatusCode::OK, "session {session}");
            answered += 1;
            if let Some(token) = token {
                handed_out.entry(session).or_default().insert(token);
            }
        }
    }
    assert_eq!(answered, CLIENTS * REQUESTS_PER_CLIENT);

    let refreshes = pool.calls.get("InitiateAuth") - logins;
    assert!(
        (SESSIONS..=2 * SESSIONS).contains(&refreshes),
        "{refreshes} Cognito refreshes for {SESSIONS} sessions on two layers"
    );
    for (index, (key, _)) in sessions.iter().enumerate() {
        let stored = store.load(key, now).await.unwrap().unwrap();
        let tokens = &handed_out[&index];
        assert_eq!(
            tokens.len(),
            1,
            "session {index}: one new token, whichever layer answered"
        );
        let token = tokens.iter().next().unwrap();
        assert_eq!(
            TokenHash::of(token),
            stored.token_hash,
            "session {index}: it is the stored one"
        );
        assert_eq!(stored.cognito.unwrap().access_token.expose(), token);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_all_racing_a_refresh_leaves_no_usable_session() {
    let store = Arc::new(
        common::dynamo::fresh_store(&common::dynamodb_local_url(), Duration::from_secs(5)).await,
    );
    let pool = Pool::new().await;
    let manager = pool.manager(store.clone(), pool.config());
    let app = app(&manager);
    let now = epoch(&std::time::SystemTime::now);
    for round in 0..5 {
        let (username, password) = pool.user().await;
        let mut due = Vec::new();
        for _ in 0..3 {
            let session = logged_in(&manager, &username, &password).await;
            due.push(age(&*store, session.user.session_key(), now + 60).await);
        }
        let mut requests = Vec::new();
        for token in due.iter().cycle().take(12) {
            let (app, token) = (app.clone(), token.clone());
            requests.push(tokio::spawn(async move {
                call(&app, &token, Via::Cookie).await
            }));
        }
        // Staggered a little differently each round, so the delete lands before, during and
        // after the refreshes.
        tokio::time::sleep(Duration::from_millis(round * 15)).await;
        manager.delete_user(&username).await.unwrap();
        let mut seen = due.clone();
        for request in requests {
            let reply = request.await.unwrap();
            assert!(
                reply.status == StatusCode::OK || reply.status == StatusCode::UNAUTHORIZED,
                "round {round}: {reply:?}"
            );
            seen.extend(reply.new_token());
        }
        // Whatever won, after both no token of the user works: not the old ones, not a
        // refreshed one written back after the delete.
        for token in &seen {
            let reply = call(&app, token, Via::Bearer).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "round {round}: a token survived"
            );
        }
    }
}
