//! A table of hostile requests, sent as raw bytes over TCP so that headers no well-behaved
//! client would send (non-UTF-8, control bytes, duplicates) reach the server as written.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cognito_session::{CurrentUser, SessionLayer, SessionManager};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One hostile request: extra header lines (raw bytes, without CRLF) and the status it must get.
pub struct Case {
    pub name: String,
    pub headers: Vec<Vec<u8>>,
    pub status: u16,
}

impl Case {
    pub fn new(name: impl Into<String>, headers: Vec<Vec<u8>>, status: u16) -> Self {
        Self {
            name: name.into(),
            headers,
            status,
        }
    }

    pub fn bearer(name: impl Into<String>, token: &str, status: u16) -> Self {
        Self::new(
            name,
            vec![format!("Authorization: Bearer {token}").into_bytes()],
            status,
        )
    }

    pub fn cookie(name: impl Into<String>, cookie: &str, status: u16) -> Self {
        Self::new(name, vec![format!("Cookie: {cookie}").into_bytes()], status)
    }
}

/// A server with the layer in front of a handler that counts its calls.
pub struct Target {
    pub addr: std::net::SocketAddr,
    pub handled: Arc<AtomicUsize>,
}

pub async fn serve(manager: SessionManager) -> Target {
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let app = Router::new()
        .route(
            "/",
            get(move |user: CurrentUser| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { user.username().to_owned() }
            }),
        )
        .layer(SessionLayer::new(manager));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Target { addr, handled }
}

/// Sends one request and returns its status line's code, within a bounded time.
pub async fn status_of(addr: std::net::SocketAddr, headers: &[Vec<u8>]) -> u16 {
    let mut request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".to_vec();
    for header in headers {
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the server answered within 10 s (no hang)");
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// Runs every case against `target`, checking the status and that the handler never ran,
/// and reports every mismatch at once; then checks that `valid_token` still gets through:
/// nothing in the corpus damaged its session.
pub async fn run(target: &Target, cases: &[Case], valid_token: &str) {
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    for case in cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate case name {}",
            case.name
        );
        let before = target.handled.load(Ordering::SeqCst);
        let status = status_of(target.addr, &case.headers).await;
        let ran = target.handled.load(Ordering::SeqCst) - before;
        if status != case.status || ran != 0 {
            failures.push(format!(
                "{}: status {status} (want {}), handler ran {ran} times",
                case.name, case.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let ok = status_of(
        target.addr,
        &[format!("Authorization: Bearer {valid_token}").into_bytes()],
    )
    .await;
    assert_eq!(ok, 200, "the valid token still works after the corpus");
}

/// Requests that are hostile whatever the token kind: 401 or 400, never let through.
pub fn generic_cases(valid_token: &str) -> Vec<Case> {
    let t = valid_token;
    let huge = "a".repeat(16 * 1024);
    vec![
        Case::new("no token", vec![], 401),
        Case::new("empty bearer", vec![b"Authorization: Bearer".to_vec()], 401),
        Case::new(
            "bearer of spaces",
            vec![b"Authorization: Bearer    ".to_vec()],
            401,
        ),
        Case::new(
            "basic scheme",
            vec![format!("Authorization: Basic {t}").into_bytes()],
            401,
        ),
        Case::new(
            "token scheme",
            vec![format!("Authorization: Token {t}").into_bytes()],
            401,
        ),
        Case::new(
            "no scheme",
            vec![format!("Authorization: {t}").into_bytes()],
            401,
        ),
        Case::new(
            "duplicated authorization",
            vec![
                format!("Authorization: Bearer {t}").into_bytes(),
                format!("Authorization: Bearer {t}").into_bytes(),
            ],
            400,
        ),
        Case::new(
            "duplicated authorization, one bad",
            vec![
                format!("Authorization: Bearer {t}").into_bytes(),
                b"Authorization: Bearer x".to_vec(),
            ],
            400,
        ),
        Case::cookie(
            "cookie name as prefix of another",
            &format!("mytoken={t}"),
            401,
        ),
        Case::cookie(
            "cookie name as suffix of another",
            &format!("token2={t}"),
            401,
        ),
        Case::cookie("cookie name in other case", &format!("TOKEN={t}"), 401),
        // Cookie tossing: a sibling subdomain adds a second session cookie, which the
        // browser may send first. Neither is taken.
        Case::cookie(
            "duplicated cookie, bad first",
            &format!("token=bad; token={t}"),
            400,
        ),
        Case::cookie(
            "duplicated cookie, good first",
            &format!("token={t}; token=bad"),
            400,
        ),
        Case::new(
            "duplicated cookie across headers",
            vec![
                format!("Cookie: token={t}").into_bytes(),
                format!("Cookie: a=1; token={t}").into_bytes(),
            ],
            400,
        ),
        Case::cookie("empty cookie", "token=", 401),
        Case::cookie("cookie without value separator", "token", 401),
        Case::new(
            "non-utf8 bearer",
            vec![b"Authorization: Bearer \xff\xfe\xfd".to_vec()],
            401,
        ),
        Case::new(
            "non-utf8 cookie",
            vec![b"Cookie: token=\xc3\x28\xa0\xa1".to_vec()],
            401,
        ),
        Case::new(
            "control byte in bearer",
            vec![b"Authorization: Bearer ab\x01cd".to_vec()],
            400,
        ),
        Case::new("NUL in cookie", vec![b"Cookie: token=a\x00b".to_vec()], 400),
        Case::cookie("16 KiB cookie", &format!("token={huge}"), 401),
        Case::bearer("16 KiB bearer", &huge, 401),
        Case::bearer("token with a suffix", &format!("{t}x"), 401),
        Case::bearer("token truncated", &t[..t.len() - 1], 401),
        Case::bearer(
            "token with spaces inside",
            &format!("{} {}", &t[..5], &t[5..]),
            401,
        ),
        Case::bearer("quoted bearer", &format!("\"{t}\""), 401),
    ]
}

/// Opaque tokens of the wrong shape or unknown to the store.
pub fn opaque_cases() -> Vec<Case> {
    vec![
        Case::bearer("opaque: too short", &"A".repeat(42), 401),
        Case::bearer("opaque: too long", &"A".repeat(44), 401),
        Case::bearer(
            "opaque: standard base64 alphabet",
            &format!("{}+/", "A".repeat(41)),
            401,
        ),
        Case::bearer("opaque: padding", &format!("{}=", "A".repeat(42)), 401),
        Case::bearer("opaque: unknown but well-formed", &"A".repeat(43), 401),
        Case::bearer(
            "opaque: hex of a hash (the store key)",
            &"ab".repeat(32),
            401,
        ),
        Case::bearer(
            "opaque: non-ascii of the right length",
            &"é".repeat(21),
            401,
        ),
    ]
}
