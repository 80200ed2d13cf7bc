//! The session cookie: the rules browsers hold it to, and the `Set-Cookie` headers the layer
//! and the manager write.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::HeaderValue;

/// How the session cookie is written. Set through the `with_cookie_*` methods of
/// [`SessionConfig`](crate::SessionConfig).
#[derive(Clone, Debug)]
pub(crate) struct CookieSettings {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            name: "token".into(),
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }
}

impl CookieSettings {
    /// Checks the settings against what browsers accept, so a cookie they would silently drop
    /// is a configuration error instead of a log-in that never sticks. The error is the reason.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !is_cookie_safe(&self.name) {
            return Err(format!(
                "cookie name {:?} is not a valid cookie name",
                self.name
            ));
        }
        if self.name.starts_with("__Host-")
            && (!self.secure || self.path != "/" || self.domain.is_some())
        {
            return Err(format!(
                "cookie {:?}: browsers drop a __Host- cookie unless it is Secure, has Path=/ and no Domain",
                self.name
            ));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(format!(
                "cookie {:?}: browsers drop a SameSite=None cookie unless it is Secure",
                self.name
            ));
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            return Err(format!(
                "cookie {:?}: browsers drop a __Secure- cookie unless it is Secure",
                self.name
            ));
        }
        for (what, value) in [("path", Some(&self.path)), ("domain", self.domain.as_ref())] {
            if let Some(value) = value
                && !is_cookie_safe(value)
            {
                return Err(format!("cookie {what} {value:?} is not valid"));
            }
        }
        Ok(())
    }

    /// `Set-Cookie` for `token`, living `max_age`.
    pub(crate) fn set(&self, token: &str, max_age: Duration) -> HeaderValue {
        let max_age =
            cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
        self.header(self.base(token.to_owned()).max_age(max_age).build())
    }

    /// The cookie that carries a managed log-in's state from the redirect to the callback:
    /// the session cookie's name with `-login` appended, `HttpOnly`, and `SameSite=Lax`,
    /// since the callback is a navigation from the domain's site, on which a `Strict`
    /// cookie would not be sent.
    ///
    /// It is the session cookie's `Secure`, but never its `Domain`, and over HTTPS it is a
    /// `__Host-` cookie (so `Path=/`): another host of the domain could otherwise plant a
    /// state of its own (and log the visitor into its account), or read the PKCE verifier
    /// and nonce.
    #[cfg(feature = "cognito")]
    pub(crate) fn login_state(&self) -> Self {
        let base = ["__Host-", "__Secure-"]
            .iter()
            .find_map(|prefix| self.name.strip_prefix(prefix))
            .unwrap_or(&self.name);
        let name = if self.secure {
            format!("__Host-{base}-login")
        } else {
            format!("{base}-login")
        };
        Self {
            name,
            path: "/".into(),
            domain: None,
            http_only: true,
            same_site: SameSite::Lax,
            ..self.clone()
        }
    }

    /// A `Set-Cookie` that makes the browser drop the cookie: same name, Path, Domain and
    /// Secure as the one that was set, or the browser keeps the original.
    pub(crate) fn removal(&self) -> HeaderValue {
        let cookie = self
            .base(String::new())
            .max_age(cookie::time::Duration::ZERO)
            .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
            .build();
        self.header(cookie)
    }

    fn base(&self, value: String) -> cookie::CookieBuilder<'static> {
        let mut builder = Cookie::build((self.name.clone(), value))
            .path(self.path.clone())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site);
        if let Some(domain) = &self.domain {
            builder = builder.domain(domain.clone());
        }
        builder
    }

    fn header(&self, cookie: Cookie<'_>) -> HeaderValue {
        // Name, value and attributes were validated when the config was built (tokens are
        // base64url or JWTs), so this only fails on a bug.
        let mut value = HeaderValue::try_from(cookie.to_string())
            .expect("a validated cookie is a valid header value");
        // Keeps the token out of `Debug` output and out of HTTP/2 header compression tables.
        value.set_sensitive(true);
        value
    }
}

/// Whether `s` may appear in a `Set-Cookie` header attribute or name without quoting.
pub(crate) fn is_cookie_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'=' | b'"' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_secure() {
        let v = CookieSettings::default().set("abc", Duration::from_secs(60));
        let v = v.to_str().unwrap();
        for part in [
            "token=abc",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
    }

    #[cfg(feature = "cognito")]
    #[test]
    fn the_log_in_state_cookie_is_a_host_cookie_over_https_and_never_the_domains() {
        let shared = CookieSettings {
            domain: Some("example.com".into()),
            path: "/app".into(),
            ..CookieSettings::default()
        };
        let state = shared.login_state();
        assert!(state.validate().is_ok(), "browsers keep it");
        let set = state.set("sealed", Duration::from_secs(600));
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-token-login=sealed;"), "{set}");
        for part in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        assert!(!set.contains("Domain"), "{set}");
        let removal = state.removal();
        assert!(!removal.to_str().unwrap().contains("Domain"));

        let host = CookieSettings {
            name: "__Host-session".into(),
            ..CookieSettings::default()
        };
        assert_eq!(host.login_state().name, "__Host-session-login");

        // Over plain http (local testing) no __Host- cookie can be set.
        let plain = CookieSettings {
            secure: false,
            domain: Some("example.com".into()),
            ..CookieSettings::default()
        };
        let state = plain.login_state();
        assert_eq!(state.name, "token-login");
        assert_eq!(state.domain, None);
    }

    #[test]
    fn removal_repeats_path_domain_and_secure() {
        let settings = CookieSettings {
            domain: Some("example.com".into()),
            path: "/app".into(),
            ..CookieSettings::default()
        };
        let v = settings.removal();
        let v = v.to_str().unwrap();
        for part in [
            "token=",
            "Path=/app",
            "Domain=example.com",
            "Secure",
            "Max-Age=0",
            "Expires=Thu, 01 Jan 1970",
        ] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
    }

    #[test]
    fn set_cookie_values_are_sensitive() {
        let v = CookieSettings::default().set("secret-token", Duration::from_secs(1));
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("secret-token"));
    }

    fn validate(name: &str, edit: impl FnOnce(&mut CookieSettings)) -> Result<(), String> {
        let mut settings = CookieSettings {
            name: name.into(),
            ..CookieSettings::default()
        };
        edit(&mut settings);
        settings.validate()
    }

    #[test]
    fn host_prefix_is_enforced() {
        assert!(validate("__Host-t", |_| {}).is_ok());
        assert!(validate("__Host-t", |c| c.secure = false).is_err());
        assert!(validate("__Host-t", |c| c.path = "/app".into()).is_err());
        assert!(validate("__Host-t", |c| c.domain = Some("example.com".into())).is_err());
        assert!(validate("__Secure-t", |c| c.secure = false).is_err());
        assert!(validate("token", |c| c.same_site = SameSite::None).is_ok());
        assert!(
            validate("token", |c| {
                c.same_site = SameSite::None;
                c.secure = false;
            })
            .is_err()
        );
    }

    #[test]
    fn cookie_safe_names() {
        assert!(is_cookie_safe("__Host-token"));
        assert!(!is_cookie_safe("a b"));
        assert!(!is_cookie_safe("a;b"));
        assert!(!is_cookie_safe(""));
    }
}
