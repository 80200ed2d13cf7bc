//! Login CSRF on the example server (the real binary over HTTP): a log-in must be JSON and
//! come from an allowed origin, and no session is created otherwise; the layer's guard on
//! its cookie-authenticated routes.

mod common;

use common::server::{ExampleServer, assert_refused_naming, json};
use serde_json::json;

const CREDENTIALS: &str = r#"{"username": "mallory", "password": "x"}"#;

/// Posts `body` to `{base}{path}` with `headers`; the status, the JSON body, and whether a
/// cookie was set.
async fn post(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value, bool) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let cookie = response.headers().contains_key("set-cookie");
    let (status, body) = json(response).await;
    (status, body, cookie)
}

#[tokio::test]
async fn a_log_in_that_is_not_json_is_refused_with_415_and_no_session() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    // What `<form enctype="text/plain">` sends: a body that parses as JSON.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        None,
    ] {
        let headers: Vec<_> = content_type
            .map(|t| ("content-type", t))
            .into_iter()
            .collect();
        for path in ["/sessions", "/sessions/challenge"] {
            let (status, body, cookie) = post(&server.url, path, &headers, CREDENTIALS).await;
            assert_eq!(status, 415, "{path} {content_type:?}: {body}");
            assert_eq!(
                body,
                json!({"error": "Expected Content-Type: application/json."})
            );
            assert!(!cookie, "{path} {content_type:?}");
        }
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let headers = [("content-type", content_type)];
        let (status, body, cookie) = post(&server.url, "/sessions", &headers, CREDENTIALS).await;
        assert_eq!(status, 200, "{content_type}: {body}");
        assert!(cookie);
    }
}

#[tokio::test]
async fn a_log_in_from_another_origin_or_site_is_refused_with_403_and_no_session() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    let other_port = format!("http://127.0.0.1:{}", common::server::free_port());
    for hostile in [
        &[("origin", "https://evil.example")][..],
        &[
            ("origin", other_port.as_str()),
            ("sec-fetch-site", "same-site"),
        ],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        &[
            ("origin", server.url.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        for content_type in ["application/json", "text/plain"] {
            let mut headers = hostile.to_vec();
            headers.push(("content-type", content_type));
            for path in ["/sessions", "/sessions/challenge"] {
                let (status, body, cookie) = post(&server.url, path, &headers, CREDENTIALS).await;
                assert_eq!(status, 403, "{path} {headers:?}: {body}");
                assert_eq!(body, json!({"error": "Cross-site request refused."}));
                assert!(!cookie, "{path} {headers:?}");
            }
        }
    }
    // The page of the server itself logs in.
    let own = [
        ("origin", server.url.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("content-type", "application/json"),
    ];
    let (status, body, cookie) = post(&server.url, "/sessions", &own, CREDENTIALS).await;
    assert_eq!((status, cookie), (200, true), "{body}");
}

#[tokio::test]
async fn allowed_origins_come_from_the_environment() {
    let server = ExampleServer::start(&[
        ("COOKIE_SECURE", "false"),
        ("ALLOWED_ORIGINS", "https://front.example"),
    ]);
    let from = |origin: &'static str| [("origin", origin), ("content-type", "application/json")];
    let (status, body, _) = post(
        &server.url,
        "/sessions",
        &from("https://front.example"),
        CREDENTIALS,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The list replaces the default: the server's own origin is not in it.
    let own: &'static str = server.url.clone().leak();
    let (status, _, cookie) = post(&server.url, "/sessions", &from(own), CREDENTIALS).await;
    assert_eq!((status, cookie), (403, false));
    assert_refused_naming(
        &[("ALLOWED_ORIGINS", "https://front.example/")],
        "ALLOWED_ORIGINS",
    );
}

#[tokio::test]
async fn a_cookie_log_out_from_another_origin_is_refused_and_the_session_lives_on() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    let base = &server.url;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/sessions"))
        .json(&json!({"username": "alice", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let forged = client
        .delete(format!("{base}/sessions/alice"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(forged).await,
        (403, json!({"error": "Cross-site request refused."}))
    );
    let me = client.get(format!("{base}/sessions")).send().await.unwrap();
    assert_eq!(json(me).await, (200, json!({"username": "alice"})));
    let own = client
        .delete(format!("{base}/sessions/alice"))
        .header("origin", base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(json(own).await, (200, json!({"username": "alice"})));
}
