//! The `metrics` feature: what the layer, the manager, the stores and the Cognito side
//! record, read back from `metrics-util`'s debugging recorder, installed for the test's
//! thread only (each test runs its requests on a current-thread runtime on that thread).

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_session::metrics::{self as names, Kind};
use cognito_session::store::CachedStore;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use common::cognito::{Pool, Via, age, app, call, epoch, logged_in};
use http::{Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt as _;

/// One metric as recorded.
struct Entry {
    name: String,
    labels: Vec<(String, String)>,
    unit: Option<String>,
    description: Option<String>,
    value: DebugValue,
}

/// What a test recorded.
struct Recorded(Vec<Entry>);

impl Recorded {
    /// The entries named `name` that carry every one of `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a DebugValue> + 'a {
        self.0
            .iter()
            .filter(move |entry| {
                entry.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| entry.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|entry| &entry.value)
    }

    /// The sum of the counters named `name` with `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.matching(name, labels)
            .map(|value| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }

    /// The samples of the histograms named `name` with `labels`.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.matching(name, labels)
            .flat_map(|value| match value {
                DebugValue::Histogram(samples) => samples.iter().map(|s| s.0).collect::<Vec<_>>(),
                other => panic!("{name} is not a histogram: {other:?}"),
            })
            .collect()
    }
}

/// Runs `test` on a current-thread runtime with a fresh debugging recorder as this thread's
/// recorder; what it recorded.
fn recording<F: Future<Output = ()>>(test: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test()));
    Recorded(
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, unit, description, value)| {
                let key = key.key();
                Entry {
                    name: key.name().to_owned(),
                    labels: key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect(),
                    unit: unit.map(|u| u.as_str().to_owned()),
                    description: description.map(|d| d.to_string()),
                    value,
                }
            })
            .collect(),
    )
}

async fn whoami(user: CurrentUser) -> String {
    user.username().to_owned()
}

fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(whoami).post(whoami))
        .layer(layer)
}

