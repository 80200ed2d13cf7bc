//! The `Set-Cookie` headers the layer and the manager write.

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
    /// `Set-Cookie` for `token`, living `max_age`.
    pub(crate) fn set(&self, token: &str, max_age: Duration) -> HeaderValue {
        let max_age =
            cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
        self.header(self.base(token.to_owned()).max_age(max_age).build())
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

    #[test]
    fn cookie_safe_names() {
        assert!(is_cookie_safe("__Host-token"));
        assert!(!is_cookie_safe("a b"));
        assert!(!is_cookie_safe("a;b"));
        assert!(!is_cookie_safe(""));
    }
}
