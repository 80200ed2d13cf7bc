//! Cognito access tokens as session tokens: log-in, verification, refresh, log-out.
//!
//! With a [`CognitoSettings`] in the [`SessionConfig`] and a manager made by
//! [`SessionManager::with_cognito`], the client holds a Cognito access token (as bearer token
//! or cookie) and the server keeps, per log-in, a [`SessionRecord`] with the refresh token.
//! On every request:
//!
//! 1. the token is [verified](self#verification) against the pool's keys; nothing in it is
//!    read before that;
//! 2. the session is read by a verified claim (`origin_jti`, or `sub`: see [`KeyClaim`]) and
//!    must hold this token, or the one it replaced within the grace period (that request is
//!    answered with the current token in `Set-Cookie`);
//! 3. if the token expired, or expires within
//!    [`refresh_before`](SessionConfig::with_refresh_before), it is refreshed through Cognito
//!    with the refresh token that never leaves the server; the new token is written to the
//!    session with a conditional update and sent in `Set-Cookie`, and the request goes on as
//!    the user.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use cognito_session::{CognitoSettings, CurrentUser, MemoryStore, SessionConfig, SessionLayer, SessionManager};
//!
//! let aws = aws_config::load_from_env().await;
//! let config = SessionConfig::default()
//!     .with_cognito(Some(CognitoSettings::new("eu-west-1_AbCdEf123", "1example23456789")));
//! let sessions = SessionManager::with_cognito(
//!     MemoryStore::new(),
//!     config,
//!     aws_sdk_cognitoidentityprovider::Client::new(&aws),
//! )?;
//!
//! // In the log-in handler: Cognito checks the password, the session is stored, and the
//! // access token goes to the client.
//! let session = sessions.login("alice", "correct horse battery staple").await?;
//! # let _ = session.set_cookie;
//!
//! async fn me(user: CurrentUser) -> String {
//!     format!("{} ({:?})", user.username(), user.sub())
//! }
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .layer(SessionLayer::new(sessions));
//! # Ok(())
//! # }
//! ```
//!
//! # Verification
//!
//! RS256 only (`none`, HMAC and every other `alg` are refused before any key is looked up);
//! the signature against the pool's key named by `kid`; `iss` must be the pool's issuer,
//! `token_use` must be `access`, `client_id` the app client or one of
//! [`extra_client_ids`](CognitoSettings::extra_client_ids); `iat` and `nbf` may not be in
//! the future by more than the [leeway](CognitoOptions::with_leeway). Tokens longer than
//! 16 KiB are refused unread. An *expired* but otherwise valid token is not refused: it is
//! how a session whose client was away a while comes back, and it is refreshed if its
//! session is live (a token that expired longer ago than the session
//! [lifetime](SessionConfig::with_lifetime) is refused without reading the store).
//!
//! The pool's keys are fetched on first use and cached; an unknown `kid` fetches them again,
//! at most once per [cooldown](CognitoOptions::with_jwks_cooldown), and concurrent misses
//! share one fetch. When the keys can't be fetched the answer is 503, not 401: the token may
//! well be good. Verified tokens are remembered (by hash, until their `exp`), so a token used
//! for many requests costs one signature check; the session is still read on every request.
//!
//! # Failures
//!
//! | what happens | answer | the session |
//! |---|---|---|
//! | Cognito refuses the refresh token (`NotAuthorizedException`: revoked, global sign-out, expired) | 401, removal cookie | deleted |
//! | Cognito throttles, fails, is unreachable or slow (see [`with_call_timeout`](CognitoOptions::with_call_timeout)) during a refresh | the request goes on if the token has not expired yet, else 503 | kept, refresh token kept; the next request tries again |
//! | the store fails while writing refreshed tokens | as above | kept: Cognito does not rotate refresh tokens (unless [rotation](CognitoOptions::with_refresh_token_rotation) is on), so the stored one still works |
//! | another process refreshed the same session first | the request adopts that process's token (`Set-Cookie`) | one token stored |
//!
//! Tokens and refresh tokens are never logged, and Cognito's error messages (which may quote
//! them) are not either: errors carry Cognito's error code only.

