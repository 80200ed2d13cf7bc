//! The example server, as a person runs it: the real binary over HTTP on 127.0.0.1.

mod common;

use common::server::{ExampleServer, start_failure};
use serde_json::{Value, json};

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}")),
    )
}

/// The curl sequence of the DynamoDB Book's session store README, step by step.
#[tokio::test]
async fn the_books_curl_flow_with_bearer_tokens() {
    let server = ExampleServer::start(&[]);
    let client = reqwest::Client::new();
    let base = &server.url;

    let (status, created) = json(
        client
            .post(format!("{base}/sessions"))
            .header("Content-Type", "application/json")
            .body(r#"{ "username": "myuser", "password": "Password1" }"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let token = created["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(created.as_object().unwrap().len(), 1, "{created}");

    let get = || {
        client
            .get(format!("{base}/sessions"))
            .header("Content-Type", "application/json")
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        json(get().await.unwrap()).await,
        (200, json!({"username": "myuser"}))
    );

    let deleted = client
        .delete(format!("{base}/sessions/myuser"))
        .header("Content-Type", "application/json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(deleted).await, (200, json!({"username": "myuser"})));

    assert_eq!(
        json(get().await.unwrap()).await,
        (401, json!({"error": "Session does not exist."}))
    );
}

#[tokio::test]
async fn the_same_flow_with_the_cookie_only() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let base = &server.url;
    let login = client
        .post(format!("{base}/sessions"))
        .json(&json!({"username": "cookie-user", "password": "x"}))
        .send()
        .await
        .unwrap();
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("token=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    assert_eq!(login.status(), 200);

    let me = client.get(format!("{base}/sessions")).send().await.unwrap();
    assert_eq!(json(me).await, (200, json!({"username": "cookie-user"})));
    let deleted = client
        .delete(format!("{base}/sessions/cookie-user"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(deleted).await,
        (200, json!({"username": "cookie-user"}))
    );
    let after = client.get(format!("{base}/sessions")).send().await.unwrap();
    assert_eq!(
        json(after).await,
        (401, json!({"error": "Session does not exist."}))
    );
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let server = ExampleServer::start(&[]);
    let client = reqwest::Client::new();
    let base = &server.url;
    for body in [
        "",
        "not json",
        r#"{"username": 5}"#,
        r#"{"password": "p"}"#,
        r#"{"username": "", "password": "p"}"#,
    ] {
        let (status, value) = json(
            client
                .post(format!("{base}/sessions"))
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(value["error"].is_string(), "{body}: {value}");
    }

    let (_, a) = json(
        client
            .post(format!("{base}/sessions"))
            .json(&json!({"username": "a", "password": "p"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token_a = a["sessionId"].as_str().unwrap();
    let other = client
        .delete(format!("{base}/sessions/b"))
        .bearer_auth(token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(other).await,
        (401, json!({"error": "Invalid session."}))
    );
    let unknown = client
        .get(format!("{base}/sessions"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[test]
fn bad_configuration_stops_the_server_with_one_line_naming_the_variable() {
    for (env, variable) in [
        (&[("BIND", "nowhere")][..], "BIND"),
        (&[("USER_POOL_ID", "us-east-1_abc")][..], "CLIENT_ID"),
        (
            &[("SESSION_LIFETIME_SECS", "a week")][..],
            "SESSION_LIFETIME_SECS",
        ),
    ] {
        let output = start_failure(env);
        assert!(!output.status.success(), "{env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(line.contains(variable), "{line}");
    }
}

#[tokio::test]
async fn the_home_page_is_served() {
    let server = ExampleServer::start(&[]);
    let page = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    for id in [r#"id="login""#, r#"id="whoami""#, r#"id="logout""#] {
        assert!(html.contains(id), "{id}");
    }
}

#[test]
fn ctrl_c_shuts_the_server_down_cleanly() {
    let server = ExampleServer::start(&[]);
    let status = server.interrupt(std::time::Duration::from_secs(10));
    assert!(status.success(), "{status}");
}