async fn send(app: &Router, method: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = Request::builder().method(method).uri("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[test]
fn requests_are_counted_by_outcome_and_reason() {
    let recorded = recording(|| async {
        let (store, down, _) = common::stores::faulty(MemoryStore::new());
        let manager = SessionManager::new(Arc::new(store), SessionConfig::default()).unwrap();
        let token = manager.create("alice").await.unwrap().token;
        let app = router(SessionLayer::new(manager.clone()));
        let open = router(SessionLayer::new(manager).with_required(false));
        let bearer = format!("Bearer {}", token.expose());
        let cookie = format!("token={}", token.expose());
        for _ in 0..2 {
            assert_eq!(
                send(&app, "GET", &[("authorization", &bearer)]).await,
                StatusCode::OK
            );
        }
        send(&app, "GET", &[]).await;
        send(&open, "GET", &[]).await;
        send(&app, "GET", &[("authorization", "Bearer nope")]).await;
        let unknown = format!("Bearer {}", "A".repeat(43));
        send(&app, "GET", &[("authorization", &unknown)]).await;
        let two = [("authorization", "Bearer a"), ("authorization", "Bearer b")];
        send(&app, "GET", &two).await;
        let cross = [
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(send(&app, "POST", &cross).await, StatusCode::FORBIDDEN);
        down.store(true, Ordering::SeqCst);
        assert_eq!(
            send(&app, "GET", &[("authorization", &bearer)]).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    });
    let count = |outcome, reason| {
        recorded.counter(names::REQUESTS, &[("outcome", outcome), ("reason", reason)])
    };
    assert_eq!(count("ok", "current"), 2);
    assert_eq!(count("missing", "no_token"), 1);
    assert_eq!(count("anonymous", "no_token"), 1);
    assert_eq!(count("invalid", "malformed"), 1);
    assert_eq!(count("invalid", "not_found"), 1);
    assert_eq!(count("bad_request", "ambiguous"), 1);
    assert_eq!(count("forbidden", "cross_site"), 1);
    assert_eq!(count("unavailable", "store"), 1);
    assert_eq!(recorded.counter(names::REQUESTS, &[]), 9, "nothing else");
}

#[test]
fn store_calls_are_timed_by_operation_and_result() {
    let recorded = recording(|| async {
        let (store, down, _) = common::stores::faulty(MemoryStore::new());
        let manager = SessionManager::new(Arc::new(store), SessionConfig::default()).unwrap();
        let session = manager.create("alice").await.unwrap();
        let token = session.token.expose();
        manager.authenticate(token).await.unwrap();
        manager.authenticate(token).await.unwrap();
        down.store(true, Ordering::SeqCst);
        assert!(manager.authenticate(token).await.is_err());
        down.store(false, Ordering::SeqCst);
        manager.delete(session.user.session_key()).await.unwrap();
    });
    let samples =
        |op, result| recorded.samples(names::STORE_CALL_SECONDS, &[("op", op), ("result", result)]);
    assert_eq!(samples("create", "ok").len(), 1);
    assert_eq!(samples("load", "ok").len(), 2);
    assert_eq!(samples("load", "error").len(), 1);
    assert_eq!(samples("take", "ok").len(), 1);
    let all = recorded.samples(names::STORE_CALL_SECONDS, &[]);
    assert!(
        all.iter().all(|s| (0.0..5.0).contains(s)),
        "seconds: {all:?}"
    );
}

#[test]
fn sessions_created_and_deleted_are_counted() {
    let recorded = recording(|| async {
        let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let first = manager.create("alice").await.unwrap();
        manager.create("alice").await.unwrap();
        manager.create("alice").await.unwrap();
        assert!(manager.delete(first.user.session_key()).await.unwrap());
        assert!(!manager.delete(first.user.session_key()).await.unwrap());
        assert_eq!(manager.delete_user("alice").await.unwrap(), 2);
    });
    assert_eq!(
        recorded.counter(names::SESSIONS_CREATED, &[("kind", "opaque")]),
        3
    );
    assert_eq!(
        recorded.counter(names::SESSIONS_DELETED, &[]),
        3,
        "one by key, two by user; the second delete of one key ended nothing"
    );
}

#[test]
fn the_read_cache_counts_hits_and_misses() {
    let recorded = recording(|| async {
        let store = CachedStore::new(MemoryStore::new(), Duration::from_secs(60));
        let manager = SessionManager::new(store, SessionConfig::default()).unwrap();
        let session = manager.create("alice").await.unwrap();
        let app = router(SessionLayer::new(manager));
        let bearer = format!("Bearer {}", session.token.expose());
        for _ in 0..3 {
            send(&app, "GET", &[("authorization", &bearer)]).await;
        }
        let unknown = format!("Bearer {}", "A".repeat(43));
        send(&app, "GET", &[("authorization", &unknown)]).await;
    });
    assert_eq!(recorded.counter(names::CACHE_HITS, &[]), 3);
    assert_eq!(recorded.counter(names::CACHE_MISSES, &[]), 1);
}

#[test]
fn describe_gives_every_metric_a_unit_and_a_description() {
    let recorded = recording(|| async {
        names::describe();
        for (name, kind, _) in names::ALL {
            match kind {
                Kind::Counter => metrics::counter!(name).increment(1),
                Kind::Histogram => metrics::histogram!(name).record(1.0),
                _ => unreachable!(),
            }
        }
    });
    assert_eq!(recorded.0.len(), names::ALL.len());
    for Entry {
        name,
        unit,
        description,
        ..
    } in &recorded.0
    {
        let expected = if name.ends_with("_seconds") {
            "seconds"
        } else {
            "count"
        };
        assert_eq!(unit.as_deref(), Some(expected), "{name}");
        assert!(
            description.as_ref().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        assert!(name.starts_with("cognito_session_"), "{name}");
    }
}

/// Cognito (moto): a refresh that works, one Cognito refuses, and one it can't answer; the
/// key-set fetch; and Cognito's calls timed by operation and result.
#[test]
fn refreshes_key_set_fetches_and_cognito_calls_are_counted() {
    let recorded = recording(|| async {
        let moto = common::private::Private::moto().await;
        let pool = Pool::create(&moto.url, false).await;
        let (username, password) = pool.user().await;
        let store = Arc::new(MemoryStore::new());
        let manager = SessionManager::with_cognito(
            store.clone(),
            pool.config(),
            pool.settings().with_call_timeout(Duration::from_secs(1)),
            pool.client.clone(),
        )
        .unwrap();
        let app = app(&manager);
        let now = || epoch(&std::time::SystemTime::now);
        let (manager_, username_, password_) = (&manager, &username, &password);
        let log_in = move || async move {
            let session = logged_in(manager_, username_, password_).await;
            session.user.session_key().to_owned()
        };

        // A refresh that works.
        let key = log_in().await;
        let due = age(&*store, &key, now() + 90).await;
        assert!(call(&app, &due, Via::Bearer).await.new_token().is_some());

        // One Cognito can't answer: the token still serves meanwhile.
        let key = log_in().await;
        let due = age(&*store, &key, now() + 90).await;
        moto.pause();
        assert_eq!(call(&app, &due, Via::Bearer).await.status, StatusCode::OK);
        moto.resume();

        // One Cognito refuses: the user signed out everywhere.
        pool.client
            .admin_user_global_sign_out()
            .user_pool_id(&pool.pool_id)
            .username(&username)
            .send()
            .await
            .unwrap();
        call(&app, &due, Via::Bearer)
            .await
            .assert_invalid("refresh refused");
    });
    let refreshes = |result| recorded.counter(names::REFRESHES, &[("result", result)]);
    assert_eq!(
        (refreshes("ok"), refreshes("failed"), refreshes("refused")),
        (1, 1, 1)
    );
    assert_eq!(
        recorded.counter(names::KEY_SET_FETCHES, &[("result", "ok")]),
        1,
        "the keys are fetched once, at the first log-in"
    );
    assert_eq!(
        recorded
            .samples(names::KEY_SET_FETCH_SECONDS, &[("result", "ok")])
            .len(),
        1
    );
    let calls = |op, result| {
        recorded
            .samples(
                names::COGNITO_CALL_SECONDS,
                &[("op", op), ("result", result)],
            )
            .len()
    };
    // Two log-ins, the refresh that worked, and the one refused.
    assert_eq!(calls("InitiateAuth", "ok"), 3);
    assert_eq!(calls("InitiateAuth", "timeout"), 1);
    assert_eq!(calls("InitiateAuth", "error"), 1);
    assert_eq!(
        recorded.counter(names::SESSIONS_CREATED, &[("kind", "cognito")]),
        2
    );
}