mod authenticate;
mod cache;
mod flight;
mod idp;
mod jwks;
mod refresh;
mod verify;

use std::time::Duration;

use crate::manager::{NewSession, SessionError, SessionManager};
use crate::store::{SessionStore, StoreError};
use crate::{CognitoSettings, CognitoTokens, ConfigError, KeyClaim, SessionConfig, SessionRecord};

use self::cache::TokenCache;
use self::flight::Flights;
use self::idp::{CallError, Idp, IdpError};
use self::jwks::{Jwks, JwksTiming};
use self::verify::{AccessClaims, Verifier};

/// Whether a token goes down the Cognito path rather than the opaque one. Opaque tokens are
/// base64url and never hold a dot, so one dot decides; the verifier checks the three-part
/// shape itself. (Counting the dots would walk the whole kilobyte on every request.)
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.contains('.')
}

/// Tuning of the Cognito side of a [`SessionManager`], for
/// [`SessionManager::with_cognito_options`]. Every setting has a default that suits a
/// service talking to Cognito over the internet.
///
/// ```
/// use std::time::Duration;
/// use cognito_session::cognito::CognitoOptions;
///
/// let options = CognitoOptions::default()
///     .with_leeway(Duration::from_secs(30))
///     .with_call_timeout(Duration::from_secs(3))
///     .with_global_sign_out(true);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CognitoOptions {
    leeway: Duration,
    call_timeout: Duration,
    jwks_timeout: Duration,
    jwks_cooldown: Duration,
    jwks_failure_cooldown: Duration,
    jwks_max_age: Duration,
    http: Option<reqwest::Client>,
    token_cache_capacity: usize,
    global_sign_out: bool,
    refresh_token_rotation: bool,
}

impl Default for CognitoOptions {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(60),
            call_timeout: Duration::from_secs(5),
            jwks_timeout: Duration::from_secs(5),
            jwks_cooldown: Duration::from_secs(30),
            jwks_failure_cooldown: Duration::from_secs(5),
            jwks_max_age: Duration::from_secs(3600),
            http: None,
            token_cache_capacity: 10_000,
            global_sign_out: false,
            refresh_token_rotation: false,
        }
    }
}

impl CognitoOptions {
    /// How far in the future a token's `iat` and `nbf` may be, for clock skew between
    /// Cognito and this server. Default 60 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_leeway(Duration::from_secs(5));
    /// ```
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long a call to Cognito's API (log-in, refresh, revocation) may take before it is
    /// given up as unavailable. Default 5 s: a refresh runs while a request waits, and the
    /// AWS SDK by itself waits for an answer indefinitely.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_call_timeout(Duration::from_secs(2));
    /// ```
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long fetching the pool's keys may take. Default 5 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_jwks_timeout(Duration::from_secs(2));
    /// ```
    pub fn with_jwks_timeout(mut self, timeout: Duration) -> Self {
        self.jwks_timeout = timeout;
        self
    }

