//! Cognito test helpers: a user pool and app client in moto per test, users, an SDK client
//! that counts its calls, tokens signed with moto's key, and an app behind `SessionLayer`.
#![cfg(feature = "cognito")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, MessageActionType};
use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_session::cognito::CognitoSettings;
use cognito_session::store::intercept::{Call, Intercepted, Interceptor};
use cognito_session::store::{MemoryStore, SessionStore, StoreError, TokenHash};
use cognito_session::{CurrentUser, NewSession, SessionConfig, SessionLayer, SessionManager};
use http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use tower::ServiceExt;

pub use super::keys::sign as sign_with;
pub use super::sdk::Calls;
use super::{emulator_env, keys, moto_url, sdk, unique};

/// The session of a password log-in of `username` through `manager`, which must need no
/// challenge.
pub async fn logged_in(manager: &SessionManager, username: &str, password: &str) -> NewSession {
    manager
        .login(username, password)
        .await
        .unwrap()
        .into_session()
        .unwrap()
}

/// An SDK client for the Cognito emulator at `url`, counting into `calls`.
pub fn sdk_client(url: &str, calls: &Calls) -> Client {
    Client::from_conf(sdk::cognito(url).interceptor(calls.clone()).build())
}

/// A user pool with an app client (USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH allowed).
pub struct Pool {
    pub url: String,
    pub client: Client,
    pub calls: Calls,
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl Pool {
    /// A pool in the shared moto, app client without a secret.
    pub async fn new() -> Self {
        Self::create(&moto_url(), false).await
    }

    /// A pool in the shared moto, app client with a secret (so SECRET_HASH is needed).
    pub async fn with_secret() -> Self {
        Self::create(&moto_url(), true).await
    }

    pub async fn create(url: &str, secret: bool) -> Self {
        let calls = Calls::default();
        let client = sdk_client(url, &calls);
        let pool = client
            .create_user_pool()
            .pool_name(unique("pool"))
            .send()
            .await
            .expect("CreateUserPool");
        let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
        let app = client
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .generate_secret(secret)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .expect("CreateUserPoolClient");
        let app = app.user_pool_client().unwrap();
        Self {
            url: url.to_owned(),
            client,
            calls,
            pool_id,
            client_id: app.client_id().unwrap().to_owned(),
            client_secret: app.client_secret().map(str::to_owned),
        }
    }

    /// A new confirmed user with a permanent password: (username, password).
    pub async fn user(&self) -> (String, String) {
        let username = unique("user");
        let password = "Correct-Horse-9-Battery".to_owned();
        self.add_user(&username, &password).await;
        (username, password)
    }

    /// A group of the pool named `group`.
    pub async fn create_group(&self, group: &str) {
        self.client
            .create_group()
            .user_pool_id(&self.pool_id)
            .group_name(group)
            .send()
            .await
            .expect("CreateGroup");
    }

    /// Puts `username` in `group`.
    pub async fn add_to_group(&self, username: &str, group: &str) {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await
            .expect("AdminAddUserToGroup");
    }

    /// Takes `username` out of `group`.
    pub async fn remove_from_group(&self, username: &str, group: &str) {
        self.client
            .admin_remove_user_from_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await
            .expect("AdminRemoveUserFromGroup");
    }

    /// A confirmed user named `username` with the permanent `password`.
    pub async fn add_user(&self, username: &str, password: &str) {
        self.client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .expect("AdminCreateUser");
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .expect("AdminSetUserPassword");
    }

    /// Settings for this pool: moto serves the keys under the pool id, while tokens name
    /// the real Cognito issuer.
    pub fn settings(&self) -> CognitoSettings {
        let settings = self.settings_for(&self.client_id);
        match &self.client_secret {
            Some(secret) => settings.with_client_secret(secret.clone().into()),
            None => settings,
        }
    }

    /// Settings for the app client `client_id` of this pool, without a client secret.
    pub fn settings_for(&self, client_id: &str) -> CognitoSettings {
        CognitoSettings::new(&self.pool_id, client_id).with_jwks_url(format!(
            "{}/{}/.well-known/jwks.json",
            self.url, self.pool_id
        ))
    }

    /// The session settings the tests start from (the pool's are in
    /// [`settings`](Self::settings)).
    pub fn config(&self) -> SessionConfig {
        SessionConfig::default()
    }

    /// A manager on `store` with `config` and this pool's [`settings`](Self::settings),
    /// short timeouts, using this pool's counted client.
    pub fn manager(&self, store: impl SessionStore, config: SessionConfig) -> SessionManager {
        self.manager_with(store, config, self.settings())
    }

    /// A manager on `store` with `config` and `settings` (with [`options`] applied), using
    /// this pool's counted client.
    pub fn manager_with(
        &self,
        store: impl SessionStore,
        config: SessionConfig,
        settings: CognitoSettings,
    ) -> SessionManager {
        SessionManager::with_cognito(store, config, options(settings), self.client.clone()).unwrap()
    }

    /// A second app client of the pool.
    pub async fn other_client(&self) -> String {
        let app = self
            .client
            .create_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_name("other")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .send()
            .await
            .expect("CreateUserPoolClient");
        app.user_pool_client()
            .unwrap()
            .client_id()
            .unwrap()
            .to_owned()
    }
}

/// `settings` with the options for tests: calls give up after 2 s rather than 5.
pub fn options(settings: CognitoSettings) -> CognitoSettings {
    settings.with_call_timeout(Duration::from_secs(2))
}

/// moto's signing key (kid `dummy`), which its JWKS vouches for.
pub fn moto_key() -> &'static EncodingKey {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = emulator_env("COGNITO_SESSION_MOTO_KEY");
        let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        EncodingKey::from_rsa_pem(&pem).expect("moto's key as PKCS#8 PEM")
    })
}

