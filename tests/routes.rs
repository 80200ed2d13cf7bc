//! The ready-made log-in routes (`cognito_session::routes::LoginRoutes`) and the page
//! rejection (`rejection::RedirectToLogin`), in process on the embedded store. The Cognito
//! side of the same routes runs against moto and oidc-provider in `tests/example_minimal.rs`
//! and the example server's tests.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_session::rejection::RedirectToLogin;
use cognito_session::routes::LoginRoutes;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn manager() -> SessionManager {
    SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap()
}

async fn me(user: CurrentUser) -> String {
    user.username().to_owned()
}

/// `/me` behind the layer, and the log-in routes.
fn app(sessions: &SessionManager, routes: LoginRoutes) -> Router {
    Router::new()
        .route("/me", get(me))
        .route_layer(SessionLayer::new(sessions.clone()))
        .merge(routes)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn post_json(path: &str) -> http::request::Builder {
    Request::post(path).header(header::CONTENT_TYPE, "application/json")
}

fn log_in_request(username: &str) -> Request<Body> {
    let body = format!(r#"{{"username":"{username}","password":"anything"}}"#);
    post_json("/sessions").body(Body::from(body)).unwrap()
}

fn session_id(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["sessionId"].as_str().unwrap().to_owned()
}

fn bearer(path: &str, method: http::Method, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn without_a_pool_there_is_no_password_log_in_unless_the_demo_asks_for_one() {
    let sessions = manager();
    let closed = app(&sessions, LoginRoutes::new(sessions.clone()));
    let (status, _, _) = send(&closed, log_in_request("alice")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing would check the password"
    );

    let demo = app(
        &sessions,
        LoginRoutes::new(sessions.clone()).with_passwordless_demo(true),
    );
    let (status, headers, body) = send(&demo, log_in_request("alice")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("token=")
    );
    let token = session_id(&body);
    let (status, _, body) = send(&demo, bearer("/me", http::Method::GET, &token)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
}

#[tokio::test]
async fn log_in_asks_for_json_from_this_site() {
    let sessions = manager();
    let demo = app(
        &sessions,
        LoginRoutes::new(sessions.clone()).with_passwordless_demo(true),
    );
    let form = Request::post("/sessions")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"username":"alice","password":"x"}"#))
        .unwrap();
    let (status, _, body) = send(&demo, form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");

    let mut cross_site = log_in_request("alice");
    cross_site
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let (status, _, body) = send(&demo, cross_site).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body, r#"{"error":"Cross-site request refused."}"#);

    // The demo asks no challenges, but its path is refused like a log-in, not left to the
    // application's routes.
    let challenge = post_json("/sessions/challenge")
        .body(Body::from(
            r#"{"username":"alice","session":"s","code":"1"}"#,
        ))
        .unwrap();
    let (status, _, body) = send(&demo, challenge).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body, r#"{"error":"No log-in challenge to answer."}"#);

    let garbage = post_json("/sessions/challenge")
        .body(Body::from("{"))
        .unwrap();
    let (status, _, body) = send(&demo, garbage).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("session"),
        "the challenge body's shape: {body}"
    );

    let garbage = post_json("/sessions").body(Body::from("{")).unwrap();
    let (status, _, body) = send(&demo, garbage).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("username"), "{body}");
}

#[tokio::test]
async fn post_logout_ends_the_session_and_get_ends_nothing() {
    let sessions = manager();
    let app = app(
        &sessions,
        LoginRoutes::new(sessions.clone()).with_passwordless_demo(true),
    );
    let (_, _, body) = send(&app, log_in_request("alice")).await;
    let token = session_id(&body);

    // A top-level navigation from another site is a GET: it must not end the session.
    let (status, _, _) = send(&app, bearer("/logout", http::Method::GET, &token)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = send(&app, bearer("/me", http::Method::GET, &token)).await;
    assert_eq!(status, StatusCode::OK, "the session survives a GET /logout");

    // Another site's form posting to /logout is refused, and the session stays.
    let cookie_logout = |origin: &str| {
        Request::post("/logout")
            .header(header::COOKIE, format!("token={token}"))
            .header("origin", origin)
            .header(header::HOST, "app.example")
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = send(&app, cookie_logout("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&app, bearer("/me", http::Method::GET, &token)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session survives a cross-site POST"
    );

    // This site's own form: 204 (no managed login), the cookie removed, the session gone.
    let (status, headers, _) = send(&app, cookie_logout("http://app.example")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let removal = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(removal.starts_with("token=;"), "{removal}");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    let (status, _, _) = send(&app, bearer("/me", http::Method::GET, &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Without a session it is no error: a log-out button always works.
    let (status, _, _) = send(&app, bearer("/logout", http::Method::POST, &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn every_path_can_be_moved() {
    let sessions = manager();
    let routes = LoginRoutes::new(sessions.clone())
        .with_passwordless_demo(true)
        .with_sessions_path("/api/sessions")
        .with_logout_path("/api/logout");
    let app = app(&sessions, routes);
    let (status, _, _) = send(&app, log_in_request("alice")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = r#"{"username":"alice","password":"x"}"#;
    let moved = post_json("/api/sessions").body(Body::from(body)).unwrap();
    let (status, _, body) = send(&app, moved).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = session_id(&body);
    let (status, _, _) = send(&app, bearer("/api/logout", http::Method::POST, &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&app, bearer("/me", http::Method::GET, &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn page_app(sessions: &SessionManager) -> Router {
    Router::new()
        .route("/account", get(me))
        .layer(SessionLayer::new(sessions.clone()).with_rejection(RedirectToLogin::new("/login")))
}

fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_page_without_a_session_is_sent_to_the_log_in() {
    let sessions = manager();
    let app = page_app(&sessions);
    let browser = [(
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )];
    let (status, headers, body) =
        send(&app, get_with("/account?tab=orders&x=a%20b", &browser)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/account%3Ftab%3Dorders%26x%3Da%2520b"
    );
    assert!(body.is_empty());

    // An unknown cookie is as good as none, and is removed as the layer always does.
    let stale = [
        browser[0],
        (
            "cookie",
            "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ];
    let (status, headers, _) = send(&app, get_with("/account", &stale)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/login?next=/account");
    assert!(headers.contains_key(header::SET_COOKIE));

    // API clients keep the JSON 401.
    let (status, headers, body) = send(
        &app,
        get_with("/account", &[("accept", "application/json")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(body, r#"{"error":"Session does not exist."}"#);
    let (status, _, _) = send(&app, get_with("/account", &[])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A form post is no page to come back to.
    let post = Request::post("/account")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(&app, post).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // With a session the page is served.
    let session = sessions.create("alice").await.unwrap();
    let mut request = get_with("/account", &browser);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {}", session.token.expose())
            .parse()
            .unwrap(),
    );
    let (status, _, body) = send(&app, request).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
}
