//! Cognito access tokens as session tokens: log-in, verification, refresh, log-out.
//!
//! With [`CognitoSettings`], one builder for everything Cognito (the pool, its app client,
//! the managed login, refresh windows, the challenge key and how Cognito is called), and a
//! manager made by [`SessionManager::with_cognito`](crate::SessionManager::with_cognito) or
//! [`SessionManager::from_env`](crate::SessionManager::from_env), the client holds a
//! Cognito access token (as bearer token or cookie) and the server keeps, per log-in, a
//! [`SessionRecord`] with the refresh token.
//! On every request:
//!
//! 1. the token is [verified](self#verification) against the pool's keys; nothing in it is
//!    read before that;
//! 2. the session is read by a verified claim (`origin_jti`, or `sub`: see [`KeyClaim`]) and
//!    must hold this token, or the one it replaced within the grace period (that request is
//!    answered with the current token in `Set-Cookie`);
//! 3. if the token expired, or expires within
//!    [`refresh_before`](CognitoSettings::with_refresh_before), it is refreshed through Cognito
//!    with the refresh token that never leaves the server; the new token is written to the
//!    session with a conditional update and sent in `Set-Cookie`, and the request goes on as
//!    the user.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use cognito_session::cognito::{CognitoSettings, LogIn};
//! use cognito_session::store::MemoryStore;
//! use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
//!
//! let aws = aws_config::load_from_env().await;
//! let sessions = SessionManager::with_cognito(
//!     MemoryStore::new(),
//!     SessionConfig::default(),
//!     CognitoSettings::new("eu-west-1_AbCdEf123", "1example23456789"),
//!     aws_sdk_cognitoidentityprovider::Client::new(&aws),
//! )?;
//!
//! // In the log-in handler: Cognito checks the password, the session is stored, and the
//! // access token goes to the client; or Cognito asks a challenge (see below).
//! match sessions.login("alice", "correct horse battery staple").await? {
//!     LogIn::Session(session) => { let _ = session.set_cookie; }
//!     LogIn::Challenge(challenge) => { let _ = (challenge.name, challenge.session); }
//!     _ => {}
//! }
//! // Or take the ready-made routes: `cognito_session::routes::LoginRoutes`.
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
//! # Log-in and challenges
//!
//! [`SessionManager::login`](crate::SessionManager::login) uses `USER_PASSWORD_AUTH`, or
//! `USER_SRP_AUTH` (the password never leaves the server; its `PASSWORD_VERIFIER` challenge
//! is answered here) when [`CognitoSettings::auth_flow`] is [`AuthFlow::Srp`]:
//! the app client must allow `ALLOW_USER_PASSWORD_AUTH` or `ALLOW_USER_SRP_AUTH` (else
//! [`SessionError::FlowNotEnabled`] names the flag;
//! [`SessionManager::check_app_client`](crate::SessionManager::check_app_client) tells at
//! start, when the AWS credentials may ask). Cognito may answer with a
//! [`Challenge`] rather than tokens: a new password for a user an administrator created, an
//! MFA or one-time code, a choice of MFA, or setting up an authenticator app. The client
//! gets its name, parameters and a sealed session, and sends its [`ChallengeAnswer`] back
//! to [`SessionManager::answer_challenge`](crate::SessionManager::answer_challenge), which
//! answers like a log-in: a session or the next challenge.
//!
//! | Cognito says | error | tell the user |
//! |---|---|---|
//! | `CodeMismatchException`, `ExpiredCodeException` | [`SessionError::InvalidCode`] | try the code again |
//! | the sealed session was altered, expired, or is another user's; `NotAuthorizedException` | [`SessionError::LogInExpired`] | log in again |
//! | `InvalidPasswordException` | [`SessionError::PasswordRefused`] (the policy's message) | choose another password |
//! | `InvalidParameterException` (e.g. a required attribute missing) | [`SessionError::InvalidAnswer`] | the message |
//! | `PasswordResetRequiredException` at log-in | [`SessionError::PasswordResetRequired`] | reset the password |
//! | `UserNotConfirmedException` at log-in | [`SessionError::UserNotConfirmed`] | confirm the account |
//! | throttling, 5xx, unreachable | [`SessionError::Unavailable`] | try again shortly |
//!
//! The ID token that comes with the access token is not read, unless
//! [`CognitoSettings::with_id_token_claims`] names claims to keep (`email`, `custom:*`): it
//! is then verified too, and those claims join the session's claims.
//!
//! # Managed login
//!
//! Most user pools sign users in on their own pages (the managed login, or Hosted UI), often
//! through Google, Apple, Facebook, SAML or OIDC providers, and hand the app an
//! authorization code. With [`CognitoSettings::with_managed_login`] set
//! ([`ManagedLoginSettings`]: the domain and the callback URL):
//!
//! ```text
//!  browser                      app (this crate)                         pool's domain
//!     | GET /login                 |                                          |
//!     |--------------------------->| start_login: state, PKCE verifier, nonce |
//!     |<---------------------------| 302 /oauth2/authorize + sealed cookie     |
//!     |---------------------------------------------------------------------->| sign in
//!     |<----------------------------------------------------------------------| 302 callback?code&state
//!     | GET /auth/callback?code…   |                                          |
//!     |--------------------------->| finish_login: state = cookie's?          |
//!     |                            |--- POST /oauth2/token (code, verifier) ->|
//!     |                            |<-- access, ID and refresh tokens --------|
//!     |                            | verify, store the session                |
//!     |<---------------------------| 302 next + session cookie                |
//! ```
//!
//! [`SessionManager::start_login`](crate::SessionManager::start_login) answers the first
//! step, [`SessionManager::finish_login`](crate::SessionManager::finish_login) the callback;
//! the session is the same as a password log-in's. Refreshes then go to the domain's token
//! endpoint (`grant_type=refresh_token`) and revocations to `/oauth2/revoke`, which take the
//! refresh tokens of every flow of the app client, so one manager serves password and
//! managed log-ins alike. [`SessionManager::log_out`](crate::SessionManager::log_out)
//! ends the session and gives the domain's `/logout` URL.
//!
//! The log-in state lives in the browser, sealed with the
//! [challenge key](CognitoSettings::with_challenge_key): set the same key on every instance
//! (or, with `from_env`, the same `SESSION_ENCRYPTION_KEY`, which it is derived from when
//! unset), so that any of them can take the callback. Two
//! log-ins started in two tabs of one browser share the cookie: the older one's callback is
//! refused as an invalid state, and the user signs in again.
//!
//! [`SessionManager::create_from_tokens`](crate::SessionManager::create_from_tokens) makes a
//! session from tokens obtained elsewhere (a mobile app, Amplify), once they verify and one
//! refresh proves the refresh token is the access token's.
//!
//! # Verification
//!
//! RS256 only (`none`, HMAC and every other `alg` are refused before any key is looked up);
//! the signature against the pool's key named by `kid`; `iss` must be one of the pool's
//! [issuers](CognitoSettings::issuers) (both forms Cognito writes, for the pool's region and
//! any [replica's](CognitoSettings::with_extra_regions)),
//! `token_use` must be `access`, `client_id` the app client or one of
//! [`extra_client_ids`](CognitoSettings::with_extra_client_ids); `iat` and `nbf` may not be in
//! the future by more than the [leeway](CognitoSettings::with_leeway). Tokens longer than
//! 16 KiB are refused unread. An *expired* but otherwise valid token is not refused: it is
//! how a session whose client was away a while comes back, and it is refreshed if its
//! session is live (a token that expired longer ago than the session
//! [lifetime](crate::SessionConfig::with_lifetime) is refused without reading the store).
//!
//! The pool's keys are fetched on first use and cached; an unknown `kid` fetches them again,
//! at most once per [cooldown](CognitoSettings::with_jwks_cooldown), and concurrent misses
//! share one fetch. When the keys can't be fetched the answer is 503, not 401: the token may
//! well be good. Verified tokens are remembered (by hash, until their `exp`), so a token used
//! for many requests costs one signature check; the session is still read on every request.
//!
//! # Failures
//!
//! | what happens | answer | the session |
//! |---|---|---|
//! | Cognito refuses the refresh token (`NotAuthorizedException`: revoked, global sign-out, expired) | 401, removal cookie | deleted |
//! | the refresh returns another session's token (the row held another log-in's refresh token) | 401, removal cookie | deleted |
//! | Cognito throttles, fails, is unreachable or slow (see [`with_call_timeout`](CognitoSettings::with_call_timeout)) during a refresh | the request goes on if the token has not expired yet, else 503 | kept, refresh token kept; the next request tries again |
//! | the store fails while writing refreshed tokens | as above | kept: Cognito does not rotate refresh tokens (unless [rotation](CognitoSettings::with_refresh_token_rotation) is on), so the stored one still works |
//! | another process refreshed the same session first | the request adopts that process's token (`Set-Cookie`) | one token stored |
//!
//! Tokens and refresh tokens are never logged, and Cognito's error messages (which may quote
//! them) are not either: errors carry Cognito's error code only.