    /// The least time between two fetches of the pool's keys caused by tokens naming a key
    /// we don't know. Default 30 s: Cognito rotates keys rarely and announces new ones before
    /// using them, while tokens with made-up key ids cost nothing to send; during the
    /// cooldown they are refused without a fetch.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_jwks_cooldown(Duration::from_secs(60));
    /// ```
    pub fn with_jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_cooldown = cooldown;
        self
    }

    /// After a failed fetch of the keys, how long requests that need them are answered 503
    /// at once rather than trying again. Default 5 s, so a key endpoint that is down is not
    /// hammered by every request.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_jwks_failure_cooldown(Duration::from_secs(1));
    /// ```
    pub fn with_jwks_failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_failure_cooldown = cooldown;
        self
    }

    /// How old the cached keys may get before they are fetched again, so that a key the
    /// pool withdrew stops being trusted. Default 1 hour. Old keys keep working while the
    /// fetch runs, and if it fails.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_jwks_max_age(Duration::from_secs(600));
    /// ```
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// The HTTP client that fetches the keys. Default: a new `reqwest` client (rustls, the
    /// system's roots). The [JWKS timeout](Self::with_jwks_timeout) applies whatever the
    /// client's own settings.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let http = reqwest::Client::builder().user_agent("my-service").build().unwrap();
    /// let options = CognitoOptions::default().with_http_client(http);
    /// ```
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How many verified tokens are remembered, so that a token is not verified again on
    /// each request until it expires. Default 10 000 (a few MiB at most); 0 turns the cache
    /// off.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_token_cache_capacity(100_000);
    /// ```
    pub fn with_token_cache_capacity(mut self, capacity: usize) -> Self {
        self.token_cache_capacity = capacity;
        self
    }

    /// Whether [`SessionManager::sign_out_everywhere`] also calls Cognito's
    /// `AdminUserGlobalSignOut`, which ends every refresh token of the user, including
    /// sessions of other applications. Default `false`: it needs AWS credentials allowed to
    /// call that admin operation.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_global_sign_out(true);
    /// ```
    pub fn with_global_sign_out(mut self, enabled: bool) -> Self {
        self.global_sign_out = enabled;
        self
    }

    /// Refresh with `GetTokensFromRefreshToken` instead of `InitiateAuth`
    /// (`REFRESH_TOKEN_AUTH`), and store the new refresh token it returns. Default `false`.
    /// Turn it on for app clients with refresh-token rotation enabled, where `InitiateAuth`
    /// is refused.
    ///
    /// With rotation, a refresh whose new tokens can't be written to the store loses the
    /// rotated refresh token, and the session ends once its old one's grace period is over;
    /// without rotation the stored refresh token always stays good.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_refresh_token_rotation(true);
    /// ```
    pub fn with_refresh_token_rotation(mut self, enabled: bool) -> Self {
        self.refresh_token_rotation = enabled;
        self
    }
}

/// The Cognito side of a [`SessionManager`]: verifier, key cache, API client.
pub(crate) struct Cognito {
    settings: CognitoSettings,
    verifier: Verifier,
    idp: Idp,
    flights: Flights,
    global_sign_out: bool,
}

impl std::fmt::Debug for Cognito {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cognito")
            .field("settings", &self.settings)
            .field("verifier", &self.verifier)
            .field("idp", &self.idp)
            .finish_non_exhaustive()
    }
}

