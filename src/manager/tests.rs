use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;

use super::*;
use crate::store::intercept::{Call, Intercepted, Interceptor};
use crate::{InvalidReason, MemoryStore, StoreError};

/// A `MemoryStore` (the table) seen through one of its two doors: `load_now` only (its
/// `load` is an outage), or `load` only (it never answers at once, like a remote store).
/// `memory`, when set, answers `load_now` in the table's place: a cache lagging behind.
struct OneDoor {
    now_only: bool,
    memory: Option<MemoryStore>,
}

#[async_trait]
impl Interceptor for OneDoor {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        if self.now_only && matches!(call, Call::Load { .. }) {
            return Err(StoreError::Unavailable("load called (test)".into()));
        }
        Ok(())
    }

    fn load_now_from<'a>(&'a self, table: &'a dyn SessionStore) -> Option<&'a dyn SessionStore> {
        match &self.memory {
            Some(memory) => Some(memory),
            None => self.now_only.then_some(table),
        }
    }
}

const T0: u64 = 1_800_000_000;

/// Two managers on one store: one that may only answer at once, one that only awaits.
fn managers(config: SessionConfig) -> (SessionManager, SessionManager, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(T0));
    let clock = now.clone();
    let config =
        config.with_clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)));
    let store = Arc::new(MemoryStore::new());
    let door = |now_only| {
        let door = OneDoor {
            now_only,
            memory: None,
        };
        Intercepted::new(store.clone(), door)
    };
    (
        SessionManager::new(door(true), config.clone()).unwrap(),
        SessionManager::new(door(false), config).unwrap(),
        now,
    )
}

#[tokio::test]
async fn a_memory_lagging_behind_the_table_may_not_refuse_a_request() {
    let table = Arc::new(MemoryStore::new());
    let lagging = OneDoor {
        now_only: false,
        // It has not seen the session that is about to be created.
        memory: Some(MemoryStore::new()),
    };
    let lagging = Intercepted::new(table.clone(), lagging);
    let manager = SessionManager::new(lagging, SessionConfig::default()).unwrap();
    let session = manager.create("alice").await.unwrap();
    let token = session.token.expose();
    assert!(
        manager
            .authenticate_now(token, TokenSource::Bearer)
            .is_none(),
        "not decided from memory"
    );
    assert_eq!(
        manager.authenticate(token).await.unwrap().user,
        session.user
    );
}

/// Another instance rotates a session (with `token`) the moment before this one
/// deletes it: after any read a log-out could make first, before the delete lands.
#[derive(Clone, Default)]
struct RotatesBeforeTheDelete {
    other: Arc<std::sync::OnceLock<(SessionManager, String)>>,
    rotated: Arc<std::sync::Mutex<Option<String>>>,
}

