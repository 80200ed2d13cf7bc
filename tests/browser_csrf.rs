//! CSRF with real browser requests: headless Chromium, driven by `tests/browser/csrf.mjs`
//! (playwright-core), loads pages of another origin (127.0.0.1 on another port: same site)
//! and of another site (`evil.test`, mapped to 127.0.0.1 in that browser), which post a
//! form and `fetch` with credentials to the server; the server's own page works.
//!
//! `scripts/test` installs the browser and sets the variables; by hand:
//! `scripts/browser.sh install && source .emulators/browser-env`.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use common::server::ExampleServer;
use serde_json::json;

/// Longer than the script's own 60 s limit, so that one normally speaks first.
const NODE_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `tests/browser/csrf.mjs <mode> <url>`; panics with its output unless it passes.
fn run_script(mode: &str, url: &str) {
    for name in ["COGNITO_SESSION_CHROMIUM", "COGNITO_SESSION_PLAYWRIGHT_DIR"] {
        assert!(
            std::env::var_os(name).is_some(),
            "{name} is not set: the browser test needs Chromium and playwright-core. Run \
             `scripts/test`, or `scripts/browser.sh install` and `source .emulators/browser-env`."
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(root.join("tests/browser/csrf.mjs"))
        .args([mode, url])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node`: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + NODE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    print!("{stdout}");
    assert!(
        status.is_some_and(|s| s.success()),
        "the browser CSRF test failed ({status:?}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
}

/// Log-in CSRF on the example server: forged log-ins from another origin and another site
/// are refused and leave the victim's session as it was; the server's page logs in and out.
#[test]
fn forged_log_ins_are_refused_in_chromium() {
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    run_script("login", &server.url);
}

#[derive(Clone)]
struct Notes {
    sessions: SessionManager,
    count: Arc<AtomicUsize>,
}

async fn login(State(app): State<Notes>, Json(body): Json<serde_json::Value>) -> Response {
    let username = body["username"].as_str().unwrap_or("anonymous");
    let session = app.sessions.create(username).await.unwrap();
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session.set_cookie);
    response
}

async fn add_note(State(app): State<Notes>, _: CurrentUser) -> Json<serde_json::Value> {
    let notes = app.count.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({ "notes": notes }))
}

async fn notes(State(app): State<Notes>, _: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "notes": app.count.load(Ordering::SeqCst) }))
}

/// The layer's guard: an app whose notes are added by cookie-authenticated `POST /notes`.
/// Its own page logs in and adds one; forged posts from another origin (403, the `Origin`
/// check) and another site add none.
#[tokio::test(flavor = "multi_thread")]
async fn forged_cookie_requests_are_refused_by_the_layer_in_chromium() {
    let config = SessionConfig::default().with_cookie_secure(false);
    let sessions = SessionManager::new(MemoryStore::new(), config).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let state = Notes {
        sessions: sessions.clone(),
        count: count.clone(),
    };
    let app = Router::new()
        .route("/notes", get(notes).post(add_note))
        .route_layer(SessionLayer::new(sessions))
        .route("/login", post(login))
        .route(
            "/",
            get(|| async { Html("<!doctype html><title>notes</title>") }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    tokio::task::spawn_blocking(move || run_script("layer", &url))
        .await
        .unwrap();
    server.abort();
    assert_eq!(count.load(Ordering::SeqCst), 1, "only the own page's note");
}