mod app_client;
mod authenticate;
mod cache;
mod challenge;
mod claims;
mod domain;
#[cfg(feature = "__fuzz")]
pub(crate) mod fixed_keys;
mod flight;
mod idp;
mod jwks;
mod log_in;
mod managed;
mod managed_login;
mod refresh;
mod settings;
pub(crate) mod srp;
mod start;
mod verify;

pub use self::app_client::AppClientCheck;
pub use self::challenge::{Challenge, ChallengeAnswer, ChallengeName};
pub use self::log_in::LogIn;
pub use self::managed::{LoggedIn, LoginOptions, LoginRedirect};
pub use self::managed_login::{ManagedLoginSettings, safe_next};
pub use self::settings::{AuthFlow, CognitoSettings, KeyClaim};

pub(crate) use self::challenge::Outcome;

use crate::{ConfigError, SessionError, SessionRecord};

use self::cache::TokenCache;
use self::challenge::Sealer;
use self::flight::Flights;
use self::idp::{CallError, Idp, IdpError};
use self::jwks::{Jwks, JwksTiming};
use self::verify::{AccessClaims, IdClaimNames, Verifier};

/// Whether a token goes down the Cognito path rather than the opaque one. Opaque tokens are
/// base64url and never hold a dot, so one dot decides; the verifier checks the three-part
/// shape itself. (Counting the dots would walk the whole kilobyte on every request.)
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.contains('.')
}

