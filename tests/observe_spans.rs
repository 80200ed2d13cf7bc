//! The layer's tracing: one `session` span per request with its outcome, the awaited store,
//! Cognito and key-set calls as its children with their latency, and no token anywhere.
//!
//! A small `tracing_subscriber` layer records every span (name, parent, fields, as later
//! recorded too) and every event, for the test to read back.
#![cfg(all(feature = "cognito", feature = "axum"))]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use cognito_session::store::{MemoryStore, SessionStore as _};
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use common::cognito::{Pool, Via, age, app, call, epoch, logged_in};
use http::{Request, StatusCode};
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// A span as the recorder saw it.
#[derive(Clone, Debug)]
struct SpanData {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
    closed: bool,
}

impl SpanData {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Everything recorded: spans in the order they were opened, and the fields of every event
/// with the id of the span it happened in.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<SpanData>>>,
    events: Arc<Mutex<Vec<EventData>>>,
}

/// An event: the id of the span it happened in, and its fields.
type EventData = (Option<u64>, BTreeMap<String, String>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.id().into_u64());
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans.lock().unwrap().push(SpanData {
            id: id.into_u64(),
            name: attrs.metadata().name(),
            parent,
            fields,
            closed: false,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        // Ids are reused once a span closes: the open one is meant.
        let mut spans = self.spans.lock().unwrap();
        if let Some(span) = spans
            .iter_mut()
            .rev()
            .find(|s| s.id == id.into_u64() && !s.closed)
        {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.event_span(event).map(|span| span.id().into_u64());
        self.events.lock().unwrap().push((span, fields));
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(span) = spans
            .iter_mut()
            .rev()
            .find(|s| s.id == id.into_u64() && !s.closed)
        {
            span.closed = true;
        }
    }
}

impl Recorder {
    /// Records everything on this thread until the guard is dropped (the tests run on a
    /// current-thread runtime, so tasks they spawn are recorded too).
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }

    fn spans(&self) -> Vec<SpanData> {
        self.spans.lock().unwrap().clone()
    }

    /// The `session` spans, in order.
    fn requests(&self) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == "session")
            .collect()
    }

    /// The spans whose parent is `parent`.
    fn children(&self, parent: &SpanData) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.parent == Some(parent.id))
            .collect()
    }

    /// Panics if any field of any span or event holds one of `secrets`.
    #[track_caller]
    fn assert_nothing_holds(&self, secrets: &[&str]) {
        let spans = self.spans();
        let events = self.events.lock().unwrap().clone();
        let fields = spans
            .iter()
            .flat_map(|s| s.fields.iter())
            .chain(events.iter().flat_map(|(_, e)| e.iter()));
        let mut seen = 0;
        for (name, value) in fields {
            seen += 1;
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "field {name} holds a secret: {value}"
                );
            }
        }
        assert!(seen > 0, "nothing was recorded");
    }
}

/// The 8 hex digits the span gives a session: the start of the SHA-256 of its key.
fn short_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn whoami(user: Option<CurrentUser>) -> String {
    user.map(|u| u.username().to_owned()).unwrap_or_default()
}

fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(whoami).post(whoami))
        .route("/write", post(whoami))
        .layer(layer)
}

async fn send(app: &Router, headers: &[(&str, &str)]) -> StatusCode {
    send_to(app, "GET", headers).await
}

