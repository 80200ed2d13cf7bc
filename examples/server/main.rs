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
//! ```
//!
//! With no AWS configuration it runs on the embedded default: sessions in memory, opaque
//! tokens, passwords not checked (as in the book). `cargo run --example server`, then follow
//! the curl flow in the README.
//!
//! With `SESSION_TABLE` the sessions live in DynamoDB (the table is created if missing);
//! with `USER_POOL_ID` and `CLIENT_ID`, `POST /sessions` checks the password with Cognito and
//! the token is the Cognito access token, refreshed as it nears expiry; at start the app
//! client must allow the log-in flow (`COGNITO_AUTH_FLOW`) and refreshes, or the server
//! refuses to start naming the flag (a warning when the credentials can't tell). `scripts/dev-aws`
//! runs this against local emulators.
//!
//! Environment: `BIND` (default `127.0.0.1:3000`; an address other machines can reach is
//! refused in the password-less embedded mode unless `ALLOW_INSECURE_DEMO=true`), `RUST_LOG`,
//! the variables of
//! `SessionConfig::from_env`, `COGNITO_GLOBAL_SIGN_OUT` (`true`: `DELETE` also signs the
//! user out of Cognito everywhere), `ADMIN_GROUP` (the group `GET /admin` needs, default
//! `admins`; Cognito's `cognito:groups`, renewed at each refresh), `COGNITO_CHALLENGE_KEY`
//! (32 bytes or more, the same on every instance: seals log-in challenge sessions; without
//! it they are sealed with a key derived from the client secret, or one of this process),
//! and the AWS SDK's own (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! credentials).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cognito_session::cognito::{AppClientCheck, ChallengeAnswer, ChallengeName, CognitoOptions};
use cognito_session::csrf;
use cognito_session::guard::RequireGroup;
use cognito_session::store::CachedStore;
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::{
    CognitoSettings, CurrentUser, LogIn, MemoryStore, SessionConfig, SessionError, SessionLayer,
    SessionManager, SessionStore, TableSettings,
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
async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
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
fn app(sessions: SessionManager) -> Router {
    Router::new()
        .route(
            "/admin",
            get(admin).route_layer(RequireGroup::new(admin_group())),
        )
        .route("/sessions", get(get_session))
        .route("/sessions/{username}", delete(delete_sessions))
        .route_layer(SessionLayer::new(sessions.clone()))
        .route("/sessions", post(create_session))
        .route("/sessions/challenge", post(answer_challenge))
        .route("/", get(index))
        .with_state(sessions)
}

/// The session manager the environment asks for: memory or DynamoDB, opaque or Cognito.
/// Anything unreachable or missing is reported here, at start, not at the first request.
async fn sessions(config: SessionConfig) -> Result<SessionManager, String> {
    if config.table().is_none() && config.cognito().is_none() {
        tracing::warn!(
            "embedded mode: sessions in memory, passwords are NOT checked \
             (set SESSION_TABLE for DynamoDB, USER_POOL_ID and CLIENT_ID for Cognito)"
        );
        return SessionManager::new(MemoryStore::new(), config).map_err(|e| e.to_string());
    }
    let aws = aws_config::defaults(BehaviorVersion::latest())
        // An outage should become a quick 503, not a request hanging on SDK retries.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    if aws.region().is_none() {
        return Err("AWS_REGION: not set, and DynamoDB and Cognito need a region".into());
    }

    let store: Arc<dyn SessionStore> = match config.table() {
        Some(table) => {
            let store = dynamodb_store(aws_sdk_dynamodb::Client::new(&aws), table).await?;
            match table.cache {
                Some(ttl) => Arc::new(CachedStore::new(store, ttl)),
                None => Arc::new(store),
            }
        }
        None => Arc::new(MemoryStore::new()),
    };
    let Some(cognito) = config.cognito().cloned() else {
        tracing::warn!("no Cognito pool: opaque sessions in DynamoDB, passwords are NOT checked");
        return SessionManager::new(store, config).map_err(|e| e.to_string());
    };
    check_keys(&cognito.jwks_url()).await?;
    let global_sign_out = match std::env::var("COGNITO_GLOBAL_SIGN_OUT").as_deref() {
        Ok("true") => true,
        Ok("false") | Err(_) => false,
        Ok(other) => {
            return Err(format!(
                "COGNITO_GLOBAL_SIGN_OUT: expected true or false, got {other:?}"
            ));
        }
    };
    let mut options = CognitoOptions::default().with_global_sign_out(global_sign_out);
    match std::env::var("COGNITO_CHALLENGE_KEY") {
        Ok(key) if key.len() < 32 => {
            return Err("COGNITO_CHALLENGE_KEY: must be at least 32 bytes".into());
        }
        Ok(key) => options = options.with_challenge_key(key),
        Err(_) if cognito.client_secret.is_none() => tracing::info!(
            "challenge sessions are sealed with a key of this process: run one instance, \
             or set COGNITO_CHALLENGE_KEY on all of them"
        ),
        Err(_) => {}
    }
    let client = aws_sdk_cognitoidentityprovider::Client::new(&aws);
    tracing::info!(pool = %cognito.user_pool_id, client = %cognito.client_id, "Cognito mode");
    let sessions = SessionManager::with_cognito_options(store, config, client, options)
        .map_err(|e| e.to_string())?;
    check_app_client(&sessions, &cognito).await?;
    Ok(sessions)
}

