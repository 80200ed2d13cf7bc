//! Cognito sessions end to end: the real AWS SDK against moto (a user pool per test), the
//! layer driven through an axum router, sessions in `MemoryStore`.
//!
//! Tokens due for refresh are made by re-signing a session's token with moto's key and an
//! earlier `exp` (see `common::cognito::age`), so no test waits for an hour; one test does
//! wait a few seconds, to see the plain path with nothing forged.
#![cfg(all(feature = "cognito", feature = "axum"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_session::SessionError;
use cognito_session::cognito::{CognitoSettings, KeyClaim};
use cognito_session::store::CachedStore;
use cognito_session::store::intercept::{Call, Intercepted, Interceptor};
use cognito_session::store::{MemoryStore, PreviousToken, SessionStore, TokenHash};
use common::TestClock;
use common::cognito::{
    Pool, Rigged, RiggedUpdates, Via, age, app, call, claims_of, epoch, forge, logged_in,
    sign_with, stranger_key, with,
};
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// A pool, a user, a manager on a memory store with a test clock, and a log-in.
struct Setup {
    pool: Pool,
    username: String,
    store: Arc<MemoryStore>,
    clock: TestClock,
    manager: cognito_session::SessionManager,
    token: String,
    key: String,
}

impl Setup {
    async fn new() -> Self {
        Self::with_pool(Pool::new().await, |config| config, |settings| settings).await
    }

    async fn with_pool(
        pool: Pool,
        config: impl FnOnce(cognito_session::SessionConfig) -> cognito_session::SessionConfig,
        settings: impl FnOnce(CognitoSettings) -> CognitoSettings,
    ) -> Self {
        let (username, password) = pool.user().await;
        let store = Arc::new(MemoryStore::new());
        let clock = TestClock::new();
        let manager = pool.manager_with(
            store.clone(),
            config(pool.config().with_clock(clock.get())),
            settings(pool.settings()),
        );
        let session = manager
            .login(&username, &password)
            .await
            .expect("log-in")
            .into_session()
            .expect("a session");
        let token = session.token.expose().to_owned();
        let key = session.user.session_key().to_owned();
        Self {
            pool,
            username,
            store,
            clock,
            manager,
            token,
            key,
        }
    }

    fn now(&self) -> u64 {
        epoch(&self.clock.get())
    }

    async fn record(&self) -> Option<cognito_session::store::SessionRecord> {
        self.store.load(&self.key, self.now()).await.unwrap()
    }
}