async fn send_to(app: &Router, method: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = Request::builder().method(method).uri("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_request_decided_from_memory_is_one_span_with_no_children() {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let session = manager.create("alice").await.unwrap();
    let app = router(SessionLayer::new(manager));
    let recorder = Recorder::default();
    let _guard = recorder.install();

    let bearer = format!("Bearer {}", session.token.expose());
    assert_eq!(
        send(&app, &[("authorization", &bearer)]).await,
        StatusCode::OK
    );

    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let span = &requests[0];
    assert_eq!(span.field("source"), Some("bearer"));
    assert_eq!(span.field("outcome"), Some("ok"));
    assert_eq!(span.field("reason"), Some("current"));
    let expected = short_hash(session.user.session_key());
    assert_eq!(span.field("session"), Some(expected.as_str()));
    assert!(span.closed, "the span ends with the decision");
    assert!(
        recorder.children(span).is_empty(),
        "answered from memory: nothing awaited"
    );
}

#[tokio::test]
async fn awaited_store_calls_are_child_spans_with_their_latency() {
    // A touch due on every request: the check reads the store and writes the touch.
    let config = SessionConfig::default()
        .with_idle_timeout(Some(Duration::from_secs(600)))
        .with_touch_interval(Duration::ZERO);
    let manager = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = manager.create("alice").await.unwrap();
    let app = router(SessionLayer::new(manager));
    let recorder = Recorder::default();
    let _guard = recorder.install();

    let cookie = format!("token={}", session.token.expose());
    assert_eq!(send(&app, &[("cookie", &cookie)]).await, StatusCode::OK);

    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.field("source"), Some("cookie"));
    assert_eq!(request.field("outcome"), Some("ok"));
    let children = recorder.children(request);
    let ops: Vec<_> = children.iter().map(|s| (s.name, s.field("op"))).collect();
    assert_eq!(
        ops,
        [("store", Some("load")), ("store", Some("touch"))],
        "{children:?}"
    );
    for child in &children {
        assert_eq!(child.field("result"), Some("ok"), "{child:?}");
        let latency: u64 = child
            .field("latency_us")
            .expect("a latency")
            .parse()
            .unwrap();
        assert!(latency < 5_000_000, "{child:?}");
        assert!(child.closed);
    }
}