/// Stops the start when the app client doesn't allow the log-in flow or refreshes, naming
/// the flag to enable; goes on with a warning when the AWS credentials can't tell.
async fn check_app_client(
    sessions: &SessionManager,
    cognito: &CognitoSettings,
) -> Result<(), String> {
    match sessions.check_app_client().await {
        Ok(AppClientCheck::Ready) => {
            tracing::info!(
                flow = cognito.auth_flow.client_flag(),
                "app client allows the log-in flow and refreshes"
            );
            Ok(())
        }
        Ok(AppClientCheck::Unknown { reason }) => {
            tracing::warn!(
                %reason,
                "could not check the app client's authentication flows; it must allow {} and ALLOW_REFRESH_TOKEN_AUTH",
                cognito.auth_flow.client_flag()
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(SessionError::FlowNotEnabled { flag }) => {
            let or = if flag == cognito.auth_flow.client_flag() {
                ", or set COGNITO_AUTH_FLOW to a flow it allows (password or srp)"
            } else {
                ""
            };
            Err(format!(
                "CLIENT_ID: the app client {} does not allow {flag}: enable it (user pool → \
                 App clients → Authentication flows){or}",
                cognito.client_id
            ))
        }
        Err(SessionError::UnknownAppClient) => Err(format!(
            "CLIENT_ID: the user pool {} has no app client {}",
            cognito.user_pool_id, cognito.client_id
        )),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the app client's authentication flows");
            Ok(())
        }
    }
}

/// The session table, created (with its index and TTL) if it is missing.
async fn dynamodb_store(
    client: aws_sdk_dynamodb::Client,
    table: &TableSettings,
) -> Result<DynamoDbStore, String> {
    let missing = match client.describe_table().table_name(&table.name).send().await {
        Ok(_) => false,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            true
        }
        Err(e) => {
            return Err(format!(
                "SESSION_TABLE: cannot reach DynamoDB to check table {:?}: {}",
                table.name,
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            ));
        }
    };
    let store = DynamoDbStore::new(client, table.clone()).map_err(|e| e.to_string())?;
    // `DynamoDbStore::new` applies SESSION_ENCRYPTION_KEY and ALLOW_PLAINTEXT_TOKENS, which
    // `SessionConfig::from_env` has checked: a Cognito pool on a table needs one of them.
    match &table.encryption {
        Some(keys) => tracing::info!(
            key_id = keys.current_id(),
            keys = keys.ids().count(),
            "Cognito tokens in the table are encrypted"
        ),
        None if table.allow_plaintext_tokens => tracing::warn!(
            "ALLOW_PLAINTEXT_TOKENS: Cognito tokens are stored in the table in plaintext"
        ),
        None => {}
    }
    if missing {
        store.create_table().await.map_err(|e| {
            format!(
                "SESSION_TABLE: table {:?} is missing and could not be created: {e}",
                table.name
            )
        })?;
        tracing::info!(table = %table.name, "created the session table (with its username index and TTL)");
    } else {
        tracing::info!(table = %table.name, "using the session table");
    }
    Ok(store)
}

/// Fetches the pool's keys once, so a wrong pool or an unreachable endpoint stops the start.
async fn check_keys(url: &str) -> Result<(), String> {
    let fail =
        |why: String| format!("USER_POOL_ID: cannot fetch the pool's keys from {url}: {why}");
    let response = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    Ok(())
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
    // Without a user pool anyone can log in as anyone: fine on this machine, a hole anywhere
    // else.
    let insecure_demo = std::env::var("ALLOW_INSECURE_DEMO").is_ok_and(|v| v == "true");
    if config.cognito().is_none() && !addr.ip().is_loopback() && !insecure_demo {
        return Err(format!(
            "BIND: {addr} is reachable from other machines, and without USER_POOL_ID this server \
             logs anyone in without a password; set ALLOW_INSECURE_DEMO=true to listen there anyway"
        ));
    }
    if config.cognito().is_some() && config.table().is_none() {
        tracing::warn!(
            "sessions are kept in this process only (no SESSION_TABLE): they end when it stops, \
             and other instances behind the same load balancer don't see them"
        );
    }
    let sessions = sessions(config).await?;

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
