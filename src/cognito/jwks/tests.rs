use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use super::*;

/// What the test server answers, and how many requests it saw.
#[derive(Clone)]
struct Server {
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<(StatusCode, String)>>,
    delay: Duration,
}

fn jwk(kid: &str, alg: Option<&str>) -> serde_json::Value {
    // Any base64url modulus parses; these keys are never used to verify.
    let mut key =
        serde_json::json!({ "kid": kid, "kty": "RSA", "n": "wq3Dh8OY", "e": "AQAB", "use": "sig" });
    if let Some(alg) = alg {
        key["alg"] = alg.into();
    }
    key
}

fn document(keys: &[serde_json::Value]) -> String {
    serde_json::json!({ "keys": keys }).to_string()
}

impl Server {
    async fn start(body: String, delay: Duration) -> (Self, String) {
        let server = Self {
            hits: Arc::default(),
            body: Arc::new(Mutex::new((StatusCode::OK, body))),
            delay,
        };
        let state = server.clone();
        let app = Router::new().route(
            "/jwks.json",
            get(move || {
                let state = state.clone();
                async move {
                    state.hits.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(state.delay).await;
                    state.body.lock().unwrap().clone()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (server, url)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn answer(&self, status: StatusCode, body: String) {
        *self.body.lock().unwrap() = (status, body);
    }
}

fn timing(cooldown: Duration) -> JwksTiming {
    JwksTiming {
        timeout: Duration::from_secs(2),
        cooldown,
        failure_cooldown: cooldown,
        max_age: Duration::from_secs(3600),
        max_stale: Duration::from_secs(24 * 3600),
    }
}

fn jwks(url: String, timing: JwksTiming) -> Arc<Jwks> {
    Arc::new(Jwks::new(url, reqwest::Client::new(), timing))
}

#[tokio::test]
async fn concurrent_misses_share_one_fetch() {
    let (server, url) = Server::start(
        document(&[jwk("a", Some("RS256"))]),
        Duration::from_millis(200),
    )
    .await;
    let jwks = jwks(url, timing(Duration::from_secs(60)));
    let lookups: Vec<_> = (0..20)
        .map(|i| {
            let jwks = jwks.clone();
            tokio::spawn(async move { jwks.key(if i % 2 == 0 { "a" } else { "nope" }).await })
        })
        .collect();
    for (i, lookup) in lookups.into_iter().enumerate() {
        let result = lookup.await.unwrap();
        if i % 2 == 0 {
            assert!(result.is_ok());
        } else {
            assert!(matches!(result, Err(KeyError::Unknown)));
        }
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn unknown_kids_refetch_only_after_the_cooldown() {
    let (server, url) = Server::start(document(&[jwk("a", None)]), Duration::ZERO).await;
    let jwks = jwks(url.clone(), timing(Duration::from_millis(300)));
    assert!(jwks.key("a").await.is_ok());
    for i in 0..50 {
        assert!(matches!(
            jwks.key(&format!("forged-{i}")).await,
            Err(KeyError::Unknown)
        ));
    }
    assert_eq!(
        server.hits(),
        1,
        "a flood of unknown kids must not reach the endpoint"
    );

    // The pool rotates its keys: the new kid is found once the cooldown has passed.
    server.answer(StatusCode::OK, document(&[jwk("a", None), jwk("b", None)]));
    assert!(matches!(jwks.key("b").await, Err(KeyError::Unknown)));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(jwks.key("b").await.is_ok());
    assert_eq!(server.hits(), 2);

    // Without a cooldown every unknown kid refetches.
    let eager = self::jwks(url, timing(Duration::ZERO));
    assert!(matches!(eager.key("x").await, Err(KeyError::Unknown)));
    assert!(matches!(eager.key("y").await, Err(KeyError::Unknown)));
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn a_failed_fetch_is_unavailable_and_cools_down() {
    let (server, url) = Server::start(String::new(), Duration::ZERO).await;
    server.answer(StatusCode::INTERNAL_SERVER_ERROR, "oops".into());
    let jwks = jwks(url, timing(Duration::from_millis(300)));
    for _ in 0..10 {
        match jwks.key("a").await {
            Err(KeyError::Unavailable(e)) => assert!(e.to_string().contains("500"), "{e}"),
            other => panic!("expected unavailable, got {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(server.hits(), 1, "failures must cool down too");

    server.answer(StatusCode::OK, document(&[jwk("a", None)]));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(jwks.key("a").await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn stale_keys_serve_while_the_endpoint_is_down() {
    let (server, url) = Server::start(document(&[jwk("a", None)]), Duration::ZERO).await;
    let jwks = jwks(
        url,
        JwksTiming {
            max_age: Duration::from_millis(100),
            ..timing(Duration::ZERO)
        },
    );
    assert!(jwks.key("a").await.is_ok());
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.answer(StatusCode::SERVICE_UNAVAILABLE, String::new());
    assert!(
        jwks.key("a").await.is_ok(),
        "stale keys are better than none"
    );
    assert_eq!(server.hits(), 2, "a stale cache refetches");
    assert!(matches!(jwks.key("b").await, Err(KeyError::Unavailable(_))));
}

#[tokio::test]
async fn unreachable_and_slow_endpoints_are_unavailable() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let jwks = jwks(format!("http://{closed}/jwks.json"), timing(Duration::ZERO));
    assert!(matches!(jwks.key("a").await, Err(KeyError::Unavailable(_))));

    let (_server, url) = Server::start(document(&[jwk("a", None)]), Duration::from_secs(5)).await;
    let slow = self::jwks(
        url,
        JwksTiming {
            timeout: Duration::from_millis(200),
            ..timing(Duration::ZERO)
        },
    );
    let started = Instant::now();
    match slow.key("a").await {
        Err(KeyError::Unavailable(e)) => assert!(e.to_string().contains("timed out"), "{e}"),
        other => panic!("expected a timeout, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_abandoned_fetch_goes_on_for_the_next_caller() {
    let (server, url) =
        Server::start(document(&[jwk("a", None)]), Duration::from_millis(300)).await;
    let jwks = jwks(url, timing(Duration::ZERO));
    // The first caller gives up mid-fetch (its client went away).
    let first = tokio::time::timeout(Duration::from_millis(100), jwks.key("a")).await;
    assert!(first.is_err());
    assert!(jwks.key("a").await.is_ok());
    assert_eq!(server.hits(), 1, "the next caller waits for the same fetch");
}

#[tokio::test]
async fn callers_that_hang_up_cannot_get_around_the_cooldown() {
    // Tokens with made-up key ids, each request abandoned a moment after it started
    // (an HTTP/1 client closing, an HTTP/2 reset): the fetch they start must still end,
    // and its cooldown hold.
    let (server, url) =
        Server::start(document(&[jwk("a", None)]), Duration::from_millis(200)).await;
    let jwks = jwks(url, timing(Duration::from_secs(60)));
    for i in 0..50 {
        let kid = format!("forged-{i}");
        let outcome = tokio::time::timeout(Duration::from_millis(20), jwks.key(&kid)).await;
        // Abandoned while the fetch runs; refused at once once it landed.
        assert!(
            matches!(outcome, Err(_) | Ok(Err(KeyError::Unknown))),
            "look-up {i}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.hits(), 1, "one fetch for 50 abandoned look-ups");
    assert!(matches!(jwks.key("forged").await, Err(KeyError::Unknown)));
    assert!(jwks.key("a").await.is_ok(), "the fetch landed");
    assert_eq!(server.hits(), 1);
}

#[test]
fn keys_come_over_https_or_from_this_machine() {
    for good in [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x/.well-known/jwks.json",
        "http://127.0.0.1:5000/pool/.well-known/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://localhost:9/jwks.json",
        "http://[::1]:9/jwks.json",
    ] {
        assert_eq!(check_url(good), Ok(()), "{good}");
    }
    for bad in [
        "http://keys.example/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://localhost.example/jwks.json",
        "ftp://127.0.0.1/jwks.json",
        "file:///etc/jwks.json",
        "not a url",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (server, url) = Server::start(document(&[jwk("a", None)]), Duration::ZERO).await;
    let app = Router::new().route(
        "/moved",
        get(move || {
            let url = url.clone();
            async move { (StatusCode::FOUND, [("location", url)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let moved = format!("http://{}/moved", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Whether the client follows redirects (reqwest's default does) or not.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for http in [reqwest::Client::new(), no_redirects] {
        let jwks = Jwks::new(moved.clone(), http, timing(Duration::ZERO));
        assert!(matches!(jwks.key("a").await, Err(KeyError::Unavailable(_))));
    }
    assert!(
        server.hits() <= 1,
        "the keys were not taken from where it pointed"
    );
}

#[tokio::test]
async fn stale_keys_serve_only_up_to_the_stale_limit() {
    let (server, url) = Server::start(document(&[jwk("a", None)]), Duration::ZERO).await;
    let jwks = jwks(
        url,
        JwksTiming {
            max_age: Duration::from_millis(50),
            max_stale: Duration::from_millis(300),
            ..timing(Duration::ZERO)
        },
    );
    assert!(jwks.key("a").await.is_ok());
    server.answer(StatusCode::SERVICE_UNAVAILABLE, String::new());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(jwks.key("a").await.is_ok(), "stale, within the limit");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        matches!(jwks.key("a").await, Err(KeyError::Unavailable(_))),
        "past the limit"
    );
    server.answer(StatusCode::OK, document(&[jwk("a", None)]));
    assert!(jwks.key("a").await.is_ok(), "fresh again once fetched");
}

#[test]
fn only_rs256_signature_keys_are_kept() {
    let mut enc = jwk("enc", None);
    enc["use"] = "enc".into();
    let mut ec = jwk("ec", None);
    ec["kty"] = "EC".into();
    let body = document(&[
        jwk("plain", None),
        jwk("rs256", Some("RS256")),
        jwk("rs512", Some("RS512")),
        jwk("hs256", Some("HS256")),
        enc,
        ec,
        jwk(&"k".repeat(1000), None),
        serde_json::json!({ "kid": "broken" }),
    ]);
    let keys = parse(body.as_bytes()).unwrap();
    let mut kids: Vec<_> = keys.keys().cloned().collect();
    kids.sort();
    assert_eq!(kids, ["plain", "rs256"]);
    assert!(parse(b"{\"nokeys\":1}").is_err());
    assert!(parse(b"<html>").is_err());
}

#[tokio::test]
async fn oversized_documents_are_refused() {
    let huge = document(
        &(0..2000)
            .map(|i| jwk(&format!("k{i}"), None))
            .collect::<Vec<_>>(),
    );
    assert!(huge.len() > MAX_BODY);
    let (_server, url) = Server::start(huge, Duration::ZERO).await;
    let jwks = jwks(url, timing(Duration::ZERO));
    match jwks.key("k1").await {
        Err(KeyError::Unavailable(e)) => assert!(e.to_string().contains("too large"), "{e}"),
        other => panic!("expected unavailable, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_prefetch_leaves_nothing_for_the_first_request_to_fetch() {
    let (server, url) = Server::start(document(&[jwk("a", Some("RS256"))]), Duration::ZERO).await;
    // A cooldown of zero: without the prefetch the look-up below would fetch.
    let jwks = jwks(url, timing(Duration::ZERO));
    jwks.prefetch().await.unwrap();
    assert_eq!(server.hits(), 1);
    jwks.key("a").await.unwrap();
    assert_eq!(
        server.hits(),
        1,
        "the first look-up found the prefetched key"
    );

    server.answer(StatusCode::INTERNAL_SERVER_ERROR, String::new());
    let down = super::Jwks::new(
        jwks.shared.url.clone(),
        reqwest::Client::new(),
        timing(Duration::ZERO),
    );
    let error = down.prefetch().await.unwrap_err();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(error.contains(&jwks.shared.url), "{error}");
}
