//! The layer over HTTP on the embedded store: every outcome of issue #2, through each way of
//! mounting it.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Router, middleware};
use cognito_session::rejection::Rejection;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager, TokenSource};
use common::TestClock;
use common::stores::faulty;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};

async fn whoami(user: CurrentUser) -> String {
    user.username().to_owned()
}

async fn maybe(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.username().to_owned())
}

fn manager() -> SessionManager {
    SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap()
}

fn app(manager: &SessionManager) -> Router {
    Router::new()
        .route("/me", get(whoami))
        .layer(SessionLayer::new(manager.clone()))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    fn json_error(&self) -> String {
        assert_eq!(
            self.headers[CONTENT_TYPE], "application/json",
            "{}",
            self.body
        );
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        v["error"].as_str().unwrap().to_owned()
    }
}

async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn get_with(headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get("/me");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn router_layer_lets_a_valid_bearer_token_through() {
    let m = manager();
    let session = m.create("alice").await.unwrap();
    let reply = send(
        app(&m),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "alice")
    );
    assert!(
        reply.cookies().is_empty(),
        "no Set-Cookie when the token did not change"
    );
}

#[tokio::test]
async fn route_layer_protects_only_its_routes() {
    let m = manager();
    let session = m.create("bob").await.unwrap();
    let app = Router::new()
        .route("/me", get(whoami))
        .route_layer(SessionLayer::new(m.clone()))
        .route("/public", get(|| async { "public" }));
    let open = send(
        app.clone(),
        Request::get("/public").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (open.status, open.body.as_str()),
        (StatusCode::OK, "public")
    );
    let closed = send(app.clone(), get_with(&[])).await;
    assert_eq!(closed.status, StatusCode::UNAUTHORIZED);
    let cookie = format!("token={}", session.token.expose());
    let ok = send(app, get_with(&[("cookie", &cookie)])).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "bob"));
}

#[tokio::test]
async fn service_builder_wraps_a_plain_service() {
    let m = manager();
    let session = m.create("carol").await.unwrap();
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(m))
        .service_fn(|request: Request<String>| async move {
            let user = request.extensions().get::<CurrentUser>().cloned();
            Ok::<_, std::convert::Infallible>(http::Response::new(
                user.map_or(String::new(), |u| u.username().to_owned()),
            ))
        });
    let request = Request::get("/")
        .header(AUTHORIZATION, bearer(session.token.expose()))
        .body(String::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.into_body(), "carol");
    // The default rejection works with any body that is `From<String>`.
    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.into_body(),
        r#"{"error":"Session does not exist."}"#
    );
}

