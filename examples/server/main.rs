//! The DynamoDB Book's session store API, served by `cognito-session`.
//!
//! ```text
//! POST   /sessions             {"username","password"} -> {"sessionId"} + Set-Cookie
//! GET    /                     -> a page to try the cookie flow in a browser
//! GET    /sessions             -> {"username"}                      (needs a session)
//! DELETE /sessions/{username}  -> {"username"}, ends all its sessions (needs that user's session)
//! ```
//!
//! With no AWS configuration it runs on the embedded default: sessions in memory, opaque
//! tokens, passwords not checked (as in the book). `cargo run --example server`, then follow
//! the curl flow in the README.
//!
//! Environment: `BIND` (default `127.0.0.1:3000`), `RUST_LOG`, and the variables of
//! `SessionConfig::from_env`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cognito_session::{
    CurrentUser, MemoryStore, SessionConfig, SessionError, SessionLayer, SessionManager,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A JSON error response, as the original API sends them.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn create_session(State(sessions): State<SessionManager>, body: Bytes) -> Response {
    let Ok(Credentials { username, password }) = serde_json::from_slice::<Credentials>(&body)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            r#"Expected a JSON body {"username": "...", "password": "..."}."#,
        );
    };
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_control) {
        return error(StatusCode::BAD_REQUEST, "Invalid username.");
    }
    // The embedded mode does not check passwords, like the book's example.
    let _ = password;
    match sessions.create(&username).await {
        Ok(session) => {
            let mut response = Json(json!({ "sessionId": session.token.expose() })).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session.set_cookie);
            response
        }
        Err(SessionError::InvalidCredentials) => {
            error(StatusCode::UNAUTHORIZED, "Invalid username or password.")
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not create a session");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
    }
}

/// A page to try the cookie flow in a browser: plain HTML and a few lines of script.
async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

async fn get_session(user: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "username": user.username }))
}

async fn delete_sessions(
    State(sessions): State<SessionManager>,
    user: CurrentUser,
    Path(username): Path<String>,
) -> Response {
    if user.username != username {
        return error(StatusCode::UNAUTHORIZED, "Invalid session.");
    }
    match sessions.delete_user(&username).await {
        Ok(count) => {
            tracing::info!(username, count, "sessions deleted");
            let mut response = Json(json!({ "username": username })).into_response();
            // The caller's own session is among those deleted.
            let removal: HeaderValue = sessions.removal_cookie();
            response.headers_mut().append(header::SET_COOKIE, removal);
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not delete sessions");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
    }
}

/// The application: the book's three routes, the last two behind the session layer.
fn app(sessions: SessionManager) -> Router {
    Router::new()
        .route("/sessions", get(get_session))
        .route("/sessions/{username}", delete(delete_sessions))
        .route_layer(SessionLayer::new(sessions.clone()))
        .route("/sessions", post(create_session))
        .route("/", get(index))
        .with_state(sessions)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Everything that can stop the server at start, as one line naming the cause.
async fn run() -> Result<(), String> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let addr: SocketAddr = bind
        .parse()
        .map_err(|_| format!("BIND: expected an address like 127.0.0.1:3000, got {bind:?}"))?;
    let config = SessionConfig::from_env().map_err(|e| e.to_string())?;

    let sessions = SessionManager::new(MemoryStore::new(), config).map_err(|e| e.to_string())?;
    tracing::warn!(
        "embedded mode: sessions in memory, passwords are NOT checked (set USER_POOL_ID and CLIENT_ID for Cognito)"
    );

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("BIND: cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, app(sessions))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cognito_session=debug".into()),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
