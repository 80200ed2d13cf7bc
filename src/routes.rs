//! Ready-made log-in and log-out routes for axum: [`LoginRoutes`].
//!
//! ```text
//! POST /sessions            {"username","password"} → 200 {"sessionId"} + Set-Cookie,
//!                           or 202 {"challenge","session","parameters"} when Cognito asks more
//! POST /sessions/challenge  {"username","session"} + "newPassword" (and "attributes"),
//!                           "code" or "mfaType" → as POST /sessions
//! GET  /login[?provider][&next][&lang]  → 302 to the managed login (with a domain)
//! GET  /auth/callback       → 302 to next, with the session cookie (with a domain)
//! POST /logout              → ends this session: 303 to the domain's /logout, or 204
//! ```
//!
//! Log-ins must be JSON (415 otherwise: a form can't send it) and, like `POST /logout`,
//! come from an [allowed origin](crate::SessionConfig::with_allowed_origins) (403
//! otherwise, before anything is read): another site's page could otherwise sign a
//! visitor into the attacker's account, or out of their own. `GET /logout` ends nothing.
//!
//! Errors are `{"error": "..."}`: 400 for a malformed body, 401 for a refused log-in, code
//! or state, 403 for a password reset or confirmation the account still needs, 503 when
//! Cognito or the store can't be reached.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_session::routes::LoginRoutes;
//! use cognito_session::store::MemoryStore;
//! use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
//!
//! let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(|user: CurrentUser| async move { user.username().to_owned() }))
//!     .layer(SessionLayer::new(sessions.clone()))
//!     .merge(LoginRoutes::new(sessions));
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
#[cfg(feature = "cognito")]
use axum::routing::get;
use axum::routing::post;
use http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde::Deserialize;
use serde_json::json;

use crate::{NewSession, SessionManager, csrf};

/// The log-in and log-out routes of a [`SessionManager`], as an axum [`Router`] to
/// [`merge`](Router::merge) into the application's (see the [module](self) for what each
/// answers). Put them outside the [`SessionLayer`](crate::SessionLayer): a log-in has no
/// session yet.
///
/// Every path can be changed; the managed login's routes exist only when the manager has a
/// [managed login](crate::cognito::CognitoSettings::with_managed_login), and the password
/// routes only when it has a Cognito pool (or the
/// [password-less demo](Self::with_passwordless_demo) is on).
///
/// ```
/// # use cognito_session::{SessionConfig, SessionManager, store::MemoryStore};
/// use cognito_session::routes::LoginRoutes;
///
/// # let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
/// let routes: axum::Router = LoginRoutes::new(sessions)
///     .with_sessions_path("/api/sessions")
///     .with_logout_path("/api/logout")
///     .into();
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct LoginRoutes {
    manager: SessionManager,
    sessions: String,
    challenge: Option<String>,
    login: String,
    callback: Option<String>,
    logout: String,
    passwordless: bool,
}

impl LoginRoutes {
    /// The routes of `manager`, at the default paths.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            sessions: "/sessions".into(),
            challenge: None,
            login: "/login".into(),
            callback: None,
            logout: "/logout".into(),
            passwordless: false,
        }
    }

    /// Where a password log-in is posted. Default `/sessions`, the DynamoDB Book's path.
    pub fn with_sessions_path(mut self, path: impl Into<String>) -> Self {
        self.sessions = path.into();
        self
    }

    /// Where a challenge's answer is posted. Default: `{sessions path}/challenge`.
    pub fn with_challenge_path(mut self, path: impl Into<String>) -> Self {
        self.challenge = Some(path.into());
        self
    }

    /// Where a managed log-in starts. Default `/login`.
    pub fn with_login_path(mut self, path: impl Into<String>) -> Self {
        self.login = path.into();
        self
    }

    /// Where the managed login comes back. Default: the path of the
    /// [redirect URI](crate::cognito::ManagedLoginSettings::redirect_uri)
    /// (`OAUTH_REDIRECT_URI`), `/auth/callback` unless it says otherwise.
    pub fn with_callback_path(mut self, path: impl Into<String>) -> Self {
        self.callback = Some(path.into());
        self
    }

    /// Where a log-out is posted. Default `/logout`.
    pub fn with_logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout = path.into();
        self
    }

    /// Whether, without a Cognito pool, `POST /sessions` logs anyone in as whoever they
    /// say, without a password, as the DynamoDB Book's example does. Default `false`: the
    /// route answers 404. For demos on a loopback address only.
    pub fn with_passwordless_demo(mut self, enabled: bool) -> Self {
        self.passwordless = enabled;
        self
    }

    /// The router, with the manager as its state: mergeable into a `Router<S>` of any
    /// state.
    pub fn into_router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let mut router = Router::new().route(&self.logout, post(logout));
        #[cfg(feature = "cognito")]
        if let Some(cognito) = self.manager.cognito_settings() {
            let challenge = self
                .challenge
                .clone()
                .unwrap_or_else(|| format!("{}/challenge", self.sessions.trim_end_matches('/')));
            router = router
                .route(&self.sessions, post(cognito::password_log_in))
                .route(&challenge, post(cognito::answer_challenge));
            if let Some(login) = cognito.managed_login() {
                let callback = self.callback.clone().unwrap_or_else(|| {
                    login
                        .redirect_uri()
                        .parse::<Uri>()
                        .map_or_else(|_| "/auth/callback".to_owned(), |uri| uri.path().to_owned())
                });
                router = router
                    .route(&self.login, get(cognito::start_managed_login))
                    .route(&callback, get(cognito::finish_managed_login));
            }
            return router.with_state(self.manager);
        }
        if self.passwordless {
            router = router
                .route(&self.sessions, post(passwordless_log_in))
                .route(&self.challenge_path(), post(no_challenge));
        }
        router.with_state(self.manager)
    }
}
impl LoginRoutes {
    fn challenge_path(&self) -> String {
        self.challenge
            .clone()
            .unwrap_or_else(|| format!("{}/challenge", self.sessions.trim_end_matches('/')))
    }
}