#[tokio::test]
async fn plain_hyper_server_through_tower_to_hyper_service() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;

    let m = manager();
    let session = m.create("dave").await.unwrap();
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(m))
        .service_fn(|request: Request<hyper::body::Incoming>| async move {
            let name = request
                .extensions()
                .get::<CurrentUser>()
                .unwrap()
                .username()
                .to_owned();
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from(name),
            )))
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/");
    let ok = client
        .get(&url)
        .bearer_auth(session.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "dave");
    let denied = client.get(&url).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()[WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn missing_token_is_401_with_json_and_challenge() {
    let reply = send(app(&manager()), get_with(&[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json_error(), "Session does not exist.");
    assert_eq!(reply.headers[WWW_AUTHENTICATE], "Bearer");
    assert!(reply.cookies().is_empty());
}

#[tokio::test]
async fn other_schemes_and_empty_bearer_count_as_absent() {
    for value in ["Basic YWxpY2U6cHc=", "Bearer", "Bearer    ", "Digest x"] {
        let reply = send(app(&manager()), get_with(&[("authorization", value)])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(
            reply.headers[WWW_AUTHENTICATE], "Bearer",
            "{value}: no invalid_token"
        );
    }
}

#[tokio::test]
async fn unknown_token_is_401_invalid_token_without_removal_cookie_for_bearer() {
    let m = manager();
    let fake = "A".repeat(43);
    for token in [
        fake.as_str(),
        "short",
        "not/base64url+=======================----",
    ] {
        let reply = send(app(&m), get_with(&[("authorization", &bearer(token))])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(
            reply.headers[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        assert!(
            reply.cookies().is_empty(),
            "a Bearer token gets no removal cookie"
        );
        let error = reply.json_error();
        assert!(
            error == "Session does not exist." || error == "Invalid session token.",
            "{error}"
        );
    }
}

#[tokio::test]
async fn bad_cookie_is_removed_with_the_same_attributes() {
    let config = SessionConfig::default()
        .with_cookie_path("/app")
        .with_cookie_domain(Some("example.com".into()));
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let reply = send(
        app(&m),
        get_with(&[("cookie", &format!("token={}", "B".repeat(43)))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let cookies = reply.cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    for part in [
        "token=",
        "Max-Age=0",
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookies[0].contains(part), "{} lacks {part}", cookies[0]);
    }
}

#[tokio::test]
async fn cookie_name_must_match_exactly() {
    let m = manager();
    let session = m.create("erin").await.unwrap();
    let t = session.token.expose();
    let prefixed = send(app(&m), get_with(&[("cookie", &format!("mytoken={t}"))])).await;
    assert_eq!(prefixed.status, StatusCode::UNAUTHORIZED);
    let split = send(
        app(&m),
        get_with(&[
            ("cookie", "mytoken=x; a=b"),
            ("cookie", &format!(" token=\"{t}\" ")),
        ]),
    )
    .await;
    assert_eq!(
        (split.status, split.body.as_str()),
        (StatusCode::OK, "erin")
    );
}

#[tokio::test]
async fn duplicated_authorization_is_a_bad_request() {
    let m = manager();
    let session = m.create("fay").await.unwrap();
    let t = bearer(session.token.expose());
    let reply = send(
        app(&m),
        get_with(&[("authorization", &t), ("authorization", &t)]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.headers[WWW_AUTHENTICATE],
        r#"Bearer error="invalid_request""#
    );
}

#[tokio::test]
async fn token_sources_and_order_are_configurable() {
    let config = SessionConfig::default().with_token_sources([TokenSource::Cookie]);
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("gus").await.unwrap();
    let by_bearer = send(
        app(&m),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    )
    .await;
    assert_eq!(
        by_bearer.status,
        StatusCode::UNAUTHORIZED,
        "Bearer is not read"
    );
    let cookie = format!("token={}", session.token.expose());
    let by_cookie = send(
        app(&m),
        get_with(&[("cookie", &cookie), ("authorization", "Bearer junk")]),
    )
    .await;
    assert_eq!(by_cookie.status, StatusCode::OK);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through() {
    let m = manager();
    let session = m.create("hana").await.unwrap();
    let app = Router::new()
        .route("/me", get(maybe))
        .route("/strict", get(whoami))
        .layer(SessionLayer::new(m.clone()).with_required(false));
    let anon = send(app.clone(), get_with(&[])).await;
    assert_eq!(
        (anon.status, anon.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    let known = send(
        app.clone(),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    )
    .await;
    assert_eq!(known.body, "hana");
    // A stale cookie doesn't block the page, and is removed.
    let stale = send(
        app.clone(),
        get_with(&[("cookie", &format!("token={}", "C".repeat(43)))]),
    )
    .await;
    assert_eq!(
        (stale.status, stale.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    assert!(stale.cookies()[0].contains("Max-Age=0"));
    // The `CurrentUser` extractor rejects when the layer let an anonymous request through.
    let strict = send(app, Request::get("/strict").body(Body::empty()).unwrap()).await;
    assert_eq!(strict.status, StatusCode::UNAUTHORIZED);
    assert_eq!(strict.json_error(), "Session does not exist.");
}

#[tokio::test]
async fn a_current_user_set_before_the_layer_is_not_trusted_in_optional_mode() {
    // An outer layer (or a bug) must not be able to smuggle a user past an anonymous request.
    let other = manager();
    let s = other.create("mallory").await.unwrap();
    let forged = other.authenticate(s.token.expose()).await.unwrap().user;
    let app = Router::new()
        .route("/me", get(maybe))
        .layer(SessionLayer::new(manager()).with_required(false))
        .layer(middleware::from_fn(
            move |mut req: Request<Body>, next: middleware::Next| {
                req.extensions_mut().insert(forged.clone());
                next.run(req)
            },
        ));
    let anonymous = send(app.clone(), get_with(&[])).await;
    assert_eq!(anonymous.body, "anonymous");
    let stale = send(
        app,
        get_with(&[("cookie", &format!("token={}", "E".repeat(43)))]),
    )
    .await;
    assert_eq!(stale.body, "anonymous");
}

#[tokio::test]
async fn the_rejection_is_replaceable_and_keeps_the_removal_cookie() {
    let m = manager();
    let app = Router::new()
        .route("/me", get(whoami))
        .layer(
            SessionLayer::new(m).with_rejection(|rejection: &Rejection| {
                (
                    StatusCode::SEE_OTHER,
                    [("location", "/login")],
                    format!("{rejection:?}"),
                )
                    .into_response()
            }),
        );
    let reply = send(app.clone(), get_with(&[])).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers["location"], "/login");
    assert_eq!(reply.body, "Missing");
    let bad_cookie = send(
        app,
        get_with(&[("cookie", &format!("token={}", "D".repeat(43)))]),
    )
    .await;
    assert_eq!(bad_cookie.status, StatusCode::SEE_OTHER);
    assert!(bad_cookie.cookies()[0].contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn store_outage_is_503_and_loses_nothing() {
    let (store, down, _) = faulty(MemoryStore::new());
    let config = SessionConfig::default().with_rotation(Some(Duration::ZERO));
    let m = SessionManager::new(store, config).unwrap();
    let session = m.create("ivan").await.unwrap();
    let cookie = format!("token={}", session.token.expose());
    down.store(true, Ordering::SeqCst);
    for request in [
        get_with(&[("cookie", &cookie)]),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    ] {
        let reply = send(app(&m), request).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers[RETRY_AFTER], "5");
        assert!(reply.json_error().contains("unavailable"));
        assert!(
            reply.cookies().is_empty(),
            "the cookie is kept during an outage"
        );
    }
    down.store(false, Ordering::SeqCst);
    let back = send(
        app(&m),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    )
    .await;
    assert_eq!((back.status, back.body.as_str()), (StatusCode::OK, "ivan"));
}

#[tokio::test]
async fn set_cookie_is_appended_to_the_apps_own() {
    let config = SessionConfig::default().with_rotation(Some(Duration::ZERO));
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("jo").await.unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|| async { ([(SET_COOKIE, "theme=dark; Path=/")], "ok") }),
        )
        .layer(SessionLayer::new(m));
    let reply = send(
        app,
        get_with(&[("cookie", &format!("token={}", session.token.expose()))]),
    )
    .await;
    let cookies = reply.cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(cookies[0], "theme=dark; Path=/");
    assert!(cookies[1].starts_with("token="));
}

#[tokio::test]
async fn rotation_issues_a_new_cookie_and_the_old_token_lives_out_its_grace() {
    let clock = TestClock::new();
    let config = SessionConfig::default()
        .with_rotation(Some(Duration::from_secs(600)))
        .with_grace_period(Duration::from_secs(30))
        .with_clock(clock.get());
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("kim").await.unwrap();
    let old = format!("token={}", session.token.expose());

    let young = send(app(&m), get_with(&[("cookie", &old)])).await;
    assert!(young.cookies().is_empty(), "not rotated before it is due");

    clock.advance(Duration::from_secs(601));
    // A Bearer token is never rotated: its client wouldn't read Set-Cookie.
    let by_bearer = send(
        app(&m),
        get_with(&[("authorization", &bearer(session.token.expose()))]),
    )
    .await;
    assert!(by_bearer.cookies().is_empty());

    let rotated = send(app(&m), get_with(&[("cookie", &old)])).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let set = rotated.cookies()[0].to_owned();
    let new_token = common::cookie_token(&set).unwrap();
    assert_ne!(new_token, session.token.expose());
    let max_age: u64 = set
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((604_000..=604_800 - 601).contains(&max_age), "{set}");

    // A request that still carried the old token, within the grace period: works, no cookie.
    let racing = send(app(&m), get_with(&[("cookie", &old)])).await;
    assert_eq!(
        (racing.status, racing.body.as_str()),
        (StatusCode::OK, "kim")
    );
    assert!(racing.cookies().is_empty());

    clock.advance(Duration::from_secs(31));
    let late = send(app(&m), get_with(&[("cookie", &old)])).await;
    assert_eq!(
        late.status,
        StatusCode::UNAUTHORIZED,
        "old token after the grace period"
    );
    let fresh = send(
        app(&m),
        get_with(&[("cookie", &format!("token={new_token}"))]),
    )
    .await;
    assert_eq!((fresh.status, fresh.body.as_str()), (StatusCode::OK, "kim"));
}

#[tokio::test]
async fn deleting_either_key_of_a_rotation_ends_both_tokens() {
    // By the new key (a log-out after the rotation), or by the old one (a log-out racing a
    // rotation, still naming the key it authenticated with).
    for by_old_key in [false, true] {
        let config = SessionConfig::default().with_rotation(Some(Duration::ZERO));
        let m = SessionManager::new(MemoryStore::new(), config).unwrap();
        let session = m.create("lee").await.unwrap();
        let old = session.token.expose().to_owned();
        let rotated = m
            .authenticate_from(&old, TokenSource::Cookie)
            .await
            .unwrap();
        let new = rotated.new_token.unwrap().token;
        let key = if by_old_key {
            session.user.session_key()
        } else {
            rotated.user.session_key()
        };
        assert!(m.delete(key).await.unwrap());
        assert!(
            m.authenticate(new.expose()).await.is_err(),
            "by old key: {by_old_key}"
        );
        assert!(
            m.authenticate(&old).await.is_err(),
            "by old key: {by_old_key}"
        );
    }
}

#[tokio::test]
async fn absolute_lifetime_is_checked_at_read_time() {
    let clock = TestClock::new();
    let config = SessionConfig::default()
        .with_lifetime(Duration::from_secs(3600))
        .with_clock(clock.get());
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("max").await.unwrap();
    let auth = [("authorization", bearer(session.token.expose()))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    clock.advance(Duration::from_secs(3599));
    assert_eq!(send(app(&m), get_with(&auth)).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    let expired = send(app(&m), get_with(&auth)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.json_error(), "Session does not exist.");
}

#[tokio::test]
async fn idle_timeout_slides_with_touches_at_most_once_per_interval() {
    let clock = TestClock::new();
    let (store, _, counts) = faulty(MemoryStore::new());
    let config = SessionConfig::default()
        .with_idle_timeout(Some(Duration::from_secs(600)))
        .with_touch_interval(Duration::from_secs(60))
        .with_clock(clock.get());
    let m = SessionManager::new(store, config).unwrap();
    let session = m.create("nia").await.unwrap();
    let header = bearer(session.token.expose());
    let writes_after_create = counts.writes();

    for _ in 0..20 {
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            send(app(&m), get_with(&[("authorization", &header)]))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        counts.writes() - writes_after_create,
        0,
        "40 s of requests: no touch yet"
    );
    clock.advance(Duration::from_secs(30));
    send(app(&m), get_with(&[("authorization", &header)])).await;
    send(app(&m), get_with(&[("authorization", &header)])).await;
    assert_eq!(
        counts.writes() - writes_after_create,
        1,
        "one touch per interval"
    );

    // Used every 500 s, the session outlives its 600 s idle timeout...
    for _ in 0..3 {
        clock.advance(Duration::from_secs(500));
        assert_eq!(
            send(app(&m), get_with(&[("authorization", &header)]))
                .await
                .status,
            StatusCode::OK
        );
    }
    // ...and ends after 600 s without use.
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        send(app(&m), get_with(&[("authorization", &header)]))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn steady_state_is_one_read_and_no_write() {
    let (store, _, counts) = faulty(MemoryStore::new());
    let m = SessionManager::new(store, SessionConfig::default()).unwrap();
    let session = m.create("ola").await.unwrap();
    let (loads, writes) = (counts.loads(), counts.writes());
    for _ in 0..10 {
        send(
            app(&m),
            get_with(&[("authorization", &bearer(session.token.expose()))]),
        )
        .await;
    }
    assert_eq!((counts.loads() - loads, counts.writes() - writes), (10, 0));
}

#[tokio::test]
async fn delete_user_ends_every_session_of_that_user_only() {
    let m = manager();
    let a1 = m.create("pat").await.unwrap();
    let a2 = m.create("pat").await.unwrap();
    let b = m.create("quinn").await.unwrap();
    assert_eq!(m.delete_user("pat").await.unwrap(), 2);
    for s in [&a1, &a2] {
        let reply = send(
            app(&m),
            get_with(&[("authorization", &bearer(s.token.expose()))]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let other = send(
        app(&m),
        get_with(&[("authorization", &bearer(b.token.expose()))]),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(m.delete(b.user.session_key()).await.unwrap());
    assert!(!m.delete(b.user.session_key()).await.unwrap());
}

#[tokio::test]
async fn create_returns_a_secure_cookie_and_never_stores_the_token() {
    let m = manager();
    let session = m.create("rae").await.unwrap();
    let cookie = session.set_cookie.to_str().unwrap();
    assert!(cookie.starts_with(&format!("token={};", session.token.expose())));
    for part in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    let record = m.load(session.user.session_key()).await.unwrap().unwrap();
    assert_ne!(record.key, session.token.expose());
    assert!(!format!("{record:?}").contains(session.token.expose()));
    assert!(!format!("{session:?}").contains(session.token.expose()));
    assert_eq!(session.user.sub(), None);
}

#[tokio::test]
async fn host_prefixed_cookie_needs_secure_root_and_no_domain() {
    let bad = SessionConfig::default()
        .with_cookie_name("__Host-token")
        .with_cookie_domain(Some("example.com".into()));
    assert!(SessionManager::new(MemoryStore::new(), bad).is_err());
    let good = SessionConfig::default().with_cookie_name("__Host-token");
    let m = SessionManager::new(MemoryStore::new(), good).unwrap();
    let session = m.create("sam").await.unwrap();
    let reply = send(
        app(&m),
        get_with(&[(
            "cookie",
            &format!("__Host-token={}", session.token.expose()),
        )]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn memory_store_purges_expired_records() {
    let clock = TestClock::new();
    let store = std::sync::Arc::new(MemoryStore::new());
    let config = SessionConfig::default()
        .with_lifetime(Duration::from_secs(60))
        .with_clock(clock.get());
    let m = SessionManager::new(store.clone(), config).unwrap();
    for i in 0..100 {
        m.create(&format!("u{i}")).await.unwrap();
    }
    assert_eq!(store.len(), 100);
    clock.advance(Duration::from_secs(120));
    // The next write sweeps what expired: memory stays bounded without a background task.
    m.create("late").await.unwrap();
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn every_set_cookie_carries_the_configured_attributes() {
    let config = SessionConfig::default()
        .with_cookie_name("sid")
        .with_cookie_same_site(cognito_session::SameSite::Strict)
        .with_cookie_domain(Some("example.com".into()))
        .with_cookie_path("/app")
        .with_rotation(Some(Duration::ZERO));
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("uma").await.unwrap();
    let login = session.set_cookie.to_str().unwrap().to_owned();
    let rotated = send(
        app(&m),
        get_with(&[("cookie", &format!("sid={}", session.token.expose()))]),
    )
    .await
    .cookies()[0]
        .to_owned();
    let removed = send(
        app(&m),
        get_with(&[("cookie", &format!("sid={}", "F".repeat(43)))]),
    )
    .await
    .cookies()[0]
        .to_owned();
    let logout = m.removal_cookie().to_str().unwrap().to_owned();
    for (what, cookie) in [
        ("log-in", &login),
        ("rotation", &rotated),
        ("removal", &removed),
        ("log-out", &logout),
    ] {
        assert!(cookie.starts_with("sid="), "{what}: {cookie}");
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/app",
            "Domain=example.com",
        ] {
            assert!(cookie.contains(part), "{what}: {cookie} lacks {part}");
        }
    }
    assert!(!rotated.contains("Max-Age=0") && removed.contains("Max-Age=0"));
}

#[tokio::test]
async fn the_apps_own_session_cookie_is_never_overridden() {
    // A log-out handler removes the cookie while the layer rotates it: the handler's word is
    // final, else the browser would keep the layer's (last) cookie and stay logged in.
    let config = SessionConfig::default().with_rotation(Some(Duration::ZERO));
    let m = SessionManager::new(MemoryStore::new(), config).unwrap();
    let session = m.create("wes").await.unwrap();
    let removal = m.removal_cookie();
    let app = Router::new()
        .route(
            "/me",
            get(move || async move { ([(SET_COOKIE, removal.clone())], "bye") }),
        )
        .layer(SessionLayer::new(m));
    let reply = send(
        app,
        get_with(&[("cookie", &format!("token={}", session.token.expose()))]),
    )
    .await;
    let cookies = reply.cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].contains("Max-Age=0"), "{cookies:?}");
}

#[tokio::test]
async fn a_rotation_whose_write_landed_but_timed_out_still_hands_over_the_new_token() {
    let clock = TestClock::new();
    let (store, _, _) = faulty(MemoryStore::new());
    let lie = store.interceptor().lie.clone();
    let config = SessionConfig::default()
        .with_rotation(Some(Duration::ZERO))
        .with_clock(clock.get());
    let m = SessionManager::new(store, config).unwrap();
    let session = m.create("xia").await.unwrap();
    lie.store(true, Ordering::SeqCst);
    let reply = send(
        app(&m),
        get_with(&[("cookie", &format!("token={}", session.token.expose()))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let new = common::cookie_token(reply.cookies().first().expect("the new token")).unwrap();
    // Past the grace period the old token is over; the new one must carry the session.
    clock.advance(Duration::from_secs(31));
    let later = send(app(&m), get_with(&[("authorization", &bearer(&new))])).await;
    assert_eq!((later.status, later.body.as_str()), (StatusCode::OK, "xia"));
}