#[tokio::test]
async fn log_in_then_requests_carry_the_user() {
    let s = Setup::new().await;
    let claims = claims_of(&s.token);
    assert_eq!(
        s.key,
        claims["origin_jti"].as_str().unwrap(),
        "one session per log-in"
    );

    let record = s.record().await.expect("the session is stored");
    assert_eq!(record.username, s.username);
    assert_eq!(record.sub.as_deref(), claims["sub"].as_str());
    assert_eq!(record.token_hash, TokenHash::of(&s.token));
    assert_eq!(record.version, 0);
    let tokens = record.cognito.as_ref().unwrap();
    assert_eq!(tokens.access_token.expose(), s.token);
    assert_eq!(tokens.access_expires_at, claims["exp"].as_u64().unwrap());
    assert!(!tokens.refresh_token.expose().is_empty());
    assert_eq!(record.expires_at, s.now() + 7 * 24 * 3600);

    let app = app(&s.manager);
    for via in [Via::Bearer, Via::Cookie] {
        let reply = call(&app, &s.token, via).await;
        assert_eq!(reply.status, StatusCode::OK, "{via:?}: {reply:?}");
        assert_eq!(reply.username(), s.username);
        assert_eq!(reply.body["sub"], claims["sub"]);
        assert_eq!(reply.body["key"], s.key.as_str());
        assert!(
            reply.set_cookies().is_empty(),
            "nothing changed, no Set-Cookie"
        );
    }
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        1,
        "requests don't call Cognito"
    );

    // Secrets stay out of Debug output.
    let debug = format!("{record:?} {:?}", s.manager);
    assert!(!debug.contains(&s.token), "{debug}");
    assert!(!debug.contains(tokens.refresh_token.expose()), "{debug}");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_one_answer() {
    let pool = Pool::new().await;
    let (username, _) = pool.user().await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    for (user, password) in [
        (username.as_str(), "wrong-Password-1"),
        ("nobody", "Whatever-1"),
    ] {
        match manager.login(user, password).await {
            Err(SessionError::InvalidCredentials) => {}
            other => panic!("{user}: expected InvalidCredentials, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_due_token_is_refreshed_and_the_old_one_has_a_grace_period() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    let before = s.record().await.unwrap();
    // A minute and a half left: inside the default two-minute refresh window.
    let old = age(&*s.store, &s.key, s.now() + 90).await;

    let reply = call(&app, &old, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.username(),
        s.username,
        "the request goes on as the user"
    );
    let new = reply
        .new_token()
        .expect("the refreshed token in Set-Cookie");
    assert_ne!(new, old);
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        2,
        "log-in and one refresh"
    );

    let record = s.record().await.unwrap();
    let now = s.now();
    assert_eq!(record.version, before.version + 2, "aged, then refreshed");
    assert_eq!(record.token_hash, TokenHash::of(&new));
    assert_eq!(
        record.previous.as_deref(),
        Some(&PreviousToken {
            hash: TokenHash::of(&old),
            valid_until: now + 30
        })
    );
    assert_eq!(record.refreshed_at, now);
    assert_eq!(
        record.expires_at, before.expires_at,
        "the session's life is not extended"
    );
    let tokens = record.cognito.as_ref().unwrap();
    assert_eq!(tokens.access_token.expose(), new);
    assert_eq!(
        tokens.access_expires_at,
        claims_of(&new)["exp"].as_u64().unwrap()
    );
    assert_eq!(
        tokens.refresh_token,
        before.cognito.as_ref().unwrap().refresh_token,
        "Cognito keeps the refresh token"
    );
    assert_eq!(claims_of(&new)["origin_jti"], s.key.as_str());

    let reply = call(&app, &new, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.set_cookies().is_empty(), "the new token is not due");

    // A request that left with the old token just before the refresh still works, and is
    // told the current token.
    let reply = call(&app, &old, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.new_token().as_deref(), Some(new.as_str()));
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        2,
        "adopting costs no refresh"
    );

    s.clock.advance(Duration::from_secs(31));
    let reply = call(&app, &old, Via::Cookie).await;
    reply.assert_invalid("the old token after its grace period");
    assert!(reply.removes_cookie());
    assert_eq!(call(&app, &new, Via::Bearer).await.status, StatusCode::OK);
    assert!(
        s.record().await.is_some(),
        "a stale token does not end the session"
    );
}

#[tokio::test]
async fn a_token_is_refreshed_in_real_time_too() {
    // Nothing forged: a window of 3597 s makes a fresh token due after 4 seconds.
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let settings = pool
        .settings()
        .with_refresh_before(Duration::from_secs(3597));
    let manager = pool.manager_with(MemoryStore::new(), pool.config(), settings);
    let token = logged_in(&manager, &username, &password).await.token;
    let app = app(&manager);
    let reply = call(&app, token.expose(), Via::Bearer).await;
    assert!(reply.new_token().is_none(), "not due yet");

    tokio::time::sleep(Duration::from_secs(4)).await;
    let reply = call(&app, token.expose(), Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK);
    let new = reply.new_token().expect("refreshed");
    let reply = call(&app, &new, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.new_token().is_none());
    assert_eq!(pool.calls.get("InitiateAuth"), 2);
}

#[tokio::test]
async fn an_expired_token_of_a_live_session_is_refreshed_but_not_one_older_than_any_session() {
    let s = Setup::with_pool(
        Pool::new().await,
        |c| c.with_lifetime(Duration::from_secs(7200)),
        |s| s,
    )
    .await;
    let app = app(&s.manager);

    let expired = age(&*s.store, &s.key, s.now() - 600).await;
    let reply = call(&app, &expired, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(reply.new_token().is_some());

    // The session is live and holds this token, but the token expired longer ago than a
    // session lives: it can't be one this session was given.
    let ancient = age(&*s.store, &s.key, s.now() - 7201).await;
    let calls = s.pool.calls.get("InitiateAuth");
    call(&app, &ancient, Via::Cookie)
        .await
        .assert_invalid("expired beyond the session's life");
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        calls,
        "no refresh attempted"
    );
}

#[tokio::test]
async fn a_refreshed_token_goes_back_the_way_the_old_one_came() {
    let s = Setup::new().await;
    let router = app(&s.manager);

    // Bearer: a header, and no cookie the client didn't ask for.
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let reply = call(&router, &due, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let new = reply
        .header_token()
        .expect("the new token in x-session-token");
    assert_eq!(
        reply.cookie_token(),
        None,
        "no Set-Cookie for a Bearer client"
    );
    assert_eq!(
        call(&router, &new, Via::Bearer).await.status,
        StatusCode::OK
    );

    // Cookie: Set-Cookie, and no header.
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let reply = call(&router, &due, Via::Cookie).await;
    assert!(reply.cookie_token().is_some(), "{reply:?}");
    assert_eq!(reply.header_token(), None);

    // Both for Bearer clients, when asked for.
    let both = s.pool.manager(
        s.store.clone(),
        s.pool
            .config()
            .with_clock(s.clock.get())
            .with_bearer_cookie(true),
    );
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let reply = call(&app(&both), &due, Via::Bearer).await;
    assert!(
        reply.cookie_token().is_some() && reply.header_token().is_some(),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_token_expired_longer_ago_than_the_refresh_window_is_not_refreshed() {
    let s = Setup::with_pool(
        Pool::new().await,
        |c| c,
        |s| s.with_refresh_after_expiry(Duration::from_secs(3600)),
    )
    .await;
    let app = app(&s.manager);

    let recent = age(&*s.store, &s.key, s.now() - 3500).await;
    let reply = call(&app, &recent, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    // The session lives for days yet, but this token expired over an hour ago: a leaked
    // token everyone takes for dead must not mint fresh ones.
    let stale = age(&*s.store, &s.key, s.now() - 3601).await;
    let calls = s.pool.calls.get("InitiateAuth");
    call(&app, &stale, Via::Bearer)
        .await
        .assert_invalid("expired beyond the refresh window");
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        calls,
        "no refresh attempted"
    );
}

/// Another instance's refresh of the session lands the moment before this instance, told by
/// Cognito that its refresh token is over, ends the session.
struct RefreshedElsewhereFirst {
    table: Arc<MemoryStore>,
}

#[async_trait::async_trait]
impl Interceptor for RefreshedElsewhereFirst {
    async fn before(&self, call: Call<'_>) -> Result<(), cognito_session::store::StoreError> {
        if let Call::DeleteVersion { key, version } = call {
            let mut record = self.table.load(key, 0).await?.expect("the session");
            assert_eq!(record.version, version);
            let now = record.last_seen_at;
            record.previous = Some(Box::new(PreviousToken {
                hash: record.token_hash,
                valid_until: now + 3600,
            }));
            record.token_hash = TokenHash::of("the other instance's token");
            if let Some(tokens) = record.cognito.as_mut() {
                tokens.access_token = "the other instance's token".to_owned().into();
            }
            record.version += 1;
            self.table.update(&record, version).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_refused_refresh_does_not_end_a_session_another_instance_just_refreshed() {
    let s = Setup::new().await;
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let racing = Intercepted::new(
        s.store.clone(),
        RefreshedElsewhereFirst {
            table: s.store.clone(),
        },
    );
    let manager = s
        .pool
        .manager(racing, s.pool.config().with_clock(s.clock.get()));
    // Cognito refuses this instance's refresh token (a global sign-out, say, that the other
    // instance's refresh raced).
    s.pool
        .client
        .admin_user_global_sign_out()
        .user_pool_id(&s.pool.pool_id)
        .username(&s.username)
        .send()
        .await
        .unwrap();

    let reply = call(&app(&manager), &due, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.new_token().as_deref(),
        Some("the other instance's token"),
        "adopted"
    );
    let record = s
        .record()
        .await
        .expect("the other instance's session is kept");
    assert_eq!(
        record.token_hash,
        TokenHash::of("the other instance's token")
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_the_session() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    s.pool
        .client
        .admin_user_global_sign_out()
        .user_pool_id(&s.pool.pool_id)
        .username(&s.username)
        .send()
        .await
        .unwrap();

    let reply = call(&app, &due, Via::Cookie).await;
    reply.assert_invalid("refresh refused by Cognito");
    assert!(reply.removes_cookie(), "{reply:?}");
    assert!(s.record().await.is_none(), "the session is deleted");
    assert!(s.store.is_empty());
}

/// The refresh token stored in session `key` of `store`.
async fn refresh_token_of(store: &MemoryStore, key: &str) -> String {
    let record = store.load(key, 0).await.unwrap().expect("the session");
    record.cognito.unwrap().refresh_token.expose().to_owned()
}

#[tokio::test]
async fn a_refresh_token_from_another_session_ends_the_session_at_its_first_refresh() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    // Bob's refresh token in Alice's row, written through the store API (the lead's row
    // MAC keeps a table writer from doing this on DynamoDB; `create_from_tokens` no longer
    // does it either).
    let (bob, password) = s.pool.user().await;
    let elsewhere = Arc::new(MemoryStore::new());
    let bobs = logged_in(
        &s.pool.manager(elsewhere.clone(), s.pool.config()),
        &bob,
        &password,
    )
    .await;
    let bobs_refresh = refresh_token_of(&elsewhere, bobs.user.session_key()).await;
    let mut record = s.record().await.unwrap();
    record.cognito.as_mut().unwrap().refresh_token = bobs_refresh.into();
    record.version += 1;
    s.store.update(&record, record.version - 1).await.unwrap();
    let expired = age(&*s.store, &s.key, s.now() - 10).await;
    let before = s.pool.calls.get("InitiateAuth");

    let reply = call(&app, &expired, Via::Cookie).await;
    reply.assert_invalid("a refresh that returned another user's token");
    assert!(reply.removes_cookie(), "{reply:?}");
    assert!(s.record().await.is_none(), "the session is deleted");
    call(&app, &expired, Via::Cookie)
        .await
        .assert_invalid("the ended session");
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        before + 1,
        "one Cognito call, not one per request"
    );
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    let real = claims_of(&s.token);
    let now = s.now();
    let (header, rest) = s.token.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());

    // A real ID token of the same log-in flow.
    let id_token = s
        .pool
        .client
        .initiate_auth()
        .client_id(&s.pool.client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", &s.username)
        .auth_parameters("PASSWORD", "Correct-Horse-9-Battery")
        .send()
        .await
        .unwrap()
        .authentication_result()
        .unwrap()
        .id_token()
        .unwrap()
        .to_owned();
    let other_client = s.pool.other_client().await;
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("dummy".into());
    // The JWKS modulus, as an attacker would take it for an HMAC secret.
    let jwks: serde_json::Value = reqwest::get(s.pool.settings().jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = jwks["keys"][0]["n"].as_str().unwrap().to_owned();

    let cases = [
        (
            "signed by another key",
            sign_with(&real, &stranger_key(), "dummy"),
        ),
        (
            "altered payload",
            format!(
                "{header}.{}.{signature}",
                b64(&with(&real, json!({ "username": "admin" })))
            ),
        ),
        (
            "another app client",
            forge(&with(&real, json!({ "client_id": other_client }))),
        ),
        ("an ID token", id_token),
        (
            "token_use id",
            forge(&with(&real, json!({ "token_use": "id" }))),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "kid": "dummy" })),
                b64(&real)
            ),
        ),
        (
            "HS256 with the public key",
            jsonwebtoken::encode(&hs256, &real, &EncodingKey::from_secret(public.as_bytes()))
                .unwrap(),
        ),
        (
            "unknown kid",
            sign_with(&real, &stranger_key(), "rotated-in"),
        ),
        (
            "another issuer",
            forge(&with(
                &real,
                json!({ "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{}x", s.pool.pool_id) }),
            )),
        ),
        (
            "issued in the future",
            forge(&with(
                &real,
                json!({ "iat": now + 3600, "exp": now + 7200 }),
            )),
        ),
        (
            "a session that never was",
            forge(&with(
                &real,
                json!({ "origin_jti": "00000000-0000-4000-8000-000000000000" }),
            )),
        ),
        (
            "another user's claims",
            forge(&with(&real, json!({ "sub": "someone-else" }))),
        ),
        ("garbage", "a.b.c".to_owned()),
        (
            "huge",
            format!("{header}.{}.{signature}", "A".repeat(20_000)),
        ),
    ];
    for (what, token) in &cases {
        for via in [Via::Bearer, Via::Cookie] {
            let reply = call(&app, token, via).await;
            reply.assert_invalid(what);
            assert_eq!(reply.removes_cookie(), via == Via::Cookie, "{what}");
        }
    }
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        2,
        "log-in and the ID token, no refresh"
    );
    assert!(
        s.record().await.is_some(),
        "no forged token ends the real session"
    );
    assert_eq!(
        call(&app, &s.token, Via::Bearer).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unreachable_keys_are_503_not_401() {
    let pool = Pool::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let settings = pool
        .settings()
        .with_jwks_url(format!("http://{closed}/jwks.json"));
    let config = cognito_session::SessionConfig::default();
    let manager = pool.manager_with(MemoryStore::new(), config, settings);
    let now = epoch(&std::time::SystemTime::now);
    let token = forge(&json!({
        "sub": "s", "username": "u", "client_id": pool.client_id, "token_use": "access",
        "origin_jti": "o", "iss": pool.settings().issuer(), "iat": now, "exp": now + 3600,
    }));
    let app = app(&manager);
    for via in [Via::Bearer, Via::Cookie] {
        call(&app, &token, via)
            .await
            .assert_unavailable("keys unreachable");
    }

    let (username, password) = pool.user().await;
    match manager.login(&username, &password).await {
        Err(SessionError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_share_one_refresh() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (app, due) = (app.clone(), due.clone());
            tokio::spawn(async move { call(&app, &due, Via::Cookie).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        tokens.push(
            reply
                .new_token()
                .expect("every request learns the new token"),
        );
    }
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        2,
        "log-in and exactly one refresh"
    );
    let stored = s.record().await.unwrap();
    assert!(tokens.iter().all(|t| TokenHash::of(t) == stored.token_hash));
}

#[tokio::test]
async fn clients_that_hang_up_mid_refresh_cause_one_cognito_call_not_one_each() {
    let s = Setup::new().await;
    // The refreshed tokens take 500 ms to write: every request below is dropped by its
    // client while its refresh is under way.
    let slow = Rigged::new(
        s.store.clone(),
        RiggedUpdates {
            delay: Duration::from_millis(500),
            ..RiggedUpdates::default()
        },
    );
    let manager = s
        .pool
        .manager(slow, s.pool.config().with_clock(s.clock.get()));
    let router = app(&manager);
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let calls = s.pool.calls.get("InitiateAuth");
    for _ in 0..10 {
        let request = call(&router, &due, Via::Bearer);
        match tokio::time::timeout(Duration::from_millis(100), request).await {
            // Hung up on.
            Err(_) => {}
            // Not due to Cognito again: the token has a minute left, and serves meanwhile.
            Ok(reply) => assert_eq!(reply.status, StatusCode::OK, "{reply:?}"),
        }
    }
    assert_eq!(
        s.pool.calls.get("InitiateAuth") - calls,
        1,
        "one refresh for ten abandoned requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sharing_a_store_agree_on_one_token() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    // Writes take 300 ms, so both "processes" read the session before either writes: the
    // race happens for sure, and the store's conditional write must settle it.
    let store = Rigged::new(
        Arc::default(),
        RiggedUpdates {
            delay: Duration::from_millis(300),
            ..RiggedUpdates::default()
        },
    );
    let one = pool.manager(store.clone(), pool.config());
    let two = pool.manager(store.clone(), pool.config());
    let session = logged_in(&one, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let now = epoch(&std::time::SystemTime::now);
    let due = age(store.inner(), &key, now + 60).await;

    let requests: Vec<_> = [&one, &two]
        .into_iter()
        .flat_map(|manager| std::iter::repeat_n(app(manager), 10))
        .map(|app| {
            let due = due.clone();
            tokio::spawn(async move { call(&app, &due, Via::Cookie).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        tokens.push(reply.new_token().expect("a new token"));
    }
    let refreshes = pool.calls.get("InitiateAuth") - 1;
    assert!(
        (1..=2).contains(&refreshes),
        "one refresh per process at most, got {refreshes}"
    );
    let stored = store.inner().load(&key, now).await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "one write won");
    for token in &tokens {
        assert_eq!(
            TokenHash::of(token),
            stored.token_hash,
            "the loser adopted the winner's token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_down_during_a_refresh_is_503_and_keeps_the_session() {
    let moto = common::private::Private::moto().await;
    let pool = Pool::create(&moto.url, false).await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let manager = cognito_session::SessionManager::with_cognito(
        store.clone(),
        pool.config(),
        pool.settings().with_call_timeout(Duration::from_secs(1)),
        pool.client.clone(),
    )
    .unwrap();
    let session = logged_in(&manager, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let app = app(&manager);
    let now = || epoch(&std::time::SystemTime::now);

    moto.pause();
    let expired = age(&*store, &key, now() - 60).await;
    let before = store.load(&key, now()).await.unwrap().unwrap();
    let started = Instant::now();
    let reply = call(&app, &expired, Via::Cookie).await;
    reply.assert_unavailable("Cognito not answering");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the call timeout"
    );
    assert_eq!(
        store.load(&key, now()).await.unwrap(),
        Some(before),
        "nothing changed"
    );

    // A token that is due but still valid serves while Cognito is away.
    let due = age(&*store, &key, now() + 120).await;
    let reply = call(&app, &due, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(reply.set_cookies().is_empty());

    match manager.login(&username, &password).await {
        Err(SessionError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }

    moto.resume();
    let reply = call(&app, &due, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(
        reply.new_token().is_some(),
        "refreshed once Cognito is back"
    );
}

#[tokio::test]
async fn a_failed_store_write_after_cognito_answered_keeps_the_session_usable() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let store = Rigged::default();
    let manager = pool.manager(store.clone(), pool.config());
    let key = logged_in(&manager, &username, &password)
        .await
        .user
        .session_key()
        .to_owned();
    let app = app(&manager);
    let now = || epoch(&std::time::SystemTime::now);

    store.interceptor().fail.store(true, Ordering::SeqCst);
    let due = age(store.inner(), &key, now() + 120).await;
    let reply = call(&app, &due, Via::Cookie).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the still-valid token serves: {reply:?}"
    );
    assert!(
        reply.set_cookies().is_empty(),
        "a token that was not stored is not handed out"
    );
    let expired = age(store.inner(), &key, now() - 60).await;
    call(&app, &expired, Via::Cookie)
        .await
        .assert_unavailable("store down after refresh");
    assert_eq!(pool.calls.get("InitiateAuth"), 3, "log-in, two refreshes");
    let record = store
        .inner()
        .load(&key, now())
        .await
        .unwrap()
        .expect("the session is kept");
    assert_eq!(record.token_hash, TokenHash::of(&expired), "and unchanged");

    store.interceptor().fail.store(false, Ordering::SeqCst);
    let reply = call(&app, &expired, Via::Cookie).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the stored refresh token still works: {reply:?}"
    );
    assert!(reply.new_token().is_some());
}

#[tokio::test]
async fn a_client_with_a_secret_sends_secret_hash() {
    let pool = Pool::with_secret().await;
    assert!(pool.client_secret.is_some());
    let s = Setup::with_pool(pool, |c| c, |s| s).await;
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    let reply = call(&app(&s.manager), &due, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(
        reply.new_token().is_some(),
        "moto checked SECRET_HASH on the refresh"
    );

    // With the wrong secret the refresh is refused (which ends the session): SECRET_HASH
    // is really checked, so the test above means something.
    let settings = s
        .pool
        .settings()
        .with_client_secret("not-the-secret".to_owned().into());
    let config = cognito_session::SessionConfig::default();
    let wrong = s.pool.manager_with(s.store.clone(), config, settings);
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    call(&app(&wrong), &due, Via::Cookie)
        .await
        .assert_invalid("wrong SECRET_HASH");
}

#[tokio::test]
async fn keyed_by_sub_a_second_log_in_replaces_the_first() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let settings = pool.settings().with_key_claim(KeyClaim::Sub);
    let config = cognito_session::SessionConfig::default();
    let manager = pool.manager_with(store.clone(), config, settings);
    let first = logged_in(&manager, &username, &password).await;
    let second = logged_in(&manager, &username, &password).await;
    assert_eq!(
        first.user.session_key(),
        claims_of(first.token.expose())["sub"].as_str().unwrap()
    );
    assert_eq!(first.user.session_key(), second.user.session_key());
    assert_eq!(store.len(), 1);

    let app = app(&manager);
    call(&app, first.token.expose(), Via::Bearer)
        .await
        .assert_invalid("the replaced log-in");
    assert_eq!(
        call(&app, second.token.expose(), Via::Bearer).await.status,
        StatusCode::OK
    );
    assert_eq!(
        pool.calls.get("RevokeToken"),
        1,
        "the replaced refresh token is revoked"
    );
}

/// Tokens a client got from a log-in of `username` made outside `manager` (its own store):
/// the access token and the refresh token.
async fn tokens_elsewhere(pool: &Pool, username: &str, password: &str) -> (String, String) {
    let store = Arc::new(MemoryStore::new());
    let session = logged_in(
        &pool.manager(store.clone(), pool.config()),
        username,
        password,
    )
    .await;
    let refresh = refresh_token_of(&store, session.user.session_key()).await;
    (session.token.expose().to_owned(), refresh)
}

#[tokio::test]
async fn a_logged_out_access_token_with_any_refresh_token_makes_no_session() {
    let s = Setup::new().await;
    let app = app(&s.manager);
    let refresh = refresh_token_of(&s.store, &s.key).await;
    assert!(s.manager.delete(&s.key).await.unwrap(), "logged out");

    for junk in ["anything", "eyJhbGciOiJub25lIn0.e30.", refresh.as_str()] {
        let logins_before = s.pool.calls.get("InitiateAuth");
        match s.manager.create_from_tokens(&s.token, junk, None).await {
            Err(SessionError::InvalidTokens) => assert!(s.store.is_empty()),
            // moto keeps a refresh token alive after the log-out (its RevokeToken answers
            // 500; Cognito's ends it): that refresh works, and its new token is the one
            // stored and handed out.
            Ok(session) if junk == refresh => {
                assert_ne!(session.token.expose(), s.token);
                let reply = call(&app, session.token.expose(), Via::Bearer).await;
                assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            }
            other => panic!("a made-up refresh token: expected InvalidTokens, got {other:?}"),
        }
        call(&app, &s.token, Via::Bearer)
            .await
            .assert_invalid("the logged-out token stays dead");
        assert_eq!(
            s.pool.calls.get("InitiateAuth"),
            logins_before + 1,
            "the refresh token is proven by one refresh"
        );
    }
}

#[tokio::test]
async fn keyed_by_sub_an_access_token_alone_cannot_replace_the_users_session() {
    let pool = Pool::new().await;
    let (alice, password) = pool.user().await;
    let (bob, bobs_password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let settings = pool.settings().with_key_claim(KeyClaim::Sub);
    let manager = pool.manager_with(store.clone(), pool.config(), settings);
    let session = logged_in(&manager, &alice, &password).await;
    let alices_refresh = refresh_token_of(&store, session.user.session_key()).await;
    // Someone who got hold of Alice's access token, with a made-up refresh token or their
    // own account's.
    let (_, bobs_refresh) = tokens_elsewhere(&pool, &bob, &bobs_password).await;
    for refresh in ["made-up", bobs_refresh.as_str()] {
        let made = manager
            .create_from_tokens(session.token.expose(), refresh, None)
            .await;
        assert!(matches!(made, Err(SessionError::InvalidTokens)), "{made:?}");
    }
    assert_eq!(store.len(), 1);
    assert_eq!(
        refresh_token_of(&store, session.user.session_key()).await,
        alices_refresh,
        "Alice's session is untouched"
    );
    let reply = call(&app(&manager), session.token.expose(), Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(pool.calls.get("RevokeToken"), 0);
}

#[tokio::test]
async fn a_refresh_token_of_another_log_in_is_refused_and_the_refreshed_tokens_are_stored() {
    let pool = Pool::new().await;
    let (alice, password) = pool.user().await;
    let (bob, bobs_password) = pool.user().await;
    let (laptop, laptops_refresh) = tokens_elsewhere(&pool, &alice, &password).await;
    let (_, phones_refresh) = tokens_elsewhere(&pool, &alice, &password).await;
    let (_, bobs_refresh) = tokens_elsewhere(&pool, &bob, &bobs_password).await;
    let store = Arc::new(MemoryStore::new());
    let manager = pool.manager(store.clone(), pool.config());

    // Another user's; the same user's other log-in (caught by `origin_jti`, which moto,
    // like Cognito, keeps across refreshes).
    for (what, refresh) in [("Bob's", &bobs_refresh), ("the phone's", &phones_refresh)] {
        let made = manager.create_from_tokens(&laptop, refresh, None).await;
        assert!(
            matches!(made, Err(SessionError::InvalidTokens)),
            "{what}: {made:?}"
        );
    }
    assert!(store.is_empty());

    let session = manager
        .create_from_tokens(&laptop, &laptops_refresh, None)
        .await
        .unwrap();
    assert_ne!(
        session.token.expose(),
        laptop,
        "the refreshed token is handed out"
    );
    assert_eq!(
        session.user.session_key(),
        claims_of(&laptop)["origin_jti"].as_str().unwrap(),
        "the same log-in"
    );
    let record = store
        .load(session.user.session_key(), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.token_hash, TokenHash::of(session.token.expose()));
    assert_eq!(
        record.cognito.unwrap().access_token.expose(),
        session.token.expose()
    );
    let app = app(&manager);
    assert_eq!(
        call(&app, session.token.expose(), Via::Bearer).await.status,
        StatusCode::OK
    );
    call(&app, &laptop, Via::Bearer)
        .await
        .assert_invalid("the token given is not the session's");
}

#[tokio::test]
async fn log_out_deletes_the_session_even_though_revoke_token_fails() {
    let s = Setup::new().await;
    // moto answers RevokeToken with a 500: the log-out must not depend on it.
    assert!(s.manager.delete(&s.key).await.unwrap());
    assert_eq!(s.pool.calls.get("RevokeToken"), 1);
    assert!(s.record().await.is_none());
    call(&app(&s.manager), &s.token, Via::Cookie)
        .await
        .assert_invalid("logged out");
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_optionally_the_refresh_tokens() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let manager = cognito_session::SessionManager::with_cognito(
        store.clone(),
        pool.config(),
        pool.settings().with_global_sign_out(true),
        pool.client.clone(),
    )
    .unwrap();
    let laptop = logged_in(&manager, &username, &password).await;
    let phone = logged_in(&manager, &username, &password).await;
    assert_ne!(
        laptop.user.session_key(),
        phone.user.session_key(),
        "one session per log-in"
    );
    let refresh_token = store
        .load(phone.user.session_key(), 0)
        .await
        .unwrap()
        .unwrap()
        .cognito
        .unwrap()
        .refresh_token;

    assert_eq!(manager.sign_out_everywhere(&username).await.unwrap(), 2);
    assert!(store.is_empty());
    assert_eq!(pool.calls.get("AdminUserGlobalSignOut"), 1);
    let app = app(&manager);
    for token in [&laptop.token, &phone.token] {
        call(&app, token.expose(), Via::Bearer)
            .await
            .assert_invalid("signed out");
    }
    let refresh = pool
        .client
        .initiate_auth()
        .client_id(&pool.client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh_token.expose())
        .send()
        .await;
    assert!(refresh.is_err(), "the refresh tokens are revoked");

    // Off by default: only the sessions go.
    let plain = pool.manager(MemoryStore::new(), pool.config());
    logged_in(&plain, &username, &password).await;
    assert_eq!(plain.sign_out_everywhere(&username).await.unwrap(), 1);
    assert_eq!(pool.calls.get("AdminUserGlobalSignOut"), 1);
}

/// A stand-in for Cognito's `GetTokensFromRefreshToken`, which moto does not implement (it
/// answers 500): a local HTTP server speaking the operation's JSON protocol, rotating the
/// refresh token on each call the way a pool with refresh-token rotation does. Everything
/// else (pool, log-in, keys) is moto's.
#[derive(Clone)]
struct RotatingIdp {
    /// The claims of the session's tokens; new access tokens are these with a new exp.
    template: serde_json::Value,
    /// The refresh token that works now.
    current: Arc<std::sync::Mutex<String>>,
    /// The bodies of the requests received.
    seen: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl RotatingIdp {
    async fn start(template: serde_json::Value, refresh_token: &str) -> (Self, String) {
        use axum::response::IntoResponse;

        let idp = Self {
            template,
            current: Arc::new(std::sync::Mutex::new(refresh_token.to_owned())),
            seen: Arc::default(),
        };
        let state = idp.clone();
        let handler = move |headers: http::HeaderMap, body: axum::body::Bytes| {
            let idp = state.clone();
            async move {
                let json = |status: StatusCode, body: serde_json::Value| {
                    let content_type = [(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")];
                    (status, content_type, body.to_string()).into_response()
                };
                let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
                if target != Some("AWSCognitoIdentityProviderService.GetTokensFromRefreshToken") {
                    let error = json!({ "__type": "UnknownOperationException" });
                    return json(StatusCode::BAD_REQUEST, error);
                }
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                idp.seen.lock().unwrap().push(request.clone());
                let mut current = idp.current.lock().unwrap();
                if request["RefreshToken"] != current.as_str() {
                    let error = json!({ "__type": "NotAuthorizedException", "message": "Invalid Refresh Token" });
                    return json(StatusCode::BAD_REQUEST, error);
                }
                *current = common::unique("rotated");
                let now = epoch(&std::time::SystemTime::now);
                let access = forge(&with(
                    &idp.template,
                    json!({ "iat": now, "exp": now + 3600, "jti": common::unique("jti") }),
                ));
                let result = json!({ "AuthenticationResult": {
                    "AccessToken": access, "RefreshToken": *current, "ExpiresIn": 3600, "TokenType": "Bearer",
                }});
                json(StatusCode::OK, result)
            }
        };
        let app = axum::Router::new().route("/", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (idp, url)
    }

    fn current(&self) -> String {
        self.current.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn with_rotation_get_tokens_from_refresh_token_stores_the_new_refresh_token() {
    let pool = Pool::with_secret().await;
    let s = Setup::with_pool(pool, |c| c, |s| s).await;
    let first_refresh = s.record().await.unwrap().cognito.unwrap().refresh_token;
    let (idp, url) = RotatingIdp::start(claims_of(&s.token), first_refresh.expose()).await;
    let calls = common::cognito::Calls::default();
    let manager = cognito_session::SessionManager::with_cognito(
        s.store.clone(),
        s.pool.config().with_clock(s.clock.get()),
        s.pool.settings().with_refresh_token_rotation(true),
        common::cognito::sdk_client(&url, &calls),
    )
    .unwrap();
    let app = app(&manager);

    let mut refresh_tokens = vec![first_refresh.expose().to_owned()];
    for round in 0..2 {
        let due = age(&*s.store, &s.key, s.now() + 60).await;
        let reply = call(&app, &due, Via::Cookie).await;
        assert_eq!(reply.status, StatusCode::OK, "round {round}: {reply:?}");
        let new = reply.new_token().expect("refreshed");
        let record = s.record().await.unwrap();
        assert_eq!(record.token_hash, TokenHash::of(&new));
        let stored = record.cognito.unwrap().refresh_token;
        assert_eq!(
            stored.expose(),
            idp.current(),
            "round {round}: the rotated refresh token is kept"
        );
        refresh_tokens.push(stored.expose().to_owned());
    }
    assert_eq!(calls.get("GetTokensFromRefreshToken"), 2);
    assert_eq!(
        calls.get("InitiateAuth"),
        0,
        "rotation pools are refreshed the other way"
    );
    let seen = idp.seen.lock().unwrap().clone();
    for (request, sent) in seen.iter().zip(&refresh_tokens) {
        assert_eq!(
            request["RefreshToken"],
            sent.as_str(),
            "each refresh uses the latest token"
        );
        assert_eq!(request["ClientId"], s.pool.client_id.as_str());
        assert_eq!(
            request["ClientSecret"],
            s.pool.client_secret.as_deref().unwrap()
        );
    }

    // A refresh token the pool no longer takes ends the session.
    *idp.current.lock().unwrap() = "revoked-elsewhere".into();
    let due = age(&*s.store, &s.key, s.now() + 60).await;
    call(&app, &due, Via::Cookie)
        .await
        .assert_invalid("rotated refresh token refused");
    assert!(s.record().await.is_none());
}

/// Another process changes a session's token while this one's read cache still holds the old
/// record: the cache lets the old token through until it is `ttl` old (bounded staleness);
/// the new token, which the cache doesn't know, is read from the table, which also brings
/// the cache up to date.
#[tokio::test]
async fn a_read_cache_lags_behind_another_process_until_it_reads_the_table() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let table = Arc::new(MemoryStore::new());
    let cache = CachedStore::new(table.clone(), Duration::from_secs(300));
    let manager = pool.manager(cache, pool.config());
    let session = logged_in(&manager, &username, &password).await;
    let (old, key) = (session.token.expose(), session.user.session_key());
    let app = app(&manager);
    assert_eq!(call(&app, old, Via::Bearer).await.status, StatusCode::OK);

    // The other process: the session now holds another token, the old one is void.
    let now = epoch(&std::time::SystemTime::now);
    let new = age(&*table, key, now + 3600).await;
    assert_eq!(
        call(&app, old, Via::Bearer).await.status,
        StatusCode::OK,
        "answered from the cache, which lags behind"
    );
    let reply = call(&app, &new, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["key"], key);
    assert_eq!(
        call(&app, old, Via::Bearer).await.status,
        StatusCode::UNAUTHORIZED,
        "the read that confirmed the new token refreshed the cache"
    );
}

/// The same Cognito session checked by two processes sharing one table: one answers from the
/// store's memory (verified-token cache warm, `MemoryStore`), the other always awaits the
/// store (a remote one). They answer alike: a good token, the token a refresh just replaced
/// (adopted, with the new one), an ended session.
#[tokio::test]
async fn answers_from_memory_are_the_answers_of_a_remote_store() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let remote = Rigged::default();
    // From memory, with the default refresh window; the remote one refreshes far earlier,
    // so that it alone finds the token due.
    let memory = pool.manager(remote.inner().clone(), pool.config());
    let awaited = pool.manager_with(
        remote.clone(),
        pool.config(),
        pool.settings()
            .with_refresh_before(Duration::from_secs(3595)),
    );
    let (memory_app, awaited_app) = (app(&memory), app(&awaited));
    let session = logged_in(&memory, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let now = epoch(&std::time::SystemTime::now);
    let token = age(remote.inner(), &key, now + 1800).await;

    let both = |token: String| {
        let (memory_app, awaited_app) = (memory_app.clone(), awaited_app.clone());
        async move {
            // Twice from memory: the first verifies the token and fills the cache.
            call(&memory_app, &token, Via::Bearer).await;
            let from_memory = call(&memory_app, &token, Via::Bearer).await;
            let awaited = call(&awaited_app, &token, Via::Bearer).await;
            (from_memory, awaited)
        }
    };
    let (a, b) = both(token.clone()).await;
    assert_eq!(
        (a.status, &a.body),
        (StatusCode::OK, &b.body),
        "{a:?} {b:?}"
    );
    assert_eq!(b.status, StatusCode::OK);

    // The remote process refreshes; the old token is adopted by both, with the new one.
    let refreshed = call(&awaited_app, &token, Via::Bearer).await;
    let new = refreshed.new_token().expect("refreshed");
    let (a, b) = both(token.clone()).await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.new_token().as_deref(), Some(new.as_str()), "{a:?}");
    assert_eq!(b.new_token().as_deref(), Some(new.as_str()), "{b:?}");

    awaited.delete(&key).await.unwrap();
    let (a, b) = both(token).await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
}

/// A storm of requests due for refresh, on a remote store: one Cognito call, one write, and
/// one read of the session per request, since the requests queued behind the refresh take
/// the record it wrote instead of reading the session again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_storm_reads_the_session_once_per_request() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let (store, _, counts) = common::stores::faulty(MemoryStore::new());
    let store = Arc::new(store);
    let manager = pool.manager(store.clone(), pool.config());
    let session = logged_in(&manager, &username, &password).await;
    let now = epoch(&std::time::SystemTime::now);
    let due = age(&*store, session.user.session_key(), now + 60).await;
    let (reads, writes) = (counts.loads(), counts.writes());

    let app = app(&manager);
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (app, due) = (app.clone(), due.clone());
            tokio::spawn(async move { call(&app, &due, Via::Bearer).await })
        })
        .collect();
    for request in requests {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert!(reply.new_token().is_some(), "{reply:?}");
    }
    assert_eq!(pool.calls.get("InitiateAuth"), 2, "log-in and one refresh");
    assert_eq!(counts.writes() - writes, 1);
    let reads = counts.loads() - reads;
    // 50 first reads and the refresher's own; a request that read the session just before
    // the write and queued just after it reads again, so allow a few.
    assert!((51..=55).contains(&reads), "{reads} reads for 50 requests");
}

/// #21: a handler gets the session's current access token, the refreshed one when the layer
/// refreshed it for this very request, and it is the one stored; `Debug` shows none.
#[tokio::test]
async fn a_handler_gets_the_current_access_token_after_a_refresh_in_the_layer() {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use cognito_session::SessionLayer;
    use cognito_session::extract::AccessToken;
    use http::Request;
    use http::header::AUTHORIZATION;
    use tower::ServiceExt as _;

    async fn token(token: AccessToken) -> String {
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.secret().expose()), "{shown}");
        token.into_secret().expose().to_owned()
    }
    let s = Setup::new().await;
    let app = Router::new()
        .route("/token", get(token))
        .layer(SessionLayer::new(s.manager.clone()));
    let handed = |bearer: String| {
        let app = app.clone();
        async move {
            let request = Request::get("/token")
                .header(AUTHORIZATION, format!("Bearer {bearer}"))
                .body(Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };

    // Steady state, twice (the second from the verified-token cache): the token as sent.
    for _ in 0..2 {
        assert_eq!(handed(s.token.clone()).await, s.token);
    }

    // A minute and a half left: the layer refreshes it before the handler runs.
    let old = age(&*s.store, &s.key, s.now() + 90).await;
    let seen = handed(old.clone()).await;
    assert_ne!(
        seen, old,
        "the handler got the token it was sent, not the refreshed one"
    );
    let stored = s.record().await.unwrap();
    assert_eq!(stored.cognito.as_ref().unwrap().access_token.expose(), seen);
    assert_eq!(
        s.pool.calls.get("InitiateAuth"),
        2,
        "log-in and one refresh"
    );
    assert_eq!(handed(seen.clone()).await, seen);
}
