//! Outages and faults against the local emulators: every request gets a quick 503 with
//! `Retry-After`, nothing is deleted, no cookie removed, and the same tokens work afterwards.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use cognito_session::store::{CognitoTokens, MemoryStore, SessionRecord, SessionStore, TokenHash};
use cognito_session::{SessionConfig, SessionError};
use common::cognito::{
    Pool, Via, age, app, call, claims_of, epoch, logged_in, rsa_key, sign_with, stranger_key,
};
use common::private::Private;
use common::proxy::{Fault, FaultProxy};
use http::StatusCode;
use http::header::RETRY_AFTER;
use serde_json::{Value, json};

/// Asserts a reply is the outage answer: 503, Retry-After, no cookie touched.
fn assert_outage(reply: &common::cognito::Reply, took: Duration, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {:?}",
        reply.body
    );
    assert!(
        reply.headers.contains_key(RETRY_AFTER),
        "{what}: Retry-After"
    );
    assert!(
        reply.set_cookies().is_empty(),
        "{what}: no cookie removed or set"
    );
    assert!(
        took < Duration::from_secs(8),
        "{what}: answered in {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_down_mid_run_is_503_and_the_sessions_survive() {
    let dynamodb = Private::dynamodb_local().await;
    let store = Arc::new(common::dynamo::fresh_store(&dynamodb.url, Duration::from_secs(1)).await);
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let manager = pool.manager(store.clone(), pool.config());
    let app = app(&manager);

    let cognito = logged_in(&manager, &username, &password).await;
    let opaque = manager.create("opaque-user").await.unwrap();
    let sessions = [
        (
            cognito.token.expose().to_owned(),
            cognito.user.session_key().to_owned(),
        ),
        (
            opaque.token.expose().to_owned(),
            opaque.user.session_key().to_owned(),
        ),
    ];
    let before: Vec<SessionRecord> = {
        let mut records = Vec::new();
        for (_, key) in &sessions {
            records.push(store.load(key, 0).await.unwrap().unwrap());
        }
        records
    };
    for (token, _) in &sessions {
        assert_eq!(call(&app, token, Via::Bearer).await.status, StatusCode::OK);
    }

    dynamodb.pause();
    for (token, _) in &sessions {
        for via in [Via::Bearer, Via::Cookie] {
            let started = Instant::now();
            let reply = call(&app, token, via).await;
            assert_outage(&reply, started.elapsed(), &format!("{via:?}"));
        }
    }
    assert!(matches!(
        manager.create("during").await,
        Err(SessionError::Store(_))
    ));
    dynamodb.resume();

    for ((token, key), before) in sessions.iter().zip(&before) {
        for via in [Via::Bearer, Via::Cookie] {
            assert_eq!(
                call(&app, token, via).await.status,
                StatusCode::OK,
                "{via:?} after"
            );
        }
        assert_eq!(
            &store.load(key, 0).await.unwrap().unwrap(),
            before,
            "unchanged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_down_mid_run_fails_log_in_but_not_live_sessions() {
    let moto = Private::moto().await;
    let pool = Pool::create(&moto.url, false).await;
    let (username, password) = pool.user().await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    let app = app(&manager);
    let session = logged_in(&manager, &username, &password).await;
    let token = session.token.expose().to_owned();
    assert_eq!(call(&app, &token, Via::Cookie).await.status, StatusCode::OK);

    moto.pause();
    let started = Instant::now();
    let login = manager.login(&username, &password).await;
    assert!(
        matches!(login, Err(SessionError::Unavailable(_))),
        "{login:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    // A verified token that isn't due for refresh needs neither Cognito nor its keys.
    let reply = call(&app, &token, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK);
    moto.resume();
    assert!(manager.login(&username, &password).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_or_5xx_during_refresh_is_503_and_the_next_request_retries() {
    let moto_url = common::moto_url();
    for fault in [Fault::Throttle, Fault::ServerError] {
        let proxy = FaultProxy::start(moto_url.clone()).await;
        let pool = Pool::create(&proxy.url, true).await;
        let (username, password) = pool.user().await;
        let store = Arc::new(MemoryStore::new());
        let manager = pool.manager(store.clone(), pool.config());
        let app = app(&manager);
        let session = logged_in(&manager, &username, &password).await;
        let key = session.user.session_key().to_owned();
        // An expired token: it can't be served without a refresh.
        let now = epoch(&std::time::SystemTime::now);
        let token = age(&*store, &key, now - 60).await;
        let before = store.load(&key, 0).await.unwrap().unwrap();

        proxy.fail("InitiateAuth", fault);
        let started = Instant::now();
        let reply = call(&app, &token, Via::Cookie).await;
        assert_outage(&reply, started.elapsed(), &format!("{fault:?}"));
        let during = store.load(&key, 0).await.unwrap().unwrap();
        assert_eq!(during, before, "{fault:?}: refresh token and record kept");
        let refreshes = pool.calls.get("InitiateAuth");

        proxy.heal();
        let reply = call(&app, &token, Via::Cookie).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{fault:?}: retried once Cognito is back"
        );
        assert!(reply.new_token().is_some(), "{fault:?}: refreshed");
        assert_eq!(pool.calls.get("InitiateAuth"), refreshes + 1);
        let after = store.load(&key, 0).await.unwrap().unwrap();
        assert_eq!(
            after.cognito.unwrap().refresh_token,
            before.cognito.unwrap().refresh_token,
            "{fault:?}: the same refresh token did the refresh"
        );
    }
}

/// A JWKS endpoint the test controls: which keys it serves, and whether it answers at all.
struct Keys {
    url: String,
    served: Arc<Mutex<Option<Vec<Value>>>>,
}

impl Keys {
    async fn start() -> Self {
        let served: Arc<Mutex<Option<Vec<Value>>>> = Arc::default();
        let state = served.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let keys = state.lock().unwrap().clone();
                async move {
                    match keys {
                        Some(keys) => Ok(Json(json!({ "keys": keys }))),
                        None => Err(StatusCode::SERVICE_UNAVAILABLE),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, served }
    }

    fn serve(&self, keys: Option<Vec<Value>>) {
        *self.served.lock().unwrap() = keys;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_unreachable_at_start_and_during_a_rotation_are_503_never_401() {
    let keys = Keys::start().await;
    let pool = Pool::new().await;
    let settings = pool.settings().with_jwks_url(keys.url.clone());
    let store = Arc::new(MemoryStore::new());
    let manager = pool.manager_with(
        store.clone(),
        SessionConfig::default(),
        settings
            .clone()
            .with_jwks_cooldown(Duration::ZERO)
            .with_jwks_failure_cooldown(Duration::ZERO),
    );
    let app = app(&manager);
    let now = epoch(&std::time::SystemTime::now);
    // A session whose token is signed by `signing` under `kid`, as Cognito would issue it.
    let session = |signing: &jsonwebtoken::EncodingKey, kid: &str, jti: &str| {
        let claims = json!({
            "sub": "sub-1", "username": "rotated", "client_id": settings.client_id(),
            "token_use": "access", "iss": settings.issuer(), "iat": now, "exp": now + 3600,
            "jti": jti, "origin_jti": jti, "scope": "aws.cognito.signin.user.admin",
        });
        sign_with(&claims, signing, kid)
    };
    let store_session = |token: String| {
        let store = store.clone();
        async move {
            let claims = claims_of(&token);
            let record = SessionRecord {
                sub: Some("sub-1".into()),
                cognito: Some(CognitoTokens {
                    access_token: token.clone().into(),
                    refresh_token: "unused".to_owned().into(),
                    access_expires_at: now + 3600,
                }),
                ..SessionRecord::new(
                    claims["origin_jti"].as_str().unwrap(),
                    "rotated",
                    TokenHash::of(&token),
                    now,
                    now + 86_400,
                )
            };
            store.create(&record, now).await.unwrap();
            token
        }
    };
    let (old_key, old_jwk) = rsa_key("old");
    let (new_key, new_jwk) = rsa_key("new");
    let first = store_session(session(&old_key, "old", "jti-1")).await;

    // Down from the start: the layer can't tell a good token from a forged one.
    keys.serve(None);
    assert_outage(
        &call(&app, &first, Via::Cookie).await,
        Duration::ZERO,
        "keys down at start",
    );
    keys.serve(Some(vec![old_jwk.clone()]));
    assert_eq!(call(&app, &first, Via::Cookie).await.status, StatusCode::OK);

    // The pool rotates to a new key while the endpoint is down: tokens under the new kid
    // are 503 until it is back, and tokens under the cached key keep working.
    let second = store_session(session(&new_key, "new", "jti-2")).await;
    keys.serve(None);
    assert_outage(
        &call(&app, &second, Via::Cookie).await,
        Duration::ZERO,
        "new kid, keys down",
    );
    assert_eq!(call(&app, &first, Via::Cookie).await.status, StatusCode::OK);
    keys.serve(Some(vec![old_jwk, new_jwk]));
    assert_eq!(
        call(&app, &second, Via::Cookie).await.status,
        StatusCode::OK
    );

    // A kid the endpoint really doesn't know is a bad token, not an outage.
    let stranger = stranger_key();
    let forged = session(&stranger, "stranger", "jti-3");
    let reply = call(&app, &forged, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
