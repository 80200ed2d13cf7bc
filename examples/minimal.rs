//! A whole Cognito app: password log-in, managed login, log-out and a protected route,
//! configured from the environment alone.
//!
//! ```text
//! POST /sessions {"username","password"} -> {"sessionId"} + the session cookie
//! GET  /login, GET /auth/callback         -> the pool's managed login (with COGNITO_DOMAIN)
//! POST /logout                            -> ends the session
//! GET  /me                                -> {"username"}, or 401 without a session
//! ```
//!
//! ```sh
//! USER_POOL_ID=eu-west-1_AbCdEf CLIENT_ID=... COGNITO_DOMAIN=https://... \
//!   SESSION_TABLE=sessions SESSION_ENCRYPTION_KEY=$(openssl rand -base64 32) \
//!   cargo run --example minimal
//! ```
//!
//! Without `USER_POOL_ID` it runs on sessions in memory, and `POST /sessions` is not there:
//! nothing would check the password.

use axum::{Json, Router, routing::get};
use cognito_session::routes::LoginRoutes;
use cognito_session::{CurrentUser, SessionLayer, SessionManager};
use serde_json::{Value, json};

async fn me(user: CurrentUser) -> Json<Value> {
    Json(json!({ "username": user.username() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let sessions = SessionManager::from_env().await?;
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(SessionLayer::new(sessions.clone()))
        .merge(LoginRoutes::new(sessions));

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
