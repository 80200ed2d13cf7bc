//! The example server, as a person runs it: the real binary over HTTP on 127.0.0.1.

mod common;

use common::server::{
    ExampleServer, assert_refused_naming, cookie_flow, curl_flow, json, log_in, my_sessions_flow,
};
use serde_json::json;

/// The curl sequence of the DynamoDB Book's session store README, step by step.
#[tokio::test]
async fn the_books_curl_flow_with_bearer_tokens() {
    let server = ExampleServer::start(&[]);
    curl_flow(&server.url, "myuser", "Password1").await;
}

#[tokio::test]
async fn the_same_flow_with_the_cookie_only() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    cookie_flow(&server.url, "cookie-user", "x").await;
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
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(value["error"].is_string(), "{body}: {value}");
    }

    let token_a = log_in(base, "a", "p").await;
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
        assert_refused_naming(env, variable);
    }
}

#[test]
fn the_password_less_demo_listens_only_on_this_machine_unless_told_otherwise() {
    // Refused before anything is bound: these addresses are never listened on.
    for bind in ["0.0.0.0:3999", "[::]:3999", "192.0.2.7:3999"] {
        assert_refused_naming(&[("BIND", bind)], "BIND");
        let output = common::server::start_failure(&[("BIND", bind)]);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("ALLOW_INSECURE_DEMO=true"), "{said}");
    }
    // Told otherwise, it goes past that check (and fails only to bind an address this
    // machine doesn't have).
    let output = common::server::start_failure(&[
        ("BIND", "192.0.2.7:3999"),
        ("ALLOW_INSECURE_DEMO", "true"),
    ]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("cannot listen on 192.0.2.7:3999"), "{said}");
}

#[tokio::test]
async fn a_user_lists_their_sessions_and_ends_them() {
    let server = ExampleServer::start(&[]);
    my_sessions_flow(&server.url, ("alice", "bob"), "any password", "opaque").await;
}

#[tokio::test]
async fn the_home_page_is_served() {
    let server = ExampleServer::start(&[]);
    let page = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
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
