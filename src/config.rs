//! [`SessionConfig`]: how sessions behave: the cookie, where tokens are read, expiry,
//! rotation, the CSRF check and the clock.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use cookie::SameSite;

use crate::cookie::CookieSettings;
use crate::csrf::AllowedOrigins;
use crate::error::ConfigError;
use crate::token::TokenSource;

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
    pub(crate) csrf_protection: bool,
    pub(crate) allowed_origins: AllowedOrigins,
    /// An entry of [`with_allowed_origins`](Self::with_allowed_origins) that is no origin,
    /// reported by [`validate`](Self::validate).
    invalid_origin: Option<String>,
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
            csrf_protection: true,
            allowed_origins: AllowedOrigins::same_origin(),
            invalid_origin: None,
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
            .field("csrf_protection", &self.csrf_protection)
            .field("allowed_origins", &self.allowed_origins)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The name of the session cookie. Default `token`, the name `@sswahn/session`'s
    /// examples use. A name starting with `__Host-` makes browsers insist on Secure, `Path=/`
    /// and no Domain; [`SessionManager::new`](crate::SessionManager::new) checks that.
    ///
    /// ```
    /// use cognito_session::{SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
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

    /// Whether the layer refuses cross-site requests that change state with the session
    /// cookie (CSRF): a request whose token came from the cookie, with a method that is not
    /// [safe](crate::csrf::is_safe), is answered 403
    /// ([`Rejection::CrossSite`](crate::rejection::Rejection::CrossSite)) when it carries
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
    /// use cognito_session::{SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
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

    /// Seconds since the Unix epoch, by the configured clock.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Checks settings that only make sense together.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.cookie
            .validate()
            .map_err(|message| ConfigError::setting("cookie", message))?;
        if self.sources.is_empty() {
            return Err(ConfigError::setting("token_sources", "no token source"));
        }
        if self.lifetime.is_zero() {
            return Err(ConfigError::setting(
                "lifetime",
                "the session lifetime is zero",
            ));
        }
        if let Some(invalid) = &self.invalid_origin {
            return Err(ConfigError::setting("allowed_origins", invalid.clone()));
        }
        Ok(())
    }
}
