//! The DynamoDB Book's session store API, served by `cognito-session`.
//!
//! ```text
//! POST   /sessions             {"username","password"} -> {"sessionId"} + Set-Cookie,
//!                              or 202 {"challenge","session","parameters"} (Cognito asks more);
//!                              JSON only (415), from an allowed origin only (403)
//! POST   /sessions/challenge   {"username","session"} + "newPassword" (and "attributes"),
//!                              "code" or "mfaType" -> as POST /sessions
//! GET    /                     -> a page to try the cookie flow in a browser
//! GET    /sessions             -> {"username"}                      (needs a session)
//! DELETE /sessions/{username}  -> {"username"}, ends all its sessions (needs that user's session)
//! GET    /admin                -> {"username","groups"}             (needs the ADMIN_GROUP group)
//! GET    /login                -> 302 to the managed login    (with COGNITO_DOMAIN; ?provider=, ?next=)
//! GET    /auth/callback        -> 302 to next, with the session cookie; 400 bad state, 401 refused
//! POST   /logout               -> ends this session: 303 to the domain's /logout, or 204
//! ```
//!
//! `POST /sessions`, `/sessions/challenge`, `/login`, `/auth/callback` and `/logout` are the
//! crate's ready-made `LoginRoutes`; the manager is `SessionManager::from_env`.
//!
//! With no AWS configuration it runs on the embedded default: sessions in memory, opaque
//! tokens, passwords not checked (as in the book). `cargo run --example server`, then follow
//! the curl flow in the README.
//!
//! With `SESSION_TABLE` the sessions live in DynamoDB (the table is created if missing);
//! with `USER_POOL_ID` and `CLIENT_ID`, `POST /sessions` checks the password with Cognito and
//! the token is the Cognito access token, refreshed as it nears expiry; at start the app
//! client must allow the log-in flow (`COGNITO_AUTH_FLOW`) and refreshes, or the server
//! refuses to start naming the flag (a warning when the credentials can't tell). With
//! `COGNITO_DOMAIN` (and `OAUTH_REDIRECT_URI`, `OAUTH_SCOPES`, `OAUTH_LOGOUT_URI`) the page
//! offers "Sign in" through the pool's managed login. `scripts/dev-aws` runs this against
//! local emulators (`scripts/dev-aws managed` for managed login).
//!
//! Environment: the library's (`SessionManager::from_env`: `SESSION_TABLE`, `USER_POOL_ID`,
//! `CLIENT_ID`, `COGNITO_DOMAIN`, ...; `COGNITO_GLOBAL_SIGN_OUT=true` makes `DELETE` also
//! sign the user out of Cognito everywhere) and the AWS SDK's own (`AWS_ENDPOINT_URL`,
//! `AWS_REGION`, credentials); then this example's: `BIND` (default `127.0.0.1:3000`; an
//! address other machines can reach is refused in the password-less embedded mode unless
//! `ALLOW_INSECURE_DEMO=true`), `RUST_LOG`, `ADMIN_GROUP` (the group `GET /admin` needs,
//! default `admins`; Cognito's `cognito:groups`, renewed at each refresh), `METRICS`
//! (`true`: `GET /metrics` in Prometheus' text format; needs `--features metrics`).

mod app;
mod metrics;

use std::net::SocketAddr;

use cognito_session::SessionManager;

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
    let sessions = SessionManager::from_env()
        .await
        .map_err(|e| e.to_string())?;
    // Without a user pool anyone can log in as anyone: fine on this machine, a hole anywhere
    // else.
    let insecure_demo = std::env::var("ALLOW_INSECURE_DEMO").is_ok_and(|v| v == "true");
    if sessions.cognito_settings().is_none() && !addr.ip().is_loopback() && !insecure_demo {
        return Err(format!(
            "BIND: {addr} is reachable from other machines, and without USER_POOL_ID this server \
             logs anyone in without a password; set ALLOW_INSECURE_DEMO=true to listen there anyway"
        ));
    }
    let app = metrics::with_metrics(app::app(sessions))?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("BIND: cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, app)
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