/// The Cognito side of a [`SessionManager`](crate::SessionManager): verifier, key cache,
/// API client.
pub(crate) struct Cognito {
    settings: CognitoSettings,
    verifier: Verifier,
    idp: Idp,
    /// The managed login domain's endpoints, when configured.
    domain: Option<domain::Domain>,
    flights: Flights,
    sealer: Sealer,
    global_sign_out: bool,
    /// The ID-token claims sessions keep; none by default.
    id_claims: IdClaimNames,
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
    pub(crate) fn new(
        settings: CognitoSettings,
        client: aws_sdk_cognitoidentityprovider::Client,
    ) -> Result<Self, ConfigError> {
        if settings.user_pool_id.is_empty() {
            return Err(ConfigError::setting("user_pool_id", "empty"));
        }
        if settings.client_id.is_empty() {
            return Err(ConfigError::setting("client_id", "empty"));
        }
        let jwks_url = settings.jwks_url();
        jwks::check_url(&jwks_url).map_err(|e| ConfigError::setting("jwks_url", e))?;
        // One client of our own serves the keys and the managed login's domain: each builds
        // its TLS roots (milliseconds of a cold start), and both bound their calls
        // themselves and follow no redirect. A client given for the keys may follow
        // redirects, so the domain keeps one of ours.
        let own_client = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::setting("http_client", e.to_string()))
        };
        let (http, domain_http) = match &settings.http {
            Some(http) => (http.clone(), None),
            None => {
                let own = own_client()?;
                (own.clone(), Some(own))
            }
        };
        let jwks = Jwks::new(
            jwks_url,
            http,
            JwksTiming {
                timeout: settings.jwks_timeout,
                cooldown: settings.jwks_cooldown,
                failure_cooldown: settings.jwks_failure_cooldown,
                max_age: settings.jwks_max_age,
                max_stale: settings.jwks_max_stale,
            },
        );
        let verifier = Verifier::new(
            &settings,
            settings.leeway,
            jwks,
            TokenCache::new(settings.token_cache_capacity, settings.token_cache_bytes),
        );
        let sealer = Sealer::new(&settings)?;
        let domain = match &settings.managed_login {
            Some(login) => {
                login
                    .validate()
                    .map_err(|e| ConfigError::setting("managed_login", e))?;
                let http = match domain_http {
                    Some(http) => http,
                    None => own_client()?,
                };
                Some(
                    domain::Domain::new(
                        login.clone(),
                        &settings.client_id,
                        settings.client_secret.clone(),
                        http,
                        settings.call_timeout,
                    )
                    .map_err(|e| ConfigError::setting("managed_login", e))?,
                )
            }
            None => None,
        };
        let idp = Idp::new(
            client,
            &settings,
            settings.call_timeout,
            settings.refresh_token_rotation,
        );
        Ok(Self {
            verifier,
            idp,
            domain,
            flights: Flights::new(settings.call_timeout),
            sealer,
            global_sign_out: settings.global_sign_out,
            id_claims: IdClaimNames::new(settings.id_token_claims.clone()),
            settings,
        })
    }

    /// Fetches the pool's keys now, so that the first request fetches nothing; fails when
    /// they can't be fetched.
    pub(crate) async fn prefetch_keys(&self) -> Result<(), String> {
        self.verifier.prefetch_keys().await
    }

    /// The settings this side was made with.
    pub(crate) fn settings(&self) -> &CognitoSettings {
        &self.settings
    }

    fn key_of<'c>(&self, claims: &'c AccessClaims) -> Option<&'c str> {
        let key = match self.settings.key_claim {
            KeyClaim::OriginJti => claims.origin_jti.as_deref()?,
            KeyClaim::Sub => claims.sub.as_str(),
        };
        (!key.is_empty() && key.len() <= 256).then_some(key)
    }

    /// The chosen claims of the ID token that came with an access token, verified and
    /// about `sub`. It is read when a claim of it is kept, when it must carry `nonce` (a
    /// managed log-in's), or when `always` (the caller vouches for it); `None` when it is
    /// not read or none came. Refused as [`AuthError::Invalid`](crate::AuthError::Invalid)
    /// when it doesn't verify.
    async fn id_claims_of(
        &self,
        id_token: Option<&crate::Secret>,
        sub: &str,
        nonce: Option<&str>,
        always: bool,
        now: u64,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, crate::AuthError> {
        if self.id_claims.is_empty() && nonce.is_none() && !always {
            return Ok(None);
        }
        let Some(id) = id_token else {
            return Ok(None);
        };
        let claims = self
            .verifier
            .verify_id(id.expose(), sub, &self.id_claims, nonce, now)
            .await?;
        Ok(Some(claims))
    }

    /// Ends the refresh token of a session that is being deleted (`RevokeToken`). Best
    /// effort: a failure is logged and the session is deleted anyway, since keeping a
    /// session the user asked to end would be worse than a refresh token that lives on until
    /// it expires.
    pub(crate) async fn revoke(&self, record: &SessionRecord) {
        let Some(tokens) = &record.cognito else {
            return;
        };
        match self.revoke_token(&tokens.refresh_token).await {
            Ok(()) => tracing::debug!(session = %record.key, "refresh token revoked"),
            Err(CallError::Refused | CallError::Denied(_)) => {
                tracing::debug!(session = %record.key, "refresh token was already ended");
            }
            Err(CallError::Unavailable(error)) => {
                tracing::warn!(session = %record.key, %error, "refresh token not revoked; the session is deleted anyway");
            }
        }
    }

    /// Cognito's `AdminUserGlobalSignOut` of `username`, when
    /// [enabled](CognitoSettings::with_global_sign_out).
    pub(crate) async fn sign_out_everywhere(&self, username: &str) -> Result<(), SessionError> {
        if !self.global_sign_out {
            return Ok(());
        }
        match self.idp.global_sign_out(username).await {
            Ok(()) => {
                tracing::debug!(username, "Cognito global sign-out");
                Ok(())
            }
            Err(CallError::Unavailable(e)) => Err(SessionError::Unavailable(e)),
            Err(CallError::Refused | CallError::Denied(_)) => {
                let error = IdpError::new("AdminUserGlobalSignOut", "refused");
                Err(SessionError::Unavailable(Box::new(error)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Check;
    use crate::{MemoryStore, Secret, SessionConfig};

    fn client() -> aws_sdk_cognitoidentityprovider::Client {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(config)
    }

    fn settings() -> CognitoSettings {
        CognitoSettings::new("us-east-1_x", "client")
            .with_client_secret(Secret::new("client-secret"))
    }

    #[test]
    fn the_request_path_future_stays_small() {
        // SessionLayer boxes this future for every request; the SDK's futures (refresh) and
        // the key fetch are kilobytes, so they are boxed on their own, off the hot path.
        let cognito = Cognito::new(settings(), client()).unwrap();
        let check = Check::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let size = std::mem::size_of_val(&cognito.authenticate(&check, "a.b.c"));
        assert!(
            size <= 1024,
            "Cognito::authenticate's future is {size} bytes"
        );
    }

    #[test]
    fn a_manager_needs_cognito_settings_and_hides_secrets() {
        let missing = Cognito::new(CognitoSettings::new("", "client"), client());
        assert!(matches!(
            missing,
            Err(ConfigError::Setting {
                setting: "user_pool_id",
                ..
            })
        ));

        let plain_http = settings().with_jwks_url("http://keys.example/jwks.json");
        let refused = Cognito::new(plain_http, client());
        assert!(matches!(
            refused,
            Err(ConfigError::Setting { setting: "jwks_url", message }) if message.contains("https")
        ));

        let cognito = Cognito::new(settings(), client());
        let debug = format!("{:?}", cognito.unwrap());
        assert!(debug.contains("us-east-1_x"), "{debug}");
        assert!(!debug.contains("client-secret"), "{debug}");
    }
}
