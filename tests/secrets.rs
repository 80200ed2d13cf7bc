//! No token, refresh token, client secret or password in any log line or `Debug` output,
//! through a whole Cognito log-in, refresh and log-out at TRACE level.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionLayer, SessionManager};
use common::cognito::{Pool, logged_in};
use http::Request;
use tower::ServiceExt;

const PASSWORD: &str = "Log-Me-1n!";

/// Collects everything every `tracing` event writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_session_at_trace_level_logs_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Global (this test runs in a process of its own under nextest), so events of tasks the
    // runtime spawns on other threads are caught too, and `log` records are bridged in.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("no other subscriber in this test process");

    let pool = Pool::with_secret().await;
    pool.add_user("secretive", PASSWORD).await;
    let client_secret = pool.client_secret.clone().unwrap();
    let settings = pool
        .settings()
        .with_refresh_before(Duration::from_secs(3595));
    let store = Arc::new(MemoryStore::new());
    let manager =
        SessionManager::with_cognito(store.clone(), pool.config(), settings, pool.client.clone())
            .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|user: CurrentUser| async move { user.username().to_owned() }),
        )
        .layer(SessionLayer::new(manager.clone()));

    let session = logged_in(&manager, "secretive", PASSWORD).await;
    let first = session.token.expose().to_owned();
    let record = manager
        .load(session.user.session_key())
        .await
        .unwrap()
        .unwrap();
    let refresh_token = record
        .cognito
        .as_ref()
        .unwrap()
        .refresh_token
        .expose()
        .to_owned();

    let request = |token: &str| {
        Request::get("/")
            .header("cookie", format!("token={token}"))
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.clone().oneshot(request(&first)).await.unwrap();
    assert_eq!(ok.status(), 200);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let refreshed = app.clone().oneshot(request(&first)).await.unwrap();
    assert_eq!(refreshed.status(), 200);
    let set_cookie = refreshed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = common::cookie_token(&set_cookie).unwrap();
    assert_ne!(second, first, "the run covered a refresh");

    let authenticated = manager.authenticate(&second).await.unwrap();
    let debug_outputs = [
        format!("{manager:?}"),
        format!("{session:?}"),
        format!("{record:?}"),
        format!("{authenticated:?}"),
        format!("{:?}", manager.config()),
        format!("{:?}", manager.cognito_settings()),
        format!(
            "{:?}",
            manager.load(session.user.session_key()).await.unwrap()
        ),
    ];
    // Log out (RevokeToken is attempted and logged), then log out everywhere.
    assert!(manager.delete(session.user.session_key()).await.unwrap());
    let again = logged_in(&manager, "secretive", PASSWORD).await;
    manager.sign_out_everywhere("secretive").await.unwrap();
    let bad_password = manager.login("secretive", "wrong-password").await;
    assert!(bad_password.is_err());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 100,
        "the run logged at TRACE level:\n{logs}"
    );
    for crate_name in ["cognito_session", "aws_smithy_runtime", "hyper"] {
        assert!(
            logs.contains(crate_name),
            "no TRACE output from {crate_name}"
        );
    }
    let secrets = [
        ("first access token", first.as_str()),
        ("refreshed access token", second.as_str()),
        ("second log-in's token", again.token.expose()),
        ("refresh token", refresh_token.as_str()),
        ("client secret", client_secret.as_str()),
        ("password", PASSWORD),
        ("wrong password", "wrong-password"),
    ];
    for (what, secret) in secrets {
        // The signature part alone is as good as the token; look for it too.
        let tail = secret.rsplit('.').next().unwrap();
        assert!(
            !logs.contains(secret) && !logs.contains(tail),
            "the logs contain the {what}"
        );
        for debug in &debug_outputs {
            assert!(
                !debug.contains(secret) && !debug.contains(tail),
                "Debug shows the {what}: {debug}"
            );
        }
    }
}