impl<S: Clone + Send + Sync + 'static> From<LoginRoutes> for Router<S> {
    fn from(routes: LoginRoutes) -> Self {
        routes.into_router()
    }
}

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Session service unavailable, try again shortly.",
    )
}

/// A redirect with `cookies`; 400 for a target that can't be a header.
fn redirect(
    status: StatusCode,
    to: &str,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    let Ok(location) = HeaderValue::try_from(to) else {
        return error(StatusCode::BAD_REQUEST, "Invalid redirect.");
    };
    let mut response = (status, [(LOCATION, location)]).into_response();
    for cookie in cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// Why a request to a log-in route is refused before it is acted on.
enum Refused {
    /// From another site ([CSRF](crate::csrf)): 403.
    CrossSite,
    /// Not JSON: 415 (an HTML form can't send JSON, so it can't forge a log-in).
    NotJson,
    /// Not the JSON expected: 400 saying what is.
    Malformed(&'static str),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::CrossSite => error(StatusCode::FORBIDDEN, "Cross-site request refused."),
            Self::NotJson => error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected Content-Type: application/json.",
            ),
            Self::Malformed(expected) => error(StatusCode::BAD_REQUEST, expected),
        }
    }
}

/// Refuses a request that would change state from another site, before anything is read or
/// changed.
fn cross_site(manager: &SessionManager, uri: &Uri, headers: &HeaderMap) -> Result<(), Refused> {
    let config = manager.config();
    if !config.csrf_protection() {
        return Ok(());
    }
    csrf::check(headers, uri, config.allowed_origins()).map_err(|refused| {
        tracing::info!(%refused, "cross-site request refused");
        Refused::CrossSite
    })
}

/// A log-in request's body as `T`, unless the request is refused.
fn log_in_body<T: serde::de::DeserializeOwned>(
    manager: &SessionManager,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    expected: &'static str,
) -> Result<T, Refused> {
    cross_site(manager, uri, headers)?;
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Refused::NotJson);
    }
    serde_json::from_slice(body).map_err(|_| Refused::Malformed(expected))
}

fn valid_username(username: &str) -> bool {
    !username.is_empty() && username.len() <= 128 && !username.chars().any(char::is_control)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    #[cfg_attr(not(feature = "cognito"), allow(dead_code))]
    password: String,
}

const CREDENTIALS: &str = r#"Expected a JSON body {"username": "...", "password": "..."}."#;
const CHALLENGE_ANSWER: &str =
    r#"Expected a JSON body {"username", "session"} with "newPassword", "code" or "mfaType"."#;

/// 200 `{"sessionId"}` with the cookie.
fn session_response(session: NewSession) -> Response {
    let mut response = json_response(
        StatusCode::OK,
        &json!({ "sessionId": session.token.expose() }),
    );
    response
        .headers_mut()
        .append(SET_COOKIE, session.set_cookie);
    response
}

async fn passwordless_log_in(
    State(manager): State<SessionManager>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credentials: Credentials = match log_in_body(&manager, &uri, &headers, &body, CREDENTIALS) {
        Ok(credentials) => credentials,
        Err(refused) => return refused.into_response(),
    };
    if !valid_username(&credentials.username) {
        return error(StatusCode::BAD_REQUEST, "Invalid username.");
    }
    match manager.create(&credentials.username).await {
        Ok(session) => session_response(session),
        Err(e) => {
            tracing::warn!(error = %e, "could not create a session");
            unavailable()
        }
    }
}