/// An RSA key no JWKS knows.
pub fn stranger_key() -> EncodingKey {
    keys::fixture()
}

/// A fresh RSA key: its signing half, and its public half as a JWK under `kid`.
pub fn rsa_key(kid: &str) -> (EncodingKey, Value) {
    let key = keys::fresh();
    let jwk = serde_json::to_value(keys::jwk(&key, kid)).unwrap();
    (key, jwk)
}

/// A token moto's JWKS accepts, with whatever claims.
pub fn forge(claims: &Value) -> String {
    sign_with(claims, moto_key(), "dummy")
}

/// The payload of a token, read without verification (tests only).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `claims` with some members replaced (`null` removes one).
pub fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// Seconds since the epoch by `clock`.
pub fn epoch(clock: &(impl Fn() -> std::time::SystemTime + ?Sized)) -> u64 {
    clock()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Makes the session `key` hold a copy of its access token that expires at `exp` (signed
/// with moto's key, so it verifies), as if the client had been given that token: the way
/// tests get a token due for refresh without waiting an hour. Returns the new token.
pub async fn age(store: &dyn SessionStore, key: &str, exp: u64) -> String {
    let mut record = store
        .load(key, 0)
        .await
        .unwrap()
        .expect("the session to age");
    let tokens = record.cognito.as_mut().expect("a Cognito session");
    let claims = with(
        &claims_of(tokens.access_token.expose()),
        json!({ "exp": exp, "iat": exp - 3600, "jti": unique("jti") }),
    );
    let token = forge(&claims);
    tokens.access_token = token.clone().into();
    tokens.access_expires_at = exp;
    record.token_hash = TokenHash::of(&token);
    record.version += 1;
    store.update(&record, record.version - 1).await.unwrap();
    token
}

/// How a request carries its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// A response, read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The token a `Set-Cookie` hands the client, if one does.
    pub fn cookie_token(&self) -> Option<String> {
        self.set_cookies()
            .iter()
            .find_map(|c| super::cookie_token(c))
    }

    /// The token the `x-session-token` header hands a Bearer client, if it does.
    pub fn header_token(&self) -> Option<String> {
        let value = self.headers.get("x-session-token")?;
        Some(value.to_str().unwrap().to_owned())
    }

    /// The new token the reply hands the client, however it does.
    pub fn new_token(&self) -> Option<String> {
        self.cookie_token().or_else(|| self.header_token())
    }

    /// Whether a `Set-Cookie` removes the session cookie.
    pub fn removes_cookie(&self) -> bool {
        self.set_cookies()
            .iter()
            .any(|c| c.starts_with("token=;") && c.contains("Max-Age=0"))
    }

    pub fn username(&self) -> &str {
        self.body["username"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_invalid(&self, what: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{what}: {self:?}");
        assert_eq!(
            self.headers[WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#,
            "{what}"
        );
        assert_eq!(self.new_token(), None, "{what}");
    }

    #[track_caller]
    pub fn assert_unavailable(&self, what: &str) {
        assert_eq!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {self:?}"
        );
        assert!(self.headers.contains_key(RETRY_AFTER), "{what}");
        assert!(self.set_cookies().is_empty(), "{what}: the cookie is kept");
    }
}

/// `/me` behind the layer, answering the user as JSON.
pub fn app(manager: &SessionManager) -> Router {
    async fn me(user: CurrentUser) -> Json<Value> {
        Json(json!({ "username": user.username(), "sub": user.sub(), "key": user.session_key() }))
    }
    Router::new()
        .route("/me", get(me))
        .layer(SessionLayer::new(manager.clone()))
}

/// `GET /me` with `token`.
pub async fn call(app: &Router, token: &str, via: Via) -> Reply {
    let request = Request::get("/me");
    let request = match via {
        Via::Bearer => request.header(AUTHORIZATION, format!("Bearer {token}")),
        Via::Cookie => request.header(COOKIE, format!("token={token}")),
    };
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// A memory store whose updates can be slowed down (to make two processes race for sure)
/// or made to fail (a store outage right after Cognito answered). Like a remote store, it
/// answers no `load_now`, so checks through it take the awaited path.
pub type Rigged = Intercepted<Arc<MemoryStore>, RiggedUpdates>;

/// What [`Rigged`] does to updates.
#[derive(Clone, Default)]
pub struct RiggedUpdates {
    pub delay: Duration,
    pub fail: Arc<AtomicBool>,
}

#[async_trait]
impl Interceptor for RiggedUpdates {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        if let Call::Update { .. } = call {
            tokio::time::sleep(self.delay).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("updates are down (test)".into()));
            }
        }
        Ok(())
    }
}