impl Cognito {
    fn new(
        settings: CognitoSettings,
        client: aws_sdk_cognitoidentityprovider::Client,
        options: CognitoOptions,
    ) -> Result<Self, ConfigError> {
        if settings.user_pool_id.is_empty() || settings.client_id.is_empty() {
            return Err(ConfigError::Invalid(
                "the Cognito user pool id and client id must be set".into(),
            ));
        }
        let http = match options.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(options.jwks_timeout)
                .build()
                .map_err(|e| ConfigError::Invalid(format!("HTTP client for the JWKS: {e}")))?,
        };
        let jwks = Jwks::new(
            settings.jwks_url(),
            http,
            JwksTiming {
                timeout: options.jwks_timeout,
                cooldown: options.jwks_cooldown,
                failure_cooldown: options.jwks_failure_cooldown,
                max_age: options.jwks_max_age,
            },
        );
        let verifier = Verifier::new(
            &settings,
            options.leeway,
            jwks,
            TokenCache::new(options.token_cache_capacity),
        );
        let idp = Idp::new(
            client,
            &settings,
            options.call_timeout,
            options.refresh_token_rotation,
        );
        Ok(Self {
            settings,
            verifier,
            idp,
            flights: Flights::default(),
            global_sign_out: options.global_sign_out,
        })
    }

    /// The session key a verified token names, by the configured claim.
    fn key_of<'c>(&self, claims: &'c AccessClaims) -> Option<&'c str> {
        let key = match self.settings.key_claim {
            KeyClaim::OriginJti => claims.origin_jti.as_deref()?,
            KeyClaim::Sub => claims.sub.as_str(),
        };
        (!key.is_empty() && key.len() <= 256).then_some(key)
    }

    /// Ends the refresh token of a session that is being deleted (`RevokeToken`). Best
    /// effort: a failure is logged and the session is deleted anyway, since keeping a
    /// session the user asked to end would be worse than a refresh token that lives on until
    /// it expires.
    pub(crate) async fn revoke(&self, record: &SessionRecord) {
        let Some(tokens) = &record.cognito else {
            return;
        };
        match self.idp.revoke(&tokens.refresh_token).await {
            Ok(()) => tracing::debug!(session = %record.key, "refresh token revoked"),
            Err(CallError::Refused) => {
                tracing::debug!(session = %record.key, "refresh token was already ended");
            }
            Err(CallError::Unavailable(error)) => {
                tracing::warn!(session = %record.key, %error, "refresh token not revoked; the session is deleted anyway");
            }
        }
    }

    async fn login(
        &self,
        manager: &SessionManager,
        username: &str,
        password: &str,
    ) -> Result<NewSession, SessionError> {
        let tokens = match self.idp.password_login(username, password).await {
            Ok(tokens) => tokens,
            Err(CallError::Refused) => return Err(SessionError::InvalidCredentials),
            Err(CallError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
        };
        let Some(refresh_token) = tokens.refresh else {
            unreachable!("password_login insists on a refresh token")
        };
        let now = manager.config().now();
        let verify::Verified { hash, claims } = self
            .verifier
            .verify(tokens.access.expose(), now)
            .await
            .map_err(|e| match e {
                crate::AuthError::Unavailable(e) => SessionError::Unavailable(e),
                _ => SessionError::Unavailable(Box::new(IdpError::new(
                    "InitiateAuth",
                    "returned an access token this configuration does not accept (check the pool id, client id and clock)",
                ))),
            })?;
        let key = self.key_of(&claims).ok_or_else(|| {
            SessionError::Unavailable(Box::new(IdpError::new(
                "InitiateAuth",
                "returned an access token without the claim that keys sessions (origin_jti: use KeyClaim::Sub for such pools)",
            )))
        })?;
        let record = SessionRecord {
            key: key.to_owned(),
            username: claims.username.clone(),
            sub: Some(claims.sub.clone()),
            token_hash: hash,
            previous_token_hash: None,
            previous_valid_until: None,
            successor: None,
            cognito: Some(CognitoTokens {
                access_token: tokens.access.clone(),
                refresh_token,
                access_expires_at: claims.exp,
            }),
            created_at: now,
            last_seen_at: now,
            refreshed_at: now,
            expires_at: manager.expiry(now, now),
            version: 0,
        };
        self.store_new(manager, record.clone(), now).await?;
        tracing::debug!(username = %record.username, session = %record.key, "Cognito session created");
        Ok(manager.new_session(tokens.access, &record, now))
    }

    /// Stores a new log-in's record. With [`KeyClaim::Sub`] a record of an earlier log-in of
    /// the user may be in the way: it is replaced (one session per user is what that layout
    /// means), and its refresh token revoked.
    async fn store_new(
        &self,
        manager: &SessionManager,
        mut record: SessionRecord,
        now: u64,
    ) -> Result<(), SessionError> {
        let store = &manager.inner.store;
        for _ in 0..3 {
            match store.create(&record, now).await {
                Err(StoreError::Conflict) if self.settings.key_claim == KeyClaim::Sub => {}
                other => return other.map_err(SessionError::from),
            }
            let Some(old) = store.load(&record.key, now).await? else {
                continue; // gone meanwhile: create again
            };
            record.version = old.version + 1;
            match store.update(&record, old.version).await {
                Ok(()) => {
                    tracing::debug!(session = %record.key, "earlier session of the user replaced");
                    self.revoke(&old).await;
                    return Ok(());
                }
                Err(StoreError::Conflict) => record.version = 0,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

impl SessionManager {
    /// A manager whose sessions are Cognito log-ins, with default [`CognitoOptions`].
    ///
    /// `config` must carry the pool's [`CognitoSettings`]
    /// ([`SessionConfig::with_cognito`]); `client` is the AWS SDK client used to log in,
    /// refresh and revoke (its region and credentials; log-in and refresh need no AWS
    /// credentials, only the optional [global sign-out](CognitoOptions::with_global_sign_out)
    /// does). Opaque session tokens keep working alongside.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
    ///
    /// let config = SessionConfig::from_env()?; // USER_POOL_ID, CLIENT_ID, CLIENT_SECRET, ...
    /// let aws = aws_config::load_from_env().await;
    /// let client = aws_sdk_cognitoidentityprovider::Client::new(&aws);
    /// let sessions = SessionManager::with_cognito(MemoryStore::new(), config, client)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_cognito(
        store: impl SessionStore,
        config: SessionConfig,
        client: aws_sdk_cognitoidentityprovider::Client,
    ) -> Result<Self, ConfigError> {
        Self::with_cognito_options(store, config, client, CognitoOptions::default())
    }

    /// Like [`with_cognito`](Self::with_cognito), with [`CognitoOptions`].
    pub fn with_cognito_options(
        store: impl SessionStore,
        config: SessionConfig,
        client: aws_sdk_cognitoidentityprovider::Client,
        options: CognitoOptions,
    ) -> Result<Self, ConfigError> {
        let settings = config.cognito().cloned().ok_or_else(|| {
            ConfigError::Invalid(
                "a Cognito session manager needs CognitoSettings (SessionConfig::with_cognito)"
                    .into(),
            )
        })?;
        let cognito = Cognito::new(settings, client, options)?;
        let mut manager = Self::new(store, config)?;
        std::sync::Arc::get_mut(&mut manager.inner)
            .expect("a new manager is not shared yet")
            .cognito = Some(cognito);
        Ok(manager)
    }

    /// Logs `username` in with `password` through Cognito (`USER_PASSWORD_AUTH`, with
    /// `SECRET_HASH` when the app client has a secret) and creates the session. Hand the
    /// client [`NewSession::token`] or send [`NewSession::set_cookie`].
    ///
    /// Errors: [`SessionError::InvalidCredentials`] for a wrong password or an unknown user
    /// (one answer for both); [`SessionError::Unavailable`] when Cognito can't be reached or
    /// asks for a challenge (new password, MFA) that this log-in doesn't handle, or the
    /// manager has no Cognito pool; [`SessionError::Store`] when the session can't be stored.
    pub async fn login(&self, username: &str, password: &str) -> Result<NewSession, SessionError> {
        self.cognito()?.login(self, username, password).await
    }

    /// Ends every session of `username` in the store and, when
    /// [enabled](CognitoOptions::with_global_sign_out), every refresh token Cognito issued
    /// to the user (`AdminUserGlobalSignOut`). Returns how many sessions were deleted.
    ///
    /// The sessions are deleted first, so they are over even when the global sign-out then
    /// fails (which is reported as [`SessionError::Unavailable`]).
    pub async fn sign_out_everywhere(&self, username: &str) -> Result<usize, SessionError> {
        let cognito = self.cognito()?;
        let deleted = self.delete_user(username).await?;
        if cognito.global_sign_out {
            match cognito.idp.global_sign_out(username).await {
                Ok(()) => tracing::debug!(username, "Cognito global sign-out"),
                Err(CallError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
                Err(CallError::Refused) => {
                    let error = IdpError::new("AdminUserGlobalSignOut", "refused");
                    return Err(SessionError::Unavailable(Box::new(error)));
                }
            }
        }
        Ok(deleted)
    }

    fn cognito(&self) -> Result<&Cognito, SessionError> {
        self.inner.cognito.as_ref().ok_or_else(|| {
            SessionError::Unavailable(
                "this SessionManager has no Cognito user pool (see SessionManager::with_cognito)"
                    .into(),
            )
        })
    }
}

/// The real verifier and manager with the pool's keys fixed in memory, never fetched: what
/// the `__fuzz` entry points (`crate::fuzz`) run. Not part of the API.
#[cfg(feature = "__fuzz")]
pub(crate) mod fixed_keys {
    use jsonwebtoken::DecodingKey;

    pub(crate) use super::verify::Verifier;
    use super::{CognitoOptions, Jwks, TokenCache};
    use crate::{CognitoSettings, ConfigError, SessionConfig, SessionManager, SessionStore};

    /// A verifier of `settings`' pool that knows `keys` and caches nothing.
    pub(crate) fn verifier(
        settings: &CognitoSettings,
        keys: impl IntoIterator<Item = (String, DecodingKey)>,
    ) -> Verifier {
        let leeway = CognitoOptions::default().leeway;
        Verifier::new(settings, leeway, Jwks::fixed(keys), TokenCache::new(0))
    }

    /// [`SessionManager::with_cognito_options`] (default options, no token cache), its
    /// verifier then replaced by one that knows `keys`.
    pub(crate) fn manager(
        store: impl SessionStore,
        config: SessionConfig,
        client: aws_sdk_cognitoidentityprovider::Client,
        keys: impl IntoIterator<Item = (String, DecodingKey)>,
    ) -> Result<SessionManager, ConfigError> {
        let options = CognitoOptions::default().with_token_cache_capacity(0);
        let mut manager = SessionManager::with_cognito_options(store, config, client, options)?;
        let cognito = std::sync::Arc::get_mut(&mut manager.inner)
            .and_then(|inner| inner.cognito.as_mut())
            .expect("a new Cognito manager is not shared yet");
        cognito.verifier = verifier(&cognito.settings, keys);
        Ok(manager)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, Secret};

    fn manager() -> SessionManager {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .build();
        let client = aws_sdk_cognitoidentityprovider::Client::from_conf(config);
        let mut settings = CognitoSettings::new("us-east-1_x", "client");
        settings.client_secret = Some(Secret::new("client-secret"));
        let config = SessionConfig::default().with_cognito(Some(settings));
        SessionManager::with_cognito(MemoryStore::new(), config, client).unwrap()
    }

    #[test]
    fn the_request_path_future_stays_small() {
        // SessionLayer boxes this future for every request; the SDK's futures (refresh) and
        // the key fetch are kilobytes, so they are boxed on their own, off the hot path.
        let manager = manager();
        let cognito = manager.inner.cognito.as_ref().unwrap();
        let size = std::mem::size_of_val(&cognito.authenticate(&manager, "a.b.c"));
        assert!(
            size <= 1024,
            "Cognito::authenticate's future is {size} bytes"
        );
    }

    #[test]
    fn a_manager_needs_cognito_settings_and_hides_secrets() {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .build();
        let client = aws_sdk_cognitoidentityprovider::Client::from_conf(config);
        let missing =
            SessionManager::with_cognito(MemoryStore::new(), SessionConfig::default(), client);
        assert!(matches!(missing, Err(ConfigError::Invalid(_))));

        let manager = manager();
        let debug = format!("{:?}", manager.inner.cognito);
        assert!(debug.contains("us-east-1_x"), "{debug}");
        assert!(!debug.contains("client-secret"), "{debug}");
    }
}
