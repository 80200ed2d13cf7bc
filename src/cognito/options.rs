//! [`CognitoOptions`]: how the Cognito side of a manager talks to Cognito and its keys.

use std::time::Duration;

/// Tuning of the Cognito side of a [`SessionManager`](crate::SessionManager), for
/// [`SessionManager::with_cognito_options`](crate::SessionManager::with_cognito_options). Every setting has a default that suits a
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
    pub(super) leeway: Duration,
    pub(super) call_timeout: Duration,
    pub(super) jwks_timeout: Duration,
    pub(super) jwks_cooldown: Duration,
    pub(super) jwks_failure_cooldown: Duration,
    pub(super) jwks_max_age: Duration,
    pub(super) jwks_max_stale: Duration,
    pub(super) http: Option<reqwest::Client>,
    pub(super) token_cache_capacity: usize,
    pub(super) token_cache_bytes: usize,
    pub(super) global_sign_out: bool,
    pub(super) refresh_token_rotation: bool,
    pub(super) challenge_key: Option<ChallengeKey>,
    pub(super) challenge_lifetime: Duration,
    pub(super) id_token_claims: Vec<String>,
}

/// The key that seals challenge sessions: bytes, redacted from `Debug`.
#[derive(Clone)]
pub(super) struct ChallengeKey(pub(super) Vec<u8>);

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(<redacted>)")
    }
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
            jwks_max_stale: Duration::from_secs(24 * 3600),
            http: None,
            token_cache_capacity: 10_000,
            token_cache_bytes: 16 << 20,
            global_sign_out: false,
            refresh_token_rotation: false,
            challenge_key: None,
            challenge_lifetime: Duration::from_secs(15 * 60),
            id_token_claims: Vec::new(),
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
    /// fetch runs, and if it fails, up to the [stale limit](Self::with_jwks_max_stale).
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

    /// How old the cached keys may get, counted from the last successful fetch, and still
    /// be used while the key endpoint fails. Default 24 hours: an outage of the endpoint
    /// doesn't end every session, but a key the pool withdrew (a leaked one) is not trusted
    /// for ever because the endpoint can't be reached. Past it, requests that need a key
    /// are answered 503.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_jwks_max_stale(Duration::from_secs(6 * 3600));
    /// ```
    pub fn with_jwks_max_stale(mut self, max_stale: Duration) -> Self {
        self.jwks_max_stale = max_stale;
        self
    }

    /// The HTTP client that fetches the keys. Default: a new `reqwest` client (rustls, the
    /// system's roots, no redirects). The [JWKS timeout](Self::with_jwks_timeout) applies
    /// whatever the client's own settings, and a redirected answer is refused whatever the
    /// client follows.
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
    /// each request until it expires. Default 10 000, within the
    /// [memory bound](Self::with_token_cache_bytes); 0 turns the cache off.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_token_cache_capacity(100_000);
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
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_token_cache_bytes(64 << 20);
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

    /// The key that seals the challenge sessions handed to clients during a log-in
    /// ([`Challenge::session`](super::Challenge::session)): they are HMAC-SHA256-signed
    /// with it, bound to the username and the app client, and expire, so a client can't
    /// alter one, keep one, or use one for another user. At least 32 bytes (checked when
    /// the manager is made); keep it secret, like the client secret.
    ///
    /// Every instance that may receive the answer to a challenge must have the same key.
    /// Default: derived from the app client's secret when it has one (every instance
    /// configured for the client then agrees); for a client without a secret, a random key
    /// made when the manager is made, which only works when **one** instance serves the
    /// log-ins (behind a load balancer, an answer reaching another instance is refused as
    /// [`LogInExpired`](crate::SessionError::LogInExpired)). Set a key for clients without a
    /// secret that run on several instances.
    ///
    /// ```
    /// # use cognito_session::cognito::CognitoOptions;
    /// let key = std::env::var("CHALLENGE_KEY").unwrap_or_else(|_| "x".repeat(32));
    /// let options = CognitoOptions::default().with_challenge_key(key);
    /// ```
    pub fn with_challenge_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.challenge_key = Some(ChallengeKey(key.as_ref().to_vec()));
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
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_challenge_lifetime(Duration::from_secs(300));
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
    /// # use cognito_session::cognito::CognitoOptions;
    /// let options = CognitoOptions::default().with_id_token_claims(["email", "name", "custom:*"]);
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