#[tokio::test]
async fn every_refusal_says_why() {
    let (store, down, _) = common::stores::faulty(MemoryStore::new());
    let manager = SessionManager::new(Arc::new(store), SessionConfig::default()).unwrap();
    let session = manager.create("alice").await.unwrap();
    let token = session.token.expose().to_owned();
    let app = router(SessionLayer::new(manager.clone()));
    let open = router(SessionLayer::new(manager).with_required(false));
    let recorder = Recorder::default();
    let _guard = recorder.install();

    let unknown = format!("token={}", "A".repeat(43));
    let two = [("authorization", "Bearer a"), ("authorization", "Bearer b")];
    let cross_site = format!("token={token}");
    // The router, the method, the headers, the status, and the span's source, outcome, reason.
    type Case<'a> = (
        &'a Router,
        &'a str,
        Vec<(&'a str, &'a str)>,
        StatusCode,
        [&'a str; 3],
    );
    let cases: Vec<Case> = vec![
        (
            &app,
            "GET",
            vec![],
            StatusCode::UNAUTHORIZED,
            ["none", "missing", "no_token"],
        ),
        (
            &app,
            "GET",
            vec![("cookie", &unknown)],
            StatusCode::UNAUTHORIZED,
            ["cookie", "invalid", "not_found"],
        ),
        (
            &app,
            "GET",
            vec![("authorization", "Bearer nope")],
            StatusCode::UNAUTHORIZED,
            ["bearer", "invalid", "malformed"],
        ),
        (
            &app,
            "GET",
            two.to_vec(),
            StatusCode::BAD_REQUEST,
            ["none", "bad_request", "ambiguous"],
        ),
        (
            &app,
            "POST",
            vec![("cookie", &cross_site), ("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
            ["cookie", "forbidden", "cross_site"],
        ),
        (
            &open,
            "GET",
            vec![],
            StatusCode::OK,
            ["none", "anonymous", "no_token"],
        ),
        (
            &open,
            "GET",
            vec![("cookie", &unknown)],
            StatusCode::OK,
            ["cookie", "anonymous", "not_found"],
        ),
    ];
    for (router, method, headers, status, _) in &cases {
        assert_eq!(
            send_to(router, method, headers).await,
            *status,
            "{headers:?}"
        );
    }
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let bearer = format!("Bearer {token}");
    assert_eq!(
        send(&app, &[("authorization", &bearer)]).await,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let requests = recorder.requests();
    let seen: Vec<[Option<&str>; 3]> = requests
        .iter()
        .map(|s| [s.field("source"), s.field("outcome"), s.field("reason")])
        .collect();
    let mut expected: Vec<[Option<&str>; 3]> = cases
        .iter()
        .map(|(.., [a, b, c])| [Some(*a), Some(*b), Some(*c)])
        .collect();
    expected.push([Some("bearer"), Some("unavailable"), Some("store")]);
    assert_eq!(seen, expected);
    assert!(
        requests.iter().all(|s| s.field("session").is_none()),
        "no session is named for a refused request"
    );
    let outage = requests.last().unwrap();
    let warned = recorder
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|(span, fields)| {
            *span == Some(outage.id)
                && fields.get("message").map(String::as_str) == Some("session backend unavailable")
        });
    assert!(warned, "the outage is logged in the request's span");
    let load = recorder.children(outage);
    assert_eq!(load.len(), 1, "{load:?}");
    assert_eq!(
        (load[0].field("op"), load[0].field("result")),
        (Some("load"), Some("error"))
    );
}

#[tokio::test]
async fn no_span_or_event_holds_a_token_or_a_session_key() {
    // Rotation on every cookie request, so that new tokens go by too.
    let config = SessionConfig::default().with_rotation(Some(Duration::ZERO));
    let manager = SessionManager::new(MemoryStore::new(), config).unwrap();
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let session = manager.create("alice").await.unwrap();
    let token = session.token.expose().to_owned();
    let app = router(SessionLayer::new(manager.clone()));

    let bearer = format!("Bearer {token}");
    assert_eq!(
        send(&app, &[("authorization", &bearer)]).await,
        StatusCode::OK
    );
    let request = Request::get("/")
        .header("cookie", format!("token={token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let rotated = common::cookie_token(set_cookie).expect("a rotated token");
    assert_ne!(rotated, token);
    let cookie = format!("token={rotated}");
    assert_eq!(send(&app, &[("cookie", &cookie)]).await, StatusCode::OK);
    let wrong = format!("Bearer {}x", &token[..42]);
    assert_eq!(
        send(&app, &[("authorization", &wrong)]).await,
        StatusCode::UNAUTHORIZED
    );
    manager.delete_user("alice").await.unwrap();

    let requests = recorder.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests[1].field("reason") == Some("new_token"));
    let keys = [
        session.user.session_key().to_owned(),
        cognito_session::store::TokenHash::of(&rotated).to_hex(),
    ];
    recorder.assert_nothing_holds(&[&token, &rotated, &wrong[7..]]);
    // The span's short hash is not the start of the key either.
    for span in &requests {
        if let Some(short) = span.field("session") {
            assert!(keys.iter().all(|key| !key.starts_with(short)), "{span:?}");
        }
    }
}

/// Cognito: a key-set fetch and a refresh, both awaited by a request's check, are children
/// of its span; the Cognito tokens appear nowhere.
#[tokio::test]
async fn cognito_calls_and_the_key_set_fetch_are_children_of_the_request() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let first = pool.manager(store.clone(), pool.config());
    let session = logged_in(&first, &username, &password).await;
    let key = session.user.session_key().to_owned();
    let now = epoch(&std::time::SystemTime::now);
    // Due for a refresh: a minute and a half left.
    let due = age(&*store, &key, now + 90).await;
    let refresh_token = store
        .load(&key, now)
        .await
        .unwrap()
        .unwrap()
        .cognito
        .unwrap();

    // Another instance: its key set is still to be fetched.
    let second = pool.manager(store.clone(), pool.config());
    let app = app(&second);
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let reply = call(&app, &due, Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let new = reply.new_token().expect("refreshed");

    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(
        (request.field("outcome"), request.field("reason")),
        (Some("ok"), Some("new_token"))
    );
    assert_eq!(request.field("session"), Some(short_hash(&key).as_str()));
    let children = recorder.children(request);
    let fetch = children
        .iter()
        .find(|s| s.name == "key_set_fetch")
        .unwrap_or_else(|| panic!("no key-set fetch in {children:?}"));
    assert_eq!(fetch.field("result"), Some("ok"));
    assert!(fetch.field("latency_us").is_some());
    let refresh = children
        .iter()
        .find(|s| s.name == "cognito")
        .unwrap_or_else(|| panic!("no Cognito call in {children:?}"));
    assert_eq!(
        (refresh.field("op"), refresh.field("result")),
        (Some("InitiateAuth"), Some("ok"))
    );
    assert!(refresh.field("latency_us").is_some());
    assert!(
        children
            .iter()
            .any(|s| s.name == "store" && s.field("op") == Some("update")),
        "the refreshed tokens are written: {children:?}"
    );
    recorder.assert_nothing_holds(&[&due, &new, refresh_token.refresh_token.expose(), &password]);
}

/// A managed log-in's calls to the domain (`/oauth2/token`, `/oauth2/revoke`) are Cognito
/// calls like the API's, with their latency, and hold no token.
#[tokio::test]
async fn the_managed_login_endpoints_are_cognito_calls() {
    use cognito_session::cognito::{CognitoSettings, LoginOptions, ManagedLoginSettings};
    use common::oidc::{Provider, ProviderClient, SignInBrowser};

    const CALLBACK: &str = "http://127.0.0.1:5555/auth/callback";
    let users: &[(&str, &str, &[&str])] = &[("alice", "Alice-Passw0rd!", &[])];
    let client = ProviderClient::public("web", CALLBACK, "http://127.0.0.1:5555/");
    let provider = Provider::start("us-east-1_Spans", vec![client], users, 3600).await;
    let settings = CognitoSettings::new("us-east-1_Spans", "web")
        .with_jwks_url(provider.jwks_url())
        .with_managed_login(ManagedLoginSettings::new(provider.url(), CALLBACK));
    let cognito_api = aws_sdk_cognitoidentityprovider::Client::from_conf(
        common::sdk::cognito("http://127.0.0.1:9").build(),
    );
    let sessions = SessionManager::with_cognito(
        MemoryStore::new(),
        SessionConfig::default(),
        settings,
        cognito_api,
    )
    .unwrap();
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let location = provider
        .sign_in(
            &SignInBrowser::new(),
            &login.url,
            "alice",
            "Alice-Passw0rd!",
        )
        .await;
    let query = location.split_once('?').unwrap().1.to_owned();
    let mut browser = http::HeaderMap::new();
    let state_cookie = login
        .set_cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    browser.insert(http::header::COOKIE, state_cookie.parse().unwrap());

    let recorder = Recorder::default();
    let _guard = recorder.install();
    let logged_in = sessions.finish_login(&query, &browser).await.unwrap();
    let token = logged_in.session.token.expose().to_owned();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("token={token}").parse().unwrap(),
    );
    assert!(sessions.log_out(&headers).await.unwrap().ended);

    let calls: Vec<(Option<String>, Option<String>)> = recorder
        .spans()
        .iter()
        .filter(|s| s.name == "cognito" && s.field("latency_us").is_some())
        .map(|s| {
            (
                s.field("op").map(str::to_owned),
                s.field("result").map(str::to_owned),
            )
        })
        .collect();
    let ok = |op: &str| (Some(op.to_owned()), Some("ok".to_owned()));
    assert_eq!(calls, [ok("oauth2/token"), ok("oauth2/revoke")]);
    recorder.assert_nothing_holds(&[&token, &query]);
}
