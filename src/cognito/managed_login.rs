//! Settings of a user pool's managed login (the Hosted UI), and the rule for where a browser
//! may be sent after it. The flow itself is in [`cognito`](crate::cognito#managed-login).

use std::time::Duration;

/// Where the pool's managed login pages are, and how this app takes part in it
/// ([`CognitoSettings::with_managed_login`](crate::cognito::CognitoSettings::with_managed_login)).
///
/// The app client must list [`redirect_uri`](Self::redirect_uri) among its callback URLs and
/// [`logout_uri`](Self::logout_uri) among its sign-out URLs, allow the authorization code
/// grant, and allow the [`scopes`](Self::scopes).
///
/// ```
/// use cognito_session::cognito::ManagedLoginSettings;
///
/// let login = ManagedLoginSettings::new(
///     "https://myapp.auth.eu-west-1.amazoncognito.com",
///     "https://app.example.com/auth/callback",
/// )
/// .with_scopes(["openid", "email", "profile"]);
/// assert_eq!(login.logout_uri(), "https://app.example.com/");
/// assert!(login.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedLoginSettings {
    domain: String,
    redirect_uri: String,
    scopes: Vec<String>,
    logout_uri: Option<String>,
    state_lifetime: Duration,
}

impl ManagedLoginSettings {
    /// The longest a log-in may take, from the redirect to the domain to the callback.
    pub const MAX_STATE_LIFETIME: Duration = Duration::from_secs(600);

    /// The pool's domain (`COGNITO_DOMAIN`, e.g.
    /// `https://myapp.auth.us-east-1.amazoncognito.com` or a custom domain) and the app's
    /// callback URL (`OAUTH_REDIRECT_URI`), with the defaults below.
    pub fn new(domain: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            domain: domain.into().trim_end_matches('/').to_owned(),
            redirect_uri: redirect_uri.into(),
            scopes: vec!["openid".into(), "email".into()],
            logout_uri: None,
            state_lifetime: Self::MAX_STATE_LIFETIME,
        }
    }

    /// The scopes asked for (`OAUTH_SCOPES`, space-separated). Default: `openid email`.
    /// With `openid` the domain also returns an ID token, which is verified, nonce
    /// included.
    #[must_use]
    pub fn with_scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Where the domain's `/logout` sends the browser back to (`OAUTH_LOGOUT_URI`): one of
    /// the app client's sign-out URLs. Default: `/` of the callback URL's origin.
    #[must_use]
    pub fn with_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.logout_uri = Some(uri.into());
        self
    }

    /// How long a log-in may take, from [`start_login`](crate::SessionManager::start_login)
    /// to the callback. Default and maximum: 10 minutes.
    #[must_use]
    pub fn with_state_lifetime(mut self, lifetime: Duration) -> Self {
        self.state_lifetime = lifetime.min(Self::MAX_STATE_LIFETIME);
        self
    }

    /// The domain's base URL, without a trailing `/`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The app's callback URL.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether an ID token is asked for (the `openid` scope).
    pub fn wants_id_token(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// Where the domain's `/logout` sends the browser back to.
    pub fn logout_uri(&self) -> String {
        self.logout_uri
            .clone()
            .unwrap_or_else(|| format!("{}/", origin(&self.redirect_uri)))
    }

    /// How long a log-in may take.
    pub fn state_lifetime(&self) -> Duration {
        self.state_lifetime
    }

    /// Checks the URLs: the domain is `https` (plain `http` only on a loopback address, for
    /// a local authorization server), with no path, query or fragment; the callback and
    /// logout URLs are absolute `http(s)` URLs; every scope is a scope token. The error is
    /// the reason.
    pub fn validate(&self) -> Result<(), String> {
        let domain = &self.domain;
        let rest = if let Some(rest) = domain.strip_prefix("https://") {
            rest
        } else if let Some(rest) = domain.strip_prefix("http://") {
            let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
            if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                return Err(format!(
                    "managed login domain {domain:?}: must be https (plain http only on a loopback address)"
                ));
            }
            rest
        } else {
            return Err(format!(
                "managed login domain {domain:?}: expected https://{{your-domain}}"
            ));
        };
        // What the domain's URLs are built on must parse (`http://localhost:abc` doesn't).
        if let Err(e) = reqwest::Url::parse(domain) {
            return Err(format!("managed login domain {domain:?}: {e}"));
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "managed login domain {domain:?}: expected a base URL without a path, like https://myapp.auth.us-east-1.amazoncognito.com"
            ));
        }
        for (what, uri) in [
            ("redirect", self.redirect_uri.as_str()),
            ("logout", self.logout_uri().as_str()),
        ] {
            let scheme_ok = uri.starts_with("https://") || uri.starts_with("http://");
            if !scheme_ok || uri.contains('#') || uri.chars().any(|c| c.is_ascii_whitespace()) {
                return Err(format!(
                    "managed login {what} URI {uri:?}: expected an absolute http(s) URL"
                ));
            }
        }
        let scope_ok = |s: &String| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        if self.scopes.is_empty() || !self.scopes.iter().all(scope_ok) {
            return Err(format!("managed login scopes {:?}: invalid", self.scopes));
        }
        Ok(())
    }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// Where to send a browser after a log-in: `next` when it is a path on this site (`/…`),
