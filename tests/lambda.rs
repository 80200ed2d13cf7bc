//! examples/lambda under a real Lambda emulator (cargo-lambda's runtime API, on 127.0.0.1),
//! with its sessions in DynamoDB Local and Cognito played by moto: the DynamoDB Book's curl
//! flow through a function URL, cookies both ways, and recorded API Gateway events sent
//! straight to the function through the runtime client.

mod common;

use common::cognito::Pool;
use common::lambda::{RuntimeApi, lambda_binary};
use common::server::{aws_env, curl_flow, json};
use serde_json::{Value, json};

const PASSWORD: &str = "Sup3r-Secret!";

/// A pool with `username` in it, cargo-lambda's emulator, and the function polling it in
/// AWS mode (`scripts/dev-aws`'s environment).
async fn function_with_user(username: &str) -> (Pool, RuntimeApi, common::lambda::Function) {
    let pool = Pool::new().await;
    pool.add_user(username, PASSWORD).await;
    let binary = lambda_binary();
    let api = RuntimeApi::start();
    let env = aws_env(&pool, &[]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = api.spawn_function(&binary, &env);
    (pool, api, function)
}

#[tokio::test]
async fn the_books_curl_flow_through_a_function_url() {
    let (_pool, api, mut function) = function_with_user("myuser").await;
    let token = function
        .answer(curl_flow(&api.function_url(), "myuser", PASSWORD))
        .await;
    assert_eq!(token.split('.').count(), 3, "the Cognito access token");
    function.assert_running();
}

#[tokio::test]
async fn cookies_both_ways_through_a_function_url() {
    let (_pool, api, mut function) = function_with_user("cookie-user").await;
    let base = api.function_url();
    let client = reqwest::Client::new();
    let login = function
        .answer(
            client
                .post(format!("{base}/sessions"))
                .json(&json!({"username": "cookie-user", "password": PASSWORD}))
                .send(),
        )
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let set_cookies: Vec<String> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set_cookies.len(), 1, "{set_cookies:?}");
    let token = common::cookie_token(&set_cookies[0]).expect("a session cookie");
    assert!(set_cookies[0].contains("HttpOnly"), "{set_cookies:?}");

    // Several cookies, the session's among them: 2.0's `cookies` array. (The emulator reads
    // one Cookie header, which is what HTTP/1.1 clients send; repeated Cookie headers are
    // checked on recorded events in tests/lambda_events.rs.)
    let cookie = format!("theme=dark; token={token}; lang=en");
    let me = client
        .get(format!("{base}/sessions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(json(me).await, (200, json!({"username": "cookie-user"})));

    let bye = client
        .delete(format!("{base}/sessions/cookie-user"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bye.status(), 200);
    let removal = bye.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        removal.starts_with("token=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    let after = client
        .get(format!("{base}/sessions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(after).await,
        (401, json!({"error": "Session does not exist."}))
    );
    function.assert_running();
}

/// A recorded event with its `{{NAME}}` placeholders filled in.
fn fixture(name: &str, vars: &[(&str, &str)]) -> String {
    let path = format!(
        "{}/tests/fixtures/lambda/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (key, value) in vars {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text
}

#[tokio::test]
async fn api_gateway_events_through_the_runtime_client() {
    let (_pool, api, mut function) = function_with_user("evented").await;
    let client = reqwest::Client::new();
    let invoke = |event: String| {
        let request = client
            .post(api.invoke_url())
            .header("content-type", "application/json")
            .body(event)
            .send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200, "the invocation itself");
            response.json::<Value>().await.unwrap()
        }
    };
    let body = |answer: &Value| -> Value {
        serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
    };
    let login_vars = [("USERNAME", "evented"), ("PASSWORD", PASSWORD)];

    // REST API (1.0): the session cookie in multiValueHeaders.
    let answer = function
        .answer(invoke(fixture("rest-post-sessions.json", &login_vars)))
        .await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let token = body(&answer)["sessionId"].as_str().unwrap().to_owned();
    let set_cookie = answer["multiValueHeaders"]["set-cookie"][0]
        .as_str()
        .unwrap();
    assert_eq!(
        common::cookie_token(set_cookie).as_deref(),
        Some(token.as_str())
    );
    // Two Cookie headers, the session's first.
    let answer = invoke(fixture("rest-get-sessions.json", &[("TOKEN", &token)])).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "evented"}));

    // HTTP API (2.0): the session cookie in `cookies`, and `cookies` on the way in.
    let answer = invoke(fixture("http-post-sessions.json", &login_vars)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let token = body(&answer)["sessionId"].as_str().unwrap().to_owned();
    let set_cookie = answer["cookies"][0].as_str().unwrap();
    assert_eq!(
        common::cookie_token(set_cookie).as_deref(),
        Some(token.as_str())
    );
    assert!(answer["headers"].get("set-cookie").is_none(), "{answer}");
    let answer = invoke(fixture("http-get-sessions.json", &[("TOKEN", &token)])).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(body(&answer), json!({"username": "evented"}));

    // A function URL (2.0): log out everywhere, with the cookie.
    let vars = [("TOKEN", token.as_str()), ("USERNAME", "evented")];
    let answer = invoke(fixture("function-url-delete-session.json", &vars)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let removal = answer["cookies"][0].as_str().unwrap();
    assert!(removal.starts_with("token=;"), "{removal}");
    let answer = invoke(fixture("http-get-sessions.json", &[("TOKEN", &token)])).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    assert_eq!(body(&answer), json!({"error": "Session does not exist."}));
    function.assert_running();
}

#[test]
fn without_a_user_pool_the_function_refuses_to_start() {
    // Password-less demo mode, reachable from anywhere once deployed: refused unless asked
    // for, before the runtime is even polled.
    let output = std::process::Command::new(lambda_binary())
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("USER_POOL_ID") && line.contains("ALLOW_INSECURE_DEMO"),
        "{line}"
    );
}
