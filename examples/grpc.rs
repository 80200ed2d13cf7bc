//! gRPC behind the session layer: tonic services and the HTTP log-in routes on one server.
//!
//! ```text
//! POST   /sessions {"username","password"}   -> {"sessionId"}   (HTTP/JSON: get a session)
//! DELETE /sessions/{username}                 -> {"username"}    ends all its sessions (needs that user's session)
//! POST   /logout                              -> ends this session
//! grpc.health.v1.Health/Check                 -> SERVING, only with a session
//! grpc.health.v1.Health/Watch                 -> the same as a stream, only for members of ADMIN_GROUP
//! ```
//!
//! A gRPC client sends its session as the `authorization` metadata, `Bearer <sessionId>`,
//! and is refused with a gRPC status: 16 `UNAUTHENTICATED` without a valid session, 7
//! `PERMISSION_DENIED` from the group guard, 14 `UNAVAILABLE` when the session table or
//! Cognito can't be reached, 3 `INVALID_ARGUMENT` for two `authorization` entries. When the
//! layer renews the token it comes back as the `x-session-token` response metadata.
//!
//! ```sh
//! cargo run --example grpc
//! curl -s -X POST localhost:3000/sessions -H 'content-type: application/json' \
//!      --data '{"username":"alice","password":"-"}'
//! grpcurl -plaintext -H "authorization: Bearer <sessionId>" 127.0.0.1:3000 grpc.health.v1.Health/Check
//! ```
//!
//! Configured from the environment like the other examples (`SessionManager::from_env`):
//! sessions in memory by default, in DynamoDB with `SESSION_TABLE`, Cognito log-ins with
//! `USER_POOL_ID` and `CLIENT_ID`. Without a pool `POST /sessions` logs anyone in without a
//! password, as the DynamoDB Book's example does, and only on a loopback address. `BIND`
//! (default `127.0.0.1:3000`), `ADMIN_GROUP` (default `admins`), `RUST_LOG`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use axum::{Json, Router};
use cognito_session::guard::RequireGroup;
use cognito_session::routes::LoginRoutes;
use cognito_session::{CurrentUser, SessionLayer, SessionManager};
use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::service::Routes;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

/// The path of the one method the group guard covers.
const WATCH: &str = "/grpc.health.v1.Health/Watch";

/// tonic-health's service, which also tells the caller whose session it was called with
/// (`x-username` in the response metadata).
struct SessionHealth(HealthService);

#[tonic::async_trait]
impl Health for SessionHealth {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        // The session layer in front put the user there; without one it answers itself.
        let Some(user) = request.extensions().get::<CurrentUser>().cloned() else {
            return Err(tonic::Status::unauthenticated("Session does not exist."));
        };
        tracing::info!(user = user.username(), "health check");
        let mut response = self.0.check(request).await?;
        if let Ok(name) = MetadataValue::try_from(user.username()) {
            response.metadata_mut().insert("x-username", name);
        }
        Ok(response)
    }

    type WatchStream = <HealthService as Health>::WatchStream;

    async fn watch(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        self.0.watch(request).await
    }
}

/// `DELETE /sessions/{username}`: the DynamoDB Book's "log out everywhere", for the user's
/// own sessions only.
async fn end_sessions(
    State(sessions): State<SessionManager>,
    user: CurrentUser,
    Path(username): Path<String>,
) -> Response {
    if user.username() != username {
        let body = Json(json!({ "error": "Invalid session." }));
        return (StatusCode::UNAUTHORIZED, body).into_response();
    }
    let ended = if sessions.cognito_settings().is_some() {
        sessions.sign_out_everywhere(&username).await
    } else {
        sessions.delete_user(&username).await
    };
    match ended {
        Ok(count) => {
            tracing::info!(username, count, "sessions ended");
            Json(json!({ "username": username })).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not end the sessions");
            let body = Json(json!({ "error": "Session service unavailable, try again shortly." }));
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// The group `Watch` needs: `ADMIN_GROUP`, default `admins`.
fn admin_group() -> String {
    std::env::var("ADMIN_GROUP")
        .ok()
        .filter(|group| !group.trim().is_empty())
        .unwrap_or_else(|| "admins".to_owned())
}

/// The gRPC services and `DELETE /sessions/{username}` behind the session layer, the
/// log-in routes beside it (a log-in has no session yet).
fn app(sessions: SessionManager, passwordless_demo: bool) -> Router {
    let reporter = HealthReporter::new();
    let health = HealthServer::new(SessionHealth(HealthService::from_health_reporter(reporter)));
    // tonic's routes are an axum Router: one path per service, to which a route for one
    // method can be added with a guard of its own.
    let watch = Router::new()
        .route_service(WATCH, health.clone())
        .route_layer(RequireGroup::new(admin_group()));
    let end = Router::new()
        .route("/sessions/{username}", delete(end_sessions))
        .with_state(sessions.clone());
    let log_in = LoginRoutes::new(sessions.clone()).with_passwordless_demo(passwordless_demo);
    Routes::new(health)
        .into_axum_router()
        .merge(watch)
        .merge(end)
        .route_layer(SessionLayer::new(sessions))
        .merge(log_in)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let sessions = SessionManager::from_env().await?;

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    // Logging in as whoever one says is for a demo on this machine only.
    let passwordless_demo = sessions.cognito_settings().is_none() && addr.ip().is_loopback();
    if sessions.cognito_settings().is_none() && !passwordless_demo {
        tracing::warn!("no user pool and not on a loopback address: POST /sessions is off");
    }
    tracing::info!("listening on http://{addr} (gRPC and HTTP/1.1)");
    axum::serve(listener, app(sessions, passwordless_demo)).await?;
    Ok(())
}
