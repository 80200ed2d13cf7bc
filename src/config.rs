//! [`SessionConfig`]: how sessions behave, and the settings it holds.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use cookie::SameSite;

use crate::ManagedLoginSettings;

use crate::cookie::CookieSettings;
use crate::csrf::AllowedOrigins;
use crate::token::TokenSource;
use crate::{EncryptionKeys, Secret};

/// A configuration that can't work, found when the config is used
/// ([`SessionManager::new`](crate::SessionManager::new), `DynamoDbStore::new`) or read
/// ([`SessionConfig::from_env`]), not at the first request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable is malformed, or needs another one that is missing.
    #[error("{variable}: {message}")]
    Env {
        /// The variable at fault.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Settings that contradict each other.
    #[error("invalid session configuration: {0}")]
    Invalid(String),
}

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
/// use cognito_session::{AuthFlow, CognitoSettings};
///
/// let mut cognito = CognitoSettings::new("eu-west-1_AbCdEf", "app-client-id");
/// cognito.auth_flow = AuthFlow::Srp;
/// assert_eq!(cognito.auth_flow.client_flag(), "ALLOW_USER_SRP_AUTH");
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

/// Where the session table is, when sessions live in DynamoDB.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableSettings {
    /// The table's name (`SESSION_TABLE`).
    pub name: String,
    /// The partition key attribute (`PARTITION_KEY`); default `SessionToken`, as in the
    /// DynamoDB Book's table.
    pub partition_key: String,
    /// The global secondary index on `username` (`SESSION_USERNAME_INDEX`); default
    /// `UsernameIndex`.
    pub username_index: String,
    /// How long this process may answer from a read cache in front of the table
    /// (`SESSION_CACHE_SECS`, see [`CachedStore`](crate::CachedStore));
    /// default `None`, every request reads the table.
    pub cache: Option<Duration>,
    /// The keys that encrypt the Cognito tokens in the table (`SESSION_ENCRYPTION_KEY`);
    /// [`DynamoDbStore::new`](crate::store::dynamodb::DynamoDbStore::new) uses them.
    /// Default `None`: Cognito sessions can't be stored unless `allow_plaintext_tokens`.
    pub encryption: Option<EncryptionKeys>,
    /// Whether Cognito tokens may be in the table as plaintext (`ALLOW_PLAINTEXT_TOKENS`):
    /// without a key they are written so, with one they are still read (while a table
    /// written without a key is migrated). Default `false`: a plaintext token is refused,
    /// and [`SessionConfig::from_env`] refuses a Cognito pool and a table without a key.
    pub allow_plaintext_tokens: bool,
}

impl TableSettings {
    /// The table `name`, with the default partition key `SessionToken` and index
    /// `UsernameIndex`, no encryption key and no plaintext tokens allowed.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partition_key: "SessionToken".into(),
            username_index: "UsernameIndex".into(),
            cache: None,
            encryption: None,
            allow_plaintext_tokens: false,
        }
    }
}

/// The Cognito user pool and app client whose access tokens are accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CognitoSettings {
    /// The user pool id, `{region}_{id}` (`USER_POOL_ID`).
    pub user_pool_id: String,
    /// The app client used to log in and refresh (`CLIENT_ID`).
    pub client_id: String,
    /// Further app clients whose access tokens are accepted (another app of the same pool,
    /// say a mobile one). Log-in and refresh always go through `client_id`. Default: none.
    pub extra_client_ids: Vec<String>,
    /// The app client's secret, when it has one (`CLIENT_SECRET`).
    pub client_secret: Option<Secret>,
    /// Where the pool's keys are (`COGNITO_JWKS_URL`); default: derived from the issuer.
    pub jwks_url: Option<String>,
    /// Which claim keys a session.
    pub key_claim: KeyClaim,
    /// How password log-ins prove the password (`COGNITO_AUTH_FLOW`); default
    /// [`AuthFlow::Password`].
    pub auth_flow: AuthFlow,
    /// Further regions whose tokens are accepted, for a pool replicated to them
    /// (`COGNITO_EXTRA_REGIONS`, comma-separated): a replica issues tokens naming its own
    /// region in `iss`. Default: none, only the pool's region.
    pub extra_regions: Vec<String>,
    /// The pool's managed login (Hosted UI), for log-ins through its pages
    /// ([`SessionManager::start_login`](crate::SessionManager::start_login)); with it,
    /// refreshes and revocations go through the domain's OAuth endpoints. Default: none.
    pub managed_login: Option<ManagedLoginSettings>,
}

