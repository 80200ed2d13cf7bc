//! Managed login (with `COGNITO_DOMAIN`): the browser signs in on the user pool's pages and
//! comes back with a code.
//!
//! ```text
//! GET /login[?provider=NAME][&next=/path]  -> 302 to the domain's /oauth2/authorize
//! GET /auth/callback?code=…&state=…        -> 302 to next, with the session cookie
//! GET /logout                              -> ends this session, 302 to the domain's /logout
//! ```

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cognito_session::cognito::LoginOptions;
use cognito_session::{SessionError, SessionManager};
use serde::Deserialize;

use crate::app::error;

/// The managed login's routes, when the manager has a domain.
pub fn routes(sessions: &SessionManager) -> Option<Router<SessionManager>> {
    sessions.logout_url()?;
    Some(
        Router::new()
            .route("/login", get(login))
            .route("/auth/callback", get(callback))
            .route("/logout", get(logout)),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    provider: Option<String>,
    next: Option<String>,
    lang: Option<String>,
}

fn redirect(to: &str, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::try_from(to) {
        Ok(location) => {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, "Invalid redirect."),
    }
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn login(
    State(sessions): State<SessionManager>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let mut options = LoginOptions::new();
    if let Some(provider) = query.provider.filter(|p| !p.is_empty()) {
        options = options.with_identity_provider(provider);
    }
    if let Some(next) = query.next {
        options = options.with_next(next);
    }
    if let Some(lang) = query.lang {
        options = options.with_lang(lang);
    }
    match sessions.start_login(&options) {
        Ok(login) => redirect(&login.url, [login.set_cookie]),
        Err(SessionError::InvalidAnswer(_)) => {
            error(StatusCode::BAD_REQUEST, "Invalid identity provider.")
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not start a log-in");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
    }
}

async fn callback(
    State(sessions): State<SessionManager>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let finished = sessions.finish_login(query, &headers).await;
    let mut response = match finished {
        Ok(logged_in) => {
            tracing::info!(
                username = logged_in.session.user.username(),
                "managed log-in"
            );
            return redirect(
                &logged_in.next,
                [logged_in.session.set_cookie, logged_in.clear_state_cookie],
            );
        }
        Err(SessionError::InvalidLoginState) => {
            error(StatusCode::BAD_REQUEST, "Invalid log-in state.")
        }
        Err(SessionError::AuthorizationDenied { error: code, .. }) => {
            error(StatusCode::UNAUTHORIZED, &code)
        }
        Err(SessionError::CodeRefused | SessionError::InvalidTokens) => {
            error(StatusCode::UNAUTHORIZED, "Log-in failed, start again.")
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not finish a log-in");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, sessions.login_state_removal_cookie());
    response
}

/// Ends the browser's session here (as `DELETE /sessions/{me}` does for this one
/// session: deleted, refresh token revoked), then at the domain.
async fn logout(State(sessions): State<SessionManager>, headers: HeaderMap) -> Response {
    match sessions.log_out(&headers).await {
        Ok(logged_out) => {
            let to = logged_out.logout_url.unwrap_or_else(|| "/".to_owned());
            redirect(&to, [logged_out.removal_cookie])
        }
        Err(e) => {
            // The session is still live: say so rather than send the browser on as if it
            // had ended.
            tracing::warn!(error = %e, "could not end the session");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Session service unavailable, try again shortly.",
            )
        }
    }
}
