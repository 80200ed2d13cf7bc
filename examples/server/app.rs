//! The routes and their handlers: the book's API on `cognito-session`, the same on a server
//! and on AWS Lambda. Log-in and log-out are the crate's ready-made routes.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cognito_session::guard::RequireGroup;
use cognito_session::routes::LoginRoutes;
use cognito_session::store::{LoginMethod, SessionId};
use cognito_session::{CurrentUser, SessionError, SessionLayer, SessionManager};
use serde_json::json;

/// A JSON error response, as the original API sends them.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A page to try the cookie flow in a browser: plain HTML and a few lines of script.
async fn index(State(sessions): State<SessionManager>) -> Html<String> {
    let page = include_str!("index.html");
    if sessions.logout_url().is_none() {
        return Html(page.to_owned());
    }
    // Managed login is on: show its links.
    Html(
        page.replacen(r#"<p id="managed" hidden>"#, r#"<p id="managed">"#, 1)
            .replacen(r#"action="/logout" hidden>"#, r#"action="/logout">"#, 1),
    )
}

async fn get_session(user: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "username": user.username() }))
}

async fn delete_sessions(
    State(sessions): State<SessionManager>,
    user: CurrentUser,
    Path(username): Path<String>,
) -> Response {
    if user.username() != username {
        return error(StatusCode::UNAUTHORIZED, "Invalid session.");
    }
    let deleted = if sessions.cognito_settings().is_some() {
        sessions.sign_out_everywhere(&username).await
    } else {
        sessions.delete_user(&username).await
    };
    match deleted {
        Ok(count) => {
            tracing::info!(username, count, "sessions deleted");
            let mut response = Json(json!({ "username": username })).into_response();
            // The caller's own session is among those deleted.
            let removal: HeaderValue = sessions.removal_cookie();
            response.headers_mut().append(header::SET_COOKIE, removal);
            response
        }
        Err(e) => unavailable(e),
    }
}

/// 503 for a session store or Cognito that can't be reached: the session is unchanged.
fn unavailable(e: SessionError) -> Response {
    tracing::warn!(error = %e, "session store unavailable");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Session service unavailable, try again shortly.",
    )
}

/// `GET /me/sessions`: where the user is logged in, oldest first.
async fn my_sessions(State(sessions): State<SessionManager>, user: CurrentUser) -> Response {
    match sessions.sessions(&user).await {
        Ok(listed) => {
            let listed: Vec<_> = listed
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id.to_string(),
                        "createdAt": s.created_at,
                        "lastSeenAt": s.last_seen_at,
                        "method": s.method.map_or("unknown", LoginMethod::as_str),
                        "current": s.current,
                    })
                })
                .collect();
            Json(json!({ "sessions": listed })).into_response()
        }
        Err(e) => unavailable(e),
    }
}

/// `DELETE /me/sessions/{id}`: ends one of the user's own sessions; 404 for any other id,
/// another user's included. Ending the current one removes its cookie too.
async fn end_my_session(
    State(sessions): State<SessionManager>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Response {
    let not_found = || error(StatusCode::NOT_FOUND, "No such session.");
    let Ok(id) = id.parse::<SessionId>() else {
        return not_found();
    };
    match sessions.end_session(&user, id).await {
        Ok(true) if id == user.session_id() => (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, sessions.removal_cookie())],
        )
            .into_response(),
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(e) => unavailable(e),
    }
}

/// `POST /me/sessions/end-others`: logs the user out everywhere but here.
async fn end_my_other_sessions(
    State(sessions): State<SessionManager>,
    user: CurrentUser,
) -> Response {
    match sessions.end_other_sessions(&user).await {
        Ok(ended) => Json(json!({ "ended": ended })).into_response(),
        Err(e) => unavailable(e),
    }
}

/// Only for members of the `ADMIN_GROUP` group (the guard in `app` checks): who they are and
/// their groups.
async fn admin(user: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "username": user.username(), "groups": user.groups() }))
}

/// The group `GET /admin` needs: `ADMIN_GROUP`, default `admins`.
fn admin_group() -> String {
    std::env::var("ADMIN_GROUP")
        .ok()
        .filter(|group| !group.trim().is_empty())
        .unwrap_or_else(|| "admins".to_owned())
}

/// The application: the book's three routes, the last two behind the session layer, and
/// `/admin` behind it and a group guard, the user's list of sessions (`/me/sessions`); then the crate's log-in routes (`POST /sessions`,
/// `/sessions/challenge`, the managed login's, `POST /logout`). Without a user pool,
/// `POST /sessions` logs anyone in without a password, like the book's example.
pub fn app(sessions: SessionManager) -> Router {
    let log_in = LoginRoutes::new(sessions.clone())
        .with_passwordless_demo(sessions.cognito_settings().is_none());
    Router::new()
        .route(
            "/admin",
            get(admin).route_layer(RequireGroup::new(admin_group())),
        )
        .route("/sessions", get(get_session))
        .route("/sessions/{username}", delete(delete_sessions))
        .route("/me/sessions", get(my_sessions))
        .route("/me/sessions/{id}", delete(end_my_session))
        .route("/me/sessions/end-others", post(end_my_other_sessions))
        .route_layer(SessionLayer::new(sessions.clone()))
        .route("/", get(index))
        .with_state(sessions)
        .merge(log_in)
}