#[async_trait]
impl Interceptor for RotatesBeforeTheDelete {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        if let (Call::Delete { .. }, Some((other, token))) = (call, self.other.get())
            && self.rotated.lock().unwrap().is_none()
        {
            let rotated = other
                .authenticate_from(token, TokenSource::Cookie)
                .await
                .unwrap();
            let new = rotated.new_token.expect("rotated").token;
            *self.rotated.lock().unwrap() = Some(new.expose().to_owned());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_log_out_racing_a_rotation_ends_the_new_token_too() {
    let table = Arc::new(MemoryStore::new());
    let rotating = SessionConfig::default().with_rotation(Some(Duration::ZERO));
    let other = SessionManager::new(table.clone(), rotating).unwrap();
    let racing = RotatesBeforeTheDelete::default();
    let store = Intercepted::new(table.clone(), racing.clone());
    let manager = SessionManager::new(store, SessionConfig::default()).unwrap();
    let session = manager.create("alice").await.unwrap();
    let token = session.token.expose().to_owned();
    assert!(racing.other.set((other, token.clone())).is_ok());

    assert!(manager.delete(session.user.session_key()).await.unwrap());
    let successor = racing.rotated.lock().unwrap().clone().expect("it rotated");
    for token in [&token, &successor] {
        assert!(
            matches!(
                manager.authenticate(token).await,
                Err(AuthError::Invalid(InvalidReason::NotFound))
            ),
            "{token:.8}… still works"
        );
    }
    assert!(table.is_empty(), "nothing of the session is left");
}

/// What an answer says, in a comparable form.
fn summary(outcome: &Result<Authenticated, AuthError>) -> String {
    match outcome {
        Ok(auth) => format!("{:?} new token: {}", auth.user, auth.new_token.is_some()),
        Err(e) => format!("{e}"),
    }
}

#[tokio::test]
async fn steady_state_is_decided_without_awaiting_the_store() {
    let (at_once, _, _) = managers(SessionConfig::default());
    let session = at_once.create("alice").await.unwrap();
    let answer = at_once
        .authenticate_now(session.token.expose(), TokenSource::Bearer)
        .expect("decided at once");
    assert_eq!(answer.unwrap().user.username(), "alice");
    // So does the layer: the store's `load` would have been an outage (503).
    let layer = crate::SessionLayer::new(at_once);
    let service = tower_layer::Layer::layer(
        &layer,
        tower::service_fn(|request: http::Request<()>| async move {
            let user = request.extensions().get::<CurrentUser>();
            let key = user.map(|u| u.session_key().to_owned());
            Ok::<_, std::convert::Infallible>(http::Response::new(key.unwrap_or_default()))
        }),
    );
    let request = http::Request::builder()
        .header(
            "authorization",
            format!("Bearer {}", session.token.expose()),
        )
        .body(())
        .unwrap();
    let response = tower::ServiceExt::oneshot(service, request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.into_body(), session.user.session_key());
}

#[tokio::test]
async fn a_write_that_is_due_is_left_to_the_awaited_check() {
    let config = SessionConfig::default()
        .with_idle_timeout(Some(Duration::from_secs(7200)))
        .with_touch_interval(Duration::from_secs(60))
        .with_rotation(Some(Duration::from_secs(3600)));
    let (at_once, awaited, now) = managers(config);
    let token = at_once.create("alice").await.unwrap().token;
    let token = token.expose();
    now.fetch_add(61, Ordering::SeqCst);
    assert!(
        at_once
            .authenticate_now(token, TokenSource::Bearer)
            .is_none(),
        "touch due"
    );
    awaited.authenticate(token).await.unwrap();
    assert!(
        at_once
            .authenticate_now(token, TokenSource::Bearer)
            .is_some(),
        "touched"
    );
    now.fetch_add(3600, Ordering::SeqCst);
    assert!(
        at_once
            .authenticate_now(token, TokenSource::Cookie)
            .is_none(),
        "rotation due"
    );
}

#[tokio::test]
async fn answers_at_once_are_the_answers_awaited() {
    let config = SessionConfig::default()
        .with_lifetime(Duration::from_secs(7200))
        .with_rotation(Some(Duration::from_secs(600)))
        .with_grace_period(Duration::from_secs(30));
    let (at_once, awaited, now) = managers(config);
    let alice = at_once.create("alice").await.unwrap().token;
    let bob = at_once.create("bob").await.unwrap().token;
    let ended = at_once.create("carol").await.unwrap();
    awaited.delete(ended.user.session_key()).await.unwrap();
    now.fetch_add(601, Ordering::SeqCst);
    // Bob's cookie token is rotated; his old one is in its grace period.
    let rotated = awaited
        .authenticate_from(bob.expose(), TokenSource::Cookie)
        .await
        .unwrap();
    let new_bob = rotated.new_token.expect("rotated").token;

    let tokens = [
        alice.expose(),
        bob.expose(),
        new_bob.expose(),
        ended.token.expose(),
        "not a token",
        "A".repeat(43).leak(),
    ];
    let compare = |label: &str| {
        for token in tokens {
            let awaited = futures_now(awaited.authenticate(token));
            match at_once.authenticate_now(token, TokenSource::Bearer) {
                Some(answer) => {
                    assert_eq!(summary(&answer), summary(&awaited), "{label}: {token:.8}…")
                }
                // Only an awaited read turns a request away.
                None => assert!(
                    matches!(awaited, Err(AuthError::Invalid(InvalidReason::NotFound))),
                    "{label}: {token:.8}…: {}",
                    summary(&awaited)
                ),
            }
        }
    };
    compare("within the grace period");
    now.fetch_add(31, Ordering::SeqCst);
    compare("after it");
    now.fetch_add(7200, Ordering::SeqCst);
    compare("after the lifetime");
}

#[tokio::test]
async fn claims_given_at_creation_stay_through_rotation() {
    let config = SessionConfig::default().with_rotation(Some(Duration::from_secs(600)));
    let (_, manager, now) = managers(config);
    let claims = Claims::new().with_groups(["admins"]).with_scopes(["s"]);
    let session = manager.create_with("alice", claims.clone()).await.unwrap();
    assert_eq!(session.user.groups(), ["admins"]);
    let plain = manager.create("bob").await.unwrap();
    assert!(plain.user.claims().is_empty());

    now.fetch_add(601, Ordering::SeqCst);
    let rotated = manager
        .authenticate_from(session.token.expose(), TokenSource::Cookie)
        .await
        .unwrap();
    let new_token = rotated.new_token.expect("rotated").token;
    let after = manager.authenticate(new_token.expose()).await.unwrap();
    assert_ne!(after.user.session_key(), session.user.session_key());
    assert_eq!(after.user.claims(), &claims);
}

/// The output of a future that is ready on its first poll (the memory store's are).
fn futures_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the memory store made a future wait"),
    }
}
