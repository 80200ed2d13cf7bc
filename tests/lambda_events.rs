//! examples/lambda's handler in-process, fed API Gateway events as AWS sends them
//! (tests/fixtures/lambda/): REST API (payload 1.0), HTTP API and function URLs (payload
//! 2.0). What crosses the translation: every `Cookie` the client sent (1.0's repeated
//! headers, 2.0's `cookies` array), and every `Set-Cookie` of the answer (1.0's
//! `multiValueHeaders`, 2.0's `cookies`), the app's own beside the session's.
//!
//! The same events go through the real runtime client and cargo-lambda's emulator in
//! tests/lambda.rs.

// The example's routes, as the function serves them (this test uses only `app::app`).
#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/lambda/function.rs"]
mod function;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionManager};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A recorded event with its `{{NAME}}` placeholders filled in.
fn event(name: &str, vars: &[(&str, &str)]) -> LambdaEvent<LambdaRequest> {
    let path = format!(
        "{}/tests/fixtures/lambda/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (key, value) in vars {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    assert!(!text.contains("{{"), "{name}: a placeholder is left");
    let payload = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    LambdaEvent::new(payload, Context::default())
}

/// The app's own cookie, set on every answer beside whatever the session layer sets.
async fn theme_cookie(mut response: Response) -> Response {
    response
        .headers_mut()
        .append("set-cookie", HeaderValue::from_static("theme=dark; Path=/"));
    response
}

/// The example's app on the embedded default (memory, opaque tokens) and its manager.
fn app() -> (Router, SessionManager) {
    let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let app = app::app(sessions.clone()).layer(axum::middleware::map_response(theme_cookie));
    (app, sessions)
}

/// The handler's answer to `event`, as the JSON API Gateway reads.
async fn invoke(app: Router, event: LambdaEvent<LambdaRequest>) -> Value {
    let response = function::handler(app).oneshot(event).await.unwrap();
    serde_json::to_value(response).unwrap()
}

/// The answer's body, parsed.
fn body(answer: &Value) -> Value {
    let text = answer["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A REST API answer's `Set-Cookie` headers, all in `multiValueHeaders`.
fn rest_set_cookies(answer: &Value) -> Vec<String> {
    assert_eq!(
        answer["headers"],
        json!({}),
        "1.0: headers go in multiValueHeaders only"
    );
    let values = answer["multiValueHeaders"]["set-cookie"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    values
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// A payload 2.0 answer's `Set-Cookie` headers, all in `cookies`.
fn http_set_cookies(answer: &Value) -> Vec<String> {
    assert!(
        answer["headers"].get("set-cookie").is_none(),
        "2.0: cookies go in `cookies`, not in headers: {answer}"
    );
    let values = answer["cookies"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    values
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rest_api_log_in_answers_every_set_cookie_in_multi_value_headers() {
    let (app, _) = app();
    let vars = [("USERNAME", "alice"), ("PASSWORD", "unchecked")];
    let answer = invoke(app, event("rest-post-sessions.json", &vars)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let token = body(&answer)["sessionId"].as_str().unwrap().to_owned();
    let cookies = rest_set_cookies(&answer);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with(&format!("token={token};")) && cookies[0].contains("HttpOnly"),
        "{cookies:?}"
    );
    assert_eq!(cookies[1], "theme=dark; Path=/");
}

#[tokio::test]
async fn http_api_log_in_answers_every_set_cookie_in_cookies() {
    let (app, _) = app();
    let vars = [("USERNAME", "alice"), ("PASSWORD", "unchecked")];
    let answer = invoke(app, event("http-post-sessions.json", &vars)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let token = body(&answer)["sessionId"].as_str().unwrap().to_owned();
    let cookies = http_set_cookies(&answer);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with(&format!("token={token};")),
        "{cookies:?}"
    );
    assert_eq!(cookies[1], "theme=dark; Path=/");
}

#[tokio::test]
async fn rest_api_repeated_cookie_headers_all_reach_the_layer() {
    let (app, sessions) = app();
    let token = sessions.create("alice").await.unwrap().token;
    // Two Cookie headers, the session's first: `headers` holds only the last one.
    let get = || event("rest-get-sessions.json", &[("TOKEN", token.expose())]);
    let answer = invoke(app.clone(), get()).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "alice"}));

    // Why the handler fixes the event first: lambda_http alone lets `headers` replace
    // `multiValueHeaders`, and the session cookie is lost. (If this starts to pass, the fix
    // in examples/lambda/function.rs can go.)
    let app = tower::ServiceBuilder::new()
        .map_request(function::strip_stage)
        .service(app);
    let plain = Adapter::from(app).oneshot(get()).await.unwrap();
    let plain = serde_json::to_value(plain).unwrap();
    assert_eq!(plain["statusCode"], 401, "{plain}");
}

#[tokio::test]
async fn rest_api_stage_is_not_part_of_the_route() {
    let (app, sessions) = app();
    let token = sessions.create("bob").await.unwrap().token;
    // The fixture is the `prod` stage's `/sessions`: lambda_http makes it `/prod/sessions`.
    let answer = invoke(
        app,
        event("rest-get-sessions.json", &[("TOKEN", token.expose())]),
    )
    .await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "bob"}));
}

#[tokio::test]
async fn http_api_cookies_array_reaches_the_layer() {
    let (app, sessions) = app();
    let token = sessions.create("carol").await.unwrap().token;
    // `cookies`: ["theme=dark", "token=...", "lang=en"].
    let answer = invoke(
        app.clone(),
        event("http-get-sessions.json", &[("TOKEN", token.expose())]),
    )
    .await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "carol"}));
    assert_eq!(
        http_set_cookies(&answer),
        ["theme=dark; Path=/"],
        "nothing changed"
    );

    // A token that isn't a session: 401, and a removal of the cookie in `cookies`.
    let bad = "A".repeat(43);
    let answer = invoke(app, event("http-get-sessions.json", &[("TOKEN", &bad)])).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    let cookies = http_set_cookies(&answer);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("token=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn function_url_delete_ends_the_sessions_and_removes_the_cookie() {
    let (app, sessions) = app();
    let token = sessions.create("dave").await.unwrap().token;
    let vars = [("TOKEN", token.expose()), ("USERNAME", "dave")];
    let answer = invoke(
        app.clone(),
        event("function-url-delete-session.json", &vars),
    )
    .await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "dave"}));
    let cookies = http_set_cookies(&answer);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("token=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    assert!(
        cookies.contains(&"theme=dark; Path=/".to_owned()),
        "{cookies:?}"
    );

    let again = invoke(
        app,
        event("http-get-sessions.json", &[("TOKEN", token.expose())]),
    )
    .await;
    assert_eq!(again["statusCode"], 401, "{again}");
    assert_eq!(body(&again), json!({"error": "Session does not exist."}));
}