/// The challenge route of the password-less demo, which asks none: refused as a log-in is
/// (another site's, not JSON), else 400. Without it the path would fall through to the
/// application's own routes.
async fn no_challenge(
    State(manager): State<SessionManager>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match log_in_body::<serde_json::Value>(&manager, &uri, &headers, &body, CHALLENGE_ANSWER) {
        Ok(_) => error(StatusCode::BAD_REQUEST, "No log-in challenge to answer."),
        Err(refused) => refused.into_response(),
    }
}

/// `POST /logout`: ends the request's session here (deleted, a Cognito refresh token
/// revoked), removes the cookie, then sends the browser to the domain's `/logout` (303) or
/// answers 204. A request without a session logs nothing out and gets the same answer.
async fn logout(State(manager): State<SessionManager>, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(refused) = cross_site(&manager, &uri, &headers) {
        return refused.into_response();
    }
    match manager.log_out(&headers).await {
        Ok(logged_out) => match logged_out.logout_url {
            Some(to) => redirect(StatusCode::SEE_OTHER, &to, [logged_out.removal_cookie]),
            None => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                response
                    .headers_mut()
                    .append(SET_COOKIE, logged_out.removal_cookie);
                response
            }
        },
        Err(e) => {
            // The session is still live: say so, and keep the cookie.
            tracing::warn!(error = %e, "could not end the session");
            unavailable()
        }
    }
}

/// The routes that go through Cognito.
#[cfg(feature = "cognito")]
mod cognito {
    use std::collections::BTreeMap;

    use super::*;
    use crate::SessionError;
    use crate::cognito::{ChallengeAnswer, ChallengeName, LogIn, LoginOptions};

    pub(super) async fn password_log_in(
        State(manager): State<SessionManager>,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let credentials: Credentials =
            match log_in_body(&manager, &uri, &headers, &body, CREDENTIALS) {
                Ok(credentials) => credentials,
                Err(refused) => return refused.into_response(),
            };
        if !valid_username(&credentials.username) {
            return error(StatusCode::BAD_REQUEST, "Invalid username.");
        }
        log_in_response(
            manager
                .login(&credentials.username, &credentials.password)
                .await,
        )
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

    pub(super) async fn answer_challenge(
        State(manager): State<SessionManager>,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let body: ChallengeBody =
            match log_in_body(&manager, &uri, &headers, &body, CHALLENGE_ANSWER) {
                Ok(body) => body,
                Err(refused) => return refused.into_response(),
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
        let step = manager
            .answer_challenge(&body.username, &body.session, answer)
            .await;
        log_in_response(step)
    }

    /// A log-in step as the API answers it: 200 and the session, 202 and the challenge, or
    /// the error.
    fn log_in_response(step: Result<LogIn, SessionError>) -> Response {
        match step {
            Ok(LogIn::Session(session)) => session_response(session),
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
                json_response(StatusCode::ACCEPTED, &body)
            }
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
            // The password was right (Cognito checks it first), but the account can't log
            // in yet: say what the user must do.
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
                unavailable()
            }
        }
    }

    /// `GET /login[?provider=NAME][&next=/path][&lang=xx]`: 302 to the domain's authorize
    /// URL, with the log-in state cookie.
    pub(super) async fn start_managed_login(
        State(manager): State<SessionManager>,
        uri: Uri,
    ) -> Response {
        let mut options = LoginOptions::new();
        for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            match &*name {
                "provider" if !value.is_empty() => {
                    options = options.with_identity_provider(value.into_owned());
                }
                "next" => options = options.with_next(value.into_owned()),
                "lang" => options = options.with_lang(value.into_owned()),
                _ => {}
            }
        }
        match manager.start_login(&options) {
            Ok(login) => redirect(StatusCode::FOUND, &login.url, [login.set_cookie]),
            Err(SessionError::InvalidAnswer(_)) => {
                error(StatusCode::BAD_REQUEST, "Invalid identity provider.")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start a log-in");
                unavailable()
            }
        }
    }

    /// `GET /auth/callback?code=…&state=…`: 302 to where the log-in asked to go, with the
    /// session cookie.
    pub(super) async fn finish_managed_login(
        State(manager): State<SessionManager>,
        uri: Uri,
        headers: HeaderMap,
    ) -> Response {
        let query = uri.query().unwrap_or_default();
        let mut response = match manager.finish_login(query, &headers).await {
            Ok(logged_in) => {
                tracing::info!(
                    username = logged_in.session.user.username(),
                    "managed log-in"
                );
                return redirect(
                    StatusCode::FOUND,
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
                unavailable()
            }
        };
        response
            .headers_mut()
            .append(SET_COOKIE, manager.login_state_removal_cookie());
        response
    }
}
