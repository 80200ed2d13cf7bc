//! The example server's `GET /metrics` (`METRICS=true`), in Prometheus' text format, read
//! over HTTP from the real binary after the book's curl flow.

mod common;

use common::server::{ExampleServer, assert_refused_naming, curl_flow};

/// The value of the sample line of `name` whose labels include every one of `labels`.
fn sample(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
                && labels.iter().all(|label| line.contains(label))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_true_serves_the_crates_metrics_in_prometheus_text_format() {
    let server = ExampleServer::start(&[("METRICS", "true")]);
    let base = &server.url;
    curl_flow(base, "myuser", "Password1").await;
    let client = reqwest::Client::new();
    let refused = client
        .get(format!("{base}/sessions"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200, "no session needed");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let body = response.text().await.unwrap();
    let requests = "cognito_session_requests_total";
    // The curl flow: GET (ok), DELETE (ok), GET after the delete (not found).
    assert_eq!(
        sample(&body, requests, &[r#"outcome="ok""#, r#"reason="current""#]),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, requests, &[r#"reason="not_found""#]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, requests, &[r#"reason="malformed""#]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "cognito_session_sessions_created_total",
            &[r#"kind="opaque""#]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "cognito_session_sessions_deleted_total", &[]),
        Some(1.0),
        "{body}"
    );
    // Store latencies as a histogram, with the help text `describe` registered.
    assert!(
        body.contains("# TYPE cognito_session_store_call_duration_seconds histogram"),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "cognito_session_store_call_duration_seconds_count",
            &[r#"op="create""#, r#"result="ok""#]
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.contains("# HELP cognito_session_requests_total Requests through SessionLayer"),
        "{body}"
    );
}

#[tokio::test]
async fn without_metrics_there_is_no_metrics_route() {
    let server = ExampleServer::start(&[]);
    let response = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn a_malformed_metrics_value_stops_the_start() {
    assert_refused_naming(&[("METRICS", "yes")], "METRICS");
}
