//! [`CognitoSettings`]: the user pool, its app client, and how this crate talks to them.

use std::time::Duration;

use crate::Secret;

use super::ManagedLoginSettings;

mod from_env;

/// Which verified claim of a Cognito access token keys its session record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyClaim {
    /// `origin_jti`: one record per log-in, stable across refreshes, so several devices of one
    /// user have sessions of their own. The default.
    #[default]
    OriginJti,
    /// `sub`: one record per user, as in tables laid out for `@sswahn/session`
    /// (partition key = the user's sub). A second log-in replaces the first.
    Sub,
}

/// How a password log-in proves the password to Cognito: the `AuthFlow` of `InitiateAuth`.
///
/// The app client must allow the flow chosen, or Cognito refuses every log-in: in the console
/// under the app client's *Authentication flows*, or `ExplicitAuthFlows` in
/// `CreateUserPoolClient` / `UpdateUserPoolClient` and CloudFormation.
///
/// ```
/// use cognito_session::cognito::{AuthFlow, CognitoSettings};
///
/// let cognito = CognitoSettings::new("eu-west-1_AbCdEf", "app-client-id").with_auth_flow(AuthFlow::Srp);
/// assert_eq!(cognito.auth_flow().client_flag(), "ALLOW_USER_SRP_AUTH");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFlow {
    /// `USER_PASSWORD_AUTH`: the password is sent to Cognito (over TLS), which checks it. The
    /// app client needs `ALLOW_USER_PASSWORD_AUTH`, which clients created in the console
    /// don't have unless it is ticked. The default, as before this setting existed.
    #[default]
    Password,
    /// `USER_SRP_AUTH`: the password never leaves this process; it answers Cognito's
    /// `PASSWORD_VERIFIER` challenge with a Secure Remote Password proof. The app client
    /// needs `ALLOW_USER_SRP_AUTH`, on in clients created in the console.
    Srp,
}

impl AuthFlow {
    /// The app client flag (`ExplicitAuthFlows` value) that lets this flow through:
    /// `ALLOW_USER_PASSWORD_AUTH` or `ALLOW_USER_SRP_AUTH`.
    pub fn client_flag(self) -> &'static str {
        match self {
            Self::Password => "ALLOW_USER_PASSWORD_AUTH",
            Self::Srp => "ALLOW_USER_SRP_AUTH",
        }
    }
}

/// Everything about the Cognito side of a [`SessionManager`](crate::SessionManager): the
/// user pool and app client whose tokens are accepted, the managed login, the refresh
/// windows, the challenge key, and how Cognito and the pool's keys are called. Given to
/// [`SessionManager::with_cognito`](crate::SessionManager::with_cognito), or read from the
/// environment by [`from_env`](Self::from_env) (which
/// [`SessionManager::from_env`](crate::SessionManager::from_env) calls).
///
/// Every `with_*` method says its default; the defaults suit a service talking to Cognito
/// over the internet.
///
/// ```
/// use std::time::Duration;
/// use cognito_session::Secret;
/// use cognito_session::cognito::{CognitoSettings, KeyClaim, ManagedLoginSettings};
///
/// let cognito = CognitoSettings::new("eu-west-1_AbCdEf", "app-client-id")
///     .with_client_secret(Secret::new("app-client-secret"))
///     .with_key_claim(KeyClaim::Sub)
///     .with_managed_login(ManagedLoginSettings::new(
///         "https://myapp.auth.eu-west-1.amazoncognito.com",
///         "https://app.example.com/auth/callback",
///     ))
///     .with_call_timeout(Duration::from_secs(3))
///     .with_global_sign_out(true);
/// assert_eq!(cognito.region(), "eu-west-1");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CognitoSettings {
    pub(crate) user_pool_id: String,
    pub(crate) client_id: String,
    pub(crate) extra_client_ids: Vec<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) jwks_url: Option<String>,
    pub(crate) key_claim: KeyClaim,
    pub(crate) auth_flow: AuthFlow,
    pub(crate) extra_regions: Vec<String>,
    pub(crate) managed_login: Option<ManagedLoginSettings>,
    pub(crate) refresh_before: Duration,
    pub(crate) refresh_after_expiry: Duration,
    pub(crate) leeway: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) jwks_timeout: Duration,
    pub(crate) jwks_cooldown: Duration,
    pub(crate) jwks_failure_cooldown: Duration,
    pub(crate) jwks_max_age: Duration,
    pub(crate) jwks_max_stale: Duration,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) token_cache_capacity: usize,
    pub(crate) token_cache_bytes: usize,
    pub(crate) global_sign_out: bool,
    pub(crate) refresh_token_rotation: bool,
    pub(crate) challenge_key: Option<ChallengeKey>,
    /// A secret only this service holds, for the challenge key when none is given:
    /// `from_env`'s newest `SESSION_ENCRYPTION_KEY`.
    pub(crate) service_secret: Option<ChallengeKey>,
    pub(crate) challenge_lifetime: Duration,
    pub(crate) id_token_claims: Vec<String>,
}

