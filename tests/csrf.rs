//! The layer's CSRF guard: cookie-authenticated requests that change state are refused when
//! another site or origin sent them; Bearer requests and safe methods are not looked at.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use cognito_session::rejection::Rejection;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use common::stores::{Counts, faulty};
use http::header::{CONTENT_TYPE, SET_COOKIE, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The host the test requests are sent to, and its origin.
const HOST: &str = "127.0.0.1:3000";
const OWN: &str = "http://127.0.0.1:3000";

struct Site {
    manager: SessionManager,
    counts: Counts,
    down: Arc<std::sync::atomic::AtomicBool>,
    /// How many requests reached the handler.
    handled: Arc<AtomicUsize>,
    cookie: String,
    bearer: String,
}

async fn site(config: SessionConfig) -> Site {
    let (store, down, counts) = faulty(MemoryStore::new());
    let manager = SessionManager::new(store, config).unwrap();
    let session = manager.create("alice").await.unwrap();
    Site {
        manager,
        counts,
        down,
        handled: Arc::default(),
        cookie: format!("token={}", session.token.expose()),
        bearer: format!("Bearer {}", session.token.expose()),
    }
}

impl Site {
    /// `/act`, any method, counting the requests that reach it; without a layer.
    fn routes(&self) -> Router {
        let handled = self.handled.clone();
        Router::new().route(
            "/act",
            any(move |user: CurrentUser| {
                let handled = handled.clone();
                async move {
                    handled.fetch_add(1, Ordering::SeqCst);
                    user.username().to_owned()
                }
            }),
        )
    }

    async fn send_with(
        &self,
        layer: SessionLayer,
        method: Method,
        headers: &[(&str, &str)],
    ) -> (StatusCode, http::HeaderMap, String) {
        send(self.routes().layer(layer), method, headers).await
    }

    /// A request with the session cookie, sent to [`HOST`], with `headers` on top.
    async fn with_cookie(&self, method: Method, headers: &[(&str, &str)]) -> StatusCode {
        let mut all = vec![("cookie", self.cookie.as_str()), ("host", HOST)];
        all.extend_from_slice(headers);
        let layer = SessionLayer::new(self.manager.clone());
        self.send_with(layer, method, &all).await.0
    }
}

async fn send(
    app: Router,
    method: Method,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, String) {
    let mut builder = Request::builder().method(method).uri("/act");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = app
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

const UNSAFE: [Method; 4] = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

#[tokio::test]
async fn a_cross_site_cookie_request_is_refused_before_the_store_is_read() {
    let site = site(SessionConfig::default()).await;
    let loads = site.counts.loads();
    for method in UNSAFE {
        let layer = SessionLayer::new(site.manager.clone());
        let headers = [
            ("cookie", site.cookie.as_str()),
            ("host", HOST),
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
        ];
        let (status, headers, body) = site.send_with(layer, method.clone(), &headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(body, r#"{"error":"Cross-site request refused."}"#);
        assert!(!headers.contains_key(WWW_AUTHENTICATE));
        // The session is fine: its cookie is not removed.
        assert!(!headers.contains_key(SET_COOKIE), "{method}");
    }
    assert_eq!(
        site.counts.loads(),
        loads,
        "no store read for a refused request"
    );
    assert_eq!(site.handled.load(Ordering::SeqCst), 0);
    // Refused even while the store is down: a 403, not the 503 a look-up would give.
    site.down.store(true, Ordering::SeqCst);
    let refused = site
        .with_cookie(Method::POST, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(refused, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sec_fetch_site_cross_site_is_refused_whatever_the_origin() {
    let site = site(SessionConfig::default()).await;
    for origin in [None, Some(OWN), Some("https://127.0.0.1:3000")] {
        let mut headers = vec![("sec-fetch-site", "cross-site")];
        headers.extend(origin.map(|o| ("origin", o)));
        assert_eq!(
            site.with_cookie(Method::POST, &headers).await,
            StatusCode::FORBIDDEN,
            "{origin:?}"
        );
    }
    for fetch_site in ["same-origin", "same-site", "none"] {
        let headers = [("sec-fetch-site", fetch_site), ("origin", OWN)];
        assert_eq!(
            site.with_cookie(Method::POST, &headers).await,
            StatusCode::OK,
            "{fetch_site}"
        );
    }
}

#[tokio::test]
async fn an_origin_other_than_the_own_one_is_refused() {
    let site = site(SessionConfig::default()).await;
    for method in UNSAFE {
        for origin in [
            "http://evil.example",
            // Same site, another port: browsers say `Sec-Fetch-Site: same-site`.
            "http://127.0.0.1:3001",
            "http://localhost:3000",
            "null",
        ] {
            let headers = [("origin", origin), ("sec-fetch-site", "same-site")];
            assert_eq!(
                site.with_cookie(method.clone(), &headers).await,
                StatusCode::FORBIDDEN,
                "{method} {origin}"
            );
            assert_eq!(
                site.with_cookie(method.clone(), &[("origin", origin)])
                    .await,
                StatusCode::FORBIDDEN,
                "{method} {origin} without fetch metadata"
            );
        }
        assert_eq!(
            site.with_cookie(method.clone(), &[("origin", OWN)]).await,
            StatusCode::OK,
            "{method} from the own origin"
        );
        // Behind a proxy that ends TLS the browser says https.
        let https = [("origin", "https://127.0.0.1:3000")];
        assert_eq!(
            site.with_cookie(method.clone(), &https).await,
            StatusCode::OK
        );
        // No Origin: not a browser, or an old one; SameSite is the defence there.
        assert_eq!(site.with_cookie(method.clone(), &[]).await, StatusCode::OK);
    }
    assert_eq!(site.handled.load(Ordering::SeqCst), 4 * 3);
}

#[tokio::test]
async fn safe_methods_are_not_checked() {
    let site = site(SessionConfig::default()).await;
    let hostile = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ];
    for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
        assert_eq!(
            site.with_cookie(method.clone(), &hostile).await,
            StatusCode::OK,
            "{method}"
        );
    }
}

#[tokio::test]
async fn bearer_requests_are_not_checked() {
    let site = site(SessionConfig::default()).await;
    let headers = [
        ("authorization", site.bearer.as_str()),
        ("host", HOST),
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ];
    for method in UNSAFE {
        let layer = SessionLayer::new(site.manager.clone());
        let (status, _, body) = site.send_with(layer, method.clone(), &headers).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "alice"),
            "{method}"
        );
    }
    // With both, the Bearer token is the one used (the default order), and not checked.
    let layer = SessionLayer::new(site.manager.clone());
    let mut both = headers.to_vec();
    both.push(("cookie", site.cookie.as_str()));
    assert_eq!(
        site.send_with(layer, Method::POST, &both).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_guard_can_be_turned_off() {
    let site = site(SessionConfig::default().with_csrf_protection(false)).await;
    let hostile = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ];
    assert_eq!(
        site.with_cookie(Method::POST, &hostile).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn listed_origins_replace_the_own_one_and_may_be_cross_site() {
    let config = SessionConfig::default().with_allowed_origins(["https://front.example"]);
    let site = site(config).await;
    let front = [
        ("origin", "https://front.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(site.with_cookie(Method::POST, &front).await, StatusCode::OK);
    for origin in [OWN, "https://front.example:8443", "http://front.example"] {
        assert_eq!(
            site.with_cookie(Method::POST, &[("origin", origin)]).await,
            StatusCode::FORBIDDEN,
            "{origin}"
        );
    }
    let unnamed = [("sec-fetch-site", "cross-site")];
    assert_eq!(
        site.with_cookie(Method::POST, &unnamed).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_refusal_can_be_answered_otherwise() {
    let site = site(SessionConfig::default()).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let layer = SessionLayer::new(site.manager.clone()).with_rejection(move |r: &Rejection| {
        record.lock().unwrap().push(*r);
        http::Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/")
            .body(Body::empty())
            .unwrap()
    });
    let headers = [
        ("cookie", site.cookie.as_str()),
        ("host", HOST),
        ("origin", "http://evil.example"),
    ];
    let (status, headers, _) = send(site.routes().layer(layer), Method::POST, &headers).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/");
    assert_eq!(*seen.lock().unwrap(), [Rejection::CrossSite]);
    assert_eq!(Rejection::CrossSite.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_optional_layer_refuses_too_rather_than_going_on_without_the_user() {
    let site = site(SessionConfig::default()).await;
    let layer = SessionLayer::new(site.manager.clone()).with_required(false);
    let headers = [
        ("cookie", site.cookie.as_str()),
        ("host", HOST),
        ("origin", "http://evil.example"),
    ];
    let (status, _, _) = site.send_with(layer, Method::POST, &headers).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Without a cookie there is nothing to forge: the optional layer lets it through.
    let layer = SessionLayer::new(site.manager.clone()).with_required(false);
    let app = Router::new()
        .route("/open", any(|| async { "open" }))
        .layer(layer);
    let request = Request::post("/open")
        .header("host", HOST)
        .header("origin", "http://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);
}

#[test]
fn an_allowed_origin_that_is_no_origin_stops_the_manager() {
    for bad in ["https://front.example/", "null", "*", "front.example"] {
        let config = SessionConfig::default().with_allowed_origins([bad]);
        let error = SessionManager::new(MemoryStore::new(), config).unwrap_err();
        assert!(error.to_string().contains(bad), "{error}");
    }
}
