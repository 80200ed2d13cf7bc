//! The routes and their handlers: the book's API on `cognito-session`, the same on a server
//! and on AWS Lambda.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cognito_session::cognito::{ChallengeAnswer, ChallengeName};
use cognito_session::csrf;
use cognito_session::guard::RequireGroup;
use cognito_session::{CurrentUser, LogIn, SessionError, SessionLayer, SessionManager};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A JSON error response, as the original API sends them.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Login CSRF: another site's page could post a log-in form (`enctype="text/plain"` makes
/// a body that parses as JSON) and sign the visitor's browser into the attacker's account.
/// A log-in must be JSON, which a form can't send (415 otherwise), and come from an
/// allowed origin (`ALLOWED_ORIGINS`, default this server's own), which
/// `cognito_session::csrf::check` tells from `Sec-Fetch-Site` and `Origin` (403 otherwise,
/// before anything is read or created).
fn log_in_request(sessions: &SessionManager, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if let Err(refused) = csrf::check(headers, uri, sessions.config().allowed_origins()) {
        tracing::info!(%refused, "log-in refused");
        return Some(error(StatusCode::FORBIDDEN, "Cross-site request refused."));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    (!json).then(|| {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected Content-Type: application/json.",
        )
    })
}

async fn create_session(
    State(sessions): State<SessionManager>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = log_in_request(&sessions, &uri, &headers) {
        return refused;
    }
    let Ok(Credentials { username, password }) = serde_json::from_slice::<Credentials>(&body)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            r#"Expected a JSON body {"username": "...", "password": "..."}."#,
        );
    };
    if !valid_username(&username) {
        return error(StatusCode::BAD_REQUEST, "Invalid username.");
    }
    if sessions.config().cognito().is_some() {
        log_in(sessions.login(&username, &password).await)
    } else {
        // The embedded mode does not check passwords, like the book's example.
        log_in(sessions.create(&username).await.map(LogIn::Session))
    }
}

fn valid_username(username: &str) -> bool {
    !username.is_empty() && username.len() <= 128 && !username.chars().any(char::is_control)
}

/// The answer to a challenge: the username and session of the log-in, and one answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeBody {
    username: String,
    session: String,
    new_password: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    code: Option<String>,
    mfa_type: Option<String>,
}

async fn answer_challenge(
    State(sessions): State<SessionManager>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = log_in_request(&sessions, &uri, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<ChallengeBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            r#"Expected a JSON body {"username", "session"} with "newPassword", "code" or "mfaType"."#,
        );
    };
    if !valid_username(&body.username) {
        return error(StatusCode::BAD_REQUEST, "Invalid username.");
    }
    let answer = match (body.new_password, body.code, body.mfa_type) {
        (Some(password), None, None) => ChallengeAnswer::NewPassword {
            password: password.into(),
            attributes: body.attributes,
        },
        (None, Some(code), None) => ChallengeAnswer::Code(code.into()),
        (None, None, Some(kind)) => match ChallengeName::from_name(&kind) {
            Some(kind) => ChallengeAnswer::MfaType(kind),
            None => return error(StatusCode::BAD_REQUEST, "Unknown MFA type."),
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                r#"Expected one of "newPassword", "code" or "mfaType"."#,
            );
        }
    };
    let step = sessions
        .answer_challenge(&body.username, &body.session, answer)
        .await;
    log_in(step)
}

/// A log-in step as the API answers it: 200 and the session, 202 and the challenge, or
/// the error.
fn log_in(step: Result<LogIn, SessionError>) -> Response {
    match step {
        Ok(LogIn::Session(session)) => {
            let mut response = Json(json!({ "sessionId": session.token.expose() })).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session.set_cookie);
            response
        }
        Ok(LogIn::Challenge(challenge)) => {
            let mut parameters = json!(challenge.parameters);
            if let Some(secret) = &challenge.secret_code {
                // MFA_SETUP: the authenticator app's secret, for the user to enter.
                parameters["SECRET_CODE"] = secret.expose().into();
            }
            let body = json!({
                "challenge": challenge.name.as_str(),
                "session": challenge.session.expose(),
                "parameters": parameters,
            });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Ok(_) => error(StatusCode::NOT_IMPLEMENTED, "Unsupported log-in step."),
        Err(SessionError::InvalidCredentials) => {
            error(StatusCode::UNAUTHORIZED, "Invalid username or password.")
        }
        Err(SessionError::InvalidCode) => error(StatusCode::UNAUTHORIZED, "Invalid code."),
        Err(SessionError::LogInExpired) => {
            error(StatusCode::UNAUTHORIZED, "Log-in expired, start again.")
        }
        Err(SessionError::PasswordRefused(message) | SessionError::InvalidAnswer(message)) => {
            error(StatusCode::BAD_REQUEST, &message)
        }
        // The password was right (Cognito checks it first), but the account can't log in
        // yet: say what the user must do.
        Err(SessionError::PasswordResetRequired) => error(
            StatusCode::FORBIDDEN,
            "Password reset required: reset your password, then log in.",
        ),
        Err(SessionError::UserNotConfirmed) => error(
            StatusCode::FORBIDDEN,
            "Account not confirmed: confirm it with the code you were sent, then log in.",
        ),
        Err(e @ SessionError::FlowNotEnabled { .. }) => {
            // The server's configuration, not the user's doing: say so in the log.
            tracing::error!(error = %e, "log-in refused by the app client's settings");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Log-in is not configured on the server.",
            )
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
async fn index(State(sessions): State<SessionManager>) -> Html<String> {
    let page = include_str!("index.html");
    if sessions.logout_url().is_none() {
        return Html(page.to_owned());
    }
    // Managed login is on: show its links.
    Html(
        page.replacen(r#"<p id="managed" hidden>"#, r#"<p id="managed">"#, 1)
            .replacen(r#"href="/logout" hidden>"#, r#"href="/logout">"#, 1),
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
    let deleted = if sessions.config().cognito().is_some() {
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
        Err(e) => {
            tracing::warn!(error = %e, "could not delete sessions");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
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
/// `/admin` behind it and a group guard.
pub fn app(sessions: SessionManager) -> Router {
    let app = Router::new()
        .route(
            "/admin",
            get(admin).route_layer(RequireGroup::new(admin_group())),
        )
        .route("/sessions", get(get_session))
        .route("/sessions/{username}", delete(delete_sessions))
        .route_layer(SessionLayer::new(sessions.clone()))
        .route("/sessions", post(create_session))
        .route("/sessions/challenge", post(answer_challenge))
        .route("/", get(index));
    let app = match crate::login::routes(&sessions) {
        Some(login) => app.merge(login),
        None => app,
    };
    app.with_state(sessions)
}