/// The key that seals challenge sessions: bytes, redacted from `Debug`.
#[derive(Clone)]
pub(crate) struct ChallengeKey(pub(crate) Vec<u8>);

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(<redacted>)")
    }
}

impl CognitoSettings {
    /// The user pool (`USER_POOL_ID`, `{region}_{id}`) and the app client that logs in and
    /// refreshes (`CLIENT_ID`), with every other setting at its default.
    pub fn new(user_pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            user_pool_id: user_pool_id.into(),
            client_id: client_id.into(),
            extra_client_ids: Vec::new(),
            client_secret: None,
            jwks_url: None,
            key_claim: KeyClaim::default(),
            auth_flow: AuthFlow::default(),
            extra_regions: Vec::new(),
            managed_login: None,
            refresh_before: Duration::from_secs(120),
            refresh_after_expiry: Duration::from_secs(24 * 3600),
            leeway: Duration::from_secs(60),
            call_timeout: Duration::from_secs(5),
            jwks_timeout: Duration::from_secs(5),
            jwks_cooldown: Duration::from_secs(30),
            jwks_failure_cooldown: Duration::from_secs(5),
            jwks_max_age: Duration::from_secs(3600),
            jwks_max_stale: Duration::from_secs(24 * 3600),
            http: None,
            token_cache_capacity: 10_000,
            token_cache_bytes: 16 << 20,
            global_sign_out: false,
            refresh_token_rotation: false,
            challenge_key: None,
            service_secret: None,
            challenge_lifetime: Duration::from_secs(15 * 60),
            id_token_claims: Vec::new(),
        }
    }

    /// The user pool id.
    pub fn user_pool_id(&self) -> &str {
        &self.user_pool_id
    }

    /// The app client that logs in and refreshes.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether the app client has a secret.
    pub fn has_client_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    /// How password log-ins prove the password.
    pub fn auth_flow(&self) -> AuthFlow {
        self.auth_flow
    }

    /// Which claim keys a session.
    pub fn key_claim(&self) -> KeyClaim {
        self.key_claim
    }

    /// The managed login, if any.
    pub fn managed_login(&self) -> Option<&ManagedLoginSettings> {
        self.managed_login.as_ref()
    }

    /// The region, read from the pool id.
    pub fn region(&self) -> &str {
        self.user_pool_id
            .split_once('_')
            .map_or(&self.user_pool_id, |(region, _)| region)
    }

    /// The pool's issuer, `https://cognito-idp.{region}.amazonaws.com/{pool}`: where its keys
    /// are published. Tokens may carry any of [`issuers`](Self::issuers).
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.user_pool_id
        )
    }

    /// Every `iss` an accepted token may carry: for the pool's region and each of the
    /// [extra regions](Self::with_extra_regions), both forms Cognito issues,
    /// `https://cognito-idp.{region}.amazonaws.com/{pool}` and
    /// `https://issuer-cognito-idp.{region}.amazonaws.com/{pool}`.
    ///
    /// ```
    /// use cognito_session::cognito::CognitoSettings;
    ///
    /// let settings = CognitoSettings::new("eu-west-1_AbC", "client").with_extra_regions(["eu-central-1"]);
    /// assert_eq!(settings.issuers(), [
    ///     "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
    ///     "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
    ///     "https://cognito-idp.eu-central-1.amazonaws.com/eu-west-1_AbC",
    ///     "https://issuer-cognito-idp.eu-central-1.amazonaws.com/eu-west-1_AbC",
    /// ]);
    /// ```
    pub fn issuers(&self) -> Vec<String> {
        let regions = std::iter::once(self.region()).chain(
            self.extra_regions
                .iter()
                .map(String::as_str)
                .filter(|r| *r != self.region()),
        );
        regions
            .flat_map(|region| {
                ["cognito-idp", "issuer-cognito-idp"].map(|host| {
                    format!(
                        "https://{host}.{region}.amazonaws.com/{}",
                        self.user_pool_id
                    )
                })
            })
            .collect()
    }

    /// Where the keys are fetched: the [configured URL](Self::with_jwks_url), or the
    /// issuer's well-known location.
    pub fn jwks_url(&self) -> String {
        self.jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", self.issuer()))
    }

    /// The app client's secret (`CLIENT_SECRET`), when it has one: log-ins and refreshes
    /// then carry `SECRET_HASH`, and the managed login's token calls HTTP Basic. Default
    /// none.
    pub fn with_client_secret(mut self, secret: Secret) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Further app clients whose access tokens are accepted (another app of the same pool,
    /// say a mobile one). Log-in and refresh always go through the main client. Default:
    /// none.
    pub fn with_extra_client_ids<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.extra_client_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Where the pool's keys are (`COGNITO_JWKS_URL`). Default: the issuer's
    /// `/.well-known/jwks.json`.
    pub fn with_jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Which verified claim keys a session (`SESSION_KEY_CLAIM`). Default
    /// [`KeyClaim::OriginJti`]: one session per log-in.
    pub fn with_key_claim(mut self, claim: KeyClaim) -> Self {
        self.key_claim = claim;
        self
    }

    /// How password log-ins prove the password (`COGNITO_AUTH_FLOW`). Default
    /// [`AuthFlow::Password`].
    pub fn with_auth_flow(mut self, flow: AuthFlow) -> Self {
        self.auth_flow = flow;
        self
    }

    /// Further regions whose tokens are accepted, for a pool replicated to them
    /// (`COGNITO_EXTRA_REGIONS`): a replica issues tokens naming its own region in `iss`.
    /// Default: none, only the pool's region.
    pub fn with_extra_regions<I>(mut self, regions: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.extra_regions = regions.into_iter().map(Into::into).collect();
        self
    }

    /// The pool's managed login (`COGNITO_DOMAIN`, `OAUTH_*`), for log-ins through its
    /// pages ([`SessionManager::start_login`](crate::SessionManager::start_login)); with
    /// it, refreshes and revocations go through the domain's OAuth endpoints. Default:
    /// none.
    pub fn with_managed_login(mut self, login: ManagedLoginSettings) -> Self {
        self.managed_login = Some(login);
        self
    }

    /// Refresh an access token that expires within this window (`REFRESH_BEFORE_SECS`).
    /// Default 2 minutes, so a token is never used in its last minutes, when clock skew
    /// between servers could already reject it. Keep it well under the pool's access-token
    /// lifetime (5 minutes at the least): a window as long as the lifetime makes every
    /// request refresh.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbC", "client")
    ///     .with_refresh_before(Duration::from_secs(60));
    /// ```
    pub fn with_refresh_before(mut self, window: Duration) -> Self {
        self.refresh_before = window;
        self
    }

    /// How long after it expired an access token can still be refreshed by the session
    /// that holds it (`REFRESH_AFTER_EXPIRY_SECS`). Default 24 hours: a client away
    /// overnight comes back signed in, while a token that leaked, and that everyone takes
    /// for dead an hour after it was issued, can't mint fresh ones for the whole session
    /// [lifetime](crate::SessionConfig::with_lifetime). Past it the token is refused (401)
    /// and the user logs in again.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbC", "client")
    ///     .with_refresh_after_expiry(Duration::from_secs(3600));
    /// ```
    pub fn with_refresh_after_expiry(mut self, window: Duration) -> Self {
        self.refresh_after_expiry = window;
        self
    }

    /// How far in the future a token's `iat` and `nbf` may be, for clock skew between
    /// Cognito and this server. Default 60 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_leeway(Duration::from_secs(5));
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
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_call_timeout(Duration::from_secs(2));
    /// ```
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long fetching the pool's keys may take. Default 5 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_jwks_timeout(Duration::from_secs(2));
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
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_jwks_cooldown(Duration::from_secs(60));
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
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_jwks_failure_cooldown(Duration::from_secs(1));
    /// ```
    pub fn with_jwks_failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_failure_cooldown = cooldown;
        self
    }

    /// How old the cached keys may get before they are fetched again, so that a key the
    /// pool withdrew stops being trusted. Default 1 hour. Old keys keep working while the
    /// fetch runs, and if it fails, up to the [stale limit](Self::with_jwks_max_stale).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_jwks_max_age(Duration::from_secs(600));
    /// ```
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// How old the cached keys may get, counted from the last successful fetch, and still
    /// be used while the key endpoint fails. Default 24 hours: an outage of the endpoint
    /// doesn't end every session, but a key the pool withdrew (a leaked one) is not trusted
    /// for ever because the endpoint can't be reached. Past it, requests that need a key
    /// are answered 503.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_jwks_max_stale(Duration::from_secs(6 * 3600));
    /// ```
    pub fn with_jwks_max_stale(mut self, max_stale: Duration) -> Self {
        self.jwks_max_stale = max_stale;
        self
    }

    /// The HTTP client that fetches the keys. Default: a new `reqwest` client (rustls, the
    /// system's roots, no redirects), which the managed login's calls to the domain share.
    /// The [JWKS timeout](Self::with_jwks_timeout) applies
    /// whatever the client's own settings, and a redirected answer is refused whatever the
    /// client follows.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let http = reqwest::Client::builder().user_agent("my-service").build().unwrap();
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_http_client(http);
    /// ```
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How many verified tokens are remembered, so that a token is not verified again on
    /// each request until it expires. Default 10 000, within the
    /// [memory bound](Self::with_token_cache_bytes); 0 turns the cache off.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_token_cache_capacity(100_000);
    /// ```
    pub fn with_token_cache_capacity(mut self, capacity: usize) -> Self {
        self.token_cache_capacity = capacity;
        self
    }

    /// About how much memory the verified tokens may take. Default 16 MiB: Cognito's access
    /// tokens take 1 to 2 KiB, but a token may be as long as 16 KiB, and a cache bounded by
    /// count alone could grow to hundreds of MiB. A token too large for an eighth of it is
    /// verified each time. 0 turns the cache off.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_token_cache_bytes(64 << 20);
    /// ```
    pub fn with_token_cache_bytes(mut self, bytes: usize) -> Self {
        self.token_cache_bytes = bytes;
        self
    }

    /// Whether [`SessionManager::sign_out_everywhere`](crate::SessionManager::sign_out_everywhere) also calls Cognito's
    /// `AdminUserGlobalSignOut`, which ends every refresh token of the user, including
    /// sessions of other applications. Default `false`: it needs AWS credentials allowed to
    /// call that admin operation.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_global_sign_out(true);
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
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_refresh_token_rotation(true);
    /// ```
    pub fn with_refresh_token_rotation(mut self, enabled: bool) -> Self {
        self.refresh_token_rotation = enabled;
        self
    }

    /// The key that seals the challenge sessions handed to clients during a log-in
    /// ([`Challenge::session`](super::Challenge::session)) and the managed login's log-in
    /// states (`COGNITO_CHALLENGE_KEY`): they are HMAC-SHA256-signed with a key derived
    /// from it (HKDF-SHA256, with a label of its own and the pool id), bound to the username
    /// and the app client, and expire, so a client can't alter one, keep one, or use one for
    /// another user. At least 32 bytes (checked when the manager is made); keep it secret.
    ///
    /// Every instance that may receive the next step of a log-in (a challenge's answer, the
    /// managed login's callback) must have the same key. Without one, the key is derived
    /// (same HKDF, same label) from the first of:
    ///
    /// 1. the newest key of `SESSION_ENCRYPTION_KEY`, with
    ///    [`SessionManager::from_env`](crate::SessionManager::from_env): a secret only this
    ///    service holds, shared by its instances (a new key refuses the log-ins under way);
    /// 2. the app client's secret: every instance configured for the client agrees, but so
    ///    does anything else that holds the secret, and could forge log-in states;
    /// 3. a random key made when the manager is made, which only works when **one** instance
    ///    serves the log-ins (behind a load balancer, a step reaching another instance is
    ///    refused as [`LogInExpired`](crate::SessionError::LogInExpired) or an invalid
    ///    log-in state).
    ///
    /// Each of them is logged as a warning when the manager is made. Set a key where
    /// several instances serve log-ins.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let key = std::env::var("CHALLENGE_KEY").unwrap_or_else(|_| "x".repeat(32));
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_challenge_key(key);
    /// ```
    pub fn with_challenge_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.challenge_key = Some(ChallengeKey(key.as_ref().to_vec()));
        self
    }

    /// The service's own secret, that the challenge key is derived from when none is set.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn with_service_secret(mut self, secret: &[u8]) -> Self {
        self.service_secret = Some(ChallengeKey(secret.to_vec()));
        self
    }

    /// How long a user has to answer a challenge (a new password, an MFA code) before the
    /// log-in must start again. Default 15 minutes, the longest a user pool lets its own
    /// challenge sessions live (3 minutes unless the app client says otherwise; Cognito
    /// refuses its own expired ones, answered as
    /// [`LogInExpired`](crate::SessionError::LogInExpired) too).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_challenge_lifetime(Duration::from_secs(300));
    /// ```
    pub fn with_challenge_lifetime(mut self, lifetime: Duration) -> Self {
        self.challenge_lifetime = lifetime;
        self
    }

    /// Claims of the user's ID token to keep in the session, by name (`email`, `name`,
    /// `email_verified`, ...); a name ending in `*` takes every claim that starts so
    /// (`custom:*` for the custom attributes). Default: none, and the ID token is not read.
    ///
    /// The ID token Cognito returns at log-in, and at each refresh, is verified like the
    /// access token (signature by the pool's key, `iss`), and must be an ID token
    /// (`token_use` = `id`) for the app client (`aud`), unexpired, and about the same user
    /// (`sub`); then the chosen claims join the session's [`Claims::other`](crate::Claims::other),
    /// read with [`CurrentUser::claim`](crate::CurrentUser::claim) (a claim the access
    /// token also carries takes the ID token's value). The token itself is not kept. Claims
    /// about the token (`aud`, `iss`, `exp`, `jti`, `at_hash`, ...) and `cognito:groups`
    /// (the access token's [groups](crate::CurrentUser::groups) are the ones checked) are
    /// never taken. The app client must be allowed to read the attributes (its read
    /// attributes) for Cognito to put them in the ID token. An ID token that doesn't verify
    /// fails the log-in or refresh like an access token that doesn't
    /// ([`Unavailable`](crate::SessionError::Unavailable): a configuration problem, not the
    /// user's); a refresh that brings no ID token keeps the claims the last one gave.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoSettings;
    /// let settings = CognitoSettings::new("eu-west-1_AbCdEf", "client").with_id_token_claims(["email", "name", "custom:*"]);
    /// ```
    pub fn with_id_token_claims<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.id_token_claims = names
            .into_iter()
            .map(Into::into)
            .filter(|name: &String| !name.is_empty())
            .collect();
        self
    }
}