impl CognitoSettings {
    /// Settings for a pool and app client, with no secret and the defaults above.
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
        }
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

    /// Every `iss` an accepted token may carry: for the pool's region and each of
    /// [`extra_regions`](Self::extra_regions), both forms Cognito issues,
    /// `https://cognito-idp.{region}.amazonaws.com/{pool}` and
    /// `https://issuer-cognito-idp.{region}.amazonaws.com/{pool}`.
    ///
    /// ```
    /// use cognito_session::CognitoSettings;
    ///
    /// let mut settings = CognitoSettings::new("eu-west-1_AbC", "client");
    /// settings.extra_regions = vec!["eu-central-1".into()];
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

    /// Where the keys are fetched: `jwks_url`, or the issuer's well-known location.
    pub fn jwks_url(&self) -> String {
        self.jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", self.issuer()))
    }
}

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How sessions behave: lifetimes, rotation, the cookie, where tokens are read from.
///
/// Every `with_*` method says its default. The defaults are secure for a site served over
/// HTTPS; for plain-HTTP local testing, turn off [`with_cookie_secure`](Self::with_cookie_secure).
///
/// ```
/// use std::time::Duration;
/// use cognito_session::SessionConfig;
///
/// let config = SessionConfig::default()
///     .with_cookie_name("__Host-session")
///     .with_lifetime(Duration::from_secs(24 * 3600))
///     .with_idle_timeout(Some(Duration::from_secs(2 * 3600)));
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) cookie: CookieSettings,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) token_header: Option<http::HeaderName>,
    pub(crate) bearer_cookie: bool,
    pub(crate) lifetime: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) touch_interval: Duration,
    pub(crate) rotate_after: Option<Duration>,
    pub(crate) grace_period: Duration,
    pub(crate) refresh_before: Duration,
    pub(crate) refresh_after_expiry: Duration,
    pub(crate) csrf_protection: bool,
    pub(crate) allowed_origins: AllowedOrigins,
    /// An entry of [`with_allowed_origins`](Self::with_allowed_origins) that is no origin,
    /// reported by [`validate`](Self::validate).
    invalid_origin: Option<String>,
    pub(crate) table: Option<TableSettings>,
    pub(crate) cognito: Option<CognitoSettings>,
    clock: Clock,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie: CookieSettings::default(),
            sources: vec![TokenSource::Bearer, TokenSource::Cookie],
            token_header: Some(http::HeaderName::from_static("x-session-token")),
            bearer_cookie: false,
            lifetime: Duration::from_secs(7 * 24 * 3600),
            idle_timeout: None,
            touch_interval: Duration::from_secs(60),
            rotate_after: None,
            grace_period: Duration::from_secs(30),
            refresh_before: Duration::from_secs(120),
            refresh_after_expiry: Duration::from_secs(24 * 3600),
            csrf_protection: true,
            allowed_origins: AllowedOrigins::same_origin(),
            invalid_origin: None,
            table: None,
            cognito: None,
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie", &self.cookie)
            .field("sources", &self.sources)
            .field("token_header", &self.token_header)
            .field("bearer_cookie", &self.bearer_cookie)
            .field("lifetime", &self.lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("touch_interval", &self.touch_interval)
            .field("rotate_after", &self.rotate_after)
            .field("grace_period", &self.grace_period)
            .field("refresh_before", &self.refresh_before)
            .field("refresh_after_expiry", &self.refresh_after_expiry)
            .field("csrf_protection", &self.csrf_protection)
            .field("allowed_origins", &self.allowed_origins)
            .field("table", &self.table)
            .field("cognito", &self.cognito)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The name of the session cookie. Default `token`, the name `@sswahn/session`'s
    /// examples use. A name starting with `__Host-` makes browsers insist on Secure, `Path=/`
    /// and no Domain; [`SessionManager::new`](crate::SessionManager::new) checks that.
    ///
    /// ```
    /// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
    ///
    /// let config = SessionConfig::default().with_cookie_name("__Host-session");
    /// assert!(SessionManager::new(MemoryStore::new(), config.clone()).is_ok());
    /// // Browsers would drop the cookie, so every log-in would seem to fail.
    /// let over_http = config.with_cookie_secure(false);
    /// assert!(SessionManager::new(MemoryStore::new(), over_http).is_err());
    /// ```
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie.name = name.into();
        self
    }

    /// The cookie's `Path`. Default `/`, so every route of the site sees the session.
    pub fn with_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie.path = path.into();
        self
    }

    /// The cookie's `Domain`. Default none: the cookie goes back only to the host that set
    /// it, not to its subdomains.
    pub fn with_cookie_domain(mut self, domain: Option<String>) -> Self {
        self.cookie.domain = domain;
        self
    }

    /// The cookie's `Secure` flag. Default `true`: the token never travels over plain HTTP.
    /// Turn it off only for local testing over `http://`.
    pub fn with_cookie_secure(mut self, secure: bool) -> Self {
        self.cookie.secure = secure;
        self
    }

    /// The cookie's `HttpOnly` flag. Default `true`: scripts on the page can't read the
    /// token, so an XSS bug can't steal it.
    pub fn with_cookie_http_only(mut self, http_only: bool) -> Self {
        self.cookie.http_only = http_only;
        self
    }

    /// The cookie's `SameSite`. Default `Lax`: the cookie is not sent on cross-site
    /// sub-requests (a CSRF defence) but a link from another site still arrives logged in.
    /// `None` needs [`with_cookie_secure(true)`](Self::with_cookie_secure): browsers drop it
    /// otherwise, and [`SessionManager::new`](crate::SessionManager::new) says so.
    pub fn with_cookie_same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = same_site;
        self
    }

    /// Where tokens are read, in order. Default: `Authorization: Bearer`, then the cookie.
    ///
    /// A site only browsers use can ignore `Authorization` headers:
    ///
    /// ```
    /// use cognito_session::{SessionConfig, TokenSource};
    ///
    /// let config = SessionConfig::default().with_token_sources([TokenSource::Cookie]);
    /// ```
    pub fn with_token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// The response header that hands a client using `Authorization: Bearer` the token that
    /// replaced its own (a Cognito refresh). Default `x-session-token`; `None` sends none.
    /// A client that authenticates with a header reads its new token from a header: a
    /// cookie it didn't ask for would be one more way in (CSRF), and outlive its log-out.
    /// Browsers read it only when CORS exposes it (`Access-Control-Expose-Headers`).
    ///
    /// ```
    /// use cognito_session::SessionConfig;
    /// use http::HeaderName;
    ///
    /// let config = SessionConfig::default()
    ///     .with_token_header(Some(HeaderName::from_static("x-new-access-token")));
    /// ```
    pub fn with_token_header(mut self, header: Option<http::HeaderName>) -> Self {
        self.token_header = header;
        self
    }

    /// Whether a client using `Authorization: Bearer` also gets its new token as
    /// `Set-Cookie`. Default `false` (see [`with_token_header`](Self::with_token_header)).
    ///
    /// ```
    /// # use cognito_session::SessionConfig;
    /// let config = SessionConfig::default().with_bearer_cookie(true);
    /// ```
    pub fn with_bearer_cookie(mut self, enabled: bool) -> Self {
        self.bearer_cookie = enabled;
        self
    }

    /// How long a session lives at most, however active. Default 7 days, the lifetime of the
    /// DynamoDB Book's session store. Checked on every read.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// End a session that was not used for this long. Default `None` (only the lifetime
    /// applies). When set, the session's expiry slides forward as it is used, written at most
    /// once per [`with_touch_interval`](Self::with_touch_interval).
    pub fn with_idle_timeout(mut self, idle_timeout: Option<Duration>) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// The least time between two writes of a session's last-seen time. Default 60 s: a busy
    /// session costs one write a minute, not one per request; the idle timeout is that much
    /// less precise.
    pub fn with_touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = interval;
        self
    }

    /// Give an opaque session a new token once its token is this old. Default `None`: bearer
    /// clients (like the DynamoDB Book's curl flow) keep the token they were given and never
    /// read `Set-Cookie`, so rotation is opt-in. Only tokens that came from the cookie are
    /// rotated, for the same reason.
    pub fn with_rotation(mut self, rotate_after: Option<Duration>) -> Self {
        self.rotate_after = rotate_after;
        self
    }

    /// How long a replaced token still works. Default 30 s: long enough for requests that
    /// were in flight with the old token when it was replaced, short enough that a stolen old
    /// token is soon worthless.
    pub fn with_grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// Refresh a Cognito access token that expires within this window. Default 2 minutes, so
    /// a token is never used in its last minutes, when clock skew between servers could
    /// already reject it. Keep it well under the pool's access-token lifetime (5 minutes at
    /// the least): a window as long as the lifetime makes every request refresh.
    pub fn with_refresh_before(mut self, window: Duration) -> Self {
        self.refresh_before = window;
        self
    }

    /// How long after it expired a Cognito access token can still be refreshed by the
    /// session that holds it. Default 24 hours: a client away overnight comes back signed
    /// in, while a token that leaked, and that everyone takes for dead an hour after it was
    /// issued, can't mint fresh ones for the whole session [lifetime](Self::with_lifetime).
    /// Past it the token is refused (401) and the user logs in again.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cognito_session::SessionConfig;
    /// let config = SessionConfig::default().with_refresh_after_expiry(Duration::from_secs(3600));
    /// ```
    pub fn with_refresh_after_expiry(mut self, window: Duration) -> Self {
        self.refresh_after_expiry = window;
        self
    }

    /// Whether the layer refuses cross-site requests that change state with the session
    /// cookie (CSRF): a request whose token came from the cookie, with a method that is not
    /// [safe](crate::csrf::is_safe), is answered 403
    /// ([`Rejection::CrossSite`](crate::Rejection::CrossSite)) when it carries
    /// `Sec-Fetch-Site: cross-site` or an `Origin` that is not
    /// [allowed](Self::with_allowed_origins), before the session is looked up. Default
    /// `true`. Requests authenticated with `Authorization: Bearer` are never checked: a
    /// browser doesn't add that header to another site's requests by itself.
    ///
    /// ```
    /// # use cognito_session::SessionConfig;
    /// // An API whose cookie clients are not browsers.
    /// let config = SessionConfig::default().with_csrf_protection(false);
    /// ```
    pub fn with_csrf_protection(mut self, enabled: bool) -> Self {
        self.csrf_protection = enabled;
        self
    }

    /// The origins whose pages may send requests that change state with the session cookie,
    /// each `scheme://host[:port]` as browsers send them in `Origin`. Default: the request's
    /// own origin, by its `Host` and either `http` or `https` (why either:
    /// [`AllowedOrigins`]). A list replaces the default: list the site's own origin too if
    /// its pages call the API. Something that is no origin (a path, `null`, `*`) makes
    /// [`SessionManager::new`](crate::SessionManager::new) fail. Log-in handlers read them
    /// back with [`allowed_origins`](Self::allowed_origins) for
    /// [`csrf::check`](crate::csrf::check).
    ///
    /// ```
    /// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
    ///
    /// let config = SessionConfig::default()
    ///     .with_allowed_origins(["https://app.example.com", "https://admin.example.com"]);
    /// assert!(SessionManager::new(MemoryStore::new(), config).is_ok());
    /// let typo = SessionConfig::default().with_allowed_origins(["https://app.example.com/"]);
    /// assert!(SessionManager::new(MemoryStore::new(), typo).is_err());
    /// ```
    pub fn with_allowed_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        match AllowedOrigins::list(origins) {
            Ok(allowed) => {
                self.allowed_origins = allowed;
                self.invalid_origin = None;
            }
            Err(invalid) => self.invalid_origin = Some(invalid.to_string()),
        }
        self
    }

    /// The origins allowed to send requests that change state with the session cookie
    /// (see [`with_allowed_origins`](Self::with_allowed_origins)).
    pub fn allowed_origins(&self) -> &AllowedOrigins {
        &self.allowed_origins
    }

    /// Whether the layer's CSRF check is on (see
    /// [`with_csrf_protection`](Self::with_csrf_protection)).
    pub fn csrf_protection(&self) -> bool {
        self.csrf_protection
    }

    /// The DynamoDB session table. Default none (sessions in memory).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cognito_session::{SessionConfig, TableSettings};
    ///
    /// let mut table = TableSettings::new("sessions");
    /// table.cache = Some(Duration::from_secs(5));
    /// let config = SessionConfig::default().with_table(Some(table));
    /// ```
    pub fn with_table(mut self, table: Option<TableSettings>) -> Self {
        self.table = table;
        self
    }

    /// The Cognito user pool whose access tokens are accepted. Default none: only opaque
    /// session tokens.
    ///
    /// ```
    /// use cognito_session::{CognitoSettings, KeyClaim, Secret, SessionConfig};
    ///
    /// let mut cognito = CognitoSettings::new("eu-west-1_AbCdEf", "app-client-id");
    /// cognito.client_secret = Some(Secret::new("app-client-secret"));
    /// cognito.key_claim = KeyClaim::Sub;
    /// let config = SessionConfig::default().with_cognito(Some(cognito));
    /// ```
    pub fn with_cognito(mut self, cognito: Option<CognitoSettings>) -> Self {
        self.cognito = cognito;
        self
    }

    /// The clock. Default `SystemTime::now`. Tests use it to travel in time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use cognito_session::SessionConfig;
    ///
    /// let now = Arc::new(AtomicU64::new(1_700_000_000));
    /// let clock = Arc::clone(&now);
    /// let config = SessionConfig::default()
    ///     .with_clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::Relaxed)));
    /// now.fetch_add(8 * 24 * 3600, Ordering::Relaxed); // past the default lifetime
    /// ```
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie.name
    }

    /// The session table, if any.
    pub fn table(&self) -> Option<&TableSettings> {
        self.table.as_ref()
    }

    /// The Cognito settings, if any.
    pub fn cognito(&self) -> Option<&CognitoSettings> {
        self.cognito.as_ref()
    }

    /// Seconds since the Unix epoch, by the configured clock.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Checks settings that only make sense together.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.cookie.validate().map_err(ConfigError::Invalid)?;
        if self.sources.is_empty() {
            return Err(ConfigError::Invalid("no token source".into()));
        }
        if self.lifetime.is_zero() {
            return Err(ConfigError::Invalid("the session lifetime is zero".into()));
        }
        if let Some(invalid) = &self.invalid_origin {
            return Err(ConfigError::Invalid(format!("allowed origins: {invalid}")));
        }
        Ok(())
    }
}