/// else `/`. A target that a browser would read as another site, `//evil.example` or
/// `/\evil.example` (browsers take `\` for `/`), anything with a scheme, or with control
/// characters, becomes `/`, so a log-in link can't be made to end on another site.
///
/// ```
/// use cognito_session::cognito::safe_next;
///
/// assert_eq!(safe_next("/orders?page=2"), "/orders?page=2");
/// assert_eq!(safe_next("https://evil.example"), "/");
/// assert_eq!(safe_next("//evil.example"), "/");
/// assert_eq!(safe_next("/\\evil.example"), "/");
/// ```
pub fn safe_next(next: &str) -> &str {
    let bytes = next.as_bytes();
    let on_this_site = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if on_this_site { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_on_this_site_or_root() {
        for good in ["/", "/a", "/a/b?c=d#e", "/a//b"] {
            assert_eq!(safe_next(good), good);
        }
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/a\\b",
            "javascript:alert(1)",
            "evil.example",
            "/\t/evil.example",
            "/\n",
            " /a",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000))), "/");
    }

    #[test]
    fn urls_are_checked() {
        let ok =
            |domain: &str| ManagedLoginSettings::new(domain, "https://app.example/cb").validate();
        assert!(ok("https://x.auth.us-east-1.amazoncognito.com").is_ok());
        assert!(ok("https://x.auth.us-east-1.amazoncognito.com/").is_ok());
        assert!(ok("http://127.0.0.1:4000").is_ok());
        assert!(ok("http://x.example").unwrap_err().contains("https"));
        assert!(ok("https://x.example/oauth2").unwrap_err().contains("path"));
        assert!(ok("x.example").is_err());
        assert!(ok("https://user@x.example").is_err());
        assert!(
            ok("http://localhost:abc")
                .unwrap_err()
                .contains("localhost:abc")
        );
        assert!(ok("https://x.example:99999").is_err());

        let bad_redirect = ManagedLoginSettings::new("https://x.example", "/auth/callback");
        assert!(bad_redirect.validate().unwrap_err().contains("redirect"));
        let no_scopes = ManagedLoginSettings::new("https://x.example", "https://a.example/cb")
            .with_scopes(Vec::<String>::new());
        assert!(no_scopes.validate().is_err());
    }

    #[test]
    fn defaults() {
        let login =
            ManagedLoginSettings::new("https://x.example", "http://127.0.0.1:3000/auth/callback");
        assert_eq!(login.scopes(), ["openid", "email"]);
        assert!(login.wants_id_token());
        assert_eq!(login.logout_uri(), "http://127.0.0.1:3000/");
        assert_eq!(login.state_lifetime(), Duration::from_secs(600));
        let longer = login.with_state_lifetime(Duration::from_secs(3600));
        assert_eq!(longer.state_lifetime(), Duration::from_secs(600));
    }
}
